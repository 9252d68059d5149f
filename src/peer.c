/*
 * peer.c -- peer credentials; see peer.h.
 */
#include <stdio.h>
#include <sys/socket.h>

#include "peer.h"

int
peer_get(int fd, struct peer *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		p->known = false;
		p->pid = p->uid = p->gid = -1;
		return -1;
	}
	p->known = true;
	p->pid = cred.pid;
	p->uid = cred.uid;
	p->gid = cred.gid;
	return 0;
}

char *
peer_text(const struct peer *p, char *buf, size_t len)
{
	if (!p->known)
		snprintf(buf, len, "unknown");
	else
		snprintf(buf, len, "uid %ld gid %ld pid %ld", p->uid, p->gid,
		    p->pid);
	return buf;
}
