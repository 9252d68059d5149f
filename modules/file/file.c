/*
 * file.c -- the "file" backend: users and password hashes from a file.
 *
 * The file is htpasswd's and pam_pwdfile's format, one account a line:
 *
 *	user:hash
 *	user@realm:hash
 *
 * '#' starts a comment line; blank lines are ignored; trailing blanks and
 * a CR before the newline are dropped.  Fields after a second ':' are
 * ignored (pam_pwdfile and Dovecot's passwd-file put uid, gid... there),
 * so a {PLAIN} password cannot contain ':'.  User names are
 * case-sensitive and may not contain blanks or control characters.  The
 * hash formats are those of pwhash.h; a hash starting with '!' or '*'
 * locks the account (the user is known, every password is refused).  A
 * malformed line is logged as "path:line: what" and skipped; the rest of
 * the file still works.  When a user appears twice the first line wins.
 *
 * Realms: for a request with a realm, "login@realm" is looked up first,
 * then "login" -- entries without a realm hold in every realm, as in
 * shadow.  With -r the daemon sends login "user@realm"; the lookup is the
 * same ("user@realm", then "user").
 *
 * Reloading: every verify stat()s the file; when its inode, size, mtime or
 * ctime changed, the thread that noticed first reads it again while the
 * others carry on with the table they have.  Tables are reference-counted,
 * so a request in flight keeps the table it started with.  A reload that
 * fails keeps the old table and is logged once per change of the file.
 * Replace the file with rename(2) (as "htpasswd -c tmp; mv tmp file" or
 * an editor does) rather than rewriting it in place; a rewrite caught
 * half-way (the file changed while it was read) is not taken and is read
 * again on the next request.  Re-reads run with the daemon's privileges of
 * the moment: after a drop to "user", the file must stay readable by that
 * user for changes to be seen, which init checks (it runs after the
 * drop), so that the daemon says so at start rather than at the first
 * change.
 *
 * Unknown users: the password is still hashed, against the first hash of
 * the file's commonest scheme, so "no such user" costs what "wrong
 * password" does (as long as the file uses one cost per scheme).
 *
 * An empty password is refused even when the hash would match it.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#include "pwhash.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define FILE_DEFAULT_PATH SYSCONFDIR "/authmuxd.passwd"

/* Far beyond any real password file; keeps a wrong path (a disk image,
 * /dev/zero behind a symlink) from eating the memory. */
#define FILE_MAX_SIZE (256L * 1024 * 1024)
/* Malformed lines logged per load; a file of garbage must not flood. */
#define FILE_MAX_LINE_WARNINGS 20
/* Bytes of a user name that go into a log line. */
#define FILE_LOG_USER_MAX 64
/* Distinct schemes counted to choose the dummy hash. */
#define FILE_MAX_SCHEMES 32

/* What tells one version of the file from the next. */
struct file_entry {
	const char *user;	/* into file_table.buf */
	const char *hash;
	const char *scheme;	/* pwhash_check()'s name */
	size_t ulen;
	uint64_t h;
	unsigned int line;
};

struct file_table {
	struct secfile_table base;	/* buf: the file, cut into strings */
	struct file_entry *entries;
	size_t nentries;	/* including duplicates, which have user NULL */
	uint32_t *slots;	/* entry index + 1; 0 is empty */
	size_t mask;		/* number of slots - 1 */
	unsigned char key[crypto_shorthash_KEYBYTES];
	const char *dummy;	/* hash for unknown users, or NULL */
};

struct file_state {
	struct secfile_watch w;
};

static const struct am_option file_options[] = {
	{ .key = "file_path", .type = AM_OPT_PATH },
	{ .key = NULL },
};

static uint64_t
file_hash(const struct file_table *t, const char *s, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, (const unsigned char *)s, len, t->key);
	memcpy(&h, out, sizeof(h));
	return h;
}

