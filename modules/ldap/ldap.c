/*
 * ldap.c -- the "ldap" backend: an LDAP directory, configured with
 * saslauthd.conf's ldap_* keys (read unchanged), through OpenLDAP's
 * libldap.
 *
 * Methods (ldap_auth_method):
 *   bind      search for the user's entry with the service identity
 *             (ldap_bind_dn, or anonymous), exactly one entry or no
 *             answer, then a simple bind as that DN with the password.
 *   fastbind  the expanded ldap_filter is the user's DN; bind as it.
 *   custom    search with the service identity for ldap_password_attr
 *             and check the password here ({CRYPT} {MD5} {SMD5} {SHA}
 *             {SSHA} {SSHA256} {SSHA512} and more, see pwhash.h; a value
 *             without a {SCHEME} is cleartext).  The user never binds.
 * then, when ldap_group_dn is set, a group check: compare
 * ldap_group_attr of the group with the user's DN (attr), or search
 * ldap_group_filter under ldap_group_search_base (filter).
 *
 * Connections: a pool shared by the worker threads.  A worker takes an
 * idle connection for what it needs -- one bound as the service for
 * searches and compares, any for user binds -- and gives it back; only
 * when none is idle does it open one.  A user bind leaves its connection
 * bound as the user; it is bound as the service again before its next
 * search (and the pool prefers to hand such connections out for user
 * binds).  Every password is checked by the server, every time: nothing
 * remembers "this user bound with this password on this connection".
 *
 * Failover: ldap_servers is an ordered list, and every request goes to
 * the first server that is not marked down.  A connection failure or a
 * timeout (ldap_timeout to connect, ldap_time_limit for an operation)
 * marks that server down: the request moves on to the next server at
 * once, and so do the ones after it, so a server that accepts TCP and
 * never answers costs one timeout, not one per request.  A prober thread
 * tries each server that is down every ldap_probe_interval seconds and
 * marks it up when it answers; idle connections to later servers are
 * then closed, so traffic returns to the first one.  With no server
 * left, verify says TEMPFAIL with the reason -- never DENY.  Which
 * servers are down outlives a reload (SIGHUP): the new instance starts
 * with them down and probes them at once, in the background, rather than
 * paying a timeout on a request to find out again.
 *
 * A pooled connection that the server closed while idle fails once with
 * "server down"; that is retried on a fresh connection before the server
 * is judged.
 *
 * DN cache (ldap_dn_cache_ttl > 0, bind method): the DN a search found
 * is kept for that long, so a repeated login costs one bind.  When a
 * bind with a cached DN is refused, the entry is dropped and the search
 * run again, so a renamed entry is found at once.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <lber.h>
#include <ldap.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "expand.h"
#include "module.h"
#include "pwhash.h"

/* Idle connections kept; beyond this a returned one is closed. */
#define LDAPB_MAX_IDLE 64
/* Bytes of a server's error text kept for the log. */
#define LDAPB_WHY_MAX 200

enum ldapb_method { M_BIND, M_FASTBIND, M_CUSTOM };

struct ldapb_server {
	char *uri;
	bool tls;		/* StartTLS on this one (ldap:// only) */
	bool down;
	unsigned int gen;	/* bumped when marked down */
	time_t down_at;
	char why[LDAPB_WHY_MAX];
};

struct ldapb_conn {
	LDAP *ld;
	size_t srv;
	unsigned int gen;
	bool service_bound;	/* bound as the service identity */
	struct ldapb_conn *next;
};

struct dn_entry {
	struct dn_entry *next;
	uint64_t h;
	time_t expires;
	char *key, *dn;
};

struct dn_cache {
	pthread_mutex_t mu;
	struct dn_entry **b;
	size_t nb, n, max;
	long ttl;
	unsigned char key[crypto_shorthash_KEYBYTES];
};

struct ldapb {
	/* settings, fixed after preinit */
	char *bind_dn, *bind_pw;
	int version, scope, deref, size_limit;
	long timeout, time_limit, probe_interval;
	bool referrals, restart, check_peer;
	enum ldapb_method method;
	char *search_base, *filter, *password_attr, *default_realm;
	char *group_dn, *group_attr, *group_filter, *group_base;
	int group_scope;
	bool group_by_filter;
	char *cacert_file, *cacert_dir, *ciphers, *cert, *key;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ldapb_server *srv;
	size_t nsrv;
	struct ldapb_conn *idle;
	size_t nidle;
	bool stopping, prober_started;
	pthread_t prober;

	struct dn_cache dnc;
};

/* Servers found down, by URI, for the next instance after a reload.  The
 * module stays loaded (see ldapb_preinit), so a static list outlives
 * the instance that wrote it.  Bounded by the URIs ever configured. */
struct down_note {
	struct down_note *next;
	char *uri;
	time_t at;
	char why[LDAPB_WHY_MAX];
};
static pthread_mutex_t notes_mu = PTHREAD_MUTEX_INITIALIZER;
static struct down_note *notes;

/* Remember uri as down since at (why), or forget it (why NULL). */
static void
note_down(const char *uri, time_t at, const char *why)
{
	struct down_note **p, *n;

	pthread_mutex_lock(&notes_mu);
	for (p = &notes; (n = *p) != NULL; p = &n->next)
		if (strcmp(n->uri, uri) == 0)
			break;
	if (why == NULL && n != NULL) {
		*p = n->next;
		free(n->uri);
		free(n);
	} else if (why != NULL && n == NULL &&
	    (n = calloc(1, sizeof(*n))) != NULL) {
		/* out of memory: the next instance pays a timeout, no more */
		if ((n->uri = strdup(uri)) == NULL) {
			free(n);
			n = NULL;
		} else {
			n->next = notes;
			notes = n;
		}
	}
	if (why != NULL && n != NULL) {
		n->at = at;
		snprintf(n->why, sizeof(n->why), "%s", why);
	}
	pthread_mutex_unlock(&notes_mu);
}

/* Start with the servers an earlier instance found down; the prober
 * sees them due and tries them at once. */
static void
notes_apply(struct ldapb *st)
{
	const struct down_note *n;
	size_t i;

	pthread_mutex_lock(&notes_mu);
	for (i = 0; i < st->nsrv; i++)
		for (n = notes; n != NULL; n = n->next) {
			if (strcmp(n->uri, st->srv[i].uri) != 0)
				continue;
			st->srv[i].down = true;
			st->srv[i].gen++;
			st->srv[i].down_at = n->at;
			snprintf(st->srv[i].why, sizeof(st->srv[i].why), "%s",
			    n->why);
			am_log(LOG_WARNING, "ldap: server %s is still down "
			    "(%s, %lld s ago); probing it", n->uri, n->why,
			    (long long)(time(NULL) - n->at));
			break;
		}
	pthread_mutex_unlock(&notes_mu);
}

