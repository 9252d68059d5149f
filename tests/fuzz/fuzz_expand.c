/*
 * fuzz_expand.c -- libFuzzer harness for the ldap_filter token expander
 * (modules/ldap/expand.c): the template is the admin's, the values the
 * client's.
 *
 * Input: one byte of flags (bit 0: DN context, else filter; bit 1: a DN
 * is known), then the template, login, service, realm and DN, separated
 * by NUL bytes (a missing one is "").
 *
 * Each token is expanded on its own ("%u", "%d"...), and the template as
 * a whole.  Invariants:
 *  - a result is NUL-terminated and at most EXPAND_MAX bytes; a failure
 *    returns no string and says why;
 *  - the whole is its literal text with each token's expansion in its
 *    place; it fails with the first token that fails (a missing value,
 *    or a bad token: expand_check()'s reason), else with "longer than"
 *    when the pieces come to more than EXPAND_MAX;
 *  - escaping: every '\' starts a \XX escape of two hex digits, and a
 *    byte is escaped exactly when it must be: in a filter '*', '(', ')'
 *    and '\' (RFC 4515); in a DN '"', '+', ',', ';', '<', '>', '\', '=',
 *    a '#' or ' ' first, a ' ' last (RFC 4514).  So no special character
 *    from a value ever stands unescaped;
 *  - values: undoing the escapes gives the login (%u), the login up to
 *    its first '@' (%U), the domain after it or else the realm (%d), that
 *    domain's labels from the right (%1-%9), the service (%s), the realm
 *    (%r), '@' and the realm or nothing (%R), the DN (%D; verbatim in a
 *    DN); a value that does not exist is a failure;
 *  - expand_uses() finds exactly the tokens the template has.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "../../modules/ldap/expand.h"

static const char tokens[] = "%uUdsrRD123456789";

struct piece {
	int rc;
	char *out;
	char err[160];
};

static void
check_result(int rc, const char *out, const char *err)
{
	CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		CHECK(out != NULL);
		CHECK(memchr(out, '\0', EXPAND_MAX + 1) != NULL);
		CHECK(strlen(out) <= EXPAND_MAX);
	} else
		CHECK(out == NULL && err[0] != '\0');
}

static bool
overflowed(const struct piece *p)
{
	return p->rc == -1 && strstr(p->err, "longer than") != NULL;
}

static bool
dn_must_escape(unsigned char c, size_t i, size_t n)
{
	if (c == '\0' || strchr("\"+,;<>\\=", c) != NULL)
		return true;
	return (i == 0 && (c == '#' || c == ' ')) || (i + 1 == n && c == ' ');
}

/* Lower case only: expand() writes "\\%02x", and anything else is news. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Undo the escapes of one value's expansion e, checking that they are
 * the ones ctx asks for, no more and no fewer.  Returns a malloc'd
 * string. */
static char *
unescape(const char *e, enum expand_ctx ctx)
{
	size_t n = strlen(e), i, o = 0;
	char *raw;
	bool *esc;

	if ((raw = malloc(n + 1)) == NULL || (esc = calloc(n + 1, 1)) == NULL)
		abort();
	for (i = 0; i < n; i++, o++) {
		if (e[i] != '\\') {
			raw[o] = e[i];
			continue;
		}
		CHECK(hexval(e[i + 1]) >= 0 && hexval(e[i + 2]) >= 0);
		raw[o] = (char)(hexval(e[i + 1]) << 4 | hexval(e[i + 2]));
		esc[o] = true;
		i += 2;
	}
	raw[o] = '\0';
	for (i = 0; i < o; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (ctx == EXPAND_FILTER)
			CHECK(esc[i] == (c == '*' || c == '(' || c == ')' ||
			    c == '\\' || c == '\0'));
		else
			CHECK(esc[i] == dn_must_escape(c, i, o));
	}
	free(esc);
	return raw;
}

/* The domain %d and %1-%9 read, or NULL. */
static const char *
domain_of(const struct expand_vars *v)
{
	const char *at = strchr(v->login, '@');

	if (at != NULL && at[1] != '\0')
		return at + 1;
	return v->realm[0] != '\0' ? v->realm : NULL;
}

/* Label k (1: rightmost) of d, into buf; false when there is none or it
 * is empty. */
static bool
label_of(const char *d, int k, char *buf)
{
	const char *end = d + strlen(d), *start;

	for (;;) {
		start = end;
		while (start > d && start[-1] != '.')
			start--;
		if (--k == 0)
			break;
		if (start == d)
			return false;
		end = start - 1;
	}
	memcpy(buf, start, (size_t)(end - start));
	buf[end - start] = '\0';
	return end > start;
}

