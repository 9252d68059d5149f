/*
 * secfile.h -- reading a secret file (password or shadow file) the way
 * a backend must: a regular file only, bounded in size, read whole, and
 * refused when it changed while being read; telling a later change by
 * its stat(2) identity; and keeping the table parsed from it current
 * for the workers (secfile_watch).  Linked into the backends that load
 * files.
 */
#ifndef AUTHMUX_SECFILE_H
#define AUTHMUX_SECFILE_H

#include <pthread.h>
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

/* --- a table kept current with its file ------------------------------
 *
 * The workers share one parsed table.  A worker that sees the file's
 * identity change reloads it (one worker at a time; the others go on with
 * the table they have); a new table is swapped in, and the old one freed
 * when its last user releases it.  A file that cannot be loaded keeps the
 * old table, is logged once, and is tried again when it changes again. */

/* The part of a backend's table this code handles: its first member. */
struct secfile_table {
	unsigned int refs;	/* under the watch's lock */
	char *buf;		/* the file, which the parser may cut up */
	size_t bufsize;
	struct secfile_id id;	/* the version read */
	const char *mode_problem; /* NULL, or what is wrong with the mode */
	size_t nusers;		/* set by the parser, for the log */
	unsigned int skipped;	/* lines the parser left out */
};

struct secfile_watch;

/* What a backend's files are: constant, one per backend. */
struct secfile_kind {
	const char *name;	/* the backend, for the log: "file" */
	const char *what;	/* for errors: "password file" */
	const char *key;	/* the configuration key naming the file */
	long max;		/* the largest file accepted, in bytes */
	size_t table_size;	/* sizeof the backend's table */
	/* Parse t's buffer (len bytes read) into the rest of t, which
	 * starts zeroed; -1 when out of memory, and t is then freed with
	 * free below. */
	int (*parse)(struct secfile_watch *w, struct secfile_table *t,
	    size_t len);
	/* Wipe and free a table, buffer included; NULL is fine. */
	void (*free)(struct secfile_table *t);
};

struct secfile_watch {
	const struct secfile_kind *kind;
	char *path;
	pthread_mutex_t lock;
	bool lock_made;
	struct secfile_table *table;	/* under lock */
	struct secfile_id tried;	/* last loaded or tried, under lock */
	bool reloading;			/* under lock */
};

struct am_conf;

/* Load path as w's first table (w zeroed before), retrying a file caught
 * being written;
 * errors and a bad mode are reported at the key in conf.  -1 with
 * *error_r set when it cannot be loaded. */
int secfile_watch_start(struct secfile_watch *w,
    const struct secfile_kind *kind, const struct am_conf *conf,
    const char *path, const char **error_r);
/* The current table, reloaded first if the file changed; pair with
 * secfile_release(). */
struct secfile_table *secfile_acquire(struct secfile_watch *w);
void secfile_release(struct secfile_watch *w, struct secfile_table *t);
/* Free the table and the path; w itself is the caller's. */
void secfile_watch_stop(struct secfile_watch *w);

/* Wipe and free a table's buffer (for the backends' free functions). */
void secfile_table_wipe(struct secfile_table *t);

#endif