static const struct am_option ldapb_options[] = {
	{ .key = "ldap_servers", .type = AM_OPT_STRING },
	{ .key = "ldap_bind_dn", .type = AM_OPT_STRING },
	{ .key = "ldap_password", .type = AM_OPT_STRING },
	{ .key = "ldap_bind_pw", .type = AM_OPT_STRING },
	{ .key = "ldap_version", .type = AM_OPT_INT, .min = 2, .max = 3 },
	{ .key = "ldap_search_base", .type = AM_OPT_STRING },
	{ .key = "ldap_filter", .type = AM_OPT_STRING },
	{ .key = "ldap_scope", .type = AM_OPT_STRING },
	{ .key = "ldap_deref", .type = AM_OPT_STRING },
	{ .key = "ldap_size_limit", .type = AM_OPT_INT, .min = 0, .max = 1000000 },
	{ .key = "ldap_time_limit", .type = AM_OPT_INT, .min = 0, .max = 3600 },
	{ .key = "ldap_timeout", .type = AM_OPT_INT, .min = 0, .max = 3600 },
	{ .key = "ldap_referrals", .type = AM_OPT_BOOL },
	{ .key = "ldap_restart", .type = AM_OPT_BOOL },
	{ .key = "ldap_auth_method", .type = AM_OPT_STRING },
	{ .key = "ldap_password_attr", .type = AM_OPT_STRING },
	{ .key = "ldap_default_realm", .type = AM_OPT_STRING },
	{ .key = "ldap_default_domain", .type = AM_OPT_STRING },
	{ .key = "ldap_group_dn", .type = AM_OPT_STRING },
	{ .key = "ldap_group_attr", .type = AM_OPT_STRING },
	{ .key = "ldap_group_filter", .type = AM_OPT_STRING },
	{ .key = "ldap_group_search_base", .type = AM_OPT_STRING },
	{ .key = "ldap_group_scope", .type = AM_OPT_STRING },
	{ .key = "ldap_group_match_method", .type = AM_OPT_STRING },
	{ .key = "ldap_use_sasl", .type = AM_OPT_BOOL },
	{ .key = "ldap_mech", .type = AM_OPT_STRING },
	{ .key = "ldap_id", .type = AM_OPT_STRING },
	{ .key = "ldap_authz_id", .type = AM_OPT_STRING },
	{ .key = "ldap_realm", .type = AM_OPT_STRING },
	{ .key = "ldap_start_tls", .type = AM_OPT_BOOL },
	{ .key = "ldap_tls_check_peer", .type = AM_OPT_BOOL },
	{ .key = "ldap_tls_cacert_file", .type = AM_OPT_PATH },
	{ .key = "ldap_tls_cacert_dir", .type = AM_OPT_PATH },
	{ .key = "ldap_tls_ciphers", .type = AM_OPT_STRING },
	{ .key = "ldap_tls_cert", .type = AM_OPT_PATH },
	{ .key = "ldap_tls_key", .type = AM_OPT_PATH },
	{ .key = "ldap_debug", .type = AM_OPT_INT, .min = 0, .max = 65535 },
	{ .key = "ldap_cache_ttl", .type = AM_OPT_INT, .min = 0, .max = 1000000000 },
	{ .key = "ldap_cache_mem", .type = AM_OPT_INT, .min = 0, .max = 1000000000 },
	/* authmuxd's own */
	{ .key = "ldap_probe_interval", .type = AM_OPT_INT, .min = 1, .max = 3600 },
	{ .key = "ldap_dn_cache_ttl", .type = AM_OPT_INT, .min = 0, .max = 86400 },
	{ .key = "ldap_dn_cache_size", .type = AM_OPT_INT, .min = 1, .max = 10000000 },
	{ .key = NULL }
};

/* --- small helpers ---------------------------------------------------- */

static void
setv(struct am_verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
setv(struct am_verdict *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
}

static char *
dup_opt(const struct am_conf *conf, const char *key, const char *def,
    bool *oom)
{
	const char *s = am_conf_str(conf, key, def);
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*oom = true;
	return d;
}

static void
free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* An error that means the connection is unusable. */
static bool
conn_failed(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT ||
	    rc == LDAP_CONNECT_ERROR || rc == LDAP_LOCAL_ERROR ||
	    rc == LDAP_ENCODING_ERROR || rc == LDAP_DECODING_ERROR;
}

/* The server's own words on the last error of ld, with rc's name. */
static void
describe(LDAP *ld, int rc, const struct ldapb *st, char *buf, size_t len)
{
	char *diag = NULL, e[LDAPB_WHY_MAX];

	if (ld != NULL)
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	if (rc == LDAP_TIMEOUT)
		snprintf(buf, len, "no answer within %ld s (ldap_time_limit)",
		    st->time_limit);
	else if (diag != NULL && diag[0] != '\0')
		snprintf(buf, len, "%s: %s", ldap_err2string(rc),
		    am_escape(e, sizeof(e), diag, 120));
	else
		snprintf(buf, len, "%s", ldap_err2string(rc));
	if (diag != NULL)
		ldap_memfree(diag);
}

/* --- DN cache ----------------------------------------------------------- */

static int
dnc_init(struct dn_cache *c, long ttl, long max)
{
	c->ttl = ttl;
	c->max = (size_t)max;
	if (ttl == 0)
		return 0;
	c->nb = 1024;
	while (c->nb < c->max && c->nb < (1u << 20))
		c->nb <<= 1;
	if ((c->b = calloc(c->nb, sizeof(*c->b))) == NULL)
		return -1;
	randombytes_buf(c->key, sizeof(c->key));
	pthread_mutex_init(&c->mu, NULL);
	return 0;
}

static void
dnc_free_entry(struct dn_entry *e)
{
	free(e->key);
	free(e->dn);
	free(e);
}

static void
dnc_clear(struct dn_cache *c)
{
	size_t i;

	for (i = 0; i < c->nb; i++)
		while (c->b[i] != NULL) {
			struct dn_entry *e = c->b[i];

			c->b[i] = e->next;
			dnc_free_entry(e);
		}
	c->n = 0;
}

static void
dnc_destroy(struct dn_cache *c)
{
	if (c->b == NULL)
		return;
	dnc_clear(c);
	free(c->b);
	pthread_mutex_destroy(&c->mu);
}

static uint64_t
dnc_hash(const struct dn_cache *c, const char *key)
{
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, (const unsigned char *)key,
	    strlen(key), c->key);
	return h;
}

/* Find key's entry: returns the link pointing at it (or at NULL). */
static struct dn_entry **
dnc_find(struct dn_cache *c, const char *key, uint64_t h)
{
	struct dn_entry **pp;

	for (pp = &c->b[h & (c->nb - 1)]; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->h == h && strcmp((*pp)->key, key) == 0)
			break;
	return pp;
}

