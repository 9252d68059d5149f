/*
 * pwhash.c -- check a password against a stored hash; see pwhash.h.
 *
 * No primitive is implemented here: crypt(3) hashes go to libxcrypt's
 * crypt_rn(), $apr1$ to apr-util, the LDAP digests to OpenSSL's EVP,
 * base64 decoding and constant-time comparison to libsodium.
 */
#include <crypt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <apr_md5.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "pwhash.h"

enum pwkind {
	PW_CRYPT,	/* crypt(3) hash, whole string handed to crypt_rn */
	PW_APR1,
	PW_DIGEST,	/* {SHA} and friends: base64 of digest [+ salt] */
	PW_CRYPTWRAP,	/* {CRYPT}: a crypt(3) hash follows the prefix */
	PW_PLAIN,
	PW_LOCKED,
};

struct scheme {
	const char *prefix;	/* NULL: recognised by shape, not prefix */
	const char *name;
	enum pwkind kind;
	/* PW_DIGEST: digest size in bytes.  PW_CRYPT: length of the part
	 * after the last '$' (of the whole hash when it has none), which
	 * catches truncated lines at load time; 0 when it varies. */
	size_t len;
	bool salted;		/* PW_DIGEST */
	const EVP_MD *(*md)(void); /* PW_DIGEST */
	const char *malformed;	/* the error for a hash that is not usable */
};

/* Longest base64 value of an LDAP scheme we decode: a 64-byte digest
 * with a generous salt.  Real ones are 4 to 16 bytes of salt. */
#define DIGEST_RAW_MAX 320

