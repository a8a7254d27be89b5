/*
 * deep.c - allocations made 30 calls deep, as in real programs where
 * malloc is reached through layers of library code.  Two non-inlined
 * functions call each other down to depth 30 (which one is chosen by the
 * low bits of a counter at the last four levels, so there are 16 distinct
 * stacks); at the bottom the leaf does 16 malloc/free pairs of 16..4096
 * bytes.  Built with -O2 -fno-omit-frame-pointer.
 *
 * At rate 1 every allocation needs a stack of about 33 frames, so this
 * measures the profiler's unwinding and stack-table cost per sample.
 * ns_per_alloc is elapsed time / allocations (the recursion itself is
 * included; it costs a few ns per allocation).
 *
 * usage: deep [allocations]
 */
#include "bench.h"

#define DEPTH 30
#define PER_LEAF 16
#define NSIZES 4096

static struct {
	size_t sizes[NSIZES];
	unsigned long long done;
	volatile unsigned sink;
} deep;

BENCH_NOINLINE static void deep_leaf(void)
{
	unsigned sink = 0;

	for (int i = 0; i < PER_LEAF; i++) {
		char *p = malloc(deep.sizes[(deep.done++) & (NSIZES - 1)]);
		p[0] = (char)i;
		sink += (unsigned char)p[0];
		free(p);
	}
	deep.sink += sink;
}

BENCH_NOINLINE static void deep_b(int d, unsigned path);

BENCH_NOINLINE static void deep_a(int d, unsigned path)
{
	if (d <= 1)
		deep_leaf();
	else if (d <= 5 && (path >> (d - 2)) & 1)
		deep_b(d - 1, path);
	else
		deep_a(d - 1, path);
	BENCH_BARRIER();
}

BENCH_NOINLINE static void deep_b(int d, unsigned path)
{
	if (d <= 1)
		deep_leaf();
	else if (d <= 5 && (path >> (d - 2)) & 1)
		deep_a(d - 1, path);
	else
		deep_b(d - 1, path);
	BENCH_BARRIER();
}

int main(int argc, char **argv)
{
	unsigned long long n = bench_arg(argc, argv, 1, 1000000);

	bench_sizes(deep.sizes, NSIZES, 16, 4096);
	double t0 = bench_now(), c0 = bench_cpu();
	for (unsigned path = 0; deep.done < n; path++)
		deep_a(DEPTH, path);
	bench_report(bench_now() - t0, bench_cpu() - c0, deep.done, (double)deep.done);
	return 0;
}
