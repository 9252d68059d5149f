/*
 * test_expand.c -- saslauthd's ldap_filter tokens and their escaping,
 * table-driven: template, context, request, expected output (or NULL when
 * the expansion must fail).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../modules/ldap/expand.h"
#include "tap.h"

struct xcase {
	const char *tmpl;
	enum expand_ctx ctx;
	const char *login, *service, *realm, *dn;
	const char *want;	/* NULL: must fail */
};

#define F EXPAND_FILTER
#define D EXPAND_DN

static const struct xcase cases[] = {
	/* every token */
	{ "(uid=%u)", F, "alice", "smtp", "", NULL, "(uid=alice)" },
	{ "%%", F, "a", "", "", NULL, "%" },
	{ "100%%(uid=%u)", F, "a", "", "", NULL, "100%(uid=a)" },
	{ "(uid=%U)", F, "alice@example.org", "", "", NULL, "(uid=alice)" },
	{ "(mail=%u)", F, "alice@example.org", "", "", NULL,
	    "(mail=alice@example.org)" },
	{ "(o=%d)", F, "alice@example.org", "", "", NULL, "(o=example.org)" },
	/* %U and %d split at the first '@', as saslauthd */
	{ "%U|%d", F, "a@b@c", "", "", NULL, "a|b@c" },
	/* %d falls back to the realm when the login has no domain */
	{ "(o=%d)", F, "alice", "", "example.net", NULL, "(o=example.net)" },
	{ "(o=%d)", F, "alice", "", "", NULL, NULL },
	/* a trailing '@' is no domain */
	{ "(o=%d)", F, "alice@", "", "realm", NULL, "(o=realm)" },
	{ "dc=%2,dc=%1", D, "a@mail.example.org", "", "", NULL,
	    "dc=example,dc=org" },
	{ "%3", D, "a@mail.example.org", "", "", NULL, "mail" },
	{ "%4", D, "a@mail.example.org", "", "", NULL, NULL },
	{ "%1", F, "a", "", "example.com", NULL, "com" },
	{ "%9", F, "a@x", "", "", NULL, NULL },
	{ "%1", F, "a@x..y", "", "", NULL, "y" },
	{ "%2", F, "a@x..y", "", "", NULL, NULL },	/* empty label */
	{ "(svc=%s)", F, "a", "smtp", "", NULL, "(svc=smtp)" },
	{ "(r=%r)", F, "a", "", "EX", NULL, "(r=EX)" },
	{ "(r=%r)", F, "a", "", "", NULL, "(r=)" },
	{ "(mail=%U%R)", F, "a", "", "ex.org", NULL, "(mail=a@ex.org)" },
	{ "(mail=%U%R)", F, "a", "", "", NULL, "(mail=a)" },
	{ "(member=%D)", F, "a", "", "", "uid=a,dc=x",
	    "(member=uid=a,dc=x)" },
	{ "cn=g,%D", D, "a", "", "", "uid=a,dc=x", "cn=g,uid=a,dc=x" },
	{ "(member=%D)", F, "a", "", "", NULL, NULL },
	/* RFC 4515: * ( ) \ escaped in filters */
	{ "(uid=%u)", F, "*", "", "", NULL, "(uid=\\2a)" },
	{ "(uid=%u)", F, "a*", "", "", NULL, "(uid=a\\2a)" },
	{ "(uid=%u)", F, "x)(uid=*", "", "", NULL,
	    "(uid=x\\29\\28uid=\\2a)" },
	{ "(uid=%u)", F, "back\\slash", "", "", NULL, "(uid=back\\5cslash)" },
	{ "(uid=%u)", F, "a,b=c+d", "", "", NULL, "(uid=a,b=c+d)" },
	{ "(uid=%U)(o=%d)", F, "*@)(", "", "", NULL,
	    "(uid=\\2a)(o=\\29\\28)" },
	{ "(svc=%s)(r=%r)", F, "a", "*", "(", NULL, "(svc=\\2a)(r=\\28)" },
	{ "(member=%D)", F, "a", "", "", "cn=a\\2c*", "(member=cn=a\\5c2c\\2a)" },
	/* RFC 4514: DN specials escaped in DNs */
	{ "uid=%u,dc=x", D, "a,dc=evil", "", "", NULL,
	    "uid=a\\2cdc\\3devil,dc=x" },
	{ "uid=%u,dc=x", D, "a+b\"<>;\\", "", "", NULL,
	    "uid=a\\2bb\\22\\3c\\3e\\3b\\5c,dc=x" },
	{ "uid=%u,dc=x", D, " a ", "", "", NULL, "uid=\\20a\\20,dc=x" },
	{ "uid=%u,dc=x", D, "#a", "", "", NULL, "uid=\\23a,dc=x" },
	{ "uid=%u,dc=x", D, "a#b c", "", "", NULL, "uid=a#b c,dc=x" },
	{ "uid=%u,dc=x", D, "*()", "", "", NULL, "uid=*(),dc=x" },
	/* bad templates */
	{ "(uid=%x)", F, "a", "", "", NULL, NULL },
	{ "(uid=%u)%", F, "a", "", "", NULL, NULL },
	{ "no tokens", F, "a", "", "", NULL, "no tokens" },
	{ "", F, "a", "", "", NULL, "" },
};

int
main(void)
{
	char err[128], *out, *big, *huge;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct xcase *c = &cases[i];
		struct expand_vars v = { c->login, c->service, c->realm,
		    c->dn };
		int rc;

		err[0] = '\0';
		rc = expand(c->tmpl, c->ctx, &v, &out, err, sizeof(err));
		if (c->want == NULL)
			ok(rc == -1 && out == NULL && err[0] != '\0',
			    "\"%s\" with login \"%s\" fails (%s)", c->tmpl,
			    c->login, err);
		else
			ok(rc == 0 && strcmp(out, c->want) == 0,
			    "\"%s\" with login \"%s\" gives \"%s\" (got \"%s\")",
			    c->tmpl, c->login, c->want, rc == 0 ? out : err);
		free(out);
	}

	ok(expand_check("(uid=%u)") == NULL, "check: a good template passes");
	ok(expand_check("(uid=%q)") != NULL, "check: %%q is refused");
	ok(expand_check("50%") != NULL, "check: a trailing %% is refused");
	ok(expand_check("%%D") == NULL && !expand_uses("%%D", 'D'),
	    "check: %%%%D is a literal, not %%D");
	ok(expand_uses("(m=%D)", 'D') && !expand_uses("(uid=%u)", 'D'),
	    "expand_uses finds %%D");

	/* an expansion past EXPAND_MAX fails instead of being cut */
	big = malloc(4000);
	memset(big, '*', 3999);
	big[3999] = '\0';
	{
		struct expand_vars v = { big, "", "", NULL };

		ok(expand("%u%u", F, &v, &out, err, sizeof(err)) == -1 &&
		    strstr(err, "longer") != NULL,
		    "an expansion longer than EXPAND_MAX fails (%s)", err);
		ok(expand("(uid=%u)", D, &v, &out, err, sizeof(err)) == 0 &&
		    strlen(out) == 3999 + 6, "a long value that fits is whole");
		free(out);
	}
	huge = malloc(EXPAND_MAX + 2);
	memset(huge, 'a', EXPAND_MAX + 1);
	huge[EXPAND_MAX + 1] = '\0';
	ok(expand(huge, F, &(struct expand_vars){ "a", "", "", NULL }, &out,
	    err, sizeof(err)) == -1, "a template longer than EXPAND_MAX fails");
	free(big);
	free(huge);
	return tap_done();
}
