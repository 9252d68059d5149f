/*
 * cache.c -- a fixed array of entries, a chained hash table over it, and
 * an LRU list for eviction.  Allocated once: a flood of distinct users
 * only ever recycles the least recently used entry.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <sodium.h>

#include "cache.h"

#define NIL UINT32_MAX

struct centry {
	uint8_t key[CACHE_DIGEST];
	uint8_t pw[CACHE_DIGEST];	/* positive entries */
	uint8_t user[8];
	uint32_t created;		/* cache clock, seconds */
	uint32_t chain;			/* next in the bucket */
	uint32_t prev, next;		/* LRU list; free list uses next */
	uint8_t result;			/* enum am_result it remembers */
};

static struct centry *tab;
static uint32_t *buckets;
static uint32_t capacity, nbuckets, count;
static uint32_t high;		/* slots [0, high) were handed out */
static uint32_t lru_head = NIL, lru_tail = NIL, free_head = NIL;
static unsigned int ttl, neg_ttl, stale_for;
static uint8_t hkey[crypto_generichash_KEYBYTES];
static uint8_t skey[crypto_shorthash_siphashx24_KEYBYTES];

/* The tag that lets "cache flush USER" find a login's entries. */
static void
user_tag(uint8_t out[8], const char *login)
{
	uint8_t full[crypto_shorthash_siphashx24_BYTES];

	crypto_shorthash_siphashx24(full, (const uint8_t *)login,
	    strlen(login), skey);
	memcpy(out, full, 8);
}
static struct cache_stats stats;
static uint64_t clock_base, clock_skew;

static uint32_t
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec - clock_base + clock_skew);
}

void
cache_test_advance(unsigned int seconds)
{
	clock_skew += seconds;
}

bool
cache_enabled(void)
{
	return tab != NULL;
}

