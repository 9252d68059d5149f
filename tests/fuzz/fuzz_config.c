/*
 * fuzz_config.c -- libFuzzer harness for the configuration parser
 * (src/config.c, included for CONF_LINE_MAX and parse_long): the file an
 * admin writes, read at start, on SIGHUP and by --check-config.
 *
 * The input is the file.  conf_load() reads it through a memfd, so the
 * real reader sees every byte, NULs included; an input without a NUL also
 * goes through conf_load_string().  Invariants:
 *  - every line is accounted for, in order: a blank or '#' line gives
 *    nothing; a line longer than CONF_LINE_MAX, or with a NUL byte,
 *    gives one error; any other line gives one entry when it reads
 *    "key: value" with a key of letters, digits, '_' and '-', and one
 *    error when it does not.  Nothing else counts as an error;
 *  - an entry is its line: the key and the value are the line's, trimmed,
 *    on either side of its first ':', the key lowercased (as saslauthd
 *    does);
 *  - conf_load_string() reads what conf_load() reads;
 *  - the getters: conf_find() and am_conf_str() give a key's last entry,
 *    am_conf_int() and am_conf_bool() its value or the default;
 *    conf_check_options() counts one error for each value its type
 *    refuses and claims exactly its keys; conf_warn_unclaimed() warns
 *    once per entry left; a conf_set() value wins over the file.
 */
#include <sys/mman.h>

#include <ctype.h>
#include <stdbool.h>
#include <unistd.h>

#include "fuzz.h"

#include "../../src/config.c"

/* Keys looked at in the getter checks: enough for any real file. */
#define CHECKED_KEYS 64
#define OPTION_KEYS 16

enum line_kind { LINE_IGNORED, LINE_ENTRY, LINE_ERROR };

