/*
 * cache.h -- the credential cache: in memory only, bounded, keyed hashes.
 *
 * Nothing in it is a password or an unkeyed digest of one: a password is
 * kept as keyed BLAKE2b, lookup keys as keyed SipHash-128, both with
 * random keys made at start and never written anywhere.  It is used from the loop thread only, so it takes
 * no locks; a hit is answered without a worker.
 *
 * Positive entries (a password that was right) live `ttl` seconds; after
 * that they may still answer while the backends say TEMPFAIL, for
 * `stale` more seconds.  Negative entries (a password that was wrong) are
 * keyed by the password's hash too, so a cached wrong password never
 * blocks the right one; they live `neg_ttl` seconds.
 */
#ifndef AUTHMUX_CACHE_H
#define AUTHMUX_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "module.h"

#define CACHE_DIGEST 16

/* The digests of one question.  key and pw are made by cache_prepare;
 * negkey and user only when a lookup or a store needs them, so a hit
 * costs two hashes.  login must stay valid while the query is used. */
struct cache_query {
	uint8_t key[CACHE_DIGEST];	/* chain, login, realm, service */
	uint8_t pw[CACHE_DIGEST];	/* password */
	uint8_t negkey[CACHE_DIGEST];	/* key and password */
	uint8_t user[8];		/* login, for flushing one user */
	const char *login;
	bool have_negkey, have_user;
};

enum cache_answer {
	CACHE_MISS,
	CACHE_HIT_OK,
	CACHE_HIT_NO,
};

struct cache_stats {
	size_t entries, capacity;
	uint64_t hits, neg_hits, misses, evictions, stale;
};

/* Size in KiB (as saslauthd's -s), lifetimes in seconds.  Returns 0 or -1
 * (out of memory).  Calling it again replaces the cache (emptied). */
int cache_init(size_t size_kib, unsigned int ttl, unsigned int neg_ttl,
    unsigned int stale);
/* Change lifetimes without emptying (reload). */
void cache_set_lifetimes(unsigned int ttl, unsigned int neg_ttl,
    unsigned int stale);
void cache_free(void);
bool cache_enabled(void);

void cache_prepare(struct cache_query *q, const char *chain,
    const char *login, const char *realm, const char *service,
    const char *password, size_t pwlen);
enum cache_answer cache_lookup(struct cache_query *q);
/* Remember a backend's answer: OK replaces the positive entry (so an old
 * password stops working at once); DENY and NOUSER add a negative entry;
 * TEMPFAIL stores nothing. */
void cache_store(struct cache_query *q, enum am_result r);
/* After a TEMPFAIL: is there an expired positive entry for this very
 * password, younger than ttl + stale?  Counts a stale answer if so. */
bool cache_stale_ok(const struct cache_query *q);
/* Remove the entries of one login (any realm, service or chain), or all
 * when login is NULL.  Returns how many. */
size_t cache_flush(const char *login);
void cache_get_stats(struct cache_stats *st);

/* Seconds since the cache started; tests move it with cache_test_advance. */
void cache_test_advance(unsigned int seconds);

#endif
