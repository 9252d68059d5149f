/*
 * nullserver.c -- the floor for the saslauthd protocol on this machine.
 *
 * A single-threaded epoll server shaped like a real daemon (non-blocking
 * accept4, level-triggered epoll, partial reads), which does nothing but
 * the protocol: it parses the four field lengths of each request, skips
 * the field bytes, answers the counted string "OK" and closes.  No
 * backend, no hashing, no logging, no deadlines.  Whatever loadgen
 * measures against it is the cost of the kernel, the socket round trips
 * and the client, which no daemon can go under.
 *
 * Bytes after the fourth field (an optional fifth) are ignored.  SIGTERM
 * or SIGINT ends it; it then unlinks its socket (only if the file is still
 * the one it created).
 */
/* For hand builds; configure passes -D_GNU_SOURCE=1 itself. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_EVENTS	256

static const uint8_t reply_ok[] = { 0, 2, 'O', 'K' };

/* Streaming parser state: nothing of the request is kept but where we
 * are in it, so any field size and any split of the bytes works. */
struct conn {
	int fd;
	int fields;		/* complete fields so far */
	int lenbytes;		/* length bytes of this field seen: 0-2 */
	uint8_t lenhi;
	size_t skip;		/* bytes of this field still to come */
	size_t sent;		/* reply bytes written */
	bool replying;
	bool registered;	/* in the epoll set */
};

/* Tags for the epoll data pointer of the two non-connection fds. */
static int listen_tag, signal_tag;

static int epfd;
static int spare_fd = -1;	/* given up on EMFILE to shed a connection */
static uint64_t served, dropped;
static uint8_t rbuf[65536];

static void
usage(void)
{
	fprintf(stderr,
"usage: nullserver -f PATH [-b BACKLOG] [-v]\n"
"\n"
"Listens on the unix socket PATH and answers every saslauthd request with\n"
"\"OK\" after reading its four fields: the protocol floor for benchmarks.\n"
"Single-threaded epoll loop, no backend, no logging.  SIGTERM or SIGINT\n"
"stops it and removes PATH.\n"
"\n"
"  -f PATH     socket to create (a stale socket file is replaced)\n"
"  -b BACKLOG  listen(2) backlog (default SOMAXCONN, %d)\n"
"  -v          print the number of requests answered on exit (stderr)\n",
	    SOMAXCONN);
	exit(1);
}

static void
die(const char *what)
{
	fprintf(stderr, "nullserver: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
conn_close(struct conn *c)
{
	/* close() removes the fd from the epoll set as well. */
	close(c->fd);
	free(c);
}

/* Returns true once the four fields are in. */
static bool
parse(struct conn *c, const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n;
	size_t take;

	while (p < end && c->fields < 4) {
		if (c->lenbytes == 0) {
			c->lenhi = *p++;
			c->lenbytes = 1;
			continue;
		}
		if (c->lenbytes == 1) {
			c->skip = (size_t)c->lenhi << 8 | *p++;
			c->lenbytes = 2;
		} else {
			take = (size_t)(end - p) < c->skip ?
			    (size_t)(end - p) : c->skip;
			p += take;
			c->skip -= take;
		}
		if (c->skip == 0) {
			c->fields++;
			c->lenbytes = 0;
		}
	}
	return c->fields == 4;
}

static void
conn_write(struct conn *c)
{
	ssize_t n;

	while (c->sent < sizeof(reply_ok)) {
		n = send(c->fd, reply_ok + c->sent, sizeof(reply_ok) - c->sent,
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				struct epoll_event ev = {
					.events = EPOLLOUT,
					.data.ptr = c,
				};

				if (epoll_ctl(epfd, c->registered ?
				    EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd,
				    &ev) == -1) {
					dropped++;
					conn_close(c);
				}
				return;
			}
			dropped++;
			conn_close(c);
			return;
		}
		c->sent += (size_t)n;
	}
	served++;
	conn_close(c);
}

static void
conn_read(struct conn *c)
{
	ssize_t n;

	for (;;) {
		n = read(c->fd, rbuf, sizeof(rbuf));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			break;
		}
		if (n == 0)
			break;		/* EOF before a whole request */
		if (parse(c, rbuf, (size_t)n)) {
			c->replying = true;
			conn_write(c);
			return;
		}
		if ((size_t)n < sizeof(rbuf))
			return;		/* drained; wait for more */
	}
	dropped++;
	conn_close(c);
}

/* Read what came with the connection.  Returns true when the connection
 * was answered or closed, false when it must wait in epoll. */
