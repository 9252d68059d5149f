/*
 * expand.c -- ldap_filter token expansion with RFC 4515 / RFC 4514
 * escaping.  See expand.h.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expand.h"

struct obuf {
	char *p;
	size_t len, size;
	bool overflow;
};

static void
ob_putn(struct obuf *b, const char *s, size_t n)
{
	if (b->overflow || n > EXPAND_MAX - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
ob_hex(struct obuf *b, unsigned char c)
{
	char h[4];

	snprintf(h, sizeof(h), "\\%02x", c);
	ob_putn(b, h, 3);
}

/* RFC 4515 section 3: '*', '(', ')', '\' and NUL must be escaped. */
static bool
filter_special(unsigned char c)
{
	return c == '*' || c == '(' || c == ')' || c == '\\' || c == '\0';
}

/* RFC 4514 section 2.4: '"', '+', ',', ';', '<', '>', '\' anywhere
 * ('=' too, harmlessly), '#' or ' ' first, ' ' last, NUL. */
static bool
dn_special(unsigned char c, size_t i, size_t n)
{
	if (c == '\0' || strchr("\"+,;<>\\=", c) != NULL)
		return true;
	if (i == 0 && (c == '#' || c == ' '))
		return true;
	return i + 1 == n && c == ' ';
}

static void
ob_value(struct obuf *b, enum expand_ctx ctx, const char *s, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool esc = ctx == EXPAND_FILTER ? filter_special(c) :
		    dn_special(c, i, n);

		if (!esc)
			continue;
		ob_putn(b, s + start, i - start);
		ob_hex(b, c);
		start = i + 1;
	}
	ob_putn(b, s + start, n - start);
}

/* The domain of a login: after its first '@' (as saslauthd), or NULL. */
static const char *
login_domain(const char *login)
{
	const char *at = strchr(login, '@');

	return at != NULL && at[1] != '\0' ? at + 1 : NULL;
}

/* Label k (1 = rightmost) of the dotted name d: *lab, *n. */
static bool
domain_label(const char *d, int k, const char **lab, size_t *n)
{
	const char *end = d + strlen(d), *p = end;

	for (;;) {
		const char *start = p;

		while (start > d && start[-1] != '.')
			start--;
		if (--k == 0) {
			*lab = start;
			*n = (size_t)(p - start);
			return *n > 0;
		}
		if (start == d)
			return false;
		p = start - 1;
	}
}

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *
expand_check(const char *tmpl)
{
	const char *p;

	for (p = tmpl; (p = strchr(p, '%')) != NULL; p += 2) {
		if (p[1] == '\0')
			return "a '%' at the end (write %% for a '%')";
		if (strchr("%uUdsrRD123456789", p[1]) == NULL)
			return "unknown token (known: %% %u %U %d %1-%9 %s %r "
			    "%R %D)";
	}
	return NULL;
}

int
expand_uses(const char *tmpl, char c)
{
	const char *p;

	for (p = tmpl; (p = strchr(p, '%')) != NULL && p[1] != '\0'; p += 2)
		if (p[1] == c)
			return 1;
	return 0;
}

int
expand(const char *tmpl, enum expand_ctx ctx, const struct expand_vars *v,
    char **out, char *err, size_t errlen)
{
	struct obuf b = { 0 };
	const char *p, *lit, *dom;

	*out = NULL;
	if ((b.p = malloc(EXPAND_MAX + 1)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	b.size = EXPAND_MAX + 1;
	dom = login_domain(v->login);
	if (dom == NULL && v->realm[0] != '\0')
		dom = v->realm;
	for (lit = p = tmpl; (p = strchr(p, '%')) != NULL; lit = p += 2) {
		const char *s;
		size_t n;

		ob_putn(&b, lit, (size_t)(p - lit));
		switch (p[1]) {
		case '%':
			ob_putn(&b, "%", 1);
			break;
		case 'u':
			ob_value(&b, ctx, v->login, strlen(v->login));
			break;
		case 'U':
			s = strchr(v->login, '@');
			n = s != NULL ? (size_t)(s - v->login) :
			    strlen(v->login);
			ob_value(&b, ctx, v->login, n);
			break;
		case 'd':
			if (dom == NULL) {
				seterr(err, errlen, "%%d: the login has no "
				    "domain and there is no realm");
				goto fail;
			}
			ob_value(&b, ctx, dom, strlen(dom));
			break;
		case '1': case '2': case '3': case '4': case '5':
		case '6': case '7': case '8': case '9':
			if (dom == NULL || !domain_label(dom, p[1] - '0', &s,
			    &n)) {
				seterr(err, errlen, "%%%c: the domain has no "
				    "such label", p[1]);
				goto fail;
			}
			ob_value(&b, ctx, s, n);
			break;
		case 's':
			ob_value(&b, ctx, v->service, strlen(v->service));
			break;
		case 'r':
			ob_value(&b, ctx, v->realm, strlen(v->realm));
			break;
		case 'R':
			if (v->realm[0] != '\0') {
				ob_putn(&b, "@", 1);
				ob_value(&b, ctx, v->realm, strlen(v->realm));
			}
			break;
		case 'D':
			if (v->dn == NULL) {
				seterr(err, errlen, "%%D: the user's DN is "
				    "only known for group checks");
				goto fail;
			}
			/* a DN from the server is a DN already */
			if (ctx == EXPAND_DN)
				ob_putn(&b, v->dn, strlen(v->dn));
			else
				ob_value(&b, ctx, v->dn, strlen(v->dn));
			break;
		default:
			seterr(err, errlen, "%s", expand_check(tmpl));
			goto fail;
		}
	}
	ob_putn(&b, lit, strlen(lit));
	if (b.overflow) {
		seterr(err, errlen, "expansion longer than %d bytes",
		    EXPAND_MAX);
		goto fail;
	}
	b.p[b.len] = '\0';
	*out = b.p;
	return 0;
fail:
	free(b.p);
	return -1;
}
