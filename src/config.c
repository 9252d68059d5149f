/*
 * config.c -- the configuration file parser and the am_conf_* host
 * functions.  Syntax as saslauthd.conf: "key: value" per line, '#' starts
 * a comment line, blank lines ignored; the value is everything after the
 * colon, trimmed (it may contain '#' and ':', passwords do).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "config.h"
#include "log.h"

/* Bytes in a line, its newline not counted. */
#define CONF_LINE_MAX 4095

static struct am_conf *
conf_new(const char *path)
{
	struct am_conf *conf;

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return NULL;
	if (path != NULL && (conf->path = strdup(path)) == NULL) {
		free(conf);
		return NULL;
	}
	return conf;
}

static int
conf_add(struct am_conf *conf, const char *key, const char *value, int line)
{
	struct am_conf_entry *v, *e;

	v = reallocarray(conf->v, conf->n + 1, sizeof(*v));
	if (v == NULL)
		return -1;
	conf->v = v;
	e = &conf->v[conf->n];
	memset(e, 0, sizeof(*e));
	e->key = strdup(key);
	e->value = strdup(value);
	e->line = line;
	if (e->key == NULL || e->value == NULL) {
		free(e->key);
		free(e->value);
		return -1;
	}
	conf->n++;
	return 0;
}

static const char *
conf_name(const struct am_conf *conf)
{
	return conf->path != NULL ? conf->path : "(none)";
}

/* Report at entry e ("file:line: key: text"), or for key when e is NULL. */
static void conf_vreport(const struct am_conf *, int, const char *,
    const struct am_conf_entry *, const char *, va_list)
    __attribute__((format(printf, 5, 0)));

static void
conf_vreport(const struct am_conf *conf, int prio, const char *key,
    const struct am_conf_entry *e, const char *fmt, va_list ap)
{
	char text[1024];

	vsnprintf(text, sizeof(text), fmt, ap);
	if (e != NULL && e->line > 0)
		log_msg(prio, "%s:%d: %s: %s", conf_name(conf), e->line, key,
		    text);
	else if (e != NULL)
		log_msg(prio, "command line: %s: %s", key, text);
	else
		log_msg(prio, "%s: %s", key, text);
}

static void
conf_report_line(struct am_conf *conf, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conf_report_line(struct am_conf *conf, int line, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_msg(LOG_ERR, "%s:%d: %s", conf_name(conf), line, text);
	conf->errors++;
}

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Check a key name and lowercase it: saslauthd's parser does, so
 * "LDAP_Servers:" is ldap_servers there and here alike. */
static int
canon_key(char *k)
{
	if (*k == '\0')
		return 0;
	for (; *k != '\0'; k++) {
		if (!isalnum((unsigned char)*k) && *k != '_' && *k != '-')
			return 0;
		*k = (char)tolower((unsigned char)*k);
	}
	return 1;
}

/* Parse one line; line is modified. */
static int
conf_parse_line(struct am_conf *conf, char *raw, int lineno)
{
	char *line = trim(raw), *colon, *key, *value;

	if (*line == '\0' || *line == '#')
		return 0;
	if ((colon = strchr(line, ':')) == NULL) {
		conf_report_line(conf, lineno,
		    "expected \"key: value\", found no ':'");
		return 0;
	}
	*colon = '\0';
	key = trim(line);
	value = trim(colon + 1);
	if (!canon_key(key)) {
		conf_report_line(conf, lineno,
		    "\"%.60s\" is not a key name (letters, digits, _ and -)",
		    key);
		return 0;
	}
	return conf_add(conf, key, value, lineno);
}

static int
conf_parse_stream(struct am_conf *conf, FILE *fp)
{
	char *line = NULL;
	size_t size = 0;
	ssize_t len;
	int lineno = 0, rc = 0;

	/* getline(), not fgets(): it counts the NUL bytes it reads, so a
	 * NUL cannot pass for the end of a line (and hide the next one) */
	while ((len = getline(&line, &size, fp)) != -1) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (len > CONF_LINE_MAX)
			conf_report_line(conf, lineno,
			    "line longer than %d bytes", CONF_LINE_MAX);
		else if (memchr(line, '\0', (size_t)len) != NULL)
			conf_report_line(conf, lineno, "NUL byte in the line");
		else if (conf_parse_line(conf, line, lineno) == -1) {
			rc = -1;
			break;
		}
	}
	/* getline() also stops on a read error or out of memory */
	if (rc == 0 && !feof(fp))
		rc = -1;
	if (line != NULL) {
		/* values may be bind passwords */
		explicit_bzero(line, size);
		free(line);
	}
	return rc;
}

struct am_conf *
conf_load(const char *path)
{
	struct am_conf *conf;
	FILE *fp;

	if ((conf = conf_new(path)) == NULL)
		return NULL;
	if (path == NULL)
		return conf;
	if ((fp = fopen(path, "re")) == NULL) {
		log_msg(LOG_ERR, "%s: cannot open configuration file: %s",
		    path, strerror(errno));
		conf->errors++;
		return conf;
	}
	if (conf_parse_stream(conf, fp) == -1 || ferror(fp)) {
		log_msg(LOG_ERR, "%s: read error: %s", path, strerror(errno));
		conf->errors++;
	}
	fclose(fp);
	return conf;
}

struct am_conf *
conf_load_string(const char *name, const char *text)
{
	struct am_conf *conf;
	FILE *fp;

	if ((conf = conf_new(name)) == NULL)
		return NULL;
	if ((fp = fmemopen((void *)text, strlen(text), "r")) == NULL) {
		conf_free(conf);
		return NULL;
	}
	if (conf_parse_stream(conf, fp) == -1)
		conf->errors++;
	fclose(fp);
	return conf;
}

