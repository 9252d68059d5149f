/*
 * authmuxd.c -- startup, options, signals, daemon mode, reload.
 *
 * Flags keep saslauthd's meaning so existing init scripts and
 * /etc/default/saslauthd files work; every flag also has a config key,
 * and the command line wins over the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "cache.h"
#include "config.h"
#include "control.h"
#include "dispatch.h"
#include "listen.h"
#include "log.h"
#include "loop.h"
#include "peer.h"
#include "privs.h"
#include "sdnotify.h"

#define DEFAULT_THREADS		5
#define DEFAULT_READ_TIMEOUT	5	/* seconds */
#define DEFAULT_BACKEND_TIMEOUT	30	/* seconds */
#define DEFAULT_MAX_CONNS	4096
#define SHUTDOWN_LIMIT_MS	10000
#define DEFAULT_CACHE_KIB	16384	/* saslauthd: about 1 MiB */
#define DEFAULT_CACHE_TTL	28800	/* as saslauthd's -t */
#define DEFAULT_CACHE_NEG_TTL	60
#define DEFAULT_CACHE_STALE	3600
#define MAX_LISTEN		16
#define MAX_INHERITED		16	/* sockets from the service manager */

static const struct am_option core_options[] = {
	{ "mechanisms", AM_OPT_STRING, 0, 0 },
	{ "run_dir", AM_OPT_PATH, 0, 0 },
	{ "listen", AM_OPT_PATH, 0, 0 },
	{ "threads", AM_OPT_INT, 1, 1024 },
	{ "read_timeout", AM_OPT_INT, 1, 3600 },
	{ "backend_timeout", AM_OPT_INT, 1, 3600 },
	{ "max_connections", AM_OPT_INT, 16, 1000000 },
	{ "realm_join", AM_OPT_BOOL, 0, 0 },
	{ "socket_dir_owner", AM_OPT_STRING, 0, 0 },
	{ "socket_dir_group", AM_OPT_STRING, 0, 0 },
	{ "socket_dir_mode", AM_OPT_STRING, 0, 0 },
	{ "socket_mode", AM_OPT_STRING, 0, 0 },
	{ "pid_file", AM_OPT_PATH, 0, 0 },
	{ "log_facility", AM_OPT_STRING, 0, 0 },
	{ "module_dir", AM_OPT_PATH, 0, 0 },
	{ "control_socket", AM_OPT_PATH, 0, 0 },
	{ "cache", AM_OPT_BOOL, 0, 0 },
	{ "cache_size", AM_OPT_INT, 64, 16777216 },
	{ "cache_ttl", AM_OPT_INT, 1, 31536000 },
	{ "cache_negative_ttl", AM_OPT_INT, 0, 86400 },
	{ "cache_stale", AM_OPT_INT, 0, 31536000 },
	{ "user", AM_OPT_STRING, 0, 0 },
	{ "group", AM_OPT_STRING, 0, 0 },
	{ "allow_users", AM_OPT_STRING, 0, 0 },
	{ "allow_groups", AM_OPT_STRING, 0, 0 },
	{ NULL, 0, 0, 0 }
};

struct settings {
	const char *mechanisms;
	const char *run_dir;
	char mux[4096];		/* run_dir/mux */
	const char *listen[MAX_LISTEN];	/* other paths, each once */
	unsigned int nlisten;
	unsigned int threads;
	unsigned int read_timeout_ms;
	unsigned int backend_timeout_ms;
	unsigned int max_conns;
	bool realm_join;
	struct listen_dir dir;
	mode_t socket_mode;
	const char *pid_file;
	int facility;
	const char *module_dir;
	const char *control_socket;	/* NULL: run_dir/authmuxd.ctl */
	bool cache;
	size_t cache_kib;
	unsigned int cache_ttl, cache_neg_ttl, cache_stale;
	struct privs privs;		/* user, group */
	struct peer_acl acl;		/* allow_users, allow_groups; owned */
};

/* Command-line values, kept to apply again on reload. */
static struct {
	const char *key;
	const char *value;
} cli[32];
static unsigned int ncli;
static const char *conf_path;
static bool foreground, debug, check_only;

static volatile sig_atomic_t got_term, got_hup;
static bool shutting_down;
static struct loop_timer shutdown_timer;
static uint64_t shutdown_started;
/* the configured paths first (nconfigured), then the service manager's
 * other sockets */
