/*
 * heaplayout.c - where malloc puts the blocks of a fixed sequence of
 * allocations, as one digest.
 *
 * 300 000 steps over 1024 slots, driven by a fixed LCG: an empty slot gets
 * malloc(1..4096) (one in 16 up to 16 KiB, still below glibc's mmap
 * threshold), a full one is freed or, one time in four, realloc'd.  Every
 * address returned is folded into an FNV-1a digest as its offset from the
 * first block, so the digest does not depend on where ASLR put the heap:
 * the same allocator state machine fed the same calls gives the same
 * digest every run.
 *
 * lib_heaplayout.sh runs it under the profiler with fresh sampling seeds:
 * the digests must agree, i.e. nothing the profiler allocates from the
 * program's heap may happen at a moment that depends on when it samples
 * (the first sample's pthread_getattr_np once did, and left glibc's heap
 * slower to the end in about one run in eight).
 *
 * With "signal" as second argument one malloc in eight is made from a
 * SIGUSR1 handler (raise), so those samples' stacks cross a signal frame,
 * which cfi.c hands to libunwind.
 *
 * usage: heaplayout [STEPS [signal|c11]]; prints "digest <hex> blocks <n>", exit 0.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#define SLOTS 1024

static struct {
	char *slot[SLOTS];
	uint64_t rng, digest;
	uintptr_t base;
	long blocks;
} hl = { .rng = 12345, .digest = 1469598103934665603ull };

static uint32_t next(void)
{
	hl.rng = hl.rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(hl.rng >> 33);
}

/* Folds where p landed into the digest; touches the block as a program would. */
static void seen(char *p)
{
	if (!p) {
		fprintf(stderr, "heaplayout: out of memory\n");
		exit(1);
	}
	if (!hl.base)
		hl.base = (uintptr_t)p;
	uint64_t off = (uint64_t)((uintptr_t)p - hl.base);
	for (int i = 0; i < 8; i++) {
		hl.digest ^= (off >> (8 * i)) & 0xff;
		hl.digest *= 1099511628211ull;
	}
	p[0] = 1;
	hl.blocks++;
}

static size_t size(void)
{
	return next() % 16 == 0 ? 1 + next() % 16384 : 1 + next() % 4096;
}

/* malloc from a signal handler, raised synchronously (so never inside
 * the allocator): what the handler allocates, and where it went. */
static size_t handler_n;
static char *handler_p;

static void on_usr1(int sig)
{
	(void)sig;
	handler_p = malloc(handler_n);
}

static char *alloc(size_t n, int in_handler)
{
	if (!in_handler)
		return malloc(n);
	handler_n = n;
	raise(SIGUSR1);
	return handler_p;
}

static long steps;
static int with_signals;

static int run(void *arg)
{
	(void)arg;
	for (long i = 0; i < steps; i++) {
		uint32_t k = next() % SLOTS;
		if (!hl.slot[k]) {
			seen(hl.slot[k] = alloc(size(), with_signals && k % 8 == 0));
		} else if (next() % 4 == 0) {
			seen(hl.slot[k] = realloc(hl.slot[k], size()));
		} else {
			free(hl.slot[k]);
			hl.slot[k] = NULL;
		}
	}
	for (int k = 0; k < SLOTS; k++)
		free(hl.slot[k]);
	return 0;
}

/* "c11": the sequence runs in a thread made by thrd_create, which
 * heapprof's pthread_create does not see, and its first allocation is
 * made inside pthread_getattr_np, where heapprof defers the thread's stack
 * bounds: they must come at a fixed point, not at a sample. */
static int c11_run(void *arg)
{
	pthread_attr_t a;
	if (pthread_getattr_np(pthread_self(), &a) == 0)
		pthread_attr_destroy(&a);
	return run(arg);
}

int main(int argc, char **argv)
{
	steps = argc > 1 ? atol(argv[1]) : 300000;
	with_signals = argc > 2 && strcmp(argv[2], "signal") == 0;
	if (with_signals)
		signal(SIGUSR1, on_usr1);
	if (argc > 2 && strcmp(argv[2], "c11") == 0) {
		thrd_t t;
		int r;
		if (thrd_create(&t, c11_run, NULL) != thrd_success || thrd_join(t, &r) != thrd_success)
			return 1;
	} else {
		run(NULL);
	}
	printf("digest %016llx blocks %ld\n", (unsigned long long)hl.digest, hl.blocks);
	return 0;
}
