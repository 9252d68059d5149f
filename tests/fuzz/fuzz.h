/*
 * fuzz.h -- what the libFuzzer harnesses share.
 *
 * Each harness defines LLVMFuzzerTestOneInput() and checks real
 * invariants with CHECK, which aborts: libFuzzer (and the corpus run of
 * "make check") take the abort for a crash and keep the input.
 *
 * Two builds of each harness:
 *   - "make check" links it with standalone.c, a main() that runs the
 *     files and directories named on its command line through the
 *     harness once (gcc, no libFuzzer needed); run_corpus.sh runs it over
 *     tests/fuzz/corpus/NAME/;
 *   - tests/fuzz/build.sh compiles it with clang -fsanitize=fuzzer,
 *     address,undefined, and tests/fuzz/fuzz.sh runs libFuzzer for a
 *     bounded time.
 */
#ifndef AUTHMUX_FUZZ_H
#define AUTHMUX_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* A malloc'd copy of the input with a NUL after it, as secfile_read()
 * hands a file over (the parsers may write that NUL). */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* n bytes of the input at p, not NUL-terminated. */
struct span {
	const char *p;
	size_t n;
};

/* Are the bytes of s those of str? */
static inline bool
span_is(struct span s, const char *str)
{
	return strlen(str) == s.n && memcmp(s.p, str, s.n) == 0;
}

/* Cut the next line, without its newline, from the front of rest; false
 * when nothing is left.  A last newline starts no line, as the parsers
 * count them. */
static inline bool
next_line(struct span *rest, struct span *line)
{
	const char *nl;
	size_t skip;

	if (rest->n == 0)
		return false;
	nl = memchr(rest->p, '\n', rest->n);
	line->p = rest->p;
	line->n = nl != NULL ? (size_t)(nl - rest->p) : rest->n;
	skip = line->n + (nl != NULL);
	rest->p += skip;
	rest->n -= skip;
	return true;
}

#endif
