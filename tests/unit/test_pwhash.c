/*
 * test_pwhash.c -- pwhash against hashes made by each format's own tool.
 *
 * Every vector below was generated once with the command in its comment
 * and pasted in; none is computed by the code under test.  P is the
 * password of all of them unless the row says otherwise.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pwhash.h"
#include "tap.h"

#define P "correct horse battery"
/* differs in the first character: descrypt reads only 8 */
#define WRONG "Correct horse battery"
#define U "p\xc3\xa4ssw\xc3\xb6rd \xc3\xbcn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9"

struct vec {
	const char *hash;
	const char *password;
	const char *scheme;
	/* pwhash_check() must refuse the hash cut short by one character
	 * (formats of fixed length); verify must never match it anyway */
	bool fixed_len;
};

static const struct vec vecs[] = {
	/* mkpasswd -m yescrypt "$P" */
	{ "$y$j9T$hWuHWbreAAM6KOgeY0CjP0$zPGNco4BiHvy2QsQZGKZ/j76W.9278I0SN.68X64UG.",
	    P, "yescrypt", true },
	/* mkpasswd -m gost-yescrypt "$P" */
	{ "$gy$j9T$HZG18hQMUtL0wBah3mG2Q.$7sfXqnK1RfL3h9rPwM6XUi/CWAvLxCBibEyz1nuKC72",
	    P, "gost-yescrypt", true },
	/* mkpasswd -m scrypt "$P" */
	{ "$7$CU..../....EWB9d/zTI9IZPMAt5BkTr/$ZZmQ/ykZ5VJy3iIDaUvwvU38wqFX2O9zPij6OrZ/rk/",
	    P, "scrypt", true },
	/* mkpasswd -m sha-512 "$P" */
	{ "$6$/4OxdkYZDlbSqGkm$3pFeTpNnYgXy7fXNo6luWdofsMF35C2KnnYIHJIClVLqPaznuDRklLupYHueZJRF2xkthlNfbDHu14EOF9Soe0",
	    P, "sha512crypt", true },
	/* mkpasswd -m sha512crypt -R 10000 "$P" */
	{ "$6$rounds=10000$enjppmA0dwCF9yBi$3sG./XwNPbrZIqo0NZ89jMnVHsu15SMIAYeWr8GQajcb60ztTg1wYMHq6JrdK2CYgaAZFog3VCO8HvIJH1CB6.",
	    P, "sha512crypt", true },
	/* mkpasswd -m sha-512 "$U" (UTF-8) */
	{ "$6$PR6Ow4M4SaYg85Ag$.jwX1nhWpk0PCSHyAxs6Ef.h0meowBCxAotsF4Mj3z848oUz42bqhkjHvMWzbnn2gdH/15fgoa0kjuyRjgI6X.",
	    U, "sha512crypt", true },
	/* openssl passwd -6 "$P" */
	{ "$6$BbItVnUuB3fJW2Od$.NB9t8itCQVzCoouUhiWO2kbraD7RRMmzHnZceTajz4UPMkeHBLvZRiLnVGHTz0n2TL0IN4ZzSxdoEWOPM1pl0",
	    P, "sha512crypt", true },
	/* mkpasswd -m sha-256 "$P" */
	{ "$5$BD5mUokJ/45ZOebl$wePd9Mdn9RSAZQksAs.gdk7FKZNzsd.3XOzM99my8G.",
	    P, "sha256crypt", true },
	/* openssl passwd -5 "$P" */
	{ "$5$cPQngTz.Ky18IB3e$xlA697Edh3vhQFuhyXj26Ba2yD.3TV5aYlEaJbD8bWD",
	    P, "sha256crypt", true },
	/* mkpasswd -m md5crypt "$P" */
	{ "$1$HzeIp/ys$LLvavfutlE0u5W3vmX69X/", P, "md5crypt", true },
	/* openssl passwd -1 "$P" */
	{ "$1$41/MVVqj$JMf4lWDh1AKE3B/xeL3.f/", P, "md5crypt", true },
	/* mkpasswd -m bcrypt "$P" */
	{ "$2b$05$HZ.WFhsXSbyAGtoo1QODcugQZhRYxky3guyNe9178dJ43i/8VeaDu",
	    P, "bcrypt", true },
	/* mkpasswd -m bcrypt-a "$P" */
	{ "$2a$05$3s2uAIYK7xgk27OsyynytO7M1qmZHlRyxh7vRg34a0nnGLO9uQJ/y",
	    P, "bcrypt", true },
	/* htpasswd -nbB u "$P" */
	{ "$2y$05$vHEnRQf2DRahB7xZlrl38.mAq08N/tTxscDIAYR5YlHSI0/Z4YXW2",
	    P, "bcrypt", true },
	/* mkpasswd -m sunmd5 "$P" */
	{ "$md5,rounds=68084$E5OuGCRx$$GBYaZANZ7xOj8ZksQZgGC0",
	    P, "sunmd5", false },
	/* mkpasswd -m descrypt "$P" */
	{ "Om/jZD3DdyjSc", P, "descrypt", true },
	/* mkpasswd -m descrypt "$P" Ab */
	{ "Ab1NJXq7XTExo", P, "descrypt", true },
	/* htpasswd -nbd u "$P" (truncates to 8 characters) */
	{ "wgUvCvB3bIQ56", P, "descrypt", true },
	/* mkpasswd -m bsdicrypt "$P" */
	{ "_J9../0pqqdYPtt0.g2M", P, "bsdicrypt", true },
	/* htpasswd -nbm u "$P" */
	{ "$apr1$1CX7TVfO$QIJ8g2HTYSOMjP/ZGx2gJ.", P, "apr1", true },
	/* openssl passwd -apr1 "$P" */
	{ "$apr1$fWzlnPfV$PTPRfxa6rHJsPBBJeoEwO/", P, "apr1", true },
	/* htpasswd -nbm u "$U" */
	{ "$apr1$DwZEGZOf$tE5r/yIW7ljhBBTliuJ3h1", U, "apr1", true },
	/* htpasswd -nbs u "$P"; slappasswd -h {SHA} -s "$P" gives the same */
	{ "{SHA}mN7MYuzjmaIu0w1JDvMzvn/ec4U=", P, "SHA", true },
	/* slappasswd -h {SSHA} -s "$P" */
	{ "{SSHA}D4ttLLBoSeFmOvo2unMrNIrHkQuHKb8n", P, "SSHA", false },
	/* slappasswd -h {SSHA} -s "$U" */
	{ "{SSHA}KcM+Z9B4RFDSdJoZWnOqiRmkKtwkPZGK", U, "SSHA", false },
	/* an 8-byte salt, which slappasswd does not make:
	 * (printf %s "$P"; printf saltsalt) | openssl dgst -sha1 -binary >d;
	 * printf saltsalt >>d; base64 -w0 d */
	{ "{SSHA}+zgJCcduvLFhD+Rk7/v3C0FqyKpzYWx0c2FsdA==", P, "SSHA", false },
	/* the same, prefix in lower case as some tools write it */
	{ "{ssha}+zgJCcduvLFhD+Rk7/v3C0FqyKpzYWx0c2FsdA==", P, "SSHA", false },
	/* slappasswd -h {MD5} -s "$P" */
	{ "{MD5}iOTd0kAtktUOGHnW7Nn/1A==", P, "MD5", true },
	/* slappasswd -h {SMD5} -s "$P" */
	{ "{SMD5}qxVCh456T10IKJK+2Dfb4S5R4ZE=", P, "SMD5", false },
	/* slappasswd -o module-load=pw-sha2 -h {SHA256} -s "$P"; equal to
	 * printf %s "$P" | openssl dgst -sha256 -binary | base64 */
	{ "{SHA256}kCjqDRXeyqNbLaIcApCvOxpboKMKWRkG+JtQdOIJ6nI=",
	    P, "SHA256", true },
	/* slappasswd -o module-load=pw-sha2 -h {SSHA256} -s "$P" */
	{ "{SSHA256}5EqZNA+xSVsHbCsZ4NLdgHwk38gK5QciGKYM8DtMox2NTrTajDm8GA==",
	    P, "SSHA256", false },
	/* slappasswd -o module-load=pw-sha2 -h {SHA384} -s "$P" */
	{ "{SHA384}k53wsC79ptIyqGppP00J4fKOlJKHV7UGCIIhoE5jZ7O7oYDJ/FAOTfE90RmiYtL8",
	    P, "SHA384", true },
	/* slappasswd -o module-load=pw-sha2 -h {SSHA384} -s "$P" */
	{ "{SSHA384}ajj3WX8iybHBJwzTKa2aRxhSjrjnFRBePC6GSg45XHF2hceotPmrfl/SaKbdwkYWI+sojJo0R0c=",
	    P, "SSHA384", false },
	/* slappasswd -o module-load=pw-sha2 -h {SHA512} -s "$P" */
	{ "{SHA512}zvYeTk7ae6ii/qoSBhf896UTrZIEQjsl4kO30/VW+ShT6VsVatr/3Zon0OUHNq1qa7zFDOipvTUWL315nomlIQ==",
	    P, "SHA512", true },
	/* slappasswd -o module-load=pw-sha2 -h {SSHA512} -s "$P" */
	{ "{SSHA512}5OEJMDm6NfPtkci/0Uy9f6XtAJsek6+cW4onJjR4aWIfFDM7xzFiA4iJxmwfjfFSzv69WE/GLb5XKU5zgpA12ptKrNAbkymC",
	    P, "SSHA512", false },
	/* (printf %s "$P"; printf 0123456789abcdef) | openssl dgst -sha512
	 * -binary >d; printf 0123456789abcdef >>d; base64 -w0 d */
	{ "{SSHA512}oPyhqe9RL6mCARWRxqN2hQ4wvLweJ6I++ZVMYeXnVe7mFwb9HGmRfJP21Aq1RZLAVUvtNtoiip/1YaQVn4jxNDAxMjM0NTY3ODlhYmNkZWY=",
	    P, "SSHA512", false },
	/* slappasswd -h {CRYPT} -s "$P": the default 31-character salt
	 * makes libxcrypt produce bigcrypt */
	{ "{CRYPT}8qWYZhCFul.pcoHJxxHp0hDc41Z.jAR9f9o", P, "bigcrypt", false },
	/* slappasswd -c '$6$%.16s' -s "$P" */
	{ "{CRYPT}$6$Vr1ra4olIWtiFgkn$aj6W1gkvY0RvCWQnVSe6jMfAKDOaLcSGKxSzBFGl4soWzg1PEo0buSSNdZQ6ld8oA1ivKRrLvf9CJyYMYjzAu0",
	    P, "sha512crypt", true },
	/* slappasswd -c '$5$%.16s' -s "$P" */
	{ "{CRYPT}$5$ZJai0OXxOZoN5tPH$7Vsb3AYAfVFZW3EZc8xUitp0fBWoVm.UN1p.elu6ZI0",
	    P, "sha256crypt", true },
	/* slappasswd -c '$1$%.8s' -s "$P", prefix as Dovecot writes it */
	{ "{MD5-CRYPT}$1$nuLsNJXQ$IPegV/ZJSvdsX1Vp9sKbB1", P, "md5crypt",
	    true },
	/* explicit cleartext, the only cleartext accepted */
	{ "{PLAIN}" P, P, "plain", false },
	{ "{cleartext}" U, U, "plain", false },
};

