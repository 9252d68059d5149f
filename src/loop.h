/*
 * loop.h -- the event loop: fds, timers, and connections.
 *
 * One thread runs the loop and does all socket I/O.  The loop knows
 * nothing of any protocol: a listener carries a struct conn_proto whose
 * hooks see the bytes and decide; a protocol may answer one request and
 * finish (saslauthd) or keep the connection (a persistent protocol).
 * Only loop_wakeup() may be called from other threads or signal handlers.
 */
#ifndef AUTHMUX_LOOP_H
#define AUTHMUX_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void loop_io_cb(int fd, uint32_t events, void *arg);
typedef void loop_timer_cb(void *arg);

struct loop_io {
	int fd;
	loop_io_cb *cb;
	void *arg;
	bool added;
};

struct loop_timer {
	uint64_t when;		/* loop_now_ms() time it fires */
	size_t slot;		/* index in the heap, 0 when not armed */
	loop_timer_cb *cb;
	void *arg;
};

struct conn;

/* A protocol spoken on a listener. */
struct conn_proto {
	const char *name;
	size_t inbuf_size;	/* most bytes a request may take */
	/* New bytes have arrived (c->in, c->inlen).  Return 0 to keep
	 * reading, or 1 when the protocol took the input and stopped reading
	 * (it will call conn_send/conn_finish/conn_close later). */
	int (*input)(struct conn *c);
	/* The read deadline passed with an incomplete request. */
	void (*timeout)(struct conn *c);
	/* Optional: per-connection state; called on accept and on free.
	 * attach may refuse the connection (-1: closed at once; it logs
	 * why), or answer it at once with conn_send (nothing is read
	 * then). */
	int (*attach)(struct conn *c);
	void (*detach)(struct conn *c);
	/* Optional: the daemon is stopping and c is still reading.  Return
	 * 1 when the protocol holds a whole request and takes it on (it
	 * answers it as usual), 0 to have the connection closed. */
	int (*stopping)(struct conn *c);
};

/* What follows a reply. */
enum conn_after {
	CONN_KEEP,		/* read the next request (persistent protocols) */
	CONN_CLOSE,		/* close at once, as saslauthd 2.1.28 does */
	CONN_DRAIN,		/* shut the write side, read until EOF, close:
				 * a client still sending gets the reply, not a
				 * reset */
};

enum conn_state {
	CONN_READING,		/* waiting for request bytes */
	CONN_BUSY,		/* the protocol holds it (backend running) */
	CONN_WRITING,		/* reply queued */
	CONN_DRAINING,		/* reply sent, write side shut, awaiting EOF */
	CONN_DEAD,		/* closed; freed after the current batch */
};

struct conn {
	struct loop_io io;
	const struct conn_proto *proto;
	void *data;		/* the protocol's */
	enum conn_state state;
	uint8_t *in;		/* insize bytes, just after this struct */
	size_t inlen, insize;
	unsigned int nreads;	/* reads that brought bytes */
	size_t outlen, outoff;
	enum conn_after after;
	struct loop_timer deadline;
	uint64_t accepted;	/* loop_now_ms() at accept */
	struct conn *prev, *next;
	unsigned long id;	/* for log lines */
	uint8_t out[1100];	/* last: not cleared when reused */
};

int loop_init(void);
void loop_free(void);
uint64_t loop_now_ms(void);

int loop_add(struct loop_io *io, uint32_t events);
int loop_mod(struct loop_io *io, uint32_t events);
void loop_del(struct loop_io *io);

void loop_timer_init(struct loop_timer *t, loop_timer_cb *cb, void *arg);
void loop_timer_set(struct loop_timer *t, unsigned int ms);
void loop_timer_cancel(struct loop_timer *t);
bool loop_timer_armed(const struct loop_timer *t);

/*
 * A fault that comes in bursts (a thousand idle clients cut at their
 * deadline at once, clients leaving before their reply, descriptors
 * running out) is logged once per burst, not once per connection:
 * loop_burst() returns true for the first event of a burst, which the
 * caller logs in full, and false for the rest, which it only counts.  A
 * burst ends when none came for BURST_QUIET_MS; then one line sums it up,
 * "WHAT: N more in T s" at prio.  A burst that goes on is summed up once
 * a minute.  Loop thread only.
 */
struct loop_burst {
	int prio;
	const char *what;
	unsigned long n;	/* events since the last line */
	uint64_t since, last;	/* loop_now_ms() of the first and last */
	struct loop_timer timer;
	struct loop_burst *next;	/* on the list of bursts going on */
};
#define LOOP_BURST(p, w) { .prio = (p), .what = (w) }
bool loop_burst(struct loop_burst *b);

/* Called on the loop thread after every loop_wakeup(). */
void loop_set_wakeup(void (*cb)(void));
/* Async-signal-safe and thread-safe. */
void loop_wakeup(void);

/* Something on this thread left secrets in a library's stack frames
 * (the cache's BLAKE2b of a password): zero the stack below loop_run()
 * (WIPE_STACK_LOOP) when the loop next goes idle. */
void loop_wipe_stack_when_idle(void);

/* Run until loop_stop(). */
void loop_run(void);
void loop_stop(void);

/* --- connections -------------------------------------------------- */

/* Settings that apply to every new connection. */
void conn_set_limits(unsigned int read_timeout_ms, unsigned int max_conns);

/* Accept connections on a listening fd with proto.  Returns 0 or -1. */
int loop_listen(int fd, const struct conn_proto *proto);
/* Stop accepting on every listener (the fds stay open: listen.c owns
 * them) and close connections still reading a request, unless their
 * protocol's stopping hook takes the request on. */
void loop_stop_accepting(void);
/* Number of open connections. */
unsigned int conn_count(void);

/* Stop reading and cancel the deadline while the protocol works on a
 * request; conn_send() or conn_close() ends it. */
void conn_hold(struct conn *c);
/* Queue bytes for the peer; once they are out, do what after says. */
void conn_send(struct conn *c, const void *buf, size_t len,
    enum conn_after after);
/* c may be freed on return (the peer went away). */
/* Close at once and free; why (may be NULL) is logged. */
void conn_close(struct conn *c, const char *why);
/* Back to CONN_READING after a reply, for persistent protocols. */
void conn_resume(struct conn *c);

#endif
