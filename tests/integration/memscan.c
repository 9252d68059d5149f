/*
 * memscan.c -- look for secrets in a live process's memory, for
 * tests/integration/memory.sh.
 *
 *   memscan [-w WINDOW] [-a] PID NEEDLES
 *
 * NEEDLES is a file of one secret a line (raw bytes; the newline is not
 * part of it).  Every region of PID that is readable and writable, or
 * anonymous (see /proc/PID/maps), is read through /proc/PID/mem (root, or
 * CAP_SYS_PTRACE for a process that is not dumpable) and searched for
 * every WINDOW-byte piece of every secret (default 12; a shorter secret
 * is looked for whole).  Pieces, not whole secrets: a freed heap chunk
 * whose first 16 bytes became allocator pointers still holds the rest of
 * the password, and that is a leak too.  -a: also the read-only file
 * mappings (the program's and libraries' text and data).
 *
 * Output: one line per run of matching bytes,
 *   needle N: bytes A-B of LEN at 0xADDR in START-END PERMS PATH
 * (N counts from 1, in the order of NEEDLES; at most 200 lines), then
 *   memscan: pid P: R regions, B bytes read, H hits, K of M needles found
 * Exit 0 when nothing was found, 1 when something was, 2 on an error
 * (cannot read the process: not root, or no CAP_SYS_PTRACE).
 *
 * A Rabin-Karp search: the hash of every WINDOW-byte piece of every
 * needle goes into a table, and a rolling hash over the memory probes it,
 * so the cost is one pass over the memory whatever the number of needles.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK		(8u << 20)
#define PAGE		4096u
/* Regions beyond this are address-space reservations (ASan's shadow),
 * not data: skipped, and said so. */
#define REGION_MAX	(1ull << 30)
#define MAX_LINES	200
#define BASE		1099511628211ull

struct needle {
	uint8_t *s;
	size_t len;
	bool found;
};

struct piece {
	uint64_t h;
	uint32_t needle;	/* index + 1; 0: empty slot */
	uint32_t off;
};

static struct needle *needles;
static size_t nneedles;
static struct piece *table;
static size_t tmask;
static size_t window = 12;
static uint64_t base_pow;	/* BASE^(window-1) */
static unsigned long hits, lines;

static void
die(const char *what)
{
	fprintf(stderr, "memscan: %s: %s\n", what, strerror(errno));
	exit(2);
}

static uint64_t
hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0;
	size_t i;

	for (i = 0; i < n; i++)
		h = h * BASE + p[i];
	return h;
}