static struct listen_sock socks[MAX_LISTEN + MAX_INHERITED];
static unsigned int nsocks, nconfigured;
/* passed by the service manager and not yet in socks[] (fd -1: taken) */
static struct listen_sock inherited[MAX_INHERITED];
static unsigned int ninherited;
static int listen_fds;		/* LISTEN_FDS, still to be looked at */
static struct listen_sock ctl_sock = { .fd = -1 };
static char ctl_path[4096];
static struct settings cur;
static char pid_path[4096];
static struct chain *running_chain;
static bool dropped;		/* running as cur.privs' user */

static void
cli_set(const char *key, const char *value)
{
	if (ncli == sizeof(cli) / sizeof(cli[0]))
		fatalx("too many options");
	cli[ncli].key = key;
	cli[ncli].value = value;
	ncli++;
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: authmuxd [-cdflrvVh] -a backend[,backend...] [-O file] "
	    "[-m dir]\n"
	    "                [-L path] [-n threads] [-s size] [-t ttl] "
	    "[--check-config]\n"
	    "                [--module-dir dir]\n"
	    "  -a LIST    backends to ask, in order (e.g. file or "
	    "shadow,pam)\n"
	    "  -O FILE    configuration file (--config), saslauthd.conf "
	    "syntax\n"
	    "  -m DIR     socket directory; the socket is DIR/mux "
	    "(default %s)\n"
	    "  -L PATH    one more socket (--listen; repeatable), as a "
	    "listen line\n"
	    "  -n N       worker threads (default %d)\n"
	    "  -r         pass login@realm to the backends\n"
	    "  -d         foreground, log to stderr, debug\n"
	    "  -f         foreground, log to stderr\n"
	    "  -V         verbose (debug) logging\n"
	    "  -c         credential cache on;  -s KIB  its size;  -t SECS  "
	    "its lifetime\n"
	    "  -l         accepted and ignored (no accept lock needed)\n"
	    "  -v         version and backends;  -h  this help\n"
	    "  --check-config  check the configuration and exit\n"
	    "  --module-dir DIR  where backend modules live (default %s)\n"
	    "  --pid-file FILE   (default DIR/authmuxd.pid)\n",
	    RUNDIR, DEFAULT_THREADS, MODULEDIR);
}

static int
parse_mode(const char *s, mode_t *out)
{
	char *end;
	unsigned long m;

	errno = 0;
	m = strtoul(s, &end, 8);
	if (*s == '\0' || *end != '\0' || errno != 0 || m > 07777)
		return -1;
	*out = (mode_t)m;
	return 0;
}

/* Whether path is run_dir/mux or one of the listen paths so far. */
static bool
listed(const struct settings *s, const char *path)
{
	unsigned int i;

	if (listen_same_path(path, s->mux))
		return true;
	for (i = 0; i < s->nlisten; i++)
		if (listen_same_path(path, s->listen[i]))
			return true;
	return false;
}

