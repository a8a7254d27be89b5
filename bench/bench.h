/*
 * bench.h - helpers shared by the benchmark programs in bench/.
 *
 * Each program times its own allocation loop, so process start-up and the
 * profile written at exit stay out of the per-allocation figure (the
 * harness times whole processes separately), and prints one line of
 * key=value pairs that bench/bench.py parses:
 *
 *   result ns_per_alloc=54.10 cpu_ns_per_alloc=53.90 allocs=4000000 seconds=0.2164 profiler_bytes=123456
 *
 * ns_per_alloc is elapsed (CLOCK_MONOTONIC) time per allocation and thread;
 * cpu_ns_per_alloc is the process's CPU time (all threads) per allocation,
 * which leaves out the time spent waiting for a core on a busy machine.
 *
 * profiler_bytes comes from heapprof_stats() when libheapprof is loaded
 * (looked up with dlsym, so the same binary runs plain, under the peers and
 * under heapprof); -1 means heapprof is not loaded.
 */
#ifndef BENCH_H
#define BENCH_H

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "heapprof.h"

#define BENCH_NOINLINE __attribute__((noinline))
/* An empty asm after a call keeps the compiler from turning it into a tail
 * call, so every level of a recursion stays a real frame on the stack. */
#define BENCH_BARRIER() __asm__ volatile("" ::: "memory")

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* xorshift64: cheap, deterministic, the same sequence in every run. */
static inline uint64_t bench_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Fills sizes[0..n) with sizes uniform in [lo, hi], the same every run, so
 * the loop itself costs one load per allocation and no arithmetic. */
static inline void bench_sizes(size_t *sizes, size_t n, size_t lo, size_t hi)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < n; i++)
		sizes[i] = lo + bench_rand(&s) % (hi - lo + 1);
}

/* Bytes heapprof holds for itself, or -1 when it is not loaded. */
static inline long long bench_profiler_bytes(void)
{
	int (*stats)(struct heapprof_stats *) =
		(int (*)(struct heapprof_stats *))dlsym(RTLD_DEFAULT, "heapprof_stats");
	struct heapprof_stats st;

	if (!stats || stats(&st) != 0)
		return -1;
	return (long long)st.profiler_bytes;
}

static inline double bench_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* seconds: elapsed time of the timed part; cpu: process CPU seconds of it;
 * per: what the elapsed time is divided by (allocations per thread). */
static inline void bench_report(double seconds, double cpu, unsigned long long allocs, double per)
{
	printf("result ns_per_alloc=%.2f cpu_ns_per_alloc=%.2f allocs=%llu seconds=%.4f profiler_bytes=%lld\n",
	       seconds * 1e9 / per, cpu * 1e9 / (double)allocs, allocs, seconds, bench_profiler_bytes());
	fflush(stdout);
}

static inline unsigned long long bench_arg(int argc, char **argv, int i, unsigned long long def)
{
	if (argc <= i)
		return def;
	char *end;
	unsigned long long v = strtoull(argv[i], &end, 10);
	if (*end || !v) {
		fprintf(stderr, "bench: bad number '%s'\n", argv[i]);
		exit(2);
	}
	return v;
}

#endif
