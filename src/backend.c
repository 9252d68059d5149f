/*
 * backend.c -- dlopen'ed backend modules and the chain that asks them in
 * turn.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend.h"
#include "config.h"
#include "log.h"

static bool
valid_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= '0' && *s <= '9') &&
		    *s != '_')
			return false;
	return true;
}

/* Is name one of the words of BACKENDS_BUILT? */
static bool
built_here(const char *name)
{
	static const char built[] = BACKENDS_BUILT;
	const char *p = built;
	size_t len = strlen(name);

	while ((p = strstr(p, name)) != NULL) {
		if ((p == built || p[-1] == ' ') &&
		    (p[len] == '\0' || p[len] == ' '))
			return true;
		p += len;
	}
	return false;
}

static int
backend_open(struct backend *b, const char *name, const char *moduledir)
{
	static const char *known[] = { "file", "pam", "shadow", "ldap" };
	char path[PATH_MAX];
	const struct am_module *mod;
	struct stat st;
	size_t i;

	if (!valid_name(name)) {
		log_warnx("backend \"%.60s\": not a backend name (lowercase "
		    "letters, digits and _)", name);
		return -1;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.so", moduledir,
	    name) >= sizeof(path)) {
		log_warnx("backend %s: module path too long", name);
		return -1;
	}
	if (stat(path, &st) == -1 && errno == ENOENT) {
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(known[i], name) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0]))
			log_warnx("backend %s: unknown backend (no %s); this "
			    "build has: %s", name, path, BACKENDS_BUILT);
		else if (!built_here(name))
			log_warnx("backend %s: not compiled in (configure "
			    "--with-%s); this build has: %s", name, name,
			    BACKENDS_BUILT);
		else
			log_warnx("backend %s: module %s is missing; is the "
			    "package that holds it installed?", name, path);
		return -1;
	}
	if ((b->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		log_warnx("backend %s: cannot load %s: %s", name, path,
		    dlerror());
		return -1;
	}
	mod = dlsym(b->dl, "authmux_module");
	if (mod == NULL) {
		log_warnx("backend %s: %s is not an authmuxd module (no "
		    "authmux_module symbol)", name, path);
		goto fail;
	}
	if (mod->abi != AM_MODULE_ABI) {
		log_warnx("backend %s: %s was built for module ABI %u, this "
		    "daemon speaks %u; rebuild or reinstall the module",
		    name, path, mod->abi, AM_MODULE_ABI);
		goto fail;
	}
	if (mod->verify == NULL || mod->name == NULL ||
	    strcmp(mod->name, name) != 0) {
		log_warnx("backend %s: %s is malformed (name \"%.40s\" or "
		    "no verify hook)", name, path,
		    mod->name ? mod->name : "");
		goto fail;
	}
	b->mod = mod;
	return 0;
fail:
	dlclose(b->dl);
	b->dl = NULL;
	return -1;
}

struct chain *
chain_load(const char *list, const char *moduledir, struct am_conf *conf)
{
	struct chain *ch;
	char *copy, *tok, *save = NULL;
	unsigned int i;
	int failed = 0;

	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		return NULL;
	ch->refs = 1;
	if ((copy = strdup(list)) == NULL) {
		free(ch);
		return NULL;
	}
	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		for (i = 0; i < ch->n; i++)
			if (strcmp(ch->b[i].mod->name, tok) == 0)
				break;
		if (i < ch->n) {
			log_warnx("backend %s is listed twice in \"%s\"", tok,
			    list);
			failed = 1;
			continue;
		}
		if (ch->n == CHAIN_MAX) {
			log_warnx("more than %d backends in \"%s\"",
			    CHAIN_MAX, list);
			failed = 1;
			break;
		}
		if (backend_open(&ch->b[ch->n], tok, moduledir) == -1) {
			failed = 1;
			continue;
		}
		if (ch->b[ch->n].mod->options != NULL)
			conf_check_options(conf, ch->b[ch->n].mod->options);
		if (ch->n > 0)
			strncat(ch->names, ",",
			    sizeof(ch->names) - strlen(ch->names) - 1);
		strncat(ch->names, tok,
		    sizeof(ch->names) - strlen(ch->names) - 1);
		ch->n++;
	}
	free(copy);
	if (ch->n == 0 && !failed) {
		log_warnx("no backend given (-a)");
		failed = 1;
	}
	if (failed) {
		ch->conf = NULL;
		chain_unref(ch);
		return NULL;
	}
	ch->conf = conf;
	return ch;
}