/* Each must be refused (-1) by verify, and by check unless it is in
 * check_misses, without a crash. */
static const char *const garbage[] = {
	"", "*", "!", "!!", "*LK*", "x", "plaintext-password",
	"$", "$6$", "$y$", "$2b$", "$1$", "$5$", "$7$", "$gy$", "$md5",
	"$6$saltsalt", "$6$saltsalt$", "$y$j9T$", "$y$j9T$salt$",
	"$2b$05$", "$2b$99$HZ.WFhsXSbyAGtoo1QODcugQZhRYxky3guyNe9178dJ43i/8VeaDu",
	"$2b$05$HZ.WFhsXSbyAGtoo1QODcugQZhRYxky3guyNe9178dJ43i/8VeaD!",
	"$6$/4OxdkYZDlbSqGkm$3pFeTpNnYgXy7fXNo6luWdofsMF35C2KnnYIHJIClVLqPaznuDRklLupYHueZJRF2xkthlNfbDHu14EOF9Soe0x",
	"$apr1$", "$apr1$abc", "$apr1$abc$", "$apr1$123456789$QIJ8g2HTYSOMjP/ZGx2gJ.",
	"{SSHA}", "{SSHA}!!!", "{SSHA}YWJj", "{SSHA}YWJjZA==",
	"{SSHA}mN7MYuzjmaIu0w1JDvMzvn/ec4U=",	/* digest, no salt */
	"{SHA}", "{SHA}AAAA", "{SHA}mN7MYuzjmaIu0w1JDvMzvn/ec4U=x",
	"{SHA}mN7MYuzjmaIu0w1JDvMzvn/ec4U= ", "{MD5}iOTd0kAtktUOGHnW7Nn/1A",
	"{SSHA512}AAAA", "{CRYPT}", "{CRYPT}*", "{CRYPT}{SSHA}YWJj",
	"{CRYPT}$apr1$1CX7TVfO$QIJ8g2HTYSOMjP/ZGx2gJ.",
	"{PLAIN}", "{CLEARTEXT}", "{UNKNOWN}abc", "{", "{}", "{SSHA",
	/* mkpasswd -m nt "$P": unsalted MD4, refused on purpose */
	"$3$$3d211b74dd729be1e552b4727594f3eb",
	/* usermod -L style: a real hash behind '!' is still locked */
	"!$1$HzeIp/ys$LLvavfutlE0u5W3vmX69X/",
	"_J9..", "Om/jZD3Ddy", "Om/jZD3DdyjS!",
};

