/*
 * authmux.c -- command-line client for the saslauthd protocol.
 *
 * A superset of testsaslauthd: the same flags, output and exit codes, so
 * scripts written for it keep working against authmuxd or saslauthd, plus
 * -a (five-field request with a client address), -q, a password prompt and
 * a reply timeout.
 *
 * Without -p the password is read from the terminal (no echo) when stdin
 * is one, else as one line from stdin, so scripts need not put it on the
 * command line where ps(1) shows it:
 *
 *	printf '%s\n' "$pw" | authmux -u alice -s smtp
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "saslauthd_proto.h"

/* configure passes PACKAGE_VERSION with -D (there is no autoconf
 * config.h: "config.h" here is the daemon's configuration header). */
#ifndef PACKAGE_VERSION
#error "PACKAGE_VERSION must be defined (by configure)"
#endif
#ifndef RUNDIR
#define RUNDIR "/var/run/saslauthd"
#endif

/* libsasl2 waits forever; a test tool must not. */
#define REPLY_TIMEOUT_MS	30000

/* testsaslauthd's exit codes: its verify function returns -1, which
 * main() returns as is. */
#define EXIT_OK		0
#define EXIT_USAGE	1
#define EXIT_FAIL	255

enum ask_result { ASK_OK, ASK_TOO_LONG, ASK_ERROR };

static const char *progname = "authmux";

/* Only what the signal handler needs to put the terminal back. */
static volatile sig_atomic_t tty_fd = -1;
static struct termios tty_saved;

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: %s -u username [-p password] [-r realm] [-s servicename]\n"
	    "              [-f socket path] [-R repeatnum] [-a addr] [-q]\n"
	    "       %s [-f control socket] cache stats | cache flush [user]\n"
	    "       %s -h | -V\n"
	    "\n"
	    "  -u user     login to check\n"
	    "  -p pass     password; without -p it is prompted for on the\n"
	    "              terminal, or read as one line from stdin\n"
	    "  -r realm    realm (default: empty)\n"
	    "  -s service  service name (default: imap)\n"
	    "  -f path     socket (default: %s/mux)\n"
	    "  -R n        send the request n times\n"
	    "  -a addr     client address \"ip;port\": send a 5-field request\n"
	    "  -q          print nothing; the exit status says it all\n"
	    "  -h, --help  this text\n"
	    "  -V, --version\n"
	    "\n"
	    "cache stats, cache flush [user]: ask a running authmuxd (root\n"
	    "only) through its control socket (default: %s/authmuxd.ctl).\n"
	    "\n"
	    "Exit status: 0 when the last answer was OK, 255 on NO or error,\n"
	    "1 on a usage error.\n",
	    progname, progname, progname, RUNDIR, RUNDIR);
}

static void
tty_restore(void)
{
	int fd = tty_fd;

	if (fd != -1)
		tcsetattr(fd, TCSAFLUSH, &tty_saved);
}

/* Put echo back before dying of an interrupt at the prompt. */
static void
tty_signal(int sig)
{
	tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Read one line into buf: at most size - 2 bytes, the spare one for a
 * '\r', and the NUL.  Byte by byte from the descriptor: stdio would leave
 * a copy of the password in its buffer, out of reach of explicit_bzero.
 * A trailing "\n" or "\r\n" is dropped; end of file ends the line.
 */
static enum ask_result
read_line(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	char c;

	for (;;) {
		n = read(fd, &c, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return ASK_ERROR;
		if (n == 0 || c == '\n')
			break;
		if (len + 1 >= size) {
			/* Swallow the rest of the line, so none of the
			 * password is left for a shell to read as input. */
			while ((n = read(fd, &c, 1)) == 1 && c != '\n')
				;
			explicit_bzero(&c, sizeof(c));
			return ASK_TOO_LONG;
		}
		buf[len++] = c;
	}
	explicit_bzero(&c, sizeof(c));
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	return len + 2 > size ? ASK_TOO_LONG : ASK_OK;
}

static enum ask_result
ask_tty(char *buf, size_t size)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa, old[sizeof(sigs) / sizeof(sigs[0])];
	struct termios noecho;
	enum ask_result r;
	size_t i;
	int fd;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC)) == -1) {
		fprintf(stderr, "%s: /dev/tty: %s\n", progname,
		    strerror(errno));
		return ASK_ERROR;
	}
	if (tcgetattr(fd, &tty_saved) == -1) {
		fprintf(stderr, "%s: /dev/tty: %s\n", progname,
		    strerror(errno));
		close(fd);
		return ASK_ERROR;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tty_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, &old[i]);
	tty_fd = fd;

	noecho = tty_saved;
	noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	noecho.c_lflag |= ECHONL;
	if (write(fd, "Password: ", 10) != 10 ||
	    tcsetattr(fd, TCSAFLUSH, &noecho) == -1) {
		fprintf(stderr, "%s: /dev/tty: %s\n", progname,
		    strerror(errno));
		r = ASK_ERROR;
	} else
		r = read_line(fd, buf, size);

	tty_restore();
	tty_fd = -1;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &old[i], NULL);
	close(fd);
	return r;
}

