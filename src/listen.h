/*
 * listen.h -- unix socket paths: directories, modes, stale sockets,
 * another instance already answering, and sockets the service manager
 * made for us.
 */
#ifndef AUTHMUX_LISTEN_H
#define AUTHMUX_LISTEN_H

#include <stdbool.h>
#include <sys/types.h>

/* How to create a socket directory that does not exist yet. */
struct listen_dir {
	uid_t uid;
	gid_t gid;
	mode_t mode;
};

struct listen_sock {
	char *path;
	int fd;
	bool inherited;		/* the service manager's: never unlinked */
	dev_t dev;		/* of the socket file we bound, so we only */
	ino_t ino;		/* ever unlink our own */
};

/* Fill d with the default: root:sasl 0710 when group sasl exists, else
 * root:root 0755. */
void listen_dir_default(struct listen_dir *d);

/*
 * Bind and listen on path.  Returns 0; -1 on error (logged, with what to
 * do); -2 when another live server already answers on path (logged).
 */
int listen_open(const char *path, const struct listen_dir *dir,
    mode_t sock_mode, struct listen_sock *out);
/* Close and unlink the socket file if it is still ours (never one the
 * service manager made). */
void listen_close(struct listen_sock *s);

/*
 * Take descriptor fd, passed by the service manager (LISTEN_FDS): a unix
 * stream socket that listens is made non-blocking and described in out
 * (inherited, path as bound: "@name" in the abstract namespace), and 0
 * is returned.  Anything else is logged, closed, and -1 returned.
 */
int listen_inherit(int fd, struct listen_sock *out);
/* Whether s is the socket at path: the same path, or the same file
 * reached through another one (/var/run is /run on Debian). */
bool listen_is(const struct listen_sock *s, const char *path);
/* The same path, counting repeated and trailing slashes as one. */
bool listen_same_path(const char *a, const char *b);

#endif