/* The ascii64 alphabet of crypt(3). */
static const char ascii64[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Order matters where one prefix starts another: none do today. */
static const struct scheme crypt_schemes[] = {
	{ "$y$", "yescrypt", PW_CRYPT, 43, false, NULL,
	    "malformed yescrypt hash" },
	{ "$gy$", "gost-yescrypt", PW_CRYPT, 43, false, NULL,
	    "malformed gost-yescrypt hash" },
	{ "$7$", "scrypt", PW_CRYPT, 43, false, NULL,
	    "malformed scrypt hash" },
	{ "$2b$", "bcrypt", PW_CRYPT, 53, false, NULL,
	    "malformed bcrypt hash" },
	{ "$2y$", "bcrypt", PW_CRYPT, 53, false, NULL,
	    "malformed bcrypt hash" },
	{ "$2a$", "bcrypt", PW_CRYPT, 53, false, NULL,
	    "malformed bcrypt hash" },
	{ "$2x$", "bcrypt", PW_CRYPT, 53, false, NULL,
	    "malformed bcrypt hash" },
	{ "$6$", "sha512crypt", PW_CRYPT, 86, false, NULL,
	    "malformed sha512crypt hash" },
	{ "$5$", "sha256crypt", PW_CRYPT, 43, false, NULL,
	    "malformed sha256crypt hash" },
	{ "$sha1$", "sha1crypt", PW_CRYPT, 28, false, NULL,
	    "malformed sha1crypt hash" },
	{ "$md5,", "sunmd5", PW_CRYPT, 0, false, NULL,
	    "malformed sunmd5 hash" },
	{ "$md5$", "sunmd5", PW_CRYPT, 0, false, NULL,
	    "malformed sunmd5 hash" },
	{ "$1$", "md5crypt", PW_CRYPT, 22, false, NULL,
	    "malformed md5crypt hash" },
	{ "_", "bsdicrypt", PW_CRYPT, 20, false, NULL,
	    "malformed bsdicrypt hash" },
};

static const struct scheme descrypt_scheme = {
	NULL, "descrypt", PW_CRYPT, 13, false, NULL, "malformed descrypt hash"
};
static const struct scheme bigcrypt_scheme = {
	NULL, "bigcrypt", PW_CRYPT, 0, false, NULL, "malformed bigcrypt hash"
};
static const struct scheme apr1_scheme = {
	"$apr1$", "apr1", PW_APR1, 22, false, NULL, "malformed $apr1$ hash"
};
static const struct scheme locked_scheme = {
	NULL, "locked", PW_LOCKED, 0, false, NULL, "account locked"
};

/* Prefixes compare case-insensitively, as OpenLDAP and Dovecot do. */
static const struct scheme brace_schemes[] = {
	{ "{SSHA}", "SSHA", PW_DIGEST, 20, true, EVP_sha1,
	    "malformed {SSHA} hash" },
	{ "{SHA}", "SHA", PW_DIGEST, 20, false, EVP_sha1,
	    "malformed {SHA} hash" },
	{ "{SMD5}", "SMD5", PW_DIGEST, 16, true, EVP_md5,
	    "malformed {SMD5} hash" },
	{ "{MD5}", "MD5", PW_DIGEST, 16, false, EVP_md5,
	    "malformed {MD5} hash" },
	{ "{SSHA256}", "SSHA256", PW_DIGEST, 32, true, EVP_sha256,
	    "malformed {SSHA256} hash" },
	{ "{SHA256}", "SHA256", PW_DIGEST, 32, false, EVP_sha256,
	    "malformed {SHA256} hash" },
	{ "{SSHA384}", "SSHA384", PW_DIGEST, 48, true, EVP_sha384,
	    "malformed {SSHA384} hash" },
	{ "{SHA384}", "SHA384", PW_DIGEST, 48, false, EVP_sha384,
	    "malformed {SHA384} hash" },
	{ "{SSHA512}", "SSHA512", PW_DIGEST, 64, true, EVP_sha512,
	    "malformed {SSHA512} hash" },
	{ "{SHA512}", "SHA512", PW_DIGEST, 64, false, EVP_sha512,
	    "malformed {SHA512} hash" },
	{ "{CRYPT}", "CRYPT", PW_CRYPTWRAP, 0, false, NULL,
	    "malformed {CRYPT} hash" },
	/* Dovecot's names for the same thing */
	{ "{BLF-CRYPT}", "CRYPT", PW_CRYPTWRAP, 0, false, NULL,
	    "malformed {BLF-CRYPT} hash" },
	{ "{SHA512-CRYPT}", "CRYPT", PW_CRYPTWRAP, 0, false, NULL,
	    "malformed {SHA512-CRYPT} hash" },
	{ "{SHA256-CRYPT}", "CRYPT", PW_CRYPTWRAP, 0, false, NULL,
	    "malformed {SHA256-CRYPT} hash" },
	{ "{MD5-CRYPT}", "CRYPT", PW_CRYPTWRAP, 0, false, NULL,
	    "malformed {MD5-CRYPT} hash" },
	{ "{PLAIN}", "plain", PW_PLAIN, 0, false, NULL,
	    "empty {PLAIN} password" },
	{ "{CLEARTEXT}", "plain", PW_PLAIN, 0, false, NULL,
	    "empty {CLEARTEXT} password" },
};

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/* ASCII only: the C library's version follows the locale. */
static bool
prefix_ci(const char *s, const char *prefix)
{
	for (; *prefix != '\0'; s++, prefix++) {
		unsigned char a = (unsigned char)*s, b = (unsigned char)*prefix;

		if (a >= 'a' && a <= 'z')
			a -= 'a' - 'A';
		if (a != b)
			return false;
	}
	return true;
}

static bool
all_ascii64(const char *s)
{
	return s[strspn(s, ascii64)] == '\0';
}

static const struct scheme *
crypt_identify(const char *h)
{
	size_t i, len;

	for (i = 0; i < nitems(crypt_schemes); i++) {
		const char *p = crypt_schemes[i].prefix;

		if (strncmp(h, p, strlen(p)) == 0)
			return &crypt_schemes[i];
	}
	if (*h == '$' || !all_ascii64(h))
		return NULL;
	len = strlen(h);
	if (len == 13)
		return &descrypt_scheme;
	if (len > 13 && (len - 2) % 11 == 0)
		return &bigcrypt_scheme;
	return NULL;
}

/* Find hash's scheme by its prefix; *body_r is where the part that
 * scheme reads starts. */
static const struct scheme *
identify(const char *hash, const char **body_r)
{
	const struct scheme *s;
	size_t i;

	*body_r = hash;
	if (hash == NULL || *hash == '\0')
		return NULL;
	if (*hash == '!' || *hash == '*')
		return &locked_scheme;
	if (strncmp(hash, apr1_scheme.prefix, strlen(apr1_scheme.prefix)) == 0)
		return &apr1_scheme;
	if (*hash != '{')
		return crypt_identify(hash);
	for (i = 0; i < nitems(brace_schemes); i++) {
		s = &brace_schemes[i];
		if (!prefix_ci(hash, s->prefix))
			continue;
		*body_r = hash + strlen(s->prefix);
		if (s->kind == PW_CRYPTWRAP)
			return crypt_identify(*body_r);
		return s;
	}
	return NULL;
}

const char *
pwhash_scheme(const char *hash)
{
	const struct scheme *s;
	const char *body;

	s = identify(hash, &body);
	return s != NULL ? s->name : NULL;
}

/* Decode a PW_DIGEST value into raw and check its length against the
 * scheme.  Padding is required, as every tool writes it: otherwise a
 * value cut short by its '=' would still be taken. */
static int
digest_decode(const struct scheme *s, const char *b64, unsigned char *raw,
    size_t rawsize, size_t *rawlen)
{
	size_t len = strlen(b64);

	if (len == 0 || len > (rawsize / 3) * 4)
		return -1;
	if (sodium_base642bin(raw, rawsize, b64, len, NULL, rawlen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	if (s->salted ? *rawlen <= s->len : *rawlen != s->len)
		return -1;
	return 0;
}

static bool
crypt_well_formed(const struct scheme *s, const char *h)
{
	const char *tail;
	size_t len = strlen(h);

	if (len >= CRYPT_OUTPUT_SIZE)
		return false;
	switch (crypt_checksalt(h)) {
	case CRYPT_SALT_OK:
	case CRYPT_SALT_METHOD_LEGACY:
	case CRYPT_SALT_TOO_CHEAP:
		break;
	default:
		return false;
	}
	if (s->len == 0)
		return true;
	tail = strrchr(h, '$');
	tail = tail != NULL ? tail + 1 : h;
	return strlen(tail) == s->len;
}

static bool
apr1_well_formed(const char *h)
{
	const char *salt = h + strlen(apr1_scheme.prefix);
	size_t saltlen = strcspn(salt, "$");

	if (saltlen == 0 || saltlen > 8 || salt[saltlen] != '$')
		return false;
	return strlen(salt + saltlen + 1) == apr1_scheme.len &&
	    all_ascii64(salt + saltlen + 1);
}

/* The structural check both pwhash_check() and pwhash_verify() make. */
static const struct scheme *
classify(const char *hash, const char **body_r, const char **error_r)
{
	const struct scheme *s;
	unsigned char raw[DIGEST_RAW_MAX];
	size_t rawlen;
	bool good = true;

	if ((s = identify(hash, body_r)) == NULL) {
		*error_r = hash == NULL || *hash == '\0' ? "empty hash" :
		    "unsupported hash format";
		return NULL;
	}
	switch (s->kind) {
	case PW_CRYPT:
		good = crypt_well_formed(s, *body_r);
		break;
	case PW_APR1:
		good = apr1_well_formed(*body_r);
		break;
	case PW_DIGEST:
		good = digest_decode(s, *body_r, raw, sizeof(raw),
		    &rawlen) == 0;
		sodium_memzero(raw, sizeof(raw));
		break;
	case PW_PLAIN:
		/* an empty password must never let anyone in */
		good = **body_r != '\0';
		break;
	case PW_LOCKED:
	case PW_CRYPTWRAP:	/* identify() resolved it */
		break;
	}
	if (!good) {
		*error_r = s->malformed;
		return NULL;
	}
	return s;
}

const char *
pwhash_check(const char *hash, const char **error_r)
{
	const struct scheme *s;
	const char *body, *error;

	if ((s = classify(hash, &body, &error)) == NULL && error_r != NULL)
		*error_r = error;
	return s != NULL ? s->name : NULL;
}

static int
crypt_verify(const struct scheme *s, const char *hash, const char *pw,
    size_t pwlen, const char **error_r)
{
	struct crypt_data *cd;
	const char *out;
	size_t hlen = strlen(hash);
	int ret;

	/* libxcrypt would refuse it with ERANGE; it cannot be the password */
	if (pwlen > PWHASH_CRYPT_MAX)
		return 0;
	/* ~32 KiB: too much for a worker thread's stack.  calloc() gives
	 * the zeroed object crypt_rn() requires. */
	if ((cd = calloc(1, sizeof(*cd))) == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	/* crypt(3) says to keep phrase and setting in the object itself, so
	 * wiping it wipes every copy. */
	memcpy(cd->input, pw, pwlen);
	cd->input[pwlen] = '\0';
	memcpy(cd->setting, hash, hlen + 1);
	out = crypt_rn(cd->input, cd->setting, cd, (int)sizeof(*cd));
	if (out == NULL || *out == '*') {
		*error_r = s->malformed;
		ret = -1;
	} else if (strlen(out) != hlen) {
		/* A well-formed hash reproduces itself in full, except that
		 * bigcrypt's length follows the password's. */
		ret = s == &bigcrypt_scheme ? 0 : -1;
		if (ret == -1)
			*error_r = s->malformed;
	} else
		ret = sodium_memcmp(out, hash, hlen) == 0;
	sodium_memzero(cd, sizeof(*cd));
	free(cd);
	return ret;
}

static int
apr1_verify(const char *hash, const char *pw, size_t pwlen,
    const char **error_r)
{
	char out[120], *pwz;
	size_t hlen = strlen(hash);
	int ret;

	if ((pwz = malloc(pwlen + 1)) == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	memcpy(pwz, pw, pwlen);
	pwz[pwlen] = '\0';
	if (apr_md5_encode(pwz, hash, out, sizeof(out)) != APR_SUCCESS ||
	    strlen(out) != hlen) {
		*error_r = apr1_scheme.malformed;
		ret = -1;
	} else
		ret = sodium_memcmp(out, hash, hlen) == 0;
	sodium_memzero(out, sizeof(out));
	sodium_memzero(pwz, pwlen + 1);
	free(pwz);
	return ret;
}

static int
digest_verify(const struct scheme *s, const char *b64, const char *pw,
    size_t pwlen, const char **error_r)
{
	unsigned char raw[DIGEST_RAW_MAX], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t rawlen;
	EVP_MD_CTX *ctx;
	int ret = -1;

	if (digest_decode(s, b64, raw, sizeof(raw), &rawlen) == -1) {
		*error_r = s->malformed;
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		*error_r = "out of memory";
		goto out;
	}
	/* The salt follows the digest, and is hashed after the password. */
	if (EVP_DigestInit_ex(ctx, s->md(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, pw, pwlen) != 1 ||
	    (s->salted && EVP_DigestUpdate(ctx, raw + s->len,
	    rawlen - s->len) != 1) ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != s->len)
		/* e.g. MD5 or SHA-1 refused by a FIPS provider */
		*error_r = "digest not available from OpenSSL";
	else
		ret = sodium_memcmp(md, raw, s->len) == 0;
	EVP_MD_CTX_free(ctx);
out:
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(md, sizeof(md));
	return ret;
}

/* Compare digests rather than the strings so that the time taken says
 * nothing about where they differ or how long the stored one is. */
static int
plain_verify(const char *stored, const char *pw, size_t pwlen,
    const char **error_r)
{
	unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
	unsigned int alen = 0, blen = 0;
	int ret;

	if (EVP_Digest(stored, strlen(stored), a, &alen, EVP_sha256(),
	    NULL) != 1 ||
	    EVP_Digest(pw, pwlen, b, &blen, EVP_sha256(), NULL) != 1 ||
	    alen != blen) {
		*error_r = "digest not available from OpenSSL";
		ret = -1;
	} else
		ret = sodium_memcmp(a, b, alen) == 0;
	sodium_memzero(a, sizeof(a));
	sodium_memzero(b, sizeof(b));
	return ret;
}

int
pwhash_verify(const char *hash, const char *password, size_t pwlen,
    const char **error_r)
{
	const struct scheme *s;
	const char *body, *error = "";
	int ret;

	if ((s = classify(hash, &body, &error)) == NULL)
		ret = -1;
	else if (s->kind == PW_LOCKED) {
		error = s->malformed;
		ret = -1;
	} else if (memchr(password, '\0', pwlen) != NULL)
		/* crypt(3) would see only the bytes before it */
		ret = 0;
	else {
		switch (s->kind) {
		case PW_CRYPT:
			ret = crypt_verify(s, body, password, pwlen, &error);
			break;
		case PW_APR1:
			ret = apr1_verify(body, password, pwlen, &error);
			break;
		case PW_DIGEST:
			ret = digest_verify(s, body, password, pwlen, &error);
			break;
		case PW_PLAIN:
			ret = plain_verify(body, password, pwlen, &error);
			break;
		default:
			error = "unsupported hash format";
			ret = -1;
			break;
		}
	}
	if (error_r != NULL)
		*error_r = error;
	return ret;
}

void
pwhash_dummy(const char *hash, const char *password, size_t pwlen)
{
	const char *error;

	(void)pwhash_verify(hash, password, pwlen, &error);
}
