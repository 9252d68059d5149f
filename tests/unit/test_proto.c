/*
 * test_proto.c -- the saslauthd wire codec against valid and hostile
 * frames.  Table-driven: each row builds a frame from field specs, so a
 * new hostile case is one line.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "saslauthd_proto.h"
#include "tap.h"

/* Built without the codec in its SOURCES: the test takes the .c itself,
 * so it also reaches the file's static helpers. */
#include "saslauthd_proto.c"

#define ABSENT	(-1)
#define NONE	(-1)
/* Bigger than any frame a row can build: five 0xffff-byte fields. */
#define FRAME_MAX	(5 * (2 + 0xffff) + 16)
/* What a field holds before decode, to see whether decode wrote past it. */
#define CANARY	0xa5

struct fspec {
	int len;	/* declared length; ABSENT: field not in the frame */
	int nul;	/* 1-based position of a NUL in the bytes; 0: none */
};

struct dcase {
	const char *name;
	struct fspec f[5];
	int trail;	/* bytes of garbage after the last field */
	int cut;	/* bytes cut from the end of the frame */
	enum proto_status st;
	enum proto_error err;
	int err_field;
};

static uint8_t frame[FRAME_MAX];
/* The expected NUL-terminated contents, for comparing complete decodes. */
static char expect[5][0xffff + 1];

static const size_t caps[5] = {
	PROTO_LOGIN_MAX, PROTO_PASSWORD_MAX, PROTO_SERVICE_MAX,
	PROTO_REALM_MAX, PROTO_ADDR_MAX,
};

/* Shorthands for rows. */
#define F(n)		{ (n), 0 }
#define FN(n, at)	{ (n), (at) }
#define NOF		{ ABSENT, 0 }
#define REQ4		F(4), F(6), F(4), F(0), NOF
#define REQ5		F(4), F(6), F(4), F(0), F(12)

