/*
 * test_file.c -- the file backend, through its module hooks and, where a
 * hook cannot show it, its statics (the .c is included).  Every password
 * file is written into a fresh mkdtemp() directory.
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

#include "../../modules/file/file.c"

/* the table a state holds now */
#define TABLE(fs) ((struct file_table *)(fs)->w.table)

#define P "correct horse battery"
#define WRONG "Correct horse battery"
/* mkpasswd -m sha-512 "$P" */
#define H_SHA512 "$6$/4OxdkYZDlbSqGkm$3pFeTpNnYgXy7fXNo6luWdofsMF35C2KnnYIHJIClVLqPaznuDRklLupYHueZJRF2xkthlNfbDHu14EOF9Soe0"
/* mkpasswd -m md5crypt "$P" */
#define H_MD5CRYPT "$1$HzeIp/ys$LLvavfutlE0u5W3vmX69X/"
/* slappasswd -h {SSHA} -s "$P" */
#define H_SSHA "{SSHA}D4ttLLBoSeFmOvo2unMrNIrHkQuHKb8n"
/* htpasswd -nbm u "$P" */
#define H_APR1 "$apr1$1CX7TVfO$QIJ8g2HTYSOMjP/ZGx2gJ."
/* htpasswd -nbs u "$P" */
#define H_SHA "{SHA}mN7MYuzjmaIu0w1JDvMzvn/ec4U="
/* mkpasswd -m bcrypt "$P" */
#define H_BCRYPT "$2b$05$HZ.WFhsXSbyAGtoo1QODcugQZhRYxky3guyNe9178dJ43i/8VeaDu"

static char dir[64];
static char path[128];
static struct am_conf *last_conf;

/* Write text to path through a temporary file and rename(2), as an admin
 * should; the new file always has a new inode. */
