/*
 * test_cache.c -- the credential cache: hits, misses, lifetimes, cached
 * failures, password changes, stale answers, flushing, eviction under a
 * flood, the counters, and that nothing in its memory is a password or an
 * unkeyed digest of one.
 *
 * The cache's source is included to reach its statics (tab, capacity,
 * count, buckets).  Its clock is real seconds plus cache_test_advance().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#ifdef WITH_FILE
/* libcrypto comes with the file backend */
#include <openssl/evp.h>
#define HAVE_EVP 1
#endif

#include "../../src/cache.c"
#include "tap.h"

#define TTL	1000
#define NEG_TTL	100
#define STALE	500

static void
setup(size_t kib, unsigned int t, unsigned int nt, unsigned int st)
{
	if (cache_init(kib, t, nt, st) != 0) {
		printf("Bail out! cache_init(%zu KiB)\n", kib);
		exit(1);
	}
}

/* A question for chain "file", service "imap", realm "". */
static struct cache_query
qry(const char *login, const char *pw)
{
	struct cache_query q;

	cache_prepare(&q, "file", login, "", "imap", pw, strlen(pw));
	return q;
}

static struct cache_query
qry_full(const char *chain, const char *login, const char *realm,
    const char *service, const char *pw)
{
	struct cache_query q;

	cache_prepare(&q, chain, login, realm, service, pw, strlen(pw));
	return q;
}

static enum cache_answer
look(const char *login, const char *pw)
{
	struct cache_query q = qry(login, pw);

	return cache_lookup(&q);
}

static void
put(const char *login, const char *pw, enum am_result r)
{
	struct cache_query q = qry(login, pw);

	cache_store(&q, r);
}

static bool
stale(const char *login, const char *pw)
{
	struct cache_query q = qry(login, pw);

	return cache_stale_ok(&q);
}

static struct cache_stats
getstats(void)
{
	struct cache_stats st;

	cache_get_stats(&st);
	return st;
}

static const char *
ans(enum cache_answer a)
{
	switch (a) {
	case CACHE_MISS:
		return "MISS";
	case CACHE_HIT_OK:
		return "HIT_OK";
	case CACHE_HIT_NO:
		return "HIT_NO";
	}
	return "?";
}

/* One answer checked against the one wanted, both shown. */
static void
is(enum cache_answer got, enum cache_answer want, const char *desc)
{
	ok(got == want, "%s (%s, want %s)", desc, ans(got), ans(want));
}

static void
test_hit_miss(void)
{
	struct cache_query q;

	setup(64, TTL, NEG_TTL, STALE);
	ok(cache_enabled(), "enabled after cache_init");
	is(look("alice", "pw-a"), CACHE_MISS, "empty cache: miss");
	put("alice", "pw-a", AM_OK);
	ok(count == 1, "one entry after storing OK (%u)", count);
	is(look("alice", "pw-a"), CACHE_HIT_OK, "same password: hit");
	is(look("alice", "pw-b"), CACHE_MISS, "other password: miss, not NO");
	is(look("alicf", "pw-a"), CACHE_MISS, "other login: miss");
	q = qry_full("file", "alice", "", "smtp", "pw-a");
	is(cache_lookup(&q), CACHE_MISS, "other service: miss");
	q = qry_full("file", "alice", "example.com", "imap", "pw-a");
	is(cache_lookup(&q), CACHE_MISS, "other realm: miss");
	q = qry_full("pam", "alice", "", "imap", "pw-a");
	is(cache_lookup(&q), CACHE_MISS, "other chain: miss");

	/* field boundaries are part of the key */
	q = qry_full("file", "ab", "c", "imap", "pw");
	cache_store(&q, AM_OK);
	q = qry_full("file", "a", "bc", "imap", "pw");
	is(cache_lookup(&q), CACHE_MISS,
	    "login \"a\" realm \"bc\" is not login \"ab\" realm \"c\"");
	/* the password's length counts, NUL and all */
	cache_prepare(&q, "file", "nul", "", "imap", "secret\0x", 8);
	cache_store(&q, AM_OK);
	cache_prepare(&q, "file", "nul", "", "imap", "secret", 6);
	is(cache_lookup(&q), CACHE_MISS,
	    "a password cut at a NUL is another password");
	cache_prepare(&q, "file", "nul", "", "imap", "secret\0x", 8);
	is(cache_lookup(&q), CACHE_HIT_OK,
	    "the password with its NUL is a hit");

	put("tempfail", "pw", AM_TEMPFAIL);
	ok(look("tempfail", "pw") == CACHE_MISS && count == 3,
	    "TEMPFAIL stores nothing (count %u)", count);

	cache_free();
	ok(!cache_enabled(), "disabled after cache_free");
	q = qry("alice", "pw-a");
	ok(cache_lookup(&q) == CACHE_MISS, "freed cache: miss");
	cache_store(&q, AM_OK);
	ok(!cache_enabled() && cache_lookup(&q) == CACHE_MISS,
	    "freed cache: a store is ignored");
	ok(!cache_stale_ok(&q), "freed cache: no stale answer");
	ok(cache_flush(NULL) == 0 && cache_flush("alice") == 0,
	    "freed cache: flush finds nothing");
}