/* A malloc'd copy of the cached DN for key, or NULL. */
static char *
dnc_get(struct dn_cache *c, const char *key)
{
	uint64_t h;
	struct dn_entry **pp;
	char *dn = NULL;

	if (c->ttl == 0)
		return NULL;
	h = dnc_hash(c, key);
	pthread_mutex_lock(&c->mu);
	pp = dnc_find(c, key, h);
	if (*pp != NULL) {
		if ((*pp)->expires > time(NULL)) {
			dn = strdup((*pp)->dn);
		} else {
			struct dn_entry *e = *pp;

			*pp = e->next;
			dnc_free_entry(e);
			c->n--;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return dn;
}

static void
dnc_del(struct dn_cache *c, const char *key)
{
	uint64_t h;
	struct dn_entry **pp, *e;

	if (c->ttl == 0)
		return;
	h = dnc_hash(c, key);
	pthread_mutex_lock(&c->mu);
	pp = dnc_find(c, key, h);
	if ((e = *pp) != NULL) {
		*pp = e->next;
		dnc_free_entry(e);
		c->n--;
	}
	pthread_mutex_unlock(&c->mu);
}

/* Drop what has expired; when nothing has, drop everything: a full cache
 * is a burst of new users, and this is only a shortcut. */
static void
dnc_make_room(struct dn_cache *c, time_t now)
{
	size_t i;

	for (i = 0; i < c->nb; i++) {
		struct dn_entry **pp = &c->b[i];

		while (*pp != NULL) {
			struct dn_entry *e = *pp;

			if (e->expires > now) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			dnc_free_entry(e);
			c->n--;
		}
	}
	if (c->n >= c->max)
		dnc_clear(c);
}

static void
dnc_put(struct dn_cache *c, const char *key, const char *dn)
{
	uint64_t h;
	struct dn_entry **pp, *e;
	time_t now = time(NULL);

	if (c->ttl == 0)
		return;
	h = dnc_hash(c, key);
	pthread_mutex_lock(&c->mu);
	pp = dnc_find(c, key, h);
	if ((e = *pp) == NULL) {
		if (c->n >= c->max) {
			dnc_make_room(c, now);
			pp = dnc_find(c, key, h);
		}
		if ((e = calloc(1, sizeof(*e))) == NULL ||
		    (e->key = strdup(key)) == NULL) {
			free(e);
			goto out;
		}
		e->h = h;
		*pp = e;
		c->n++;
	}
	free(e->dn);
	if ((e->dn = strdup(dn)) == NULL) {
		*pp = e->next;
		dnc_free_entry(e);
		c->n--;
		goto out;
	}
	e->expires = now + c->ttl;
out:
	pthread_mutex_unlock(&c->mu);
}

/* --- connections ---------------------------------------------------------- */

static int
set_opt(LDAP *ld, int opt, const void *val, const char *name, char *why,
    size_t wlen)
{
	if (ldap_set_option(ld, opt, val) == LDAP_OPT_SUCCESS)
		return 0;
	snprintf(why, wlen, "cannot set %s", name);
	return -1;
}

static int
set_options(const struct ldapb *st, LDAP *ld, bool tls, char *why,
    size_t wlen)
{
	struct timeval net = { .tv_sec = st->timeout };
	struct timeval api = { .tv_sec = st->time_limit };
	int tl = (int)st->time_limit, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;

	if (set_opt(ld, LDAP_OPT_PROTOCOL_VERSION, &st->version,
	    "ldap_version", why, wlen) == -1 ||
	    set_opt(ld, LDAP_OPT_NETWORK_TIMEOUT, &net, "ldap_timeout", why,
	    wlen) == -1 ||
	    set_opt(ld, LDAP_OPT_TIMEOUT, &api, "ldap_time_limit", why,
	    wlen) == -1 ||
	    set_opt(ld, LDAP_OPT_TIMELIMIT, &tl, "ldap_time_limit", why,
	    wlen) == -1 ||
	    set_opt(ld, LDAP_OPT_DEREF, &st->deref, "ldap_deref", why,
	    wlen) == -1 ||
	    set_opt(ld, LDAP_OPT_REFERRALS, st->referrals ? LDAP_OPT_ON :
	    LDAP_OPT_OFF, "ldap_referrals", why, wlen) == -1 ||
	    set_opt(ld, LDAP_OPT_RESTART, st->restart ? LDAP_OPT_ON :
	    LDAP_OPT_OFF, "ldap_restart", why, wlen) == -1)
		return -1;
	if (!tls)
		return 0;
	/* ldap_tls_check_peer: no leaves libldap's default (ldap.conf's
	 * TLS_REQCERT), as saslauthd does. */
	if ((st->check_peer && set_opt(ld, LDAP_OPT_X_TLS_REQUIRE_CERT,
	    &demand, "ldap_tls_check_peer", why, wlen) == -1) ||
	    (st->cacert_file != NULL && set_opt(ld,
	    LDAP_OPT_X_TLS_CACERTFILE, st->cacert_file,
	    "ldap_tls_cacert_file", why, wlen) == -1) ||
	    (st->cacert_dir != NULL && set_opt(ld, LDAP_OPT_X_TLS_CACERTDIR,
	    st->cacert_dir, "ldap_tls_cacert_dir", why, wlen) == -1) ||
	    (st->ciphers != NULL && set_opt(ld, LDAP_OPT_X_TLS_CIPHER_SUITE,
	    st->ciphers, "ldap_tls_ciphers", why, wlen) == -1) ||
	    (st->cert != NULL && set_opt(ld, LDAP_OPT_X_TLS_CERTFILE,
	    st->cert, "ldap_tls_cert", why, wlen) == -1) ||
	    (st->key != NULL && set_opt(ld, LDAP_OPT_X_TLS_KEYFILE, st->key,
	    "ldap_tls_key", why, wlen) == -1))
		return -1;
	/* the options above only take effect in a new TLS context */
	if (ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) !=
	    LDAP_OPT_SUCCESS) {
		snprintf(why, wlen, "TLS set-up failed (check ldap_tls_*)");
		return -1;
	}
	return 0;
}

/* Open a connection to server si: options, and StartTLS when asked.  The
 * TCP connection itself is made by libldap at the first operation. */
static struct ldapb_conn *
conn_open(struct ldapb *st, size_t si, unsigned int gen, int *rc_r,
    char *why, size_t wlen)
{
	const struct ldapb_server *s = &st->srv[si];
	struct ldapb_conn *c;
	LDAP *ld;
	int rc;

	*rc_r = LDAP_LOCAL_ERROR;
	if ((rc = ldap_initialize(&ld, s->uri)) != LDAP_SUCCESS) {
		snprintf(why, wlen, "%s", ldap_err2string(rc));
		return NULL;
	}
	if (set_options(st, ld, s->tls || strncasecmp(s->uri, "ldaps:", 6) ==
	    0, why, wlen) == -1) {
		ldap_unbind_ext_s(ld, NULL, NULL);
		return NULL;
	}
	if (s->tls && (rc = ldap_start_tls_s(ld, NULL, NULL)) !=
	    LDAP_SUCCESS) {
		char d[LDAPB_WHY_MAX - 16];

		describe(ld, rc, st, d, sizeof(d));
		snprintf(why, wlen, "StartTLS: %s", d);
		*rc_r = conn_failed(rc) ? rc : LDAP_CONNECT_ERROR;
		ldap_unbind_ext_s(ld, NULL, NULL);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(why, wlen, "out of memory");
		ldap_unbind_ext_s(ld, NULL, NULL);
		return NULL;
	}
	c->ld = ld;
	c->srv = si;
	c->gen = gen;
	return c;
}

/* Is server si's transport TLS (ldaps://, or StartTLS)? */
static bool
uses_tls(const struct ldapb *st, size_t si)
{
	return st->srv[si].tls ||
	    strncasecmp(st->srv[si].uri, "ldaps:", 6) == 0;
}

/* Check the DER certificate against our CAs and the server's name with
 * OpenSSL; describe the first problem in why, or return false. */
static bool
cert_problem(const struct ldapb *st, const char *uri,
    const struct berval *der, char *why, size_t wlen)
{
	const unsigned char *p = (const unsigned char *)der->bv_val;
	X509 *x = d2i_X509(NULL, &p, (long)der->bv_len);
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	LDAPURLDesc *lud = NULL;
	char subj[160] = "?", iss[160] = "?";
	bool bad = false;

	if (x == NULL || store == NULL || ctx == NULL)
		goto out;
	X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
	X509_NAME_oneline(X509_get_issuer_name(x), iss, sizeof(iss));
	if ((st->cacert_file != NULL || st->cacert_dir != NULL) ?
	    X509_STORE_load_locations(store, st->cacert_file,
	    st->cacert_dir) != 1 : X509_STORE_set_default_paths(store) != 1)
		goto out;
	if (X509_STORE_CTX_init(ctx, store, x, NULL) != 1)
		goto out;
	if (X509_verify_cert(ctx) != 1) {
		snprintf(why, wlen, "TLS: certificate refused: %s (subject "
		    "%s, issuer %s)", X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)), subj, iss);
		bad = true;
	} else if (ldap_url_parse(uri, &lud) == LDAP_URL_SUCCESS &&
	    lud->lud_host != NULL && lud->lud_host[0] != '\0' &&
	    X509_check_ip_asc(x, lud->lud_host, 0) != 1 &&
	    X509_check_host(x, lud->lud_host, 0, 0, NULL) != 1) {
		snprintf(why, wlen, "TLS: certificate refused: it is not for "
		    "%s (subject %s)", lud->lud_host, subj);
		bad = true;
	}
out:
	if (lud != NULL)
		ldap_free_urldesc(lud);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(x);
	return bad;
}

/*
 * libldap built with GnuTLS (Debian's) reports a refused certificate as
 * "(unknown error code)".  To log what is wrong, fetch the certificate
 * over a second connection that does not verify it (nothing is sent on
 * it but the handshake) and check it with OpenSSL against the same CAs.
 */
