/*
 * module.h -- the authmuxd backend module ABI.
 *
 * A backend is a shared object in the module directory that exports one
 * symbol, "authmux_module", a const struct am_module.  The daemon refuses a
 * module whose abi field differs from AM_MODULE_ABI.  Bump AM_MODULE_ABI on
 * any change to the structures in this file.
 *
 * Lifecycle (as Dovecot's auth backends):
 *   preinit  as root, before privileges are dropped ("user"): read
 *            options, open secret files.  Configuration problems are
 *            reported with am_conf_error() (file:line: key: text) and make
 *            preinit fail.  After a SIGHUP it runs again, as the daemon's
 *            user of the moment: what it reads must be readable by it.
 *   init     after privileges are dropped: check here that what verify
 *            will need later (a file re-read when it changes) is within
 *            reach of the unprivileged user.
 *   verify   called from worker threads, concurrently: it must be
 *            thread-safe with respect to its own state.
 *   deinit   when the daemon stops or the configuration is reloaded and
 *            the last request using this instance has finished.
 *
 * Keep all state in the instance made by preinit, never in globals: after
 * a SIGHUP the old and the new chain run side by side in the same loaded
 * module until the last old request has finished.
 *
 * Modules call back into the daemon through the am_* functions declared
 * below; the daemon exports them (it is linked with -export-dynamic).
 */
#ifndef AUTHMUX_MODULE_H
#define AUTHMUX_MODULE_H

#include <stdbool.h>
#include <stddef.h>

#define AM_MODULE_ABI 2

/* A verify result.  AM_NOUSER is a denial that lets the chain ask the
 * next backend; the client only ever sees OK or NO. */
enum am_result {
	AM_OK = 0,
	AM_DENY,	/* user known, password wrong or account refused */
	AM_NOUSER,	/* this backend does not know the user */
	AM_TEMPFAIL,	/* cannot answer now (backend down); never OK */
};

/* One question.  All strings are NUL-terminated and contain no NUL. */
struct am_request {
	const char *login;	/* user name, "user@realm" when -r joined it */
	const char *password;	/* never logged, wiped by the daemon */
	size_t password_len;
	const char *service;	/* e.g. "smtp"; may be "" */
	const char *realm;	/* may be "" */
	const char *client_addr; /* "ip;port" or "" when not sent */
};

#define AM_REASON_MAX 256

/* What a backend says besides its result. */
struct am_verdict {
	/* For the log line, never for the client; "" when nothing to say. */
	char reason[AM_REASON_MAX];
	/* Failure delay the backend asks for (e.g. PAM's), in milliseconds.
	 * The daemon waits it out as a timer before replying; the worker
	 * thread never sleeps. */
	unsigned int delay_ms;
};

enum am_opt_type {
	AM_OPT_STRING,
	AM_OPT_PATH,		/* an absolute path */
	AM_OPT_INT,		/* integer within [min, max] */
	AM_OPT_BOOL,		/* yes/no, on/off, true/false, 1/0 */
};

/* A configuration key a module reads.  The daemon checks the type of every
 * value against this table, so --check-config reports bad values for
 * modules too, and warns about keys no table claims. */
struct am_option {
	const char *key;
	enum am_opt_type type;
	long min, max;		/* AM_OPT_INT only */
};

struct am_conf;			/* the parsed configuration, opaque */

/* am_module.flags */
/* verify must run as root: the daemon refuses to start (or reload) with
 * this module when the configuration sets "user" (privileges dropped
 * after preinit).  The pam backend: pam_unix reads /etc/shadow itself
 * only as root, and PAM modules in general expect root. */
#define AM_MODULE_NEEDS_ROOT	0x1u

struct am_module {
	unsigned int abi;	/* AM_MODULE_ABI */
	const char *name;	/* as given to -a */
	const char *description;
	const struct am_option *options; /* ends with { NULL } */
	unsigned int flags;	/* AM_MODULE_* */

	/* Return 0 and set *state, or -1 and set *error_r.  Optional. */
	int (*preinit)(const struct am_conf *conf, void **state,
	    const char **error_r);
	/* Return 0, or -1 and set *error_r.  Optional. */
	int (*init)(void *state, const char **error_r);
	/* Required.  Fill v->reason for every result but AM_OK. */
	enum am_result (*verify)(void *state, const struct am_request *req,
	    struct am_verdict *v);
	/* Optional. */
	void (*deinit)(void *state);
};

/* --- provided by the daemon --- */

/* Last value of key, or def when unset.  Values were type-checked. */
const char *am_conf_str(const struct am_conf *conf, const char *key,
    const char *def);
long am_conf_int(const struct am_conf *conf, const char *key, long def);
bool am_conf_bool(const struct am_conf *conf, const char *key, bool def);
/* Report a problem with key's value as "file:line: key: text" (or
 * "key: text" when the key was not set) and count it as an error. */
void am_conf_error(const struct am_conf *conf, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Same, as a warning that does not fail the configuration. */
void am_conf_warn(const struct am_conf *conf, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Logging; prio is a syslog priority (LOG_ERR, LOG_WARNING, LOG_INFO,
 * LOG_DEBUG).  Bound and escape untrusted strings (am_escape). */
void am_log(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Format an error message into a per-thread buffer, for *error_r. */
const char *am_errorf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Copy s into buf (size len), at most max input bytes, escaping bytes
 * that are not printable ASCII, '\\', '[' and ']' as \xNN.  Returns buf. */
char *am_escape(char *buf, size_t len, const char *s, size_t max);

#endif