/*
 * The clock is real seconds plus what the test adds: a check that needs
 * an exact age is repeated until no real second ticked during it.
 */
static void
test_expiry(void)
{
	enum cache_answer a = CACHE_MISS;
	uint32_t t0, t1;
	int tries;

	for (tries = 0; tries < 5; tries++) {
		setup(64, TTL, NEG_TTL, STALE);
		t0 = now();
		put("bob", "pw", AM_OK);
		cache_test_advance(TTL - 1);
		a = look("bob", "pw");
		t1 = now();
		if (t1 - t0 == TTL - 1)
			break;
	}
	is(a, CACHE_HIT_OK, "hit at ttl - 1 s");
	cache_test_advance(1);
	is(look("bob", "pw"), CACHE_MISS, "miss at ttl");
	cache_test_advance(TTL);
	is(look("bob", "pw"), CACHE_MISS, "miss long after ttl");
	ok(count == 0, "an entry past ttl + stale is dropped on lookup "
	    "(count %u)", count);

	/* a hit does not extend the lifetime */
	setup(64, TTL, NEG_TTL, STALE);
	put("bob", "pw", AM_OK);
	cache_test_advance(TTL / 2);
	ok(look("bob", "pw") == CACHE_HIT_OK, "hit at ttl / 2");
	cache_test_advance(TTL / 2);
	is(look("bob", "pw"), CACHE_MISS,
	    "a hit does not renew the entry: miss at ttl");

	/* new lifetimes apply without emptying */
	setup(64, TTL, NEG_TTL, STALE);
	put("bob", "pw", AM_OK);
	cache_set_lifetimes(10, NEG_TTL, STALE);
	ok(count == 1, "cache_set_lifetimes keeps the entries (count %u)",
	    count);
	cache_test_advance(10);
	is(look("bob", "pw"), CACHE_MISS,
	    "a shorter ttl applies to entries already there");
}

