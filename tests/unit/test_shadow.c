/*
 * test_shadow.c -- the shadow backend, through its module hooks and, where
 * a hook cannot show it, its statics (the .c is included).  The accounts
 * come from shadow(5) files written into a fresh mkdtemp() directory;
 * the NSS path is tried on the system's own accounts (as root: root is
 * found; otherwise preinit must refuse and say why).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "tap.h"

#include "../../modules/shadow/shadow.c"

#define P "correct horse battery"
#define WRONG "Correct horse battery"
/* mkpasswd -m sha-512 "$P" */
#define H_SHA512 "$6$/4OxdkYZDlbSqGkm$3pFeTpNnYgXy7fXNo6luWdofsMF35C2KnnYIHJIClVLqPaznuDRklLupYHueZJRF2xkthlNfbDHu14EOF9Soe0"
/* mkpasswd -m md5crypt "$P" */
#define H_MD5CRYPT "$1$HzeIp/ys$LLvavfutlE0u5W3vmX69X/"
/* mkpasswd -m yescrypt bob-realm-pw (tests/integration/users.passwd) */
#define PY "bob-realm-pw"
#define H_YESCRYPT "$y$j9T$0qDPaUL12/dwh0ZzMzg2D/$dZxqjhvPec/Mn5rhllbiL6vs6xa9ZUaIMt5kZ/glhRB"

static char dir[64];
static char path[128];
static struct am_conf *last_conf;

static void
put(const char *text, mode_t mode)
{
	char tmp[160];
	size_t len = strlen(text);
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    fchmod(fd, mode) == -1 ||
	    write(fd, text, len) != (ssize_t)len || close(fd) == -1 ||
	    rename(tmp, path) == -1) {
		perror(tmp);
		exit(2);
	}
}

/* preinit with conftext (NULL: shadow_file set to path). */
static void *
start_conf(const char *conftext, const char **err_r)
{
	char text[256];
	void *state = NULL;
	const char *err = NULL;

	if (last_conf != NULL)
		conf_free(last_conf);
	if (conftext == NULL) {
		snprintf(text, sizeof(text), "shadow_file: %s\n", path);
		conftext = text;
	}
	last_conf = conf_load_string("test.conf", conftext);
	conf_check_options(last_conf, shadow_options);
	if (authmux_module.preinit(last_conf, &state, &err) == -1)
		state = NULL;
	if (err_r != NULL)
		*err_r = err;
	return state;
}

static void *
start(const char **err_r)
{
	return start_conf(NULL, err_r);
}

static enum am_result
ask(void *state, const char *login, const char *pw, char *reason,
    size_t reasonlen)
{
	struct am_request req = {
		.login = login, .password = pw, .password_len = strlen(pw),
		.service = "imap", .realm = "", .client_addr = "",
	};
	struct am_verdict v;
	enum am_result r;

	memset(&v, 0, sizeof(v));
	r = authmux_module.verify(state, &req, &v);
	if (reason != NULL)
		snprintf(reason, reasonlen, "%s", v.reason);
	return r;
}

static const char *
rname(enum am_result r)
{
	switch (r) {
	case AM_OK:
		return "OK";
	case AM_DENY:
		return "DENY";
	case AM_NOUSER:
		return "NOUSER";
	case AM_TEMPFAIL:
		return "TEMPFAIL";
	}
	return "?";
}

static void
expect(void *state, const char *login, const char *pw, enum am_result want,
    const char *want_reason)
{
	char reason[AM_REASON_MAX];
	enum am_result r = ask(state, login, pw, reason, sizeof(reason));

	ok(r == want && (want_reason == NULL ||
	    strcmp(reason, want_reason) == 0),
	    "%.40s password \"%.30s\": %s \"%s\"", login, pw, rname(r),
	    reason);
}

/* stderr into a file, to find log lines */
static int saved_stderr = -1;
static char capture_path[160];