/* Turn the conf into settings; problems are counted in conf. */
static void
settings_load(struct am_conf *conf, struct settings *s)
{
	const struct am_conf_entry *e;
	size_t i;

	memset(s, 0, sizeof(*s));
	s->mechanisms = am_conf_str(conf, "mechanisms", NULL);
	s->run_dir = am_conf_str(conf, "run_dir", RUNDIR);
	s->threads = am_conf_int(conf, "threads", DEFAULT_THREADS);
	s->read_timeout_ms =
	    am_conf_int(conf, "read_timeout", DEFAULT_READ_TIMEOUT) * 1000;
	s->backend_timeout_ms = am_conf_int(conf, "backend_timeout",
	    DEFAULT_BACKEND_TIMEOUT) * 1000;
	s->max_conns = am_conf_int(conf, "max_connections", DEFAULT_MAX_CONNS);
	s->realm_join = am_conf_bool(conf, "realm_join", false);
	s->module_dir = am_conf_str(conf, "module_dir", MODULEDIR);
	s->pid_file = am_conf_str(conf, "pid_file", NULL);
	s->control_socket = am_conf_str(conf, "control_socket", NULL);
	s->cache = am_conf_bool(conf, "cache", false);
	s->cache_kib = am_conf_int(conf, "cache_size", DEFAULT_CACHE_KIB);
	s->cache_ttl = am_conf_int(conf, "cache_ttl", DEFAULT_CACHE_TTL);
	s->cache_neg_ttl = am_conf_int(conf, "cache_negative_ttl",
	    DEFAULT_CACHE_NEG_TTL);
	s->cache_stale = am_conf_int(conf, "cache_stale", DEFAULT_CACHE_STALE);

	s->facility = log_facility(am_conf_str(conf, "log_facility", "auth"));
	if (s->facility == -1)
		am_conf_error(conf, "log_facility", "unknown facility (auth, "
		    "authpriv, mail, daemon, local0...local7)");

	listen_dir_default(&s->dir);
	if ((e = conf_find(conf, "socket_dir_owner")) != NULL) {
		struct passwd *pw = getpwnam(e->value);

		if (pw == NULL)
			am_conf_error_at(conf, e, "no such user");
		else
			s->dir.uid = pw->pw_uid;
	}
	if ((e = conf_find(conf, "socket_dir_group")) != NULL) {
		struct group *gr = getgrnam(e->value);

		if (gr == NULL)
			am_conf_error_at(conf, e, "no such group");
		else
			s->dir.gid = gr->gr_gid;
	}
	if ((e = conf_find(conf, "socket_dir_mode")) != NULL &&
	    parse_mode(e->value, &s->dir.mode) == -1)
		am_conf_error_at(conf, e, "\"%.20s\" is not an octal mode",
		    e->value);
	if (s->dir.mode & S_IWOTH)
		am_conf_error(conf, "socket_dir_mode", "a directory writable "
		    "by everyone is refused");
	s->socket_mode = 0777;
	if ((e = conf_find(conf, "socket_mode")) != NULL &&
	    parse_mode(e->value, &s->socket_mode) == -1)
		am_conf_error_at(conf, e, "\"%.20s\" is not an octal mode",
		    e->value);

	/* the -m directory's mux first, then every listen line (-L last);
	 * a path given twice is one socket: a packaging wrapper may add the
	 * Postfix chroot path that -m already names */
	if ((size_t)snprintf(s->mux, sizeof(s->mux), "%s/mux", s->run_dir) >=
	    sizeof(s->mux))
		am_conf_error(conf, "run_dir", "path too long");
	for (i = 0; i < conf->n; i++) {
		if (strcmp(conf->v[i].key, "listen") != 0)
			continue;
		if (listed(s, conf->v[i].value)) {
			log_debug("listen: %s is run_dir/mux or an earlier "
			    "listen path; skipped",
			    conf->v[i].value);
			continue;
		}
		if (s->nlisten == MAX_LISTEN - 1) {
			am_conf_error_at(conf, &conf->v[i], "more than %d "
			    "listen paths", MAX_LISTEN - 1);
			break;
		}
		s->listen[s->nlisten++] = conf->v[i].value;
	}
	if (s->mechanisms == NULL)
		am_conf_error(conf, "mechanisms", "no backend given: use -a "
		    "(e.g. -a pam) or a mechanisms line");
	privs_load(conf, &s->privs);
	if (peer_acl_load(conf, &s->acl) == -1)
		fatal("out of memory");
}

/* Load the config and the chain.  Returns the chain or NULL (logged). */
static struct chain *
load_all(struct settings *s)
{
	struct am_conf *conf;
	struct chain *ch = NULL;
	const char *root_only;
	unsigned int i;

	if ((conf = conf_load(conf_path)) == NULL)
		fatal("out of memory");
	for (i = 0; i < ncli; i++)
		if (conf_set(conf, cli[i].key, cli[i].value) == -1)
			fatal("out of memory");
	conf_check_options(conf, core_options);
	settings_load(conf, s);
	if (s->mechanisms != NULL)
		ch = chain_load(s->mechanisms, s->module_dir, conf);
	/* with a module missing, its keys would look unknown: say nothing
	 * misleading */
	if (ch != NULL || s->mechanisms == NULL)
		conf_warn_unclaimed(conf, s->mechanisms);
	if (ch != NULL && (s->privs.drop || dropped) &&
	    (root_only = chain_needs_root(ch)) != NULL)
		am_conf_error(conf, "user", "backend %s must run as root (PAM "
		    "modules such as pam_unix read /etc/shadow): remove user "
		    "and group, or use another backend%s", root_only,
		    dropped ? "; a change of user needs a restart" : "");
	if (ch == NULL || conf->errors > 0) {
		unsigned int n = conf->errors + (ch == NULL && s->mechanisms);

		log_warnx("%s: %u error%s in the configuration",
		    conf_path ? conf_path : "command line", n,
		    n == 1 ? "" : "s");
		if (ch != NULL)
			chain_unref(ch);
		else
			conf_free(conf);
		peer_acl_free(&s->acl);
		return NULL;
	}
	return ch;
}

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
	loop_wakeup();
}

