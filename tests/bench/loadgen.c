/*
 * loadgen.c -- load generator for the saslauthd protocol.
 *
 * Talks to a saslauthd-compatible socket exactly as libsasl2 does for
 * "pwcheck_method: saslauthd": a new AF_UNIX connection per request, the
 * whole four-field request (login, password, service, realm) in one
 * write, then the two-byte length and the reply are read and the socket
 * is closed.  THREADS threads each send requests one after another.
 *
 * Latency is measured per request from socket() to the last reply byte,
 * kept for every request that got a reply, and the percentiles are exact
 * (nearest rank over all samples).  Failures to connect, short or
 * malformed replies and timeouts (30 s for the whole request) are counted
 * as errors and never stop the run.
 *
 * The result is one line on stdout:
 *   requests=N ok=N no=N errors=N seconds=S rps=R p50_ms=.. p99_ms=.. max_ms=..
 * requests = ok + no + errors of the measured phase; rps = (ok + no) /
 * seconds, i.e. answered requests per second.
 */
/* For hand builds; configure passes -D_GNU_SOURCE=1 itself. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "saslauthd_proto.h"

#define DEFAULT_SOCKET		"/var/run/saslauthd/mux"
#define DEFAULT_CONCURRENCY	4
#define MAX_CONCURRENCY		4096
#define REQUEST_TIMEOUT_MS	30000
#define WRONG_SUFFIX		"-wrong"

enum outcome {
	OUT_OK,
	OUT_NO,
	OUT_ERR_CONNECT,	/* socket() or connect() failed */
	OUT_ERR_WRITE,		/* the request could not be sent */
	OUT_ERR_READ,		/* read error, or EOF before the reply */
	OUT_ERR_TIMEOUT,	/* no whole reply within the timeout */
	OUT_ERR_REPLY,		/* bad reply: length < 2 or > 1023 */
	OUT_NKINDS,
};

static const char *const outcome_names[OUT_NKINDS] = {
	"ok", "no", "connect", "write", "read/short", "timeout", "bad reply",
};

/* One user of the pool, with both of its requests encoded in advance so
 * the measured loop does no formatting. */
struct user {
	uint8_t *req_good, *req_bad;
	size_t len_good, len_bad;
};

struct worker {
	pthread_t tid;
	int id;
	uint64_t *lat;		/* latency samples, ns */
	size_t nlat, caplat;
	uint64_t count[OUT_NKINDS];
	uint64_t sent_wrong;
	char lasterr[160];
};

static struct sockaddr_un srv_addr;
static socklen_t sunlen;
static struct user *users;
static size_t nusers;
static unsigned wrong_pct;
static uint64_t total_requests;	/* -n; 0 with -d */
static uint64_t warmup_requests;
static pthread_barrier_t start_barrier;

static atomic_uint_fast64_t next_warm;
static atomic_uint_fast64_t next_req;
static atomic_bool stop;

static void
usage(void)
{
	fprintf(stderr,
"usage: loadgen [-q] [-f SOCKET] [-c CONCURRENCY] (-n REQUESTS | -d SECONDS)\n"
"               -u USERFILE [-w PERCENT] [-W WARMUP] [-s SERVICE] [-r REALM]\n"
"\n"
"Sends saslauthd requests as libsasl2 does: a new unix-socket connection\n"
"per request, the 4-field request in one write, read the counted reply,\n"
"close.\n"
"\n"
"  -f SOCKET       socket path (default " DEFAULT_SOCKET ")\n"
"  -c CONCURRENCY  threads, each sending requests in sequence (default %d)\n"
"  -n REQUESTS     measured requests in total, or\n"
"  -d SECONDS      measure for this long (fractions allowed)\n"
"  -u USERFILE     lines \"login:password\" (split at the first ':'; blank\n"
"                  lines and lines starting with '#' are skipped); each\n"
"                  request picks a user uniformly at random\n"
"  -w PERCENT      share of requests sent with a wrong password (the real\n"
"                  one followed by \"" WRONG_SUFFIX "\"), spread evenly\n"
"                  (default 0)\n"
"  -W WARMUP       requests sent first and not measured (default 0)\n"
"  -s SERVICE      service field (default \"smtp\")\n"
"  -r REALM        realm field (default \"\")\n"
"  -q              print only the result line\n"
"\n"
"Output (stdout): requests=N ok=N no=N errors=N seconds=S rps=R p50_ms=..\n"
"p99_ms=.. max_ms=..  Latency is from socket() to the whole reply, over\n"
"answered requests; rps counts answered requests (ok + no).  Errors\n"
"(connect failure, short read, bad reply, %d s timeout) are counted and\n"
"never stop the run.  SIGINT ends the run early and still reports.\n"
"Exits 0 after a run (errors are in the line), 1 on bad arguments.\n",
	    DEFAULT_CONCURRENCY, REQUEST_TIMEOUT_MS / 1000);
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n)) == NULL) {
		fprintf(stderr, "loadgen: out of memory\n");
		exit(1);
	}
	return p;
}

