/*
 * shadow.c -- the "shadow" backend: system accounts, as saslauthd -a shadow.
 *
 * Without options the accounts come from NSS: getpwnam_r(), then
 * getspnam_r() (normally /etc/passwd and /etc/shadow), so the daemon must
 * run as root or in group shadow.  With "shadow_file: PATH" they come from
 * that file alone, in shadow(5) format (for tests, and for sites that keep
 * a separate shadow file for mail); passwd is not consulted then.
 *
 * The password is hashed with libxcrypt's crypt_rn() into a crypt_data of
 * the request's own, and the result compared with the stored hash in
 * constant time.  A hash starting with '!' or '*' (usermod -L, passwd -l,
 * a system account) or an empty password field locks the account; so does
 * a hash that crypt_rn() cannot use ("unusable hash").  Account and
 * password aging are honoured as saslauthd's auth_shadow and pam_unix do,
 * counting days since the epoch in UTC:
 *
 *	sp_expire set and today >= sp_expire		"account expired"
 *	sp_lstchg == 0 (chage -d 0)			"password must be changed"
 *	sp_max set, sp_lstchg > 0 and
 *	    sp_lstchg + sp_max < today			"password expired"
 *
 * (sp_expire 0 counts as expired, as pam_unix has it; saslauthd took it as
 * unset, but "chage -E 0" is a common way to lock an account.)  These are checked
 * after the password, as PAM's acct_mgmt after authenticate: the log says
 * "wrong password" for a guess at an expired account and "account expired"
 * only to the account's owner.  The client sees NO either way.
 *
 * The login is used as given: with -r the daemon passes "user@realm", and
 * a user of that name must exist (saslauthd's shadow does the same); the
 * realm is never stripped.  A name with ':', blanks or control characters,
 * or starting with '+' or '-' (NIS compat lines), is not looked up.
 *
 * Unknown users cost a wrong password's time: the password is hashed
 * against a dummy hash.  The dummy is made at preinit with
 * crypt_gensalt_rn(NULL, 0): libxcrypt's preferred method at its default
 * cost, which on Debian 12 is yescrypt cost 5 ("$y$j9T$"), what pam_unix's
 * "yescrypt" in common-password and a default chpasswd write.  login.defs
 * is not read: Debian 12 ships ENCRYPT_METHOD SHA512 there, yet its PAM
 * stack writes yescrypt.  With shadow_file the dummy follows the file: a
 * fresh hash with the settings of the first usable hash of the file's
 * commonest method (the file backend's rule), remade at every reload.
 * Accounts hashed with another method or cost (sha512crypt is faster than
 * yescrypt) still differ; the timing hides whether a name exists among
 * accounts of the common kind.
 *
 * A user in passwd without a shadow entry is AM_NOUSER ("no shadow
 * entry"): this backend cannot check the password, the next in the chain
 * may.  An unreadable shadow database is AM_TEMPFAIL, never a denial, and
 * preinit and init refuse to start without it.
 *
 * shadow_file is read at preinit (as root) and read again when its inode,
 * size, mtime or ctime change, as the file backend does: every verify
 * stat()s it, the first thread to see a change reloads, tables are
 * reference-counted so a request in flight keeps its own.  Malformed lines
 * are logged "path:line: what; line ignored"; the first line of a user
 * wins.  Lines are "name:hash:lstchg:min:max:warn:inact:expire:reserved"
 * or glibc's old "name:hash"; blank and '#' lines are skipped.
 *
 * Nothing here is global: all state hangs off the instance.  Every buffer
 * that held a password or a hash is wiped before it is freed.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <shadow.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "module.h"
#include "secfile.h"

#ifndef _PATH_SHADOW
#define _PATH_SHADOW "/etc/shadow"
#endif

#define SHADOW_NOT_READABLE "cannot read " _PATH_SHADOW ": run as root " \
	"or add the daemon's user to group shadow"

/* Far beyond any real shadow file. */
#define SHADOW_MAX_SIZE (256L * 1024 * 1024)
/* NSS buffers grow on ERANGE up to this. */
#define SHADOW_MAX_NSSBUF (1024 * 1024)
#define SHADOW_MAX_LINE_WARNINGS 20
#define SHADOW_LOG_USER_MAX 64
#define SHADOW_MAX_METHODS 32
/* Beyond any date an admin sets; keeps the arithmetic in range. */
#define SHADOW_MAX_DAYS 100000000L

