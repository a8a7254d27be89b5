/*
 * trace_exact.c - known allocation calls measured with heapprof_stats().
 *
 * The exit line of HEAPTRACE also counts what libc allocates for itself,
 * so the truth is measured from inside: the program finds heapprof_stats()
 * with dlsym(RTLD_DEFAULT) (it is not linked with the library), reads the
 * totals, makes a known series of calls, and reads them again.  The main
 * thread's counters are folded into the totals in batches (64 calls or
 * 256 KiB of net change), so before each reading the program forces a fold
 * with a probe: malloc(PROBE) then free, each of which moves the net by
 * more than 256 KiB.  The second probe is part of the measured interval
 * and counted in the truth.
 *
 * The known series (known_calls): for i < N, malloc of 1..4096 bytes,
 * calloc, realloc growing (moving) and shrinking, realloc(NULL, n),
 * posix_memalign, aligned_alloc, memalign, strdup (libc's own malloc);
 * then everything is freed, partly with free(), partly with realloc(p, 0).
 * free(NULL) and a failed malloc (SIZE_MAX) are made too: they count as
 * nothing.  The program keeps its own count of successful allocation
 * calls and of frees, and sums malloc_usable_size() of every block it
 * gets and of every block it gives back.
 *
 * A free-only thread: then main allocates FREE_ONLY blocks that another
 * thread (free_only_thread), which never allocates, frees; after joining
 * it, the totals must show those frees too (a thread's counts are complete
 * once it has exited).
 *
 * stdout: lines "NAME MEASURED EXPECTED" for allocs, frees, alloc_bytes,
 * free_bytes, inuse_delta (expected 0), then the same for the free-only
 * thread (thread_frees, thread_free_bytes); "counting 0" and exit 2 when
 * the totals are not being kept (run without HEAPTRACE=1 or
 * HEAPPROF_STATS=1), "no heapprof_stats" and exit 3 without the library.
 */
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heapprof.h"

#define N 1000
#define PROBE (512 << 10)
#define FREE_ONLY 100

static int (*stats_fn)(struct heapprof_stats *);
static uint64_t n_allocs, n_frees, b_alloc, b_free;
static void *fo_blocks[FREE_ONLY];

static void got(void *p)
{
	if (!p)
		return;
	n_allocs++;
	b_alloc += malloc_usable_size(p);
}

static void gone(void *p)
{
	n_frees++;
	b_free += malloc_usable_size(p);
}

/* Folds this thread's pending counts into the totals, then reads them.
 * counted: whether the probe belongs to the measured interval. */
static void probe_read(struct heapprof_stats *st, int counted)
{
	void *p = malloc(PROBE);
	if (counted) {
		got(p);
		gone(p);
	}
	free(p);
	stats_fn(st);
}

static void known_calls(void)
{
	static void *v[N * 8 + 100];
	int k = 0;
	for (int i = 0; i < N; i++) {
		size_t n = 1 + (size_t)(i * 37) % 4096;
		void *p;
		got(v[k++] = malloc(n));
		got(v[k++] = calloc(3, n));
		p = malloc(16);
		got(p);
		gone(p);        /* usable size of the old block, before realloc */
		got(v[k++] = realloc(p, 100 + n));      /* grows, usually moves */
		p = malloc(2000);
		got(p);
		gone(p);
		got(v[k++] = realloc(p, 50));           /* shrinks in place */
		got(v[k++] = realloc(NULL, n));         /* = malloc */
		if (posix_memalign(&p, 64, n) == 0)
			got(v[k++] = p);
		got(v[k++] = aligned_alloc(256, 512));
		got(v[k++] = memalign(32, n));
	}
	for (int i = 0; i < 100; i++)
		got(v[k++] = strdup("a string libc copies with its own malloc"));
	free(NULL);
	volatile size_t huge = SIZE_MAX;
	void *fail = malloc(huge);              /* fails: no count */
	if (fail)
		got(fail);
	for (int i = 0; i < k; i++) {
		gone(v[i]);
		if (i % 3 == 0) {
			void *r = realloc(v[i], 0);     /* frees, returns NULL */
			if (r)
				free(r);
		} else {
			free(v[i]);
		}
	}
}

static void *free_only_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < FREE_ONLY; i++)
		free(fo_blocks[i]);
	return NULL;
}

int main(void)
{
	struct heapprof_stats s0, s1;
	stats_fn = (int (*)(struct heapprof_stats *))dlsym(RTLD_DEFAULT, "heapprof_stats");
	if (!stats_fn) {
		printf("no heapprof_stats\n");
		return 3;
	}
	probe_read(&s0, 0);
	if (!s0.counting) {
		printf("counting 0\n");
		return 2;
	}
	known_calls();
	probe_read(&s1, 1);
	printf("allocs %llu %llu\n", (unsigned long long)(s1.allocs - s0.allocs), (unsigned long long)n_allocs);
	printf("frees %llu %llu\n", (unsigned long long)(s1.frees - s0.frees), (unsigned long long)n_frees);
	printf("alloc_bytes %llu %llu\n", (unsigned long long)(s1.alloc_bytes - s0.alloc_bytes),
	       (unsigned long long)b_alloc);
	printf("free_bytes %llu %llu\n", (unsigned long long)(s1.free_bytes - s0.free_bytes),
	       (unsigned long long)b_free);
	printf("inuse_delta %lld 0\n", (long long)(s1.inuse_bytes - s0.inuse_bytes));

	/* free-only thread */
	uint64_t fb = 0;
	for (int i = 0; i < FREE_ONLY; i++) {
		fo_blocks[i] = malloc(200);
		fb += malloc_usable_size(fo_blocks[i]);
	}
	probe_read(&s0, 0);
	pthread_t th;
	if (pthread_create(&th, NULL, free_only_thread, NULL) != 0)
		return 1;
	pthread_join(th, NULL);
	stats_fn(&s1);
	printf("thread_frees %llu %d\n", (unsigned long long)(s1.frees - s0.frees), FREE_ONLY);
	printf("thread_free_bytes %llu %llu\n", (unsigned long long)(s1.free_bytes - s0.free_bytes),
	       (unsigned long long)fb);
	return 0;
}