static const struct file_entry *
file_lookup(const struct file_table *t, const char *user, size_t ulen)
{
	uint64_t h;
	size_t i;
	uint32_t slot;

	if (t->slots == NULL)
		return NULL;
	h = file_hash(t, user, ulen);
	for (i = h & t->mask; (slot = t->slots[i]) != 0;
	    i = (i + 1) & t->mask) {
		const struct file_entry *e = &t->entries[slot - 1];

		if (e->h == h && e->ulen == ulen &&
		    memcmp(e->user, user, ulen) == 0)
			return e;
	}
	return NULL;
}

/* Insert e (already in t->entries); returns the entry that holds its user
 * name when there is one. */
static const struct file_entry *
file_insert(struct file_table *t, size_t idx)
{
	struct file_entry *e = &t->entries[idx];
	size_t i;
	uint32_t slot;

	e->h = file_hash(t, e->user, e->ulen);
	for (i = e->h & t->mask; (slot = t->slots[i]) != 0;
	    i = (i + 1) & t->mask) {
		const struct file_entry *o = &t->entries[slot - 1];

		if (o->h == e->h && o->ulen == e->ulen &&
		    memcmp(o->user, e->user, e->ulen) == 0)
			return o;
	}
	t->slots[i] = (uint32_t)idx + 1;
	return NULL;
}

static void
file_table_free(struct file_table *t)
{
	if (t == NULL)
		return;
	secfile_table_wipe(&t->base);
	free(t->entries);
	free(t->slots);
	sodium_memzero(t, sizeof(*t));
	free(t);
}

struct file_parse {
	const char *path;
	unsigned int warnings;
};

static void file_bad_line(struct file_parse *p, struct file_table *t,
    unsigned int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
file_bad_line(struct file_parse *p, struct file_table *t, unsigned int line,
    const char *fmt, ...)
{
	char text[512];
	va_list ap;

	t->base.skipped++;
	if (p->warnings++ >= FILE_MAX_LINE_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	am_log(LOG_WARNING, "%s:%u: %s; line ignored", p->path, line, text);
}

static bool
file_valid_user(const char *u, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)u[i];

		if (c <= ' ' || c == 0x7f)
			return false;
	}
	return true;
}

/* Cut one line (without its newline) into an entry; false when it is a
 * comment, blank or malformed (logged). */
static bool
file_parse_line(struct file_parse *p, struct file_table *t, char *s,
    size_t len, unsigned int line, struct file_entry *e)
{
	char ubuf[FILE_LOG_USER_MAX * 4 + 8];
	const char *blank, *error;
	char *colon, *extra;

	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	    s[len - 1] == '\r'))
		len--;
	s[len] = '\0';
	blank = s + strspn(s, " \t");
	if (memchr(s, '\0', len) != NULL) {
		file_bad_line(p, t, line, "contains a NUL byte");
		return false;
	}
	if (*blank == '\0' || *blank == '#')
		return false;
	if ((colon = strchr(s, ':')) == NULL) {
		file_bad_line(p, t, line, "no ':' between user and hash");
		return false;
	}
	*colon = '\0';
	e->user = s;
	e->ulen = (size_t)(colon - s);
	e->hash = colon + 1;
	e->line = line;
	if (e->ulen == 0) {
		file_bad_line(p, t, line, "empty user name");
		return false;
	}
	am_escape(ubuf, sizeof(ubuf), e->user, FILE_LOG_USER_MAX);
	if (!file_valid_user(e->user, e->ulen)) {
		file_bad_line(p, t, line, "user \"%s\": blank or control "
		    "character in the name", ubuf);
		return false;
	}
	if ((extra = strchr(colon + 1, ':')) != NULL)
		*extra = '\0';
	if (*e->hash == '\0') {
		file_bad_line(p, t, line, "user \"%s\": empty hash", ubuf);
		return false;
	}
	if ((e->scheme = pwhash_check(e->hash, &error)) == NULL) {
		file_bad_line(p, t, line, "user \"%s\": %s", ubuf, error);
		return false;
	}
	return true;
}

