/*
 * control.c -- commands on the control socket:
 *   cache stats          counters, one "name: value" per line
 *   cache flush [USER]   forget every entry, or those of one login
 * Only root may connect (SO_PEERCRED), whatever the socket's mode.
 */
#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "control.h"
#include "log.h"
#include "peer.h"

static int
ctl_attach(struct conn *c)
{
	struct peer p;
	char who[80];

	if (peer_get(c->io.fd, &p) == -1) {
		log_warn("control: connection %lu: SO_PEERCRED", c->id);
		return -1;
	}
	/* the peer's uid, not ours: still root's after a privilege drop */
	if (p.uid != 0) {
		log_warnx("control: connection %lu refused [peer=%s]: not root",
		    c->id, peer_text(&p, who, sizeof(who)));
		return -1;
	}
	return 0;
}

static size_t
stats_text(char *out, size_t len)
{
	struct cache_stats st;
	uint64_t asked;
	int n;

	cache_get_stats(&st);
	asked = st.hits + st.neg_hits + st.misses;
	n = snprintf(out, len,
	    "entries: %zu\ncapacity: %zu\nhits: %llu\nnegative_hits: %llu\n"
	    "misses: %llu\nhit_ratio: %.4f\nevictions: %llu\n"
	    "stale_answers: %llu\n", st.entries, st.capacity,
	    (unsigned long long)st.hits, (unsigned long long)st.neg_hits,
	    (unsigned long long)st.misses,
	    asked ? (double)(st.hits + st.neg_hits) / asked : 0.0,
	    (unsigned long long)st.evictions, (unsigned long long)st.stale);
	return n < 0 ? 0 : ((size_t)n >= len ? len - 1 : (size_t)n);
}

static int
ctl_input(struct conn *c)
{
	char line[512], text[1024], who[300];
	uint8_t *nl;
	size_t n, len;

	if ((nl = memchr(c->in, '\n', c->inlen)) == NULL)
		return 0;
	n = nl - c->in;
	if (n > 0 && c->in[n - 1] == '\r')
		n--;
	if (n >= sizeof(line) || memchr(c->in, '\0', n) != NULL)
		n = 0;
	memcpy(line, c->in, n);
	line[n] = '\0';

	if (strncmp(line, "cache ", 6) == 0 && !cache_enabled())
		len = snprintf(text, sizeof(text), "error: the cache is off "
		    "(start authmuxd with -c or cache: yes)\n");
	else if (strcmp(line, "cache stats") == 0)
		len = stats_text(text, sizeof(text));
	else if (strcmp(line, "cache flush") == 0) {
		len = snprintf(text, sizeof(text), "flushed: %zu\n",
		    cache_flush(NULL));
		log_info("control: cache flushed");
	} else if (strncmp(line, "cache flush ", 12) == 0 && line[12] != '\0') {
		n = cache_flush(line + 12);
		am_escape(who, sizeof(who), line + 12, 100);
		len = snprintf(text, sizeof(text), "flushed: %zu\n", n);
		log_info("control: cache flushed for user %s (%zu entries)",
		    who, n);
	} else {
		am_escape(who, sizeof(who), line, 60);
		log_info("control: connection %lu: unknown command \"%s\"",
		    c->id, who);
		len = snprintf(text, sizeof(text), "error: unknown command; "
		    "commands: cache stats | cache flush [user]\n");
	}
	conn_hold(c);
	conn_send(c, text, len, CONN_CLOSE);
	return 1;
}

const struct conn_proto control_proto = {
	.name = "control",
	.inbuf_size = 512,
	.input = ctl_input,
	.attach = ctl_attach,
};