/* Room for max_connections descriptors, within the hard limit. */
static void
raise_fd_limit(unsigned int want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	want += 64;		/* listeners, logs, backends' own files */
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < want)
		log_warnx("open files limited to %lu: fewer than "
		    "max_connections (%u) clients can wait at once",
		    (unsigned long)rl.rlim_cur, want - 64);
}

/* Start, stop, resize or retune the cache; old is NULL at startup. */
static void
apply_cache(const struct settings *s, const struct settings *old)
{
	if (!s->cache) {
		if (cache_enabled())
			log_info("cache: off, entries dropped");
		cache_free();
		return;
	}
	if (old != NULL && old->cache && old->cache_kib == s->cache_kib &&
	    cache_enabled()) {
		cache_set_lifetimes(s->cache_ttl, s->cache_neg_ttl,
		    s->cache_stale);
		return;
	}
	if (cache_init(s->cache_kib, s->cache_ttl, s->cache_neg_ttl,
	    s->cache_stale) == -1) {
		log_warnx("cache: cannot allocate %zu KiB; running without "
		    "a cache", s->cache_kib);
		return;
	}
	log_info("cache: on, %zu KiB, ttl %u s, negative ttl %u s, stale "
	    "answers up to %u s", s->cache_kib, s->cache_ttl,
	    s->cache_neg_ttl, s->cache_stale);
}

/* Whether s names the sockets we listen on (the service manager's
 * extra ones do not count: they are not configured). */
static bool
same_sockets(const struct settings *s)
{
	unsigned int i;

	if (nconfigured != s->nlisten + 1 ||
	    !listen_same_path(socks[0].path, s->mux))
		return false;
	for (i = 0; i < s->nlisten; i++)
		if (!listen_same_path(socks[i + 1].path, s->listen[i]))
			return false;
	return true;
}

/* Returns 0, or -1 when the old configuration is still serving. */
static int
reload(void)
{
	struct settings s;
	struct chain *ch;

	log_info("SIGHUP: reloading %s", conf_path ? conf_path :
	    "(no configuration file)");
	if ((ch = load_all(&s)) == NULL)
		return -1;
	if (chain_preinit(ch) == -1 || chain_init(ch) == -1) {
		chain_unref(ch);
		peer_acl_free(&s.acl);
		return -1;
	}
	if (s.threads != cur.threads)
		log_warnx("threads: changing %u to %u needs a restart",
		    cur.threads, s.threads);
	if (!same_sockets(&s))
		log_warnx("run_dir/listen: socket changes need a restart; "
		    "still listening on the old paths");
	if (s.pid_file != cur.pid_file && (s.pid_file == NULL ||
	    cur.pid_file == NULL || strcmp(s.pid_file, cur.pid_file) != 0))
		log_warnx("pid_file: a change needs a restart");
	if (!privs_same(&s.privs, &cur.privs))
		log_warnx("user/group: a change needs a restart; still running "
		    "as %s", dropped ? cur.privs.name : "root");
	if (s.facility != cur.facility && !foreground)
		log_init("authmuxd", s.facility, false, log_debug_enabled());
	conn_set_limits(s.read_timeout_ms, s.max_conns);
	if (s.max_conns > cur.max_conns)
		raise_fd_limit(s.max_conns);
	dispatch_set_realm_join(s.realm_join);
	dispatch_set_backend_timeout(s.backend_timeout_ms);
	apply_cache(&s, &cur);
	dispatch_set_chain(ch);
	if (running_chain != NULL)
		chain_unref(running_chain);
	running_chain = ch;
	/* cur's strings live in the running chain's conf */
	s.threads = cur.threads;
	s.privs = cur.privs;
	/* dispatch points at cur.acl: the new rule from the next
	 * connection on */
	peer_acl_free(&cur.acl);
	cur = s;
	log_info("reloaded: backends %s", ch->names);
	return 0;
}