static void
test_negative(void)
{
	enum cache_answer a = CACHE_MISS;
	uint32_t t0, t1;
	int tries;

	for (tries = 0; tries < 5; tries++) {
		setup(64, TTL, NEG_TTL, STALE);
		t0 = now();
		put("carol", "wrong", AM_DENY);
		cache_test_advance(NEG_TTL - 1);
		a = look("carol", "wrong");
		t1 = now();
		if (t1 - t0 == NEG_TTL - 1)
			break;
	}
	is(a, CACHE_HIT_NO, "wrong password: NO at neg_ttl - 1 s");
	is(look("carol", "right"), CACHE_MISS,
	    "the right password after a cached wrong one is a miss, not NO");
	is(look("carol", "wrong2"), CACHE_MISS, "another wrong password: miss");
	cache_test_advance(1);
	is(look("carol", "wrong"), CACHE_MISS,
	    "negative entry gone at neg_ttl");
	ok(count == 0, "and removed (count %u)", count);

	/* NOUSER is cached as a failure too */
	put("nobody", "x", AM_NOUSER);
	is(look("nobody", "x"), CACHE_HIT_NO, "NOUSER: cached NO");

	/* the right password after the wrong one: the backend said OK */
	setup(64, TTL, NEG_TTL, STALE);
	put("carol", "wrong", AM_DENY);
	put("carol", "right", AM_OK);
	is(look("carol", "right"), CACHE_HIT_OK,
	    "right password cached after a wrong one");
	is(look("carol", "wrong"), CACHE_HIT_NO, "and the wrong one still NO");
	ok(count == 2, "two entries (count %u)", count);

	/* a password once refused, then accepted (backend flapped or
	 * password reset to it): the OK replaces the negative entry */
	setup(64, TTL, NEG_TTL, STALE);
	put("dave", "pw", AM_DENY);
	ok(look("dave", "pw") == CACHE_HIT_NO, "refused password: NO");
	put("dave", "pw", AM_OK);
	is(look("dave", "pw"), CACHE_HIT_OK, "then accepted: hit");
	ok(count == 1, "the negative entry was removed (count %u)", count);
	/* storing the same failure twice keeps one entry */
	put("dave", "bad", AM_DENY);
	put("dave", "bad", AM_DENY);
	ok(count == 2, "the same failure twice is one entry (count %u)",
	    count);

	/* neg_ttl 0: failures are not cached */
	setup(64, TTL, 0, STALE);
	put("erin", "wrong", AM_DENY);
	put("erin", "nouser", AM_NOUSER);
	ok(count == 0 && look("erin", "wrong") == CACHE_MISS,
	    "neg_ttl 0: nothing stored for DENY/NOUSER (count %u)", count);
}

static void
test_password_change(void)
{

	setup(64, TTL, NEG_TTL, STALE);
	put("frank", "pw-A", AM_OK);
	ok(look("frank", "pw-A") == CACHE_HIT_OK, "pw A cached");
	put("frank", "pw-B", AM_OK);
	is(look("frank", "pw-A"), CACHE_MISS,
	    "after OK for pw B, pw A is a miss");
	is(look("frank", "pw-B"), CACHE_HIT_OK, "pw B is a hit");
	ok(count == 1, "one positive entry per login (count %u)", count);
	/* the old password is not served stale either */
	cache_test_advance(TTL + 1);
	ok(!stale("frank", "pw-A"), "old pw A is not a stale answer");
	ok(stale("frank", "pw-B"), "new pw B is");
}

static void
test_stale(void)
{
	struct cache_stats st;

	setup(64, TTL, NEG_TTL, STALE);
	put("gina", "pw", AM_OK);
	put("hank", "pw", AM_OK);
	cache_test_advance(TTL);
	is(look("gina", "pw"), CACHE_MISS, "past ttl: miss");
	ok(count == 2, "past ttl the entry is kept for stale answers "
	    "(count %u)", count);
	ok(stale("gina", "pw"), "stale ok: same password after ttl");
	ok(!stale("gina", "other"), "stale refused: another password");
	ok(!stale("nobody", "pw"), "stale refused: unknown login");
	put("ivan", "wrong", AM_DENY);
	ok(!stale("ivan", "wrong"), "stale refused: a cached failure is no "
	    "positive entry");
	cache_test_advance(STALE - 10);
	ok(stale("gina", "pw"), "stale ok: ttl + stale - 10 s");
	st = getstats();
	ok(st.stale == 2, "stale answers counted: 2 (%llu)",
	    (unsigned long long)st.stale);
	cache_test_advance(10);
	ok(!stale("gina", "pw"), "stale refused at ttl + stale");
	ok(!stale("hank", "pw"), "stale refused at ttl + stale (untouched "
	    "entry)");
	st = getstats();
	ok(st.stale == 2, "refusals are not counted (%llu)",
	    (unsigned long long)st.stale);
	ok(look("gina", "pw") == CACHE_MISS && count == 2,
	    "lookup past ttl + stale drops the entry (count %u)", count);

	/* stale 0: no stale answer at all */
	setup(64, TTL, NEG_TTL, 0);
	put("gina", "pw", AM_OK);
	cache_test_advance(TTL);
	ok(!stale("gina", "pw"), "stale 0: no stale answer past ttl");

	/*
	 * A password the backends refused is never served stale: the
	 * positive entry past its ttl (kept for outages) must go with the
	 * refusal, else once the negative entry is gone (or at once when
	 * neg_ttl is 0) the next TEMPFAIL would answer OK to it.
	 */
	setup(64, TTL, NEG_TTL, STALE);
	put("judy", "old", AM_OK);
	cache_test_advance(TTL + 1);
	ok(look("judy", "old") == CACHE_MISS, "revoked: past ttl, asked the "
	    "backend");
	put("judy", "old", AM_DENY);
	ok(look("judy", "old") == CACHE_HIT_NO, "revoked: the refusal is "
	    "cached");
	cache_test_advance(NEG_TTL);
	ok(look("judy", "old") == CACHE_MISS, "revoked: refusal expired, "
	    "asked the backend");
	ok(!stale("judy", "old"), "a password the backend refused is "
	    "not served stale on the next TEMPFAIL");
	setup(64, TTL, 0, STALE);
	put("judy", "old", AM_OK);
	cache_test_advance(TTL + 1);
	ok(look("judy", "old") == CACHE_MISS, "revoked, neg_ttl 0: past "
	    "ttl, asked the backend");
	put("judy", "old", AM_DENY);
	ok(!stale("judy", "old"), "neg_ttl 0: a password the backend "
	    "refused is not served stale on the next TEMPFAIL");
}

