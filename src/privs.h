/*
 * privs.h -- what the process itself may give away: no core dumps and
 * not dumpable (a core or a ptrace by the same user would show the
 * passwords in memory), and the drop from root to the configured "user"
 * once the sockets are bound and the backends' preinit has read the
 * root-only files.
 */
#ifndef AUTHMUX_PRIVS_H
#define AUTHMUX_PRIVS_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"

struct privs {
	bool drop;		/* "user" names someone other than root */
	uid_t uid;
	gid_t gid;		/* "group", or the user's own */
	char name[64];		/* the user's name, for initgroups(3) */
	char group[64];		/* for log lines */
};

/* No core dumps (RLIMIT_CORE 0, soft and hard) and not dumpable
 * (PR_SET_DUMPABLE 0, which also keeps ptrace and /proc/PID/mem from
 * processes of the same user).  Before anything secret is read; a
 * failure is fatal. */
void privs_harden(void);

/* The "user" and "group" keys: names or numbers, resolved now (problems
 * are counted in conf, at file:line). */
void privs_load(struct am_conf *conf, struct privs *p);

/* Whether a and b name the same identity. */
bool privs_same(const struct privs *a, const struct privs *b);

/* Become p's user: its groups (initgroups), gid, uid; make sure uid 0
 * cannot be had back; not dumpable again (a change of uid resets it).
 * Any failure is fatal: the daemon never runs with half its
 * privileges. */
void privs_drop(const struct privs *p);

#endif