static void
explain_tls(struct ldapb *st, size_t si, char *why, size_t wlen)
{
	const struct ldapb_server *s = &st->srv[si];
	struct berval der = { 0 };
	int never = LDAP_OPT_X_TLS_NEVER, zero = 0, rc;
	char ignore[LDAPB_WHY_MAX];
	LDAP *ld;

	if (!uses_tls(st, si) || ldap_initialize(&ld, s->uri) != LDAP_SUCCESS)
		return;
	if (set_options(st, ld, true, ignore, sizeof(ignore)) == 0 &&
	    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &never) ==
	    LDAP_OPT_SUCCESS &&
	    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) ==
	    LDAP_OPT_SUCCESS) {
		rc = s->tls ? ldap_start_tls_s(ld, NULL, NULL) :
		    ldap_connect(ld);
		if (rc == LDAP_SUCCESS && ldap_get_option(ld,
		    LDAP_OPT_X_TLS_PEERCERT, &der) == LDAP_OPT_SUCCESS &&
		    der.bv_val != NULL) {
			cert_problem(st, s->uri, &der, why, wlen);
			ber_memfree(der.bv_val);
		}
	}
	ldap_unbind_ext_s(ld, NULL, NULL);
}

static void
conn_close(struct ldapb_conn *c)
{
	if (c == NULL)
		return;
	ldap_unbind_ext_s(c->ld, NULL, NULL);
	free(c);
}

static int
simple_bind(LDAP *ld, const char *dn, const char *pw, size_t pwlen)
{
	struct berval cred;

	cred.bv_val = (char *)pw;
	cred.bv_len = pwlen;
	return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
	    NULL);
}

/* Bind as the service: ldap_bind_dn, or anonymously. */
static int
service_bind(const struct ldapb *st, LDAP *ld)
{
	if (st->bind_dn == NULL)
		return simple_bind(ld, "", "", 0);
	return simple_bind(ld, st->bind_dn, st->bind_pw,
	    st->bind_pw != NULL ? strlen(st->bind_pw) : 0);
}

/* The first server not marked down, or nsrv.  Caller holds mu. */
static size_t
best_server(const struct ldapb *st)
{
	size_t i;

	for (i = 0; i < st->nsrv; i++)
		if (!st->srv[i].down)
			return i;
	return st->nsrv;
}

/* Mark server si down (once per outage) and log why. */
static void
mark_down(struct ldapb *st, size_t si, const char *why)
{
	size_t next;

	pthread_mutex_lock(&st->mu);
	if (!st->srv[si].down) {
		st->srv[si].down = true;
		st->srv[si].gen++;
		st->srv[si].down_at = time(NULL);
		snprintf(st->srv[si].why, sizeof(st->srv[si].why), "%s", why);
		note_down(st->srv[si].uri, st->srv[si].down_at, why);
		next = best_server(st);
		am_log(LOG_WARNING, "ldap: server %s is down: %s; %s%s; "
		    "probing it every %ld s", st->srv[si].uri, why,
		    next < st->nsrv ? "now using " : "no server left",
		    next < st->nsrv ? st->srv[next].uri : "",
		    st->probe_interval);
		pthread_cond_signal(&st->cv);
	}
	pthread_mutex_unlock(&st->mu);
}

/* All servers are down: say why, for the verdict. */
static void
none_left(struct ldapb *st, struct am_verdict *v)
{
	size_t i, off;

	off = (size_t)snprintf(v->reason, sizeof(v->reason),
	    "no LDAP server answers");
	pthread_mutex_lock(&st->mu);
	for (i = 0; i < st->nsrv && off < sizeof(v->reason); i++)
		off += (size_t)snprintf(v->reason + off, sizeof(v->reason) - off,
		    "%s %s: %s", i == 0 ? ":" : ";", st->srv[i].uri,
		    st->srv[i].why);
	pthread_mutex_unlock(&st->mu);
}

/* Take a connection for a service operation (service) or a user bind.
 * fresh: never an idle one.  Returns NULL when no server is up; the
 * connection's server, when it had to be opened, is judged by the
 * caller on the first operation. */
static struct ldapb_conn *
pool_get(struct ldapb *st, bool service, bool fresh, bool *opened,
    struct am_verdict *v)
{
	struct ldapb_conn *c, **pp, **pick = NULL, *stale = NULL;
	size_t si;
	unsigned int gen;
	char why[LDAPB_WHY_MAX];
	int rc;

	for (;;) {
		pthread_mutex_lock(&st->mu);
		if ((si = best_server(st)) == st->nsrv) {
			pthread_mutex_unlock(&st->mu);
			none_left(st, v);
			return NULL;
		}
		gen = st->srv[si].gen;
		/* idle connections to other (later, or failed) servers go */
		for (pp = &st->idle; (c = *pp) != NULL;) {
			if (c->srv != si || c->gen != gen) {
				*pp = c->next;
				st->nidle--;
				c->next = stale;
				stale = c;
				continue;
			}
			/* Only a connection in the state wanted: converting
			 * one costs a bind now and another when it is
			 * converted back.  A full pool converts rather than
			 * opening more. */
			if (!fresh && pick == NULL && (c->service_bound ==
			    service || st->nidle >= LDAPB_MAX_IDLE))
				pick = pp;
			pp = &c->next;
		}
		c = NULL;
		if (pick != NULL) {
			c = *pick;
			*pick = c->next;
			st->nidle--;
		}
		pthread_mutex_unlock(&st->mu);
		while (stale != NULL) {
			struct ldapb_conn *n = stale->next;

			conn_close(stale);
			stale = n;
		}
		if (c != NULL) {
			*opened = false;
			return c;
		}
		if ((c = conn_open(st, si, gen, &rc, why, sizeof(why))) !=
		    NULL) {
			*opened = true;
			return c;
		}
		/* StartTLS failed, or the handle could not be set up: this
		 * server cannot be used now */
		if (rc != LDAP_LOCAL_ERROR)
			explain_tls(st, si, why, sizeof(why));
		mark_down(st, si, why);
	}
}

static void
pool_put(struct ldapb *st, struct ldapb_conn *c)
{
	pthread_mutex_lock(&st->mu);
	if (!st->stopping && st->nidle < LDAPB_MAX_IDLE &&
	    c->gen == st->srv[c->srv].gen && best_server(st) == c->srv) {
		c->next = st->idle;
		st->idle = c;
		st->nidle++;
		c = NULL;
	}
	pthread_mutex_unlock(&st->mu);
	conn_close(c);
}

/* One LDAP operation: returns an LDAP result code. */
typedef int (*ldapb_op)(struct ldapb *st, LDAP *ld, void *arg);

/* Run op on a connection (bound as the service when service is set),
 * moving on to the next server when a connection fails.  Returns op's
 * result code, or -1 with v->reason set when no server could run it. */
static int
run_op(struct ldapb *st, bool service, ldapb_op op, void *arg,
    struct am_verdict *v)
{
	struct ldapb_conn *c;
	bool opened, fresh = false;
	char why[LDAPB_WHY_MAX];
	int rc;

	for (;;) {
		if ((c = pool_get(st, service, fresh, &opened, v)) == NULL)
			return -1;
		rc = LDAP_SUCCESS;
		if (service && !c->service_bound) {
			rc = service_bind(st, c->ld);
			if (rc == LDAP_SUCCESS)
				c->service_bound = true;
			else if (!conn_failed(rc)) {
				describe(c->ld, rc, st, why, sizeof(why));
				am_log(LOG_ERR, "ldap: %s: service bind as %s "
				    "failed: %s", st->srv[c->srv].uri,
				    st->bind_dn != NULL ? st->bind_dn :
				    "anonymous", why);
				setv(v, "service bind failed: %s", why);
				conn_close(c);
				return -1;
			}
		}
		if (rc == LDAP_SUCCESS) {
			rc = op(st, c->ld, arg);
			if (!service)
				c->service_bound = false;
		}
		if (!conn_failed(rc)) {
			pool_put(st, c);
			return rc;
		}
		describe(c->ld, rc, st, why, sizeof(why));
		if (!opened && rc == LDAP_SERVER_DOWN && !fresh) {
			/* an idle connection the server dropped: judge the
			 * server on a new one */
			am_log(LOG_DEBUG, "ldap: %s: pooled connection lost "
			    "(%s); reconnecting", st->srv[c->srv].uri, why);
			conn_close(c);
			fresh = true;
			continue;
		}
		if (opened && rc != LDAP_TIMEOUT)
			explain_tls(st, c->srv, why, sizeof(why));
		mark_down(st, c->srv, why);
		conn_close(c);
		fresh = false;
	}
}

/* --- operations ------------------------------------------------------------ */

