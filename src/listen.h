/*
 * listen.h -- unix socket paths: directories, modes, stale sockets, and
 * another instance already answering.
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
/* Close and unlink the socket file if it is still ours. */
void listen_close(struct listen_sock *s);

#endif