static const struct dcase cases[] = {
	/* valid */
	{ "4 fields", { REQ4 }, 0, 0, PROTO_COMPLETE4, PROTO_ERR_NONE, NONE },
	{ "5 fields", { REQ5 }, 0, 0, PROTO_COMPLETE5, PROTO_ERR_NONE, NONE },
	{ "4 fields, realm set", { F(4), F(6), F(4), F(11), NOF }, 0, 0,
	    PROTO_COMPLETE4, PROTO_ERR_NONE, NONE },
	{ "1-byte login and password", { F(1), F(1), F(0), F(0), NOF }, 0, 0,
	    PROTO_COMPLETE4, PROTO_ERR_NONE, NONE },
	{ "empty service and realm", { F(3), F(3), F(0), F(0), F(0) }, 0, 0,
	    PROTO_COMPLETE5, PROTO_ERR_NONE, NONE },
	{ "empty addr", { F(4), F(6), F(4), F(0), F(0) }, 0, 0,
	    PROTO_COMPLETE5, PROTO_ERR_NONE, NONE },

	/* every field at its cap */
	{ "login at cap", { F(256), F(6), F(4), F(0), NOF }, 0, 0,
	    PROTO_COMPLETE4, PROTO_ERR_NONE, NONE },
	{ "password at cap", { F(4), F(1024), F(4), F(0), NOF }, 0, 0,
	    PROTO_COMPLETE4, PROTO_ERR_NONE, NONE },
	{ "service at cap", { F(4), F(6), F(256), F(0), NOF }, 0, 0,
	    PROTO_COMPLETE4, PROTO_ERR_NONE, NONE },
	{ "realm at cap", { F(4), F(6), F(4), F(256), NOF }, 0, 0,
	    PROTO_COMPLETE4, PROTO_ERR_NONE, NONE },
	{ "addr at cap", { F(4), F(6), F(4), F(0), F(256) }, 0, 0,
	    PROTO_COMPLETE5, PROTO_ERR_NONE, NONE },
	{ "all at cap", { F(256), F(1024), F(256), F(256), F(256) }, 0, 0,
	    PROTO_COMPLETE5, PROTO_ERR_NONE, NONE },

	/* cap + 1, with the bytes and with only the length */
	{ "login cap+1", { F(257), F(6), F(4), F(0), NOF }, 0, 0,
	    PROTO_ERROR, PROTO_ERR_TOO_LONG, 0 },
	{ "password cap+1", { F(4), F(1025), F(4), F(0), NOF }, 0, 0,
	    PROTO_ERROR, PROTO_ERR_TOO_LONG, 1 },
	{ "service cap+1", { F(4), F(6), F(257), F(0), NOF }, 0, 0,
	    PROTO_ERROR, PROTO_ERR_TOO_LONG, 2 },
	{ "realm cap+1", { F(4), F(6), F(4), F(257), NOF }, 0, 0,
	    PROTO_ERROR, PROTO_ERR_TOO_LONG, 3 },
	{ "addr cap+1", { F(4), F(6), F(4), F(0), F(257) }, 0, 0,
	    PROTO_ERROR, PROTO_ERR_TOO_LONG, 4 },
	{ "login cap+1, length bytes only", { F(257), NOF, NOF, NOF, NOF },
	    0, 257, PROTO_ERROR, PROTO_ERR_TOO_LONG, 0 },
	{ "password cap+1, length bytes only", { F(4), F(1025), NOF, NOF,
	    NOF }, 0, 1025, PROTO_ERROR, PROTO_ERR_TOO_LONG, 1 },
	{ "service cap+1, length bytes only", { F(4), F(6), F(257), NOF,
	    NOF }, 0, 257, PROTO_ERROR, PROTO_ERR_TOO_LONG, 2 },
	{ "realm cap+1, length bytes only", { F(4), F(6), F(4), F(257), NOF },
	    0, 257, PROTO_ERROR, PROTO_ERR_TOO_LONG, 3 },
	{ "addr cap+1, length bytes only", { F(4), F(6), F(4), F(0), F(257) },
	    0, 257, PROTO_ERROR, PROTO_ERR_TOO_LONG, 4 },

	/* length 0xffff */
	{ "login 0xffff, length only", { F(0xffff), NOF, NOF, NOF, NOF },
	    0, 0xffff, PROTO_ERROR, PROTO_ERR_TOO_LONG, 0 },
	{ "password 0xffff, length only", { F(4), F(0xffff), NOF, NOF, NOF },
	    0, 0xffff, PROTO_ERROR, PROTO_ERR_TOO_LONG, 1 },
	{ "service 0xffff, length only", { F(4), F(6), F(0xffff), NOF, NOF },
	    0, 0xffff, PROTO_ERROR, PROTO_ERR_TOO_LONG, 2 },
	{ "realm 0xffff, length only", { F(4), F(6), F(4), F(0xffff), NOF },
	    0, 0xffff, PROTO_ERROR, PROTO_ERR_TOO_LONG, 3 },
	{ "addr 0xffff, length only", { F(4), F(6), F(4), F(0), F(0xffff) },
	    0, 0xffff, PROTO_ERROR, PROTO_ERR_TOO_LONG, 4 },
	{ "login 0xffff, all bytes", { F(0xffff), F(6), F(4), F(0), NOF },
	    0, 0, PROTO_ERROR, PROTO_ERR_TOO_LONG, 0 },
	{ "password 0xffff, all bytes", { F(4), F(0xffff), F(4), F(0), F(3) },
	    0, 0, PROTO_ERROR, PROTO_ERR_TOO_LONG, 1 },

	/* zero-length fields */
	{ "empty login", { F(0), F(6), F(4), F(0), NOF }, 0, 0,
	    PROTO_ERROR, PROTO_ERR_EMPTY_LOGIN, 0 },
	{ "empty password", { F(4), F(0), F(4), F(0), NOF }, 0, 0,
	    PROTO_ERROR, PROTO_ERR_EMPTY_PASSWORD, 1 },
	{ "empty login and password", { F(0), F(0), F(4), F(0), NOF }, 0, 0,
	    PROTO_ERROR, PROTO_ERR_EMPTY_LOGIN, 0 },
	{ "all four empty", { F(0), F(0), F(0), F(0), NOF }, 0, 0,
	    PROTO_ERROR, PROTO_ERR_EMPTY_LOGIN, 0 },
	{ "empty login, 5 fields", { F(0), F(6), F(4), F(0), F(9) }, 0, 0,
	    PROTO_ERROR, PROTO_ERR_EMPTY_LOGIN, 0 },
	{ "empty password, 5 fields", { F(4), F(0), F(4), F(0), F(9) }, 0, 0,
	    PROTO_ERROR, PROTO_ERR_EMPTY_PASSWORD, 1 },
	{ "empty login, 5th partial", { F(0), F(6), F(4), F(0), F(9) }, 0, 4,
	    PROTO_ERROR, PROTO_ERR_EMPTY_LOGIN, 0 },
	{ "empty login, 3 fields only", { F(0), F(6), F(4), NOF, NOF }, 0, 0,
	    PROTO_INCOMPLETE, PROTO_ERR_NONE, NONE },
	{ "empty password, realm partial", { F(4), F(0), F(4), F(5), NOF },
	    0, 2, PROTO_INCOMPLETE, PROTO_ERR_NONE, NONE },

	/* NUL in each field: first, middle, last byte, partial field */
	{ "NUL first in login", { FN(4, 1), F(6), F(4), F(0), NOF }, 0, 0,
	    PROTO_ERROR, PROTO_ERR_NUL, 0 },
	{ "NUL last in login", { FN(4, 4), F(6), F(4), F(0), NOF }, 0, 0,
	    PROTO_ERROR, PROTO_ERR_NUL, 0 },
	{ "NUL in password", { F(4), FN(6, 3), F(4), F(0), NOF }, 0, 0,
	    PROTO_ERROR, PROTO_ERR_NUL, 1 },
	{ "NUL last in password", { F(4), FN(6, 6), F(4), F(0), NOF }, 0, 0,
	    PROTO_ERROR, PROTO_ERR_NUL, 1 },
	{ "NUL in service", { F(4), F(6), FN(4, 2), F(0), NOF }, 0, 0,
	    PROTO_ERROR, PROTO_ERR_NUL, 2 },
	{ "NUL in realm", { F(4), F(6), F(4), FN(5, 5), NOF }, 0, 0,
	    PROTO_ERROR, PROTO_ERR_NUL, 3 },
	{ "NUL in addr", { F(4), F(6), F(4), F(0), FN(9, 1) }, 0, 0,
	    PROTO_ERROR, PROTO_ERR_NUL, 4 },
	{ "NUL in partial login", { FN(8, 2), NOF, NOF, NOF, NOF }, 0, 5,
	    PROTO_ERROR, PROTO_ERR_NUL, 0 },
	{ "NUL in partial addr", { F(4), F(6), F(4), F(0), FN(9, 1) }, 0, 8,
	    PROTO_ERROR, PROTO_ERR_NUL, 4 },
	{ "login that is one NUL", { FN(1, 1), F(6), F(4), F(0), NOF }, 0, 0,
	    PROTO_ERROR, PROTO_ERR_NUL, 0 },
	/* the NUL comes first on the wire, so it wins */
	{ "NUL in login, empty password", { FN(4, 2), F(0), F(4), F(0), NOF },
	    0, 0, PROTO_ERROR, PROTO_ERR_NUL, 0 },
	{ "empty login, NUL in realm", { F(0), F(6), F(4), FN(3, 1), NOF },
	    0, 0, PROTO_ERROR, PROTO_ERR_NUL, 3 },
	{ "NUL in password at cap", { F(4), FN(1024, 1024), F(4), F(0), NOF },
	    0, 0, PROTO_ERROR, PROTO_ERR_NUL, 1 },

	/* trailing bytes and partial fifth fields */
	{ "1 trailing byte", { REQ5 }, 1, 0, PROTO_ERROR, PROTO_ERR_TRAILING, 4 },
	{ "2 trailing bytes", { REQ5 }, 2, 0, PROTO_ERROR, PROTO_ERR_TRAILING,
	    4 },
	{ "a whole extra request", { REQ5 }, 24, 0, PROTO_ERROR,
	    PROTO_ERR_TRAILING, 4 },
	{ "trailing after empty addr", { F(4), F(6), F(4), F(0), F(0) }, 1, 0,
	    PROTO_ERROR, PROTO_ERR_TRAILING, 4 },
	{ "4 fields + 1 length byte", { REQ5 }, 0, 13, PROTO_INCOMPLETE,
	    PROTO_ERR_NONE, NONE },
	{ "4 fields + 5th length only", { REQ5 }, 0, 12, PROTO_INCOMPLETE,
	    PROTO_ERR_NONE, NONE },
	{ "4 fields + 5th short 1", { REQ5 }, 0, 1, PROTO_INCOMPLETE,
	    PROTO_ERR_NONE, NONE },

	/* nothing or almost nothing */
	{ "no bytes", { F(0), NOF, NOF, NOF, NOF }, 0, 2, PROTO_INCOMPLETE,
	    PROTO_ERR_NONE, NONE },
	{ "one length byte", { F(4), NOF, NOF, NOF, NOF }, 0, 5,
	    PROTO_INCOMPLETE, PROTO_ERR_NONE, NONE },
	{ "login length only", { F(4), NOF, NOF, NOF, NOF }, 0, 4,
	    PROTO_INCOMPLETE, PROTO_ERR_NONE, NONE },
	{ "password length 0xffff, one byte cut",
	    { F(4), F(0xffff), NOF, NOF, NOF }, 0, 1, PROTO_ERROR,
	    PROTO_ERR_TOO_LONG, 1 },
};