static void
test_flush(void)
{
	static const char *realms[] = { "", "example.com", "example.org" };
	static const char *services[] = { "imap", "smtp" };
	struct cache_query q;
	size_t i, j, n;
	bool all;

	setup(64, TTL, NEG_TTL, STALE);
	for (i = 0; i < 3; i++)
		for (j = 0; j < 2; j++) {
			q = qry_full("file", "alice", realms[i], services[j],
			    "pw");
			cache_store(&q, AM_OK);
			q = qry_full("file", "bob", realms[i], services[j],
			    "pw");
			cache_store(&q, AM_OK);
		}
	q = qry_full("pam,file", "alice", "", "imap", "pw");
	cache_store(&q, AM_OK);
	put("alice", "wrong", AM_DENY);		/* negative */
	put("alice2", "pw", AM_OK);
	put("alic", "pw", AM_OK);
	ok(count == 16, "16 entries before flushing (count %u)", count);
	n = cache_flush("alice");
	ok(n == 8, "flush alice: 8 entries, any realm, service, chain, and "
	    "the negative one (%zu)", n);
	ok(count == 8, "8 left (count %u)", count);
	all = true;
	for (i = 0; i < 3; i++)
		for (j = 0; j < 2; j++) {
			q = qry_full("file", "alice", realms[i], services[j],
			    "pw");
			all &= cache_lookup(&q) == CACHE_MISS;
		}
	q = qry_full("pam,file", "alice", "", "imap", "pw");
	all &= cache_lookup(&q) == CACHE_MISS;
	all &= look("alice", "wrong") == CACHE_MISS;
	ok(all, "every entry of alice is gone");
	all = true;
	for (i = 0; i < 3; i++)
		for (j = 0; j < 2; j++) {
			q = qry_full("file", "bob", realms[i], services[j],
			    "pw");
			all &= cache_lookup(&q) == CACHE_HIT_OK;
		}
	ok(all, "bob's entries stay");
	ok(look("alice2", "pw") == CACHE_HIT_OK &&
	    look("alic", "pw") == CACHE_HIT_OK,
	    "alice2 and alic stay (no prefix matching)");
	ok(cache_flush("alice") == 0, "flush alice again: 0");
	ok(cache_flush("nobody") == 0 && count == 8, "flush of an unknown "
	    "user: 0");
	n = cache_flush(NULL);
	ok(n == 8 && count == 0, "flush all: 8 (%zu), count 0 (%u)", n,
	    count);
	ok(look("bob", "pw") == CACHE_MISS, "after flush all: miss");
	ok(lru_head == NIL && lru_tail == NIL, "LRU list empty");
	for (i = 0; i < high; i++)
		if (!sodium_is_zero(tab[i].key, CACHE_DIGEST) ||
		    !sodium_is_zero(tab[i].pw, CACHE_DIGEST) ||
		    !sodium_is_zero(tab[i].user, sizeof(tab[i].user)))
			break;
	ok(high > 0 && i == high, "flushed slots are wiped (%zu of %u)", i,
	    high);

	/* the slots are reused: capacity entries fit again without an
	 * eviction, one more evicts one */
	{
		struct cache_stats st0 = getstats(), st;
		char login[32];
		uint32_t k;

		for (k = 0; k < capacity; k++) {
			snprintf(login, sizeof(login), "refill-%u", k);
			put(login, "pw", AM_OK);
		}
		st = getstats();
		ok(count == capacity && st.evictions == st0.evictions,
		    "after flush: %u entries fit again without eviction "
		    "(count %u, evictions %llu)", capacity, count,
		    (unsigned long long)st.evictions);
		put("one-more", "pw", AM_OK);
		st = getstats();
		ok(count == capacity && st.evictions == st0.evictions + 1,
		    "one more evicts one (%llu)",
		    (unsigned long long)st.evictions);
		ok(look("refill-0", "pw") == CACHE_MISS &&
		    look("refill-1", "pw") == CACHE_HIT_OK &&
		    look("one-more", "pw") == CACHE_HIT_OK,
		    "the least recently used went");
		/* refill-1 was just used: the next to go is refill-2 */
		put("two-more", "pw", AM_OK);
		ok(look("refill-1", "pw") == CACHE_HIT_OK &&
		    look("refill-2", "pw") == CACHE_MISS &&
		    look("refill-3", "pw") == CACHE_HIT_OK,
		    "a hit makes an entry recently used: the next one went");
	}
}

