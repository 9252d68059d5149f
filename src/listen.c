/*
 * listen.c -- create unix listening sockets the way an administrator
 * expects: missing directories are made with the configured owner and
 * mode, unsafe ones are refused, a stale socket is replaced, and a live
 * one means another instance is running.  Sockets the service manager
 * made (socket activation) are checked and used as they are.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"

void
listen_dir_default(struct listen_dir *d)
{
	struct group *gr = getgrnam("sasl");

	d->uid = 0;
	if (gr != NULL) {
		d->gid = gr->gr_gid;
		d->mode = 0710;
	} else {
		d->gid = 0;
		d->mode = 0755;
	}
}

/* mkdir -p; the last component gets dir's owner and mode. */
static int
make_dirs(const char *dir, const struct listen_dir *ld)
{
	char buf[PATH_MAX], *p;
	struct stat st;

	if (strlen(dir) >= sizeof(buf))
		return -1;
	strcpy(buf, dir);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST) {
			log_warn("cannot create directory %s", buf);
			return -1;
		}
		*p = '/';
	}
	if (stat(buf, &st) == 0)
		return 0;
	if (mkdir(buf, ld->mode) == -1 && errno != EEXIST) {
		log_warn("cannot create directory %s", buf);
		return -1;
	}
	/* mkdir's mode is cut by the umask; say exactly what we mean */
	if (chmod(buf, ld->mode) == -1 ||
	    (geteuid() == 0 && chown(buf, ld->uid, ld->gid) == -1)) {
		log_warn("cannot set owner and mode of %s", buf);
		return -1;
	}
	log_info("created socket directory %s (mode %04o, uid %u, gid %u)",
	    buf, (unsigned)ld->mode, (unsigned)ld->uid, (unsigned)ld->gid);
	return 0;
}

static int
check_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) == -1) {
		log_warn("socket directory %s", dir);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_warnx("socket directory %s is not a directory", dir);
		return -1;
	}
	if (st.st_mode & S_IWOTH) {
		log_warnx("refusing socket directory %s: it is writable by "
		    "everyone (mode %04o), so anyone could replace the "
		    "socket; use a directory of its own, e.g. chmod 0710 "
		    "and chgrp sasl", dir, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

static int
fill_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		log_warnx("socket path %s is too long for a unix socket "
		    "(%zu bytes, at most %zu): choose a shorter directory",
		    path, strlen(path), sizeof(sun->sun_path) - 1);
		return -1;
	}
	strcpy(sun->sun_path, path);
	return 0;
}

/* Returns 0 when path is free (a stale socket was removed), -1 on error,
 * -2 when a live server answers. */
static int
clear_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int s, r;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("%s", path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("%s exists and is not a socket; remove it or "
		    "choose another path", path);
		return -1;
	}
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("socket");
		return -1;
	}
	r = connect(s, (const struct sockaddr *)sun, sizeof(*sun));
	close(s);
	if (r == 0) {
		log_warnx("another authentication daemon is already "
		    "answering on %s; stop it first (or use another -m "
		    "directory)", path);
		return -2;
	}
	if (errno != ECONNREFUSED && errno != ENOENT) {
		log_warn("cannot tell whether %s is in use", path);
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("cannot remove stale socket %s", path);
		return -1;
	}
	log_info("removed stale socket %s", path);
	return 0;
}

int
listen_open(const char *path, const struct listen_dir *ld, mode_t sock_mode,
    struct listen_sock *out)
{
	struct sockaddr_un sun;
	struct stat st;
	char *copy, *dir;
	int s = -1, r;

