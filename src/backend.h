/*
 * backend.h -- loading backend modules and running a chain of them.
 *
 * A chain is immutable once built and reference-counted: a SIGHUP reload
 * builds a new chain and swaps it in, while requests in flight finish on
 * the chain they started with.
 */
#ifndef AUTHMUX_BACKEND_H
#define AUTHMUX_BACKEND_H

#include <stdbool.h>

#include "module.h"

#define CHAIN_MAX 8

struct backend {
	const struct am_module *mod;
	void *dl;
	void *state;
	bool preinit_done;
};

struct chain {
	unsigned int refs;	/* atomic */
	unsigned int n;
	struct backend b[CHAIN_MAX];
	char names[128];	/* "file,pam", for log lines */
	struct am_conf *conf;	/* owned: modules may keep pointers into it */
};

/*
 * Load the comma-separated list of backends from moduledir and check conf
 * against their option tables (errors and warnings are counted in conf).
 * Returns the chain, not yet preinit'ed, or NULL when a module cannot be
 * loaded (logged: which module and why).  Takes ownership of conf on
 * success.
 */
struct chain *chain_load(const char *list, const char *moduledir,
    struct am_conf *conf);
/* Run every module's preinit (as root), then init.  Returns 0 or -1
 * (logged). */
int chain_preinit(struct chain *ch);
int chain_init(struct chain *ch);

/* The name of the first backend of the chain that must run as root
 * (AM_MODULE_NEEDS_ROOT), or NULL. */
const char *chain_needs_root(const struct chain *ch);

/* Ask the chain.  A backend that does not know the user passes the
 * question on; any other answer ends it.  *backend_r names the backend
 * that answered. */
enum am_result chain_verify(struct chain *ch, const struct am_request *req,
    struct am_verdict *v, const char **backend_r);

void chain_ref(struct chain *ch);
/* Drop a reference; the last one deinits the modules and frees, on a
 * thread of its own (a deinit may block). */
void chain_unref(struct chain *ch);
/* The same, at once on this thread, and then wait for every teardown
 * still running: before the process exits.  ch may be NULL. */
void chain_unref_wait(struct chain *ch);

/* "ok", "deny", "unknown user", "tempfail" */
const char *am_result_name(enum am_result r);

#endif
