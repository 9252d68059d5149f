/*
 * standalone.c -- main() for a harness built without libFuzzer: every
 * file named on the command line, and every regular file in each
 * directory named (not descended into), goes through
 * LLVMFuzzerTestOneInput() once.  Prints "NAME: ran N inputs" for
 * run_corpus.sh, so that an empty run (a wrong path, a lost corpus) does
 * not pass for a good one.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "fuzz.h"

static const char *prog;
static unsigned long ran;

static int
run_file(const char *path)
{
	uint8_t *buf = NULL, *nbuf;
	size_t len = 0, cap = 0;
	size_t n;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((nbuf = realloc(buf, cap)) == NULL)
				abort();
			buf = nbuf;
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		fprintf(stderr, "%s: %s: read error\n", prog, path);
		fclose(fp);
		free(buf);
		return -1;
	}
	fclose(fp);
	/* unbuffered, so an abort still shows which input it was */
	fprintf(stderr, "%s: running %s\n", prog, path);
	/* Exactly len bytes, as libFuzzer hands them over, so that ASan
	 * sees an overread past the end. */
	if ((nbuf = realloc(buf, len ? len : 1)) == NULL)
		abort();
	LLVMFuzzerTestOneInput(nbuf, len);
	free(nbuf);
	ran++;
	return 0;
}

static int
run_dir(const char *dir)
{
	struct dirent *de;
	struct stat sb;
	char path[4096];
	int rc = 0;
	DIR *dp;

	if ((dp = opendir(dir)) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", prog, dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) >= sizeof(path)) {
			fprintf(stderr, "%s: %s/%s: path too long\n", prog,
			    dir, de->d_name);
			rc = -1;
			continue;
		}
		if (stat(path, &sb) == -1 || !S_ISREG(sb.st_mode))
			continue;
		if (run_file(path) == -1)
			rc = -1;
	}
	closedir(dp);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct stat sb;
	int i, rc = 0;

	prog = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 :
	    argv[0];
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR ...\n", prog);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &sb) == -1) {
			fprintf(stderr, "%s: %s: %s\n", prog, argv[i],
			    strerror(errno));
			rc = 1;
		} else if (S_ISDIR(sb.st_mode)) {
			if (run_dir(argv[i]) == -1)
				rc = 1;
		} else if (run_file(argv[i]) == -1)
			rc = 1;
	}
	printf("%s: ran %lu inputs\n", prog, ran);
	return rc;
}