static enum ask_result
ask_password(char *buf, size_t size)
{
	if (isatty(STDIN_FILENO))
		return ask_tty(buf, size);
	return read_line(STDIN_FILENO, buf, size);
}

static int
parse_repeat(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > INT_MAX)
		return -1;
	/* testsaslauthd treats 0 as 1. */
	*out = v == 0 ? 1 : (int)v;
	return 0;
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000L +
	    (now.tv_nsec - t0->tv_nsec) / 1000000L;
}

/*
 * One request over one connection.  Returns 0 for OK, -1 for NO or an
 * error (message already printed, in testsaslauthd's words where it has
 * any), -2 on reply timeout.
 */
static int
verify(const char *path, const uint8_t *req, size_t reqlen, int quiet)
{
	/* The largest counted string a peer can send. */
	static uint8_t rbuf[2 + 0xffff];
	char text[PROTO_REPLY_TEXT_MAX + 1];
	struct sockaddr_un sun;
	struct timeval tv;
	struct timespec t0;
	struct pollfd pfd;
	size_t off, rlen = 0;
	ssize_t n;
	long left;
	int s, r, rc = -1;

	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		perror("socket() ");
		return -1;
	}
	/* Linux applies the send timeout to connect() on a unix socket,
	 * which otherwise blocks while the server's backlog is full. */
	tv.tv_sec = REPLY_TIMEOUT_MS / 1000;
	tv.tv_usec = 0;
	(void)setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		perror("connect() ");
		goto out;
	}

	/* The whole request in one write, as libsasl2 sends it: a server
	 * may answer a 4-field request as soon as it is complete. */
	for (off = 0; off < reqlen; off += (size_t)n) {
		n = send(s, req + off, reqlen - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n == -1) {
			fprintf(stderr, "write failed\n");
			goto out;
		}
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		left = REPLY_TIMEOUT_MS - elapsed_ms(&t0);
		if (left <= 0) {
			fprintf(stderr, "%s: no reply from %s within %d "
			    "seconds\n", progname, path,
			    REPLY_TIMEOUT_MS / 1000);
			rc = -2;
			goto out;
		}
		pfd.fd = s;
		pfd.events = POLLIN;
		if ((r = poll(&pfd, 1, (int)left)) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "read failed\n");
			goto out;
		}
		if (r == 0)
			continue;
		n = read(s, rbuf + rlen, sizeof(rbuf) - rlen);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			fprintf(stderr, rlen < 2 ? "size read failed\n" :
			    "read failed\n");
			goto out;
		}
		rlen += (size_t)n;
		r = proto_decode_reply(rbuf, rlen, text, sizeof(text));
		if (r == -1) {
			fprintf(stderr, "bad response from saslauthd\n");
			goto out;
		}
		if (r == 1)
			break;
	}

	/* libsasl2's test: anything starting with OK is success. */
	if (strncmp(text, "OK", 2) == 0) {
		if (!quiet)
			printf("OK \"Success.\"\n");
		rc = 0;
	} else if (!quiet)
		printf("NO \"authentication failed\"\n");
out:
	close(s);
	return rc;
}

/*
 * "authmux cache stats" and friends: one line to the daemon's control
 * socket, its text answer to stdout.  Exit 0, or 1 when the daemon says
 * "error:" or cannot be reached.
 */
