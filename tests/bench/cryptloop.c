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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchloop.h"

struct worker {
	uint64_t ops;
	uint64_t mismatches;	/* results other than HASH */
	uint64_t failures;	/* crypt_rn returned NULL */
	int last_errno;
};

static const char *hash, *password;

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
	bench_wait_start();
	while (!bench_stopped()) {
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
	uint64_t ops = 0, bad = 0, failed = 0;
	double duration = 0, secs;
	unsigned long nthreads = 1, i;
	int ch, last_errno = 0;

	while ((ch = getopt(argc, argv, "d:H:hp:t:")) != -1) {
		switch (ch) {
		case 'd':
			if (!bench_parse_seconds(optarg, &duration))
				usage();
			break;
		case 'H':
			hash = optarg;
			break;
		case 'p':
			password = optarg;
			break;
		case 't':
			if (!bench_parse_threads(optarg, &nthreads))
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
	if ((ws = calloc(nthreads, sizeof(*ws))) == NULL) {
		fprintf(stderr, "cryptloop: out of memory\n");
		return 1;
	}
	secs = bench_run("cryptloop", nthreads, duration, worker_main, ws,
	    sizeof(*ws));
	for (i = 0; i < nthreads; i++) {
		ops += ws[i].ops;
		bad += ws[i].mismatches;
		failed += ws[i].failures;
		if (ws[i].failures != 0)
			last_errno = ws[i].last_errno;
	}
	free(ws);

	bench_print(nthreads, secs, "ops", ops, NULL, 0);
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
