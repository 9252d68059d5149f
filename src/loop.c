/*
 * loop.c -- epoll event loop, timer heap, and protocol-agnostic
 * connections with read deadlines.
 *
 * Why this shape: a client that connects and sends nothing, or trickles
 * bytes, costs one struct conn and an fd here, never a worker thread; its
 * deadline is counted from accept, so trickling does not extend it.  When
 * the connection limit is reached the oldest connection still reading is
 * closed to make room, so idle clients cannot lock out real ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "wipe.h"

#define MAX_EVENTS 64
#define ACCEPT_BURST 32
#define BURST_QUIET_MS 1000
#define BURST_SUMMARY_MS 60000
/* A client that has sent nothing for this long may be dropped to make
 * room; a younger one is a client that has not written yet (libsasl2
 * writes right after connect), and the loop pauses instead. */
#define EVICT_MIN_AGE_MS 500

struct listener {
	struct loop_io io;
	const struct conn_proto *proto;
	struct listener *next;
};

static int epfd = -1;
static struct loop_io wake_io = { .fd = -1 };
static void (*wake_cb)(void);
static bool running;

static struct loop_timer **heap;	/* 1-based min-heap */
static size_t heap_n, heap_cap;

static struct listener *listeners;
static struct loop_timer accept_pause;
static bool accepting = true;
static bool wipe_pending;	/* loop_wipe_stack_when_idle() */

static struct loop_burst *bursts;	/* going on: a summary is due */
static struct loop_burst burst_deadline = LOOP_BURST(LOG_INFO,
    "connections closed: no complete request in time");
static struct loop_burst burst_unread = LOOP_BURST(LOG_INFO,
    "connections closed: reply not read in time");
static struct loop_burst burst_hangup = LOOP_BURST(LOG_INFO,
    "connections closed: client hung up mid-request");
static struct loop_burst burst_readerr = LOOP_BURST(LOG_INFO,
    "connections closed: read errors");
static struct loop_burst burst_undelivered = LOOP_BURST(LOG_INFO,
    "replies not delivered");
static struct loop_burst burst_evict = LOOP_BURST(LOG_WARNING,
    "idle clients dropped to make room");
static struct loop_burst burst_backoff = LOOP_BURST(LOG_WARNING,
    "not accepting for 100 ms");

static struct conn *conn_head, *conn_tail;
/* Freed during an epoll batch whose later events may still point at
 * them: released after the batch. */
static struct conn *graveyard;

static void bury(void);

/* Freed connections kept for reuse: malloc, free and clearing a few
 * kilobytes per connection show on the cache-hit path. */
#define SPARE_MAX 128
static struct conn *spare;
static unsigned int nspare;
static unsigned int nconns;
static unsigned int read_timeout_ms = 5000;
static unsigned int max_conns = 4096;
static unsigned long next_conn_id = 1;

uint64_t
loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --- timers --------------------------------------------------------- */

static void
heap_swap(size_t a, size_t b)
{
	struct loop_timer *t = heap[a];

	heap[a] = heap[b];
	heap[b] = t;
	heap[a]->slot = a;
	heap[b]->slot = b;
}

static void
heap_up(size_t i)
{
	while (i > 1 && heap[i / 2]->when > heap[i]->when) {
		heap_swap(i, i / 2);
		i /= 2;
	}
}

static void
heap_down(size_t i)
{
	for (;;) {
		size_t l = 2 * i, m = i;

		if (l <= heap_n && heap[l]->when < heap[m]->when)
			m = l;
		if (l + 1 <= heap_n && heap[l + 1]->when < heap[m]->when)
			m = l + 1;
		if (m == i)
			return;
		heap_swap(i, m);
		i = m;
	}
}

void
loop_timer_init(struct loop_timer *t, loop_timer_cb *cb, void *arg)
{
	t->when = 0;
	t->slot = 0;
	t->cb = cb;
	t->arg = arg;
}

bool
loop_timer_armed(const struct loop_timer *t)
{
	return t->slot != 0;
}

