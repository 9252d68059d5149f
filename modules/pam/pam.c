/*
 * pam.c -- the "pam" backend: ask a Linux-PAM stack, as saslauthd does.
 *
 * Per request: pam_start(SERVICE, login), PAM_RHOST from the client
 * address when the request has one, pam_authenticate(PAM_SILENT), then
 * pam_acct_mgmt(PAM_SILENT) unless "pam_acct_mgmt: no"; no setcred, no
 * session; pam_end.  One handle per call, nothing shared between threads.
 *
 * SERVICE is the request's service (Postfix sends "smtp": /etc/pam.d/smtp;
 * PAM itself falls back to /etc/pam.d/other when that file is missing), or
 * the fixed "pam_service" option.  saslauthd passes an empty service on to
 * PAM as it is; here an empty one becomes "other", the stack PAM falls
 * back to for a service without a file.  A service with '/' (libpam would
 * silently use the last component), a leading '.', a blank or a
 * non-printable byte is refused.
 *
 * The conversation answers every echo-off prompt with the password and
 * every echo-on prompt with the login; error and info messages are logged
 * at debug level; anything else fails the conversation.
 *
 * Failure delay: modules ask libpam for one with pam_fail_delay()
 * (pam_unix: 2 s, pam_faildelay: what it is told), and libpam would sleep
 * it (varied by up to +-50%) inside pam_authenticate, holding a worker.
 * The PAM_FAIL_DELAY item makes libpam call a function of ours with the
 * delay instead; it goes into the verdict and the daemon waits it out as
 * a timer before it answers NO.
 *
 * Timeouts: a PAM stack can block (pam_ldap with a dead server); this
 * backend cannot interrupt it.  Configure the modules' own timeouts below
 * the daemon's backend_timeout.
 */
#include <sys/types.h>

#include <errno.h>
#include <shadow.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "module.h"

/* Linux-PAM's, whatever our own --sysconfdir is. */
#define PAMB_CONFIG_D "/etc/pam.d"

/* Bytes of a PAM message that go into a log line. */
#define PAMB_LOG_MSG_MAX 200

struct pamb_state {
	char *service;		/* fixed service, or NULL: the request's */
	bool acct_mgmt;
};

/* What the conversation and the delay function see of one call. */
struct pamb_call {
	const struct am_request *req;
	unsigned int delay_usec;	/* largest failure delay asked for */
};

static const struct am_option pamb_options[] = {
	{ .key = "pam_service", .type = AM_OPT_STRING },
	{ .key = "pam_acct_mgmt", .type = AM_OPT_BOOL },
	{ .key = NULL },
};

/* Not empty, printable ASCII, no blanks. */
static bool
pamb_printable(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return false;
	return *s != '\0';
}

/* A service name PAM will read as /etc/pam.d/NAME. */
static bool
pamb_service_ok(const char *s)
{
	return pamb_printable(s) && *s != '.' && strchr(s, '/') == NULL;
}

static void
pamb_free_responses(struct pam_response *r, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (r[i].resp == NULL)
			continue;
		explicit_bzero(r[i].resp, strlen(r[i].resp));
		free(r[i].resp);
	}
	free(r);
}

/* Linux-PAM passes msg as an array of pointers (Solaris: a pointer to an
 * array); both agree for one message, we follow Linux-PAM. */
static int
pamb_conversation(int n, const struct pam_message **msg,
    struct pam_response **resp_r, void *appdata)
{
	struct pamb_call *call = appdata;
	struct pam_response *r;
	char ebuf[PAMB_LOG_MSG_MAX * 4 + 8];
	const char *answer;
	int i;

	*resp_r = NULL;
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		answer = NULL;
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			answer = call->req->password;
			break;
		case PAM_PROMPT_ECHO_ON:
			answer = call->req->login;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			am_log(LOG_DEBUG, "pam: %s: %s",
			    msg[i]->msg_style == PAM_ERROR_MSG ? "error" :
			    "info", am_escape(ebuf, sizeof(ebuf),
			    msg[i]->msg != NULL ? msg[i]->msg : "",
			    PAMB_LOG_MSG_MAX));
			break;
		default:
			am_log(LOG_DEBUG, "pam: prompt of style %d refused",
			    msg[i]->msg_style);
			pamb_free_responses(r, n);
			return PAM_CONV_ERR;
		}
		/* PAM frees (and pam_unix wipes) what we hand it */
		if (answer != NULL && (r[i].resp = strdup(answer)) == NULL) {
			pamb_free_responses(r, n);
			return PAM_BUF_ERR;
		}
	}
	*resp_r = r;
	return PAM_SUCCESS;
}

