/*
 * ldaploop.c -- the in-process limit for LDAP simple binds.
 *
 * THREADS threads each open ONE connection to URI (ldap_initialize,
 * LDAPv3) before the clock starts, then repeat a simple bind
 * (ldap_sasl_bind_s with LDAP_SASL_SIMPLE) as DN with PASSWORD on it for
 * SECONDS.  This is the best a backend reusing persistent connections can
 * do against that server: one round trip and the server's password check
 * per request, no connection set-up, no search.
 *
 * A bind that gets an answer other than success counts as fail.  When the
 * connection itself breaks (server down, timeout), that also counts as
 * fail and the thread opens a new connection, so a restart of the server
 * shows in the numbers rather than ending the run.
 *
 * Output (stdout): threads=T seconds=S ok=N fail=N rps=R
 */
/* For hand builds; configure passes -D_GNU_SOURCE=1 itself. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <lber.h>
#include <ldap.h>

#include "benchloop.h"

#define NET_TIMEOUT_SEC	5	/* connect, and each bind's reply */

struct worker {
	LDAP *ld;
	uint64_t ok, fail, reconnects;
	int last_rc;		/* the last failure's LDAP result code */
};

static const char *uri, *dn, *password;

static void
usage(void)
{
	fprintf(stderr,
"usage: ldaploop [-t THREADS] -d SECONDS -H URI -D DN -w PASSWORD\n"
"\n"
"Each of THREADS threads opens one LDAPv3 connection to URI and repeats a\n"
"simple bind as DN on it for SECONDS: the ceiling for an LDAP backend that\n"
"keeps its connections.\n"
"\n"
"  -t THREADS   threads, i.e. connections (default 1)\n"
"  -d SECONDS   how long to run (fractions allowed)\n"
"  -H URI       e.g. ldap://127.0.0.1:3890/ or ldapi://%%2Ftmp%%2Fldapi\n"
"  -D DN        bind DN\n"
"  -w PASSWORD  bind password (must not be empty: that is an anonymous\n"
"               bind, which succeeds without checking anything)\n"
"\n"
"Output (stdout): threads=T seconds=S ok=N fail=N rps=R (rps: ok + fail\n"
"per second).  A broken connection counts as a failure and is reopened.\n"
"Exits 1 when a connection cannot be opened before the run; a bind that\n"
"is refused up front only gives a warning.\n");
	exit(1);
}

/* ldap_initialize does not connect; the first bind does. */
static int
open_conn(LDAP **ldp)
{
	struct timeval tv = { .tv_sec = NET_TIMEOUT_SEC };
	int v3 = LDAP_VERSION3, rc;
	LDAP *ld;

	*ldp = NULL;
	if ((rc = ldap_initialize(&ld, uri)) != LDAP_SUCCESS)
		return rc;
	if ((rc = ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3)) !=
	    LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv)) !=
	    LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv)) !=
	    LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF)) !=
	    LDAP_OPT_SUCCESS) {
		ldap_unbind_ext_s(ld, NULL, NULL);
		return rc == -1 ? LDAP_OTHER : rc;
	}
	*ldp = ld;
	return LDAP_SUCCESS;
}

static int
bind_once(LDAP *ld)
{
	struct berval cred;

	cred.bv_val = (char *)password;
	cred.bv_len = strlen(password);
	return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
	    NULL);
}

static bool
conn_broken(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT ||
	    rc == LDAP_CONNECT_ERROR || rc == LDAP_LOCAL_ERROR ||
	    rc == LDAP_ENCODING_ERROR || rc == LDAP_DECODING_ERROR;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	int rc;

	bench_wait_start();
	while (!bench_stopped()) {
		if (w->ld == NULL) {
			w->reconnects++;
			if ((rc = open_conn(&w->ld)) != LDAP_SUCCESS) {
				w->fail++;
				w->last_rc = rc;
				continue;
			}
		}
		rc = bind_once(w->ld);
		if (rc == LDAP_SUCCESS) {
			w->ok++;
			continue;
		}
		w->fail++;
		w->last_rc = rc;
		if (conn_broken(rc)) {
			ldap_unbind_ext_s(w->ld, NULL, NULL);
			w->ld = NULL;
			/* Don't spin on a dead server. */
			usleep(10000);
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct worker *ws;
	uint64_t ok = 0, fail = 0, reconnects = 0;
	double duration = 0, secs;
	unsigned long nthreads = 1, i;
	int ch, rc, v3 = LDAP_VERSION3, last_rc = LDAP_SUCCESS;

	while ((ch = getopt(argc, argv, "D:d:H:ht:w:")) != -1) {
		switch (ch) {
		case 'D':
			dn = optarg;
			break;
		case 'd':
			if (!bench_parse_seconds(optarg, &duration))
				usage();
			break;
		case 'H':
			uri = optarg;
			break;
		case 't':
			if (!bench_parse_threads(optarg, &nthreads))
				usage();
			break;
		case 'w':
			password = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !(duration > 0) || uri == NULL || dn == NULL ||
	    password == NULL)
		usage();
	if (*password == '\0') {
		fprintf(stderr, "ldaploop: an empty password makes an "
		    "anonymous bind; refusing\n");
		return 1;
	}

	/* libldap initialises its global options on first use; do it here,
	 * once, rather than racing in the threads. */
	ldap_set_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &v3);

	if ((ws = calloc(nthreads, sizeof(*ws))) == NULL) {
		fprintf(stderr, "ldaploop: out of memory\n");
		return 1;
	}
	/* Connect and bind once per connection before the clock starts:
	 * the set-up is not measured, and a bad URI/DN/password is an
	 * error up front rather than a run of failures. */
	for (i = 0; i < nthreads; i++) {
		if ((rc = open_conn(&ws[i].ld)) != LDAP_SUCCESS ||
		    (rc = bind_once(ws[i].ld)) != LDAP_SUCCESS) {
			if (ws[i].ld == NULL || conn_broken(rc)) {
				fprintf(stderr, "ldaploop: %s: %s\n", uri,
				    ldap_err2string(rc));
				return 1;
			}
			/* Measuring failed binds is allowed; say so. */
			if (i == 0)
				fprintf(stderr, "ldaploop: warning: bind as "
				    "%s: %s; measuring failures\n", dn,
				    ldap_err2string(rc));
		}
	}
	secs = bench_run("ldaploop", nthreads, duration, worker_main, ws,
	    sizeof(*ws));
	for (i = 0; i < nthreads; i++) {
		ok += ws[i].ok;
		fail += ws[i].fail;
		reconnects += ws[i].reconnects;
		if (ws[i].fail != 0)
			last_rc = ws[i].last_rc;
	}

	bench_print(nthreads, secs, "ok", ok, "fail", fail);
	if (fail != 0)
		fprintf(stderr, "ldaploop: last failure: %s (%d); %" PRIu64
		    " reconnects\n", ldap_err2string(last_rc), last_rc,
		    reconnects);
	for (i = 0; i < nthreads; i++)
		if (ws[i].ld != NULL)
			ldap_unbind_ext_s(ws[i].ld, NULL, NULL);
	free(ws);
	return 0;
}
