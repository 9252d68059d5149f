/*
 * benchloop.h -- the harness shared by cryptloop, pamloop and ldaploop:
 * parsing -t and -d, running THREADS workers for SECONDS, and printing
 * the result line.  Each program is a single file, so the state here is
 * simply static.
 *
 * A worker is started with a pointer to its own slot of the caller's
 * array.  It does its set-up, calls bench_wait_start() exactly once, then
 * loops until bench_stopped().
 */
#ifndef BENCHLOOP_H
#define BENCHLOOP_H

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

#define BENCH_MAX_THREADS	1024

static pthread_barrier_t bench_barrier;
static atomic_bool bench_stop;

static inline uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* -d SECONDS: more than 0, at most 1e6, fractions allowed. */
static inline bool
bench_parse_seconds(const char *s, double *seconds)
{
	char *end;

	errno = 0;
	*seconds = strtod(s, &end);
	return errno == 0 && end != s && *end == '\0' && *seconds > 0 &&
	    *seconds <= 1e6;
}

/* -t THREADS: 1 to BENCH_MAX_THREADS. */
static inline bool
bench_parse_threads(const char *s, unsigned long *nthreads)
{
	char *end;

	errno = 0;
	*nthreads = strtoul(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && *s != '-' &&
	    *nthreads >= 1 && *nthreads <= BENCH_MAX_THREADS;
}

/* In a worker: wait until all workers are ready and the clock starts. */
static inline void
bench_wait_start(void)
{
	pthread_barrier_wait(&bench_barrier);
}

static inline bool
bench_stopped(void)
{
	return atomic_load_explicit(&bench_stop, memory_order_relaxed);
}

/*
 * Runs fn(args + i * argsize) in NTHREADS threads, releases them all at
 * once, stops them after SECONDS and joins them.  Returns the seconds
 * they ran.  On failure to start, says why as PROG and exits 1.
 */
static inline double
bench_run(const char *prog, unsigned long nthreads, double seconds,
    void *(*fn)(void *), void *args, size_t argsize)
{
	pthread_t *tids;
	struct timespec ts;
	uint64_t t0, deadline;
	unsigned long i;
	int e;

	if ((tids = calloc(nthreads, sizeof(*tids))) == NULL ||
	    pthread_barrier_init(&bench_barrier, NULL,
	    (unsigned)nthreads + 1) != 0) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(1);
	}
	for (i = 0; i < nthreads; i++)
		if ((e = pthread_create(&tids[i], NULL, fn,
		    (char *)args + i * argsize)) != 0) {
			fprintf(stderr, "%s: pthread_create: %s\n", prog,
			    strerror(e));
			exit(1);
		}
	pthread_barrier_wait(&bench_barrier);
	t0 = now_ns();
	deadline = t0 + (uint64_t)(seconds * 1e9);
	ts.tv_sec = (time_t)(deadline / 1000000000u);
	ts.tv_nsec = (long)(deadline % 1000000000u);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	    EINTR)
		;
	atomic_store(&bench_stop, true);
	for (i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	return (double)(now_ns() - t0) / 1e9;
}

/*
 * The result line: "threads=T seconds=S NAME1=N1 [NAME2=N2] rps=R", rps
 * being N1 + N2 per second.  NAME2 NULL leaves out the second count.
 */
static inline void
bench_print(unsigned long nthreads, double secs, const char *name1,
    uint64_t n1, const char *name2, uint64_t n2)
{
	printf("threads=%lu seconds=%.3f %s=%" PRIu64, nthreads, secs,
	    name1, n1);
	if (name2 != NULL)
		printf(" %s=%" PRIu64, name2, n2);
	else
		n2 = 0;
	printf(" rps=%.1f\n", secs > 0 ? (double)(n1 + n2) / secs : 0);
	fflush(stdout);
}

#endif /* BENCHLOOP_H */