/* The dummy for unknown users: the first hash of the commonest scheme,
 * leaving out locked entries, which cost nothing. */
static void
file_pick_dummy(struct file_table *t)
{
	struct {
		const char *name;
		size_t count;
		const char *first;
	} seen[FILE_MAX_SCHEMES];
	size_t i, j, nseen = 0, best = SIZE_MAX;

	for (i = 0; i < t->nentries; i++) {
		const struct file_entry *e = &t->entries[i];

		if (e->user == NULL || strcmp(e->scheme, "locked") == 0)
			continue;
		for (j = 0; j < nseen; j++)
			if (strcmp(seen[j].name, e->scheme) == 0)
				break;
		if (j == nseen) {
			if (nseen == FILE_MAX_SCHEMES)
				continue;
			seen[nseen].name = e->scheme;
			seen[nseen].count = 0;
			seen[nseen].first = e->hash;
			nseen++;
		}
		seen[j].count++;
	}
	for (j = 0; j < nseen; j++)
		if (best == SIZE_MAX || seen[j].count > seen[best].count)
			best = j;
	t->dummy = best != SIZE_MAX ? seen[best].first : NULL;
}

static int
file_parse(struct file_table *t, const char *path, size_t len)
{
	struct file_parse p = { .path = path };
	char *s = t->base.buf, *end = t->base.buf + len, *nl;
	size_t nlines = 0, nslots, i, n = 0, ndup = 0;
	unsigned int line = 0;
	const struct file_entry *dup;
	char ubuf[FILE_LOG_USER_MAX * 4 + 8];

	for (nl = s; nl < end && (nl = memchr(nl, '\n', end - nl)) != NULL;
	    nl++)
		nlines++;
	nlines++;
	if ((t->entries = calloc(nlines, sizeof(*t->entries))) == NULL)
		return -1;
	while (s < end) {
		line++;
		if ((nl = memchr(s, '\n', end - s)) == NULL)
			nl = end;
		if (file_parse_line(&p, t, s, (size_t)(nl - s), line,
		    &t->entries[n]))
			n++;
		s = nl + 1;
	}
	t->nentries = n;

	/* open addressing at a load factor of at most one half */
	for (nslots = 16; nslots < 2 * n; nslots *= 2)
		;
	if (n >= UINT32_MAX / 2 ||
	    (t->slots = calloc(nslots, sizeof(*t->slots))) == NULL)
		return -1;
	t->mask = nslots - 1;
	randombytes_buf(t->key, sizeof(t->key));
	for (i = 0; i < n; i++) {
		if ((dup = file_insert(t, i)) == NULL)
			continue;
		ndup++;
		am_escape(ubuf, sizeof(ubuf), t->entries[i].user,
		    FILE_LOG_USER_MAX);
		file_bad_line(&p, t, t->entries[i].line, "user \"%s\" is "
		    "already on line %u", ubuf, dup->line);
		/* mark it so the dummy choice skips it */
		t->entries[i].user = NULL;
	}
	t->base.nusers = n - ndup;
	if (p.warnings > FILE_MAX_LINE_WARNINGS)
		am_log(LOG_WARNING, "%s: %u more malformed lines not shown",
		    path, p.warnings - FILE_MAX_LINE_WARNINGS);
	file_pick_dummy(t);
	return 0;
}

static int
file_parse_secfile(struct secfile_watch *w, struct secfile_table *t,
    size_t len)
{
	/* base is the first member */
	return file_parse((struct file_table *)t, w->path, len);
}

static void
file_table_free_secfile(struct secfile_table *t)
{
	file_table_free((struct file_table *)t);
}

static const struct secfile_kind file_kind = {
	.name = "file",
	.what = "password file",
	.key = "file_path",
	.max = FILE_MAX_SIZE,
	.table_size = sizeof(struct file_table),
	.parse = file_parse_secfile,
	.free = file_table_free_secfile,
};