static void
close_sockets(void)
{
	unsigned int i;

	for (i = 0; i < nsocks; i++)
		listen_close(&socks[i]);
	nsocks = nconfigured = 0;
	for (i = 0; i < ninherited; i++)
		listen_close(&inherited[i]);
	ninherited = 0;
	listen_close(&ctl_sock);
}

static void
shutdown_check(void *arg)
{
	if (dispatch_in_flight() == 0 && conn_count() == 0) {
		loop_stop();
		return;
	}
	if (loop_now_ms() - shutdown_started > SHUTDOWN_LIMIT_MS) {
		log_warnx("stopping with %u request(s) unanswered after %d s",
		    dispatch_in_flight(), SHUTDOWN_LIMIT_MS / 1000);
		loop_stop();
		return;
	}
	loop_timer_set(&shutdown_timer, 20);
}

static void
on_wakeup(void)
{
	dispatch_complete();
	if (got_hup && !shutting_down) {
		got_hup = 0;
		sdnotify_reloading("Reloading the configuration");
		if (reload() == 0) {
			sdnotify("READY=1\nSTATUS=Reloaded: backends %s",
			    running_chain->names);
		} else {
			log_warnx("reload failed; still serving with the old "
			    "configuration");
			sdnotify("READY=1\nSTATUS=Reload failed; still "
			    "serving with the old configuration");
		}
	}
	if (got_term && !shutting_down) {
		shutting_down = true;
		log_info("stopping: finishing %u request(s) in flight",
		    dispatch_in_flight());
		sdnotify("STOPPING=1\nSTATUS=Stopping: finishing %u "
		    "request(s) in flight", dispatch_in_flight());
		loop_stop_accepting();
		close_sockets();
		shutdown_started = loop_now_ms();
		loop_timer_init(&shutdown_timer, shutdown_check, NULL);
		shutdown_check(NULL);
	}
}

static int
write_pid_file(const char *path)
{
	char buf[32];
	int fd, n;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd == -1) {
		log_warn("cannot write pid file %s", path);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, n) != n) {
		log_warn("cannot write pid file %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* After a privilege drop the pid file's directory (root's) is out of
 * reach: the file stays, and the next start writes it again. */
static void
remove_pid_file(void)
{
	if (pid_path[0] == '\0' || unlink(pid_path) == 0 || errno == ENOENT)
		return;
	if (dropped)
		log_info("pid file %s stays: user %s may not remove it (the "
		    "next start writes it again)", pid_path, cur.privs.name);
	else
		log_warn("cannot remove pid file %s", pid_path);
}

/* Fork; the parent waits for the child's startup status and exits with
 * it.  Returns the fd the child reports on. */
static int
daemonize(void)
{
	int p[2];
	pid_t pid;
	unsigned char st;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &st, 1) != 1)
			_exit(1);
		_exit(st);
	}
	close(p[0]);
	if (setsid() == -1)
		fatal("setsid");
	if (chdir("/") == -1)
		fatal("chdir /");
	return p[1];
}

static void
report_start(int fd, unsigned char status)
{
	int null;

	if (fd == -1)
		return;
	if (write(fd, &status, 1) != 1) {
		/* the parent is gone; nothing to tell */
	}
	close(fd);
	if ((null = open("/dev/null", O_RDWR)) != -1) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
}

/* Check the descriptors the service manager passed into inherited[]. */
static void
take_listen_fds(void)
{
	int fd;

	for (fd = SDNOTIFY_LISTEN_FDS_START;
	    fd < SDNOTIFY_LISTEN_FDS_START + listen_fds; fd++) {
		if (ninherited == MAX_INHERITED) {
			log_warnx("descriptor %d from the service manager: "
			    "more than %d sockets; closed", fd, MAX_INHERITED);
			close(fd);
		} else if (listen_inherit(fd, &inherited[ninherited]) == 0)
			ninherited++;
	}
	listen_fds = 0;
}

/* Move the service manager's socket for path (if any) to out. */
static bool
take_inherited(const char *path, struct listen_sock *out)
{
	unsigned int i;
	char *p;

	for (i = 0; i < ninherited; i++) {
		if (inherited[i].fd == -1 || !listen_is(&inherited[i], path))
			continue;
		if (strcmp(path, inherited[i].path) == 0)
			log_info("%s: socket from the service manager", path);
		else
			log_info("%s: socket from the service manager (bound "
			    "as %s)", path, inherited[i].path);
		*out = inherited[i];
		inherited[i].fd = -1;
		inherited[i].path = NULL;
		/* named as configured, so that a reload compares alike */
		if ((p = strdup(path)) != NULL) {
			free(out->path);
			out->path = p;
		}
		return true;
	}
	return false;
}