static bool
first_read(struct conn *c)
{
	ssize_t n = read(c->fd, rbuf, sizeof(rbuf));

	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return false;
	if (n <= 0) {
		dropped++;
		conn_close(c);
		return true;
	}
	if (parse(c, rbuf, (size_t)n)) {
		c->replying = true;
		conn_write(c);
		return true;
	}
	return false;
}

static void
do_accept(int lfd)
{
	struct epoll_event ev;
	struct conn *c;
	int fd, burst;

	/* The same accept strategy as authmuxd's loop (a bounded burst,
	 * then a read before epoll), so the floor is not made of a weaker
	 * design than the daemon measured against it. */
	for (burst = 0; burst < 32; burst++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			switch (errno) {
			case EINTR:
			case ECONNABORTED:
				continue;
			case EMFILE:
			case ENFILE:
				/* Out of descriptors: take the oldest waiting
				 * client and close it, or level-triggered
				 * epoll would spin on the listener. */
				if (spare_fd != -1) {
					close(spare_fd);
					fd = accept(lfd, NULL, NULL);
					if (fd != -1) {
						close(fd);
						dropped++;
					}
					spare_fd = open("/dev/null",
					    O_RDONLY | O_CLOEXEC);
				}
				return;
			default:
				return;	/* EAGAIN and the rest */
			}
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			dropped++;
			continue;
		}
		c->fd = fd;
		if (first_read(c))
			continue;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		c->registered = true;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
			dropped++;
			conn_close(c);
		}
	}
}

static int
make_listener(const char *path, int backlog, struct stat *st)
{
	struct sockaddr_un sa;
	struct stat old;
	int fd, probe;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "nullserver: socket path too long: %s\n", path);
		exit(1);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);

	/* Replace a stale socket, never a live one or another file. */
	if (lstat(path, &old) == 0) {
		if (!S_ISSOCK(old.st_mode)) {
			fprintf(stderr, "nullserver: %s exists and is not a "
			    "socket\n", path);
			exit(1);
		}
		if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) == -1)
			die("socket");
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			fprintf(stderr, "nullserver: %s: a server is "
			    "listening there\n", path);
			exit(1);
		}
		close(probe);
		if (unlink(path) == -1)
			die(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		die("socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		die(path);
	if (chmod(path, 0777) == -1)
		die(path);
	if (listen(fd, backlog) == -1)
		die("listen");
	if (stat(path, st) == -1)
		die(path);
	return fd;
}

int
main(int argc, char **argv)
{
	struct epoll_event ev, evs[MAX_EVENTS];
	struct stat ours, now;
	struct rlimit rl;
	sigset_t sigs;
	const char *path = NULL;
	int backlog = SOMAXCONN, lfd, sfd, ch, n, i;
	bool verbose = false, running = true;
	char *end;
	long v;

	while ((ch = getopt(argc, argv, "b:f:hv")) != -1) {
		switch (ch) {
		case 'b':
			v = strtol(optarg, &end, 10);
			if (end == optarg || *end != '\0' || v < 1 ||
			    v > 1 << 20)
				usage();
			backlog = (int)v;
			break;
		case 'f':
			path = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage();
		}
	}
	if (path == NULL || optind != argc)
		usage();

	/* As many connections as the hard limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) == -1)
		die("sigprocmask");
	if ((sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		die("signalfd");
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	lfd = make_listener(path, backlog, &ours);
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");
	ev.events = EPOLLIN;
	ev.data.ptr = &listen_tag;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) == -1)
		die("epoll_ctl");
	ev.events = EPOLLIN;
	ev.data.ptr = &signal_tag;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev) == -1)
		die("epoll_ctl");

	while (running) {
		n = epoll_wait(epfd, evs, MAX_EVENTS, -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			struct conn *c;

			if (p == &listen_tag) {
				do_accept(lfd);
			} else if (p == &signal_tag) {
				running = false;
			} else {
				c = p;
				if (c->replying)
					conn_write(c);
				else
					conn_read(c);
			}
		}
	}
	/* Connections still open are left to exit(); only the socket file
	 * matters, and only if it is still ours. */
	if (stat(path, &now) == 0 && now.st_dev == ours.st_dev &&
	    now.st_ino == ours.st_ino)
		unlink(path);
	if (verbose)
		fprintf(stderr, "nullserver: %" PRIu64 " answered, %" PRIu64
		    " dropped\n", served, dropped);
	return 0;
}
