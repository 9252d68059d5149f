/*
 * dispatch.c -- saslauthd requests: decode on the loop thread, verify on
 * a worker, reply on the loop thread.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "dispatch.h"
#include "log.h"
#include "peer.h"
#include "saslauthd_proto.h"
#include "wipe.h"

/* How long a request that came in pieces may wait for a fifth field
 * (client address) after its fourth.  libsasl2 writes a request in one
 * go, so a request that arrived in one read is answered at once. */
#define FIFTH_FIELD_GRACE_MS 50

struct sreq {
	struct conn *conn;
	struct proto_request req;
	struct loop_timer timer;	/* fifth-field grace, failure delay */
	struct loop_timer watchdog;	/* backend_timeout */
	struct chain *chain;
	enum am_result result;
	struct am_verdict verdict;
	const char *backend;		/* who answered, for the log */
	double ms;			/* time the chain took */
	struct cache_query q;		/* when the cache is on */
	bool cached;			/* q is set */
	struct peer peer;		/* who connected, for the log */
	struct sreq *next;
	bool queued;
};

static pthread_mutex_t q_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static struct sreq *q_head, *q_tail;	/* to the workers */
static struct sreq *done_head;		/* back to the loop */
static bool q_stopping;
static pthread_t *workers;
static unsigned int nworkers;
static unsigned int in_flight;		/* loop thread only */

static struct chain *current;		/* loop thread only */
#define SPARE_MAX 128
static struct sreq *spare;		/* loop thread only; wiped */
static unsigned int nspare;
static bool realm_join;
static unsigned int backend_timeout_ms = 30000;
static const struct peer_acl *acl;	/* loop thread only */
/* a hung backend answers no one: every request of the burst times out */
static struct loop_burst burst_watchdog = LOOP_BURST(LOG_WARNING,
    "requests answered NO after backend_timeout");

void
dispatch_set_chain(struct chain *ch)
{
	if (ch != NULL)
		chain_ref(ch);
	if (current != NULL)
		chain_unref(current);
	current = ch;
}

void
dispatch_set_realm_join(bool on)
{
	realm_join = on;
}

void
dispatch_set_backend_timeout(unsigned int ms)
{
	backend_timeout_ms = ms;
}

void
dispatch_set_acl(const struct peer_acl *a)
{
	acl = a;
}

unsigned int
dispatch_in_flight(void)
{
	return in_flight;
}