void
loop_timer_cancel(struct loop_timer *t)
{
	size_t i = t->slot;

	if (i == 0)
		return;
	t->slot = 0;
	if (i != heap_n) {
		heap[i] = heap[heap_n];
		heap[i]->slot = i;
		heap_n--;
		heap_up(i);
		heap_down(heap[i]->slot);
	} else
		heap_n--;
}

void
loop_timer_set(struct loop_timer *t, unsigned int ms)
{
	loop_timer_cancel(t);
	if (heap_n + 1 >= heap_cap) {
		size_t cap = heap_cap ? heap_cap * 2 : 256;
		struct loop_timer **h = reallocarray(heap, cap, sizeof(*h));

		if (h == NULL)
			fatal("timer heap");
		heap = h;
		heap_cap = cap;
	}
	t->when = loop_now_ms() + ms;
	heap[++heap_n] = t;
	t->slot = heap_n;
	heap_up(heap_n);
}

static int
timers_run(void)
{
	uint64_t now = loop_now_ms();

	while (heap_n > 0 && heap[1]->when <= now) {
		struct loop_timer *t = heap[1];

		loop_timer_cancel(t);
		t->cb(t->arg);
	}
	if (heap_n == 0)
		return -1;
	now = loop_now_ms();
	return heap[1]->when <= now ? 0 : (int)(heap[1]->when - now);
}

/* --- bursts --------------------------------------------------------- */

static void
burst_summary(struct loop_burst *b)
{
	if (b->n > 0)
		log_msg(b->prio, "%s: %lu more in %.1f s", b->what, b->n,
		    (double)(b->last - b->since) / 1000);
	b->n = 0;
}

static void
burst_unlist(struct loop_burst *b)
{
	struct loop_burst **p;

	for (p = &bursts; *p != NULL; p = &(*p)->next)
		if (*p == b) {
			*p = b->next;
			break;
		}
}

static void
burst_check(void *arg)
{
	struct loop_burst *b = arg;
	uint64_t now = loop_now_ms(), quiet = b->last + BURST_QUIET_MS;

	if (now < quiet && now - b->since < BURST_SUMMARY_MS) {
		loop_timer_set(&b->timer, (unsigned int)(quiet - now));
		return;
	}
	burst_summary(b);
	if (now < quiet) {
		/* still going: count on, sum up again in a minute */
		b->since = now;
		loop_timer_set(&b->timer, BURST_QUIET_MS);
		return;
	}
	burst_unlist(b);
}

bool
loop_burst(struct loop_burst *b)
{
	b->last = loop_now_ms();
	if (loop_timer_armed(&b->timer)) {
		b->n++;
		return false;
	}
	loop_timer_init(&b->timer, burst_check, b);
	b->since = b->last;
	b->n = 0;
	b->next = bursts;
	bursts = b;
	loop_timer_set(&b->timer, BURST_QUIET_MS);
	return true;
}

/* --- fds ------------------------------------------------------------ */

int
loop_add(struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, io->fd, &ev) == -1)
		return -1;
	io->added = true;
	return 0;
}

int
loop_mod(struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	if (!io->added)
		return loop_add(io, events);
	return epoll_ctl(epfd, EPOLL_CTL_MOD, io->fd, &ev);
}

void
loop_del(struct loop_io *io)
{
	if (io->added)
		epoll_ctl(epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->added = false;
}

static void
wake_read(int fd, uint32_t events, void *arg)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) > 0)
		;
	if (wake_cb != NULL)
		wake_cb();
}

void
loop_set_wakeup(void (*cb)(void))
{
	wake_cb = cb;
}

void
loop_wakeup(void)
{
	uint64_t one = 1;
	int saved = errno;

	if (write(wake_io.fd, &one, sizeof(one)) == -1) {
		/* EAGAIN: the counter is already non-zero, a wakeup pends */
	}
	errno = saved;
}

int
loop_init(void)
{
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	wake_io.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (wake_io.fd == -1)
		return -1;
	wake_io.cb = wake_read;
	return loop_add(&wake_io, EPOLLIN);
}

void
loop_free(void)
{
	struct listener *l;
	struct conn *c;

	while ((l = listeners) != NULL) {
		listeners = l->next;
		free(l);
	}
	if (wake_io.fd != -1)
		close(wake_io.fd);
	if (epfd != -1)
		close(epfd);
	bury();
	while ((c = spare) != NULL) {
		spare = c->next;
		free(c);
	}
	nspare = 0;
	free(heap);
	heap = NULL;
	heap_n = heap_cap = 0;
	epfd = wake_io.fd = -1;
}

