/*
 * peer.c -- peer credentials and the allow_users / allow_groups rule;
 * see peer.h.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
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

/* Append id to *v (n entries); -1 when out of memory. */
static int
add_id(unsigned int **v, size_t *n, unsigned int id)
{
	unsigned int *p = reallocarray(*v, *n + 1, sizeof(**v));

	if (p == NULL)
		return -1;
	p[(*n)++] = id;
	*v = p;
	return 0;
}

int
peer_acl_load(struct am_conf *conf, struct peer_acl *acl)
{
	char *copy, *tok, *save;
	size_t i;
	long id;
	int r = 0;

	memset(acl, 0, sizeof(*acl));
	for (i = 0; i < conf->n && r == 0; i++) {
		const struct am_conf_entry *e = &conf->v[i];
		bool users = strcmp(e->key, "allow_users") == 0;

		if (!users && strcmp(e->key, "allow_groups") != 0)
			continue;
		acl->on = true;
		if ((copy = strdup(e->value)) == NULL)
			return -1;
		for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
		    tok = strtok_r(NULL, ", \t", &save)) {
			struct passwd *pw;
			struct group *gr;

			if ((id = conf_parse_id(tok)) < 0 && users) {
				if ((pw = getpwnam(tok)) != NULL)
					id = pw->pw_uid;
				else
					am_conf_error_at(conf, e, "no such "
					    "user \"%.64s\"", tok);
			} else if (id < 0) {
				if ((gr = getgrnam(tok)) != NULL)
					id = gr->gr_gid;
				else
					am_conf_error_at(conf, e, "no such "
					    "group \"%.64s\"", tok);
			}
			if (id < 0)
				continue;
			if ((users ? add_id(&acl->uids, &acl->nuids, id) :
			    add_id(&acl->gids, &acl->ngids, id)) == -1) {
				r = -1;
				break;
			}
		}
		free(copy);
	}
	return r;
}

void
peer_acl_free(struct peer_acl *acl)
{
	free(acl->uids);
	free(acl->gids);
	memset(acl, 0, sizeof(*acl));
}

static bool
gid_listed(const struct peer_acl *acl, gid_t gid)
{
	size_t i;

	for (i = 0; i < acl->ngids; i++)
		if (acl->gids[i] == gid)
			return true;
	return false;
}

/* Is one of the peer's supplementary groups listed? */
static bool
groups_listed(const struct peer_acl *acl, int fd)
{
#ifdef SO_PEERGROUPS
	static bool warned;
	gid_t stackbuf[64], *g = stackbuf;
	socklen_t len = sizeof(stackbuf);
	bool found = false;
	size_t i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == -1) {
		/* more groups than fit: len says how many */
		if (errno != ERANGE || (g = malloc(len)) == NULL ||
		    getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == -1) {
			if (errno == ENOPROTOOPT && !warned) {
				warned = true;
				log_warnx("allow_groups: this kernel does not "
				    "tell a peer's supplementary groups "
				    "(SO_PEERGROUPS, Linux 4.13): only "
				    "primary groups count");
			}
			if (g != stackbuf)
				free(g);
			return false;
		}
	}
	for (i = 0; i < len / sizeof(gid_t) && !found; i++)
		found = gid_listed(acl, g[i]);
	if (g != stackbuf)
		free(g);
	return found;
#else
	return false;
#endif
}

bool
peer_allowed(const struct peer_acl *acl, int fd, const struct peer *p)
{
	size_t i;

	if (!acl->on)
		return true;
	if (!p->known)
		return false;
	if (p->uid == 0)
		return true;
	for (i = 0; i < acl->nuids; i++)
		if ((long)acl->uids[i] == p->uid)
			return true;
	if (acl->ngids == 0)
		return false;
	return gid_listed(acl, (gid_t)p->gid) || groups_listed(acl, fd);
}
