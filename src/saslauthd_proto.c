/*
 * saslauthd_proto.c -- the saslauthd wire codec.  See saslauthd_proto.h
 * for the contract.  Everything here works on caller buffers only, so
 * the same code can run in the daemon, the client, the tests and under a
 * fuzzer.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "saslauthd_proto.h"

#define PROTO_NFIELDS	5

static const size_t field_cap[PROTO_NFIELDS] = {
	PROTO_LOGIN_MAX,
	PROTO_PASSWORD_MAX,
	PROTO_SERVICE_MAX,
	PROTO_REALM_MAX,
	PROTO_ADDR_MAX,
};

static const char *const field_names[PROTO_NFIELDS] = {
	"login",
	"password",
	"service",
	"realm",
	"addr",
};

static char *
field_buf(struct proto_request *req, int field)
{
	switch (field) {
	case 0:
		return req->login;
	case 1:
		return req->password;
	case 2:
		return req->service;
	case 3:
		return req->realm;
	default:
		return req->addr;
	}
}

static enum proto_status
decode_fail(struct proto_request *req, enum proto_error err, int field)
{
	req->err = err;
	req->err_field = field;
	return PROTO_ERROR;
}

/*
 * Checked when the four mandatory fields are in, not before: saslauthd
 * reads the whole request first and only then looks at login, then
 * password, and clients see the same reply ordering from us.
 */
static enum proto_status
check_empty(struct proto_request *req)
{
	if (req->login[0] == '\0')
		return decode_fail(req, PROTO_ERR_EMPTY_LOGIN, 0);
	if (req->password_len == 0)
		return decode_fail(req, PROTO_ERR_EMPTY_PASSWORD, 1);
	return PROTO_COMPLETE4;
}

enum proto_status
proto_decode(const uint8_t *buf, size_t len, struct proto_request *req)
{
	size_t pos = 0, flen, avail;
	enum proto_status st;
	char *dst;
	int i;

	/* Only the terminators: the fields are overwritten as decoded,
	 * and clearing 1.8 KiB per read would be wasted work. */
	req->login[0] = req->password[0] = req->service[0] = '\0';
	req->realm[0] = req->addr[0] = '\0';
	req->password_len = 0;
	req->nfields = 0;
	req->err = PROTO_ERR_NONE;
	req->err_field = -1;

	for (i = 0; i < PROTO_NFIELDS; i++) {
		if (i == 4) {
			if ((st = check_empty(req)) == PROTO_ERROR)
				return st;
			/* The fifth field is optional: with nothing after
			 * the fourth the request may already be served. */
			if (pos == len)
				return PROTO_COMPLETE4;
		}
		if (len - pos < 2)
			return PROTO_INCOMPLETE;
		flen = (size_t)buf[pos] << 8 | buf[pos + 1];
		pos += 2;
		/* Before the bytes arrive, so a hostile length costs
		 * the server nothing but two bytes. */
		if (flen > field_cap[i])
			return decode_fail(req, PROTO_ERR_TOO_LONG, i);
		avail = len - pos;
		if (avail < flen) {
			/* A NUL already received can never become valid. */
			if (memchr(buf + pos, '\0', avail) != NULL)
				return decode_fail(req, PROTO_ERR_NUL, i);
			return PROTO_INCOMPLETE;
		}
		if (memchr(buf + pos, '\0', flen) != NULL)
			return decode_fail(req, PROTO_ERR_NUL, i);
		dst = field_buf(req, i);
		memcpy(dst, buf + pos, flen);
		dst[flen] = '\0';
		if (i == 1)
			req->password_len = flen;
		pos += flen;
		req->nfields = i + 1;
	}
	if (pos != len)
		return decode_fail(req, PROTO_ERR_TRAILING, 4);
	return PROTO_COMPLETE5;
}

const char *
proto_field_name(int field)
{
	if (field < 0 || field >= PROTO_NFIELDS)
		return "unknown";
	return field_names[field];
}

const char *
proto_strerror(enum proto_error err)
{
	switch (err) {
	case PROTO_ERR_NONE:
		return "no error";
	case PROTO_ERR_TOO_LONG:
		return "field too long";
	case PROTO_ERR_NUL:
		return "NUL byte in field";
	case PROTO_ERR_EMPTY_LOGIN:
		return "empty login";
	case PROTO_ERR_EMPTY_PASSWORD:
		return "empty password";
	case PROTO_ERR_TRAILING:
		return "trailing bytes after request";
	}
	return "unknown error";
}

const char *
proto_error_reply(enum proto_error err)
{
	/* The exact strings saslauthd 2.1.28 sends; scripts grep them. */
	switch (err) {
	case PROTO_ERR_EMPTY_LOGIN:
		return "NO NULL login received";
	case PROTO_ERR_EMPTY_PASSWORD:
		return "NO NULL password received";
	default:
		return "NO ";
	}
}

size_t
proto_encode_reply(uint8_t *out, size_t outlen, const char *text)
{
	size_t n;

	n = strnlen(text, PROTO_REPLY_TEXT_MAX + 1);
	if (n > PROTO_REPLY_TEXT_MAX || outlen < n + 2)
		return 0;
	out[0] = (uint8_t)(n >> 8);
	out[1] = (uint8_t)n;
	memcpy(out + 2, text, n);
	return n + 2;
}

static int
put_field(uint8_t *out, size_t outlen, size_t *pos, const char *s)
{
	size_t n;

	n = strnlen(s, 0xffff + 1);
	if (n > 0xffff || outlen - *pos < n + 2)
		return -1;
	out[*pos] = (uint8_t)(n >> 8);
	out[*pos + 1] = (uint8_t)n;
	memcpy(out + *pos + 2, s, n);
	*pos += n + 2;
	return 0;
}

size_t
proto_encode_request(uint8_t *out, size_t outlen, const char *login,
    const char *password, const char *service, const char *realm,
    const char *addr)
{
	size_t pos = 0;

	if (put_field(out, outlen, &pos, login) == -1 ||
	    put_field(out, outlen, &pos, password) == -1 ||
	    put_field(out, outlen, &pos, service) == -1 ||
	    put_field(out, outlen, &pos, realm) == -1)
		return 0;
	if (addr != NULL && put_field(out, outlen, &pos, addr) == -1)
		return 0;
	return pos;
}

int
proto_decode_reply(const uint8_t *buf, size_t len, char *text,
    size_t textlen)
{
	size_t n, copy;

	if (len < 2)
		return 0;
	n = (size_t)buf[0] << 8 | buf[1];
	/* testsaslauthd and libsasl2 refuse anything shorter than "OK". */
	if (n < 2)
		return -1;
	if (len - 2 < n)
		return 0;
	if (textlen == 0)
		return 1;
	copy = n < textlen - 1 ? n : textlen - 1;
	memcpy(text, buf + 2, copy);
	text[copy] = '\0';
	return 1;
}