static void
read_needles(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, npieces = 0, i, o, size;
	ssize_t n;

	if (f == NULL)
		die(path);
	while ((n = getline(&line, &cap, f)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (n == 0)
			continue;
		needles = realloc(needles, (nneedles + 1) * sizeof(*needles));
		if (needles == NULL)
			die("realloc");
		needles[nneedles].s = malloc(n);
		if (needles[nneedles].s == NULL)
			die("malloc");
		memcpy(needles[nneedles].s, line, n);
		needles[nneedles].len = n;
		needles[nneedles].found = false;
		nneedles++;
		npieces += (size_t)n >= window ? n - window + 1 : 1;
	}
	free(line);
	fclose(f);
	for (size = 64; size < 2 * npieces; size *= 2)
		;
	if ((table = calloc(size, sizeof(*table))) == NULL)
		die("calloc");
	tmask = size - 1;
	for (i = 0; i < nneedles; i++) {
		struct needle *nd = &needles[i];

		/* a secret shorter than the window is looked for whole, by
		 * a direct search in scan_buf */
		if (nd->len < window)
			continue;
		for (o = 0; o + window <= nd->len; o++) {
			uint64_t h = hash(nd->s + o, window);
			size_t j = h & tmask;

			while (table[j].needle != 0)
				j = (j + 1) & tmask;
			table[j].h = h;
			table[j].needle = i + 1;
			table[j].off = o;
		}
	}
	base_pow = 1;
	for (i = 1; i < window; i++)
		base_pow *= BASE;
}

static void
report(size_t ni, size_t off, size_t len, uint64_t addr, const char *region)
{
	hits++;
	needles[ni].found = true;
	if (++lines > MAX_LINES)
		return;
	printf("needle %zu: bytes %zu-%zu of %zu at 0x%" PRIx64 " in %s\n",
	    ni + 1, off, off + len - 1, needles[ni].len, addr, region);
}

/* Which needle piece starts at p (len bytes left), or NULL. */
static const struct piece *
match(const uint8_t *p, uint64_t h)
{
	size_t j;

	for (j = h & tmask; table[j].needle != 0; j = (j + 1) & tmask) {
		const struct piece *pc = &table[j];

		if (pc->h == h && memcmp(needles[pc->needle - 1].s + pc->off,
		    p, window) == 0)
			return pc;
	}
	return NULL;
}

/* Search buf (len bytes, mapped at addr); only matches that start before
 * limit count (the rest is the overlap with the next chunk). */
static void
scan_buf(const uint8_t *buf, size_t len, size_t limit, uint64_t addr,
    const char *region)
{
	const struct piece *pc;
	uint64_t h;
	size_t i, k, ni;

	for (ni = 0; ni < nneedles; ni++) {
		const uint8_t *p = buf, *end = buf + len;

		if (needles[ni].len >= window)
			continue;
		while ((p = memmem(p, end - p, needles[ni].s,
		    needles[ni].len)) != NULL && (size_t)(p - buf) < limit) {
			report(ni, 0, needles[ni].len, addr + (p - buf),
			    region);
			p += needles[ni].len;
		}
	}
	if (len < window)
		return;
	h = hash(buf, window);
	for (i = 0; i < limit && i + window <= len;) {
		if ((pc = match(buf + i, h)) != NULL) {
			ni = pc->needle - 1;
			for (k = window; i + k < len &&
			    pc->off + k < needles[ni].len &&
			    buf[i + k] == needles[ni].s[pc->off + k]; k++)
				;
			report(ni, pc->off, k, addr + i, region);
			/* the next piece that is not inside this run */
			i += k - window + 1;
			if (i + window <= len)
				h = hash(buf + i, window);
			continue;
		}
		if (i + window < len)
			h = (h - buf[i] * base_pow) * BASE + buf[i + window];
		i++;
	}
}

int
main(int argc, char *argv[])
{
	char path[64], line[4096], region[4200], perms[8], file[4096];
	unsigned long long start, end, regions = 0, bytes = 0, skipped = 0;
	unsigned long found = 0;
	bool all = false, any_read = false;
	uint8_t *buf;
	FILE *maps;
	size_t i;
	int memfd, c;

	while ((c = getopt(argc, argv, "aw:")) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'w':
			window = strtoul(optarg, NULL, 10);
			if (window < 4 || window > 256) {
				fprintf(stderr, "memscan: -w: 4 to 256\n");
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: memscan [-a] [-w WINDOW] PID "
			    "NEEDLES\n");
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: memscan [-a] [-w WINDOW] PID NEEDLES\n");
		return 2;
	}
	read_needles(argv[optind + 1]);
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[optind]);
	if ((maps = fopen(path, "r")) == NULL)
		die(path);
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[optind]);
	if ((memfd = open(path, O_RDONLY)) == -1)
		die(path);
	if ((buf = malloc(CHUNK + 256)) == NULL)
		die("malloc");

	while (fgets(line, sizeof(line), maps) != NULL) {
		unsigned long long pos;

		file[0] = '\0';
		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %4095[^\n]", &start,
		    &end, perms, file) < 3)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (perms[0] != 'r' || strcmp(file, "[vvar]") == 0 ||
		    strcmp(file, "[vvar_vclock]") == 0 ||
		    strcmp(file, "[vsyscall]") == 0)
			continue;
		/* a file's own bytes: the program, the libraries */
		if (!all && perms[1] != 'w' && file[0] == '/')
			continue;
		if (end - start > REGION_MAX) {
			fprintf(stderr, "memscan: skipped (larger than 1 GiB): "
			    "%s\n", line);
			skipped++;
			continue;
		}
		snprintf(region, sizeof(region), "%llx-%llx %s %s", start,
		    end, perms, file);
		regions++;
		for (pos = start; pos < end;) {
			size_t want = end - pos > CHUNK ? CHUNK : end - pos;
			size_t over = end - pos - want > window ? window :
			    end - pos - want;
			ssize_t n = pread(memfd, buf, want + over, (off_t)pos);

			if (n <= 0) {
				if (n == -1 && errno == EPERM)
					die(path);
				/* an unreadable page: go on after it */
				pos = (pos / PAGE + 1) * PAGE;
				continue;
			}
			any_read = true;
			bytes += (size_t)n > want ? want : (size_t)n;
			scan_buf(buf, n, (size_t)n > want ? want : (size_t)n,
			    pos, region);
			pos += (size_t)n > want ? want : (size_t)n;
		}
	}
	fclose(maps);
	close(memfd);
	free(buf);
	free(table);
	for (i = 0; i < nneedles; i++) {
		found += needles[i].found;
		free(needles[i].s);
	}
	free(needles);
	if (!any_read) {
		fprintf(stderr, "memscan: nothing could be read from pid %s "
		    "(root and CAP_SYS_PTRACE are needed)\n", argv[optind]);
		return 2;
	}
	if (lines > MAX_LINES)
		printf("(%lu more lines not shown)\n", lines - MAX_LINES);
	printf("memscan: pid %s: %llu regions, %llu bytes read, %llu skipped, "
	    "%lu hits, %lu of %zu needles found\n", argv[optind], regions,
	    bytes, skipped, hits, found, nneedles);
	return hits > 0 ? 1 : 0;
}
