/*
 * rate.c - enough bytes at a few sites for the default sampling rate to give
 * tight estimates.
 *
 *   small_site  4194304 x malloc(256), each freed at once   1 GiB allocated, 0 in use
 *   live_site     65536 x malloc(4096), all kept            256 MiB allocated and in use
 *   big_site       1000 x malloc(1 MiB), each freed at once 1000 MiB allocated, 0 in use
 *
 * tests/integration/lib_pprof.py (rate) derives the acceptance bounds from
 * these numbers.  Usage: rate [SCALE] divides every count by SCALE (for
 * quick runs).  stdout is fixed; the exit code is 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void **live;

void small_site(long n)
{
	for (long i = 0; i < n; i++) {
		char *p = malloc(256); /* @small_site */
		p[0] = (char)i;
		free(p);
	}
}

void live_site(long n)
{
	for (long i = 0; i < n; i++) {
		live[i] = malloc(4096); /* @live_site */
		((char *)live[i])[0] = 1;
	}
}

void big_site(long n)
{
	for (long i = 0; i < n; i++) {
		char *p = malloc(1 << 20); /* @big_site */
		p[0] = (char)i;
		free(p);
	}
}

int main(int argc, char **argv)
{
	long scale = argc > 1 ? atol(argv[1]) : 1;
	if (scale < 1)
		scale = 1;
	long nlive = 65536 / scale;
	live = calloc((size_t)nlive, sizeof *live);
	small_site(4194304 / scale);
	live_site(nlive);
	big_site(1000 / scale);
	printf("rate: %ld small, %ld live, %ld big allocations\n", 4194304 / scale, nlive, 1000 / scale);
	return 0;
}
