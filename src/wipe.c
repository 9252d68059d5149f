/*
 * wipe.c -- see wipe.h.
 */
#include <alloca.h>
#include <malloc.h>
#include <string.h>

#include "wipe.h"

/* Not inlined: its frame must start where the caller's callees' frames
 * started, so that the bytes it zeroes are the ones they used. */
__attribute__((noinline)) void
wipe_stack(size_t n)
{
	char *p = alloca(n);

	explicit_bzero(p, n);
	/* p is used: the alloca cannot be moved or dropped */
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

#ifdef WIPE_FREE
/*
 * Every block is wiped when it is freed, whoever frees it.  Libraries
 * free buffers that held the password without clearing them: libldap
 * the bind request it encoded (BER buffers; liblber's memory functions
 * are used only with a memory context, which libldap never sets), a
 * PAM module the conversation's answer.  So the daemon defines malloc,
 * calloc, realloc and free itself (glibc supports replacing them in the
 * main program; dlopen'ed modules and libc's own calls bind to these),
 * on top of glibc's allocator (__libc_*), which does the real work.
 * memalign and friends stay glibc's, and free() takes their blocks too.
 */
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void __libc_free(void *);

/* A block glibc got with mmap(2) goes back to the kernel, which zeroes
 * pages before they are used again: no need to write over it first (the
 * cache's tables, for one, can be gigabytes).  Bit 1 of the size word
 * before the block says so in glibc's layout. */
#define WIPE_MMAPPED(p) ((((const size_t *)(p))[-1] & 2) != 0)

void *
malloc(size_t n)
{
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
	return __libc_calloc(n, size);
}

void
free(void *p)
{
	if (p == NULL)
		return;
	if (!WIPE_MMAPPED(p))
		explicit_bzero(p, malloc_usable_size(p));
	__libc_free(p);
}

void *
realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (p == NULL)
		return __libc_malloc(n);
	if (n == 0) {
		free(p);
		return NULL;
	}
	/* glibc's realloc would move the block and leave the old one as it
	 * was: grow by hand; shrink in place */
	old = malloc_usable_size(p);
	if (n <= old)
		return p;
	if ((q = __libc_malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, old);
	free(p);
	return q;
}
#endif