static int
watch(const struct listen_sock *ls, const struct conn_proto *proto)
{
	if (loop_listen(ls->fd, proto) == -1) {
		log_warn("cannot watch %s", ls->path);
		return -1;
	}
	return 0;
}

static int
start_listening(const struct settings *s)
{
	const char *paths[MAX_LISTEN];
	unsigned int i, n = 0;
	int r;

	take_listen_fds();
	/* root only: the mode keeps others out, SO_PEERCRED makes sure */
	if (s->control_socket != NULL)
		snprintf(ctl_path, sizeof(ctl_path), "%s", s->control_socket);
	else
		snprintf(ctl_path, sizeof(ctl_path), "%s/%s", s->run_dir,
		    CONTROL_SOCKET_NAME);
	paths[n++] = s->mux;
	for (i = 0; i < s->nlisten; i++)
		paths[n++] = s->listen[i];
	for (i = 0; i < n; i++) {
		if (!take_inherited(paths[i], &socks[nsocks]) &&
		    (r = listen_open(paths[i], &s->dir, s->socket_mode,
		    &socks[nsocks])) != 0)
			return r;
		if (watch(&socks[nsocks++], &dispatch_saslauthd) == -1)
			return -1;
	}
	nconfigured = nsocks;
	/* the service manager's other sockets are served all the same */
	for (i = 0; i < ninherited; i++) {
		if (inherited[i].fd == -1)
			continue;
		if (listen_is(&inherited[i], ctl_path)) {
			log_warnx("%s: the service manager passed a socket at "
			    "the control socket's path; the control socket "
			    "is always authmuxd's own: remove it from the "
			    ".socket unit", inherited[i].path);
			return -1;
		}
		log_info("%s: socket from the service manager, not a run_dir "
		    "or listen path; serving it with the saslauthd protocol",
		    inherited[i].path);
		socks[nsocks] = inherited[i];
		inherited[i].fd = -1;
		inherited[i].path = NULL;
		if (watch(&socks[nsocks++], &dispatch_saslauthd) == -1)
			return -1;
	}
	if ((r = listen_open(ctl_path, &s->dir, 0600, &ctl_sock)) != 0)
		return r;
	return watch(&ctl_sock, &control_proto);
}

/* --check-config with user set: what init checks after the drop (files
 * the user must be able to read), in a child that drops privileges. */