/* Build the frame for c into frame[] and expect[]; returns its length. */
static size_t
build(const struct dcase *c)
{
	size_t pos = 0;
	int i, j;

	for (i = 0; i < 5; i++) {
		expect[i][0] = '\0';
		if (c->f[i].len == ABSENT)
			continue;
		frame[pos++] = (uint8_t)(c->f[i].len >> 8);
		frame[pos++] = (uint8_t)c->f[i].len;
		for (j = 0; j < c->f[i].len; j++) {
			/* Varied printable bytes, distinct per field, so a
			 * field copied into the wrong slot shows. */
			frame[pos + j] = (uint8_t)('A' + i * 7 + j % 19);
			if (c->f[i].nul == j + 1)
				frame[pos + j] = 0;
		}
		memcpy(expect[i], frame + pos, (size_t)c->f[i].len);
		expect[i][c->f[i].len] = '\0';
		pos += (size_t)c->f[i].len;
	}
	for (j = 0; j < c->trail; j++)
		frame[pos++] = (uint8_t)(0x80 + j);
	return pos - (size_t)c->cut;
}

static void
fill_canary(struct proto_request *req)
{
	memset(req, CANARY, sizeof(*req));
}

/* Was any byte after a field's terminator written? */
static int
untouched_after(const char *field, size_t used, size_t cap)
{
	size_t k;

	for (k = used + 1; k <= cap; k++)
		if ((uint8_t)field[k] != CANARY)
			return 0;
	return 1;
}