/* The entry for login in realm; see the top of the file. */
static const struct file_entry *
file_find(const struct file_table *t, const char *login, const char *realm)
{
	const struct file_entry *e;
	char stackbuf[512], *key;
	size_t llen = strlen(login), rlen = strlen(realm), klen;

	if (rlen == 0)
		return file_lookup(t, login, llen);
	if (llen > rlen && login[llen - rlen - 1] == '@' &&
	    memcmp(login + llen - rlen, realm, rlen) == 0) {
		/* -r joined them already */
		if ((e = file_lookup(t, login, llen)) != NULL)
			return e;
		return file_lookup(t, login, llen - rlen - 1);
	}
	klen = llen + 1 + rlen;
	if (klen < sizeof(stackbuf))
		key = stackbuf;
	else if ((key = malloc(klen + 1)) == NULL)
		return file_lookup(t, login, llen);
	memcpy(key, login, llen);
	key[llen] = '@';
	memcpy(key + llen + 1, realm, rlen);
	key[klen] = '\0';
	e = file_lookup(t, key, klen);
	if (key != stackbuf)
		free(key);
	if (e != NULL)
		return e;
	return file_lookup(t, login, llen);
}

static void
file_state_free(struct file_state *st)
{
	if (st == NULL)
		return;
	secfile_watch_stop(&st->w);
	free(st);
}

static int
file_preinit(const struct am_conf *conf, void **state, const char **error_r)
{
	struct file_state *st;

	if (sodium_init() < 0) {
		*error_r = "libsodium cannot initialise";
		return -1;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	if (secfile_watch_start(&st->w, &file_kind, conf, am_conf_str(conf,
	    "file_path", FILE_DEFAULT_PATH), error_r) == -1) {
		file_state_free(st);
		return -1;
	}
	*state = st;
	return 0;
}

static int
file_init(void *state, const char **error_r)
{
	struct file_state *st = state;

	if (access(st->w.path, R_OK) == -1) {
		*error_r = am_errorf("file_path: %s is not readable by uid %ld "
		    "(%s): it is read again whenever it changes; let the "
		    "daemon's user read it (a group of its own, mode 0640)",
		    st->w.path, (long)getuid(), strerror(errno));
		return -1;
	}
	return 0;
}

static enum am_result
file_verify(void *state, const struct am_request *req, struct am_verdict *v)
{
	struct file_state *st = state;
	struct file_table *t;
	const struct file_entry *e;
	const char *error;
	enum am_result res;

	t = (struct file_table *)secfile_acquire(&st->w);
	if ((e = file_find(t, req->login, req->realm)) == NULL) {
		if (t->dummy != NULL)
			pwhash_dummy(t->dummy, req->password,
			    req->password_len);
		snprintf(v->reason, sizeof(v->reason), "unknown user");
		res = AM_NOUSER;
	} else if (req->password_len == 0) {
		/* A hash of "" (mkpasswd and Enter) must not open the
		 * account to anyone; hash anyway so the time says nothing. */
		pwhash_dummy(e->hash, req->password, 0);
		snprintf(v->reason, sizeof(v->reason), "empty password");
		res = AM_DENY;
	} else {
		switch (pwhash_verify(e->hash, req->password,
		    req->password_len, &error)) {
		case 1:
			res = AM_OK;
			break;
		case 0:
			snprintf(v->reason, sizeof(v->reason),
			    "wrong password");
			res = AM_DENY;
			break;
		default:
			snprintf(v->reason, sizeof(v->reason), "%s", error);
			res = AM_DENY;
			break;
		}
	}
	secfile_release(&st->w, &t->base);
	return res;
}

static void
file_deinit(void *state)
{
	file_state_free(state);
}

const struct am_module authmux_module = {
	.abi = AM_MODULE_ABI,
	.name = "file",
	.description = "password file of user:hash lines (htpasswd, "
	    "pam_pwdfile)",
	.options = file_options,
	.preinit = file_preinit,
	.init = file_init,
	.verify = file_verify,
	.deinit = file_deinit,
};