/* Well-formed but for a parameter only crypt_rn() judges; pwhash.h says
 * check may pass them. */
static const char *const check_misses[] = {
	"$2b$99$HZ.WFhsXSbyAGtoo1QODcugQZhRYxky3guyNe9178dJ43i/8VeaDu",
};

static bool
check_may_miss(const char *h)
{
	size_t i;

	for (i = 0; i < sizeof(check_misses) / sizeof(check_misses[0]); i++)
		if (strcmp(h, check_misses[i]) == 0)
			return true;
	return false;
}

static void
test_vectors(void)
{
	char trunc[512], padded[600];
	const char *err;
	size_t i, hlen, plen;
	int r;

	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];
		const char *s = pwhash_scheme(v->hash);

		plen = strlen(v->password);
		ok(s != NULL && strcmp(s, v->scheme) == 0,
		    "%s: scheme %s", v->hash, s != NULL ? s : "(null)");
		err = NULL;
		s = pwhash_check(v->hash, &err);
		ok(s != NULL && strcmp(s, v->scheme) == 0,
		    "%s: check passes (%s)", v->hash, err ? err : "");
		err = NULL;
		r = pwhash_verify(v->hash, v->password, plen, &err);
		ok(r == 1, "%s: right password matches (%d %s)", v->hash, r,
		    r == -1 ? err : "");
		r = pwhash_verify(v->hash, WRONG, strlen(WRONG), &err);
		ok(r == 0, "%s: wrong password does not (%d)", v->hash, r);
		/* descrypt reads 8 characters, so P short by one matches */
		if (strcmp(v->scheme, "descrypt") != 0) {
			r = pwhash_verify(v->hash, v->password, plen - 1,
			    &err);
			ok(r == 0, "%s: password short by one does not (%d)",
			    v->hash, r);
		}
		r = pwhash_verify(v->hash, "", 0, &err);
		ok(r == 0, "%s: empty password does not (%d)", v->hash, r);

		/* the right password followed by a NUL and more: crypt(3)
		 * alone would stop at the NUL and say yes */
		memcpy(padded, v->password, plen);
		memcpy(padded + plen, "\0junk", 5);
		r = pwhash_verify(v->hash, padded, plen + 5, &err);
		ok(r == 0, "%s: password with NUL does not match (%d)",
		    v->hash, r);

		hlen = strlen(v->hash);
		memcpy(trunc, v->hash, hlen - 1);
		trunc[hlen - 1] = '\0';
		err = NULL;
		r = pwhash_verify(trunc, v->password, plen, &err);
		ok(r == 0 || (r == -1 && err != NULL && *err != '\0'),
		    "%s: truncated hash gives %d (%s)", v->hash, r,
		    r == -1 ? err : "no match");
		if (v->fixed_len)
			ok(pwhash_check(trunc, &err) == NULL,
			    "%s: check catches the truncation", v->hash);
	}
}