static const char *
status_name(enum proto_status st)
{
	switch (st) {
	case PROTO_INCOMPLETE:
		return "INCOMPLETE";
	case PROTO_COMPLETE4:
		return "COMPLETE4";
	case PROTO_COMPLETE5:
		return "COMPLETE5";
	case PROTO_ERROR:
		return "ERROR";
	}
	return "?";
}

static void
check_complete(const char *name, const struct proto_request *req, int n)
{
	const char *got[5];
	int i;

	got[0] = req->login;
	got[1] = req->password;
	got[2] = req->service;
	got[3] = req->realm;
	got[4] = req->addr;
	for (i = 0; i < 5; i++) {
		ok(strcmp(got[i], i < n ? expect[i] : "") == 0,
		    "%s: %s content", name, proto_field_name(i));
		ok(untouched_after(got[i], strlen(got[i]), caps[i]),
		    "%s: nothing written past %s", name, proto_field_name(i));
	}
	ok(req->password_len == strlen(expect[1]),
	    "%s: password_len %zu", name, req->password_len);
	ok(req->nfields == n, "%s: nfields %d", name, req->nfields);
	ok(req->err == PROTO_ERR_NONE && req->err_field == -1,
	    "%s: no error recorded", name);
}

static void
test_table(void)
{
	struct proto_request req;
	enum proto_status st;
	const struct dcase *c;
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		len = build(c);
		fill_canary(&req);
		st = proto_decode(frame, len, &req);
		ok(st == c->st, "%s: status %s, want %s", c->name,
		    status_name(st), status_name(c->st));
		if (c->st == PROTO_ERROR) {
			ok(req.err == c->err, "%s: err %d (%s), want %d",
			    c->name, req.err, proto_strerror(req.err), c->err);
			ok(req.err_field == c->err_field,
			    "%s: err_field %d, want %d", c->name,
			    req.err_field, c->err_field);
		} else if (c->st == PROTO_INCOMPLETE) {
			ok(req.err == PROTO_ERR_NONE,
			    "%s: no error while incomplete", c->name);
		} else {
			check_complete(c->name, &req,
			    c->st == PROTO_COMPLETE4 ? 4 : 5);
		}
	}
}

