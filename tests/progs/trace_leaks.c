/*
 * trace_leaks.c - known leaks at known sites, for HEAPPROF_LEAKS=1.
 *
 * Three functions leave blocks allocated at exit, each from one malloc
 * call marked LEAK_* below:
 *   leak_small   10 x 100 B    =    1000 B
 *   leak_pages    5 x 4096 B   =   20480 B
 *   leak_big      1 x 1 MiB    = 1048576 B
 * and churn() allocates and frees 2000 blocks of other sizes (nothing of
 * it may show in the report).  The pointers are dropped, so these are real
 * leaks.  At HEAPPROF_RATE=1 the report must list exactly these three
 * sites, largest first, with exact bytes and object counts
 * (tests/integration/trace_leaks.sh); libc may add stacks of its own (the
 * stdout buffer).  With EXTRA (argument, default 0) more leaking stacks
 * are made by extra_leak(): EXTRA blocks of 64 B from EXTRA different call
 * paths (recursion depth 1..EXTRA), to exercise HEAPPROF_LEAKS_TOP.
 *
 * stdout: "leaked 1069056 bytes in 16 objects"; exit code 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void leak_small(void)
{
	for (int i = 0; i < 10; i++) {
		char *p = malloc(100);          /* LEAK_SMALL */
		memset(p, 0, 100);
	}
}

static void leak_pages(void)
{
	for (int i = 0; i < 5; i++) {
		char *p = malloc(4096);         /* LEAK_PAGES */
		p[0] = 1;
	}
}

static void leak_big(void)
{
	char *p = malloc(1 << 20);              /* LEAK_BIG */
	p[0] = 1;
}

static void churn(void)
{
	void *v[100];
	for (int r = 0; r < 20; r++) {
		for (int i = 0; i < 100; i++)
			v[i] = malloc((size_t)(24 + i * 40 + r));
		for (int i = 0; i < 100; i++)
			free(v[i]);
	}
}

static void extra_leak(int depth)
{
	if (depth > 0) {
		extra_leak(depth - 1);
		return;
	}
	char *p = malloc(64);
	p[0] = 1;
}

int main(int argc, char **argv)
{
	int extra = argc > 1 ? atoi(argv[1]) : 0;
	churn();
	leak_small();
	leak_pages();
	leak_big();
	for (int i = 1; i <= extra; i++)
		extra_leak(i);
	printf("leaked %d bytes in %d objects\n", 1000 + 20480 + 1048576, 16);
	return 0;
}