static void
test_garbage(void)
{
	const char *err, *s;
	size_t i;
	int r;

	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		err = NULL;
		r = pwhash_verify(garbage[i], P, strlen(P), &err);
		ok(r == -1 && err != NULL && *err != '\0',
		    "garbage \"%s\": verify %d (%s)", garbage[i], r,
		    err ? err : "no error");
		r = pwhash_verify(garbage[i], "", 0, &err);
		ok(r == -1, "garbage \"%s\", empty password: verify %d",
		    garbage[i], r);
		err = NULL;
		s = pwhash_check(garbage[i], &err);
		if (s == NULL || strcmp(s, "locked") == 0)
			ok(1, "garbage \"%s\": check refuses it (%s)",
			    garbage[i], s != NULL ? s : err);
		else
			ok(check_may_miss(garbage[i]),
			    "garbage \"%s\": check passes it as %s",
			    garbage[i], s);
		pwhash_dummy(garbage[i], P, strlen(P));
	}
}

static void
test_misc(void)
{
	char *big;
	const char *err = NULL;
	int r;

	r = pwhash_verify(NULL, P, strlen(P), &err);
	ok(r == -1 && err != NULL, "NULL hash: -1 (%s)", err ? err : "");
	ok(pwhash_scheme(NULL) == NULL, "NULL hash: no scheme");
	ok(pwhash_verify("{PLAIN}x", "x", 1, NULL) == 1,
	    "error_r may be NULL");
	ok(pwhash_verify("*", "x", 1, NULL) == -1,
	    "error_r may be NULL on error");

	err = NULL;
	r = pwhash_verify("!$1$HzeIp/ys$LLvavfutlE0u5W3vmX69X/", P, strlen(P),
	    &err);
	ok(r == -1 && err != NULL && strcmp(err, "account locked") == 0,
	    "locked hash: -1 \"%s\"", err ? err : "");
	ok(pwhash_scheme("!") != NULL &&
	    strcmp(pwhash_scheme("!"), "locked") == 0, "'!' is locked");
	ok(pwhash_scheme("*") != NULL &&
	    strcmp(pwhash_scheme("*"), "locked") == 0, "'*' is locked");
	ok(pwhash_scheme("correct horse battery") == NULL,
	    "a bare string is not a cleartext password");
	r = pwhash_verify("plain", "plain", 5, &err);
	ok(r == -1, "a bare string never matches itself (%d)", r);
	err = NULL;
	if (pwhash_check("{SSHA}!!!", &err) != NULL)
		err = "passed";
	ok(err != NULL && strcmp(err, "malformed {SSHA} hash") == 0,
	    "error names the scheme: %s", err ? err : "");
	err = NULL;
	if (pwhash_check("{FOO}bar", &err) != NULL)
		err = "passed";
	ok(err != NULL && strcmp(err, "unsupported hash format") == 0,
	    "unknown scheme: %s", err ? err : "");
	err = NULL;
	if (pwhash_check("", &err) != NULL)
		err = "passed";
	ok(err != NULL && strcmp(err, "empty hash") == 0,
	    "empty hash: %s", err ? err : "");

	/* lengths far beyond anything real, on every path */
	big = malloc(5001);
	memset(big, 'A', 5000);
	big[5000] = '\0';
	memcpy(big, "{SSHA}", 6);
	ok(pwhash_verify(big, P, strlen(P), &err) == -1, "huge {SSHA}: -1");
	memcpy(big, "$6$xx$", 6);
	ok(pwhash_verify(big, P, strlen(P), &err) == -1, "huge $6$: -1");
	memcpy(big, "$apr1$", 6);
	ok(pwhash_verify(big, P, strlen(P), &err) == -1, "huge $apr1$: -1");
	memcpy(big, "{PLAIN}", 7);
	ok(pwhash_verify(big, big + 7, 4993, &err) == 1, "huge {PLAIN}: 1");
	/* a long password against each family */
	ok(pwhash_verify("$6$/4OxdkYZDlbSqGkm$3pFeTpNnYgXy7fXNo6luWdofsMF35C2KnnYIHJIClVLqPaznuDRklLupYHueZJRF2xkthlNfbDHu14EOF9Soe0",
	    big, 5000, &err) == 0, "5000-byte password, sha512crypt: 0");
	ok(pwhash_verify("$apr1$1CX7TVfO$QIJ8g2HTYSOMjP/ZGx2gJ.", big, 5000,
	    &err) == 0, "5000-byte password, apr1: 0");
	ok(pwhash_verify("{SSHA}D4ttLLBoSeFmOvo2unMrNIrHkQuHKb8n", big, 5000,
	    &err) == 0, "5000-byte password, {SSHA}: 0");
	free(big);
}