/*
 * Every strict prefix of a valid request must be INCOMPLETE, except the
 * end of the fourth field of a five-field request, which is COMPLETE4.
 */
static void
test_truncation(void)
{
	static const struct dcase valid[] = {
		{ "t4", { REQ4 }, 0, 0, PROTO_COMPLETE4, 0, 0 },
		{ "t5", { REQ5 }, 0, 0, PROTO_COMPLETE5, 0, 0 },
		{ "t5 caps", { F(256), F(1024), F(256), F(256), F(256) }, 0, 0,
		    PROTO_COMPLETE5, 0, 0 },
		{ "t5 short", { F(1), F(1), F(0), F(0), F(0) }, 0, 0,
		    PROTO_COMPLETE5, 0, 0 },
	};
	struct proto_request req;
	enum proto_status st, want;
	size_t i, k, len, end4;
	int bad;

	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		len = build(&valid[i]);
		end4 = 8 + (size_t)valid[i].f[0].len +
		    (size_t)valid[i].f[1].len + (size_t)valid[i].f[2].len +
		    (size_t)valid[i].f[3].len;
		bad = 0;
		for (k = 0; k <= len && !bad; k++) {
			if (k == len)
				want = valid[i].st;
			else if (k == end4)
				want = PROTO_COMPLETE4;
			else
				want = PROTO_INCOMPLETE;
			st = proto_decode(frame, k, &req);
			if (st != want || (st == PROTO_INCOMPLETE &&
			    req.err != PROTO_ERR_NONE)) {
				bad = 1;
				ok(0, "%s: prefix %zu of %zu gives %s, want %s",
				    valid[i].name, k, len, status_name(st),
				    status_name(want));
			}
		}
		if (!bad)
			ok(1, "%s: all %zu prefixes as expected",
			    valid[i].name, len + 1);
	}
}

/* The decoder must never read past len: give it the bytes at the very
 * end of an array, so ASan or a crash would catch an overread. */
static void
test_exact_buffer(void)
{
	static const uint8_t req4[] = {
		0, 4, 'u', 's', 'e', 'r', 0, 4, 'p', 'a', 's', 's',
		0, 4, 'i', 'm', 'a', 'p', 0, 0,
	};
	struct proto_request req;
	enum proto_status st;

	st = proto_decode(req4, sizeof(req4), &req);
	ok(st == PROTO_COMPLETE4, "exact buffer: COMPLETE4");
	ok(strcmp(req.login, "user") == 0 && strcmp(req.password, "pass") == 0
	    && strcmp(req.service, "imap") == 0 && req.realm[0] == '\0' &&
	    req.addr[0] == '\0', "exact buffer: fields");
	ok(req.password_len == 4, "exact buffer: password_len");
	st = proto_decode(req4, 0, &req);
	ok(st == PROTO_INCOMPLETE, "zero length: INCOMPLETE");
}

static int
bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

