/*
 * privs.c -- core dumps, dumpability and the privilege drop; see privs.h.
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"
#include "privs.h"

void
privs_harden(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("setrlimit(RLIMIT_CORE, 0): a core dump would hold "
		    "passwords; refusing to start");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_DUMPABLE, 0): refusing to start "
		    "dumpable");
}

void
privs_load(struct am_conf *conf, struct privs *p)
{
	const struct am_conf_entry *u, *g;
	struct passwd *pw;
	struct group *gr;
	long id;

	memset(p, 0, sizeof(*p));
	u = conf_find(conf, "user");
	g = conf_find(conf, "group");
	if (u == NULL) {
		if (g != NULL)
			am_conf_error_at(conf, g, "needs user: the daemon "
			    "drops its privileges only to a user");
		return;
	}
	id = conf_parse_id(u->value);
	pw = id >= 0 ? getpwuid((uid_t)id) : getpwnam(u->value);
	if (pw == NULL) {
		am_conf_error_at(conf, u, "no such user \"%.64s\"", u->value);
		return;
	}
	if (strlen(pw->pw_name) >= sizeof(p->name)) {
		am_conf_error_at(conf, u, "user name too long");
		return;
	}
	snprintf(p->name, sizeof(p->name), "%s", pw->pw_name);
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	if (g != NULL) {
		id = conf_parse_id(g->value);
		gr = id >= 0 ? getgrgid((gid_t)id) : getgrnam(g->value);
		if (gr != NULL)
			p->gid = gr->gr_gid;
		else if (id >= 0)
			p->gid = (gid_t)id;
		else {
			am_conf_error_at(conf, g, "no such group \"%.64s\"",
			    g->value);
			return;
		}
	}
	if ((gr = getgrgid(p->gid)) != NULL)
		snprintf(p->group, sizeof(p->group), "%s", gr->gr_name);
	else
		snprintf(p->group, sizeof(p->group), "%ld", (long)p->gid);
	/* root stays root: nothing to drop */
	p->drop = p->uid != 0;
}

bool
privs_same(const struct privs *a, const struct privs *b)
{
	return a->drop == b->drop && (!a->drop || (a->uid == b->uid &&
	    a->gid == b->gid));
}

void
privs_drop(const struct privs *p)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (initgroups(p->name, p->gid) == -1)
		fatal("cannot take the groups of user %s (initgroups)",
		    p->name);
	if (setresgid(p->gid, p->gid, p->gid) == -1)
		fatal("cannot change to group %s (gid %ld)", p->group,
		    (long)p->gid);
	if (setresuid(p->uid, p->uid, p->uid) == -1)
		fatal("cannot change to user %s (uid %ld)", p->name,
		    (long)p->uid);
	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1 ||
	    ru != p->uid || eu != p->uid || su != p->uid || rg != p->gid ||
	    eg != p->gid || sg != p->gid)
		fatalx("after the change to user %s the ids are not all %ld "
		    "and %ld; refusing to run", p->name, (long)p->uid,
		    (long)p->gid);
	/* with a capability left over (SECBIT_KEEP_CAPS, say), this would
	 * work: better not to run at all */
	if (setuid(0) != -1 || seteuid(0) != -1)
		fatalx("user %s could become root again after the drop; "
		    "refusing to run", p->name);
	/* a change of uid resets it to fs.suid_dumpable */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_DUMPABLE, 0) after the drop");
	log_info("running as user %s (uid %ld), group %s (gid %ld)", p->name,
	    (long)p->uid, p->group, (long)p->gid);
}