static void *
map_zeroed(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void
cache_free(void)
{
	if (tab != NULL) {
		/* only slots below high ever held anything; wiping the rest
		 * would fault in every page of the table */
		sodium_memzero(tab, (size_t)high * sizeof(*tab));
		munmap(tab, (size_t)capacity * sizeof(*tab));
	}
	if (buckets != NULL)
		munmap(buckets, (size_t)nbuckets * sizeof(*buckets));
	tab = NULL;
	buckets = NULL;
	capacity = nbuckets = count = high = 0;
	sodium_memzero(hkey, sizeof(hkey));
	sodium_memzero(skey, sizeof(skey));
}

void
cache_set_lifetimes(unsigned int t, unsigned int nt, unsigned int st)
{
	ttl = t;
	neg_ttl = nt;
	stale_for = st;
}

int
cache_init(size_t size_kib, unsigned int t, unsigned int nt, unsigned int st)
{
	struct timespec ts;
	uint32_t i;
	size_t n = size_kib * 1024 / (sizeof(struct centry) + sizeof(uint32_t));

	cache_free();
	if (sodium_init() < 0)
		return -1;
	if (n < 16)
		n = 16;
	if (n > UINT32_MAX / 4)
		n = UINT32_MAX / 4;
	capacity = n;
	for (nbuckets = 16; nbuckets < capacity; nbuckets *= 2)
		;
	/* mmap, not calloc: the table's pages are only touched as entries
	 * are used, and munmap gives them all back.  After one free, malloc
	 * would serve the next table from its heap, clear all of it and
	 * keep it resident: a reload turning the cache off and on again
	 * left cache_size resident for good. */
	tab = map_zeroed((size_t)capacity * sizeof(*tab));
	buckets = map_zeroed((size_t)nbuckets * sizeof(*buckets));
	if (tab == NULL || buckets == NULL) {
		cache_free();
		return -1;
	}
	for (i = 0; i < nbuckets; i++)
		buckets[i] = NIL;
	/* the free list is threaded lazily: entries never used are not
	 * touched, so RSS follows what is cached */
	free_head = NIL;
	lru_head = lru_tail = NIL;
	high = count = 0;
	randombytes_buf(hkey, sizeof(hkey));
	randombytes_buf(skey, sizeof(skey));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	clock_base = ts.tv_sec;
	clock_skew = 1;
	memset(&stats, 0, sizeof(stats));
	cache_set_lifetimes(t, nt, st);
	return 0;
}

/* --- digests ------------------------------------------------------ */

/*
 * The password's digest is keyed BLAKE2b: the one value here that must
 * resist guessing.  Lookup keys only need to be unpredictable and
 * collision-free in practice, so they use keyed SipHash (128-bit), which
 * is several times cheaper on these short inputs: a hit stays on the
 * loop thread and every cycle shows.
 */
static void
sip(uint8_t *out, size_t outlen, const uint8_t *in, size_t len)
{
	uint8_t full[crypto_shorthash_siphashx24_BYTES];

	crypto_shorthash_siphashx24(full, in, len, skey);
	memcpy(out, full, outlen);
}

void
cache_prepare(struct cache_query *q, const char *chain, const char *login,
    const char *realm, const char *service, const char *password,
    size_t pwlen)
{
	/* the fields never contain NUL: NUL-separated is unambiguous */
	uint8_t buf[1 + 128 + 4 * 257 + CACHE_DIGEST], *p = buf;
	size_t n;

	*p++ = 1;
	n = strnlen(chain, 127);
	memcpy(p, chain, n);
	p += n;
	*p++ = '\0';
	n = strlen(login) + 1;
	memcpy(p, login, n);
	p += n;
	n = strlen(realm) + 1;
	memcpy(p, realm, n);
	p += n;
	n = strlen(service) + 1;
	memcpy(p, service, n);
	p += n;
	sip(q->key, CACHE_DIGEST, buf, p - buf);

	crypto_generichash(q->pw, CACHE_DIGEST, (const uint8_t *)password,
	    pwlen, hkey, sizeof(hkey));
	q->login = login;
	q->have_negkey = q->have_user = false;
}

static const uint8_t *
negkey(struct cache_query *q)
{
	uint8_t buf[1 + 2 * CACHE_DIGEST];

	if (!q->have_negkey) {
		buf[0] = 2;
		memcpy(buf + 1, q->key, CACHE_DIGEST);
		memcpy(buf + 1 + CACHE_DIGEST, q->pw, CACHE_DIGEST);
		sip(q->negkey, CACHE_DIGEST, buf, sizeof(buf));
		explicit_bzero(buf, sizeof(buf));
		q->have_negkey = true;
	}
	return q->negkey;
}

static const uint8_t *
usertag(struct cache_query *q)
{
	if (!q->have_user) {
		user_tag(q->user, q->login);
		q->have_user = true;
	}
	return q->user;
}

/* --- table ---------------------------------------------------------- */

static uint32_t
bucket_of(const uint8_t *key)
{
	uint32_t h;

	/* the key is already a keyed hash: its bytes are uniform */
	memcpy(&h, key, sizeof(h));
	return h & (nbuckets - 1);
}

static uint32_t
find(const uint8_t *key)
{
	uint32_t i;

	for (i = buckets[bucket_of(key)]; i != NIL; i = tab[i].chain)
		if (memcmp(tab[i].key, key, CACHE_DIGEST) == 0)
			return i;
	return NIL;
}

static void
lru_unlink(uint32_t i)
{
	struct centry *e = &tab[i];

	if (e->prev != NIL)
		tab[e->prev].next = e->next;
	else
		lru_head = e->next;
	if (e->next != NIL)
		tab[e->next].prev = e->prev;
	else
		lru_tail = e->prev;
}

static void
lru_push_front(uint32_t i)
{
	tab[i].prev = NIL;
	tab[i].next = lru_head;
	if (lru_head != NIL)
		tab[lru_head].prev = i;
	lru_head = i;
	if (lru_tail == NIL)
		lru_tail = i;
}

static void
touch(uint32_t i)
{
	if (lru_head == i)
		return;
	lru_unlink(i);
	lru_push_front(i);
}

static void
remove_entry(uint32_t i)
{
	uint32_t *p = &buckets[bucket_of(tab[i].key)];

	while (*p != i)
		p = &tab[*p].chain;
	*p = tab[i].chain;
	lru_unlink(i);
	sodium_memzero(&tab[i], sizeof(tab[i]));
	tab[i].next = free_head;
	free_head = i;
	count--;
}

/* A slot for a new entry: a free one, a never-used one, or the LRU. */
static uint32_t
take_slot(void)
{
	uint32_t i;

	if (free_head != NIL) {
		i = free_head;
		free_head = tab[i].next;
		return i;
	}
	if (high < capacity)
		return high++;
	i = lru_tail;
	remove_entry(i);
	stats.evictions++;
	free_head = tab[i].next;
	return i;
}

static void
insert(const uint8_t *key, struct cache_query *q, bool negative)
{
	uint32_t i = take_slot(), b;
	struct centry *e = &tab[i];

	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, CACHE_DIGEST);
	memcpy(e->user, usertag(q), sizeof(e->user));
	if (!negative)
		memcpy(e->pw, q->pw, CACHE_DIGEST);
	e->result = negative ? AM_DENY : AM_OK;
	e->created = now();
	b = bucket_of(key);
	e->chain = buckets[b];
	buckets[b] = i;
	lru_push_front(i);
	count++;
}

