/*
 * wipe.h -- zeroing what the daemon cannot wipe field by field: the stack
 * below the caller, where libraries (APR's MD5, libsodium's BLAKE2b, PAM
 * modules, libxcrypt) leave pieces of the password they were given in
 * their own frames and never clear them.
 */
#ifndef AUTHMUX_WIPE_H
#define AUTHMUX_WIPE_H

#include <stddef.h>

/* How much of a thread's stack below the caller's frame is zeroed: a
 * worker after each request (the backends run there, PAM modules with
 * them), and the loop thread when it goes idle after the cache hashed a
 * password there (loop_wipe_stack_when_idle). */
#define WIPE_STACK_WORKER	(64 * 1024)
#define WIPE_STACK_LOOP		(16 * 1024)

/* Zero n bytes of stack below the caller's frame: what the functions the
 * caller called before left there.  Call it from the frame that called
 * them, not deeper. */
void wipe_stack(size_t n);

#endif
