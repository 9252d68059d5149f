/*
 * wire.c -- raw saslauthd-protocol client for the integration tests: send
 * arbitrary, slow, idle or repeated requests and say what the server did.
 *
 *   wire -f SOCK send HEX [HOLD_MS]
 *   wire -f SOCK req LOGIN PASSWORD SERVICE REALM [ADDR]
 *   wire -f SOCK trickle HEX DELAY_MS
 *   wire -f SOCK idle N SECONDS
 *   wire -f SOCK latency COUNT LOGIN PASSWORD
 *   wire -f SOCK abandon HEX N
 *   wire -f SOCK flood N HOLD_MS
 *   wire monotonic
 *
 * send, req and trickle end with one outcome line, after reading until
 * the server closes or 10 s pass with nothing new:
 *
 *   reply: TEXT     one well-formed reply, then EOF (TEXT escaped: \\,
 *                   \xHH for bytes outside printable ASCII)
 *   closed          EOF (or reset) with nothing received
 *   bad: HEX        EOF after bytes that are not exactly one reply
 *   timeout         no EOF in time; follows a "reply:" or "bad:" line
 *                   when something did arrive
 *
 * When the server stops taking bytes, sending stops and stderr says
 * "write-failed: sent K of N: REASON"; stdout keeps just the outcome, so
 * scripts can compare it whole.  Exit 0 for all of these, 1 on usage
 * error, 2 when the connection cannot be made.
 *
 * idle prints "closed-by-server: K of N"; latency prints
 * "ok: X no: Y max_ms: Z p50_ms: W p99_ms: V" (a request with no reply
 * counts as no, and stderr says how many there were).  abandon opens N
 * connections one after another, sends HEX on each and closes it at once
 * without reading (a client that goes away mid-request, or before its
 * reply), and prints "abandoned: N".  flood makes N non-blocking
 * connects as fast as it can, holds the ones that succeed for HOLD_MS
 * and closes them, and prints "connected: C refused: R failed: F": R
 * connects the kernel refused with EAGAIN (the listen backlog is full),
 * F any other failure.  monotonic prints
 * CLOCK_MONOTONIC in microseconds, the clock of sd_notify's
 * MONOTONIC_USEC.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "saslauthd_proto.h"

#define READ_TIMEOUT_MS	10000
/* Largest request the protocol can express: five 0xffff-byte fields. */
#define FRAME_MAX	(5 * (2 + 0xffff))
/* More than any reply; what a misbehaving server sends beyond is counted
 * but dropped. */
#define RBUF_MAX	(2 + 0xffff + 64)
#define HEX_SHOWN	256

struct result {
	uint8_t buf[RBUF_MAX];
	size_t len;		/* bytes kept in buf */
	size_t total;		/* bytes received */
	int eof;
};

static const char *sockpath;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: wire -f SOCK send HEX [HOLD_MS]\n"
	    "       wire -f SOCK req LOGIN PASSWORD SERVICE REALM [ADDR]\n"
	    "       wire -f SOCK trickle HEX DELAY_MS\n"
	    "       wire -f SOCK idle N SECONDS\n"
	    "       wire -f SOCK latency COUNT LOGIN PASSWORD\n"
	    "       wire -f SOCK abandon HEX N\n"
	    "       wire -f SOCK flood N HOLD_MS\n"
	    "       wire monotonic\n");
	exit(1);
}

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
now_ms(void)
{
	return now_us() / 1000;
}

static long
parse_num(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "wire: not a number in [%ld, %ld]: %s\n", min,
		    max, s);
		usage();
	}
	return v;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex digit pairs; whitespace anywhere except inside a pair. */
static size_t
parse_hex(const char *s, uint8_t *out, size_t outlen)
{
	size_t n = 0;
	int hi, lo;

	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			return n;
		if ((hi = hexval((unsigned char)s[0])) == -1 ||
		    (lo = hexval((unsigned char)s[1])) == -1) {
			fprintf(stderr, "wire: bad hex at \"%.10s\"\n", s);
			usage();
		}
		if (n == outlen) {
			fprintf(stderr, "wire: hex longer than %zu bytes\n",
			    outlen);
			usage();
		}
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
}