enum cache_answer
cache_lookup(struct cache_query *q)
{
	uint32_t i, t = now();

	if (tab == NULL)
		return CACHE_MISS;
	i = find(q->key);
	if (i != NIL) {
		struct centry *e = &tab[i];

		if (t - e->created < ttl &&
		    sodium_memcmp(e->pw, q->pw, CACHE_DIGEST) == 0) {
			touch(i);
			stats.hits++;
			return CACHE_HIT_OK;
		}
		/* kept past ttl only to answer during an outage */
		if (t - e->created >= ttl + stale_for)
			remove_entry(i);
	}
	i = find(negkey(q));
	if (i != NIL) {
		if (t - tab[i].created < neg_ttl) {
			touch(i);
			stats.neg_hits++;
			return CACHE_HIT_NO;
		}
		remove_entry(i);
	}
	stats.misses++;
	return CACHE_MISS;
}

void
cache_store(struct cache_query *q, enum am_result r)
{
	uint32_t i;

	if (tab == NULL)
		return;
	switch (r) {
	case AM_OK:
		if ((i = find(q->key)) != NIL)
			remove_entry(i);
		/* the password is right now, whatever was cached */
		if ((i = find(negkey(q))) != NIL)
			remove_entry(i);
		insert(q->key, q, false);
		break;
	case AM_DENY:
	case AM_NOUSER:
		/* the backends refuse this password now: an old positive
		 * entry for it must not answer again, not even stale */
		if ((i = find(q->key)) != NIL &&
		    sodium_memcmp(tab[i].pw, q->pw, CACHE_DIGEST) == 0)
			remove_entry(i);
		if (neg_ttl == 0)
			break;
		if ((i = find(negkey(q))) != NIL)
			remove_entry(i);
		insert(negkey(q), q, true);
		break;
	case AM_TEMPFAIL:
		break;
	}
}

bool
cache_stale_ok(const struct cache_query *q)
{
	uint32_t i, t = now();

	if (tab == NULL || (i = find(q->key)) == NIL)
		return false;
	if (t - tab[i].created >= ttl + stale_for ||
	    sodium_memcmp(tab[i].pw, q->pw, CACHE_DIGEST) != 0)
		return false;
	stats.stale++;
	return true;
}

size_t
cache_flush(const char *login)
{
	uint8_t user[8];
	uint32_t i, next;
	size_t n = 0;

	if (tab == NULL)
		return 0;
	if (login != NULL)
		user_tag(user, login);
	for (i = lru_head; i != NIL; i = next) {
		next = tab[i].next;
		if (login == NULL ||
		    memcmp(tab[i].user, user, sizeof(user)) == 0) {
			remove_entry(i);
			n++;
		}
	}
	return n;
}

void
cache_get_stats(struct cache_stats *st)
{
	*st = stats;
	st->entries = count;
	st->capacity = capacity;
}
