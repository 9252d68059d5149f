/*
 * cryptloop.c -- the in-process limit for crypt(3) on this machine.
 *
 * THREADS threads each call crypt_rn() (libxcrypt) in a loop for SECONDS,
 * each with its own heap-allocated struct crypt_data, hashing PASSWORD
 * with the setting taken from HASH, as a shadow or file backend does for
 * each request.  Every result is compared with HASH, so a wrong password
 * or an unsupported hash is noticed rather than benchmarked.  No daemon,
 * no socket: the number is the ceiling for any backend that must crypt
 * once per request.
 *
 * Output (stdout): threads=T seconds=S ops=N rps=R
 */
/* For hand builds; configure passes -D_GNU_SOURCE=1 itself. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <crypt.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS	1024

struct worker {
	pthread_t tid;
	uint64_t ops;
	uint64_t mismatches;	/* results other than HASH */
	uint64_t failures;	/* crypt_rn returned NULL */
	int last_errno;
};

static const char *hash, *password;
static pthread_barrier_t start_barrier;
static atomic_bool stop;

static void
usage(void)
{
	fprintf(stderr,
"usage: cryptloop [-t THREADS] -d SECONDS -H HASH -p PASSWORD\n"
"\n"
"Runs crypt_rn(PASSWORD, HASH) in a loop in each of THREADS threads (each\n"
"with its own struct crypt_data) for SECONDS, and checks that every result\n"
"equals HASH.  The ceiling for a backend that hashes once per request.\n"
"\n"
"  -t THREADS   threads (default 1)\n"
"  -d SECONDS   how long to run (fractions allowed)\n"
"  -H HASH      a crypt(3) hash, e.g. from \"mkpasswd -m sha-512\"\n"
"  -p PASSWORD  the password HASH was made from\n"
"\n"
"Output (stdout): threads=T seconds=S ops=N rps=R.  Exits 1 if a result\n"
"did not match HASH (wrong password, unsupported or malformed hash).\n");
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
worker_main(void *arg)
{
	struct worker *w = arg;
	struct crypt_data *cd;
	const char *out;

	/* calloc: crypt_rn wants the "initialized" field zeroed once. */
	if ((cd = calloc(1, sizeof(*cd))) == NULL) {
		fprintf(stderr, "cryptloop: out of memory\n");
		exit(1);
	}
	pthread_barrier_wait(&start_barrier);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		out = crypt_rn(password, hash, cd, (int)sizeof(*cd));
		if (out == NULL) {
			w->failures++;
			w->last_errno = errno;
		} else if (strcmp(out, hash) != 0) {
			w->mismatches++;
		}
		w->ops++;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return NULL;
}

static int
check_once(void)
{
	struct crypt_data *cd;
	const char *out;
	int rc = 0;

	if ((cd = calloc(1, sizeof(*cd))) == NULL) {
		fprintf(stderr, "cryptloop: out of memory\n");
		return -1;
	}
	out = crypt_rn(password, hash, cd, (int)sizeof(*cd));
	if (out == NULL) {
		fprintf(stderr, "cryptloop: crypt_rn: %s (unsupported or "
		    "malformed hash?)\n", strerror(errno));
		rc = -1;
	} else if (strcmp(out, hash) != 0) {
		fprintf(stderr, "cryptloop: PASSWORD does not match HASH\n");
		rc = -1;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}

int
main(int argc, char **argv)
{
	struct worker *ws;
	struct timespec ts;
	uint64_t t0, t1, deadline, ops = 0, bad = 0, failed = 0;
	double duration = 0, secs;
	unsigned long nthreads = 1;
	int ch, e, last_errno = 0;
	unsigned long i;
	char *end;

	while ((ch = getopt(argc, argv, "d:H:hp:t:")) != -1) {
		switch (ch) {
		case 'd':
			errno = 0;
			duration = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    !(duration > 0) || duration > 1e6)
				usage();
			break;
		case 'H':
			hash = optarg;
			break;
		case 'p':
			password = optarg;
			break;
		case 't':
			errno = 0;
			nthreads = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    *optarg == '-' || nthreads < 1 ||
			    nthreads > MAX_THREADS)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !(duration > 0) || hash == NULL ||
	    password == NULL)
		usage();

	/* Fail before the run rather than benchmark an error path. */
	if (check_once() == -1)
		return 1;
	if ((ws = calloc(nthreads, sizeof(*ws))) == NULL ||
	    pthread_barrier_init(&start_barrier, NULL,
	    (unsigned)nthreads + 1) != 0) {
		fprintf(stderr, "cryptloop: out of memory\n");
		return 1;
	}
	for (i = 0; i < nthreads; i++)
		if ((e = pthread_create(&ws[i].tid, NULL, worker_main,
		    &ws[i])) != 0) {
			fprintf(stderr, "cryptloop: pthread_create: %s\n",
			    strerror(e));
			return 1;
		}
	pthread_barrier_wait(&start_barrier);
	t0 = now_ns();
	deadline = t0 + (uint64_t)(duration * 1e9);
	ts.tv_sec = (time_t)(deadline / 1000000000u);
	ts.tv_nsec = (long)(deadline % 1000000000u);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	    EINTR)
		;
	atomic_store(&stop, true);
	for (i = 0; i < nthreads; i++) {
		pthread_join(ws[i].tid, NULL);
		ops += ws[i].ops;
		bad += ws[i].mismatches;
		failed += ws[i].failures;
		if (ws[i].failures != 0)
			last_errno = ws[i].last_errno;
	}
	t1 = now_ns();
	secs = (double)(t1 - t0) / 1e9;
	free(ws);

	printf("threads=%lu seconds=%.3f ops=%" PRIu64 " rps=%.1f\n",
	    nthreads, secs, ops, secs > 0 ? (double)ops / secs : 0);
	fflush(stdout);
	if (failed != 0) {
		fprintf(stderr, "cryptloop: crypt_rn failed %" PRIu64 " times:"
		    " %s (unsupported or malformed hash?)\n", failed,
		    strerror(last_errno));
		return 1;
	}
	if (bad != 0) {
		fprintf(stderr, "cryptloop: %" PRIu64 " results differ from "
		    "HASH: wrong password?\n", bad);
		return 1;
	}
	if (ops == 0) {
		fprintf(stderr, "cryptloop: no hash finished in time; the "
		    "result was never verified\n");
		return 1;
	}
	return 0;
}