static struct span
span_trim(struct span s)
{
	while (s.n > 0 && isspace((unsigned char)s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && isspace((unsigned char)s.p[s.n - 1]))
		s.n--;
	return s;
}

/* What the parser must make of one line (without its newline); for an
 * entry, its key and value. */
static enum line_kind
expect_line(struct span line, struct span *key, struct span *value)
{
	static const char keychars[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
	const char *colon;
	struct span t;
	size_t i;

	if (line.n > CONF_LINE_MAX || memchr(line.p, '\0', line.n) != NULL)
		return LINE_ERROR;
	t = span_trim(line);
	if (t.n == 0 || t.p[0] == '#')
		return LINE_IGNORED;
	if ((colon = memchr(t.p, ':', t.n)) == NULL)
		return LINE_ERROR;
	*key = span_trim((struct span){ t.p, (size_t)(colon - t.p) });
	*value = span_trim((struct span){ colon + 1,
	    t.n - (size_t)(colon + 1 - t.p) });
	if (key->n == 0)
		return LINE_ERROR;
	for (i = 0; i < key->n; i++)
		if (memchr(keychars, key->p[i], sizeof(keychars) - 1) == NULL)
			return LINE_ERROR;
	return LINE_ENTRY;
}

/* str is the key k of the line, lowercased */
static bool
key_is(struct span k, const char *str)
{
	size_t i;

	if (strlen(str) != k.n)
		return false;
	for (i = 0; i < k.n; i++)
		if (str[i] != tolower((unsigned char)k.p[i]))
			return false;
	return true;
}

/* conf against the lines of data, one by one. */
static void
check_lines(const struct am_conf *conf, const uint8_t *data, size_t size)
{
	struct span rest = { (const char *)data, size }, line, key, value;
	unsigned int errors = 0;
	size_t next = 0;
	int lineno = 0;

	while (next_line(&rest, &line)) {
		lineno++;
		switch (expect_line(line, &key, &value)) {
		case LINE_IGNORED:
			break;
		case LINE_ERROR:
			errors++;
			break;
		case LINE_ENTRY:
			CHECK(next < conf->n);
			CHECK(conf->v[next].line == lineno);
			CHECK(key_is(key, conf->v[next].key));
			CHECK(span_is(value, conf->v[next].value));
			next++;
			break;
		}
	}
	CHECK(next == conf->n);
	CHECK(conf->errors == errors);
	CHECK(conf->warnings == 0);
}

static bool
is_number(const char *s, long *v)
{
	return parse_long(s, v) == 0;
}

/* Does value pass o's type check? */
static bool
value_fits(const struct am_option *o, const char *value)
{
	long l;

	switch (o->type) {
	case AM_OPT_PATH:
		return value[0] == '/';
	case AM_OPT_INT:
		return is_number(value, &l) && l >= o->min && l <= o->max;
	case AM_OPT_BOOL:
		return conf_parse_bool(value) != -1;
	default:
		return true;
	}
}

static const struct am_option *
option_for(const struct am_option *opts, const char *key)
{
	for (; opts->key != NULL; opts++)
		if (strcmp(opts->key, key) == 0)
			return opts;
	return NULL;
}

/* The last entry for e's key is the one conf_find() gives; when that is
 * e, its getters agree with its value. */
static bool
check_last(const struct am_conf *conf, const struct am_conf_entry *e)
{
	const struct am_conf_entry *last = conf_find(conf, e->key);
	const struct am_conf_entry *x;
	long l, got;
	int b;

	CHECK(last != NULL && last >= e && strcmp(last->key, e->key) == 0);
	for (x = last + 1; x < conf->v + conf->n; x++)
		CHECK(strcmp(x->key, e->key) != 0);
	if (last != e)
		return false;
	CHECK(am_conf_str(conf, e->key, NULL) == e->value);
	got = am_conf_int(conf, e->key, LONG_MIN);
	CHECK(is_number(e->value, &l) ? got == l : got == LONG_MIN);
	b = conf_parse_bool(e->value);
	CHECK(b >= -1 && b <= 1);
	CHECK(am_conf_bool(conf, e->key, true) == (b == -1 || b == 1));
	CHECK(am_conf_bool(conf, e->key, false) == (b == 1));
	return true;
}

static void
check_getters(struct am_conf *conf, bool with_ldap)
{
	static const enum am_opt_type types[] = { AM_OPT_STRING,
	    AM_OPT_PATH, AM_OPT_INT, AM_OPT_BOOL };
	struct am_option opts[OPTION_KEYS + 1];
	const struct am_conf_entry *e;
	unsigned int before, want = 0;
	size_t i, nopts = 0;
	long l;

	memset(opts, 0, sizeof(opts));
	for (i = 0; i < conf->n && i < CHECKED_KEYS; i++) {
		e = &conf->v[i];
		/* each key once, with a type that comes round in turn */
		if (check_last(conf, e) && nopts < OPTION_KEYS) {
			opts[nopts].key = e->key;
			opts[nopts].type = types[nopts % 4];
			opts[nopts].min = -5;
			opts[nopts].max = 500;
			nopts++;
		}
	}
	CHECK(am_conf_str(conf, "no such key!", "def")[0] == 'd');
	CHECK(am_conf_int(conf, "no such key!", 7) == 7);

	for (i = 0; i < conf->n; i++) {
		const struct am_option *o = option_for(opts, conf->v[i].key);

		if (o != NULL && !value_fits(o, conf->v[i].value))
			want++;
	}
	before = conf->errors;
	conf_check_options(conf, opts);
	CHECK(conf->errors - before == want);
	want = 0;
	for (i = 0; i < conf->n; i++) {
		CHECK(conf->v[i].claimed ==
		    (option_for(opts, conf->v[i].key) != NULL));
		want += !conf->v[i].claimed;
	}
	before = conf->warnings;
	conf_warn_unclaimed(conf, with_ldap ? "file,ldap" : NULL);
	CHECK(conf->warnings - before == want);

	if (conf->n > 0) {
		const char *key = conf->v[0].key;

		CHECK(conf_set(conf, key, "-3") == 0);
		e = conf_find(conf, key);
		CHECK(e != NULL && e->line == 0 && strcmp(e->value, "-3") == 0);
		CHECK(am_conf_int(conf, key, 0) == -3);
		CHECK(is_number(am_conf_str(conf, key, NULL), &l) && l == -3);
	}
}

static void
check_same(const struct am_conf *a, const struct am_conf *b)
{
	size_t i;

	CHECK(a->n == b->n && a->errors == b->errors);
	for (i = 0; i < a->n; i++) {
		CHECK(a->v[i].line == b->v[i].line);
		CHECK(strcmp(a->v[i].key, b->v[i].key) == 0);
		CHECK(strcmp(a->v[i].value, b->v[i].value) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct am_conf *conf, *sconf;
	char *text;

	if (fd == -1) {
		if ((fd = memfd_create("fuzz.conf", MFD_CLOEXEC)) == -1)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	if ((conf = conf_load(path)) == NULL)
		abort();
	check_lines(conf, data, size);

	if (memchr(data, '\0', size) == NULL) {
		text = fuzz_strndup(data, size);
		if ((sconf = conf_load_string("fuzz.conf", text)) == NULL)
			abort();
		check_same(conf, sconf);
		conf_free(sconf);
		free(text);
	}

	check_getters(conf, size % 2 == 0);
	conf_free(conf);
	return 0;
}