/* libpam's PAM_FAIL_DELAY item: called after pam_authenticate with the
 * delay it would have slept, even after a success (then ignored). */
static void
pamb_delay(int retval, unsigned int usec, void *appdata)
{
	struct pamb_call *call = appdata;

	if (call != NULL && retval != PAM_SUCCESS && usec > call->delay_usec)
		call->delay_usec = usec;
}

/* pam_unix answers PAM_AUTH_ERR for an account locked with "usermod -L"
 * or "passwd -l" ('!' before the hash), as for a wrong password.  When
 * this process can read /etc/shadow, tell the two apart in the log.  The
 * file itself rather than getspnam_r: NSS might ask a server, and this
 * runs on a worker.  stdio's buffer holds hashes: ours, wiped after. */
static bool
pamb_shadow_locked(const char *login)
{
	struct spwd sp, *res;
	char buf[4096], iobuf[8192];
	bool locked = false;
	FILE *f;

	if ((f = fopen("/etc/shadow", "re")) == NULL)
		return false;
	setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
	/* ERANGE (a huge line) ends the search: glibc would reread it */
	while (fgetspent_r(f, &sp, buf, sizeof(buf), &res) == 0)
		if (strcmp(res->sp_namp, login) == 0) {
			locked = res->sp_pwdp != NULL &&
			    res->sp_pwdp[0] == '!';
			break;
		}
	fclose(f);
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(iobuf, sizeof(iobuf));
	return locked;
}

/* Map a PAM result to ours and say why in v->reason, with PAM's own text.
 * step is the call that failed: named for the errors of the stack itself
 * (the daemon escapes and bounds the reason). */
static enum am_result
pamb_result(pam_handle_t *pamh, int rc, const char *step,
    const struct am_request *req, struct am_verdict *v)
{
	const char *text = pam_strerror(pamh, rc);
	const char *what;
	enum am_result res = AM_DENY;

	if (text == NULL)
		text = "?";
	switch (rc) {
	case PAM_SUCCESS:
		return AM_OK;
	case PAM_USER_UNKNOWN:
		what = "unknown user";
		res = AM_NOUSER;
		break;
	case PAM_AUTH_ERR:
		what = pamb_shadow_locked(req->login) ?
		    "account locked in shadow" : "wrong password";
		break;
	case PAM_ACCT_EXPIRED:
		what = "account expired";
		break;
	case PAM_NEW_AUTHTOK_REQD:
	case PAM_AUTHTOK_EXPIRED:
		what = "password expired";
		break;
	case PAM_PERM_DENIED:
		what = "permission denied (locked?)";
		break;
	case PAM_MAXTRIES:
		what = "too many tries";
		break;
	case PAM_CRED_INSUFFICIENT:
		what = "insufficient credentials";
		break;
	case PAM_CRED_EXPIRED:
		what = "credentials expired";
		break;
	case PAM_AUTHINFO_UNAVAIL:
	case PAM_CRED_UNAVAIL:
	case PAM_TRY_AGAIN:
	case PAM_AUTHTOK_LOCK_BUSY:
		what = "authentication service unavailable";
		res = AM_TEMPFAIL;
		break;
	case PAM_CONV_ERR:
		what = "the stack asked what this backend cannot answer";
		res = AM_TEMPFAIL;
		break;
	case PAM_SERVICE_ERR:
	case PAM_SYSTEM_ERR:
	case PAM_BUF_ERR:
	case PAM_ABORT:
	case PAM_OPEN_ERR:
	case PAM_SYMBOL_ERR:
	case PAM_BAD_ITEM:
	case PAM_MODULE_UNKNOWN:
	case PAM_NO_MODULE_DATA:
	case PAM_IGNORE:
	case PAM_INCOMPLETE:
	case PAM_CONV_AGAIN:
		what = "PAM stack error";
		res = AM_TEMPFAIL;
		break;
	default:
		/* nothing a caller of pam_authenticate expects: refuse,
		 * and never let a stale cache entry stand in for it */
		snprintf(v->reason, sizeof(v->reason), "unexpected PAM result "
		    "%d (%s; %s)", rc, text, step);
		return AM_DENY;
	}
	if (res == AM_TEMPFAIL)
		snprintf(v->reason, sizeof(v->reason), "%s (%s; %s)", what,
		    text, step);
	else
		snprintf(v->reason, sizeof(v->reason), "%s (%s)", what, text);
	return res;
}