struct search_op {
	const char *base, *filter;
	int scope, size_limit;
	const char *attr;	/* attribute wanted, or NULL for none */
	/* results */
	int nentries;
	char *dn;
	struct berval **vals;
	char *diag;
};

static int
op_search(struct ldapb *st, LDAP *ld, void *arg)
{
	struct search_op *s = arg;
	char *attrs[2] = { (char *)(s->attr != NULL ? s->attr : "1.1"), NULL };
	struct timeval tv = { .tv_sec = st->time_limit };
	LDAPMessage *res = NULL, *e;
	int rc;

	rc = ldap_search_ext_s(ld, s->base, s->scope, s->filter, attrs, 0,
	    NULL, NULL, &tv, s->size_limit, &res);
	if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED) {
		s->nentries = ldap_count_entries(ld, res);
		if (s->nentries == 1 && rc == LDAP_SUCCESS &&
		    (e = ldap_first_entry(ld, res)) != NULL) {
			s->dn = ldap_get_dn(ld, e);
			if (s->attr != NULL)
				s->vals = ldap_get_values_len(ld, e, s->attr);
		}
	} else if (!conn_failed(rc)) {
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &s->diag);
	}
	ldap_msgfree(res);
	return rc;
}

static void
search_op_free(struct search_op *s)
{
	size_t i;

	if (s->vals != NULL) {
		/* password hashes: secrets too */
		for (i = 0; s->vals[i] != NULL; i++)
			explicit_bzero(s->vals[i]->bv_val, s->vals[i]->bv_len);
		ldap_value_free_len(s->vals);
	}
	if (s->dn != NULL)
		ldap_memfree(s->dn);
	if (s->diag != NULL)
		ldap_memfree(s->diag);
	memset(s, 0, sizeof(*s));
}

struct bind_op {
	const char *dn;
	const struct am_request *req;
	char *diag;
};

static int
op_user_bind(struct ldapb *st, LDAP *ld, void *arg)
{
	struct bind_op *b = arg;
	int rc;

	rc = simple_bind(ld, b->dn, b->req->password, b->req->password_len);
	if (rc != LDAP_SUCCESS && !conn_failed(rc))
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &b->diag);
	return rc;
}

struct compare_op {
	const char *dn, *attr, *value;
};

static int
op_compare(struct ldapb *st, LDAP *ld, void *arg)
{
	struct compare_op *c = arg;
	struct berval bv;

	bv.bv_val = (char *)c->value;
	bv.bv_len = strlen(c->value);
	return ldap_compare_ext_s(ld, c->dn, c->attr, &bv, NULL, NULL);
}

/* A result code the server chose, as a verdict: temporary ones (busy,
 * unavailable, a limit) are TEMPFAIL, the rest DENY. */
static enum am_result
server_error(int rc, const char *what, const char *diag,
    struct am_verdict *v)
{
	char e[120];

	if (diag != NULL && diag[0] != '\0')
		setv(v, "%s: %s: %s", what, ldap_err2string(rc),
		    am_escape(e, sizeof(e), diag, 80));
	else
		setv(v, "%s: %s", what, ldap_err2string(rc));
	switch (rc) {
	case LDAP_BUSY:
	case LDAP_UNAVAILABLE:
	case LDAP_TIMELIMIT_EXCEEDED:
	case LDAP_ADMINLIMIT_EXCEEDED:
	case LDAP_OTHER:
	case LDAP_OPERATIONS_ERROR:
	case LDAP_PROTOCOL_ERROR:
		return AM_TEMPFAIL;
	default:
		return AM_DENY;
	}
}

/* Search base/filter for exactly one entry.  On AM_OK s->dn is set. */
static enum am_result
find_user(struct ldapb *st, struct search_op *s, struct am_verdict *v)
{
	int rc;

	s->scope = st->scope;
	s->size_limit = st->size_limit;
	if ((rc = run_op(st, true, op_search, s, v)) == -1)
		return AM_TEMPFAIL;
	if (rc == LDAP_NO_SUCH_OBJECT) {
		setv(v, "unknown user (search base does not exist)");
		return AM_NOUSER;
	}
	if (rc == LDAP_SIZELIMIT_EXCEEDED || (rc == LDAP_SUCCESS &&
	    s->nentries > 1)) {
		setv(v, "more than one entry matches; refused");
		return AM_DENY;
	}
	if (rc != LDAP_SUCCESS)
		return server_error(rc, "search", s->diag, v);
	if (s->nentries == 0) {
		setv(v, "unknown user");
		return AM_NOUSER;
	}
	if (s->dn == NULL) {
		setv(v, "search: entry without a DN");
		return AM_TEMPFAIL;
	}
	return AM_OK;
}

/* Bind as dn with the request's password. */
static enum am_result
user_bind(struct ldapb *st, const char *dn, const struct am_request *req,
    struct am_verdict *v)
{
	struct bind_op b = { .dn = dn, .req = req };
	enum am_result r;
	int rc;

	if ((rc = run_op(st, false, op_user_bind, &b, v)) == -1)
		return AM_TEMPFAIL;
	if (rc == LDAP_SUCCESS)
		r = AM_OK;
	else if (rc == LDAP_INVALID_CREDENTIALS) {
		setv(v, "wrong password");
		r = AM_DENY;
	} else
		r = server_error(rc, "bind", b.diag, v);
	if (b.diag != NULL)
		ldap_memfree(b.diag);
	return r;
}

/* Is one of the values of the password attribute this password? */
static enum am_result
check_values(struct berval **vals, const struct am_request *req,
    struct am_verdict *v)
{
	const char *err = NULL;
	size_t i;
	int ok = 0;

	if (vals == NULL || vals[0] == NULL) {
		setv(v, "no password attribute readable (check the "
		    "service account's access)");
		return AM_DENY;
	}
	for (i = 0; vals[i] != NULL && !ok; i++) {
		const char *val = vals[i]->bv_val, *prefix = "";
		size_t n = vals[i]->bv_len, plen;
		char *h;

		if (n > 0 && val[0] == '{') {
			/* {UNIX} is saslauthd's alias of {CRYPT} */
			if (n >= 6 && strncasecmp(val, "{UNIX}", 6) == 0) {
				prefix = "{CRYPT}";
				val += 6;
				n -= 6;
			}
		} else {
			/* saslauthd: a value with no scheme is cleartext */
			prefix = "{PLAIN}";
		}
		plen = strlen(prefix);
		if (memchr(val, '\0', n) != NULL ||
		    (h = malloc(plen + n + 1)) == NULL)
			continue;
		memcpy(h, prefix, plen);
		memcpy(h + plen, val, n);
		h[plen + n] = '\0';
		ok = pwhash_verify(h, req->password, req->password_len,
		    &err) == 1;
		explicit_bzero(h, plen + n);
		free(h);
	}
	if (ok)
		return AM_OK;
	if (err != NULL)
		setv(v, "wrong password (a stored value: %s)", err);
	else
		setv(v, "wrong password");
	return AM_DENY;
}

/* --- the request ------------------------------------------------------------ */

/* Expand tmpl for this request; on failure the verdict says why. */
static char *
expand_for(const char *what, const char *tmpl, enum expand_ctx ctx,
    const struct expand_vars *ev, struct am_verdict *v)
{
	char err[120], *out;

	if (expand(tmpl, ctx, ev, &out, err, sizeof(err)) == -1) {
		setv(v, "%s: %s", what, err);
		return NULL;
	}
	return out;
}

/* The group check for the user at dn (ldap_group_* keys). */
static enum am_result
check_group(struct ldapb *st, struct expand_vars *ev, const char *dn,
    struct am_verdict *v)
{
	enum am_result r = AM_TEMPFAIL;
	char *gdn, *base = NULL, *filter = NULL, e[100];
	int rc;