void
loop_wipe_stack_when_idle(void)
{
	wipe_pending = true;
}

void
loop_stop(void)
{
	running = false;
}

void
loop_run(void)
{
	struct epoll_event ev[MAX_EVENTS];
	int i, n, timeout;

	running = true;
	while (running) {
		timeout = timers_run();
		if (!running)
			break;
		/* Log lines wait while there is work (a batch fills in well
		 * under a millisecond under load) and go out before the loop
		 * sleeps: one write per batch, not per iteration. */
		n = epoll_wait(epfd, ev, MAX_EVENTS, 0);
		if (n == 0) {
			log_flush();
			/* once per idle turn, not per request */
			if (wipe_pending) {
				wipe_stack(WIPE_STACK_LOOP);
				wipe_pending = false;
			}
			if (timeout != 0)
				n = epoll_wait(epfd, ev, MAX_EVENTS, timeout);
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			struct loop_io *io = ev[i].data.ptr;

			io->cb(io->fd, ev[i].events, io->arg);
		}
		bury();
	}
	bury();
	/* the bursts still going are summed up now, not lost */
	while (bursts != NULL) {
		loop_timer_cancel(&bursts->timer);
		burst_summary(bursts);
		bursts = bursts->next;
	}
	log_flush();
}

/* --- connections ---------------------------------------------------- */

void
conn_set_limits(unsigned int timeout_ms, unsigned int maxc)
{
	read_timeout_ms = timeout_ms;
	max_conns = maxc;
}

unsigned int
conn_count(void)
{
	return nconns;
}

static void
conn_free(struct conn *c)
{
	/* close(2) takes the fd out of the epoll set: no epoll_ctl */
	loop_timer_cancel(&c->deadline);
	if (c->proto->detach != NULL)
		c->proto->detach(c);
	close(c->io.fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		conn_head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		conn_tail = c->prev;
	/* a request may still sit in the input buffer; nothing was ever
	 * written past inlen (conn_resume wipes before it rewinds) */
	explicit_bzero(c->in, c->inlen);
	c->state = CONN_DEAD;
	c->next = graveyard;
	graveyard = c;
	nconns--;
}

static void
bury(void)
{
	struct conn *c;

	while ((c = graveyard) != NULL) {
		graveyard = c->next;
		if (nspare < SPARE_MAX) {
			c->next = spare;
			spare = c;
			nspare++;
		} else
			free(c);
	}
}

void
conn_close(struct conn *c, const char *why)
{
	if (why != NULL)
		log_info("connection %lu: closed: %s", c->id, why);
	conn_free(c);
}

static void
conn_deadline(void *arg)
{
	struct conn *c = arg;

	switch (c->state) {
	case CONN_READING:
		if (c->proto->timeout != NULL) {
			c->proto->timeout(c);
			return;
		}
		if (loop_burst(&burst_deadline))
			log_info("connection %lu: closed: no complete request "
			    "within %u ms (%zu bytes received)", c->id,
			    read_timeout_ms, c->inlen);
		break;
	case CONN_WRITING:
		if (loop_burst(&burst_unread))
			log_info("connection %lu: closed: client did not read "
			    "the reply within %u ms", c->id, read_timeout_ms);
		break;
	case CONN_DRAINING:
		break;
	case CONN_BUSY:
	case CONN_DEAD:
		/* conn_hold() cancels the deadline; never cut a request
		 * that a backend is working on */
		return;
	}
	conn_free(c);
}

static void
conn_read(struct conn *c)
{
	ssize_t n;

	if (c->inlen == c->insize) {
		conn_close(c, "request larger than the protocol allows");
		return;
	}
	n = read(c->io.fd, c->in + c->inlen, c->insize - c->inlen);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		if (loop_burst(&burst_readerr))
			log_info("connection %lu: closed: read: %s", c->id,
			    strerror(errno));
		conn_free(c);
		return;
	}
	if (n == 0) {
		if (c->inlen > 0 && loop_burst(&burst_hangup))
			log_info("connection %lu: closed: client hung up "
			    "after %zu bytes of an incomplete request", c->id,
			    c->inlen);
		conn_free(c);
		return;
	}
	c->inlen += n;
	c->nreads++;
	if (c->proto->input(c) == 1)
		return;
	/* still reading; a full buffer here means the protocol could not
	 * make a request of it */
	if (c->state == CONN_READING && c->inlen == c->insize)
		conn_close(c, "request larger than the protocol allows");
}

