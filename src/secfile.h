/*
 * secfile.h -- reading a secret file (password or shadow file) the way
 * a backend must: a regular file only, bounded in size, read whole, and
 * refused when it changed while being read; and telling a later change
 * by its stat(2) identity.  Linked into the backends that load files.
 */
#ifndef AUTHMUX_SECFILE_H
#define AUTHMUX_SECFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

/* Which version of a file: equal ids mean "not changed". */
struct secfile_id {
	int error;		/* errno of a failed stat(); the rest is 0 */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
};

void secfile_id_stat(struct secfile_id *id, const char *path);
bool secfile_id_equal(const struct secfile_id *a,
    const struct secfile_id *b);

/* A secret file is a secret even when hashed: hashes can be cracked
 * offline.  Returns what is wrong with mode, or NULL when it is fine. */
const char *secfile_mode_problem(mode_t mode);

enum secfile_result {
	SECFILE_READ,
	SECFILE_FAILED,
	SECFILE_CHANGED,	/* rewritten while being read: try later */
};

/* What secfile_read() hands over; buf is malloc'd and NUL-terminated
 * (bufsize bytes, len of them read). */
struct secfile {
	char *buf;
	size_t len, bufsize;
	struct secfile_id id;	/* the version read */
	mode_t mode;
};

/* Read path, at most max bytes.  On failure err (errlen) says why,
 * naming the path, and f holds nothing to free. */
enum secfile_result secfile_read(const char *path, long max,
    struct secfile *f, char *err, size_t errlen);

#endif