/* Exits 2 when the server cannot be reached: nothing else to test. */
static int
dial(void)
{
	struct sockaddr_un sun;
	struct timeval tv = { READ_TIMEOUT_MS / 1000, 0 };
	int s;

	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "wire: socket: %s\n", strerror(errno));
		exit(2);
	}
	/* A full backlog blocks connect(); Linux bounds it by this. */
	(void)setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, sockpath, strlen(sockpath));
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "wire: connect %s: %s\n", sockpath,
		    strerror(errno));
		exit(2);
	}
	return s;
}

/* Read what arrives until EOF or the deadline (ms, monotonic).
 * Returns 1 on EOF, 0 at the deadline. */
static int
pump(int s, struct result *r, int64_t deadline)
{
	uint8_t chunk[4096];
	struct pollfd pfd;
	int64_t left;
	ssize_t n;
	size_t keep;

	while (!r->eof) {
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		pfd.fd = s;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left) <= 0)
			continue;
		n = read(s, chunk, sizeof(chunk));
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		/* A reset is how Linux reports a close with our bytes
		 * still unread on the server's side: a close all the same. */
		if (n <= 0) {
			r->eof = 1;
			break;
		}
		keep = (size_t)n;
		if (keep > sizeof(r->buf) - r->len)
			keep = sizeof(r->buf) - r->len;
		memcpy(r->buf + r->len, chunk, keep);
		r->len += keep;
		r->total += (size_t)n;
	}
	return 1;
}

/* Write everything or stop at the first failure; returns bytes sent. */
static size_t
send_bytes(int s, const uint8_t *p, size_t n, int *err)
{
	size_t off = 0;
	ssize_t w;

	*err = 0;
	while (off < n) {
		w = send(s, p + off, n - off, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1) {
			*err = errno;
			break;
		}
		off += (size_t)w;
	}
	return off;
}

static void
print_escaped(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\\')
			fputs("\\\\", stdout);
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			putchar(p[i]);
		else
			printf("\\x%02x", p[i]);
	}
}

/* Is buf exactly one counted string of at least two bytes? */
static int
one_reply(const struct result *r)
{
	char text[2];
	size_t n;

	if (r->total != r->len ||
	    proto_decode_reply(r->buf, r->len, text, sizeof(text)) != 1)
		return 0;
	n = (size_t)r->buf[0] << 8 | r->buf[1];
	return r->len == n + 2;
}

static void
report(const struct result *r, int eof)
{
	size_t i;

	if (r->total > 0) {
		if (one_reply(r)) {
			fputs("reply: ", stdout);
			print_escaped(r->buf + 2, r->len - 2);
		} else {
			fputs("bad:", stdout);
			for (i = 0; i < r->len && i < HEX_SHOWN; i++)
				printf(" %02x", r->buf[i]);
			if (r->total > i)
				printf(" ... (%zu bytes)", r->total);
		}
		putchar('\n');
	}
	if (!eof)
		puts("timeout");
	else if (r->total == 0)
		puts("closed");
}

static void
report_write(size_t sent, size_t n, int err)
{
	if (err != 0)
		fprintf(stderr, "write-failed: sent %zu of %zu: %s\n", sent,
		    n, strerror(err));
}

static int
cmd_send(const uint8_t *bytes, size_t n, long hold_ms)
{
	static struct result r;
	size_t sent;
	int s, err, eof;

	s = dial();
	sent = send_bytes(s, bytes, n, &err);
	report_write(sent, n, err);
	/* Holding the write side open is what a slow client does: the
	 * server must not wait for it forever. */
	if (hold_ms >= 0 && err == 0 && !pump(s, &r, now_ms() + hold_ms))
		shutdown(s, SHUT_WR);
	eof = pump(s, &r, now_ms() + READ_TIMEOUT_MS);
	report(&r, eof);
	close(s);
	return 0;
}