static int
pamb_preinit(const struct am_conf *conf, void **state, const char **error_r)
{
	struct pamb_state *st;
	const char *service = am_conf_str(conf, "pam_service", NULL);
	char path[512];

	if (service != NULL && !pamb_service_ok(service)) {
		am_conf_error(conf, "pam_service", "not a PAM service name "
		    "(a file name in " PAMB_CONFIG_D ": no '/', no "
		    "leading '.', no blanks)");
		*error_r = "bad pam_service";
		return -1;
	}
	if (service != NULL) {
		snprintf(path, sizeof(path), PAMB_CONFIG_D "/%s", service);
		/* with pam.d present, libpam ignores pam.conf */
		if (access(path, F_OK) == -1 && errno == ENOENT &&
		    access(PAMB_CONFIG_D, F_OK) == 0)
			am_conf_warn(conf, "pam_service", "%s does not exist; "
			    "PAM will use " PAMB_CONFIG_D "/other", path);
	}
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (service != NULL && (st->service = strdup(service)) == NULL)) {
		free(st);
		*error_r = "out of memory";
		return -1;
	}
	st->acct_mgmt = am_conf_bool(conf, "pam_acct_mgmt", true);
	*state = st;
	return 0;
}

static enum am_result
pamb_verify(void *state, const struct am_request *req, struct am_verdict *v)
{
	struct pamb_state *st = state;
	struct pamb_call call = { .req = req };
	const struct pam_conv conv = {
		.conv = pamb_conversation,
		.appdata_ptr = &call,
	};
	pam_handle_t *pamh = NULL;
	const char *service, *step, *semi;
	char rhost[256];
	enum am_result res;
	int rc;

	service = st->service != NULL ? st->service :
	    req->service[0] != '\0' ? req->service : "other";
	if (!pamb_service_ok(service)) {
		snprintf(v->reason, sizeof(v->reason), "service name not "
		    "usable as a PAM service");
		return AM_DENY;
	}
	if (req->password_len == 0) {
		/* pam_unix "nullok" would let an empty hash in */
		snprintf(v->reason, sizeof(v->reason), "empty password");
		return AM_DENY;
	}

	step = "pam_start";
	if ((rc = pam_start(service, req->login, &conv, &pamh)) !=
	    PAM_SUCCESS) {
		/* pam_strerror does not use the handle in Linux-PAM */
		res = pamb_result(NULL, rc, step, req, v);
		goto out;
	}
	/* instead of sleeping in pam_authenticate, libpam tells us */
	step = "pam_set_item(PAM_FAIL_DELAY)";
	if ((rc = pam_set_item(pamh, PAM_FAIL_DELAY,
	    (const void *)pamb_delay)) != PAM_SUCCESS)
		goto done;
	if (req->client_addr[0] != '\0') {
		semi = strchr(req->client_addr, ';');
		snprintf(rhost, sizeof(rhost), "%.*s", semi != NULL ?
		    (int)(semi - req->client_addr) : (int)sizeof(rhost),
		    req->client_addr);
		/* an address has no blanks: don't hand pam_access & co
		 * anything else */
		step = "pam_set_item(PAM_RHOST)";
		if (pamb_printable(rhost) &&
		    (rc = pam_set_item(pamh, PAM_RHOST, rhost)) != PAM_SUCCESS)
			goto done;
	}
	step = "pam_authenticate";
	if ((rc = pam_authenticate(pamh, PAM_SILENT)) != PAM_SUCCESS)
		goto done;
	if (st->acct_mgmt) {
		step = "pam_acct_mgmt";
		rc = pam_acct_mgmt(pamh, PAM_SILENT);
	}
done:
	res = pamb_result(pamh, rc, step, req, v);
	if (res != AM_OK)
		v->delay_ms = call.delay_usec / 1000;
	pam_end(pamh, rc);
out:
	return res;
}

static void
pamb_deinit(void *state)
{
	struct pamb_state *st = state;

	free(st->service);
	free(st);
}

const struct am_module authmux_module = {
	.abi = AM_MODULE_ABI,
	.name = "pam",
	.description = "Linux-PAM stack of the request's service (or "
	    "pam_service)",
	.options = pamb_options,
	/* pam_unix checks passwords itself only as root (else through
	 * unix_chkpwd, which checks only the caller's own) */
	.flags = AM_MODULE_NEEDS_ROOT,
	.preinit = pamb_preinit,
	.verify = pamb_verify,
	.deinit = pamb_deinit,
};
