/*
 * privs.h -- what the process itself may give away: no core dumps and
 * not dumpable (a core or a ptrace by the same user would show the
 * passwords in memory).
 */
#ifndef AUTHMUX_PRIVS_H
#define AUTHMUX_PRIVS_H

/* No core dumps (RLIMIT_CORE 0, soft and hard) and not dumpable
 * (PR_SET_DUMPABLE 0, which also keeps ptrace and /proc/PID/mem from
 * processes of the same user).  Before anything secret is read; a
 * failure is fatal. */
void privs_harden(void);

#endif
