/*
 * pamloop.c -- the in-process limit for PAM on this machine.
 *
 * THREADS threads each run, for SECONDS, the sequence saslauthd's pam
 * backend runs for every request: pam_start(SERVICE, USER) with a
 * conversation that answers echo-off prompts with PASSWORD (and echo-on
 * prompts with USER), pam_authenticate(PAM_SILENT), pam_acct_mgmt
 * (PAM_SILENT) when that succeeded, pam_end.  Each thread has its own
 * handle per iteration and nothing is shared between threads, so the
 * number is what the PAM stack of SERVICE costs, without any daemon.
 *
 * The fail delay: modules ask libpam for a delay after a failed
 * pam_authenticate with pam_fail_delay() (pam_unix 2 s unless "nodelay",
 * pam_faildelay what it is told: 3 s in Debian's /etc/pam.d/login).
 * libpam takes the largest request, varies it by up to +-20%, and sleeps
 * that long inside pam_authenticate before returning the failure.  By
 * default that happens here as in saslauthd, so every failure holds a
 * thread for ~2 s.  With -F, the application's PAM_FAIL_DELAY item is set
 * to a function: libpam then calls it with the computed delay instead of
 * sleeping, and ours does nothing, so failures return at once -- the
 * cost of the PAM stack alone (authmuxd's design: a delay is a timer in
 * the event loop, not a sleeping thread).  Successes are unaffected.
 *
 * Output (stdout): threads=T seconds=S ok=N fail=N rps=R
 */
/* For hand builds; configure passes -D_GNU_SOURCE=1 itself. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "benchloop.h"

struct worker {
	uint64_t ok, fail;
	int last_rc;		/* the last failure's PAM code */
	char last_step[20];	/* and where it happened */
};

static const char *service, *user, *password;
static bool no_fail_delay;

static void
usage(void)
{
	fprintf(stderr,
"usage: pamloop [-F] [-t THREADS] -d SECONDS -s SERVICE -u USER -p PASSWORD\n"
"\n"
"Runs pam_start/pam_authenticate/pam_acct_mgmt/pam_end in a loop in each\n"
"of THREADS threads for SECONDS, as saslauthd's pam backend does per\n"
"request (silent; echo-off prompts get PASSWORD, echo-on prompts USER).\n"
"\n"
"  -t THREADS   threads (default 1)\n"
"  -d SECONDS   how long to run (fractions allowed)\n"
"  -s SERVICE   PAM service, i.e. /etc/pam.d/SERVICE (saslauthd: the\n"
"               request's service, \"smtp\" from Postfix)\n"
"  -u USER      login\n"
"  -p PASSWORD  password\n"
"  -F           no fail delay: set the PAM_FAIL_DELAY item to a function\n"
"               that does nothing; libpam calls it instead of sleeping, so\n"
"               a failed pam_authenticate returns at once instead of after\n"
"               the delay modules ask for (pam_unix: 2 s +-20%%)\n"
"\n"
"Output (stdout): threads=T seconds=S ok=N fail=N rps=R (rps: ok + fail\n"
"per second).  pam_unix reads /etc/shadow directly only as root; other\n"
"users go through the unix_chkpwd helper, which is slower.\n");
	exit(1);
}

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *appdata)
{
	struct pam_response *r;
	const char *answer;
	int i;

	(void)appdata;
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			answer = password;
			break;
		case PAM_PROMPT_ECHO_ON:
			answer = user;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			continue;
		default:
			goto fail;
		}
		/* libpam frees (and, for passwords, wipes) these. */
		if ((r[i].resp = strdup(answer)) == NULL)
			goto fail;
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (i = 0; i < n; i++) {
		if (r[i].resp != NULL) {
			explicit_bzero(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	}
	free(r);
	return PAM_CONV_ERR;
}

/* Called by libpam instead of sleeping when PAM_FAIL_DELAY is set. */
static void
no_delay(int retval, unsigned usec_delay, void *appdata)
{
	/* Not sleeping is the point: see -F. */
	(void)retval;
	(void)usec_delay;
	(void)appdata;
}

static void
failed(struct worker *w, const char *step, int rc)
{
	w->fail++;
	w->last_rc = rc;
	snprintf(w->last_step, sizeof(w->last_step), "%s", step);
}

static void
one(struct worker *w)
{
	struct pam_conv pc = { .conv = conv, .appdata_ptr = NULL };
	pam_handle_t *pamh = NULL;
	int rc;

	if ((rc = pam_start(service, user, &pc, &pamh)) != PAM_SUCCESS) {
		failed(w, "pam_start", rc);
		/* pam_end is harmless on a NULL handle, needed otherwise. */
		if (pamh != NULL)
			pam_end(pamh, rc);
		return;
	}
	if (no_fail_delay && (rc = pam_set_item(pamh, PAM_FAIL_DELAY,
	    (const void *)no_delay)) != PAM_SUCCESS) {
		failed(w, "pam_set_item", rc);
		goto out;
	}
	if ((rc = pam_authenticate(pamh, PAM_SILENT)) != PAM_SUCCESS) {
		failed(w, "pam_authenticate", rc);
		goto out;
	}
	if ((rc = pam_acct_mgmt(pamh, PAM_SILENT)) != PAM_SUCCESS) {
		failed(w, "pam_acct_mgmt", rc);
		goto out;
	}
	w->ok++;
out:
	pam_end(pamh, rc);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	bench_wait_start();
	while (!bench_stopped())
		one(w);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct worker *ws;
	uint64_t ok = 0, fail = 0;
	double duration = 0, secs;
	unsigned long nthreads = 1, i;
	const char *last_step = NULL;
	int ch, last_rc = 0;

	while ((ch = getopt(argc, argv, "d:Fhp:s:t:u:")) != -1) {
		switch (ch) {
		case 'd':
			if (!bench_parse_seconds(optarg, &duration))
				usage();
			break;
		case 'F':
			no_fail_delay = true;
			break;
		case 'p':
			password = optarg;
			break;
		case 's':
			service = optarg;
			break;
		case 't':
			if (!bench_parse_threads(optarg, &nthreads))
				usage();
			break;
		case 'u':
			user = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !(duration > 0) || service == NULL ||
	    user == NULL || password == NULL)
		usage();

	if ((ws = calloc(nthreads, sizeof(*ws))) == NULL) {
		fprintf(stderr, "pamloop: out of memory\n");
		return 1;
	}
	secs = bench_run("pamloop", nthreads, duration, worker_main, ws,
	    sizeof(*ws));
	for (i = 0; i < nthreads; i++) {
		ok += ws[i].ok;
		fail += ws[i].fail;
		if (ws[i].fail != 0) {
			last_rc = ws[i].last_rc;
			last_step = ws[i].last_step;
		}
	}

	bench_print(nthreads, secs, "ok", ok, "fail", fail);
	/* pam_strerror takes a handle but, in Linux-PAM, does not use it. */
	if (last_step != NULL)
		fprintf(stderr, "pamloop: last failure: %s: %s (%d)\n",
		    last_step, pam_strerror(NULL, last_rc), last_rc);
	free(ws);
	return 0;
}
