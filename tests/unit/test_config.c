/*
 * test_config.c -- the configuration parser, option checks, and the
 * host helpers modules use (am_conf_*, am_escape).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "tap.h"

static const struct am_option opts[] = {
	{ "threads", AM_OPT_INT, 1, 64 },
	{ "path", AM_OPT_PATH, 0, 0 },
	{ "flag", AM_OPT_BOOL, 0, 0 },
	{ "name", AM_OPT_STRING, 0, 0 },
	{ NULL, 0, 0, 0 }
};

static struct am_conf *
load(const char *text)
{
	struct am_conf *c = conf_load_string("test.conf", text);

	if (c == NULL) {
		printf("Bail out! conf_load_string\n");
		exit(1);
	}
	return c;
}

static void
test_syntax(void)
{
	static const struct {
		const char *text;
		unsigned int errors;
		size_t entries;
	} cases[] = {
		{ "", 0, 0 },
		{ "# only a comment\n\n   \n", 0, 0 },
		{ "a: b\n", 0, 1 },
		{ "a:b", 0, 1 },		/* no newline at the end */
		{ "  a  :   b c  \n", 0, 1 },
		{ "a:\n", 0, 1 },		/* empty value is a value */
		{ "no colon here\n", 1, 0 },
		{ ": value\n", 1, 0 },		/* empty key */
		{ "bad key: v\n", 1, 0 },
		{ "a: b\nc d\ne: f\n", 1, 2 },	/* error does not stop it */
		{ "ldap_password: se:cr#et\n", 0, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct am_conf *c = load(cases[i].text);

		ok(c->errors == cases[i].errors && c->n == cases[i].entries,
		    "syntax case %zu: %u errors (want %u), %zu entries "
		    "(want %zu)", i, c->errors, cases[i].errors, c->n,
		    cases[i].entries);
		conf_free(c);
	}
}

static void
test_values(void)
{
	struct am_conf *c = load("  a  :   b c  \n"
	    "ldap_password: se:cr#et\nx: 1\nx: 2\nline: 5\n");

	ok(strcmp(am_conf_str(c, "a", NULL), "b c") == 0,
	    "value trimmed, inner space kept");
	ok(strcmp(am_conf_str(c, "ldap_password", NULL), "se:cr#et") == 0,
	    "colon and hash inside a value are kept");
	ok(strcmp(am_conf_str(c, "x", NULL), "2") == 0,
	    "a repeated key: the last value wins");
	ok(am_conf_str(c, "missing", NULL) == NULL &&
	    strcmp(am_conf_str(c, "missing", "d"), "d") == 0,
	    "missing key gives the default");
	ok(conf_find(c, "line")->line == 5, "line numbers are kept");
	conf_set(c, "x", "cli");
	conf_set(c, "y", "cli");
	ok(strcmp(am_conf_str(c, "x", NULL), "cli") == 0,
	    "command line wins over the file");
	ok(conf_find(c, "y")->line == 0, "command-line entries have line 0");
	conf_free(c);

	/* saslauthd lowercases key names; a file written for it works */
	c = load("LDAP_Servers: ldap://a/\nLdap_Search_Base: dc=X\n"
	    "ldap_servers: ldap://b/\n");
	ok(c->errors == 0 && strcmp(am_conf_str(c, "ldap_servers", NULL),
	    "ldap://b/") == 0, "key names in any case are the same key");
	ok(strcmp(am_conf_str(c, "ldap_search_base", NULL), "dc=X") == 0,
	    "... and the value keeps its case");
	conf_free(c);
}