static void
test_encode_request(void)
{
	static const uint8_t want4[] = {
		0, 4, 'u', 's', 'e', 'r', 0, 4, 'p', 'a', 's', 's',
		0, 4, 'i', 'm', 'a', 'p', 0, 0,
	};
	static const uint8_t want5[] = {
		0, 1, 'u', 0, 1, 'p', 0, 4, 's', 'm', 't', 'p',
		0, 3, 'e', 'x', 'x', 0, 11, '1', '9', '2', '.', '0', '.',
		'2', '.', '1', ';', '9',
	};
	static char big[0x10000 + 1];
	uint8_t out[64];
	struct proto_request req;
	size_t n, sz;
	int good;

	n = proto_encode_request(out, sizeof(out), "user", "pass", "imap", "",
	    NULL);
	ok(bytes_eq(out, n, want4, sizeof(want4)), "encode 4 fields: bytes");
	n = proto_encode_request(out, sizeof(out), "u", "p", "smtp", "exx",
	    "192.0.2.1;9");
	ok(bytes_eq(out, n, want5, sizeof(want5)), "encode 5 fields: bytes");
	ok(proto_decode(out, n, &req) == PROTO_COMPLETE5 &&
	    strcmp(req.addr, "192.0.2.1;9") == 0, "encode 5 fields decodes");

	/* Every output size short of the frame fails; the exact size works. */
	good = 1;
	for (sz = 0; sz < sizeof(want5); sz++)
		if (proto_encode_request(out, sz, "u", "p", "smtp", "exx",
		    "192.0.2.1;9") != 0)
			good = 0;
	ok(good, "encode refuses every short output buffer");
	ok(proto_encode_request(out, sizeof(want5), "u", "p", "smtp", "exx",
	    "192.0.2.1;9") == sizeof(want5), "encode fits the exact size");

	/* 0xffff is the largest a counted string can say; one more fails. */
	memset(big, 'x', 0xffff);
	big[0xffff] = '\0';
	n = proto_encode_request(frame, sizeof(frame), big, "p", "s", "",
	    NULL);
	ok(n == 2 + 0xffff + 3 + 3 + 2 && frame[0] == 0xff && frame[1] == 0xff,
	    "encode a 0xffff-byte login: %zu bytes", n);
	ok(proto_decode(frame, n, &req) == PROTO_ERROR &&
	    req.err == PROTO_ERR_TOO_LONG && req.err_field == 0,
	    "a 0xffff-byte login decodes as too long");
	big[0xffff] = 'x';
	big[0x10000] = '\0';
	ok(proto_encode_request(frame, sizeof(frame), "u", big, "s", "",
	    NULL) == 0, "encode refuses a 65536-byte password");
	ok(proto_encode_request(frame, sizeof(frame), "u", "p", "s", "",
	    big) == 0, "encode refuses a 65536-byte addr");
}