/* A cheap, distinct question for the flood: the digests are what
 * cache_prepare would make for another (unknown) key; the table does
 * not care how they were made. */
static void
flood_query(struct cache_query *q, uint64_t n)
{
	uint64_t x = n + 0x9e3779b97f4a7c15ULL, y;

	memset(q, 0, sizeof(*q));
	y = x;
	y = (y ^ (y >> 30)) * 0xbf58476d1ce4e5b9ULL;
	y = (y ^ (y >> 27)) * 0x94d049bb133111ebULL;
	y ^= y >> 31;
	memcpy(q->key, &y, 8);
	memcpy(q->key + 8, &n, 8);
	memcpy(q->user, &y, 8);
	q->negkey[0] = 1;
	memcpy(q->negkey + 1, &y, 8);
	memcpy(q->pw, &x, 8);
	/* made here, not lazily by the cache */
	q->have_negkey = q->have_user = true;
}

static void
test_eviction(void)
{
	const uint64_t total = 1000000;
	struct cache_query q;
	struct cache_stats st;
	struct centry *tab0;
	uint32_t maxcount = 0, cap;
	uint64_t n, hits = 0;
	char login[32];
	bool chains_ok = true;

	setup(64, TTL, NEG_TTL, STALE);
	cap = capacity;
	tab0 = tab;
	ok(cap == 64 * 1024 / (sizeof(struct centry) + sizeof(uint32_t)),
	    "64 KiB: capacity %u entries of %zu + 4 bytes", cap,
	    sizeof(struct centry));
	/* the last `cap` users through cache_prepare, the rest cheaply */
	for (n = 0; n < total; n++) {
		if (n < total - cap)
			flood_query(&q, n);
		else {
			snprintf(login, sizeof(login), "user-%llu",
			    (unsigned long long)n);
			q = qry(login, "pw");
		}
		cache_store(&q, AM_OK);
		if (count > maxcount)
			maxcount = count;
	}
	st = getstats();
	ok(maxcount <= cap, "1,000,000 users: count never above capacity "
	    "(max %u, capacity %u)", maxcount, cap);
	ok(count == cap && st.entries == cap, "full: %u entries", count);
	ok(st.evictions == total - cap, "evictions == inserted - capacity "
	    "(%llu, want %llu)", (unsigned long long)st.evictions,
	    (unsigned long long)(total - cap));
	ok(tab == tab0 && capacity == cap, "the table was never reallocated");
	for (n = total - cap; n < total; n++) {
		snprintf(login, sizeof(login), "user-%llu",
		    (unsigned long long)n);
		if (look(login, "pw") == CACHE_HIT_OK)
			hits++;
	}
	ok(hits == cap, "the %u most recent users are all hits (%llu)", cap,
	    (unsigned long long)hits);
	flood_query(&q, total - cap - 1);
	ok(cache_lookup(&q) == CACHE_MISS, "the one just before them was "
	    "evicted");
	/* every entry is reachable through its bucket */
	for (n = 0; n < cap; n++)
		if (find(tab[n].key) != n)
			chains_ok = false;
	ok(chains_ok, "every slot is found through its bucket");
	st = getstats();
	ok(st.hits == cap && st.misses == 1, "counters after the flood: hits "
	    "%llu, misses %llu", (unsigned long long)st.hits,
	    (unsigned long long)st.misses);
}

