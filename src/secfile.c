/*
 * secfile.c -- see secfile.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "module.h"
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

/* --- secfile_watch ------------------------------------------------------ */

void
secfile_table_wipe(struct secfile_table *t)
{
	if (t->buf != NULL) {
		explicit_bzero(t->buf, t->bufsize);
		free(t->buf);
		t->buf = NULL;
	}
}

/* Read and parse the file into a new table (refs 0); on failure err says
 * why, naming the path. */
static enum secfile_result
watch_load(struct secfile_watch *w, struct secfile_table **tab_r, char *err,
    size_t errlen)
{
	struct secfile_table *t;
	struct secfile f;
	enum secfile_result r;

	*tab_r = NULL;
	if ((r = secfile_read(w->path, w->kind->max, &f, err, errlen)) !=
	    SECFILE_READ)
		return r;
	if ((t = calloc(1, w->kind->table_size)) == NULL) {
		explicit_bzero(f.buf, f.bufsize);
		free(f.buf);
		snprintf(err, errlen, "cannot load %s: out of memory",
		    w->path);
		return SECFILE_FAILED;
	}
	t->buf = f.buf;
	t->bufsize = f.bufsize;
	t->id = f.id;
	t->mode_problem = secfile_mode_problem(f.mode);
	if (w->kind->parse(w, t, f.len) == -1) {
		w->kind->free(t);
		snprintf(err, errlen, "cannot load %s: out of memory",
		    w->path);
		return SECFILE_FAILED;
	}
	*tab_r = t;
	return SECFILE_READ;
}

static void
watch_log_loaded(const struct secfile_watch *w, const char *verb,
    const struct secfile_table *t)
{
	am_log(t->nusers > 0 ? LOG_INFO : LOG_WARNING,
	    "%s: %s %s: %zu users, %u lines skipped", w->kind->name, verb,
	    w->path,
	    t->nusers, t->skipped);
}

int
secfile_watch_start(struct secfile_watch *w, const struct secfile_kind *kind,
    const struct am_conf *conf, const char *path, const char **error_r)
{
	struct secfile_table *t;
	char err[512];
	enum secfile_result r;
	int tries = 0;

	w->kind = kind;
	if ((w->path = strdup(path)) == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	if (pthread_mutex_init(&w->lock, NULL) != 0) {
		*error_r = "cannot create a mutex";
		return -1;
	}
	w->lock_made = true;
	/* an editor may be saving it just now */
	while ((r = watch_load(w, &t, err, sizeof(err))) == SECFILE_CHANGED &&
	    ++tries < 3)
		nanosleep(&(struct timespec){ .tv_nsec = 100000000 }, NULL);
	if (r != SECFILE_READ) {
		am_conf_error(conf, kind->key, "%s", err);
		*error_r = am_errorf("%s not loaded", kind->what);
		return -1;
	}
	if (t->mode_problem != NULL)
		am_conf_warn(conf, kind->key, "%s is %s", path,
		    t->mode_problem);
	watch_log_loaded(w, "loaded", t);
	t->refs = 1;
	w->table = t;
	w->tried = t->id;
	return 0;
}

/* Called by the one thread that saw the file change. */
static void
watch_reload(struct secfile_watch *w, const struct secfile_id *now)
{
	struct secfile_table *t = NULL, *old = NULL;
	char err[512];
	enum secfile_result r;
	size_t kept;

	if (now->error != 0) {
		snprintf(err, sizeof(err), "cannot stat %s: %s", w->path,
		    strerror(now->error));
		r = SECFILE_FAILED;
	} else
		r = watch_load(w, &t, err, sizeof(err));
	/* log while t is ours alone: once published, a later reload may
	 * free it */
	if (r == SECFILE_READ) {
		watch_log_loaded(w, "reloaded", t);
		if (t->mode_problem != NULL)
			am_log(LOG_WARNING, "%s: %s is %s", w->kind->name,
			    w->path, t->mode_problem);
	}

	pthread_mutex_lock(&w->lock);
	if (r == SECFILE_READ) {
		old = w->table;
		t->refs = 1;
		w->table = t;
		w->tried = t->id;
		if (--old->refs > 0)
			old = NULL;
	} else if (r == SECFILE_FAILED)
		/* not again until the file changes again */
		w->tried = *now;
	kept = w->table->nusers;
	w->reloading = false;
	pthread_mutex_unlock(&w->lock);

	if (r == SECFILE_FAILED)
		am_log(LOG_ERR, "%s: %s; still using the %zu users read "
		    "before", w->kind->name, err, kept);
	w->kind->free(old);
}

struct secfile_table *
secfile_acquire(struct secfile_watch *w)
{
	struct secfile_table *t;
	struct secfile_id now;
	bool mine;

	secfile_id_stat(&now, w->path);
	pthread_mutex_lock(&w->lock);
	mine = !w->reloading && !secfile_id_equal(&now, &w->tried);
	if (mine)
		w->reloading = true;
	pthread_mutex_unlock(&w->lock);
	if (mine)
		watch_reload(w, &now);

	pthread_mutex_lock(&w->lock);
	t = w->table;
	t->refs++;
	pthread_mutex_unlock(&w->lock);
	return t;
}

void
secfile_release(struct secfile_watch *w, struct secfile_table *t)
{
	bool last;

	pthread_mutex_lock(&w->lock);
	last = --t->refs == 0;
	pthread_mutex_unlock(&w->lock);
	if (last)
		w->kind->free(t);
}

void
secfile_watch_stop(struct secfile_watch *w)
{
	if (w->kind != NULL)
		w->kind->free(w->table);
	w->table = NULL;
	if (w->lock_made)
		pthread_mutex_destroy(&w->lock);
	w->lock_made = false;
	free(w->path);
	w->path = NULL;
}