static void
test_reply(void)
{
	static const char *texts[] = {
		"OK", "NO", "OK Success.", "NO authentication failed",
		"NO NULL login received", "NO ", "OK\x01\x7f\xff",
	};
	static char long_text[PROTO_REPLY_TEXT_MAX + 2];
	uint8_t out[PROTO_REPLY_MAX + 16];
	char text[PROTO_REPLY_TEXT_MAX + 2];
	size_t i, n;
	int r;

	n = proto_encode_reply(out, sizeof(out), "OK");
	ok(n == 4 && out[0] == 0 && out[1] == 2 && out[2] == 'O' &&
	    out[3] == 'K', "encode reply OK");
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		n = proto_encode_reply(out, sizeof(out), texts[i]);
		memset(text, 'Z', sizeof(text));
		r = proto_decode_reply(out, n, text, sizeof(text));
		ok(n == strlen(texts[i]) + 2 && r == 1 &&
		    strcmp(text, texts[i]) == 0, "reply round trip %zu", i);
	}

	memset(long_text, 'a', PROTO_REPLY_TEXT_MAX);
	long_text[PROTO_REPLY_TEXT_MAX] = '\0';
	n = proto_encode_reply(out, sizeof(out), long_text);
	ok(n == PROTO_REPLY_MAX && out[0] == 0x03 && out[1] == 0xff,
	    "encode reply of 1023 bytes: %zu", n);
	r = proto_decode_reply(out, n, text, sizeof(text));
	ok(r == 1 && strcmp(text, long_text) == 0,
	    "decode reply of 1023 bytes");
	ok(proto_encode_reply(out, PROTO_REPLY_MAX - 1, long_text) == 0,
	    "encode reply of 1023 bytes into 1024 fails");
	long_text[PROTO_REPLY_TEXT_MAX] = 'a';
	long_text[PROTO_REPLY_TEXT_MAX + 1] = '\0';
	ok(proto_encode_reply(out, sizeof(out), long_text) == 0,
	    "encode reply of 1024 bytes fails");
	ok(proto_encode_reply(out, 3, "OK") == 0, "encode into 3 bytes fails");
	ok(proto_encode_reply(out, 4, "OK") == 4, "encode into 4 bytes works");

	/* A 1024-byte reply from a peer still decodes, truncated to fit. */
	out[0] = 0x04;
	out[1] = 0x00;
	memset(out + 2, 'b', 1024);
	memset(text, 'Z', sizeof(text));
	r = proto_decode_reply(out, 2 + 1024, text, 1025);
	ok(r == 1 && strlen(text) == 1024, "decode 1024-byte reply whole");
	r = proto_decode_reply(out, 2 + 1024, text, 1024);
	ok(r == 1 && strlen(text) == 1023, "decode 1024-byte reply truncated");
	ok(proto_decode_reply(out, 2 + 1023, text, sizeof(text)) == 0,
	    "decode 1024-byte reply one byte short: need more");

	out[0] = 0;
	out[1] = 2;
	out[2] = 'N';
	out[3] = 'O';
	ok(proto_decode_reply(out, 0, text, sizeof(text)) == 0,
	    "decode reply: 0 bytes need more");
	ok(proto_decode_reply(out, 1, text, sizeof(text)) == 0,
	    "decode reply: 1 byte needs more");
	ok(proto_decode_reply(out, 3, text, sizeof(text)) == 0,
	    "decode reply: 3 of 4 bytes need more");
	out[4] = 'X';
	r = proto_decode_reply(out, 5, text, sizeof(text));
	ok(r == 1 && strcmp(text, "NO") == 0,
	    "decode reply ignores bytes after it");
	r = proto_decode_reply(out, 4, text, 2);
	ok(r == 1 && strcmp(text, "N") == 0, "decode reply truncates");
	out[1] = 1;
	ok(proto_decode_reply(out, 2, text, sizeof(text)) == -1,
	    "decode reply: length 1 refused at once");
	out[1] = 0;
	ok(proto_decode_reply(out, 2, text, sizeof(text)) == -1,
	    "decode reply: length 0 refused");
	n = proto_encode_reply(out, sizeof(out), "");
	ok(n == 2 && proto_decode_reply(out, n, text, sizeof(text)) == -1,
	    "empty reply encodes but does not decode");
}

static void
test_strings(void)
{
	static const struct {
		enum proto_error err;
		const char *reply;
	} replies[] = {
		{ PROTO_ERR_TOO_LONG, "NO " },
		{ PROTO_ERR_NUL, "NO " },
		{ PROTO_ERR_EMPTY_LOGIN, "NO NULL login received" },
		{ PROTO_ERR_EMPTY_PASSWORD, "NO NULL password received" },
		{ PROTO_ERR_TRAILING, "NO " },
	};
	static const char *names[] = {
		"login", "password", "service", "realm", "addr",
	};
	size_t i;
	int j, k, distinct;

	for (i = 0; i < sizeof(replies) / sizeof(replies[0]); i++)
		ok(strcmp(proto_error_reply(replies[i].err),
		    replies[i].reply) == 0, "error reply for %s is \"%s\"",
		    proto_strerror(replies[i].err), replies[i].reply);
	for (j = 0; j < 5; j++)
		ok(strcmp(proto_field_name(j), names[j]) == 0,
		    "field %d is %s", j, names[j]);
	ok(strcmp(proto_field_name(-1), "unknown") == 0 &&
	    strcmp(proto_field_name(5), "unknown") == 0,
	    "field name out of range");
	distinct = 1;
	for (j = PROTO_ERR_NONE; j <= (int)PROTO_ERR_TRAILING; j++)
		for (k = j + 1; k <= (int)PROTO_ERR_TRAILING; k++)
			if (strcmp(proto_strerror((enum proto_error)j),
			    proto_strerror((enum proto_error)k)) == 0)
				distinct = 0;
	ok(distinct, "every error has its own text");
}

int
main(void)
{
	test_table();
	test_truncation();
	test_exact_buffer();
	test_encode_request();
	test_reply();
	test_strings();
	return tap_done();
}
