/*
 * log.c -- syslog or stderr logging, err(3) style, plus the am_log,
 * am_errorf and am_escape host functions for modules.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "module.h"

static bool log_stderr = true;
static bool log_both;		/* syslog and stderr, during daemon startup */
static bool log_debugging;
static const char *log_ident = "authmuxd";

static const struct {
	const char *name;
	int facility;
} facilities[] = {
	{ "auth", LOG_AUTH },
	{ "authpriv", LOG_AUTHPRIV },
	{ "daemon", LOG_DAEMON },
	{ "mail", LOG_MAIL },
	{ "user", LOG_USER },
	{ "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
};

void
log_init(const char *ident, int facility, bool to_stderr, bool debug)
{
	log_ident = ident;
	log_stderr = to_stderr;
	log_debugging = debug;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

void
log_also_stderr(bool on)
{
	log_both = on;
}

void
log_set_debug(bool debug)
{
	log_debugging = debug;
}

bool
log_debug_enabled(void)
{
	return log_debugging;
}

int
log_facility(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcasecmp(name, facilities[i].name) == 0)
			return facilities[i].facility;
	return -1;
}

static void vlog(int, const char *, va_list) __attribute__((format(printf, 2, 0)));
static void vwarn(int, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

static void
vlog(int prio, const char *fmt, va_list ap)
{
	char line[2048];
	int saved = errno;

	if (prio == LOG_DEBUG && !log_debugging)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (!log_stderr)
		syslog(prio, "%s", line);
	if (log_stderr || log_both) {
		/* one write(2) per line keeps lines from threads whole */
		char out[2100];
		int n = snprintf(out, sizeof(out), "%s: %s\n", log_ident, line);

		if (n > (int)sizeof(out) - 1)
			n = sizeof(out) - 1;
		if (write(STDERR_FILENO, out, n) < 0) {
			/* nowhere left to report it */
		}
	}
	errno = saved;
}

void
log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, fmt, ap);
	va_end(ap);
}

void
am_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, fmt, ap);
	va_end(ap);
}

static void
vwarn(int prio, const char *fmt, va_list ap)
{
	char buf[1024];
	int saved = errno;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	log_msg(prio, "%s: %s", buf, strerror(saved));
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debugging)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

const char *
am_errorf(const char *fmt, ...)
{
	static __thread char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}

char *
am_escape(char *buf, size_t len, const char *s, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (len == 0)
		return buf;
	for (i = 0; s[i] != '\0' && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '[' &&
		    c != ']') {
			if (o + 1 >= len)
				break;
			buf[o++] = c;
		} else {
			if (o + 4 >= len)
				break;
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 0xf];
		}
	}
	/* mark a cut so nobody mistakes a prefix for the whole name */
	if (s[i] != '\0' && o + 3 < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}
