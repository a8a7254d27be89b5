/*
 * churn.c - a heap that keeps changing shape: 8192 slots, and each step
 * picks a slot at random and either fills it (calloc of 1..64 elements of
 * 16..64 bytes, or malloc of 16..4096 bytes), grows or shrinks it with
 * realloc (to 16..4096 bytes, one step in 64 to 16..64 KiB), or frees it.
 * Unlike loop.c, blocks live for a while, so freed blocks are found in the
 * profiler's live table only by chance, and realloc moves blocks around.
 *
 * ns_per_alloc is elapsed time / allocation calls (malloc, calloc and
 * realloc; the frees between them are part of the cost).
 *
 * usage: churn [steps]
 */
#include <string.h>

#include "bench.h"

#define SLOTS 8192

static struct {
	char *slot[SLOTS];
	size_t len[SLOTS];
	volatile unsigned sink;   /* keeps the reads alive */
} churn;

int main(int argc, char **argv)
{
	unsigned long long steps = bench_arg(argc, argv, 1, 3000000), allocs = 0;
	uint64_t rng = 0x2545f4914f6cdd1dull;
	unsigned sink = 0;

	double t0 = bench_now(), c0 = bench_cpu();
	for (unsigned long long i = 0; i < steps; i++) {
		uint64_t r = bench_rand(&rng);
		unsigned k = r % SLOTS;
		unsigned op = (r >> 16) & 3;
		size_t big = ((r >> 20) & 63) == 0;
		size_t sz = big ? 16 + (r >> 32) % 65521 : 16 + (r >> 32) % 4081;

		if (!churn.slot[k]) {
			if (op & 1) {
				size_t nmemb = 1 + (r >> 24) % 64, each = 16 + (r >> 40) % 49;
				churn.slot[k] = calloc(nmemb, each);
				churn.len[k] = nmemb * each;
			} else {
				churn.len[k] = 16 + (r >> 32) % 4081;
				churn.slot[k] = malloc(churn.len[k]);
			}
			allocs++;
		} else if (op != 0) {
			char *p = realloc(churn.slot[k], sz);
			if (!p)
				continue;
			churn.slot[k] = p;
			churn.len[k] = sz;
			allocs++;
		} else {
			sink += (unsigned char)churn.slot[k][churn.len[k] - 1];
			free(churn.slot[k]);
			churn.slot[k] = NULL;
			continue;
		}
		if (!churn.slot[k]) {
			fprintf(stderr, "churn: out of memory\n");
			return 1;
		}
		churn.slot[k][0] = (char)i;
		churn.slot[k][churn.len[k] - 1] = (char)sink;
	}
	for (unsigned k = 0; k < SLOTS; k++)
		free(churn.slot[k]);
	bench_report(bench_now() - t0, bench_cpu() - c0, allocs, (double)allocs);
	churn.sink = sink;
	return 0;
}
