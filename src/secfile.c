/*
 * secfile.c -- see secfile.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secfile.h"

static void
id_from_stat(struct secfile_id *id, const struct stat *sb)
{
	memset(id, 0, sizeof(*id));
	id->dev = sb->st_dev;
	id->ino = sb->st_ino;
	id->size = sb->st_size;
	id->mtim = sb->st_mtim;
	id->ctim = sb->st_ctim;
}

void
secfile_id_stat(struct secfile_id *id, const char *path)
{
	struct stat sb;

	if (stat(path, &sb) == -1) {
		memset(id, 0, sizeof(*id));
		id->error = errno != 0 ? errno : EIO;
	} else
		id_from_stat(id, &sb);
}

bool
secfile_id_equal(const struct secfile_id *a, const struct secfile_id *b)
{
	return a->error == b->error && a->dev == b->dev && a->ino == b->ino &&
	    a->size == b->size && a->mtim.tv_sec == b->mtim.tv_sec &&
	    a->mtim.tv_nsec == b->mtim.tv_nsec &&
	    a->ctim.tv_sec == b->ctim.tv_sec &&
	    a->ctim.tv_nsec == b->ctim.tv_nsec;
}

const char *
secfile_mode_problem(mode_t mode)
{
	if (mode & S_IWOTH)
		return "writable by others (run chmod o-rw on it)";
	if (mode & S_IROTH)
		return "readable by others (run chmod o-r on it)";
	return NULL;
}

enum secfile_result
secfile_read(const char *path, long max, struct secfile *f, char *err,
    size_t errlen)
{
	struct secfile_id after;
	struct stat sb;
	ssize_t r;
	int fd;
	enum secfile_result ret = SECFILE_FAILED;

	memset(f, 0, sizeof(*f));
	/* O_NONBLOCK: a FIFO put in the file's place must not hang us */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return SECFILE_FAILED;
	}
	if (fstat(fd, &sb) == -1) {
		snprintf(err, errlen, "cannot stat %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		goto out;
	}
	if (sb.st_size > max) {
		snprintf(err, errlen, "%s is too large (%lld bytes, the "
		    "limit is %ld)", path, (long long)sb.st_size, max);
		goto out;
	}
	if ((f->buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		snprintf(err, errlen, "cannot load %s: out of memory", path);
		goto out;
	}
	f->bufsize = (size_t)sb.st_size + 1;
	id_from_stat(&f->id, &sb);
	f->mode = sb.st_mode;
	while (f->len < (size_t)sb.st_size) {
		r = read(fd, f->buf + f->len, (size_t)sb.st_size - f->len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "cannot read %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		f->len += (size_t)r;
	}
	f->buf[f->len] = '\0';
	/* an in-place rewrite caught half-way would load half the users */
	if (fstat(fd, &sb) == -1)
		memset(&after, 0, sizeof(after));
	else
		id_from_stat(&after, &sb);
	if (!secfile_id_equal(&after, &f->id)) {
		snprintf(err, errlen, "%s changed while being read", path);
		ret = SECFILE_CHANGED;
		goto out;
	}
	ret = SECFILE_READ;
out:
	close(fd);
	if (ret != SECFILE_READ && f->buf != NULL) {
		explicit_bzero(f->buf, f->bufsize);
		free(f->buf);
		memset(f, 0, sizeof(*f));
	}
	return ret;
}