static uint64_t
parse_u64(const char *s, const char *what, uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *s == '-' || v > max) {
		fprintf(stderr, "loadgen: bad %s: %s\n", what, s);
		exit(1);
	}
	return v;
}

static uint8_t *
encode(const char *login, const char *password, const char *service,
    const char *realm, size_t *lenp)
{
	size_t cap;
	uint8_t *buf;

	cap = 8 + strlen(login) + strlen(password) + strlen(service) +
	    strlen(realm);
	buf = xmalloc(cap);
	if ((*lenp = proto_encode_request(buf, cap, login, password, service,
	    realm, NULL)) == 0) {
		fprintf(stderr, "loadgen: a field of user %s is over 65535 "
		    "bytes\n", login);
		exit(1);
	}
	return buf;
}

static void
load_users(const char *path, const char *service, const char *realm)
{
	FILE *fp;
	char *line = NULL, *colon, *bad;
	size_t cap = 0, ucap = 0, lineno = 0, n;
	ssize_t len;

	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "loadgen: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if ((colon = strchr(line, ':')) == NULL || colon == line) {
			fprintf(stderr, "loadgen: %s:%zu: expected "
			    "login:password\n", path, lineno);
			exit(1);
		}
		*colon = '\0';
		if (nusers == ucap) {
			ucap = ucap ? ucap * 2 : 16;
			if ((users = realloc(users, ucap * sizeof(*users))) ==
			    NULL) {
				fprintf(stderr, "loadgen: out of memory\n");
				exit(1);
			}
		}
		n = strlen(colon + 1) + sizeof(WRONG_SUFFIX);
		bad = xmalloc(n);
		snprintf(bad, n, "%s%s", colon + 1, WRONG_SUFFIX);
		users[nusers].req_good = encode(line, colon + 1, service, realm,
		    &users[nusers].len_good);
		users[nusers].req_bad = encode(line, bad, service, realm,
		    &users[nusers].len_bad);
		explicit_bzero(bad, n);
		free(bad);
		nusers++;
	}
	if (ferror(fp)) {
		fprintf(stderr, "loadgen: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	fclose(fp);
	if (nusers == 0) {
		fprintf(stderr, "loadgen: %s: no users\n", path);
		exit(1);
	}
}

/* splitmix64: a fixed, well-mixed function of the request number, so the
 * choice of user is uniform and does not depend on thread scheduling. */
static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15u;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

/* Request k carries a wrong password when floor((k+1)w/100) steps up:
 * exactly w of every 100 consecutive requests, evenly spread. */
static bool
is_wrong(uint64_t k)
{
	return (k + 1) * wrong_pct / 100 != k * wrong_pct / 100;
}

static int
remaining_ms(uint64_t deadline)
{
	uint64_t t = now_ns();

	if (t >= deadline)
		return 0;
	return (int)((deadline - t + 999999) / 1000000);
}

static enum outcome
do_request(const uint8_t *req, size_t reqlen, char *errbuf, size_t errlen)
{
	struct timeval tv = { .tv_sec = REQUEST_TIMEOUT_MS / 1000 };
	uint8_t buf[PROTO_REPLY_MAX + 1];
	char text[PROTO_REPLY_TEXT_MAX + 1];
	uint64_t deadline;
	struct pollfd pfd;
	enum outcome out;
	size_t off = 0, got = 0;
	ssize_t n;
	int fd, r;

	deadline = now_ns() + (uint64_t)REQUEST_TIMEOUT_MS * 1000000u;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(errbuf, errlen, "socket: %s", strerror(errno));
		return OUT_ERR_CONNECT;
	}
	/* Bounds a blocking connect() to a full backlog and the write. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&srv_addr, sunlen) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINPROGRESS) {
			snprintf(errbuf, errlen, "connect: timed out");
			out = OUT_ERR_TIMEOUT;
		} else {
			snprintf(errbuf, errlen, "connect %s: %s",
			    srv_addr.sun_path, strerror(errno));
			out = OUT_ERR_CONNECT;
		}
		goto out;
	}
	/* One write, as libsasl2; loop only if the kernel takes less. */
	while (off < reqlen) {
		n = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				snprintf(errbuf, errlen, "write: timed out");
				out = OUT_ERR_TIMEOUT;
			} else {
				snprintf(errbuf, errlen, "write: %s",
				    strerror(errno));
				out = OUT_ERR_WRITE;
			}
			goto out;
		}
		off += (size_t)n;
	}
	for (;;) {
		r = proto_decode_reply(buf, got, text, sizeof(text));
		if (r == 1)
			break;
		if (r == -1 || got == sizeof(buf)) {
			snprintf(errbuf, errlen, "malformed reply (length %u)",
			    (unsigned)buf[0] << 8 | buf[1]);
			out = OUT_ERR_REPLY;
			goto out;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if ((r = poll(&pfd, 1, remaining_ms(deadline))) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(errbuf, errlen, "poll: %s", strerror(errno));
			out = OUT_ERR_READ;
			goto out;
		}
		if (r == 0) {
			snprintf(errbuf, errlen, "no reply within %d s",
			    REQUEST_TIMEOUT_MS / 1000);
			out = OUT_ERR_TIMEOUT;
			goto out;
		}
		n = read(fd, buf + got, sizeof(buf) - got);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			snprintf(errbuf, errlen, "read: %s", strerror(errno));
			out = OUT_ERR_READ;
			goto out;
		}
		if (n == 0) {
			snprintf(errbuf, errlen, "short reply: EOF after %zu "
			    "bytes", got);
			out = OUT_ERR_READ;
			goto out;
		}
		got += (size_t)n;
	}
	/* libsasl2: anything starting with "OK" is success. */
	out = strncmp(text, "OK", 2) == 0 ? OUT_OK : OUT_NO;
