/*
 * sdnotify.h -- the two protocols a service manager (systemd) speaks to
 * a daemon through its environment, done without libsystemd: state
 * changes sent as datagrams to NOTIFY_SOCKET (sd_notify(3)), and
 * listening sockets passed as descriptors 3, 4, ... (LISTEN_FDS,
 * sd_listen_fds(3)).
 */
#ifndef AUTHMUX_SDNOTIFY_H
#define AUTHMUX_SDNOTIFY_H

#include <stdbool.h>

/* The first descriptor passed with LISTEN_FDS. */
#define SDNOTIFY_LISTEN_FDS_START 3

/*
 * Remember NOTIFY_SOCKET (a path, or "@name" in the abstract namespace)
 * and remove it from the environment, so that no child (a PAM helper)
 * ever sees it.  Call once at start, before forking: a daemonized child
 * sends with the address its parent read.
 */
void sdnotify_init(void);

/* Whether there is a service manager to tell. */
bool sdnotify_enabled(void);

/*
 * Send one message, newline-separated assignments ("READY=1\nSTATUS=...").
 * Never blocks and never fails the caller: the first error is logged,
 * later ones are not.  Nothing happens without NOTIFY_SOCKET.
 */
void sdnotify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "RELOADING=1" with the MONOTONIC_USEC systemd 253 and later want, and
 * status as STATUS=. */
void sdnotify_reloading(const char *status);

/*
 * The number of listening sockets the service manager passed to this
 * process (LISTEN_PID is our pid): descriptors SDNOTIFY_LISTEN_FDS_START
 * and up, now close-on-exec.  LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES
 * are removed from the environment in any case.  Returns 0 when there
 * are none.  Call once at start, before forking.
 */
int sdnotify_listen_fds(void);

#endif
