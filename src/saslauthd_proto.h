/*
 * saslauthd_proto.h -- the saslauthd wire codec.  Pure functions: no I/O,
 * no allocation, no globals.  Untrusted bytes enter the daemon only
 * through proto_decode().
 *
 * Request: counted strings (2-byte big-endian length, then the bytes, no
 * NUL): login, password, service, realm, and optionally a fifth, the client
 * address "ip;port" (Cyrus SASL master).  Reply: one counted string.
 */
#ifndef AUTHMUX_SASLAUTHD_PROTO_H
#define AUTHMUX_SASLAUTHD_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* Field caps.  saslauthd caps every field at 256 bytes; passwords may be
 * longer here (never truncated), up to 1024 as OpenSSH allows. */
#define PROTO_LOGIN_MAX		256
#define PROTO_PASSWORD_MAX	1024
#define PROTO_SERVICE_MAX	256
#define PROTO_REALM_MAX		256
#define PROTO_ADDR_MAX		256
/* The largest well-formed request, five fields. */
#define PROTO_REQUEST_MAX	(5 * 2 + PROTO_LOGIN_MAX + PROTO_PASSWORD_MAX + \
    PROTO_SERVICE_MAX + PROTO_REALM_MAX + PROTO_ADDR_MAX)
/* Longest reply text saslauthd's clients accept (they read into 1024). */
#define PROTO_REPLY_TEXT_MAX	1023
#define PROTO_REPLY_MAX		(2 + PROTO_REPLY_TEXT_MAX)

enum proto_status {
	PROTO_INCOMPLETE,	/* need more bytes; nothing wrong so far */
	PROTO_COMPLETE4,	/* exactly four fields and nothing after them:
				 * a fifth may still follow */
	PROTO_COMPLETE5,	/* five fields and nothing after them */
	PROTO_ERROR,		/* malformed; see err */
};

enum proto_error {
	PROTO_ERR_NONE = 0,
	PROTO_ERR_TOO_LONG,	/* a field's length exceeds its cap */
	PROTO_ERR_NUL,		/* a field contains a NUL byte */
	PROTO_ERR_EMPTY_LOGIN,
	PROTO_ERR_EMPTY_PASSWORD,
	PROTO_ERR_TRAILING,	/* bytes after the fifth field */
};

/* A decoded request.  Each field is copied NUL-terminated; the caller
 * wipes password with explicit_bzero when done. */
struct proto_request {
	char login[PROTO_LOGIN_MAX + 1];
	char password[PROTO_PASSWORD_MAX + 1];
	char service[PROTO_SERVICE_MAX + 1];
	char realm[PROTO_REALM_MAX + 1];
	char addr[PROTO_ADDR_MAX + 1];	/* "" for a 4-field request */
	size_t password_len;
	int nfields;			/* complete fields: 4 or 5 when
					 * complete, fewer otherwise */
	enum proto_error err;		/* set when PROTO_ERROR */
	int err_field;			/* 0-based field of the error (4 for
					 * trailing bytes), -1 when none */
};

/*
 * Decode the bytes received so far.  Checks each length against its cap
 * as soon as the two length bytes are in, so an oversized field is an
 * error before its bytes arrive.  Empty login or password is an error
 * only once the four mandatory fields are in (even if a fifth is still
 * arriving), login checked first, as saslauthd does.  A NUL is an error as
 * soon as it arrives.  Never reads beyond len or writes beyond the caps.
 * On PROTO_INCOMPLETE and PROTO_ERROR, *req may hold partial data: wipe it.
 */
enum proto_status proto_decode(const uint8_t *buf, size_t len,
    struct proto_request *req);

/* Name of the field index (0..4): "login", "password", ...; "unknown"
 * outside that range. */
const char *proto_field_name(int field);
/* One-line English text for an error code, for the log. */
const char *proto_strerror(enum proto_error err);
/* The reply saslauthd sends for a decode error (e.g. "NO NULL login
 * received" for an empty login, "NO " for an oversized field). */
const char *proto_error_reply(enum proto_error err);

/*
 * Encode a reply "text" (e.g. "OK", "NO") as a counted string into out
 * (size outlen).  Returns the number of bytes written, or 0 when text is
 * longer than PROTO_REPLY_TEXT_MAX or out is too small.
 */
size_t proto_encode_reply(uint8_t *out, size_t outlen, const char *text);

/*
 * Encode a request (client side).  addr == NULL makes a 4-field request.
 * Returns the bytes written, or 0 when a field exceeds 65535 bytes or out
 * is too small.  Lengths are not capped here, so tests can build
 * oversized frames.
 */
size_t proto_encode_request(uint8_t *out, size_t outlen, const char *login,
    const char *password, const char *service, const char *realm,
    const char *addr);

/*
 * Decode a reply: returns 1 and copies the text (NUL-terminated, at most
 * textlen - 1 bytes, truncated silently) when buf holds a whole counted
 * string, 0 when more bytes are needed, -1 as soon as the length bytes say
 * below 2 (saslauthd's clients refuse that).  Bytes after the counted
 * string are ignored.  The text is copied as is: a NUL inside it ends the
 * C string early, which is how testsaslauthd reads it too.
 */
int proto_decode_reply(const uint8_t *buf, size_t len, char *text,
    size_t textlen);

#endif
