/*
 * peer.h -- who is at the other end of a connection on a unix socket
 * (SO_PEERCRED, and SO_PEERGROUPS for the supplementary groups), and the
 * allow_users / allow_groups rule for the saslauthd sockets.
 */
#ifndef AUTHMUX_PEER_H
#define AUTHMUX_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

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

/* Who may use the saslauthd sockets besides root; empty (on false) when
 * neither key is set: everyone the socket's mode lets in. */
struct peer_acl {
	bool on;
	uid_t *uids;
	size_t nuids;
	gid_t *gids;
	size_t ngids;
};

/* Every allow_users and allow_groups line: names or numbers separated by
 * blanks or commas, names resolved now (an unknown one is an error at
 * file:line, counted in conf).  Returns -1 only when out of memory. */
int peer_acl_load(struct am_conf *conf, struct peer_acl *acl);
void peer_acl_free(struct peer_acl *acl);

/* Whether the peer on fd may ask: always when the rule is off, and for
 * root; else when its uid is listed, or its primary group or one of its
 * supplementary groups (SO_PEERGROUPS) is.  A peer the kernel could not
 * name is refused. */
bool peer_allowed(const struct peer_acl *acl, int fd, const struct peer *p);

#endif
