/*
 * fuzz_shadow.c -- libFuzzer harness for the shadow backend's shadow_file
 * parser (modules/shadow/shadow.c, included to reach shadow_parse()).
 *
 * The input is the file.  Invariants:
 *  - every line is accounted for, in order: a line of blanks, or one
 *    starting with '#', gives nothing; a line with a NUL byte is skipped;
 *    any other line is an entry exactly when it has 9 ':'-separated
 *    fields (shadow(5)) or 2 (glibc's old "name:hash"), a name that is
 *    not empty, not a NIS "+"/"-" line and has no blank, control
 *    character or ':', and its aging fields are empty or decimal days up
 *    to SHADOW_MAX_DAYS; else it is counted in skipped.  So is the second
 *    line of a name;
 *  - an entry is its line: its name, its hash, and its last change,
 *    maximum age and expiry days (-1 when empty or absent) are the
 *    line's;
 *  - the lookup table holds each name once, sorted, as its first line,
 *    and shadow_table_find() finds every entry's name there;
 *  - the dummy for unknown users is made from an entry's usable,
 *    unlocked hash, or is the fallback when there is none.
 */
#include <crypt.h>
#include <stdbool.h>

#include "fuzz.h"

/* The dummy is hashed at the file's own cost: a bcrypt cost of 31 would
 * be a libFuzzer timeout here, not a bug.  So shadow.c's crypt_rn() is a
 * stand-in that hands the setting back as the hash. */
static char *fuzz_crypt_rn(const char *, const char *, void *, int);
#define crypt_rn fuzz_crypt_rn
#include "../../modules/shadow/shadow.c"
#undef crypt_rn

#define FALLBACK "$fuzz$fallback"

static char *
fuzz_crypt_rn(const char *phrase, const char *setting, void *data,
    int size)
{
	struct crypt_data *cd = data;

	CHECK(phrase != NULL && size == (int)sizeof(*cd));
	snprintf(cd->output, sizeof(cd->output), "%s", setting);
	return cd->output;
}

/* The line's ':'-separated fields (at most 10 kept); their count. */
static size_t
split_fields(const char *s, size_t n, struct span *f)
{
	const char *colon;
	size_t nf = 0;

	for (;;) {
		colon = memchr(s, ':', n);
		if (nf < 10)
			f[nf] = (struct span){ s, colon ? (size_t)(colon - s) :
			    n };
		nf++;
		if (colon == NULL)
			return nf;
		n -= (size_t)(colon + 1 - s);
		s = colon + 1;
	}
}

/* An aging field's days: -1 when empty, -2 when it is not days. */
static long
field_days(struct span f)
{
	long d = 0;
	size_t i;

	if (f.n == 0)
		return -1;
	for (i = 0; i < f.n; i++) {
		if (f.p[i] < '0' || f.p[i] > '9')
			return -2;
		if ((d = d * 10 + (f.p[i] - '0')) > SHADOW_MAX_DAYS)
			return -2;
	}
	return d;
}

static bool
good_name(struct span f)
{
	size_t i;

	if (f.n == 0 || f.p[0] == '+' || f.p[0] == '-')
		return false;
	for (i = 0; i < f.n; i++)
		if ((unsigned char)f.p[i] <= ' ' || f.p[i] == 0x7f)
			return false;
	return true;
}

/* What the parser must make of a line: -1 nothing, 0 skipped, 1 an
 * entry, whose fields are then in f. */
static int
expect_line(struct span l, struct span *f, long *days)
{
	size_t nf, i, blanks = 0;

	if (memchr(l.p, '\0', l.n) != NULL)
		return 0;
	if (l.n > 0 && l.p[l.n - 1] == '\r')
		l.n--;
	while (blanks < l.n && (l.p[blanks] == ' ' || l.p[blanks] == '\t'))
		blanks++;
	if (blanks == l.n || l.p[0] == '#')
		return -1;
	nf = split_fields(l.p, l.n, f);
	if ((nf != 9 && nf != 2) || !good_name(f[0]))
		return 0;
	for (i = 2; i < 8; i++) {
		days[i] = i < nf ? field_days(f[i]) : -1;
		if (days[i] == -2)
			return 0;
	}
	return 1;
}

/* With the stand-in, a dummy made from a hash is (a prefix of) it. */
static void
check_dummy(const struct shadow_table *t)
{
	bool usable = false, made_from = false;
	size_t i;

	for (i = 0; i < t->nentries; i++) {
		const struct shadow_entry *e = &t->entries[i];

		if (e->dup_of != 0 || shadow_locked(e->a.hash) ||
		    !shadow_usable(e->a.hash))
			continue;
		usable = true;
		if (strncmp(t->dummy, e->a.hash, strlen(t->dummy)) == 0)
			made_from = true;
	}
	if (usable)
		CHECK(made_from && t->dummy[0] != '\0');
	else
		CHECK(strcmp(t->dummy, FALLBACK) == 0);
}

static void
check_table(const struct shadow_table *t, const uint8_t *data, size_t size)
{
	struct span rest = { (const char *)data, size }, l, f[10];
	long days[8];
	size_t next = 0, content = 0, i;
	unsigned int line = 0;
	const struct shadow_entry *e, *first;

	while (next_line(&rest, &l)) {
		line++;
		switch (expect_line(l, f, days)) {
		case -1:
			continue;
		case 0:
			content++;
			CHECK(next == t->nentries ||
			    t->entries[next].line != line);
			continue;
		}
		content++;
		CHECK(next < t->nentries);
		e = &t->entries[next++];
		CHECK(e->line == line);
		CHECK(span_is(f[0], e->name) && span_is(f[1], e->a.hash));
		CHECK(e->a.lstchg == days[2] && e->a.max == days[4] &&
		    e->a.expire == days[7]);
		first = shadow_table_find(t, e->name);
		CHECK(first != NULL && first->dup_of == 0 &&
		    strcmp(first->name, e->name) == 0);
		CHECK(e->dup_of == 0 ? first == e :
		    first->line == e->dup_of && first->line < e->line);
	}
	CHECK(next == t->nentries);
	CHECK(content == t->base.nusers + t->base.skipped);
	for (i = 0; i < t->base.nusers; i++) {
		CHECK(t->sorted[i]->dup_of == 0);
		if (i > 0)
			CHECK(strcmp(t->sorted[i - 1]->name,
			    t->sorted[i]->name) < 0);
	}
	check_dummy(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char fallback[CRYPT_OUTPUT_SIZE] = FALLBACK;
	struct shadow_table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		abort();
	t->base.buf = fuzz_strndup(data, size);
	t->base.bufsize = size + 1;
	CHECK(shadow_parse(t, "fuzz.shadow", size, fallback) == 0);
	check_table(t, data, size);
	shadow_table_free(t);
	return 0;
}
