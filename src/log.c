/*
 * log.c -- syslog or stderr logging, err(3) style, plus the am_log,
 * am_errorf and am_escape host functions for modules.
 */

#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
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
static int log_fac = LOG_AUTH;

/*
 * The loop thread batches its lines and writes them once per loop
 * iteration: one write(2) for stderr, one sendmmsg(2) to /dev/log for
 * syslog, instead of a system call per line on the hot path.
 */
#define BATCH_LINES	64
#define BATCH_BYTES	(BATCH_LINES * 320)
static __thread bool batching;
static __thread char *bbuf;		/* BATCH_BYTES */
static __thread size_t blen;
static __thread struct iovec biov[BATCH_LINES];
static __thread unsigned int bn;
static int dev_log = -1;

static void batch_add(int prio, const char *line);
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
	log_fac = facility;
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
	if (batching && !log_both) {
		batch_add(prio, line);
		errno = saved;
		return;
	}
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

static int
dev_log_open(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX,
	    .sun_path = "/dev/log" };

	if (dev_log != -1)
		return 0;
	dev_log = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (dev_log == -1)
		return -1;
	if (connect(dev_log, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(dev_log);
		dev_log = -1;
		return -1;
	}
	return 0;
}

static void
batch_add(int prio, const char *line)
{
	size_t room, n;
	char stamp[32];
	time_t now;
	struct tm tm;

	if (bbuf == NULL && (bbuf = malloc(BATCH_BYTES)) == NULL) {
		batching = false;
		log_msg(prio, "%s", line);
		return;
	}
	if (bn == BATCH_LINES || blen + 2200 > BATCH_BYTES)
		log_flush();
	room = BATCH_BYTES - blen;
	if (log_stderr) {
		size_t il = strlen(log_ident), ll = strlen(line);

		if (il + ll + 3 > room)
			ll = room > il + 3 ? room - il - 3 : 0;
		memcpy(bbuf + blen, log_ident, il);
		memcpy(bbuf + blen + il, ": ", 2);
		memcpy(bbuf + blen + il + 2, line, ll);
		bbuf[blen + il + 2 + ll] = '\n';
		n = il + ll + 3;
	}
	else {
		/* RFC 3164, as syslog(3) writes it */
		now = time(NULL);
		localtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
		n = snprintf(bbuf + blen, room, "<%d>%s %s[%ld]: %s",
		    log_fac | prio, stamp, log_ident, (long)getpid(), line);
	}
	if (n >= room)
		n = room - 1;
	biov[bn].iov_base = bbuf + blen;
	biov[bn].iov_len = n;
	bn++;
	blen += n;
}

void
log_batch(bool on)
{
	if (!on)
		log_flush();
	batching = on;
}

void
log_flush(void)
{
	struct mmsghdr msgs[BATCH_LINES];
	unsigned int i, sent = 0;
	int r;

	if (bn == 0)
		return;
	if (log_stderr || log_both) {
		if (write(STDERR_FILENO, bbuf, blen) < 0) {
			/* nowhere left to report it */
		}
	}
	if (!log_stderr) {
		memset(msgs, 0, sizeof(msgs));
		for (i = 0; i < bn; i++) {
			msgs[i].msg_hdr.msg_iov = &biov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		while (sent < bn && dev_log_open() == 0) {
			r = sendmmsg(dev_log, msgs + sent, bn - sent,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
			if (r <= 0 && errno == EAGAIN)
				break;	/* syslogd is behind: drop, as it would */
			if (r <= 0) {
				/* syslogd restarted or is gone: try once
				 * more on a new socket, else drop */
				close(dev_log);
				dev_log = -1;
				if (dev_log_open() == -1 || sendmmsg(dev_log,
				    msgs + sent, bn - sent,
				    MSG_DONTWAIT | MSG_NOSIGNAL) <= 0)
					break;
			} else
				sent += r;
		}
	}
	bn = 0;
	blen = 0;
}

void
log_text(int prio, const char *line)
{
	int saved = errno;

	if (prio == LOG_DEBUG && !log_debugging)
		return;
	if (batching && !log_both)
		batch_add(prio, line);
	else
		log_msg(prio, "%s", line);
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

	log_batch(false);
	va_start(ap, fmt);
	vwarn(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	log_batch(false);
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
