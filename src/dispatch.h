/*
 * dispatch.h -- the saslauthd protocol on a connection, and the worker
 * pool that runs the backend chain.
 *
 * Loop thread: decode (saslauthd_proto), hand the request to the pool,
 * later take the result, wait out a failure delay as a timer, reply.
 * Worker threads: run the chain, log the attempt, wipe nothing they do
 * not own.  The password is wiped on the loop thread when the connection
 * is freed.
 */
#ifndef AUTHMUX_DISPATCH_H
#define AUTHMUX_DISPATCH_H

#include <stdbool.h>

#include "backend.h"
#include "loop.h"
#include "peer.h"

extern const struct conn_proto dispatch_saslauthd;

/* Start n worker threads.  Returns 0 or -1. */
int dispatch_start(unsigned int nthreads);
/* Wait for queued requests to finish and join the workers. */
void dispatch_stop(void);

/* Install the chain new requests use (takes a reference of its own);
 * requests in flight keep theirs. */
void dispatch_set_chain(struct chain *ch);
/* -r: pass login@realm to the backends when the realm is not empty. */
void dispatch_set_realm_join(bool on);

/* Longest a request may wait for the backends before the client is
 * answered NO (the worker goes on; its answer is then dropped). */
void dispatch_set_backend_timeout(unsigned int ms);

/* The allow_users/allow_groups rule for new connections (NULL: none).
 * The caller keeps it alive and changes it only on the loop thread. */
void dispatch_set_acl(const struct peer_acl *acl);

/* Take finished requests and reply; call on the loop thread after a
 * wakeup. */
void dispatch_complete(void);
/* Requests handed to the pool and not yet replied to. */
unsigned int dispatch_in_flight(void);

#endif
