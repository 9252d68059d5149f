/*
 * peer.h -- who is at the other end of a connection on a unix socket
 * (SO_PEERCRED).
 */
#ifndef AUTHMUX_PEER_H
#define AUTHMUX_PEER_H

#include <stdbool.h>
#include <stddef.h>

/* As the kernel saw the peer when it connected. */
struct peer {
	bool known;		/* SO_PEERCRED answered */
	long pid;		/* 0 when in a pid namespace we cannot see */
	long uid, gid;
};

/* Ask the kernel; on failure p->known is false and -1 is returned. */
int peer_get(int fd, struct peer *p);
/* "uid 105 gid 109 pid 1234" (or "unknown") into buf; returns buf. */
char *peer_text(const struct peer *p, char *buf, size_t len);

#endif