static void
test_stats(void)
{
	struct cache_stats st;

	setup(64, TTL, NEG_TTL, STALE);
	st = getstats();
	ok(st.entries == 0 && st.capacity == capacity && st.hits == 0 &&
	    st.neg_hits == 0 && st.misses == 0 && st.evictions == 0 &&
	    st.stale == 0, "fresh cache: all counters 0");
	look("a", "1");			/* miss */
	put("a", "1", AM_OK);
	look("a", "1");			/* hit */
	look("a", "1");			/* hit */
	look("a", "2");			/* miss */
	put("a", "2", AM_DENY);
	look("a", "2");			/* neg hit */
	look("b", "1");			/* miss */
	put("b", "1", AM_NOUSER);
	look("b", "1");			/* neg hit */
	look("b", "1");			/* neg hit */
	put("c", "1", AM_TEMPFAIL);
	look("c", "1");			/* miss */
	cache_test_advance(TTL);
	look("a", "1");			/* miss (expired) */
	stale("a", "1");		/* stale */
	stale("a", "2");		/* refused */
	st = getstats();
	ok(st.hits == 2, "hits 2 (%llu)", (unsigned long long)st.hits);
	ok(st.neg_hits == 3, "neg_hits 3 (%llu)",
	    (unsigned long long)st.neg_hits);
	ok(st.misses == 5, "misses 5 (%llu)", (unsigned long long)st.misses);
	ok(st.stale == 1, "stale 1 (%llu)", (unsigned long long)st.stale);
	ok(st.evictions == 0, "evictions 0 (%llu)",
	    (unsigned long long)st.evictions);
	/* the expired negative entries were not looked up again, so they
	 * are still there; the expired positive is kept for stale answers */
	ok(st.entries == 3, "entries 3 (%zu)", st.entries);
	ok(st.capacity == 1024, "capacity of 64 KiB: 1024 (%zu)",
	    st.capacity);
	/* re-initialising resets the counters */
	setup(64, TTL, NEG_TTL, STALE);
	st = getstats();
	ok(st.hits == 0 && st.misses == 0 && st.neg_hits == 0 &&
	    st.stale == 0 && st.entries == 0, "cache_init resets the counters");
	/* the smallest cache still has room */
	setup(0, TTL, NEG_TTL, STALE);
	ok(capacity == 16, "size 0 KiB: 16 entries (%u)", capacity);
}

/* --- nothing secret in memory ---------------------------------------- */

#define NEEDLES_MAX	160
#define WINDOWS_MAX	(NEEDLES_MAX * 57)

struct needle {
	char what[48];
	uint8_t b[64];
	size_t len;
};

/* Every 8-byte window of every needle, sorted, to scan memory once. */
struct window {
	uint64_t v;
	uint32_t needle;
};

static struct needle needles[NEEDLES_MAX];
static size_t nneedles;
static struct window windows[WINDOWS_MAX];
static size_t nwindows;