	ev->dn = dn;
	if ((gdn = expand_for("ldap_group_dn", st->group_dn, EXPAND_DN, ev,
	    v)) == NULL)
		return AM_DENY;
	if (!st->group_by_filter) {
		struct compare_op c = { .dn = gdn, .attr = st->group_attr,
		    .value = dn };

		if ((rc = run_op(st, true, op_compare, &c, v)) == -1)
			goto out;
		r = AM_DENY;
		if (rc == LDAP_COMPARE_TRUE)
			r = AM_OK;
		else if (rc == LDAP_COMPARE_FALSE)
			setv(v, "not a member of %s",
			    am_escape(e, sizeof(e), gdn, 60));
		else if (rc == LDAP_NO_SUCH_OBJECT)
			setv(v, "group %s does not exist",
			    am_escape(e, sizeof(e), gdn, 60));
		else
			r = server_error(rc, "group compare", NULL, v);
	} else {
		struct search_op s = { 0 };

		if ((base = expand_for("ldap_group_search_base",
		    st->group_base, EXPAND_DN, ev, v)) == NULL ||
		    (filter = expand_for("ldap_group_filter",
		    st->group_filter, EXPAND_FILTER, ev, v)) == NULL) {
			r = AM_DENY;
			goto out;
		}
		s.base = base;
		s.filter = filter;
		s.scope = st->group_scope;
		s.size_limit = 1;
		if ((rc = run_op(st, true, op_search, &s, v)) == -1)
			goto out;
		if ((rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED) &&
		    s.nentries > 0)
			r = AM_OK;
		else if (rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_OBJECT) {
			setv(v, "not in the group (ldap_group_filter matches "
			    "nothing)");
			r = AM_DENY;
		} else
			r = server_error(rc, "group search", s.diag, v);
		search_op_free(&s);
	}
out:
	free(gdn);
	free(base);
	free(filter);
	return r;
}

static enum am_result
verify_bind(struct ldapb *st, const struct am_request *req,
    struct expand_vars *ev, struct am_verdict *v)
{
	struct search_op s = { 0 };
	enum am_result r = AM_TEMPFAIL;
	char *base, *filter = NULL, *key = NULL, *dn = NULL;
	bool cached = false;

	if ((base = expand_for("ldap_search_base", st->search_base,
	    EXPAND_DN, ev, v)) == NULL ||
	    (filter = expand_for("ldap_filter", st->filter, EXPAND_FILTER, ev,
	    v)) == NULL) {
		r = AM_NOUSER;
		goto out;
	}
	if (st->dnc.ttl > 0) {
		size_t n = strlen(base) + strlen(filter) + 2;

		if ((key = malloc(n)) != NULL) {
			snprintf(key, n, "%s\n%s", base, filter);
			cached = (dn = dnc_get(&st->dnc, key)) != NULL;
		}
	}
again:
	if (dn == NULL) {
		s.base = base;
		s.filter = filter;
		if ((r = find_user(st, &s, v)) != AM_OK)
			goto out;
		if ((dn = strdup(s.dn)) == NULL) {
			setv(v, "out of memory");
			r = AM_TEMPFAIL;
			goto out;
		}
		search_op_free(&s);
	}
	r = user_bind(st, dn, req, v);
	if (r == AM_DENY && cached) {
		/* the entry may have moved: look again, once */
		char *old = dn;

		dnc_del(&st->dnc, key);
		cached = false;
		dn = NULL;
		s.base = base;
		s.filter = filter;
		r = find_user(st, &s, v);
		if (r == AM_OK && strcmp(s.dn, old) != 0) {
			free(old);
			search_op_free(&s);
			goto again;
		}
		free(old);
		if (r == AM_OK)
			setv(v, "wrong password");
		r = r == AM_OK ? AM_DENY : r;
		goto out;
	}
	if (r == AM_OK && key != NULL && !cached)
		dnc_put(&st->dnc, key, dn);
	if (r == AM_OK && st->group_dn != NULL)
		r = check_group(st, ev, dn, v);
out:
	search_op_free(&s);
	free(dn);
	free(key);
	free(base);
	free(filter);
	return r;
}

static enum am_result
verify_fastbind(struct ldapb *st, const struct am_request *req,
    struct expand_vars *ev, struct am_verdict *v)
{
	enum am_result r;
	char *dn;

	if ((dn = expand_for("ldap_filter", st->filter, EXPAND_DN, ev, v)) ==
	    NULL)
		return AM_NOUSER;
	r = user_bind(st, dn, req, v);
	if (r == AM_OK && st->group_dn != NULL)
		r = check_group(st, ev, dn, v);
	free(dn);
	return r;
}

static enum am_result
verify_custom(struct ldapb *st, const struct am_request *req,
    struct expand_vars *ev, struct am_verdict *v)
{
	struct search_op s = { 0 };
	enum am_result r = AM_NOUSER;
	char *base, *filter = NULL;

	if ((base = expand_for("ldap_search_base", st->search_base,
	    EXPAND_DN, ev, v)) == NULL ||
	    (filter = expand_for("ldap_filter", st->filter, EXPAND_FILTER, ev,
	    v)) == NULL)
		goto out;
	s.base = base;
	s.filter = filter;
	s.attr = st->password_attr;
	if ((r = find_user(st, &s, v)) != AM_OK)
		goto out;
	r = check_values(s.vals, req, v);
	if (r == AM_OK && st->group_dn != NULL)
		r = check_group(st, ev, s.dn, v);
out:
	search_op_free(&s);
	free(base);
	free(filter);
	return r;
}

static enum am_result
ldapb_verify(void *state, const struct am_request *req, struct am_verdict *v)
{
	struct ldapb *st = state;
	struct expand_vars ev = {
		.login = req->login,
		.service = req->service,
		.realm = req->realm[0] != '\0' ? req->realm :
		    st->default_realm != NULL ? st->default_realm : "",
	};

	/* an empty simple bind is an anonymous bind, and succeeds */
	if (req->password_len == 0) {
		setv(v, "empty password");
		return AM_DENY;
	}
	switch (st->method) {
	case M_FASTBIND:
		return verify_fastbind(st, req, &ev, v);
	case M_CUSTOM:
		return verify_custom(st, req, &ev, v);
	case M_BIND:
		break;
	}
	return verify_bind(st, req, &ev, v);
}

/* --- the prober ------------------------------------------------------------ */

/* Does server si answer a service bind now?  A working connection joins
 * the pool. */
static bool
probe(struct ldapb *st, size_t si, unsigned int gen, char *why,
    size_t wlen)
{
	struct ldapb_conn *c;
	int rc;

	if ((c = conn_open(st, si, gen, &rc, why, wlen)) == NULL)
		return false;
	if ((rc = service_bind(st, c->ld)) != LDAP_SUCCESS) {
		describe(c->ld, rc, st, why, wlen);
		conn_close(c);
		return false;
	}
	c->service_bound = true;
	pthread_mutex_lock(&st->mu);
	st->srv[si].down = false;
	note_down(st->srv[si].uri, 0, NULL);
	am_log(LOG_NOTICE, "ldap: server %s answers again%s",
	    st->srv[si].uri, best_server(st) == si ? "; using it" : "");
	pthread_mutex_unlock(&st->mu);
	pool_put(st, c);
	return true;
}