/* --- workers ---------------------------------------------------------- */

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e3 +
	    (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* A log line built by appending: this runs for every attempt, cache hits
 * included, where printf's format parsing was a tenth of the work. */
struct line {
	char buf[1600];
	size_t len;
};

static void
put(struct line *l, const char *s)
{
	size_t n = strlen(s);

	if (n > sizeof(l->buf) - 1 - l->len)
		n = sizeof(l->buf) - 1 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* Untrusted text, escaped and cut at max input bytes. */
static void
put_esc(struct line *l, const char *s, size_t max)
{
	am_escape(l->buf + l->len, sizeof(l->buf) - l->len, s, max);
	l->len += strlen(l->buf + l->len);
}

static void
put_field(struct line *l, const char *name, const char *s, size_t max)
{
	put(l, name);
	put_esc(l, s, max);
	put(l, "]");
}

/* The line's tail is written backwards from its end, without printf:
 * n bytes of s, or a number, before e; each returns the new start. */
static char *
back(char *e, const char *s, size_t n)
{
	e -= n;
	memcpy(e, s, n);
	return e;
}
#define BACK(e, lit) back((e), (lit), sizeof(lit) - 1)

static char *
back_num(char *e, unsigned long v)
{
	do {
		*--e = '0' + v % 10;
		v /= 10;
	} while (v > 0);
	return e;
}

static void
log_attempt(const struct sreq *s, const char *backend, double ms,
    const char *note)
{
	const struct proto_request *r = &s->req;
	const struct peer *peer = &s->peer;
	unsigned long tenths = (unsigned long)(ms * 10 + 0.5);
	char tail[128], *p = tail + sizeof(tail);
	struct line l;

	l.len = 0;
	put(&l, s->result == AM_OK ? "auth success: " : "auth failure: ");
	put_field(&l, "[user=", r->login, 100);
	put_field(&l, " [service=", r->service, 100);
	put_field(&l, " [realm=", r->realm, 100);
	put(&l, " [mech=");
	put(&l, backend);
	put(&l, "]");
	if (s->result != AM_OK) {
		put(&l, " [reason=");
		if (s->result == AM_TEMPFAIL)
			put(&l, "temporary failure: ");
		put_esc(&l, s->verdict.reason, 140);
		put(&l, "]");
	}
	put(&l, note);
	if (r->addr[0] != '\0')
		put_field(&l, " [client=", r->addr, 100);
	/* [peer=uid U gid G pid P] (as peer_text() writes it) [time=N.Nms] */
	*--p = '\0';
	p = BACK(p, "ms]");
	p = back_num(p, tenths % 10);
	p = BACK(p, ".");
	p = back_num(p, tenths / 10);
	p = BACK(p, "] [time=");
	if (peer->known) {
		p = back_num(p, (unsigned long)peer->pid);
		p = BACK(p, " pid ");
		p = back_num(p, (unsigned long)peer->gid);
		p = BACK(p, " gid ");
		p = back_num(p, (unsigned long)peer->uid);
		p = BACK(p, " [peer=uid ");
	} else
		p = BACK(p, " [peer=unknown");
	put(&l, p);
	l.buf[l.len] = '\0';
	log_text(LOG_INFO, l.buf);
}

static void
verify(struct sreq *s)
{
	char joined[PROTO_LOGIN_MAX + 1 + PROTO_REALM_MAX + 1];
	struct am_request ar = {
		.login = s->req.login,
		.password = s->req.password,
		.password_len = s->req.password_len,
		.service = s->req.service,
		.realm = s->req.realm,
		.client_addr = s->req.addr,
	};
	struct timespec t0;

	if (realm_join && s->req.realm[0] != '\0') {
		snprintf(joined, sizeof(joined), "%s@%s", s->req.login,
		    s->req.realm);
		ar.login = joined;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	s->result = chain_verify(s->chain, &ar, &s->verdict, &s->backend);
	s->ms = ms_since(&t0);
	/* a TEMPFAIL may yet be answered from the cache: the loop thread
	 * logs it then, once */
	if (!(s->cached && s->result == AM_TEMPFAIL))
		log_attempt(s, s->backend, s->ms, "");
}

static void *
worker_main(void *arg)
{
	struct sreq *s;

	for (;;) {
		pthread_mutex_lock(&q_mtx);
		while (q_head == NULL && !q_stopping)
			pthread_cond_wait(&q_cond, &q_mtx);
		if (q_head == NULL) {
			pthread_mutex_unlock(&q_mtx);
			return NULL;
		}
		s = q_head;
		if ((q_head = s->next) == NULL)
			q_tail = NULL;
		pthread_mutex_unlock(&q_mtx);

		verify(s);
		/* the backends' libraries leave pieces of the password in
		 * their stack frames (APR's MD5 contexts, for one) */
		wipe_stack(WIPE_STACK_WORKER);

		pthread_mutex_lock(&q_mtx);
		s->next = done_head;
		done_head = s;
		pthread_mutex_unlock(&q_mtx);
		loop_wakeup();
	}
}

int
dispatch_start(unsigned int n)
{
	sigset_t all, old;
	unsigned int i;
	int r = 0;

	if ((workers = calloc(n, sizeof(*workers))) == NULL)
		return -1;
	/* signals belong to the loop thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < n; i++) {
		if (pthread_create(&workers[i], NULL, worker_main, NULL) != 0) {
			log_warnx("cannot start worker thread %u of %u", i + 1,
			    n);
			r = -1;
			break;
		}
		nworkers++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

void
dispatch_stop(void)
{
	struct sreq *s;
	unsigned int i;

	pthread_mutex_lock(&q_mtx);
	q_stopping = true;
	pthread_cond_broadcast(&q_cond);
	pthread_mutex_unlock(&q_mtx);
	for (i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	free(workers);
	workers = NULL;
	nworkers = 0;
	dispatch_set_chain(NULL);
	while ((s = spare) != NULL) {
		spare = s->next;
		free(s);
	}
	nspare = 0;
}

/* --- loop side ----------------------------------------------------- */

static void
send_text(struct conn *c, const char *text, enum conn_after after)
{
	uint8_t buf[PROTO_REPLY_MAX];
	size_t n = proto_encode_reply(buf, sizeof(buf), text);

	conn_send(c, buf, n, after);
}

static void
reply(struct sreq *s, const char *text)
{
	/* decode copies exactly password_len bytes and a NUL */
	explicit_bzero(s->req.password, s->req.password_len + 1);
	send_text(s->conn, text, CONN_CLOSE);
}

static void
sreq_free(struct sreq *s)
{
	loop_timer_cancel(&s->timer);
	loop_timer_cancel(&s->watchdog);
	/* the secrets; the rest is rewritten by the next decode */
	explicit_bzero(s->req.password, sizeof(s->req.password));
	explicit_bzero(&s->q, sizeof(s->q));
	s->cached = s->queued = false;
	s->chain = NULL;
	s->conn = NULL;
	/* kept for the next connection: calloc and free per request show
	 * on the cache-hit path */
	if (nspare < SPARE_MAX) {
		s->next = spare;
		spare = s;
		nspare++;
	} else
		free(s);
}

/*
 * A backend hangs (a server that accepts and never answers): answer the
 * client now so it is never left waiting, and let the worker finish in
 * its own time; the request is freed when it comes back.
 */
static void
watchdog_fired(void *arg)
{
	struct sreq *s = arg;
	struct conn *c = s->conn;

	if (loop_burst(&burst_watchdog))
		log_warnx("connection %lu: backend %s did not answer within "
		    "%u s; answered NO (temporary failure); the worker is "
		    "still waiting", c->id, s->chain->names,
		    backend_timeout_ms / 1000);
	loop_timer_cancel(&s->timer);
	s->conn = NULL;
	c->data = NULL;
	send_text(c, "NO", CONN_CLOSE);
}

static void
finish(struct sreq *s)
{
	reply(s, s->result == AM_OK ? "OK" : "NO");
}

static void
delay_done(void *arg)
{
	finish(arg);
}

/* Loop thread: learn from the chain's answer, or stand in for it. */
static void
cache_result(struct sreq *s)
{
	if (s->result != AM_TEMPFAIL) {
		cache_store(&s->q, s->result);
		return;
	}
	/* only for a client still waiting (not answered by the watchdog) */
	if (s->conn != NULL && cache_stale_ok(&s->q)) {
		char reason[600], note[700];

		s->result = AM_OK;
		am_escape(reason, sizeof(reason), s->verdict.reason, 140);
		snprintf(note, sizeof(note), " [note=served-stale from the "
		    "cache; backend: temporary failure: %s]", reason);
		log_attempt(s, s->backend, s->ms, note);
		return;
	}
	log_attempt(s, s->backend, s->ms, "");
}

void
dispatch_complete(void)
{
	struct sreq *s, *next;

	pthread_mutex_lock(&q_mtx);
	s = done_head;
	done_head = NULL;
	pthread_mutex_unlock(&q_mtx);
	for (; s != NULL; s = next) {
		next = s->next;
		s->queued = false;
		in_flight--;
		chain_unref(s->chain);
		s->chain = NULL;
		loop_timer_cancel(&s->watchdog);
		if (s->cached)
			cache_result(s);
		if (s->conn == NULL) {
			/* answered by the watchdog long ago */
			sreq_free(s);
			continue;
		}
		if (s->result != AM_OK && s->verdict.delay_ms > 0) {
			/* the backend's failure delay, without a worker */
			loop_timer_init(&s->timer, delay_done, s);
			loop_timer_set(&s->timer, s->verdict.delay_ms);
		} else
			finish(s);
	}
}

/* Answer from the cache on the loop thread.  Returns true when done. */
static bool
cache_answer(struct sreq *s)
{
	struct timespec t0;
	enum cache_answer a;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	cache_prepare(&s->q, current->names, s->req.login, s->req.realm,
	    s->req.service, s->req.password, s->req.password_len);
	/* libsodium's BLAKE2b leaves blocks of the password in its frames */
	loop_wipe_stack_when_idle();
	s->cached = true;
	if ((a = cache_lookup(&s->q)) == CACHE_MISS)
		return false;
	s->result = a == CACHE_HIT_OK ? AM_OK : AM_DENY;
	if (a == CACHE_HIT_NO)
		snprintf(s->verdict.reason, sizeof(s->verdict.reason),
		    "cached failure (the same password was refused "
		    "moments ago)");
	log_attempt(s, "cache", ms_since(&t0), "");
	finish(s);
	return true;
}

static void
submit(struct sreq *s)
{
	loop_timer_cancel(&s->timer);
	if (current != NULL && cache_enabled() && cache_answer(s))
		return;
	conn_hold(s->conn);
	if (current == NULL) {
		s->result = AM_TEMPFAIL;
		finish(s);
		return;
	}
	log_debug("connection %lu: %d-field request to the workers",
	    s->conn->id, s->req.nfields);
	s->chain = current;
	chain_ref(current);
	loop_timer_set(&s->watchdog, backend_timeout_ms);
	s->queued = true;
	s->next = NULL;
	in_flight++;
	pthread_mutex_lock(&q_mtx);
	if (q_tail != NULL)
		q_tail->next = s;
	else
		q_head = s;
	q_tail = s;
	pthread_cond_signal(&q_cond);
	pthread_mutex_unlock(&q_mtx);
}

static void
grace_done(void *arg)
{
	submit(arg);
}

static void
bad_request(struct conn *c, const struct sreq *s)
{
	const struct proto_request *r = &s->req;
	char who[80];

	/* name the local process that sends garbage */
	log_info("connection %lu: bad request [peer=%s]: %s: %s; answered NO",
	    c->id, peer_text(&s->peer, who, sizeof(who)),
	    proto_field_name(r->err_field), proto_strerror(r->err));
	/* the client may still be sending the rest of a bad frame */
	send_text(c, proto_error_reply(r->err), CONN_DRAIN);
}

static int
sasl_input(struct conn *c)
{
	struct sreq *s = c->data;

	switch (proto_decode(c->in, c->inlen, &s->req)) {
	case PROTO_INCOMPLETE:
		/* a fifth field is on its way after all */
		loop_timer_cancel(&s->timer);
		return 0;
	case PROTO_ERROR:
		loop_timer_cancel(&s->timer);
		explicit_bzero(&s->req.password, sizeof(s->req.password));
		conn_hold(c);
		bad_request(c, s);
		return 1;
	case PROTO_COMPLETE4:
		if (c->nreads > 1) {
			/* it came in pieces: give a fifth field a moment */
			if (!loop_timer_armed(&s->timer))
				loop_timer_set(&s->timer,
				    FIFTH_FIELD_GRACE_MS);
			return 0;
		}
		submit(s);
		return 1;
	case PROTO_COMPLETE5:
		submit(s);
		return 1;
	}
	return 0;
}

static int
sasl_attach(struct conn *c)
{
	struct sreq *s;

	if ((s = spare) != NULL) {
		spare = s->next;
		s->next = NULL;
		nspare--;
	} else if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warnx("connection %lu: out of memory", c->id);
		return -1;
	}
	s->conn = c;
	loop_timer_init(&s->timer, grace_done, s);
	loop_timer_init(&s->watchdog, watchdog_fired, s);
	c->data = s;
	/* for every log line about this connection, and the access rule;
	 * SO_PEERCRED is what the kernel saw at connect(2) */
	peer_get(c->io.fd, &s->peer);
	if (acl != NULL && !peer_allowed(acl, c->io.fd, &s->peer)) {
		char who[80];

		log_warnx("connection %lu: refused [peer=%s]: not root and not "
		    "in allow_users or allow_groups; answered NO", c->id,
		    peer_text(&s->peer, who, sizeof(who)));
		/* before reading a byte of it; the client may be writing
		 * its request still: drain it, or it would see a reset */
		send_text(c, "NO", CONN_DRAIN);
	}
	return 0;
}

static void
sasl_detach(struct conn *c)
{
	struct sreq *s = c->data;

	if (s == NULL)
		return;
	if (s->queued)
		fatalx("connection %lu freed while a worker holds it", c->id);
	sreq_free(s);
	c->data = NULL;
}

/* Stopping: a whole 4-field request waiting for an optional fifth field
 * was read, so it is answered, not dropped with the idle connections. */
static int
sasl_stopping(struct conn *c)
{
	struct sreq *s = c->data;

	if (s == NULL || !loop_timer_armed(&s->timer))
		return 0;
	submit(s);
	return 1;
}

const struct conn_proto dispatch_saslauthd = {
	.name = "saslauthd",
	.inbuf_size = PROTO_REQUEST_MAX,
	.input = sasl_input,
	.attach = sasl_attach,
	.detach = sasl_detach,
	.stopping = sasl_stopping,
};