/* The fields of an account that verify looks at; -1 is an empty field. */
struct shadow_account {
	const char *hash;
	long lstchg, max, expire;
};

struct shadow_entry {
	const char *name;	/* into shadow_table.buf */
	struct shadow_account a;
	unsigned int line;
	unsigned int dup_of;	/* line of the earlier entry, or 0 */
};

/* What tells one version of the file from the next. */
struct shadow_table {
	struct secfile_table base;
	struct shadow_entry *entries;	/* in line order */
	size_t nentries;
	struct shadow_entry **sorted;	/* by name, duplicates left out */
	char dummy[CRYPT_OUTPUT_SIZE];	/* for unknown users */
};

struct shadow_state {
	struct secfile_watch w;	/* first; path NULL for NSS */
	char dummy[CRYPT_OUTPUT_SIZE];	/* the system default's */
};

static const struct am_option shadow_options[] = {
	{ .key = "shadow_file", .type = AM_OPT_PATH },
	{ .key = NULL },
};

/* --- hashing ------------------------------------------------------ */

enum shadow_check {
	SHADOW_MATCH = 1,
	SHADOW_MISMATCH = 0,
	SHADOW_UNUSABLE = -1,	/* crypt_rn() refused the hash */
	SHADOW_NOMEM = -2,
};

/* Hash password with hash's settings and compare in constant time.  The
 * crypt_data is the call's own, so threads never share crypt state. */