static void *
prober_main(void *arg)
{
	struct ldapb *st = arg;
	char why[LDAPB_WHY_MAX];

	pthread_mutex_lock(&st->mu);
	while (!st->stopping) {
		time_t now = time(NULL), next = 0;
		struct timespec ts;
		size_t i;

		for (i = 0; i < st->nsrv && !st->stopping; i++) {
			struct ldapb_server *s = &st->srv[i];
			unsigned int gen = s->gen;

			if (!s->down)
				continue;
			if (s->down_at + st->probe_interval > now) {
				if (next == 0 || s->down_at +
				    st->probe_interval < next)
					next = s->down_at + st->probe_interval;
				continue;
			}
			pthread_mutex_unlock(&st->mu);
			if (!probe(st, i, gen, why, sizeof(why))) {
				pthread_mutex_lock(&st->mu);
				/* still down: keep the newest reason */
				s->down_at = time(NULL);
				snprintf(s->why, sizeof(s->why), "%s", why);
				pthread_mutex_unlock(&st->mu);
			}
			pthread_mutex_lock(&st->mu);
			now = time(NULL);
			i = (size_t)-1;	/* look at them all again */
			next = 0;
		}
		if (st->stopping)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		if (next == 0)
			ts.tv_sec += 3600;
		else
			ts.tv_sec += next - now;
		pthread_cond_timedwait(&st->cv, &st->mu, &ts);
	}
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

/* --- configuration and lifecycle ----------------------------------------- */

static int
parse_scope(const struct am_conf *conf, const char *key, int *out)
{
	const char *s = am_conf_str(conf, key, "sub");

	if (strcasecmp(s, "sub") == 0)
		*out = LDAP_SCOPE_SUBTREE;
	else if (strcasecmp(s, "one") == 0)
		*out = LDAP_SCOPE_ONELEVEL;
	else if (strcasecmp(s, "base") == 0)
		*out = LDAP_SCOPE_BASE;
	else {
		am_conf_error(conf, key, "\"%.40s\" is not sub, one or base",
		    s);
		return -1;
	}
	return 0;
}

/* A template must parse, and may not use %D where no DN exists yet. */
static int
check_template(const struct am_conf *conf, const char *key,
    const char *tmpl, bool dn_known)
{
	const char *err;

	if (tmpl == NULL)
		return 0;
	if ((err = expand_check(tmpl)) != NULL) {
		am_conf_error(conf, key, "%s", err);
		return -1;
	}
	if (!dn_known && expand_uses(tmpl, 'D')) {
		am_conf_error(conf, key, "%%D (the user's DN) is only known "
		    "in the group keys");
		return -1;
	}
	return 0;
}

static int
parse_servers(struct ldapb *st, const struct am_conf *conf, bool start_tls)
{
	const char *list = am_conf_str(conf, "ldap_servers",
	    "ldap://localhost/");
	char *copy, *tok, *save = NULL;
	int bad = 0;

	if ((copy = strdup(list)) == NULL)
		return -1;
	for (tok = strtok_r(copy, " \t,", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t,", &save)) {
		struct ldapb_server *s;
		LDAPURLDesc *lud;

		if (ldap_url_parse(tok, &lud) != LDAP_URL_SUCCESS) {
			am_conf_error(conf, "ldap_servers", "\"%.100s\" is "
			    "not an LDAP URI (ldap://, ldaps:// or ldapi://)",
			    tok);
			bad = 1;
			continue;
		}
		ldap_free_urldesc(lud);
		s = reallocarray(st->srv, st->nsrv + 1, sizeof(*s));
		if (s == NULL || (s[st->nsrv].uri = strdup(tok)) == NULL) {
			if (s != NULL)
				st->srv = s;
			free(copy);
			return -1;
		}
		st->srv = s;
		s = &st->srv[st->nsrv++];
		s->down = false;
		s->gen = 0;
		s->down_at = 0;
		s->why[0] = '\0';
		s->tls = start_tls && strncasecmp(tok, "ldap:", 5) == 0;
		if (start_tls && !s->tls)
			am_conf_warn(conf, "ldap_start_tls", "%s already has "
			    "its own transport; no StartTLS on it", tok);
	}
	free(copy);
	if (st->nsrv == 0 && !bad) {
		am_conf_error(conf, "ldap_servers", "no server given");
		bad = 1;
	}
	return bad ? -2 : 0;
}

static void ldapb_deinit(void *state);

/* The files libldap reads for every new TLS connection, with the
 * daemon's privileges of the moment. */
#define TLS_FILES 3
static const char *const tls_keys[TLS_FILES] = { "ldap_tls_cacert_file",
    "ldap_tls_cert", "ldap_tls_key" };

static const char *
tls_path(const struct ldapb *st, size_t i)
{
	return i == 0 ? st->cacert_file : i == 1 ? st->cert : st->key;
}

static int
ldapb_preinit(const struct am_conf *conf, void **state, const char **error_r)
{
	static const char *unsupported[] = { "ldap_mech", "ldap_id",
	    "ldap_authz_id", "ldap_realm" };
	struct ldapb *st;
	const char *s;
	bool oom = false, start_tls;
	unsigned int errors = 0;
	size_t i;
	int rc;

	/*
	 * Stay loaded when the daemon dlcloses this module after a reload:
	 * libldap initialises libsasl2 and GnuTLS once per load, and those
	 * one-time allocations would be lost again with every SIGHUP.
	 */
	{
		Dl_info di;

		if (dladdr((void *)ldapb_preinit, &di) != 0 &&
		    di.dli_fname != NULL)
			(void)dlopen(di.dli_fname, RTLD_NOW | RTLD_NOLOAD |
			    RTLD_NODELETE);
	}
	if ((st = calloc(1, sizeof(*st))) == NULL)
		goto nomem;
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);

	st->bind_dn = dup_opt(conf, "ldap_bind_dn", NULL, &oom);
	/* saslauthd's aliases: either key, whichever is not empty */
	s = am_conf_str(conf, "ldap_password", "");
	st->bind_pw = dup_opt(conf, s[0] != '\0' ? "ldap_password" :
	    "ldap_bind_pw", NULL, &oom);
	st->version = (int)am_conf_int(conf, "ldap_version", 3);
	st->search_base = dup_opt(conf, "ldap_search_base", "", &oom);
	st->filter = dup_opt(conf, "ldap_filter", "(uid=%u)", &oom);
	st->password_attr = dup_opt(conf, "ldap_password_attr",
	    "userPassword", &oom);
	s = am_conf_str(conf, "ldap_default_realm", "");
	st->default_realm = dup_opt(conf, s[0] != '\0' ?
	    "ldap_default_realm" : "ldap_default_domain", NULL, &oom);
	st->size_limit = (int)am_conf_int(conf, "ldap_size_limit", 1);
	st->time_limit = am_conf_int(conf, "ldap_time_limit", 5);
	st->timeout = am_conf_int(conf, "ldap_timeout", 5);
	st->referrals = am_conf_bool(conf, "ldap_referrals", false);
	st->restart = am_conf_bool(conf, "ldap_restart", true);
	st->probe_interval = am_conf_int(conf, "ldap_probe_interval", 10);
	st->group_dn = dup_opt(conf, "ldap_group_dn", NULL, &oom);
	st->group_attr = dup_opt(conf, "ldap_group_attr", "uniqueMember",
	    &oom);
	st->group_filter = dup_opt(conf, "ldap_group_filter", NULL, &oom);
	st->group_base = dup_opt(conf, "ldap_group_search_base",
	    st->search_base, &oom);
	st->check_peer = am_conf_bool(conf, "ldap_tls_check_peer", false);
	st->cacert_file = dup_opt(conf, "ldap_tls_cacert_file", NULL, &oom);
	st->cacert_dir = dup_opt(conf, "ldap_tls_cacert_dir", NULL, &oom);
	st->ciphers = dup_opt(conf, "ldap_tls_ciphers", NULL, &oom);
	st->cert = dup_opt(conf, "ldap_tls_cert", NULL, &oom);
	st->key = dup_opt(conf, "ldap_tls_key", NULL, &oom);
	if (oom)
		goto nomem;
	if (st->bind_dn != NULL && st->bind_dn[0] == '\0') {
		free(st->bind_dn);
		st->bind_dn = NULL;
	}
	if (st->bind_dn != NULL && (st->bind_pw == NULL ||
	    st->bind_pw[0] == '\0')) {
		/* a bind with a DN and no password is an unauthenticated
		 * bind: anonymous in effect, and refused by most servers */
		am_conf_error(conf, "ldap_bind_dn", "set without "
		    "ldap_password: give the password, or remove "
		    "ldap_bind_dn for anonymous searches");
		errors++;
	}

	s = am_conf_str(conf, "ldap_auth_method", "bind");
	if (strcasecmp(s, "bind") == 0)
		st->method = M_BIND;
	else if (strcasecmp(s, "fastbind") == 0)
		st->method = M_FASTBIND;
	else if (strcasecmp(s, "custom") == 0)
		st->method = M_CUSTOM;
	else {
		am_conf_error(conf, "ldap_auth_method", "\"%.40s\" is not "
		    "bind, fastbind or custom", s);
		errors++;
	}
	if (parse_scope(conf, "ldap_scope", &st->scope) == -1 ||
	    parse_scope(conf, "ldap_group_scope", &st->group_scope) == -1)
		errors++;
	s = am_conf_str(conf, "ldap_deref", "never");
	if (strcasecmp(s, "never") == 0)
		st->deref = LDAP_DEREF_NEVER;
	else if (strcasecmp(s, "search") == 0)
		st->deref = LDAP_DEREF_SEARCHING;
	else if (strcasecmp(s, "find") == 0)
		st->deref = LDAP_DEREF_FINDING;
	else if (strcasecmp(s, "always") == 0)
		st->deref = LDAP_DEREF_ALWAYS;
	else {
		am_conf_error(conf, "ldap_deref", "\"%.40s\" is not never, "
		    "search, find or always", s);
		errors++;
	}
	s = am_conf_str(conf, "ldap_group_match_method", "attr");
	if (strcasecmp(s, "filter") == 0)
		st->group_by_filter = true;
	else if (strcasecmp(s, "attr") != 0) {
		am_conf_error(conf, "ldap_group_match_method", "\"%.40s\" is "
		    "not attr or filter", s);
		errors++;
	}
	if (st->group_dn != NULL && st->group_by_filter &&
	    st->group_filter == NULL) {
		am_conf_error(conf, "ldap_group_match_method", "filter needs "
		    "ldap_group_filter");
		errors++;
	}
	if (st->group_dn == NULL && (st->group_filter != NULL ||
	    am_conf_str(conf, "ldap_group_match_method", NULL) != NULL))
		am_conf_warn(conf, st->group_filter != NULL ?
		    "ldap_group_filter" : "ldap_group_match_method",
		    "ignored: group checks are on only when ldap_group_dn is "
		    "set (as in saslauthd)");
	if (check_template(conf, "ldap_filter", st->filter, false) == -1 ||
	    check_template(conf, "ldap_search_base", st->search_base,
	    false) == -1 ||
	    check_template(conf, "ldap_group_dn", st->group_dn, true) == -1 ||
	    check_template(conf, "ldap_group_filter", st->group_filter,
	    true) == -1 ||
	    check_template(conf, "ldap_group_search_base", st->group_base,
	    true) == -1)
		errors++;
	if (st->method == M_BIND && st->size_limit == 0)
		am_conf_warn(conf, "ldap_size_limit", "0 (no limit): a "
		    "filter matching several entries is still refused, "
		    "after reading them all");
	if (st->time_limit == 0 || st->timeout == 0) {
		/* saslauthd's 0 is "no limit"; a hung server would then
		 * hold a worker for ever */
		am_conf_warn(conf, st->time_limit == 0 ? "ldap_time_limit" :
		    "ldap_timeout", "0 (no limit) is not allowed here; "
		    "using 5 s");
		if (st->time_limit == 0)
			st->time_limit = 5;
		if (st->timeout == 0)
			st->timeout = 5;
	}
	start_tls = am_conf_bool(conf, "ldap_start_tls", false);
	if ((rc = parse_servers(st, conf, start_tls)) == -1)
		goto nomem;
	if (rc == -2)
		errors++;
	if (st->check_peer && st->cacert_file == NULL &&
	    st->cacert_dir == NULL)
		am_conf_warn(conf, "ldap_tls_check_peer", "no "
		    "ldap_tls_cacert_file or ldap_tls_cacert_dir: using "
		    "libldap's default CAs (ldap.conf TLS_CACERT)");
	for (i = 0; i < TLS_FILES; i++)
		if (tls_path(st, i) != NULL && access(tls_path(st, i), R_OK) ==
		    -1) {
			am_conf_error(conf, tls_keys[i], "%s: %s",
			    tls_path(st, i), strerror(errno));
			errors++;
		}

	/* keys of saslauthd's this backend does not do (yet) */
	if (am_conf_bool(conf, "ldap_use_sasl", false))
		am_conf_warn(conf, "ldap_use_sasl", "SASL binds are not "
		    "supported yet; binds are simple binds (use ldaps:// or "
		    "ldap_start_tls to protect them)");
	for (i = 0; i < sizeof(unsupported) / sizeof(*unsupported); i++)
		if (am_conf_str(conf, unsupported[i], NULL) != NULL)
			am_conf_warn(conf, unsupported[i], "ignored: SASL "
			    "binds are not supported yet");
	if (am_conf_str(conf, "ldap_cache_ttl", NULL) != NULL ||
	    am_conf_str(conf, "ldap_cache_mem", NULL) != NULL)
		am_conf_warn(conf, am_conf_str(conf, "ldap_cache_ttl", NULL) !=
		    NULL ? "ldap_cache_ttl" : "ldap_cache_mem", "ignored: "
		    "libldap has no client cache any more (see -c and "
		    "ldap_dn_cache_ttl)");
	if (am_conf_int(conf, "ldap_debug", 0) > 0) {
		int level = (int)am_conf_int(conf, "ldap_debug", 0);

		/* libldap writes its trace to stderr */
		ldap_set_option(NULL, LDAP_OPT_DEBUG_LEVEL, &level);
	}
	if (dnc_init(&st->dnc, am_conf_int(conf, "ldap_dn_cache_ttl", 0),
	    am_conf_int(conf, "ldap_dn_cache_size", 10000)) == -1)
		goto nomem;
	if (st->dnc.ttl > 0 && st->method != M_BIND)
		am_conf_warn(conf, "ldap_dn_cache_ttl", "only the bind method "
		    "searches for DNs; ignored");
	if (errors > 0) {
		ldapb_deinit(st);
		*error_r = "invalid ldap configuration";
		return -1;
	}
	*state = st;
	return 0;
nomem:
	ldapb_deinit(st);
	*error_r = "out of memory";
	return -1;
}

static int
ldapb_init(void *state, const char **error_r)
{
	struct ldapb *st = state;
	size_t i;
	int rc;

	/* after a privilege drop: say now what the first TLS connection
	 * would fail on */
	for (i = 0; i < TLS_FILES; i++)
		if (tls_path(st, i) != NULL && access(tls_path(st, i), R_OK) ==
		    -1) {
			*error_r = am_errorf("%s: %s is not readable by uid "
			    "%ld (%s): libldap reads it for every new "
			    "connection; let the daemon's user read it",
			    tls_keys[i], tls_path(st, i), (long)getuid(),
			    strerror(errno));
			return -1;
		}
	notes_apply(st);
	if ((rc = pthread_create(&st->prober, NULL, prober_main, st)) != 0) {
		*error_r = am_errorf("cannot start the prober thread: %s",
		    strerror(rc));
		return -1;
	}
	st->prober_started = true;
	return 0;
}

static void
ldapb_deinit(void *state)
{
	struct ldapb *st = state;
	size_t i;

	if (st == NULL)
		return;
	pthread_mutex_lock(&st->mu);
	st->stopping = true;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	if (st->prober_started)
		pthread_join(st->prober, NULL);
	while (st->idle != NULL) {
		struct ldapb_conn *c = st->idle;

		st->idle = c->next;
		conn_close(c);
	}
	for (i = 0; i < st->nsrv; i++)
		free(st->srv[i].uri);
	free(st->srv);
	dnc_destroy(&st->dnc);
	free(st->bind_dn);
	free_secret(st->bind_pw);
	free(st->search_base);
	free(st->filter);
	free(st->password_attr);
	free(st->default_realm);
	free(st->group_dn);
	free(st->group_attr);
	free(st->group_filter);
	free(st->group_base);
	free(st->cacert_file);
	free(st->cacert_dir);
	free(st->ciphers);
	free(st->cert);
	free(st->key);
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

const struct am_module authmux_module = {
	.abi = AM_MODULE_ABI,
	.name = "ldap",
	.description = "LDAP directory (saslauthd.conf ldap_* keys)",
	.options = ldapb_options,
	.preinit = ldapb_preinit,
	.init = ldapb_init,
	.verify = ldapb_verify,
	.deinit = ldapb_deinit,
};
