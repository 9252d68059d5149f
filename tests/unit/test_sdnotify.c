/*
 * test_sdnotify.c -- sdnotify.c's side of the environment: which
 * NOTIFY_SOCKET values are taken and what address they make (a datagram
 * must reach a socket bound there), that the variables are unset, and
 * LISTEN_PID/LISTEN_FDS; then listen_same_path().  Includes sdnotify.c to
 * reach its statics.  systemd.sh runs the daemon against real peers.
 */
#include "../../src/sdnotify.c"

#include <sys/stat.h>

#include "listen.h"
#include "tap.h"

/* Bind a datagram socket at addr (a path, or "@name"); -1 on failure. */
static int
receiver(const char *addr)
{
	struct sockaddr_un sun;
	size_t len = strlen(addr);
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, addr, len);
	if (addr[0] == '@')
		sun.sun_path[0] = '\0';
	else
		len++;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun,
	    offsetof(struct sockaddr_un, sun_path) + len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
test_notify_socket(void)
{
	char path[64], abstract[64], longpath[200], got[256];
	ssize_t n;
	int fd;
	const char *refused[] = { "relative/notify", "", "@", "vsock:2:1234",
		longpath };
	size_t i;

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		setenv("NOTIFY_SOCKET", refused[i], 1);
		sdnotify_init();
		ok(!sdnotify_enabled() && getenv("NOTIFY_SOCKET") == NULL,
		    "NOTIFY_SOCKET \"%.20s\": not taken, unset", refused[i]);
	}
	unsetenv("NOTIFY_SOCKET");
	sdnotify_init();
	ok(!sdnotify_enabled(), "no NOTIFY_SOCKET: nothing to tell");
	sdnotify("READY=1");	/* must do nothing, and not crash */

	snprintf(path, sizeof(path), "/tmp/amnotify.%ld", (long)getpid());
	snprintf(abstract, sizeof(abstract), "@amnotify.%ld",
	    (long)getpid());
	unlink(path);
	for (i = 0; i < 2; i++) {
		const char *addr = i == 0 ? path : abstract;

		if ((fd = receiver(addr)) == -1) {
			ok(0, "bind a receiver at %s: %s", addr,
			    strerror(errno));
			continue;
		}
		setenv("NOTIFY_SOCKET", addr, 1);
		sdnotify_init();
		ok(sdnotify_enabled() && getenv("NOTIFY_SOCKET") == NULL,
		    "NOTIFY_SOCKET %s: taken, unset", addr);
		sdnotify("READY=1\nMAINPID=%d", 42);
		n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
		got[n > 0 ? n : 0] = '\0';
		ok(strcmp(got, "READY=1\nMAINPID=42") == 0,
		    "%s: the datagram arrives whole", addr);
		sdnotify_reloading("Reloading");
		n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
		got[n > 0 ? n : 0] = '\0';
		ok(strncmp(got, "RELOADING=1\nSTATUS=Reloading\n"
		    "MONOTONIC_USEC=", 44) == 0 && strlen(got) > 44,
		    "%s: RELOADING=1 with STATUS and MONOTONIC_USEC", addr);
		close(fd);
	}
	unlink(path);
}

static void
test_listen_fds(void)
{
	/* in this order: only the last case takes the descriptors */
	static const struct {
		long pid_offset;	/* 0: ours */
		const char *fds;
		int want;
	} cases[] = {
		{ 1, "2", 0 },		/* meant for another process */
		{ 0, "junk", 0 },
		{ 0, "0", 0 },
		{ 0, "", 0 },
		{ 0, "2", 2 },
	};
	char pid[32];
	size_t i;
	int p[2], n;

	/* descriptors 3 and 4, without close-on-exec */
	if (pipe(p) == -1 || dup2(p[0], 3) == -1 || dup2(p[1], 4) == -1) {
		ok(0, "pipe on 3 and 4");
		return;
	}
	fcntl(3, F_SETFD, 0);
	fcntl(4, F_SETFD, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(pid, sizeof(pid), "%ld",
		    (long)getpid() + cases[i].pid_offset);
		setenv("LISTEN_PID", pid, 1);
		setenv("LISTEN_FDS", cases[i].fds, 1);
		setenv("LISTEN_FDNAMES", "a:b", 1);
		n = sdnotify_listen_fds();
		ok(n == cases[i].want && getenv("LISTEN_PID") == NULL &&
		    getenv("LISTEN_FDS") == NULL &&
		    getenv("LISTEN_FDNAMES") == NULL &&
		    ((fcntl(3, F_GETFD) & fcntl(4, F_GETFD) & FD_CLOEXEC) != 0) ==
		    (n > 0), "LISTEN_PID %s, LISTEN_FDS \"%s\": %d (want %d), "
		    "variables unset, fds 3 and 4 close-on-exec only when taken",
		    cases[i].pid_offset ? "another" : "ours", cases[i].fds, n,
		    cases[i].want);
	}
	ok(sdnotify_listen_fds() == 0, "asked again: none");
	close(3);
	close(4);
	close(p[0]);
	close(p[1]);
}

static void
test_same_path(void)
{
	static const struct {
		const char *a, *b;
		bool same;
	} cases[] = {
		{ "/run/saslauthd/mux", "/run/saslauthd/mux", true },
		{ "/run/saslauthd//mux", "/run/saslauthd/mux", true },
		{ "/run/saslauthd/mux", "//run///saslauthd/mux", true },
		{ "/run/saslauthd/mux", "/run/saslauthd/mux/", false },
		{ "/run/saslauthd/mux", "/run/saslauthd/mu", false },
		{ "/run/saslauthd/mux", "/var/run/saslauthd/mux", false },
		{ "/a/b", "/a/c", false },
		{ "", "", true },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(listen_same_path(cases[i].a, cases[i].b) == cases[i].same &&
		    listen_same_path(cases[i].b, cases[i].a) == cases[i].same,
		    "\"%s\" and \"%s\": %s", cases[i].a, cases[i].b,
		    cases[i].same ? "the same" : "not the same");
}

int
main(void)
{
	log_init("test_sdnotify", LOG_AUTH, true, false);
	test_notify_socket();
	test_listen_fds();
	test_same_path();
	return tap_done();
}