static void
conn_flush(struct conn *c)
{
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = send(c->io.fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EAGAIN) {
				loop_mod(&c->io, EPOLLOUT);
				return;
			}
			if (errno == EINTR)
				continue;
			if (loop_burst(&burst_undelivered))
				log_info("connection %lu: closed: reply not "
				    "delivered: %s", c->id, strerror(errno));
			conn_free(c);
			return;
		}
		c->outoff += n;
	}
	c->outlen = c->outoff = 0;
	switch (c->after) {
	case CONN_KEEP:
		conn_resume(c);
		return;
	case CONN_CLOSE:
		/* the reply is in the client's queue already; with nothing
		 * unread on our side the client reads it and then EOF */
		conn_free(c);
		return;
	case CONN_DRAIN:
		break;
	}
	/* shut our side, let the client read the reply and close; a
	 * client that never does is cut off by the deadline */
	shutdown(c->io.fd, SHUT_WR);
	c->state = CONN_DRAINING;
	loop_mod(&c->io, EPOLLIN | EPOLLRDHUP);
	loop_timer_set(&c->deadline, read_timeout_ms);
}

static void
conn_drain(struct conn *c)
{
	char buf[512];
	ssize_t n;

	n = read(c->io.fd, buf, sizeof(buf));
	/* the rest of a request too large for c->in: a password, maybe */
	if (n > 0)
		explicit_bzero(buf, (size_t)n);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		return;
	conn_free(c);
}

static void
conn_event(int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;

	switch (c->state) {
	case CONN_READING:
		conn_read(c);
		break;
	case CONN_WRITING:
		conn_flush(c);
		break;
	case CONN_DRAINING:
		conn_drain(c);
		break;
	case CONN_BUSY:
	case CONN_DEAD:
		break;
	}
}

void
conn_send(struct conn *c, const void *buf, size_t len,
    enum conn_after after)
{
	if (len > sizeof(c->out) - c->outlen)
		fatalx("conn_send: reply of %zu bytes too large", len);
	memcpy(c->out + c->outlen, buf, len);
	c->outlen += len;
	c->after = after;
	c->state = CONN_WRITING;
	loop_timer_set(&c->deadline, read_timeout_ms);
	conn_flush(c);
}

void
conn_hold(struct conn *c)
{
	c->state = CONN_BUSY;
	loop_del(&c->io);
	loop_timer_cancel(&c->deadline);
}

void
conn_resume(struct conn *c)
{
	c->state = CONN_READING;
	explicit_bzero(c->in, c->inlen);
	c->inlen = 0;
	c->nreads = 0;
	loop_mod(&c->io, EPOLLIN);
	loop_timer_set(&c->deadline, read_timeout_ms);
}

/* Close the oldest connection still reading, to make room, if it has
 * been silent long enough to be idle; why says what is full. */
static bool
conn_evict(const char *why)
{
	uint64_t now = loop_now_ms();
	struct conn *c;

	for (c = conn_head; c != NULL; c = c->next)
		if (c->state == CONN_READING) {
			/* the list is in accept order: the rest are younger */
			if (now - c->accepted < EVICT_MIN_AGE_MS)
				return false;
			if (loop_burst(&burst_evict))
				log_warnx("connection %lu: closed: %s, "
				    "dropping the oldest idle client", c->id,
				    why);
			conn_free(c);
			return true;
		}
	return false;
}

static void
accept_resume(void *arg)
{
	struct listener *l;

	if (!accepting)
		return;
	for (l = listeners; l != NULL; l = l->next)
		loop_add(&l->io, EPOLLIN);
}