static void
check_piece(char c, enum expand_ctx ctx, const struct expand_vars *v,
    const struct piece *p, const struct piece *realm)
{
	const char *dom = domain_of(v), *want = NULL;
	char *raw, *label = NULL;

	switch (c) {
	case '%':
		CHECK(p->rc == 0 && strcmp(p->out, "%") == 0);
		return;
	case 'R':
		if (v->realm[0] == '\0')
			CHECK(p->rc == 0 && p->out[0] == '\0');
		else if (realm->rc == 0 && strlen(realm->out) < EXPAND_MAX)
			CHECK(p->rc == 0 && p->out[0] == '@' &&
			    strcmp(p->out + 1, realm->out) == 0);
		else
			CHECK(overflowed(p));
		return;
	case 'D':
		if (v->dn == NULL) {
			CHECK(p->rc == -1 && !overflowed(p));
			return;
		}
		if (ctx == EXPAND_DN) {
			if (strlen(v->dn) > EXPAND_MAX)
				CHECK(overflowed(p));
			else
				CHECK(p->rc == 0 && strcmp(p->out, v->dn) == 0);
			return;
		}
		want = v->dn;
		break;
	case 'u':
		want = v->login;
		break;
	case 's':
		want = v->service;
		break;
	case 'r':
		want = v->realm;
		break;
	case 'U':
		if ((label = strdup(v->login)) == NULL)
			abort();
		label[strcspn(label, "@")] = '\0';
		want = label;
		break;
	case 'd':
		want = dom;
		break;
	default:	/* '1' to '9' */
		if (dom != NULL) {
			if ((label = malloc(strlen(dom) + 1)) == NULL)
				abort();
			if (label_of(dom, c - '0', label))
				want = label;
		}
		break;
	}
	if (want == NULL)
		CHECK(p->rc == -1 && !overflowed(p));
	else if (overflowed(p))
		/* an escape is 3 bytes: a shorter value always fits */
		CHECK(strlen(want) > EXPAND_MAX / 3);
	else {
		CHECK(p->rc == 0);
		raw = unescape(p->out, ctx);
		CHECK(strcmp(raw, want) == 0);
		free(raw);
	}
	free(label);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct piece pieces[128], whole, bad;
	const char *field[5] = { "", "", "", "", "" }, *syntax, *p, *lit;
	struct expand_vars v;
	enum expand_ctx ctx;
	char *buf, *want = NULL, *w;
	const struct piece *first_fail = NULL;
	bool used[128] = { false }, overflow = false;
	size_t i, nf = 0, len = 0;

	if (size == 0)
		return 0;
	ctx = data[0] & 1 ? EXPAND_DN : EXPAND_FILTER;
	buf = fuzz_strndup(data + 1, size - 1);
	for (p = buf; nf < 5; p += strlen(p) + 1) {
		field[nf++] = p;
		if (p + strlen(p) == buf + size - 1)
			break;
	}
	v = (struct expand_vars){ .login = field[1], .service = field[2],
	    .realm = field[3], .dn = data[0] & 2 ? field[4] : NULL };

	/* each token alone */
	for (i = 0; tokens[i] != '\0'; i++) {
		char tmpl[3] = { '%', tokens[i], '\0' };
		struct piece *pc = &pieces[(unsigned char)tokens[i]];

		pc->err[0] = '\0';
		pc->rc = expand(tmpl, ctx, &v, &pc->out, pc->err,
		    sizeof(pc->err));
		check_result(pc->rc, pc->out, pc->err);
		CHECK(expand_check(tmpl) == NULL);
	}
	for (i = 0; tokens[i] != '\0'; i++)
		check_piece(tokens[i], ctx, &v, &pieces[(unsigned char)tokens[i]],
		    &pieces['r']);

	/* the whole template: its pieces in turn, up to a bad token */
	whole.err[0] = '\0';
	whole.rc = expand(field[0], ctx, &v, &whole.out, whole.err,
	    sizeof(whole.err));
	check_result(whole.rc, whole.out, whole.err);
	syntax = expand_check(field[0]);
	bad.rc = -1;
	snprintf(bad.err, sizeof(bad.err), "%s", syntax ? syntax : "");
	for (lit = p = field[0]; (p = strchr(p, '%')) != NULL; lit = p += 2) {
		const struct piece *pc;

		if (p[1] == '\0' || strchr(tokens, p[1]) == NULL) {
			CHECK(syntax != NULL);
			if (first_fail == NULL)
				first_fail = &bad;
			break;
		}
		pc = &pieces[(unsigned char)p[1]];
		used[(unsigned char)p[1]] = true;
		len += (size_t)(p - lit);
		if (pc->rc == 0)
			len += strlen(pc->out);
		else if (overflowed(pc))
			overflow = true;
		else if (first_fail == NULL)
			first_fail = pc;
	}
	if (first_fail != NULL) {
		CHECK(whole.rc == -1 && strcmp(whole.err, first_fail->err) == 0);
		goto out;
	}
	CHECK(syntax == NULL);
	len += strlen(lit);
	for (i = 0; tokens[i] != '\0'; i++)
		CHECK(expand_uses(field[0], tokens[i]) ==
		    used[(unsigned char)tokens[i]]);
	if (overflow || len > EXPAND_MAX) {
		CHECK(whole.rc == -1 && strstr(whole.err, "longer than") != NULL);
		goto out;
	}
	CHECK(whole.rc == 0 && strlen(whole.out) == len);
	if ((w = want = malloc(len + 1)) == NULL)
		abort();
	for (lit = p = field[0]; (p = strchr(p, '%')) != NULL; lit = p += 2) {
		memcpy(w, lit, (size_t)(p - lit));
		w += p - lit;
		w = stpcpy(w, pieces[(unsigned char)p[1]].out);
	}
	strcpy(w, lit);
	CHECK(strcmp(whole.out, want) == 0);
out:
	for (i = 0; tokens[i] != '\0'; i++)
		free(pieces[(unsigned char)tokens[i]].out);
	free(whole.out);
	free(want);
	free(buf);
	return 0;
}
