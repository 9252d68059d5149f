/*
 * expand.h -- saslauthd's ldap_filter tokens, expanded with every value
 * escaped for where it lands: a search filter (RFC 4515) or a DN
 * (RFC 4514).  Pure functions; fuzzed (tests/fuzz/fuzz_expand.c).
 *
 * Tokens (as saslauthd's LDAP_SASLAUTHD documents them):
 *   %%      a '%'
 *   %u      the login as received ("alice" or "alice@example.org")
 *   %U      the login up to its first '@'
 *   %d      the login after its first '@'; the realm when the login has
 *           none (the documented behaviour, which saslauthd 2.1.27
 *           broke)
 *   %1-%9   labels of %d counted from the right: %1 the TLD
 *   %s      the service ("smtp")
 *   %r      the realm; ldap_default_realm when the request has none
 *   %R      "@" and the realm, or nothing when there is no realm
 *   %D      the user's DN (group checks only)
 *
 * A token whose value does not exist (%d with neither a domain nor a
 * realm, %3 of "example.org", %D before the DN is known) is an error,
 * never an empty string: "(&(uid=alice)(o=))" could match what nobody
 * meant.  A '%' followed by anything else, or at the end, is an error
 * too (check templates at load time with expand_check()).
 */
#ifndef AUTHMUX_LDAP_EXPAND_H
#define AUTHMUX_LDAP_EXPAND_H

#include <stddef.h>

enum expand_ctx {
	EXPAND_FILTER,		/* values escaped per RFC 4515 */
	EXPAND_DN,		/* values escaped per RFC 4514; %D verbatim */
};

struct expand_vars {
	const char *login;
	const char *service;
	const char *realm;	/* already defaulted; "" when none */
	const char *dn;		/* NULL until known */
};

/* Longest expansion; a longer result is an error. */
#define EXPAND_MAX 8192

/* Expand tmpl into a malloc'd string.  Returns 0, or -1 with *error_r
 * set to a static or per-call text (in err, errlen bytes). */
int expand(const char *tmpl, enum expand_ctx ctx,
    const struct expand_vars *v, char **out, char *err, size_t errlen);

/* Check tmpl's syntax only.  Returns NULL, or what is wrong. */
const char *expand_check(const char *tmpl);

/* Does tmpl use token c (e.g. 'D')? */
int expand_uses(const char *tmpl, char c);

#endif
