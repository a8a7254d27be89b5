/*
 * deep.c - allocation at the bottom of a 5000-deep recursion.
 *
 * The stack is far deeper than HEAPPROF_DEPTH (default 64, at most 256), so
 * the profiler must cut it without harm.  Truth at rate 1
 * (tests/integration/lib_pprof.py, DEEP): leaf bottom_alloc, 100 objects /
 * 5000 B allocated and in use; every kept stack is bottom_alloc followed by
 * recurse frames.  stdout is fixed; the exit code is 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH 5000

static void *kept[100];

int bottom_alloc(void)
{
	for (int i = 0; i < 100; i++) {
		kept[i] = malloc(50); /* @bottom_alloc */
		memset(kept[i], 'd', 50);
	}
	return 0;
}

/* Not a tail call at -O0: the addition after the call keeps the frame. */
int recurse(int n)
{
	if (n == 0)
		return bottom_alloc();
	return recurse(n - 1) + 1;
}

int main(void)
{
	int d = recurse(DEPTH);
	printf("deep: returned from depth %d\n", d);
	return 0;
}
