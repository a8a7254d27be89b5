/*
 * loop.c - the malloc/free loop: each thread mallocs a block, writes one
 * byte into it and frees it again, N times, with sizes uniform in
 * [16, MAX] bytes (MAX defaults to 4096) from a fixed table.
 *
 * This is the worst case for an interposer: the allocator's own work is
 * small (glibc's tcache serves most pairs), so everything the profiler adds
 * to malloc and free shows.  Timed from thread start to the last join;
 * ns_per_alloc is elapsed time / N, one malloc+free pair per thread.
 *
 * usage: loop [N per thread] [threads] [max size]
 */
#include <pthread.h>

#include "bench.h"

#define NSIZES 4096     /* power of two: the index is masked */

static struct {
	size_t sizes[NSIZES];
	unsigned long long n;
	volatile unsigned sink;
} loop;

static void *loop_worker(void *arg)
{
	size_t off = (size_t)(uintptr_t)arg * 977;
	unsigned sink = 0;

	for (unsigned long long i = 0; i < loop.n; i++) {
		char *p = malloc(loop.sizes[(i + off) & (NSIZES - 1)]);
		p[0] = (char)i;
		sink += (unsigned char)p[0];
		free(p);
	}
	loop.sink += sink;
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long long threads = bench_arg(argc, argv, 2, 1);
	pthread_t tid[64];

	loop.n = bench_arg(argc, argv, 1, 4000000);
	bench_sizes(loop.sizes, NSIZES, 16, bench_arg(argc, argv, 3, 4096));
	if (threads > 64 || bench_arg(argc, argv, 3, 4096) < 16) {
		fprintf(stderr, "loop: usage: loop [N] [threads <= 64] [max size >= 16]\n");
		return 2;
	}
	double t0 = bench_now(), c0 = bench_cpu();
	for (unsigned long long t = 0; t < threads; t++)
		if (pthread_create(&tid[t], NULL, loop_worker, (void *)(uintptr_t)t) != 0) {
			fprintf(stderr, "loop: cannot create thread\n");
			return 1;
		}
	for (unsigned long long t = 0; t < threads; t++)
		pthread_join(tid[t], NULL);
	bench_report(bench_now() - t0, bench_cpu() - c0, loop.n * threads, (double)loop.n);
	return 0;
}