static int
control(const char *path, int argc, char *argv[])
{
	char line[512], out[4096];
	struct sockaddr_un sun;
	struct pollfd pfd;
	size_t len = 0;
	ssize_t n;
	int s, i, rc = EXIT_USAGE;

	line[0] = '\0';
	for (i = 0; i < argc; i++) {
		if (strlen(line) + strlen(argv[i]) + 2 >= sizeof(line)) {
			fprintf(stderr, "%s: command too long\n", progname);
			return EXIT_USAGE;
		}
		if (i > 0)
			strcat(line, " ");
		strcat(line, argv[i]);
	}
	strcat(line, "\n");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "%s: socket path too long: %s\n", progname, path);
		return EXIT_USAGE;
	}
	strcpy(sun.sun_path, path);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "%s: %s: %s (is authmuxd running, and are you "
		    "root?)\n", progname, path, strerror(errno));
		if (s != -1)
			close(s);
		return EXIT_USAGE;
	}
	/* a refusing daemon may close first: an error, not a SIGPIPE */
	if (send(s, line, strlen(line), MSG_NOSIGNAL) !=
	    (ssize_t)strlen(line)) {
		fprintf(stderr, "%s: %s: %s (only root may use the control "
		    "socket)\n", progname, path, strerror(errno));
		goto out;
	}
	pfd.fd = s;
	pfd.events = POLLIN;
	while (len < sizeof(out) - 1) {
		if (poll(&pfd, 1, 10000) <= 0) {
			fprintf(stderr, "%s: %s: no answer\n", progname, path);
			goto out;
		}
		if ((n = read(s, out + len, sizeof(out) - 1 - len)) <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	if (len == 0) {
		fprintf(stderr, "%s: %s: closed without an answer (only root "
		    "may use the control socket)\n", progname, path);
		goto out;
	}
	if (strncmp(out, "error:", 6) == 0) {
		fprintf(stderr, "%s: %s", progname, out);
		goto out;
	}
	fputs(out, stdout);
	rc = EXIT_OK;
out:
	close(s);
	return rc;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static char pwbuf[PROTO_PASSWORD_MAX + 2];
	const char *user = NULL, *realm = "", *service = "imap";
	const char *path = RUNDIR "/mux", *addr = NULL;
	char *argpw = NULL;
	const char *password;
	uint8_t *req = NULL;
	size_t reqlen = 0, reqmax = 0;
	int c, i, repeat = 1, quiet = 0, bad = 0, rc = EXIT_FAIL, r = -1;
	bool path_given = false;

	while ((c = getopt_long(argc, argv, "+u:p:r:s:f:R:a:qhV", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'u':
			user = optarg;
			break;
		case 'p':
			argpw = optarg;
			break;
		case 'r':
			realm = optarg;
			break;
		case 's':
			service = optarg;
			break;
		case 'f':
			path = optarg;
			path_given = true;
			break;
		case 'R':
			if (parse_repeat(optarg, &repeat) == -1) {
				fprintf(stderr, "%s: -R: not a count: %s\n",
				    progname, optarg);
				bad = 1;
			}
			break;
		case 'a':
			addr = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("authmux %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		default:
			bad = 1;
			break;
		}
	}
	if (optind < argc && strcmp(argv[optind], "cache") == 0 && !bad)
		return control(path_given ? path : RUNDIR "/authmuxd.ctl",
		    argc - optind, argv + optind);
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument: %s\n", progname,
		    argv[optind]);
		bad = 1;
	}
	if (user == NULL)
		bad = 1;
	if (strlen(path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		fprintf(stderr, "%s: socket path too long: %s\n", progname,
		    path);
		bad = 1;
	}
	if (bad) {
		usage(stderr);
		return EXIT_USAGE;
	}

	if (argpw != NULL)
		password = argpw;
	else {
		switch (ask_password(pwbuf, sizeof(pwbuf))) {
		case ASK_OK:
			break;
		case ASK_TOO_LONG:
			fprintf(stderr, "%s: password longer than %d bytes\n",
			    progname, PROTO_PASSWORD_MAX);
			rc = EXIT_USAGE;
			goto out;
		case ASK_ERROR:
			fprintf(stderr, "%s: cannot read the password\n",
			    progname);
			rc = EXIT_USAGE;
			goto out;
		}
		password = pwbuf;
	}

	/* Sized for the fields as given: like testsaslauthd, the client
	 * does not cap them, so the server's limits can be tested. */
	reqmax = 10 + strlen(user) + strlen(password) + strlen(service) +
	    strlen(realm) + (addr != NULL ? strlen(addr) : 0);
	if ((req = malloc(reqmax)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", progname);
		goto out;
	}
	reqlen = proto_encode_request(req, reqmax, user, password, service,
	    realm, addr);
	/* The request holds the only copy still needed; also blank -p in
	 * argv, which other users can read in /proc while we run. */
	explicit_bzero(pwbuf, sizeof(pwbuf));
	if (argpw != NULL)
		explicit_bzero(argpw, strlen(argpw));
	if (reqlen == 0) {
		fprintf(stderr, "%s: a field is longer than 65535 bytes\n",
		    progname);
		rc = EXIT_USAGE;
		goto out;
	}

	for (i = 0; i < repeat; i++) {
		if (!quiet)
			printf("%d: ", i);
		r = verify(path, req, reqlen, quiet);
		if (r == -2)
			break;
	}
	rc = r == 0 ? EXIT_OK : EXIT_FAIL;
out:
	explicit_bzero(pwbuf, sizeof(pwbuf));
	if (req != NULL) {
		explicit_bzero(req, reqmax);
		free(req);
	}
	return rc;
}
