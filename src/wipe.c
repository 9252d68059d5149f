/*
 * wipe.c -- see wipe.h.
 */
#include <alloca.h>
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
