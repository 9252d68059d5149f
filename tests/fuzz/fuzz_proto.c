/*
 * fuzz_proto.c -- libFuzzer harness for the saslauthd wire codec, the
 * only place untrusted bytes enter the daemon.
 *
 * Invariants: a complete request has every field NUL-terminated within
 * its cap, no empty login or password, and encodes back to exactly the
 * input; an error is final (more bytes never cure it); whatever a first
 * read decodes to agrees with the whole request; a decoded reply lies
 * within the bytes given.  Build and run: see fuzz.h and fuzz.sh.
 */
#include <string.h>

#include "fuzz.h"
#include "saslauthd_proto.h"

static int
terminated(const char *field, size_t cap)
{
	return memchr(field, '\0', cap + 1) != NULL;
}

static void
check_request(const uint8_t *data, size_t size, enum proto_status st,
    const struct proto_request *req)
{
	static uint8_t again[PROTO_REQUEST_MAX];
	size_t n;

	switch (st) {
	case PROTO_INCOMPLETE:
		CHECK(req->err == PROTO_ERR_NONE);
		break;
	case PROTO_ERROR:
		CHECK(req->err >= PROTO_ERR_TOO_LONG &&
		    req->err <= PROTO_ERR_TRAILING);
		CHECK(req->err_field >= 0 && req->err_field <= 4);
		CHECK(strncmp(proto_error_reply(req->err), "NO", 2) == 0);
		CHECK(proto_strerror(req->err) != NULL);
		break;
	case PROTO_COMPLETE4:
	case PROTO_COMPLETE5:
		/* Test termination first: strlen on an unterminated field
		 * would itself be the overread. */
		CHECK(terminated(req->login, PROTO_LOGIN_MAX));
		CHECK(terminated(req->password, PROTO_PASSWORD_MAX));
		CHECK(terminated(req->service, PROTO_SERVICE_MAX));
		CHECK(terminated(req->realm, PROTO_REALM_MAX));
		CHECK(terminated(req->addr, PROTO_ADDR_MAX));
		CHECK(req->password_len <= PROTO_PASSWORD_MAX);
		CHECK(req->password_len == strlen(req->password));
		CHECK(req->login[0] != '\0' && req->password_len > 0);
		CHECK(req->err == PROTO_ERR_NONE);
		CHECK(req->nfields == (st == PROTO_COMPLETE4 ? 4 : 5));
		if (st == PROTO_COMPLETE4)
			CHECK(req->addr[0] == '\0');
		/* No NUL inside fields, so the fields say everything the
		 * bytes said: encoding them again must give the input. */
		n = proto_encode_request(again, sizeof(again), req->login,
		    req->password, req->service, req->realm,
		    req->nfields == 5 ? req->addr : NULL);
		CHECK(n == size && memcmp(again, data, size) == 0);
		break;
	default:
		CHECK(!"unknown status");
	}
}

/* The bytes the decoder sees end exactly where the buffer ends, so an
 * overread hits ASan's redzone instead of the rest of the input. */
static enum proto_status
decode_exact(const uint8_t *data, size_t size, struct proto_request *req)
{
	enum proto_status st;
	uint8_t *copy;

	if ((copy = malloc(size ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(copy, data, size);
	st = proto_decode(copy, size, req);
	check_request(copy, size, st, req);
	free(copy);
	return st;
}

static void
check_reply(const uint8_t *data, size_t size)
{
	char text[PROTO_REPLY_TEXT_MAX + 1];
	size_t n;
	int r;

	memset(text, 'Z', sizeof(text));
	r = proto_decode_reply(data, size, text, sizeof(text));
	if (size >= 2)
		n = (size_t)data[0] << 8 | data[1];
	else
		n = 0;
	if (r == 1) {
		CHECK(size >= 2 && n >= 2 && n <= size - 2);
		CHECK(terminated(text, sizeof(text) - 1));
		CHECK(strlen(text) <= n);
		CHECK(memcmp(text, data + 2, strlen(text)) == 0);
	} else if (r == -1) {
		CHECK(size >= 2 && n < 2);
	} else {
		CHECK(r == 0);
		CHECK(size < 2 || n > size - 2);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Static: a request is 1.8 KiB, and libFuzzer runs one input at a
	 * time. */
	static struct proto_request whole, part;
	enum proto_status st, pst;
	size_t split;

	st = decode_exact(data, size, &whole);

	/* The daemon decodes what it has after every read; whatever a
	 * first read said must agree with what the whole request says. */
	if (size > 0) {
		split = data[0] % (size + 1);
		pst = decode_exact(data, split, &part);
		switch (pst) {
		case PROTO_ERROR:
			/* Errors are final: more bytes never cure one. */
			CHECK(st == PROTO_ERROR);
			CHECK(whole.err == part.err);
			CHECK(whole.err_field == part.err_field);
			break;
		case PROTO_COMPLETE5:
			CHECK(split == size ? st == PROTO_COMPLETE5 :
			    st == PROTO_ERROR && whole.err == PROTO_ERR_TRAILING);
			break;
		case PROTO_COMPLETE4:
			/* Only a fifth field (or junk) can follow. */
			CHECK(split == size || st != PROTO_COMPLETE4);
			if (split < size && st == PROTO_ERROR)
				CHECK(whole.err_field == 4);
			break;
		case PROTO_INCOMPLETE:
			if (split == size)
				CHECK(st == PROTO_INCOMPLETE);
			break;
		}
	}

	check_reply(data, size);
	return 0;
}