static void
capture_start(void)
{
	int fd;

	snprintf(capture_path, sizeof(capture_path), "%s/stderr", dir);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	fd = open(capture_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

/* Stop capturing; the number of lines containing each needle is put in
 * counts. */
static void
capture_stop(const char *const *needles, int *counts, size_t n)
{
	char line[4096];
	FILE *fp;
	size_t i;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	for (i = 0; i < n; i++)
		counts[i] = 0;
	if ((fp = fopen(capture_path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		fputs(line, stderr);
		for (i = 0; i < n; i++)
			if (strstr(line, needles[i]) != NULL)
				counts[i]++;
	}
	fclose(fp);
	unlink(capture_path);
}

static void
test_days(void)
{
	static const struct {
		const char *s;
		int ret;
		long v;
	} t[] = {
		{ "", 0, -1 }, { "0", 0, 0 }, { "19000", 0, 19000 },
		{ "99999", 0, 99999 }, { "-1", -1, 0 }, { "1x", -1, 0 },
		{ " 1", -1, 0 }, { "100000000", 0, 100000000 },
		{ "100000001", -1, 0 }, { "99999999999999999999999", -1, 0 },
	};
	size_t i;
	long v;
	int r;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v = -7;
		r = shadow_parse_days(t[i].s, &v);
		ok(r == t[i].ret && (r == -1 || v == t[i].v),
		    "days \"%s\": %d %ld", t[i].s, r, v);
	}
}

static void
test_method(void)
{
	static const struct {
		const char *h;
		size_t len;
	} t[] = {
		{ H_SHA512, 3 }, { H_YESCRYPT, 3 }, { H_MD5CRYPT, 3 },
		{ "$2b$05$x", 4 }, { "_J9..salt", 1 }, { "abcdefghijklm", 0 },
		{ "$", 0 }, { "", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ok(shadow_method_len(t[i].h) == t[i].len, "method of %.12s: "
		    "%zu", t[i].h, shadow_method_len(t[i].h));
}

static void
test_basic(void)
{
	char text[4096];
	const char *err = NULL;
	void *st;

	snprintf(text, sizeof(text),
	    "# mail accounts\n"
	    "\n"
	    "alice:" H_SHA512 ":19000:0:99999:7:::\n"
	    "bob:" H_YESCRYPT ":19000:0:99999:7:::\r\n"
	    "old:" H_MD5CRYPT "\n"
	    "carol:!" H_SHA512 ":19000:0:99999:7:::\n"
	    "dave:*:19000:0:99999:7:::\n"
	    "erin::19000:0:99999:7:::\n"
	    "frank:$0$nothing:19000:0:99999:7:::\n"
	    "a@b:" H_SHA512 ":::::::\n"
	    "last:" H_SHA512 ":::::::");
	put(text, 0600);
	st = start(&err);
	ok(st != NULL, "preinit on a good file (%s)", err ? err : "");
	if (st == NULL)
		return;
	expect(st, "alice", P, AM_OK, "");
	expect(st, "alice", WRONG, AM_DENY, "wrong password");
	expect(st, "bob", PY, AM_OK, "");
	expect(st, "bob", P, AM_DENY, "wrong password");
	expect(st, "old", P, AM_OK, "");
	expect(st, "carol", P, AM_DENY, "account locked");
	expect(st, "dave", P, AM_DENY, "account locked");
	expect(st, "erin", P, AM_DENY, "account locked (empty password field)");
	expect(st, "frank", P, AM_DENY, "unusable hash");
	expect(st, "a@b", P, AM_OK, "");
	expect(st, "a", P, AM_NOUSER, "unknown user");
	expect(st, "last", P, AM_OK, "");
	expect(st, "nobody", P, AM_NOUSER, "unknown user");
	expect(st, "Alice", P, AM_NOUSER, "unknown user");
	expect(st, "alice", "", AM_DENY, "empty password");
	expect(st, "erin", "", AM_DENY, "empty password");
	expect(st, "nobody", "", AM_NOUSER, "unknown user");
	expect(st, "+alice", P, AM_NOUSER, "unknown user");
	expect(st, "al:ice", P, AM_NOUSER, "unknown user");
	{
		char longpw[CRYPT_MAX_PASSPHRASE_SIZE + 1];

		memset(longpw, 'x', sizeof(longpw) - 1);
		longpw[sizeof(longpw) - 1] = '\0';
		expect(st, "alice", longpw, AM_DENY, "password too long");
		expect(st, "nobody", longpw, AM_NOUSER, "unknown user");
		expect(st, "carol", longpw, AM_DENY, "password too long");
	}
	authmux_module.deinit(st);
}

/* Account and password aging, at the edges, with today's date. */
static void
test_aging(void)
{
	char text[4096];
	long today = (long)(time(NULL) / 86400);
	void *st;

	snprintf(text, sizeof(text),
	    "exp-today:" H_SHA512 ":%ld:0:99999:7::%ld:\n"
	    "exp-tomorrow:" H_SHA512 ":%ld:0:99999:7::%ld:\n"
	    "exp-zero:" H_SHA512 ":%ld:0:99999:7::0:\n"
	    "exp-yesterday:" H_SHA512 ":%ld:0:99999:7::%ld:\n"
	    "must-change:" H_SHA512 ":0:0:99999:7:::\n"
	    "no-aging:" H_SHA512 ":::::::\n"
	    "max-edge:" H_SHA512 ":%ld:0:30:7:::\n"
	    "max-past:" H_SHA512 ":%ld:0:30:7:::\n"
	    "max-zero-today:" H_SHA512 ":%ld:0:0:7:::\n"
	    "max-empty:" H_SHA512 ":1:0::7:::\n"
	    "both:" H_SHA512 ":0:0:99999:7::1:\n",
	    today, today, today, today + 1, today, today, today - 1,
	    today - 30, today - 31, today);
	put(text, 0600);
	if ((st = start(NULL)) == NULL) {
		ok(0, "preinit for the aging test");
		return;
	}
	expect(st, "exp-today", P, AM_DENY, "account expired");
	expect(st, "exp-tomorrow", P, AM_OK, "");
	expect(st, "exp-zero", P, AM_DENY, "account expired");
	expect(st, "exp-yesterday", P, AM_DENY, "account expired");
	expect(st, "must-change", P, AM_DENY, "password must be changed");
	expect(st, "no-aging", P, AM_OK, "");
	expect(st, "max-edge", P, AM_OK, "");
	expect(st, "max-past", P, AM_DENY, "password expired");
	expect(st, "max-zero-today", P, AM_OK, "");
	expect(st, "max-empty", P, AM_OK, "");
	expect(st, "both", P, AM_DENY, "account expired");
	/* the password comes first: a guess learns nothing and the log
	 * says it was a guess */
	expect(st, "exp-today", WRONG, AM_DENY, "wrong password");
	expect(st, "must-change", WRONG, AM_DENY, "wrong password");
	authmux_module.deinit(st);
}

static void
test_malformed(void)
{
	static const char *const needles[] = {
		"shadow.txt:1: 1 ':'-separated field, wanted 9; line ignored",
		"shadow.txt:2: 5 ':'-separated fields, wanted 9; line ignored",
		"shadow.txt:3: more than 9 ':'-separated fields, wanted 9; "
		    "line ignored",
		"shadow.txt:4: user \"x\": maximum age is not a number of "
		    "days; line ignored",
		"shadow.txt:5: empty user name; line ignored",
		"shadow.txt:6: user \"a b\": blank or control character in the "
		    "name; line ignored",
		"shadow.txt:7: NIS compat entries (\"+\") are not supported",
		"shadow.txt:8: NIS compat entries (\"-bad\")",
		"shadow.txt:9: contains a NUL byte; line ignored",
		"shadow.txt:11: user \"good\" is already on line 10; line "
		    "ignored",
		"shadow.txt:13: user \"good\" is already on line 10",
		"shadow.txt:12: user \"weird\": the hash is not usable",
		"6 users, 11 lines skipped",
	};
	int counts[sizeof(needles) / sizeof(needles[0])];
	static const char text[] =
	    "garbage\n"
	    "a:b:c:d:e\n"
	    "a:b:c:d:e:f:g:h:i:j\n"
	    "x:" H_SHA512 ":1:0:lots:7:::\n"
	    ":" H_SHA512 ":1:0:9:7:::\n"
	    "a b:" H_SHA512 ":1:0:9:7:::\n"
	    "+::::::::\n"
	    "-bad::::::::\n"
	    "nul\0:x\n"
	    "good:" H_SHA512 ":1:0:99999:7:::\n"
	    "good:" H_MD5CRYPT ":1:0:99999:7:::\n"
	    "weird:$9$x:1:0:99999:7:::\n"
	    "good:" H_MD5CRYPT ":1:0:99999:7:::\n"
	    "zed:" H_SHA512 ":1:0:99999:7:::\n"
	    "b:" H_SHA512 "\n"
	    "c:" H_SHA512 "\n"
	    "d:" H_SHA512 "\n";
	char saved[128];
	int fd;
	size_t i;
	void *st;

	/* the NUL needs a binary write, and its own name for the log */
	snprintf(saved, sizeof(saved), "%s", path);
	snprintf(path, sizeof(path), "%s/shadow.txt", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, text, sizeof(text) - 1) !=
	    (ssize_t)(sizeof(text) - 1) || close(fd) == -1) {
		perror(path);
		exit(2);
	}
	capture_start();
	st = start(NULL);
	capture_stop(needles, counts, sizeof(needles) / sizeof(needles[0]));
	ok(st != NULL, "a file with malformed lines still loads");
	for (i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
		ok(counts[i] == 1, "logged once: %s (%d)", needles[i],
		    counts[i]);
	if (st != NULL) {
		expect(st, "good", P, AM_OK, "");
		expect(st, "zed", P, AM_OK, "");
		expect(st, "d", P, AM_OK, "");
		expect(st, "x", P, AM_NOUSER, "unknown user");
		expect(st, "weird", P, AM_DENY, "unusable hash");
		authmux_module.deinit(st);
	}
	unlink(path);
	snprintf(path, sizeof(path), "%s", saved);
}

static void
test_dummy(void)
{
	struct shadow_state *ss;
	char text[2048];
	void *st;

	/* two sha512crypt, one yescrypt: the dummy is a sha512crypt hash
	 * of its own (not a user's) */
	snprintf(text, sizeof(text),
	    "y:" H_YESCRYPT ":::::::\n"
	    "s1:" H_SHA512 ":::::::\n"
	    "s2:" H_SHA512 ":::::::\n"
	    "l:!" H_YESCRYPT ":::::::\n"
	    "l2:!" H_YESCRYPT ":::::::\n"
	    "l3:!" H_YESCRYPT ":::::::\n");
	put(text, 0600);
	if ((st = start(NULL)) == NULL) {
		ok(0, "preinit for the dummy test");
		return;
	}
	ss = st;
	ok(strncmp(((struct shadow_table *)ss->w.table)->dummy, "$6$/4OxdkYZDlbSqGkm$", 20) == 0 &&
	    strcmp(((struct shadow_table *)ss->w.table)->dummy, H_SHA512) != 0,
	    "dummy follows the commonest usable method: %.20s...",
	    ((struct shadow_table *)ss->w.table)->dummy);
	ok(strncmp(ss->dummy, "$y$", 3) == 0,
	    "the default dummy is libxcrypt's preferred method: %.7s",
	    ss->dummy);
	ok(shadow_crypt_check(((struct shadow_table *)ss->w.table)->dummy, P) == SHADOW_MISMATCH &&
	    shadow_crypt_check(ss->dummy, P) == SHADOW_MISMATCH,
	    "dummies are usable hashes that match nothing known");
	authmux_module.deinit(st);

	put("l:!" H_SHA512 ":::::::\nm::::::::\n", 0600);
	if ((st = start(NULL)) == NULL) {
		ok(0, "preinit for the dummy test (2)");
		return;
	}
	ss = st;
	ok(strcmp(((struct shadow_table *)ss->w.table)->dummy, ss->dummy) == 0,
	    "no usable hash in the file: the default dummy");
	expect(st, "nobody", P, AM_NOUSER, "unknown user");
	authmux_module.deinit(st);
}

static void
test_mode_and_missing(void)
{
	const char *err = NULL;
	void *st;

	put("alice:" H_SHA512 ":::::::\n", 0644);
	st = start(&err);
	ok(st != NULL && last_conf->warnings == 1,
	    "world-readable: loads, one warning (%u)",
	    last_conf->warnings);
	if (st != NULL)
		authmux_module.deinit(st);
	unlink(path);
	err = NULL;
	st = start(&err);
	ok(st == NULL && err != NULL &&
	    strcmp(err, "shadow file not loaded") == 0 &&
	    last_conf->errors == 1,
	    "missing file: preinit fails (%s)", err ? err : "");
}

static void
test_reload(void)
{
	struct timespec pause = { .tv_nsec = 20000000 };
	void *st;

	put("alice:" H_SHA512 ":::::::\n", 0600);
	if ((st = start(NULL)) == NULL) {
		ok(0, "preinit for the reload test");
		return;
	}
	expect(st, "alice", P, AM_OK, "");
	nanosleep(&pause, NULL);
	put("alice:" H_MD5CRYPT ":0::::::\nbob:" H_YESCRYPT ":::::::\n",
	    0600);
	expect(st, "alice", P, AM_DENY, "password must be changed");
	expect(st, "bob", PY, AM_OK, "");
	unlink(path);
	expect(st, "bob", PY, AM_OK, "");
	nanosleep(&pause, NULL);
	put("bob:*:::::::\n", 0600);
	expect(st, "bob", PY, AM_DENY, "account locked");
	expect(st, "alice", P, AM_NOUSER, "unknown user");
	authmux_module.deinit(st);
}

static atomic_int writer_done, wrong_answers, answers;

static void *
writer_main(void *arg)
{
	char text[512], pad[64];
	int k;

	(void)arg;
	for (k = 1; k <= 30; k++) {
		/* each version longer than the last, so the size differs
		 * even when the clock has not moved */
		memset(pad, 'x', (size_t)k);
		pad[k] = '\0';
		snprintf(text, sizeof(text), "# %s\nalice:" H_SHA512
		    ":::::::\nbob:" H_MD5CRYPT ":%d::::::\n", pad,
		    k % 2 == 0 ? 0 : 1);
		put(text, 0600);
		nanosleep(&(struct timespec){ .tv_nsec = 3000000 }, NULL);
	}
	atomic_store(&writer_done, 1);
	return NULL;
}

static void *
reader_main(void *st)
{
	enum am_result r;
	int bad = 0, n = 0;

	do {
		if (ask(st, "alice", P, NULL, 0) != AM_OK)
			bad++;
		if (ask(st, "alice", WRONG, NULL, 0) != AM_DENY)
			bad++;
		if (ask(st, "nobody", P, NULL, 0) != AM_NOUSER)
			bad++;
		/* must change or not, by version: both answers hold */
		r = ask(st, "bob", P, NULL, 0);
		if (r != AM_OK && r != AM_DENY)
			bad++;
		n += 4;
	} while (!atomic_load(&writer_done));
	atomic_fetch_add(&wrong_answers, bad);
	atomic_fetch_add(&answers, n);
	return NULL;
}

static void
test_threads(void)
{
	pthread_t readers[4], writer;
	void *st;
	int i;

	put("alice:" H_SHA512 ":::::::\nbob:" H_MD5CRYPT ":::::::\n", 0600);
	if ((st = start(NULL)) == NULL) {
		ok(0, "preinit for the thread test");
		return;
	}
	for (i = 0; i < 4; i++)
		pthread_create(&readers[i], NULL, reader_main, st);
	pthread_create(&writer, NULL, writer_main, NULL);
	pthread_join(writer, NULL);
	for (i = 0; i < 4; i++)
		pthread_join(readers[i], NULL);
	ok(atomic_load(&wrong_answers) == 0,
	    "4 readers, 30 rewrites: %d wrong answers of %d",
	    atomic_load(&wrong_answers), atomic_load(&answers));
	expect(st, "bob", P, AM_DENY, "password must be changed");
	authmux_module.deinit(st);
}

/* NSS: as root the system's accounts; otherwise preinit must refuse. */
static void
test_nss(void)
{
	const char *err = NULL;
	char reason[AM_REASON_MAX];
	enum am_result r;
	void *st;

	st = start_conf("# nothing\n", &err);
	if (geteuid() != 0) {
		ok(st == NULL && err != NULL &&
		    strcmp(err, SHADOW_NOT_READABLE) == 0,
		    "not root: preinit refuses (%s)", err ? err : "");
		if (st != NULL)
			authmux_module.deinit(st);
		return;
	}
	ok(st != NULL, "root: preinit with NSS (%s)", err ? err : "");
	if (st == NULL)
		return;
	ok(authmux_module.init(st, &err) == 0, "root: init");
	expect(st, "no-such-user-amsh", P, AM_NOUSER, "unknown user");
	expect(st, "root@localhost", P, AM_NOUSER, "unknown user");
	expect(st, "ro ot", P, AM_NOUSER, "unknown user");
	/* root exists everywhere; whatever its hash, P is not it */
	r = ask(st, "root", P, reason, sizeof(reason));
	ok(r == AM_DENY, "root: DENY \"%s\"", reason);
	authmux_module.deinit(st);
}

int
main(void)
{
	log_init("test_shadow", LOG_AUTH, true, true);
	snprintf(dir, sizeof(dir), "/tmp/test_shadow.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/shadow", dir);

	test_days();
	test_method();
	test_basic();
	test_aging();
	test_malformed();
	test_dummy();
	test_mode_and_missing();
	test_reload();
	test_threads();
	test_nss();

	if (last_conf != NULL)
		conf_free(last_conf);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