	out->fd = -1;
	out->path = NULL;
	out->inherited = false;
	if (path[0] != '/') {
		log_warnx("socket path %s is not absolute", path);
		return -1;
	}
	if (fill_addr(path, &sun) == -1)
		return -1;
	if ((copy = strdup(path)) == NULL)
		return -1;
	dir = dirname(copy);
	r = make_dirs(dir, ld);
	if (r == 0)
		r = check_dir(dir);
	free(copy);
	if (r == -1)
		return -1;
	if ((r = clear_stale(path, &sun)) != 0)
		return r;
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("socket");
		return -1;
	}
	if (bind(s, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("cannot bind %s", path);
		goto fail;
	}
	/* access is decided by the directory's mode, as with saslauthd */
	if (chmod(path, sock_mode) == -1) {
		log_warn("chmod %s", path);
		goto fail_unlink;
	}
	if (listen(s, SOMAXCONN) == -1) {
		log_warn("listen %s", path);
		goto fail_unlink;
	}
	if (stat(path, &st) == -1 || (out->path = strdup(path)) == NULL) {
		log_warn("%s", path);
		goto fail_unlink;
	}
	out->fd = s;
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	return 0;
fail_unlink:
	unlink(path);
fail:
	close(s);
	return -1;
}

void
listen_close(struct listen_sock *s)
{
	struct stat st;

	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	/* the service manager's socket outlives us: it may start us again */
	if (!s->inherited && s->path != NULL && lstat(s->path, &st) == 0 &&
	    st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	free(s->path);
	s->path = NULL;
}

/* What makes fd unusable as a listener, or NULL; sun gets its address. */
static const char *
inherited_problem(int fd, struct sockaddr_un *sun, socklen_t *len)
{
	int v;
	socklen_t vlen = sizeof(v);

	memset(sun, 0, sizeof(*sun));
	*len = sizeof(*sun);
	if (getsockname(fd, (struct sockaddr *)sun, len) == -1)
		return errno == ENOTSOCK ? "not a socket" : strerror(errno);
	if (sun->sun_family != AF_UNIX)
		return "not a unix socket";
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &vlen) == -1 ||
	    v != SOCK_STREAM)
		return "not a stream socket";
	vlen = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vlen) == -1 ||
	    !v)
		return "not listening";
	return NULL;
}

int
listen_inherit(int fd, struct listen_sock *out)
{
	struct sockaddr_un sun;
	struct stat st;
	socklen_t len;
	const char *why;
	char path[sizeof(sun.sun_path) + 1];
	size_t n;
	int flags;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if ((why = inherited_problem(fd, &sun, &len)) != NULL) {
		log_warnx("descriptor %d from the service manager: %s; "
		    "closed (a .socket unit for authmuxd should hold "
		    "ListenStream= unix socket paths only)", fd, why);
		close(fd);
		return -1;
	}
	n = len > offsetof(struct sockaddr_un, sun_path) ?
	    len - offsetof(struct sockaddr_un, sun_path) : 0;
	if (n == 0)
		snprintf(path, sizeof(path), "(unnamed)");
	else if (sun.sun_path[0] == '\0')
		snprintf(path, sizeof(path), "@%.*s", (int)n - 1,
		    sun.sun_path + 1);
	else
		snprintf(path, sizeof(path), "%.*s", (int)n, sun.sun_path);
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    (out->path = strdup(path)) == NULL) {
		log_warn("descriptor %d from the service manager (%s)", fd,
		    path);
		close(fd);
		return -1;
	}
	out->fd = fd;
	out->inherited = true;
	/* for listen_is(): the same file under another path */
	if (path[0] == '/' && stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		out->dev = st.st_dev;
		out->ino = st.st_ino;
	}
	return 0;
}

bool
listen_same_path(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		if (*a == '/') {
			while (a[1] == '/')
				a++;
			while (b[1] == '/')
				b++;
		}
		a++;
		b++;
	}
	return *a == *b;
}

bool
listen_is(const struct listen_sock *s, const char *path)
{
	struct stat st;

	if (listen_same_path(s->path, path))
		return true;
	return s->ino != 0 && stat(path, &st) == 0 && st.st_dev == s->dev &&
	    st.st_ino == s->ino;
}