static void
put_file(const char *text, size_t len, mode_t mode)
{
	char tmp[160];
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

static void
put(const char *text, mode_t mode)
{
	put_file(text, strlen(text), mode);
}

/* preinit with file_path set to path; the conf stays in last_conf so the
 * warnings and errors it counted can be checked. */
static void *
start(const char **err_r)
{
	char text[256];
	void *state = NULL;
	const char *err = NULL;

	if (last_conf != NULL)
		conf_free(last_conf);
	snprintf(text, sizeof(text), "file_path: %s\n", path);
	last_conf = conf_load_string("test.conf", text);
	conf_check_options(last_conf, file_options);
	if (authmux_module.preinit(last_conf, &state, &err) == -1)
		state = NULL;
	if (err_r != NULL)
		*err_r = err;
	return state;
}

static enum am_result
ask(void *state, const char *login, const char *realm, const char *pw,
    char *reason, size_t reasonlen)
{
	struct am_request req = {
		.login = login, .password = pw, .password_len = strlen(pw),
		.service = "imap", .realm = realm, .client_addr = "",
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

/* One expectation: login in realm with pw gives want (and reason, when
 * not NULL). */
static void
expect(void *state, const char *login, const char *realm, const char *pw,
    enum am_result want, const char *want_reason)
{
	char reason[AM_REASON_MAX];
	enum am_result r = ask(state, login, realm, pw, reason,
	    sizeof(reason));

	ok(r == want && (want_reason == NULL ||
	    strcmp(reason, want_reason) == 0),
	    "%s realm \"%s\" password \"%s\": %s \"%s\"", login, realm, pw,
	    rname(r), reason);
}

/* stderr into a file, to count log lines */
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

/* Stop capturing; the number of lines containing needle. */
static int
capture_count(const char *needle)
{
	char line[4096];
	FILE *fp;
	int n = 0;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	if ((fp = fopen(capture_path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		fputs(line, stderr);	/* still show it */
		if (strstr(line, needle) != NULL)
			n++;
	}
	fclose(fp);
	unlink(capture_path);
	return n;
}

static void
test_basic(void)
{
	void *st;
	const char *err;

	put("# test users\n"
	    "\n"
	    "   # indented comment\n"
	    "alice:" H_SHA512 "\n"
	    "bob@example.org:" H_SSHA "\n"
	    "bob:{PLAIN}bobs-other-password\n"
	    "carol:{PLAIN}carol pw\n"
	    "dave:!" H_MD5CRYPT "\n"
	    "erin:" H_APR1 ":1000:1000:Erin:/home/erin:/bin/sh\n"
	    "frank:" H_SHA "\r\n"
	    "grace:" H_BCRYPT "  \t\n"
	    "henry@:" H_MD5CRYPT "\n"
	    /* openssl passwd -1 '' */
	    "empty:$1$ACOKbG94$qRdECypTm2RnrC9q0CHMk0\n"
	    "last:" H_MD5CRYPT, 0600);
	st = start(&err);
	ok(st != NULL, "preinit on a good file (%s)", err ? err : "");
	if (st == NULL)
		return;
	ok(last_conf->warnings == 0 && last_conf->errors == 0,
	    "mode 0600: no warning (%u)", last_conf->warnings);

	expect(st, "alice", "", P, AM_OK, "");
	expect(st, "alice", "", WRONG, AM_DENY, "wrong password");
	expect(st, "alice", "", "", AM_DENY, "empty password");
	expect(st, "empty", "", "", AM_DENY, "empty password");
	expect(st, "empty", "", "x", AM_DENY, "wrong password");
	expect(st, "Alice", "", P, AM_NOUSER, "unknown user");
	expect(st, "nobody", "", P, AM_NOUSER, "unknown user");
	expect(st, "alic", "", P, AM_NOUSER, "unknown user");
	expect(st, "", "", P, AM_NOUSER, "unknown user");

	/* realm-specific entry first, realm-less entry in every realm */
	expect(st, "bob", "example.org", P, AM_OK, "");
	expect(st, "bob", "example.org", "bobs-other-password", AM_DENY,
	    "wrong password");
	expect(st, "bob", "", "bobs-other-password", AM_OK, "");
	expect(st, "bob", "", P, AM_DENY, "wrong password");
	expect(st, "bob", "other.org", "bobs-other-password", AM_OK, "");
	expect(st, "bob", "other.org", P, AM_DENY, "wrong password");
	/* -r: the login arrives as user@realm */
	expect(st, "bob@example.org", "example.org", P, AM_OK, "");
	expect(st, "bob@other.org", "other.org", "bobs-other-password",
	    AM_OK, "");
	/* no realm: a login with '@' is looked up as it is */
	expect(st, "bob@example.org", "", P, AM_OK, "");
	expect(st, "bob@other.org", "", "bobs-other-password", AM_NOUSER,
	    "unknown user");
	expect(st, "alice", "example.org", P, AM_OK, "");
	expect(st, "alice@example.org", "example.org", P, AM_OK, "");
	expect(st, "henry", "", P, AM_NOUSER, "unknown user");
	expect(st, "henry@", "", P, AM_OK, "");

	expect(st, "carol", "", "carol pw", AM_OK, "");
	expect(st, "carol", "", "carol", AM_DENY, "wrong password");
	expect(st, "dave", "", P, AM_DENY, "account locked");
	expect(st, "erin", "", P, AM_OK, "");
	expect(st, "frank", "", P, AM_OK, "");
	expect(st, "grace", "", P, AM_OK, "");
	expect(st, "last", "", P, AM_OK, "");

	authmux_module.deinit(st);
}

static void
test_malformed(void)
{
	static const char text[] =
	    "nocolon\n"				/* 1 */
	    ":" H_MD5CRYPT "\n"			/* 2 */
	    "emptyhash:\n"			/* 3 */
	    "sp ace:" H_MD5CRYPT "\n"		/* 4 */
	    " lead:" H_MD5CRYPT "\n"		/* 5 */
	    "ctl\x01:" H_MD5CRYPT "\n"		/* 6 */
	    "weird:not-a-hash\n"		/* 7 */
	    "trunc:$6$saltsalt$short\n"		/* 8 */
	    "badb64:{SSHA}!!!\n"		/* 9 */
	    "dup:{PLAIN}first\n"		/* 10 */
	    "dup:{PLAIN}second\n"		/* 11 */
	    "good:" H_MD5CRYPT "\n"		/* 12 */
	    "nul\0byte:" H_MD5CRYPT "\n"	/* 13 */
	    "emptyplain:{PLAIN}\n"		/* 14 */
	    "after:" H_SSHA "\n";		/* 15 */
	struct file_state *fs;
	void *st;
	const char *err;
	int n;

	put_file(text, sizeof(text) - 1, 0600);
	capture_start();
	st = start(&err);
	n = capture_count(path);
	ok(st != NULL, "preinit with malformed lines (%s)", err ? err : "");
	if (st == NULL)
		return;
	fs = st;
	ok(TABLE(fs)->base.skipped == 12 && TABLE(fs)->base.nusers == 3,
	    "12 lines skipped, 3 users (%u, %zu)", TABLE(fs)->base.skipped,
	    TABLE(fs)->base.nusers);
	/* 12 "path:line:" warnings plus the "loaded" line */
	ok(n == 13, "each bad line logged with the path (%d lines)", n);
	expect(st, "good", "", P, AM_OK, "");
	expect(st, "after", "", P, AM_OK, "");
	expect(st, "dup", "", "first", AM_OK, "");
	expect(st, "dup", "", "second", AM_DENY, "wrong password");
	expect(st, "emptyhash", "", "x", AM_NOUSER, "unknown user");
	expect(st, "weird", "", "not-a-hash", AM_NOUSER, "unknown user");
	expect(st, "trunc", "", P, AM_NOUSER, "unknown user");
	expect(st, "sp ace", "", P, AM_NOUSER, "unknown user");
	expect(st, "emptyplain", "", "x", AM_NOUSER, "unknown user");
	authmux_module.deinit(st);

	/* a file of nothing but garbage: the log is capped */
	{
		char *big = malloc(200 * 8 + 1), *p = big;
		int i;

		for (i = 0; i < 200; i++)
			p += sprintf(p, "junk%03d\n", i);
		put(big, 0600);
		free(big);
	}
	capture_start();
	st = start(&err);
	n = capture_count("no ':' between");
	ok(st != NULL && TABLE((struct file_state *)st)->base.nusers == 0,
	    "a file of garbage loads with no users");
	ok(n == FILE_MAX_LINE_WARNINGS,
	    "bad lines logged at most %d times (%d)", FILE_MAX_LINE_WARNINGS,
	    n);
	if (st != NULL) {
		expect(st, "junk000", "", "x", AM_NOUSER, "unknown user");
		authmux_module.deinit(st);
	}
}

static void
test_mode_and_missing(void)
{
	void *st;
	const char *err = NULL;

	ok(secfile_mode_problem(0600) == NULL, "0600 is fine");
	ok(secfile_mode_problem(0640) == NULL, "0640 is fine");
	ok(secfile_mode_problem(0660) == NULL, "0660 is fine");
	ok(secfile_mode_problem(0644) != NULL &&
	    strstr(secfile_mode_problem(0644), "chmod o-r") != NULL,
	    "0644: %s", secfile_mode_problem(0644));
	ok(secfile_mode_problem(0602) != NULL, "0602: %s",
	    secfile_mode_problem(0602));

	put("alice:" H_MD5CRYPT "\n", 0644);
	capture_start();
	st = start(&err);
	ok(capture_count("chmod o-r") == 1,
	    "mode 0644: one warning saying chmod o-r");
	ok(st != NULL && last_conf->warnings == 1 && last_conf->errors == 0,
	    "mode 0644: loads, with a configuration warning (%u)",
	    last_conf->warnings);
	if (st != NULL) {
		expect(st, "alice", "", P, AM_OK, "");
		authmux_module.deinit(st);
	}

	unlink(path);
	capture_start();
	st = start(&err);
	ok(capture_count("No such file") == 1,
	    "missing file: the error names the cause");
	ok(st == NULL && err != NULL && last_conf->errors == 1,
	    "missing file: preinit fails (%s)", err ? err : "");

	if (mkdir(path, 0700) == 0) {
		st = start(&err);
		ok(st == NULL && last_conf->errors == 1,
		    "a directory: preinit fails");
		rmdir(path);
	}

	put("", 0600);
	st = start(&err);
	ok(st != NULL, "an empty file loads");
	if (st != NULL) {
		ok(TABLE((struct file_state *)st)->dummy == NULL,
		    "no dummy hash without users");
		expect(st, "alice", "", P, AM_NOUSER, "unknown user");
		authmux_module.deinit(st);
	}
}

static void
test_dummy(void)
{
	struct file_state *fs;
	void *st;

	put("locked1:!\n"
	    "md5:" H_MD5CRYPT "\n"
	    "a:" H_SHA512 "\n"
	    "locked2:*\n"
	    "locked3:!x\n"
	    "b:$6$BbItVnUuB3fJW2Od$.NB9t8itCQVzCoouUhiWO2kbraD7RRMmzHnZceTajz4UPMkeHBLvZRiLnVGHTz0n2TL0IN4ZzSxdoEWOPM1pl0\n"
	    "ssha:" H_SSHA "\n", 0600);
	if ((st = start(NULL)) == NULL) {
		ok(0, "preinit for the dummy test");
		return;
	}
	fs = st;
	ok(TABLE(fs)->dummy != NULL &&
	    strcmp(TABLE(fs)->dummy, H_SHA512) == 0,
	    "dummy: first hash of the commonest scheme, locked ones left out"
	    " (%s)", TABLE(fs)->dummy ? TABLE(fs)->dummy : "NULL");
	expect(st, "zed", "", P, AM_NOUSER, "unknown user");
	authmux_module.deinit(st);
}

static void
test_reload(void)
{
	struct file_state *fs;
	struct file_table *held;
	const struct file_entry *e;
	void *st;
	int n;

	put("alice:{PLAIN}one\n", 0600);
	if ((st = start(NULL)) == NULL) {
		ok(0, "preinit for the reload test");
		return;
	}
	fs = st;
	expect(st, "alice", "", "one", AM_OK, "");

	/* a request in flight keeps its table across a reload */
	held = (struct file_table *)secfile_acquire(&fs->w);
	put("alice:{PLAIN}two\n# now longer\nbob:{PLAIN}bob\n", 0600);
	capture_start();
	expect(st, "alice", "", "two", AM_OK, "");
	n = capture_count("reloaded");
	ok(n == 1, "the reload is logged once (%d)", n);
	expect(st, "alice", "", "one", AM_DENY, "wrong password");
	expect(st, "bob", "", "bob", AM_OK, "");
	ok(held != TABLE(fs), "a new table was swapped in");
	e = file_lookup(held, "alice", 5);
	ok(e != NULL && strcmp(e->hash, "{PLAIN}one") == 0,
	    "the held table still has the old entry");
	secfile_release(&fs->w, &held->base);

	/* removed: the old table stays, the failure is logged once */
	unlink(path);
	capture_start();
	expect(st, "alice", "", "two", AM_OK, "");
	expect(st, "alice", "", "two", AM_OK, "");
	expect(st, "bob", "", "bob", AM_OK, "");
	n = capture_count("still using the 2 users");
	ok(n == 1, "a removed file is logged once, not per request (%d)", n);

	/* back, with other content */
	put("alice:{PLAIN}three\n", 0600);
	expect(st, "alice", "", "three", AM_OK, "");
	expect(st, "bob", "", "bob", AM_NOUSER, "unknown user");

	/* replaced by something unreadable as a file */
	unlink(path);
	if (mkdir(path, 0700) == 0) {
		capture_start();
		expect(st, "alice", "", "three", AM_OK, "");
		expect(st, "alice", "", "three", AM_OK, "");
		n = capture_count("not a regular file");
		ok(n == 1, "a directory in its place is logged once (%d)", n);
		rmdir(path);
	}

	/* a rewrite in place, same inode: size and times tell */
	{
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd == -1 || write(fd, "alice:{PLAIN}four\n", 18) != 18)
			perror(path);
		close(fd);
	}
	expect(st, "alice", "", "four", AM_OK, "");
	{
		int fd = open(path, O_WRONLY | O_TRUNC, 0600);

		if (fd == -1 || write(fd, "alice:{PLAIN}fivefive\n", 22) !=
		    22)
			perror(path);
		close(fd);
	}
	expect(st, "alice", "", "fivefive", AM_OK, "");
	authmux_module.deinit(st);
}

/* Four threads ask while a fifth rewrites the file 50 times.  alice's
 * entry never changes; bob's password is bob-<version>. */
static atomic_int writer_done;
static atomic_int version;
static atomic_int wrong_answers, answers;

static void *
writer_main(void *arg)
{
	char text[512], pad[64];
	int k;

	(void)arg;
	for (k = 1; k <= 50; k++) {
		/* each version longer than the last, so the size differs
		 * even when the clock has not moved */
		memset(pad, 'x', (size_t)k);
		pad[k] = '\0';
		snprintf(text, sizeof(text), "# %s\nalice:" H_MD5CRYPT
		    "\nbob:{PLAIN}bob-%d\ncarol:" H_SSHA "\n", pad, k);
		put(text, 0600);
		atomic_store(&version, k);
		nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
	}
	atomic_store(&writer_done, 1);
	return NULL;
}

static void *
reader_main(void *st)
{
	char pw[32];
	enum am_result r;
	int bad = 0, n = 0, v;

	do {
		v = atomic_load(&version);
		if (ask(st, "alice", "", P, NULL, 0) != AM_OK)
			bad++;
		if (ask(st, "alice", "", WRONG, NULL, 0) != AM_DENY)
			bad++;
		if (ask(st, "carol", "x.org", P, NULL, 0) != AM_OK)
			bad++;
		if (ask(st, "nobody", "", P, NULL, 0) != AM_NOUSER)
			bad++;
		/* the version seen, or a later one: either answer, but
		 * bob is always known */
		snprintf(pw, sizeof(pw), "bob-%d", v);
		r = ask(st, "bob", "", pw, NULL, 0);
		if (r != AM_OK && r != AM_DENY)
			bad++;
		n += 5;
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

	put("# 0\nalice:" H_MD5CRYPT "\nbob:{PLAIN}bob-0\ncarol:" H_SSHA "\n",
	    0600);
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
	    "4 readers, 50 rewrites: %d wrong answers of %d",
	    atomic_load(&wrong_answers), atomic_load(&answers));
	expect(st, "bob", "", "bob-50", AM_OK, "");
	expect(st, "bob", "", "bob-49", AM_DENY, "wrong password");
	authmux_module.deinit(st);
}

static void
test_many(void)
{
	struct timespec t0, t1;
	struct file_state *fs;
	const size_t nusers = 100000;
	size_t i, len = 0, cap = nusers * 64;
	char *text = malloc(cap);
	void *st;
	double secs;

	for (i = 0; i < nusers; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    "user%zu:" H_MD5CRYPT "\n", i);
	put_file(text, len, 0600);
	free(text);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = start(NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# %zu users loaded in %.3f s\n", nusers, secs);
	ok(st != NULL, "100000 users load");
	if (st == NULL)
		return;
	fs = st;
	ok(TABLE(fs)->base.nusers == nusers && TABLE(fs)->base.skipped == 0,
	    "all of them (%zu)", TABLE(fs)->base.nusers);
	expect(st, "user0", "", P, AM_OK, "");
	expect(st, "user99999", "", P, AM_OK, "");
	expect(st, "user54321", "", WRONG, AM_DENY, "wrong password");
	expect(st, "user100000", "", P, AM_NOUSER, "unknown user");
	authmux_module.deinit(st);
}

int
main(void)
{
	log_init("test_file", LOG_AUTH, true, true);
	snprintf(dir, sizeof(dir), "/tmp/test_file.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/passwd", dir);

	test_basic();
	test_malformed();
	test_mode_and_missing();
	test_dummy();
	test_reload();
	test_threads();
	test_many();

	if (last_conf != NULL)
		conf_free(last_conf);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
