/*
 * pwhash.h -- check a password against a stored hash.
 *
 * Recognised formats (the name pwhash_scheme() returns is in brackets):
 *
 *   crypt(3) hashes, computed by libxcrypt's crypt_rn():
 *     $y$ [yescrypt]  $gy$ [gost-yescrypt]  $7$ [scrypt]
 *     $2b$ $2y$ $2a$ $2x$ [bcrypt]  $6$ [sha512crypt]  $5$ [sha256crypt]
 *     $sha1$ [sha1crypt]  $md5 [sunmd5]  $1$ [md5crypt]  _ [bsdicrypt]
 *     13 characters [descrypt]  2 + 11n characters [bigcrypt]
 *     ($3$ NT hashes are refused: unsalted MD4.)
 *   $apr1$ [apr1]  Apache's MD5 variant, computed by apr-util.
 *   RFC 2307 / OpenLDAP schemes, prefix case-insensitive, value base64:
 *     {SHA} {SSHA} {MD5} {SMD5} {SHA256} {SSHA256} {SHA384} {SSHA384}
 *     {SHA512} {SSHA512} [the scheme without braces, upper case]
 *     salted forms are base64(digest(password + salt) + salt), salt >= 1
 *     byte; unsalted ones are base64(digest(password)).
 *   {CRYPT}<crypt hash>, also Dovecot's {BLF-CRYPT} {SHA512-CRYPT}
 *     {SHA256-CRYPT} {MD5-CRYPT}: the name is that of the crypt hash inside
 *     (so "{CRYPT}$6$..." is "sha512crypt").
 *   {PLAIN} or {CLEARTEXT}<password> [plain]: cleartext, compared in
 *     constant time.  Cleartext is only ever taken with this explicit
 *     prefix; a bare string that matches no format is not a password.
 *   a value starting with '!' or '*' [locked]: a locked account, as in
 *     shadow(5); it never matches.
 *
 * Everything here is thread-safe (no crypt(), no static buffers) and
 * needs no initialisation.  Comparisons run in constant time and buffers
 * that held password-derived bytes are wiped before they are freed.
 */
#ifndef AUTHMUX_PWHASH_H
#define AUTHMUX_PWHASH_H

#include <stddef.h>

/* Name of hash's scheme, judged by its prefix or shape alone, or NULL
 * when hash matches no supported format.  Cheap. */
const char *pwhash_scheme(const char *hash);

/* Check that hash is well-formed enough to be usable: the scheme is known
 * and enabled in this libcrypt, the lengths are right, the base64 decodes.
 * Returns the scheme name, or NULL and sets *error_r to a static string.
 * Does not hash anything, so it is fit for checking a whole file at load
 * time; a hash that passes can still fail pwhash_verify() in rare cases
 * (a crypt parameter out of range). */
const char *pwhash_check(const char *hash, const char **error_r);

/* Longest password that pwhash_verify() can match with a crypt(3) scheme;
 * libxcrypt refuses longer ones, so they simply do not match. */
#define PWHASH_CRYPT_MAX 511

/* Verify password (pwlen bytes, need not be NUL-terminated) against hash.
 * Returns 1 when it matches, 0 when it does not, -1 when hash is unusable
 * (unknown format, malformed, locked account); *error_r then says why, as
 * a static string.  A password containing a NUL byte never matches. */
int pwhash_verify(const char *hash, const char *password, size_t pwlen,
    const char **error_r);

/* Spend the time pwhash_verify(hash, password, pwlen) would, and discard
 * the answer.  For unknown users: run it against a real hash of the
 * commonest cost so that "no such user" takes as long as "wrong
 * password". */
void pwhash_dummy(const char *hash, const char *password, size_t pwlen);

#endif
