/*
 * fuzz_passwd.c -- libFuzzer harness for the file backend's password-file
 * parser (modules/file/file.c, included to reach file_parse()) and for
 * pwhash's reading of hash strings (src/pwhash.c).
 *
 * The input is the password file.  Invariants of file_parse():
 *  - every line is accounted for: a line that is not blank or a '#'
 *    comment is a user, or is counted in skipped (malformed, or a user
 *    already seen);
 *  - an entry is its line: the line reads user ':' hash, then ends
 *    (after trailing blanks and CRs) or goes on with another ':';
 *  - a user name is not empty and has no blank, control character or
 *    ':'; a hash is not empty, has no ':', and pwhash_check() takes it
 *    with the scheme recorded;
 *  - entries come in line order; file_lookup() and file_find() give each
 *    user's first line; the dummy hash is an entry's, never a locked one.
 * Invariants of pwhash, for the hash field of every line (after the
 * first ':', or the whole line), parsed or not:
 *  - pwhash_check() takes only what pwhash_scheme() names, under the same
 *    name, and says why when it refuses;
 *  - a hash that pwhash_check() refuses, or a locked one, never
 *    verifies: -1 with a reason, whatever the password;
 *  - verify answers -1 (with a reason), 0 or 1, and -1 for a hash that
 *    pwhash_check() took only in crypt(3)'s case (a parameter out of
 *    range); a password with a NUL byte never matches; {PLAIN} matches
 *    its own text and nothing shorter or longer.
 * Only hashes of a fixed, small cost are verified (see cheap()): a bcrypt
 * cost of 31 in an admin's file is a slow login, not a bug, and would
 * only be a libFuzzer timeout here.
 */
#include <stdbool.h>

#include "fuzz.h"

#include "../../modules/file/file.c"

/* Hash fields run through pwhash per input, and those verified. */
#define CHECKED_HASHES 256
#define VERIFIED_HASHES 16

/* What pwhash computes itself: no crypt(3) parameter can make a hash
 * that pwhash_check() took fail to verify. */
static const char *const own_schemes[] = {
	"plain", "apr1", "SHA", "SSHA", "MD5", "SMD5", "SHA256", "SSHA256",
	"SHA384", "SSHA384", "SHA512", "SSHA512", NULL,
};
/* crypt(3) schemes of one fixed, small cost */
static const char *const fixed_crypt[] = {
	"md5crypt", "descrypt", "bigcrypt", NULL,
};