out:
	close(fd);
	return out;
}

static enum outcome
send_one(struct worker *w, uint64_t k)
{
	const struct user *u = &users[mix64(k) % nusers];
	bool wrong = is_wrong(k);

	if (wrong)
		return do_request(u->req_bad, u->len_bad, w->lasterr,
		    sizeof(w->lasterr));
	return do_request(u->req_good, u->len_good, w->lasterr,
	    sizeof(w->lasterr));
}

static void
add_sample(struct worker *w, uint64_t ns)
{
	if (w->nlat == w->caplat) {
		w->caplat = w->caplat ? w->caplat * 2 : 4096;
		if ((w->lat = realloc(w->lat, w->caplat * sizeof(*w->lat))) ==
		    NULL) {
			fprintf(stderr, "loadgen: out of memory for samples\n");
			exit(1);
		}
	}
	w->lat[w->nlat++] = ns;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	enum outcome o;
	uint64_t k, t0;
	char scratch[160];

	/* Warm-up, shared by all threads, not measured.  Its own request
	 * numbering keeps the measured mix exact. */
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		k = atomic_fetch_add(&next_warm, 1);
		if (k >= warmup_requests)
			break;
		(void)do_request(users[mix64(k) % nusers].req_good,
		    users[mix64(k) % nusers].len_good, scratch,
		    sizeof(scratch));
	}
	pthread_barrier_wait(&start_barrier);

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		k = atomic_fetch_add(&next_req, 1);
		if (total_requests != 0 && k >= total_requests)
			break;
		if (is_wrong(k))
			w->sent_wrong++;
		t0 = now_ns();
		o = send_one(w, k);
		if (o == OUT_OK || o == OUT_NO)
			add_sample(w, now_ns() - t0);
		w->count[o]++;
	}
	return NULL;
}