void
conf_free(struct am_conf *conf)
{
	size_t i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->n; i++) {
		free(conf->v[i].key);
		/* values may be bind passwords */
		if (conf->v[i].value != NULL)
			explicit_bzero(conf->v[i].value,
			    strlen(conf->v[i].value));
		free(conf->v[i].value);
	}
	free(conf->v);
	free(conf->path);
	free(conf);
}

int
conf_set(struct am_conf *conf, const char *key, const char *value)
{
	return conf_add(conf, key, value, 0);
}

const struct am_conf_entry *
conf_find(const struct am_conf *conf, const char *key)
{
	size_t i;

	/* command-line entries (line 0) win over the file */
	for (i = conf->n; i-- > 0;)
		if (conf->v[i].line == 0 && strcmp(conf->v[i].key, key) == 0)
			return &conf->v[i];
	for (i = conf->n; i-- > 0;)
		if (strcmp(conf->v[i].key, key) == 0)
			return &conf->v[i];
	return NULL;
}

int
conf_parse_bool(const char *s)
{
	static const char *yes[] = { "yes", "on", "true", "1" };
	static const char *no[] = { "no", "off", "false", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

long
conf_parse_id(const char *s)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end != '\0' || errno != 0 || v < 0 || v >= (long)(uid_t)-1)
		return -1;
	return v;
}

static int
parse_long(const char *s, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0)
		return -1;
	*out = v;
	return 0;
}

void
conf_check_options(struct am_conf *conf, const struct am_option *opts)
{
	const struct am_option *o;
	size_t i;
	long l;

	for (i = 0; i < conf->n; i++) {
		struct am_conf_entry *e = &conf->v[i];

		for (o = opts; o->key != NULL; o++)
			if (strcmp(o->key, e->key) == 0)
				break;
		if (o->key == NULL)
			continue;
		e->claimed = true;
		switch (o->type) {
		case AM_OPT_STRING:
			break;
		case AM_OPT_PATH:
			if (e->value[0] != '/')
				am_conf_error_at(conf, e,
				    "\"%.200s\" is not an absolute path",
				    e->value);
			break;
		case AM_OPT_INT:
			if (parse_long(e->value, &l) == -1)
				am_conf_error_at(conf, e,
				    "\"%.60s\" is not a number", e->value);
			else if (l < o->min || l > o->max)
				am_conf_error_at(conf, e,
				    "%ld is out of range (%ld to %ld)", l,
				    o->min, o->max);
			break;
		case AM_OPT_BOOL:
			if (conf_parse_bool(e->value) == -1)
				am_conf_error_at(conf, e,
				    "\"%.60s\" is not yes or no", e->value);
			break;
		}
	}
}

void
conf_warn_unclaimed(struct am_conf *conf, const char *backends)
{
	bool ldap = false;
	const char *p;
	size_t i;

	/* is "ldap" one of the words of the -a list? */
	for (p = backends; p != NULL && (p = strstr(p, "ldap")) != NULL;
	    p += 4)
		if ((p == backends || p[-1] == ',') && (p[4] == '\0' ||
		    p[4] == ','))
			ldap = true;
	for (i = 0; i < conf->n; i++) {
		struct am_conf_entry *e = &conf->v[i];

		if (e->claimed)
			continue;
		if (strncmp(e->key, "ldap_", 5) == 0 && !ldap)
			am_conf_warn_at(conf, e, "unused: the ldap backend "
			    "is not in the chain (-a)");
		else
			am_conf_warn_at(conf, e, "unknown key, ignored");
	}
}

void
am_conf_error_at(struct am_conf *conf, const struct am_conf_entry *e,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_vreport(conf, LOG_ERR, e->key, e, fmt, ap);
	va_end(ap);
	conf->errors++;
}

void
am_conf_warn_at(struct am_conf *conf, const struct am_conf_entry *e,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_vreport(conf, LOG_WARNING, e->key, e, fmt, ap);
	va_end(ap);
	conf->warnings++;
}

/* --- host functions for modules ------------------------------------ */

const char *
am_conf_str(const struct am_conf *conf, const char *key, const char *def)
{
	const struct am_conf_entry *e = conf_find(conf, key);

	return e != NULL ? e->value : def;
}

long
am_conf_int(const struct am_conf *conf, const char *key, long def)
{
	const struct am_conf_entry *e = conf_find(conf, key);
	long v;

	if (e == NULL || parse_long(e->value, &v) == -1)
		return def;
	return v;
}

bool
am_conf_bool(const struct am_conf *conf, const char *key, bool def)
{
	const struct am_conf_entry *e = conf_find(conf, key);
	int b;

	if (e == NULL || (b = conf_parse_bool(e->value)) == -1)
		return def;
	return b;
}

/* The conf is logically const for modules; the counters are bookkeeping. */
void
am_conf_error(const struct am_conf *conf, const char *key, const char *fmt,
    ...)
{
	struct am_conf *c = (struct am_conf *)conf;
	va_list ap;

	va_start(ap, fmt);
	conf_vreport(c, LOG_ERR, key, conf_find(c, key), fmt, ap);
	va_end(ap);
	c->errors++;
}

void
am_conf_warn(const struct am_conf *conf, const char *key, const char *fmt,
    ...)
{
	struct am_conf *c = (struct am_conf *)conf;
	va_list ap;

	va_start(ap, fmt);
	conf_vreport(c, LOG_WARNING, key, conf_find(c, key), fmt, ap);
	va_end(ap);
	c->warnings++;
}
