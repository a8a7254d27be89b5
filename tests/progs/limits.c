/*
 * limits.c - heapprof's own writes must not raise a signal in the program.
 *
 * usage: limits MODE; prints "done" and exits 0, as it does without heapprof:
 *   fsize - allocates, then caps its files at 512 bytes (RLIMIT_FSIZE) and
 *           exits normally: the exit profile does not fit, and writing it
 *           raised SIGXFSZ, whose default action killed the program;
 *   epipe - makes its stderr a pipe whose reader is gone, then exits
 *           normally: a warning or HEAPTRACE line written there raised
 *           SIGPIPE, which killed it the same way.  The program itself
 *           writes nothing to stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void *volatile sink[1000];

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	for (int i = 0; i < 20000; i++)
		sink[i % 1000] = malloc(100 + (size_t)(i % 3000));
	if (!strcmp(mode, "fsize")) {
		struct rlimit rl = { 512, 512 };
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0) {
			perror("limits: setrlimit");
			return 1;
		}
	} else if (!strcmp(mode, "epipe")) {
		int p[2];
		if (pipe(p) != 0 || dup2(p[1], 2) < 0) {
			perror("limits: pipe");
			return 1;
		}
		close(p[0]);
		close(p[1]);
	} else {
		fprintf(stderr, "usage: limits fsize|epipe\n");
		return 2;
	}
	printf("done\n");
	return 0;
}