static void
add_needle(const char *what, const uint8_t *b, size_t len)
{
	struct needle *n = &needles[nneedles];
	size_t w;

	if (nneedles == NEEDLES_MAX || len > sizeof(n->b) || len < 8) {
		printf("Bail out! add_needle %s\n", what);
		exit(1);
	}
	snprintf(n->what, sizeof(n->what), "%s", what);
	memcpy(n->b, b, len);
	n->len = len;
	for (w = 0; w + 8 <= len; w++) {
		memcpy(&windows[nwindows].v, b + w, 8);
		windows[nwindows++].needle = nneedles;
	}
	nneedles++;
}

static int
window_cmp(const void *a, const void *b)
{
	const struct window *x = a, *y = b;

	return x->v < y->v ? -1 : x->v > y->v;
}

#ifdef HAVE_EVP
static void
add_evp(const char *what, const EVP_MD *md, const void *p, size_t len)
{
	uint8_t out[EVP_MAX_MD_SIZE];
	unsigned int olen = 0;

	if (EVP_Digest(p, len, out, &olen, md, NULL) != 1) {
		printf("Bail out! EVP_Digest %s\n", what);
		exit(1);
	}
	add_needle(what, out, olen);
}
#endif

/* Needles made of one secret: itself and its unkeyed digests. */
static void
add_secret(const char *s)
{
	size_t len = strlen(s);
	uint8_t d[64];

	add_needle("plain", (const uint8_t *)s, len);
	crypto_generichash(d, 16, (const uint8_t *)s, len, NULL, 0);
	add_needle("BLAKE2b-128", d, 16);
	crypto_generichash(d, 32, (const uint8_t *)s, len, NULL, 0);
	add_needle("BLAKE2b-256", d, 32);
	crypto_generichash(d, 64, (const uint8_t *)s, len, NULL, 0);
	add_needle("BLAKE2b-512", d, 64);
	crypto_hash_sha256(d, (const uint8_t *)s, len);
	add_needle("SHA-256", d, 32);
	crypto_hash_sha512(d, (const uint8_t *)s, len);
	add_needle("SHA-512", d, 64);
#ifdef HAVE_EVP
	add_evp("MD5", EVP_md5(), s, len);
	add_evp("SHA-1", EVP_sha1(), s, len);
#endif
}

/*
 * Look at every byte offset of hay for any window of any needle; mark
 * the needles found.  Returns how many were, and the first in *first.
 */
static size_t
scan(const uint8_t *hay, size_t haylen, bool *found, long *first)
{
	struct window key, *w;
	size_t off, n = 0;

	memset(found, 0, nneedles * sizeof(*found));
	*first = -1;
	for (off = 0; off + 8 <= haylen; off++) {
		memcpy(&key.v, hay + off, 8);
		w = bsearch(&key, windows, nwindows, sizeof(*windows),
		    window_cmp);
		if (w == NULL)
			continue;
		/* bsearch lands on any of the equal ones */
		while (w > windows && w[-1].v == key.v)
			w--;
		for (; w < windows + nwindows && w->v == key.v; w++) {
			if (*first == -1)
				*first = w->needle;
			if (!found[w->needle]) {
				found[w->needle] = true;
				n++;
			}
		}
	}
	return n;
}

static void
random_printable(char *out, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		out[i] = (char)(0x21 + randombytes_uniform(0x7e - 0x21 + 1));
	out[len] = '\0';
}

static void
snapshot(uint8_t *hay)
{
	size_t tabbytes = (size_t)capacity * sizeof(struct centry);

	memcpy(hay, tab, tabbytes);
	memcpy(hay + tabbytes, buckets, (size_t)nbuckets * sizeof(uint32_t));
}

