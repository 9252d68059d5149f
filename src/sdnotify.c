/*
 * sdnotify.c -- sd_notify(3) and sd_listen_fds(3), the wire side only,
 * so the daemon needs no libsystemd.  Both protocols are a few lines of
 * environment and one datagram; see sdnotify.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sdnotify.h"

static struct sockaddr_un notify_addr;
static socklen_t notify_len;		/* 0: no service manager */
static bool notify_warned;

void
sdnotify_init(void)
{
	const char *e = getenv("NOTIFY_SOCKET");
	size_t len;

	notify_len = 0;
	if (e == NULL)
		return;
	len = strlen(e);
	if ((e[0] != '/' && e[0] != '@') || len < 2 ||
	    len >= sizeof(notify_addr.sun_path)) {
		log_warnx("NOTIFY_SOCKET \"%.100s\" is neither an absolute "
		    "path nor an abstract \"@name\" that fits a unix "
		    "socket; the service manager will not hear from us", e);
	} else {
		memset(&notify_addr, 0, sizeof(notify_addr));
		notify_addr.sun_family = AF_UNIX;
		memcpy(notify_addr.sun_path, e, len);
		if (e[0] == '@')
			notify_addr.sun_path[0] = '\0';
		/* an abstract name is exactly len bytes, no NUL after it */
		notify_len = offsetof(struct sockaddr_un, sun_path) + len +
		    (e[0] == '/');
	}
	unsetenv("NOTIFY_SOCKET");
}

bool
sdnotify_enabled(void)
{
	return notify_len > 0;
}

void
sdnotify(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int fd, n;

	if (notify_len == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || sendto(fd, msg, n, MSG_DONTWAIT | MSG_NOSIGNAL,
	    (struct sockaddr *)&notify_addr, notify_len) != n) {
		if (!notify_warned)
			log_warn("cannot tell the service manager \"%.*s\" "
			    "(NOTIFY_SOCKET)", (int)strcspn(msg, "\n"), msg);
		notify_warned = true;
	}
	if (fd != -1)
		close(fd);
}

void
sdnotify_reloading(const char *status)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sdnotify("RELOADING=1\nSTATUS=%s\nMONOTONIC_USEC=%llu", status,
	    (unsigned long long)ts.tv_sec * 1000000 +
	    (unsigned long long)ts.tv_nsec / 1000);
}

/* A decimal number within [min, max], or -1. */
static long
env_number(const char *name, long min, long max)
{
	const char *e = getenv(name);
	char *end;
	long v;

	if (e == NULL || *e == '\0')
		return -1;
	errno = 0;
	v = strtol(e, &end, 10);
	if (*end != '\0' || errno != 0 || v < min || v > max)
		return -1;
	return v;
}

int
sdnotify_listen_fds(void)
{
	long pid, n;
	int fd, flags;

	pid = env_number("LISTEN_PID", 1, LONG_MAX);
	n = env_number("LISTEN_FDS", 0, INT_MAX - SDNOTIFY_LISTEN_FDS_START);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	/* the variables were meant for another process (our parent) */
	if (pid != (long)getpid() || n <= 0)
		return 0;
	for (fd = SDNOTIFY_LISTEN_FDS_START;
	    fd < SDNOTIFY_LISTEN_FDS_START + n; fd++)
		if ((flags = fcntl(fd, F_GETFD)) == -1 ||
		    fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == -1)
			log_warn("LISTEN_FDS: descriptor %d", fd);
	return (int)n;
}