static void
test_types(void)
{
	static const struct {
		const char *text;
		unsigned int errors;
	} cases[] = {
		{ "threads: 5\n", 0 },
		{ "threads: 64\n", 0 },
		{ "threads: 65\n", 1 },
		{ "threads: 0\n", 1 },
		{ "threads: -3\n", 1 },
		{ "threads: 5x\n", 1 },
		{ "threads: \n", 1 },
		{ "threads: 99999999999999999999999\n", 1 },
		{ "path: /etc/x\n", 0 },
		{ "path: etc/x\n", 1 },
		{ "path: \n", 1 },
		{ "flag: yes\n", 0 },
		{ "flag: Off\n", 0 },
		{ "flag: 1\n", 0 },
		{ "flag: maybe\n", 1 },
		{ "name: anything at all\n", 0 },
		{ "threads: x\npath: y\nflag: z\n", 3 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct am_conf *c = load(cases[i].text);

		conf_check_options(c, opts);
		ok(c->errors == cases[i].errors,
		    "type case %zu: %u errors, want %u", i, c->errors,
		    cases[i].errors);
		conf_free(c);
	}
}

static void
test_claims(void)
{
	struct am_conf *c = load("threads: 2\nunknown_thing: 1\n"
	    "ldap_servers: ldap://x/\n");

	conf_check_options(c, opts);
	ok(c->v[0].claimed && !c->v[1].claimed && !c->v[2].claimed,
	    "only keys in a table are claimed");
	conf_warn_unclaimed(c, "file");
	ok(c->warnings == 2 && c->errors == 0,
	    "unknown keys are warnings, not errors (%u warnings)",
	    c->warnings);
	ok(am_conf_int(c, "threads", 9) == 2, "am_conf_int reads a number");
	ok(am_conf_bool(c, "absent", true) == true, "am_conf_bool default");
	am_conf_error(c, "threads", "test error");
	ok(c->errors == 1, "am_conf_error counts");
	conf_free(c);
}

static void
test_file(void)
{
	char path[] = "/tmp/test_config.XXXXXX";
	struct am_conf *c;
	FILE *fp;
	int fd = mkstemp(path);

	fp = fdopen(fd, "w");
	fprintf(fp, "a: 1\n");
	for (int i = 0; i < 5000; i++)
		fputc('x', fp);
	fprintf(fp, ": too long\nb: 2\n");
	fclose(fp);
	c = conf_load(path);
	ok(c->errors == 1 && c->n == 2 && conf_find(c, "b")->line == 3,
	    "an over-long line is one error; the next line is line 3");
	conf_free(c);

	/* a NUL is not the end of its line (fgets() took it for one, and
	 * the next line then passed for the rest of a long one) */
	fp = fopen(path, "w");
	fprintf(fp, "a: 1\nb: x%cy\nc: 3\nd: %04092d\ne: %04093d\nf: 6\n",
	    '\0', 0, 0);
	fclose(fp);
	c = conf_load(path);
	ok(c->errors == 2 && c->n == 4 && conf_find(c, "b") == NULL &&
	    conf_find(c, "c")->line == 3 && conf_find(c, "e") == NULL &&
	    strlen(conf_find(c, "d")->value) == 4092 &&
	    conf_find(c, "f")->line == 6,
	    "a NUL byte and a 4096-byte line are an error each; a line of "
	    "4095 bytes is whole");
	conf_free(c);
	unlink(path);
	c = conf_load(path);
	ok(c->errors == 1 && c->n == 0, "a missing file is an error");
	conf_free(c);
}

static void
test_escape(void)
{
	static const struct {
		const char *in;
		size_t max;
		const char *out;
	} cases[] = {
		{ "alice", 100, "alice" },
		{ "a] [service=x", 100, "a\\x5d \\x5bservice=x" },
		{ "new\nline", 100, "new\\x0aline" },
		{ "back\\slash", 100, "back\\x5cslash" },
		{ "\xff\x01", 100, "\\xff\\x01" },
		{ "abcdefgh", 4, "abcd..." },
		{ "", 100, "" },
	};
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		am_escape(buf, sizeof(buf), cases[i].in, cases[i].max);
		ok(strcmp(buf, cases[i].out) == 0, "escape case %zu: \"%s\"",
		    i, buf);
	}
	am_escape(buf, 8, "abcdefghijklmnop", 100);
	ok(strlen(buf) < 8, "escape never overruns a small buffer");
	ok(log_facility("auth") != -1 && log_facility("mail") != -1 &&
	    log_facility("nowhere") == -1, "facility names");
}

/* user/group ids in user, group, allow_users, allow_groups */
static void
test_ids(void)
{
	static const struct {
		const char *in;
		long id;
	} cases[] = {
		{ "0", 0 },
		{ "105", 105 },
		{ "65534", 65534 },
		{ "4294967294", 4294967294L },
		{ "4294967295", -1 },	/* (uid_t)-1: "no change" */
		{ "99999999999999999999", -1 },
		{ "postfix", -1 },
		{ "1a", -1 },
		{ "-1", -1 },
		{ "+5", -1 },
		{ " 5", -1 },
		{ "", -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(conf_parse_id(cases[i].in) == cases[i].id, "id \"%s\" is %ld",
		    cases[i].in, cases[i].id);
}

int
main(void)
{
	log_init("test_config", LOG_USER, true, false);
	test_syntax();
	test_values();
	test_types();
	test_claims();
	test_file();
	test_escape();
	test_ids();
	return tap_done();
}
