/*
 * log.h -- logging in the err(3) style, to syslog or to stderr.
 * Thread-safe.  log_warn() appends strerror(errno); log_warnx() does not;
 * fatal()/fatalx() log and exit(1).
 */
#ifndef AUTHMUX_LOG_H
#define AUTHMUX_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

/* to_stderr: log to stderr instead of syslog.  debug: also LOG_DEBUG. */
void log_init(const char *ident, int facility, bool to_stderr, bool debug);
void log_set_debug(bool debug);
/* Batch this thread's lines until log_flush() (the loop thread, once per
 * iteration); off flushes. */
void log_batch(bool on);
void log_flush(void);
/* While on, syslog lines are copied to stderr (daemon startup). */
void log_also_stderr(bool on);
bool log_debug_enabled(void);
/* Facility number for a name ("auth", "mail", "local0"...), or -1. */
int log_facility(const char *name);

/* A line already made, without printf formatting. */
void log_text(int prio, const char *line);
void log_msg(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