static void
test_no_secrets(void)
{
	char pw[8][25], wrong[8][25], login[32];
	uint8_t pwfield[CACHE_DIGEST], keyfield[CACHE_DIGEST], *hay, *copy;
	bool found[NEEDLES_MAX];
	size_t haylen, n;
	struct cache_query q;
	long first;
	uint32_t i, k;

	setup(64, TTL, NEG_TTL, STALE);
	nneedles = nwindows = 0;
	for (k = 0; k < 8; k++) {
		random_printable(pw[k], 24);
		random_printable(wrong[k], 24);
		snprintf(login, sizeof(login), "secretive-user-%u", k);
		put(login, pw[k], AM_OK);
		put(login, wrong[k], AM_DENY);
		/* the same password under another realm and service */
		q = qry_full("file", login, "example.com", "smtp", pw[k]);
		cache_store(&q, AM_OK);
		add_secret(pw[k]);
		add_secret(wrong[k]);
	}
	/* logins are no secret, but the header says only keyed digests
	 * are kept: look for them too */
	for (k = 0; k < 8; k++) {
		snprintf(login, sizeof(login), "secretive-user-%u", k);
		add_needle("login", (const uint8_t *)login, strlen(login));
	}
	qsort(windows, nwindows, sizeof(*windows), window_cmp);
	ok(count == 24, "24 entries with secrets (count %u)", count);
	for (k = 0; k < 8; k++) {
		snprintf(login, sizeof(login), "secretive-user-%u", k);
		if (look(login, pw[k]) != CACHE_HIT_OK ||
		    look(login, wrong[k]) != CACHE_HIT_NO)
			break;
	}
	ok(k == 8, "they answer");

	haylen = (size_t)capacity * sizeof(struct centry) +
	    (size_t)nbuckets * sizeof(uint32_t);
	if ((hay = malloc(haylen)) == NULL || (copy = malloc(haylen)) ==
	    NULL) {
		printf("Bail out! malloc\n");
		exit(1);
	}
	snapshot(hay);

	/* the scanner finds what is there, else the next check proves
	 * nothing: plant one window of every needle, at odd offsets */
	memcpy(copy, hay, haylen);
	for (i = 0; i < nneedles; i++)
		memcpy(copy + 3 + (size_t)i * 61 + i % 5,
		    needles[i].b + i % (needles[i].len - 7), 8);
	n = scan(copy, haylen, found, &first);
	ok(n == nneedles, "scanner self-test: a planted 8-byte window of each "
	    "of %zu needles is found (%zu)", nneedles, n);

	n = scan(hay, haylen, found, &first);
	ok(n == 0, "no password, unkeyed digest (BLAKE2b, SHA-256, SHA-512"
#ifdef HAVE_EVP
	    ", MD5, SHA-1"
#endif
	    ") or login, nor an 8-byte window of one, in the %zu bytes of "
	    "entries and buckets%s%s", haylen, n == 0 ? "" : "; found: ",
	    n == 0 ? "" : needles[first].what);
	/* a flushed slot keeps no copy either */
	cache_flush("secretive-user-0");
	put("secretive-user-0", pw[0], AM_OK);
	snapshot(hay);
	ok(scan(hay, haylen, found, &first) == 0, "nothing after a flush and "
	    "a new store either");

	/* a new key on each start: the same password gives other digests */
	q = qry("secretive-user-1", pw[1]);
	i = find(q.key);
	ok(i != NIL, "positive entry found");
	memcpy(pwfield, tab[i].pw, sizeof(pwfield));
	memcpy(keyfield, tab[i].key, sizeof(keyfield));
	setup(64, TTL, NEG_TTL, STALE);
	q = qry("secretive-user-1", pw[1]);
	cache_store(&q, AM_OK);
	i = find(q.key);
	ok(i != NIL && memcmp(tab[i].pw, pwfield, CACHE_DIGEST) != 0,
	    "re-initialised: the pw digest of the same password differs");
	ok(i != NIL && memcmp(tab[i].key, keyfield, CACHE_DIGEST) != 0,
	    "re-initialised: the key digest differs");
	ok(i != NIL && sodium_is_zero(tab[i].pw, CACHE_DIGEST) == 0,
	    "the positive entry's pw field is set");
	sodium_memzero(pw, sizeof(pw));
	sodium_memzero(wrong, sizeof(wrong));
	free(hay);
	free(copy);
}

int
main(void)
{
	if (sodium_init() < 0) {
		printf("Bail out! sodium_init\n");
		return 1;
	}
	test_hit_miss();
	test_expiry();
	test_negative();
	test_password_change();
	test_stale();
	test_flush();
	test_eviction();
	test_stats();
	test_no_secrets();
	cache_free();
	return tap_done();
}