static int
init_as_user(struct chain *ch)
{
	pid_t pid;
	int st;

	fflush(stdout);
	if ((pid = fork()) == -1) {
		log_warn("fork");
		return -1;
	}
	if (pid == 0) {
		privs_drop(&cur.privs);
		_exit(chain_init(ch) == -1 ? 1 : 0);
	}
	if (waitpid(pid, &st, 0) == -1)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void
version(void)
{
	printf("authmuxd %s\nauthentication mechanisms: %s\n",
	    PACKAGE_VERSION, BACKENDS_BUILT);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'O' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "module-dir", required_argument, NULL, 'M' },
		{ "pid-file", required_argument, NULL, 'P' },
		{ "threads", required_argument, NULL, 'n' },
		{ "listen", required_argument, NULL, 'L' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'V' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sigaction sa;
	struct chain *ch;
	int c, r, status = 1, status_fd = -1;
	bool verbose = false;

	log_init("authmuxd", LOG_AUTH, true, false);
	/* before the configuration (ldap_password) or any password */
	privs_harden();
	while ((c = getopt_long(argc, argv, "a:O:cs:t:m:L:n:lrdfVvh", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'a':
			cli_set("mechanisms", optarg);
			break;
		case 'O':
			conf_path = optarg;
			break;
		case 'c':
			cli_set("cache", "yes");
			break;
		case 's':
			cli_set("cache_size", optarg);
			break;
		case 't':
			cli_set("cache_ttl", optarg);
			break;
		case 'm':
			cli_set("run_dir", optarg);
			break;
		case 'L':
			/* every one adds a socket, as listen lines do */
			cli_set("listen", optarg);
			break;
		case 'n':
			/* saslauthd's -n 0 means a process per connection;
			 * threads here are cheap, keep the default */
			cli_set("threads", strcmp(optarg, "0") == 0 ?
			    "5" : optarg);
			break;
		case 'l':
			break;
		case 'r':
			cli_set("realm_join", "yes");
			break;
		case 'd':
			debug = foreground = true;
			break;
		case 'f':
			foreground = true;
			break;
		case 'V':
			verbose = true;
			break;
		case 'v':
			version();
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case 'C':
			check_only = true;
			break;
		case 'M':
			cli_set("module_dir", optarg);
			break;
		case 'P':
			cli_set("pid_file", optarg);
			break;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "authmuxd: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		return 1;
	}
	if (conf_path == NULL &&
	    access(SYSCONFDIR "/authmuxd.conf", F_OK) == 0)
		conf_path = SYSCONFDIR "/authmuxd.conf";
	log_set_debug(debug || verbose);
	/* before forking: LISTEN_PID names this process, and a daemonized
	 * child still tells the service manager */
	sdnotify_init();
	listen_fds = sdnotify_listen_fds();

	if ((ch = load_all(&cur)) == NULL)
		return 1;
	if (check_only) {
		r = chain_preinit(ch);
		if (r == 0 && cur.privs.drop)
			r = init_as_user(ch);
		chain_unref_wait(ch);
		if (r == -1)
			return 1;
		printf("configuration OK\n");
		return 0;
	}

	umask(022);
	if (!foreground) {
		status_fd = daemonize();
		/* until startup is reported, errors go to the terminal too */
		log_init("authmuxd", cur.facility, false, debug || verbose);
		log_also_stderr(true);
	}
	if (loop_init() == -1)
		fatal("event loop");
	conn_set_limits(cur.read_timeout_ms, cur.max_conns);
	raise_fd_limit(cur.max_conns);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	if ((r = start_listening(&cur)) != 0) {
		status = r == -2 ? 2 : 1;
		goto fail;
	}
	/* as root, in a directory only root may write to */
	if (cur.pid_file != NULL)
		snprintf(pid_path, sizeof(pid_path), "%s", cur.pid_file);
	else
		snprintf(pid_path, sizeof(pid_path), "%s/authmuxd.pid",
		    cur.run_dir);
	if (write_pid_file(pid_path) == -1)
		pid_path[0] = '\0';
	/* preinit reads what only root may (the sockets are bound); init
	 * and everything after run as the user */
	if (chain_preinit(ch) == -1)
		goto fail;
	if (cur.privs.drop) {
		privs_drop(&cur.privs);
		dropped = true;
	}
	if (chain_init(ch) == -1)
		goto fail;
	dispatch_set_acl(&cur.acl);
	dispatch_set_realm_join(cur.realm_join);
	dispatch_set_backend_timeout(cur.backend_timeout_ms);
	apply_cache(&cur, NULL);
	dispatch_set_chain(ch);
	running_chain = ch;
	ch = NULL;
	if (dispatch_start(cur.threads) == -1)
		goto fail;
	loop_set_wakeup(on_wakeup);
	log_info("authmuxd %s ready: backends %s, %u threads, socket %s%s",
	    PACKAGE_VERSION, running_chain->names, cur.threads, socks[0].path,
	    nsocks > 1 ? " and more" : "");
	sdnotify("READY=1\nSTATUS=Ready: backends %s, %u threads, %u "
	    "socket(s)\nMAINPID=%ld", running_chain->names, cur.threads,
	    nsocks, (long)getpid());
	report_start(status_fd, 0);
	log_also_stderr(false);

	log_batch(true);
	loop_run();
	log_batch(false);

	close_sockets();
	if (dispatch_in_flight() == 0)
		dispatch_stop();
	else
		log_warnx("leaving %u worker(s) stuck in a backend",
		    dispatch_in_flight());
	chain_unref_wait(running_chain);
	remove_pid_file();
	cache_free();
	loop_free();
	peer_acl_free(&cur.acl);
	log_info("stopped");
	return 0;
fail:
	close_sockets();
	remove_pid_file();
	dispatch_stop();
	/* on this thread: no teardown thread may outlive the exit */
	chain_unref_wait(ch);
	chain_unref_wait(running_chain);
	loop_free();
	peer_acl_free(&cur.acl);
	report_start(status_fd, status);
	return status;
}
