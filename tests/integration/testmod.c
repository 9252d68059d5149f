/*
 * testmod.c -- a backend module for testing the daemon's own machinery
 * (chain order, TEMPFAIL, failure delays, hung backends), which no real
 * backend can be made to do on demand.  Never installed.
 *
 * Users: "known-*" are known here; the password decides the answer:
 *   "ok" OK, "deny" DENY, "tempfail" TEMPFAIL, "delay" DENY with a 400 ms
 *   failure delay, "hang" sleeps testmod_hang_ms (default 3000) then OK.
 * Any other user: AM_NOUSER, so the chain asks the next backend.
 *
 * The password "env" runs a child process (/bin/sh) that looks for the
 * service manager's variables (NOTIFY_SOCKET, LISTEN_*) in its
 * environment, as a PAM helper would inherit them: OK when it finds
 * none, DENY when it does (and prints them to the daemon's stderr).
 *
 * testmod_down_file: PATH -- while that file exists, every request is
 * AM_TEMPFAIL ("test server down"), whoever asks: a backend outage.
 * testmod_init_ms: N -- init sleeps N ms (default 0): a slow start.
 * testmod_leak: yes -- keep a copy of every password asked about, any
 * user's, until deinit: the deliberate leak that memory.sh must find, to
 * show that its search of the daemon's memory works.
 * Each verify logs "testmod: call N" (N counts per instance), so tests
 * can tell whether a request reached the backends at all.
 */
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "module.h"

static const struct am_option options[] = {
	{ "testmod_hang_ms", AM_OPT_INT, 0, 60000 },
	{ "testmod_down_file", AM_OPT_PATH, 0, 0 },
	{ "testmod_init_ms", AM_OPT_INT, 0, 60000 },
	{ "testmod_leak", AM_OPT_BOOL, 0, 0 },
	{ NULL, 0, 0, 0 }
};

/* Per instance: after a reload the old and the new chain run side by
 * side in the same loaded module. */
struct tm_state {
	long hang_ms, init_ms;
	char *down_file;		/* NULL: never down */
	atomic_ulong calls;
	bool leak;
	pthread_mutex_t leak_mu;
	struct leaked {
		struct leaked *next;
		char password[];
	} *leaked;
};

static int
tm_preinit(const struct am_conf *conf, void **state, const char **error_r)
{
	struct tm_state *st = malloc(sizeof(*st));
	const char *down;

	if (st == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	st->hang_ms = am_conf_int(conf, "testmod_hang_ms", 3000);
	st->init_ms = am_conf_int(conf, "testmod_init_ms", 0);
	st->down_file = NULL;
	atomic_init(&st->calls, 0);
	st->leak = am_conf_bool(conf, "testmod_leak", false);
	st->leaked = NULL;
	pthread_mutex_init(&st->leak_mu, NULL);
	if ((down = am_conf_str(conf, "testmod_down_file", NULL)) != NULL &&
	    (st->down_file = strdup(down)) == NULL) {
		free(st);
		*error_r = "out of memory";
		return -1;
	}
	*state = st;
	return 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int
tm_init(void *state, const char **error_r)
{
	struct tm_state *st = state;

	(void)error_r;
	sleep_ms(st->init_ms);
	return 0;
}

/* What a child of the daemon inherits. */
static enum am_result
tm_env(struct am_verdict *v)
{
	extern char **environ;
	char *argv[] = { "sh", "-c", "env | grep -E "
	    "'^(NOTIFY_SOCKET|LISTEN_(PID|FDS|FDNAMES))=' >&2 && exit 1; "
	    "exit 0", NULL };
	pid_t pid;
	int status;

	if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) != 0 ||
	    waitpid(pid, &status, 0) == -1) {
		snprintf(v->reason, sizeof(v->reason), "cannot run /bin/sh");
		return AM_TEMPFAIL;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return AM_OK;
	snprintf(v->reason, sizeof(v->reason), "a child process sees "
	    "NOTIFY_SOCKET or LISTEN_*");
	return AM_DENY;
}

static enum am_result
tm_verify(void *state, const struct am_request *req, struct am_verdict *v)
{
	struct tm_state *st = state;
	const char *p = req->password;

	am_log(LOG_INFO, "testmod: call %lu",
	    atomic_fetch_add(&st->calls, 1) + 1);
	if (st->leak) {
		struct leaked *l = malloc(sizeof(*l) + req->password_len + 1);

		if (l != NULL) {
			memcpy(l->password, p, req->password_len + 1);
			pthread_mutex_lock(&st->leak_mu);
			l->next = st->leaked;
			st->leaked = l;
			pthread_mutex_unlock(&st->leak_mu);
		}
	}
	if (st->down_file != NULL && access(st->down_file, F_OK) == 0) {
		snprintf(v->reason, sizeof(v->reason), "test server down");
		return AM_TEMPFAIL;
	}
	if (strncmp(req->login, "known-", 6) != 0) {
		snprintf(v->reason, sizeof(v->reason), "unknown user");
		return AM_NOUSER;
	}
	if (strcmp(p, "ok") == 0)
		return AM_OK;
	if (strcmp(p, "tempfail") == 0) {
		snprintf(v->reason, sizeof(v->reason), "test server down");
		return AM_TEMPFAIL;
	}
	if (strcmp(p, "delay") == 0) {
		v->delay_ms = 400;
		snprintf(v->reason, sizeof(v->reason), "delayed denial");
		return AM_DENY;
	}
	if (strcmp(p, "hang") == 0) {
		sleep_ms(st->hang_ms);
		return AM_OK;
	}
	if (strcmp(p, "env") == 0)
		return tm_env(v);
	snprintf(v->reason, sizeof(v->reason), "wrong password");
	return AM_DENY;
}

/* Logged so tests can see when an old chain is finally let go. */
static void
tm_deinit(void *state)
{
	struct tm_state *st = state;

	am_log(LOG_INFO, "testmod: deinit (hang_ms %ld)", st->hang_ms);
	free(st->down_file);
	while (st->leaked != NULL) {
		struct leaked *l = st->leaked;

		st->leaked = l->next;
		free(l);
	}
	pthread_mutex_destroy(&st->leak_mu);
	free(st);
}

const struct am_module authmux_module = {
	.abi = AM_MODULE_ABI,
	.name = "testmod",
	.description = "test backend",
	.options = options,
	.preinit = tm_preinit,
	.init = tm_init,
	.verify = tm_verify,
	.deinit = tm_deinit,
};
