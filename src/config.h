/*
 * config.h -- the configuration file (saslauthd.conf syntax: "key: value"
 * lines, '#' comments) and the daemon's own settings.
 *
 * Every value is kept with its file and line so errors read
 * "file:line: key: what is wrong".  Keys are checked against the core
 * keyword table and the option tables of the loaded modules; a key that no
 * table claims is a warning.
 */
#ifndef AUTHMUX_CONFIG_H
#define AUTHMUX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "module.h"

struct am_conf_entry {
	char *key;
	char *value;
	int line;
	bool claimed;		/* some keyword table knows this key */
};

struct am_conf {
	char *path;		/* NULL when no file was read */
	struct am_conf_entry *v;
	size_t n;
	/* errors and warnings reported so far (am_conf_error/_warn) */
	unsigned int errors, warnings;
};

/* Read path.  Syntax errors are counted in errors and logged; a file that
 * cannot be opened is an error too.  path == NULL gives an empty conf.
 * Returns NULL only on allocation failure. */
struct am_conf *conf_load(const char *path);
/* Parse from memory (for tests); name is used in messages. */
struct am_conf *conf_load_string(const char *name, const char *text);
void conf_free(struct am_conf *conf);

/* Set a value as if it came from the command line (wins over the file). */
int conf_set(struct am_conf *conf, const char *key, const char *value);

/* The last entry for key, or NULL. */
const struct am_conf_entry *conf_find(const struct am_conf *conf,
    const char *key);

/* Check every value of the keys in opts against its type, mark those keys
 * claimed; errors are counted and logged. */
void conf_check_options(struct am_conf *conf, const struct am_option *opts);
/* Warn about each key not claimed by any table; backends is the -a list
 * (may be NULL), to tell "ldap_* unused" from "unknown key". */
void conf_warn_unclaimed(struct am_conf *conf, const char *backends);

/* Report at one entry, as am_conf_error/am_conf_warn do for a key. */
void am_conf_error_at(struct am_conf *conf, const struct am_conf_entry *e,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void am_conf_warn_at(struct am_conf *conf, const struct am_conf_entry *e,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Parse a boolean word; returns 0/1, or -1 when it is none. */
int conf_parse_bool(const char *s);
/* A user or group id written as a decimal number (user, allow_users...),
 * or -1 when s is not one (a name, then). */
long conf_parse_id(const char *s);

#endif