int
chain_preinit(struct chain *ch)
{
	unsigned int i;
	const char *err = NULL;

	for (i = 0; i < ch->n; i++) {
		struct backend *b = &ch->b[i];

		if (b->mod->preinit != NULL &&
		    b->mod->preinit(ch->conf, &b->state, &err) == -1) {
			log_warnx("backend %s: %s", b->mod->name,
			    err ? err : "cannot start");
			return -1;
		}
		b->preinit_done = true;
	}
	return 0;
}

int
chain_init(struct chain *ch)
{
	unsigned int i;
	const char *err = NULL;

	for (i = 0; i < ch->n; i++) {
		struct backend *b = &ch->b[i];

		if (b->mod->init != NULL && b->mod->init(b->state, &err) == -1) {
			log_warnx("backend %s: %s", b->mod->name,
			    err ? err : "cannot start");
			return -1;
		}
	}
	return 0;
}

const char *
chain_needs_root(const struct chain *ch)
{
	unsigned int i;

	for (i = 0; i < ch->n; i++)
		if (ch->b[i].mod->flags & AM_MODULE_NEEDS_ROOT)
			return ch->b[i].mod->name;
	return NULL;
}

enum am_result
chain_verify(struct chain *ch, const struct am_request *req,
    struct am_verdict *v, const char **backend_r)
{
	enum am_result r = AM_NOUSER;
	unsigned int i;

	*backend_r = ch->names;
	for (i = 0; i < ch->n; i++) {
		v->reason[0] = '\0';
		v->delay_ms = 0;
		r = ch->b[i].mod->verify(ch->b[i].state, req, v);
		*backend_r = ch->b[i].mod->name;
		if (r != AM_NOUSER)
			break;
	}
	if (r != AM_OK && v->reason[0] == '\0')
		snprintf(v->reason, sizeof(v->reason), "%s",
		    am_result_name(r));
	return r;
}

void
chain_ref(struct chain *ch)
{
	__atomic_add_fetch(&ch->refs, 1, __ATOMIC_RELAXED);
}

/* Teardowns running on their own threads, so the last one can be waited
 * for before the process exits. */
static pthread_mutex_t teardown_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t teardown_cv = PTHREAD_COND_INITIALIZER;
static unsigned int teardowns;

static void
chain_destroy(struct chain *ch)
{
	unsigned int i;

	for (i = 0; i < ch->n; i++) {
		struct backend *b = &ch->b[i];

		if (b->preinit_done && b->mod->deinit != NULL)
			b->mod->deinit(b->state);
		if (b->dl != NULL)
			dlclose(b->dl);
	}
	conf_free(ch->conf);
	free(ch);
}

static void *
teardown_main(void *arg)
{
	chain_destroy(arg);
	pthread_mutex_lock(&teardown_mu);
	if (--teardowns == 0)
		pthread_cond_broadcast(&teardown_cv);
	pthread_mutex_unlock(&teardown_mu);
	return NULL;
}

void
chain_unref(struct chain *ch)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (ch == NULL || __atomic_sub_fetch(&ch->refs, 1, __ATOMIC_ACQ_REL))
		return;
	/* A module's deinit may block for a while (the ldap backend waits
	 * for its prober, which may be waiting on a dead server): never on
	 * the event loop. */
	pthread_mutex_lock(&teardown_mu);
	teardowns++;
	pthread_mutex_unlock(&teardown_mu);
	rc = pthread_attr_init(&attr);
	if (rc == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&t, &attr, teardown_main, ch);
		pthread_attr_destroy(&attr);
	}
	if (rc != 0)
		teardown_main(ch);
}

void
chain_unref_wait(struct chain *ch)
{
	if (ch != NULL && __atomic_sub_fetch(&ch->refs, 1, __ATOMIC_ACQ_REL) ==
	    0)
		chain_destroy(ch);
	pthread_mutex_lock(&teardown_mu);
	while (teardowns > 0)
		pthread_cond_wait(&teardown_cv, &teardown_mu);
	pthread_mutex_unlock(&teardown_mu);
}

const char *
am_result_name(enum am_result r)
{
	switch (r) {
	case AM_OK:
		return "ok";
	case AM_DENY:
		return "deny";
	case AM_NOUSER:
		return "unknown user";
	case AM_TEMPFAIL:
		return "tempfail";
	}
	return "?";
}