static void
on_sigint(int sig)
{
	(void)sig;
	atomic_store(&stop, true);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest sample with at least p% at or below it. */
static double
percentile_ms(const uint64_t *s, size_t n, unsigned p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (n * p + 99) / 100;
	if (rank == 0)
		rank = 1;
	return (double)s[rank - 1] / 1e6;
}

int
main(int argc, char **argv)
{
	const char *sockpath = DEFAULT_SOCKET, *userfile = NULL;
	const char *service = "smtp", *realm = "";
	uint64_t c = DEFAULT_CONCURRENCY, t_start, t_end;
	uint64_t tot[OUT_NKINDS] = { 0 }, wrong_sent = 0, nerr, sum = 0;
	double duration = 0, secs;
	struct worker *ws;
	struct sigaction sa;
	struct timespec ts;
	uint64_t *all, deadline;
	const char *lasterr = NULL;
	size_t nall = 0, i;
	bool quiet = false, have_n = false;
	char *end;
	int ch, k, e;

	while ((ch = getopt(argc, argv, "c:d:f:hn:qr:s:u:W:w:")) != -1) {
		switch (ch) {
		case 'c':
			c = parse_u64(optarg, "concurrency", MAX_CONCURRENCY);
			if (c == 0)
				usage();
			break;
		case 'd':
			errno = 0;
			duration = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    !(duration > 0) || duration > 1e6) {
				fprintf(stderr, "loadgen: bad duration: %s\n",
				    optarg);
				exit(1);
			}
			break;
		case 'f':
			sockpath = optarg;
			break;
		case 'n':
			total_requests = parse_u64(optarg, "request count",
			    UINT64_MAX / 128);
			have_n = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'r':
			realm = optarg;
			break;
		case 's':
			service = optarg;
			break;
		case 'u':
			userfile = optarg;
			break;
		case 'W':
			warmup_requests = parse_u64(optarg, "warm-up count",
			    UINT64_MAX / 128);
			break;
		case 'w':
			wrong_pct = (unsigned)parse_u64(optarg, "percentage",
			    100);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || userfile == NULL)
		usage();
	if (have_n == (duration > 0)) {
		fprintf(stderr, "loadgen: give exactly one of -n and -d\n");
		usage();
	}
	if (have_n && total_requests == 0) {
		fprintf(stderr, "loadgen: -n must be at least 1\n");
		exit(1);
	}
	if (strlen(sockpath) >= sizeof(srv_addr.sun_path)) {
		fprintf(stderr, "loadgen: socket path too long: %s\n",
		    sockpath);
		exit(1);
	}
	srv_addr.sun_family = AF_UNIX;
	memcpy(srv_addr.sun_path, sockpath, strlen(sockpath) + 1);
	sunlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(sockpath) + 1);
	load_users(userfile, service, realm);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	ws = calloc(c, sizeof(*ws));
	if (ws == NULL || pthread_barrier_init(&start_barrier, NULL,
	    (unsigned)c + 1) != 0) {
		fprintf(stderr, "loadgen: out of memory\n");
		exit(1);
	}
	for (i = 0; i < c; i++) {
		ws[i].id = (int)i;
		if ((e = pthread_create(&ws[i].tid, NULL, worker_main,
		    &ws[i])) != 0) {
			fprintf(stderr, "loadgen: pthread_create: %s\n",
			    strerror(e));
			exit(1);
		}
	}
	pthread_barrier_wait(&start_barrier);
	t_start = now_ns();
	if (duration > 0) {
		deadline = t_start + (uint64_t)(duration * 1e9);
		ts.tv_sec = (time_t)(deadline / 1000000000u);
		ts.tv_nsec = (long)(deadline % 1000000000u);
		while (!atomic_load(&stop) && clock_nanosleep(CLOCK_MONOTONIC,
		    TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		atomic_store(&stop, true);
	}
	for (i = 0; i < c; i++)
		pthread_join(ws[i].tid, NULL);
	t_end = now_ns();
	secs = (double)(t_end - t_start) / 1e9;

	for (i = 0; i < c; i++)
		nall += ws[i].nlat;
	all = xmalloc((nall ? nall : 1) * sizeof(*all));
	nall = 0;
	for (i = 0; i < c; i++) {
		memcpy(all + nall, ws[i].lat, ws[i].nlat * sizeof(*all));
		nall += ws[i].nlat;
		for (k = 0; k < OUT_NKINDS; k++)
			tot[k] += ws[i].count[k];
		wrong_sent += ws[i].sent_wrong;
		if (ws[i].count[OUT_ERR_CONNECT] + ws[i].count[OUT_ERR_WRITE] +
		    ws[i].count[OUT_ERR_READ] + ws[i].count[OUT_ERR_TIMEOUT] +
		    ws[i].count[OUT_ERR_REPLY] != 0)
			lasterr = ws[i].lasterr;
	}
	qsort(all, nall, sizeof(*all), cmp_u64);
	nerr = 0;
	for (k = OUT_ERR_CONNECT; k < OUT_NKINDS; k++)
		nerr += tot[k];

	printf("requests=%" PRIu64 " ok=%" PRIu64 " no=%" PRIu64
	    " errors=%" PRIu64 " seconds=%.3f rps=%.1f p50_ms=%.3f"
	    " p99_ms=%.3f max_ms=%.3f\n",
	    tot[OUT_OK] + tot[OUT_NO] + nerr, tot[OUT_OK], tot[OUT_NO], nerr,
	    secs, secs > 0 ? (double)(tot[OUT_OK] + tot[OUT_NO]) / secs : 0,
	    percentile_ms(all, nall, 50), percentile_ms(all, nall, 99),
	    nall ? (double)all[nall - 1] / 1e6 : 0);
	fflush(stdout);

	if (!quiet) {
		for (i = 0; i < nall; i++)
			sum += all[i];
		fprintf(stderr, "loadgen: %s, %" PRIu64 " threads, %zu users, "
		    "service \"%s\", realm \"%s\"\n", sockpath, c, nusers,
		    service, realm);
		fprintf(stderr, "  %.3f s, %" PRIu64 " requests (%" PRIu64
		    " with a wrong password), %" PRIu64 " warm-up\n", secs,
		    tot[OUT_OK] + tot[OUT_NO] + nerr, wrong_sent,
		    warmup_requests);
		fprintf(stderr, "  answered: %" PRIu64 " OK, %" PRIu64 " NO;"
		    " %.1f per second\n", tot[OUT_OK], tot[OUT_NO],
		    secs > 0 ? (double)(tot[OUT_OK] + tot[OUT_NO]) / secs : 0);
		if (nall != 0)
			fprintf(stderr, "  latency ms: min %.3f  mean %.3f  "
			    "p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  "
			    "max %.3f\n", (double)all[0] / 1e6,
			    (double)sum / (double)nall / 1e6,
			    percentile_ms(all, nall, 50),
			    percentile_ms(all, nall, 90),
			    percentile_ms(all, nall, 99),
			    nall >= 1000 ? (double)all[(nall * 999 + 999) /
			    1000 - 1] / 1e6 : (double)all[nall - 1] / 1e6,
			    (double)all[nall - 1] / 1e6);
		if (nerr != 0) {
			fprintf(stderr, "  errors: %" PRIu64 " (", nerr);
			for (k = OUT_ERR_CONNECT; k < OUT_NKINDS; k++)
				fprintf(stderr, "%s%s %" PRIu64,
				    k == OUT_ERR_CONNECT ? "" : ", ",
				    outcome_names[k], tot[k]);
			fprintf(stderr, "); last: %s\n",
			    lasterr ? lasterr : "?");
		}
		if (wrong_pct == 0 && tot[OUT_NO] != 0)
			fprintf(stderr, "  note: NO answers although every "
			    "password sent was the one in %s\n", userfile);
	}
	for (i = 0; i < c; i++)
		free(ws[i].lat);
	free(ws);
	free(all);
	return 0;
}