static int
cmd_trickle(const uint8_t *bytes, size_t n, long delay_ms)
{
	static struct result r;
	size_t i;
	int s, err = 0, eof;

	s = dial();
	for (i = 0; i < n; i++) {
		if (send_bytes(s, bytes + i, 1, &err) != 1)
			break;
		/* Wait, but keep reading: the server may answer or close
		 * before the last byte. */
		if (i + 1 < n)
			pump(s, &r, now_ms() + delay_ms);
	}
	report_write(i, n, err);
	eof = pump(s, &r, now_ms() + READ_TIMEOUT_MS);
	report(&r, eof);
	close(s);
	return 0;
}

static void
raise_nofile(rlim_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = need;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		rl.rlim_max = need;	/* works as root; else capped below */
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		fprintf(stderr, "wire: open files limited to %llu, %llu "
		    "wanted\n", (unsigned long long)rl.rlim_cur,
		    (unsigned long long)need);
	}
}

static int
cmd_idle(long n, long seconds)
{
	struct pollfd *pfd;
	char junk[256];
	int64_t deadline, left;
	long i, closed = 0, open_ = n;
	ssize_t rd;

	raise_nofile((rlim_t)n + 16);
	if ((pfd = calloc((size_t)n, sizeof(*pfd))) == NULL) {
		fprintf(stderr, "wire: out of memory\n");
		return 1;
	}
	for (i = 0; i < n; i++) {
		pfd[i].fd = dial();
		pfd[i].events = POLLIN;
	}
	deadline = now_ms() + seconds * 1000;
	while (open_ > 0 && (left = deadline - now_ms()) > 0) {
		if (poll(pfd, (nfds_t)n, left > INT_MAX ? INT_MAX :
		    (int)left) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			/* Whatever the server says first (a NO, say), it
			 * is the EOF that counts. */
			rd = read(pfd[i].fd, junk, sizeof(junk));
			if (rd == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (rd <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				closed++;
				open_--;
			}
		}
	}
	printf("closed-by-server: %ld of %ld\n", closed, n);
	for (i = 0; i < n; i++)
		if (pfd[i].fd != -1)
			close(pfd[i].fd);
	free(pfd);
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int
cmd_latency(long count, const char *login, const char *password)
{
	static uint8_t req[FRAME_MAX];
	static struct result r;
	char text[PROTO_REPLY_TEXT_MAX + 1];
	double *ms, max = 0;
	struct pollfd pfd;
	long i, nok = 0, nno = 0, errors = 0;
	int64_t t0, deadline, left;
	size_t reqlen;
	ssize_t n;
	int s, err, got;

	reqlen = proto_encode_request(req, sizeof(req), login, password,
	    "smtp", "", NULL);
	if (reqlen == 0) {
		fprintf(stderr, "wire: a field is longer than 65535 bytes\n");
		usage();
	}
	if ((ms = calloc((size_t)count, sizeof(*ms))) == NULL) {
		fprintf(stderr, "wire: out of memory\n");
		return 1;
	}
	for (i = 0; i < count; i++) {
		t0 = now_us();
		s = dial();
		r.len = r.total = 0;
		r.eof = 0;
		got = 0;
		if (send_bytes(s, req, reqlen, &err) == reqlen) {
			/* Stop the clock at the reply, not at the close. */
			deadline = now_ms() + READ_TIMEOUT_MS;
			while (got == 0 && (left = deadline - now_ms()) > 0) {
				pfd.fd = s;
				pfd.events = POLLIN;
				if (poll(&pfd, 1, (int)left) <= 0)
					continue;
				n = read(s, r.buf + r.len,
				    sizeof(r.buf) - r.len);
				if (n == -1 && errno == EINTR)
					continue;
				if (n <= 0)
					break;
				r.len += (size_t)n;
				got = proto_decode_reply(r.buf, r.len, text,
				    sizeof(text));
				if (got == -1)
					break;
			}
		}
		ms[i] = (double)(now_us() - t0) / 1000.0;
		close(s);
		if (ms[i] > max)
			max = ms[i];
		if (got == 1 && strncmp(text, "OK", 2) == 0)
			nok++;
		else {
			nno++;
			if (got != 1)
				errors++;
		}
	}
	qsort(ms, (size_t)count, sizeof(*ms), cmp_double);
	/* p99 by nearest rank: the smallest with 99% at or below it */
	printf("ok: %ld no: %ld max_ms: %.3f p50_ms: %.3f p99_ms: %.3f\n",
	    nok, nno, max, ms[(count - 1) / 2],
	    ms[(count * 99 + 99) / 100 - 1]);
	if (errors > 0)
		fprintf(stderr, "wire: %ld of the no answers were no reply "
		    "at all\n", errors);
	free(ms);
	return 0;
}

static int
cmd_abandon(const uint8_t *bytes, size_t n, long count)
{
	long i;
	int s, err;

	for (i = 0; i < count; i++) {
		s = dial();
		if (send_bytes(s, bytes, n, &err) != n)
			report_write(0, n, err);
		close(s);
	}
	printf("abandoned: %ld\n", count);
	return 0;
}

static int
cmd_flood(long count, long hold_ms)
{
	struct sockaddr_un sun;
	long i, nconn = 0, refused = 0, failed = 0;
	int *fds, s;

	raise_nofile((rlim_t)count + 16);
	if ((fds = calloc((size_t)count, sizeof(*fds))) == NULL) {
		fprintf(stderr, "wire: out of memory\n");
		return 1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, sockpath, strlen(sockpath));
	for (i = 0; i < count; i++) {
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
		if (s == -1) {
			failed++;
			continue;
		}
		if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			fds[nconn++] = s;
			continue;
		}
		if (errno == EAGAIN)
			refused++;
		else if (failed++ == 0)
			fprintf(stderr, "wire: connect: %s\n", strerror(errno));
		close(s);
	}
	poll(NULL, 0, (int)hold_ms);
	for (i = 0; i < nconn; i++)
		close(fds[i]);
	free(fds);
	printf("connected: %ld refused: %ld failed: %ld\n", nconn, refused,
	    failed);
	return 0;
}

int
main(int argc, char *argv[])
{
	static uint8_t frame[FRAME_MAX];
	const char *cmd;
	size_t n;
	int c;

	while ((c = getopt(argc, argv, "+f:")) != -1) {
		switch (c) {
		case 'f':
			sockpath = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 1 && strcmp(argv[0], "monotonic") == 0) {
		printf("%lld\n", (long long)now_us());
		return 0;
	}
	if (sockpath == NULL || argc < 1)
		usage();
	if (strlen(sockpath) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		fprintf(stderr, "wire: socket path too long\n");
		usage();
	}
	/* Line by line, so a script reading a pipe sees each outcome. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	cmd = argv[0];

	if (strcmp(cmd, "send") == 0 && (argc == 2 || argc == 3)) {
		n = parse_hex(argv[1], frame, sizeof(frame));
		return cmd_send(frame, n, argc == 3 ?
		    parse_num(argv[2], 0, 86400000) : -1);
	}
	if (strcmp(cmd, "req") == 0 && (argc == 5 || argc == 6)) {
		n = proto_encode_request(frame, sizeof(frame), argv[1], argv[2],
		    argv[3], argv[4], argc == 6 ? argv[5] : NULL);
		if (n == 0) {
			fprintf(stderr, "wire: a field is longer than 65535 "
			    "bytes\n");
			usage();
		}
		return cmd_send(frame, n, -1);
	}
	if (strcmp(cmd, "trickle") == 0 && argc == 3) {
		n = parse_hex(argv[1], frame, sizeof(frame));
		return cmd_trickle(frame, n, parse_num(argv[2], 0, 86400000));
	}
	if (strcmp(cmd, "idle") == 0 && argc == 3)
		return cmd_idle(parse_num(argv[1], 1, 1000000),
		    parse_num(argv[2], 0, 86400));
	if (strcmp(cmd, "abandon") == 0 && argc == 3) {
		n = parse_hex(argv[1], frame, sizeof(frame));
		return cmd_abandon(frame, n, parse_num(argv[2], 1, 1000000));
	}
	if (strcmp(cmd, "flood") == 0 && argc == 3)
		return cmd_flood(parse_num(argv[1], 1, 1000000),
		    parse_num(argv[2], 0, 86400000));
	if (strcmp(cmd, "latency") == 0 && argc == 4)
		return cmd_latency(parse_num(argv[1], 1, 100000000), argv[2],
		    argv[3]);
	usage();
	return 1;
}