static enum shadow_check
shadow_crypt_check(const char *hash, const char *password)
{
	struct crypt_data *cd;
	const char *out;
	size_t hlen = strlen(hash), olen;
	enum shadow_check r;

	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return SHADOW_NOMEM;
	out = crypt_rn(password, hash, cd, (int)sizeof(*cd));
	if (out == NULL || out[0] == '*')
		r = SHADOW_UNUSABLE;
	else {
		olen = strnlen(out, CRYPT_OUTPUT_SIZE);
		r = olen == hlen && sodium_memcmp(out, hash, hlen) == 0 ?
		    SHADOW_MATCH : SHADOW_MISMATCH;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return r;
}

/* Spend the time a check against dummy takes; the answer is thrown away
 * (dummy is a hash of random bytes nobody knows anyway). */
static void
shadow_dummy_check(const char *dummy, const char *password)
{
	if (dummy[0] != '\0')
		(void)shadow_crypt_check(dummy, password);
}

/* Make dummy (CRYPT_OUTPUT_SIZE bytes): a hash of a random password with
 * setting, or with libxcrypt's default method and cost when setting is
 * NULL.  -1 when libxcrypt cannot. */
static int
shadow_make_dummy(char *dummy, const char *setting)
{
	char gensalt[CRYPT_GENSALT_OUTPUT_SIZE];
	unsigned char rnd[16];
	char pw[2 * sizeof(rnd) + 1];
	struct crypt_data *cd;
	const char *out;
	int ret = -1;

	dummy[0] = '\0';
	if (setting == NULL) {
		if (crypt_gensalt_rn(NULL, 0, NULL, 0, gensalt,
		    (int)sizeof(gensalt)) == NULL)
			return -1;
		setting = gensalt;
	}
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return -1;
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(pw, sizeof(pw), rnd, sizeof(rnd));
	out = crypt_rn(pw, setting, cd, (int)sizeof(*cd));
	if (out != NULL && out[0] != '*' &&
	    strnlen(out, CRYPT_OUTPUT_SIZE) < CRYPT_OUTPUT_SIZE) {
		memcpy(dummy, out, strlen(out) + 1);
		ret = 0;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(rnd, sizeof(rnd));
	return ret;
}

/* Length of the method prefix of hash: "$y$", "$6$", "_", or 0 for the
 * DES kinds. */
static size_t
shadow_method_len(const char *hash)
{
	const char *end;

	if (hash[0] == '_')
		return 1;
	if (hash[0] == '$' && (end = strchr(hash + 1, '$')) != NULL)
		return (size_t)(end - hash) + 1;
	return 0;
}

static bool
shadow_locked(const char *hash)
{
	return hash[0] == '\0' || hash[0] == '!' || hash[0] == '*';
}

/* Whether crypt_rn() can hash with h's settings (a weak legacy method
 * still can). */
static bool
shadow_usable(const char *h)
{
	int r = crypt_checksalt(h);

	return r == CRYPT_SALT_OK || r == CRYPT_SALT_METHOD_LEGACY;
}

/* --- the shadow_file table ---------------------------------------- */

static void
shadow_table_free(struct shadow_table *t)
{
	if (t == NULL)
		return;
	secfile_table_wipe(&t->base);
	free(t->entries);
	free(t->sorted);
	sodium_memzero(t, sizeof(*t));
	free(t);
}

struct shadow_parse {
	const char *path;
	struct shadow_table *t;
	unsigned int warnings;
};

static void shadow_bad_line(struct shadow_parse *p, unsigned int line,
    bool ignored, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
shadow_bad_line(struct shadow_parse *p, unsigned int line, bool ignored,
    const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (ignored)
		p->t->base.skipped++;
	if (p->warnings++ >= SHADOW_MAX_LINE_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	am_log(LOG_WARNING, "%s:%u: %s%s", p->path, line, text,
	    ignored ? "; line ignored" : "");
}

/* A user name NSS could hold and a log line can show: no blanks, no
 * control characters, no ':', not a NIS compat "+"/"-" line. */
static bool
shadow_valid_user(const char *u)
{
	const unsigned char *s;

	if (u[0] == '\0' || u[0] == '+' || u[0] == '-')
		return false;
	for (s = (const unsigned char *)u; *s != '\0'; s++)
		if (*s <= ' ' || *s == 0x7f || *s == ':')
			return false;
	return true;
}

/* An aging field: "" is -1, else decimal days.  -1 if malformed. */
static int
shadow_parse_days(const char *s, long *v)
{
	long n = 0;

	if (*s == '\0') {
		*v = -1;
		return 0;
	}
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || n > SHADOW_MAX_DAYS)
			return -1;
		n = n * 10 + (*s - '0');
	}
	if (n > SHADOW_MAX_DAYS)
		return -1;
	*v = n;
	return 0;
}

static const char *const shadow_field_names[] = {
	"name", "password", "last change", "minimum age", "maximum age",
	"warning period", "inactivity period", "expiration date", "reserved",
};

/* Cut one line (NUL-terminated, no newline) into e; false when it is a
 * comment, blank or malformed (logged). */
static bool
shadow_parse_line(struct shadow_parse *p, char *s, unsigned int line,
    struct shadow_entry *e)
{
	char ubuf[SHADOW_LOG_USER_MAX * 4 + 8];
	char *f[9];
	long days[9];
	size_t n = 0, i, len = strlen(s);

	if (len > 0 && s[len - 1] == '\r')
		s[--len] = '\0';
	if (s[strspn(s, " \t")] == '\0' || s[0] == '#')
		return false;
	f[n++] = s;
	while ((s = strchr(s, ':')) != NULL) {
		*s++ = '\0';
		if (n == 9) {
			n++;
			break;
		}
		f[n++] = s;
	}
	if (n != 9 && n != 2) {
		if (n > 9)
			shadow_bad_line(p, line, true, "more than 9 "
			    "':'-separated fields, wanted 9");
		else
			shadow_bad_line(p, line, true, "%zu ':'-separated "
			    "field%s, wanted 9", n, n == 1 ? "" : "s");
		return false;
	}
	am_escape(ubuf, sizeof(ubuf), f[0], SHADOW_LOG_USER_MAX);
	if (f[0][0] == '+' || f[0][0] == '-') {
		shadow_bad_line(p, line, true, "NIS compat entries (\"%s\") "
		    "are not supported", ubuf);
		return false;
	}
	if (f[0][0] == '\0') {
		shadow_bad_line(p, line, true, "empty user name");
		return false;
	}
	if (!shadow_valid_user(f[0])) {
		shadow_bad_line(p, line, true, "user \"%s\": blank or "
		    "control character in the name", ubuf);
		return false;
	}
	for (i = 2; i < 8 && i < n; i++)
		if (shadow_parse_days(f[i], &days[i]) == -1) {
			shadow_bad_line(p, line, true, "user \"%s\": %s is "
			    "not a number of days", ubuf,
			    shadow_field_names[i]);
			return false;
		}
	for (; i < 8; i++)
		days[i] = -1;
	e->name = f[0];
	e->a.hash = f[1];
	e->a.lstchg = days[2];
	e->a.max = days[4];
	e->a.expire = days[7];
	e->line = line;
	/* Kept (the user is known and refused), but worth a word now
	 * rather than an "unusable hash" at the first login. */
	if (!shadow_locked(e->a.hash) && !shadow_usable(e->a.hash))
		shadow_bad_line(p, line, false, "user \"%s\": the hash is "
		    "not usable by this libcrypt; every password will be "
		    "refused", ubuf);
	return true;
}

static int
shadow_cmp_entry(const void *a, const void *b)
{
	const struct shadow_entry *x = *(struct shadow_entry *const *)a;
	const struct shadow_entry *y = *(struct shadow_entry *const *)b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

static int
shadow_cmp_key(const void *key, const void *elem)
{
	const struct shadow_entry *e = *(struct shadow_entry *const *)elem;

	return strcmp(key, e->name);
}

/* The dummy for unknown users: a fresh hash with the settings of the
 * first usable hash (in file order) of the file's commonest method, so
 * that it costs what the file's accounts cost; the system default when
 * the file has none. */
static void
shadow_pick_dummy(struct shadow_table *t, const char *fallback)
{
	struct {
		const char *first;
		size_t len, count;
	} seen[SHADOW_MAX_METHODS];
	size_t i, j, nseen = 0, best = SIZE_MAX;

	for (i = 0; i < t->nentries; i++) {
		const struct shadow_entry *e = &t->entries[i];
		const char *h = e->a.hash;
		size_t len = shadow_method_len(h);

		if (e->dup_of != 0 || shadow_locked(h) || !shadow_usable(h))
			continue;
		for (j = 0; j < nseen; j++)
			if (seen[j].len == len &&
			    memcmp(seen[j].first, h, len) == 0)
				break;
		if (j == nseen) {
			if (nseen == SHADOW_MAX_METHODS)
				continue;
			seen[nseen].first = h;
			seen[nseen].len = len;
			seen[nseen].count = 0;
			nseen++;
		}
		seen[j].count++;
	}
	for (j = 0; j < nseen; j++)
		if (best == SIZE_MAX || seen[j].count > seen[best].count)
			best = j;
	if (best == SIZE_MAX ||
	    shadow_make_dummy(t->dummy, seen[best].first) == -1)
		memcpy(t->dummy, fallback, CRYPT_OUTPUT_SIZE);
}

static int
shadow_parse(struct shadow_table *t, const char *path, size_t len,
    const char *fallback)
{
	struct shadow_parse p = { .path = path, .t = t };
	char ubuf[SHADOW_LOG_USER_MAX * 4 + 8];
	char *s = t->base.buf, *end = t->base.buf + len, *nl;
	size_t nlines = 1, n = 0, i, k;
	unsigned int line = 0;

	for (nl = s; (nl = memchr(nl, '\n', (size_t)(end - nl))) != NULL;
	    nl++)
		nlines++;
	if ((t->entries = calloc(nlines, sizeof(*t->entries))) == NULL ||
	    (t->sorted = calloc(nlines, sizeof(*t->sorted))) == NULL)
		return -1;
	while (s < end) {
		line++;
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		*nl = '\0';
		if (memchr(s, '\0', (size_t)(nl - s)) != NULL)
			shadow_bad_line(&p, line, true, "contains a NUL byte");
		else if (shadow_parse_line(&p, s, line, &t->entries[n]))
			n++;
		s = nl + 1;
	}
	t->nentries = n;

	/* Sorted by name then line: the first of a run of equal names is
	 * the one that counts. */
	for (i = 0; i < n; i++)
		t->sorted[i] = &t->entries[i];
	qsort(t->sorted, n, sizeof(*t->sorted), shadow_cmp_entry);
	for (i = 1; i < n; i++)
		if (strcmp(t->sorted[i]->name, t->sorted[i - 1]->name) == 0)
			t->sorted[i]->dup_of = t->sorted[i - 1]->dup_of != 0 ?
			    t->sorted[i - 1]->dup_of : t->sorted[i - 1]->line;
	/* warnings in line order */
	for (i = 0; i < n; i++) {
		if (t->entries[i].dup_of == 0)
			continue;
		am_escape(ubuf, sizeof(ubuf), t->entries[i].name,
		    SHADOW_LOG_USER_MAX);
		shadow_bad_line(&p, t->entries[i].line, true, "user \"%s\" is "
		    "already on line %u", ubuf, t->entries[i].dup_of);
	}
	for (i = k = 0; i < n; i++)
		if (t->sorted[i]->dup_of == 0)
			t->sorted[k++] = t->sorted[i];
	t->base.nusers = k;
	if (p.warnings > SHADOW_MAX_LINE_WARNINGS)
		am_log(LOG_WARNING, "%s: %u more malformed lines not shown",
		    path, p.warnings - SHADOW_MAX_LINE_WARNINGS);
	shadow_pick_dummy(t, fallback);
	return 0;
}

static int
shadow_parse_secfile(struct secfile_watch *w, struct secfile_table *t,
    size_t len)
{
	/* w and base are the first members */
	const struct shadow_state *st = (const struct shadow_state *)w;

	return shadow_parse((struct shadow_table *)t, w->path, len, st->dummy);
}

static void
shadow_table_free_secfile(struct secfile_table *t)
{
	shadow_table_free((struct shadow_table *)t);
}

static const struct secfile_kind shadow_kind = {
	.name = "shadow",
	.what = "shadow file",
	.key = "shadow_file",
	.max = SHADOW_MAX_SIZE,
	.table_size = sizeof(struct shadow_table),
	.parse = shadow_parse_secfile,
	.free = shadow_table_free_secfile,
};

static const struct shadow_entry *
shadow_table_find(const struct shadow_table *t, const char *login)
{
	struct shadow_entry *const *e;

	e = bsearch(login, t->sorted, t->base.nusers, sizeof(*t->sorted),
	    shadow_cmp_key);
	return e != NULL ? *e : NULL;
}

/* --- NSS ---------------------------------------------------------- */

/* One request's NSS answers; the buffers are wiped and freed by
 * shadow_nss_free(). */
struct shadow_nss {
	struct passwd pw;
	struct spwd sp;
	char *pwbuf, *spbuf;
	size_t pwlen, splen;
};

static void
shadow_nss_free(struct shadow_nss *n)
{
	if (n->pwbuf != NULL) {
		explicit_bzero(n->pwbuf, n->pwlen);
		free(n->pwbuf);
	}
	if (n->spbuf != NULL) {
		explicit_bzero(n->spbuf, n->splen);
		free(n->spbuf);
	}
	explicit_bzero(n, sizeof(*n));
}

static size_t
shadow_nss_bufsize(void)
{
	long n = sysconf(_SC_GETPW_R_SIZE_MAX);

	return n > 0 && n < SHADOW_MAX_NSSBUF ? (size_t)n : 1024;
}

/* "Not found" as getpwnam_r(3) lists the ways NSS modules say it. */
static bool
shadow_nss_notfound(int r)
{
	return r == 0 || r == ENOENT || r == ESRCH || r == EBADF ||
	    r == EPERM;
}

/* Whether the shadow file (the "files" NSS source) is readable by us;
 * false with errno set when it is not. */
static bool
shadow_file_readable(void)
{
	int fd, saved;

	if ((fd = open(_PATH_SHADOW, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		saved = errno;
		if (saved == ENOENT)
			return true;	/* NSS may get shadow elsewhere */
		errno = saved;
		return false;
	}
	close(fd);
	return true;
}

/* Look login up in passwd, then shadow.  Returns 1 with n->sp filled, 0
 * when the user is unknown (reason set), -1 on a temporary failure
 * (reason set). */
static int
shadow_nss_lookup(const char *login, struct shadow_nss *n,
    struct am_verdict *v)
{
	struct passwd *pwres = NULL;
	struct spwd *spres = NULL;
	size_t size = shadow_nss_bufsize();
	int r;

	memset(n, 0, sizeof(*n));
	for (;;) {
		if ((n->pwbuf = malloc(size)) == NULL)
			goto nomem;
		n->pwlen = size;
		r = getpwnam_r(login, &n->pw, n->pwbuf, size, &pwres);
		if (r != ERANGE || size >= SHADOW_MAX_NSSBUF)
			break;
		explicit_bzero(n->pwbuf, n->pwlen);
		free(n->pwbuf);
		n->pwbuf = NULL;
		size *= 2;
	}
	if (pwres == NULL) {
		if (shadow_nss_notfound(r)) {
			snprintf(v->reason, sizeof(v->reason),
			    "unknown user");
			return 0;
		}
		snprintf(v->reason, sizeof(v->reason), "getpwnam_r: %s",
		    strerror(r));
		return -1;
	}

	size = shadow_nss_bufsize();
	for (;;) {
		if ((n->spbuf = malloc(size)) == NULL)
			goto nomem;
		n->splen = size;
		errno = 0;
		r = getspnam_r(login, &n->sp, n->spbuf, size, &spres);
		if (r != ERANGE || size >= SHADOW_MAX_NSSBUF)
			break;
		explicit_bzero(n->spbuf, n->splen);
		free(n->spbuf);
		n->spbuf = NULL;
		size *= 2;
	}
	if (spres != NULL)
		return 1;
	/* With "shadow: files systemd" an unreadable /etc/shadow looks
	 * like a missing entry: ask the file itself. */
	if (r == EACCES || (shadow_nss_notfound(r) &&
	    !shadow_file_readable() && (errno == EACCES || errno == EPERM))) {
		snprintf(v->reason, sizeof(v->reason), "%s",
		    SHADOW_NOT_READABLE);
		return -1;
	}
	if (shadow_nss_notfound(r)) {
		/* in passwd only: this backend cannot check a password */
		snprintf(v->reason, sizeof(v->reason), "no shadow entry");
		return 0;
	}
	snprintf(v->reason, sizeof(v->reason), "getspnam_r: %s", strerror(r));
	return -1;
nomem:
	snprintf(v->reason, sizeof(v->reason), "out of memory");
	return -1;
}

/* Fail when the daemon cannot read the shadow database.  With nss-systemd
 * getspnam_r("root") succeeds for anyone (it makes a "!*" entry up), so
 * the file is tried too. */
static int
shadow_check_nss(const char **error_r)
{
	struct spwd sp, *res = NULL;
	char *buf;
	size_t size = shadow_nss_bufsize();
	int r;

	if (!shadow_file_readable() && (errno == EACCES || errno == EPERM)) {
		*error_r = SHADOW_NOT_READABLE;
		return -1;
	}
	if ((buf = malloc(size)) == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	r = getspnam_r("root", &sp, buf, size, &res);
	explicit_bzero(buf, size);
	free(buf);
	if (r == EACCES || r == EPERM) {
		*error_r = SHADOW_NOT_READABLE;
		return -1;
	}
	return 0;
}

/* --- the module --------------------------------------------------- */

static void
shadow_state_free(struct shadow_state *st)
{
	if (st == NULL)
		return;
	secfile_watch_stop(&st->w);
	sodium_memzero(st, sizeof(*st));
	free(st);
}

static int
shadow_preinit(const struct am_conf *conf, void **state, const char **error_r)
{
	struct shadow_state *st;
	const char *path;

	if (sodium_init() < 0) {
		*error_r = "libsodium cannot initialise";
		return -1;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	if (shadow_make_dummy(st->dummy, NULL) == -1) {
		*error_r = am_errorf("libcrypt cannot make a hash with its "
		    "default method: %s", strerror(errno));
		goto fail;
	}

	path = am_conf_str(conf, "shadow_file", NULL);
	if (path == NULL) {
		if (shadow_check_nss(error_r) == -1)
			goto fail;
		am_log(LOG_INFO, "shadow: accounts from NSS (passwd, shadow); "
		    "unknown users hashed with %.*s", (int)shadow_method_len(
		    st->dummy), st->dummy);
		*state = st;
		return 0;
	}
	if (secfile_watch_start(&st->w, &shadow_kind, conf, path, error_r) ==
	    -1)
		goto fail;
	*state = st;
	return 0;
fail:
	shadow_state_free(st);
	return -1;
}

/* After privileges are dropped (should the daemon ever drop them), the
 * shadow database may no longer be readable: say so now, not at the first
 * login. */
static int
shadow_init(void *state, const char **error_r)
{
	struct shadow_state *st = state;

	if (st->w.path == NULL)
		return shadow_check_nss(error_r);
	return 0;
}

static enum am_result
shadow_verify(void *state, const struct am_request *req, struct am_verdict *v)
{
	struct shadow_state *st = state;
	struct shadow_table *t = NULL;
	const struct shadow_entry *e;
	struct shadow_nss nss;
	struct shadow_account a;
	const char *dummy = st->dummy;
	long today;
	int found;
	bool pwok;
	enum am_result res = AM_DENY;

	memset(&nss, 0, sizeof(nss));
	if (st->w.path != NULL) {
		t = (struct shadow_table *)secfile_acquire(&st->w);
		dummy = t->dummy;
	}
	/* A password crypt_rn() cannot take (the daemon's codec lets up to
	 * 1024 bytes through; libxcrypt stops at 511) is hashed as "" when
	 * a dummy is run, and never matches. */
	pwok = req->password_len > 0 &&
	    req->password_len < CRYPT_MAX_PASSPHRASE_SIZE &&
	    strlen(req->password) == req->password_len;

	/* Who it is comes first, so that an unknown user is AM_NOUSER
	 * whatever the password, and the chain goes on. */
	if (!shadow_valid_user(req->login)) {
		found = 0;
		snprintf(v->reason, sizeof(v->reason), "unknown user");
	} else if (t != NULL) {
		if ((e = shadow_table_find(t, req->login)) != NULL) {
			a = e->a;
			found = 1;
		} else {
			found = 0;
			snprintf(v->reason, sizeof(v->reason),
			    "unknown user");
		}
	} else if ((found = shadow_nss_lookup(req->login, &nss, v)) == 1) {
		a.hash = nss.sp.sp_pwdp != NULL ? nss.sp.sp_pwdp : "";
		a.lstchg = nss.sp.sp_lstchg;
		a.max = nss.sp.sp_max;
		a.expire = nss.sp.sp_expire;
	}
	if (found == -1) {
		res = AM_TEMPFAIL;
		goto out;
	}
	if (found == 0) {
		shadow_dummy_check(dummy, pwok ? req->password : "");
		res = AM_NOUSER;
		goto out;
	}
	if (!pwok) {
		/* hash anyway: the time says nothing */
		shadow_dummy_check(dummy, "");
		snprintf(v->reason, sizeof(v->reason), "%s",
		    req->password_len == 0 ? "empty password" :
		    req->password_len >= CRYPT_MAX_PASSPHRASE_SIZE ?
		    "password too long" : "NUL byte in the password");
		goto out;
	}

	if (shadow_locked(a.hash)) {
		shadow_dummy_check(dummy, req->password);
		snprintf(v->reason, sizeof(v->reason), "%s", a.hash[0] ==
		    '\0' ? "account locked (empty password field)" :
		    "account locked");
		goto out;
	}
	switch (shadow_crypt_check(a.hash, req->password)) {
	case SHADOW_MATCH:
		break;
	case SHADOW_MISMATCH:
		snprintf(v->reason, sizeof(v->reason), "wrong password");
		goto out;
	case SHADOW_UNUSABLE:
		snprintf(v->reason, sizeof(v->reason), "unusable hash");
		goto out;
	case SHADOW_NOMEM:
		snprintf(v->reason, sizeof(v->reason), "out of memory");
		res = AM_TEMPFAIL;
		goto out;
	}

	/* the owner's password: now the account's state */
	today = (long)(time(NULL) / 86400);
	if (a.expire >= 0 && today >= a.expire)
		snprintf(v->reason, sizeof(v->reason), "account expired");
	else if (a.lstchg == 0)
		snprintf(v->reason, sizeof(v->reason),
		    "password must be changed");
	else if (a.lstchg > 0 && a.lstchg < SHADOW_MAX_DAYS && a.max >= 0 &&
	    a.max < SHADOW_MAX_DAYS && a.lstchg + a.max < today)
		snprintf(v->reason, sizeof(v->reason), "password expired");
	else
		res = AM_OK;
out:
	explicit_bzero(&a, sizeof(a));
	shadow_nss_free(&nss);
	if (t != NULL)
		secfile_release(&st->w, &t->base);
	return res;
}

static void
shadow_deinit(void *state)
{
	shadow_state_free(state);
}

const struct am_module authmux_module = {
	.abi = AM_MODULE_ABI,
	.name = "shadow",
	.description = "system accounts: getpwnam_r, getspnam_r, crypt_rn "
	    "(or a shadow(5) file)",
	.options = shadow_options,
	.preinit = shadow_preinit,
	.init = shadow_init,
	.verify = shadow_verify,
	.deinit = shadow_deinit,
};
