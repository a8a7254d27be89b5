/*
 * statsblock.c - malloc_stats() into a pipe nobody reads, for
 * tests/integration/live_lazy.sh.
 *
 * glibc's malloc_stats() prints to stderr while it holds malloc's arena
 * lock.  With stderr a full pipe, the write blocks there, and a dump signal
 * arriving then must not make heapprof start its thread (pthread_create's
 * calloc would wait for that lock for ever).  Prints "pid PID" on stdout,
 * calls malloc_stats() N times (default 20000), prints "done", exits 0.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	void *keep = malloc(100);
	printf("pid %d\n", (int)getpid());
	fflush(stdout);
	for (long i = 0; i < n; i++)
		malloc_stats();
	free(keep);
	printf("done\n");
	fflush(stdout);
	return 0;
}