/* Workers call pwhash_verify concurrently: a static buffer anywhere on
 * the path (crypt(), a shared context) would make answers cross. */
static const struct vec *const thread_vecs[] = {
	&vecs[7], &vecs[9], &vecs[11], &vecs[15], &vecs[19], &vecs[23],
	&vecs[30], &vecs[39],
};
static int thread_errors;
static pthread_mutex_t thread_lock = PTHREAD_MUTEX_INITIALIZER;

static void *
thread_main(void *arg)
{
	size_t k = (size_t)arg, i, n = sizeof(thread_vecs) /
	    sizeof(thread_vecs[0]);
	const struct vec *v;
	const char *err;
	int bad = 0;

	for (i = 0; i < 300; i++) {
		v = thread_vecs[(i + k) % n];
		if (pwhash_verify(v->hash, v->password, strlen(v->password),
		    &err) != 1)
			bad++;
		if (pwhash_verify(v->hash, WRONG, strlen(WRONG), &err) != 0)
			bad++;
	}
	pthread_mutex_lock(&thread_lock);
	thread_errors += bad;
	pthread_mutex_unlock(&thread_lock);
	return NULL;
}

static void
test_threads(void)
{
	pthread_t t[4];
	size_t i;

	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, thread_main, (void *)i);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ok(thread_errors == 0, "4 threads x 600 verifies: %d wrong answers",
	    thread_errors);
}

int
main(void)
{
	test_vectors();
	test_garbage();
	test_misc();
	test_threads();
	return tap_done();
}