static bool
listed(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* Is verifying h (of scheme) quick whatever h says? */
static bool
cheap(const char *scheme, const char *h)
{
	const char *b;

	if (listed(own_schemes, scheme) || listed(fixed_crypt, scheme))
		return true;
	/* 5000 rounds unless the hash says otherwise */
	if (strcmp(scheme, "sha512crypt") == 0 ||
	    strcmp(scheme, "sha256crypt") == 0)
		return strstr(h, "rounds=") == NULL;
	/* $2b$04$ and $2b$05$: 16 and 32 rounds */
	if (strcmp(scheme, "bcrypt") == 0)
		return (b = strstr(h, "$2")) != NULL && strlen(b) > 6 &&
		    b[4] == '0' && (b[5] == '4' || b[5] == '5');
	return false;
}

static int
verify(const char *h, const char *pw, size_t pwlen)
{
	const char *error = NULL;
	int r;

	r = pwhash_verify(h, pw, pwlen, &error);
	CHECK(r >= -1 && r <= 1);
	if (r == -1)
		CHECK(error != NULL && error[0] != '\0');
	return r;
}

static void
check_hash(const char *h, bool verify_it)
{
	const char *scheme, *named, *error = NULL, *body;
	int r;

	named = pwhash_scheme(h);
	scheme = pwhash_check(h, &error);
	if (scheme == NULL) {
		CHECK(error != NULL && error[0] != '\0');
		CHECK(verify(h, "x", 1) == -1);
		CHECK(verify(h, h, strlen(h)) == -1);
		return;
	}
	CHECK(named != NULL && strcmp(named, scheme) == 0);
	if (strcmp(scheme, "locked") == 0) {
		CHECK(h[0] == '!' || h[0] == '*');
		CHECK(verify(h, h, strlen(h)) == -1);
		return;
	}
	if (!verify_it || !cheap(scheme, h))
		return;
	r = verify(h, "correct horse battery", 21);
	/* pwhash.h: only a crypt(3) parameter out of range gets past
	 * pwhash_check() and is refused by verify */
	if (listed(own_schemes, scheme))
		CHECK(r != -1);
	CHECK(verify(h, "x\0y", 3) != 1);
	if (strcmp(scheme, "plain") == 0) {
		char *longer;
		size_t n;

		body = strchr(h, '}') + 1;
		n = strlen(body);
		CHECK(n > 0);
		CHECK(verify(h, body, n) == 1);
		CHECK(verify(h, body, n - 1) == 0);
		if ((longer = malloc(n + 2)) == NULL)
			abort();
		memcpy(longer, body, n);
		longer[n] = 'x';
		longer[n + 1] = '\0';
		CHECK(verify(h, longer, n + 1) == 0);
		longer[n] = '\0';
		CHECK(verify(h, longer, n + 1) == 0);
		free(longer);
	}
}

/* The hash field of every line, as a C string cut at any NUL. */
static void
check_hashes(const uint8_t *data, size_t size)
{
	struct span rest = { (const char *)data, size }, line;
	unsigned int nchecked = 0;
	const char *f, *fend, *end;
	char *h;

	if ((h = malloc(size + 1)) == NULL)
		abort();
	while (nchecked < CHECKED_HASHES && next_line(&rest, &line)) {
		end = line.p + line.n;
		f = memchr(line.p, ':', line.n);
		f = f != NULL ? f + 1 : line.p;
		if ((fend = memchr(f, ':', (size_t)(end - f))) == NULL)
			fend = end;
		memcpy(h, f, (size_t)(fend - f));
		h[fend - f] = '\0';
		check_hash(h, nchecked < VERIFIED_HASHES);
		nchecked++;
	}
	free(h);
}

/* The line's length without the trailing blanks and CRs the parser
 * drops. */
static size_t
trimmed_len(const char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\r'))
		n--;
	return n;
}

/* Not blank, not a comment: the parser must take it or skip it. */
static bool
content_line(const char *s, size_t n)
{
	size_t i = 0;

	if (memchr(s, '\0', n) != NULL)
		return true;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i < n && s[i] != '#';
}

static void
check_entry(const struct file_table *t, const struct file_entry *e,
    const char *line, size_t n)
{
	size_t hlen = strlen(e->hash), i;
	const struct file_entry *first;
	const char *scheme;

	/* user ':' hash, then the end or ':' */
	CHECK(e->ulen > 0 && e->ulen + 1 + hlen <= n);
	CHECK(line[e->ulen] == ':');
	CHECK(memcmp(line + e->ulen + 1, e->hash, hlen) == 0);
	CHECK(e->ulen + 1 + hlen == n || line[e->ulen + 1 + hlen] == ':');
	CHECK(hlen > 0 && strchr(e->hash, ':') == NULL);
	scheme = pwhash_check(e->hash, NULL);
	CHECK(scheme != NULL && strcmp(scheme, e->scheme) == 0);
	for (i = 0; i < e->ulen; i++)
		CHECK((unsigned char)line[i] > ' ' && line[i] != 0x7f &&
		    line[i] != ':');

	first = file_lookup(t, line, e->ulen);
	CHECK(first != NULL && first->line <= e->line);
	if (e->user == NULL) {
		/* a duplicate: the first line holds the name */
		CHECK(first != e && first->user != NULL);
		return;
	}
	CHECK(first == e);
	CHECK(memcmp(e->user, line, e->ulen) == 0 && e->user[e->ulen] == '\0');
	CHECK(file_find(t, e->user, "") == e);
}

static void
check_table(const struct file_table *t, const uint8_t *data, size_t size)
{
	struct span rest = { (const char *)data, size }, l;
	size_t next = 0, content = 0, users = 0, n;
	bool dummy_seen = t->dummy == NULL, all_locked = true;
	unsigned int line = 0;
	const struct file_entry *e;

	while (next_line(&rest, &l)) {
		line++;
		n = trimmed_len(l.p, l.n);
		if (content_line(l.p, n))
			content++;
		if (next == t->nentries || t->entries[next].line != line)
			continue;
		e = &t->entries[next++];
		CHECK(content_line(l.p, n));
		check_entry(t, e, l.p, n);
		if (e->user == NULL)
			continue;
		users++;
		if (strcmp(e->scheme, "locked") != 0)
			all_locked = false;
		if (e->hash == t->dummy) {
			CHECK(strcmp(e->scheme, "locked") != 0);
			dummy_seen = true;
		}
	}
	/* every entry was met on its line, so in line order */
	CHECK(next == t->nentries);
	CHECK(users == t->base.nusers);
	CHECK(content == t->base.nusers + t->base.skipped);
	CHECK(dummy_seen);
	CHECK(t->dummy != NULL || all_locked);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct file_table *t;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		ready = true;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		abort();
	t->base.buf = fuzz_strndup(data, size);
	t->base.bufsize = size + 1;
	CHECK(file_parse(t, "fuzz.passwd", size) == 0);
	check_table(t, data, size);
	file_table_free(t);

	check_hashes(data, size);
	return 0;
}