static void
accept_backoff(const char *why)
{
	struct listener *l;

	if (loop_burst(&burst_backoff))
		log_warnx("not accepting for 100 ms: %s", why);
	for (l = listeners; l != NULL; l = l->next)
		loop_del(&l->io);
	loop_timer_set(&accept_pause, 100);
}

static struct conn *
conn_alloc(size_t insize)
{
	struct conn *c, **p;

	/* the protocols differ in buffer size: take a spare that fits */
	for (p = &spare; (c = *p) != NULL; p = &c->next)
		if (c->insize == insize)
			break;
	if (c != NULL) {
		*p = c->next;
		nspare--;
	} else if ((c = malloc(sizeof(*c) + insize)) == NULL)
		return NULL;
	memset(c, 0, offsetof(struct conn, out));
	c->in = (uint8_t *)(c + 1);
	c->insize = insize;
	return c;
}

static void
listener_event(int fd, uint32_t events, void *arg)
{
	struct listener *l = arg;
	struct conn *c;
	char why[80];
	int s, n, e;

	/* a bounded burst, so connections waiting in epoll get their turn;
	 * the listener is level-triggered and fires again */
	for (n = 0; n < ACCEPT_BURST; n++) {
		if (nconns >= max_conns) {
			snprintf(why, sizeof(why), "connection limit (%u) "
			    "reached", max_conns);
			if (!conn_evict(why)) {
				accept_backoff(why);
				return;
			}
		}
		s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (s == -1) {
			if (errno == EAGAIN || errno == EINTR ||
			    errno == ECONNABORTED)
				return;
			e = errno;
			if (e == EMFILE || e == ENFILE) {
				snprintf(why, sizeof(why), "no descriptor left "
				    "(%s)", strerror(e));
				if (conn_evict(why))
					continue;
			} else
				snprintf(why, sizeof(why), "%s", strerror(e));
			accept_backoff(why);
			return;
		}
		if ((c = conn_alloc(l->proto->inbuf_size)) == NULL) {
			close(s);
			accept_backoff("out of memory");
			return;
		}
		c->io.fd = s;
		c->io.cb = conn_event;
		c->io.arg = c;
		c->proto = l->proto;
		c->state = CONN_READING;
		c->accepted = loop_now_ms();
		c->id = next_conn_id++;
		loop_timer_init(&c->deadline, conn_deadline, c);
		c->prev = conn_tail;
		if (conn_tail != NULL)
			conn_tail->next = c;
		else
			conn_head = c;
		conn_tail = c;
		nconns++;
		/* attach says why it refuses */
		if (l->proto->attach != NULL && l->proto->attach(c) == -1) {
			conn_close(c, NULL);
			continue;
		}
		/* it answered already (a refusal): nothing to read */
		if (c->state != CONN_READING)
			continue;
		loop_timer_set(&c->deadline, read_timeout_ms);
		log_debug("connection %lu: accepted (%u open)", c->id, nconns);
		/* libsasl2 writes its request right after connect(), so it
		 * is usually here already: read before asking epoll, and a
		 * connection answered at once never enters the epoll set */
		conn_read(c);
		if (c->state == CONN_READING && !c->io.added &&
		    loop_add(&c->io, EPOLLIN) == -1)
			conn_close(c, "epoll_ctl failed");
	}
}

int
loop_listen(int fd, const struct conn_proto *proto)
{
	struct listener *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -1;
	l->io.fd = fd;
	l->io.cb = listener_event;
	l->io.arg = l;
	l->proto = proto;
	if (loop_add(&l->io, EPOLLIN) == -1) {
		free(l);
		return -1;
	}
	l->next = listeners;
	listeners = l;
	if (accept_pause.cb == NULL)
		loop_timer_init(&accept_pause, accept_resume, NULL);
	return 0;
}

void
loop_stop_accepting(void)
{
	struct listener *l;
	struct conn *c, *next;

	accepting = false;
	loop_timer_cancel(&accept_pause);
	for (l = listeners; l != NULL; l = l->next)
		loop_del(&l->io);
	for (c = conn_head; c != NULL; c = next) {
		next = c->next;
		if (c->state == CONN_READING && (c->proto->stopping == NULL ||
		    c->proto->stopping(c) == 0))
			conn_free(c);
	}
}
