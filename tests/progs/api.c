/*
 * api.c - the public API, include/heapprof.h, from inside a program.
 *
 * Truth: api_keep() allocates 10 blocks of 1000 B and keeps them;
 * api_drop() allocates 5 blocks of 300 B and frees them.  Then
 * heapprof_dump(argv[1]) is called, so at HEAPPROF_RATE=1 the dump holds
 * exactly api_keep 10 / 10000 in use and api_drop 5 / 1500 allocated,
 * 0 in use.  heapprof_stats() is read around a loop of exactly 100
 * malloc(64)/free pairs.  Prints what the API returned and whether errno
 * survived; built plainly by tests.mk (the library found at run time with
 * dlsym) and, by lib_api.sh, linked with -lheapprof.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <malloc.h>

#include "heapprof.h"

static void *keep[10];

__attribute__((noinline)) static void api_keep(void)
{
	for (int i = 0; i < 10; i++)
		keep[i] = malloc(1000);
}

__attribute__((noinline)) static void api_drop(void)
{
	void *p[5];
	for (int i = 0; i < 5; i++)
		p[i] = malloc(300);
	for (int i = 0; i < 5; i++)
		free(p[i]);
}

int main(int argc, char **argv)
{
	int (*dump)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapprof_dump");
	int (*stats)(struct heapprof_stats *) = (int (*)(struct heapprof_stats *))dlsym(RTLD_DEFAULT, "heapprof_stats");
	if (!dump || !stats) {
		printf("no heapprof API in this process\n");
		return 0;
	}
	api_keep();
	api_drop();
	errno = 1234;
	int r = dump(argc > 1 ? argv[1] : NULL);
	printf("heapprof_dump = %d, errno kept = %d\n", r, errno == 1234);

	struct heapprof_stats a, b;
	stats(&a);
	size_t usable = 0;
	for (int i = 0; i < 100; i++) {
		void *p = malloc(64);
		usable += malloc_usable_size(p);
		free(p);
	}
	stats(&b);
	printf("counting = %d, allocs +%llu, frees +%llu, bytes +%llu of %zu, inuse change %lld\n", b.counting,
	       (unsigned long long)(b.allocs - a.allocs), (unsigned long long)(b.frees - a.frees),
	       (unsigned long long)(b.alloc_bytes - a.alloc_bytes), usable,
	       (long long)(b.inuse_bytes - a.inuse_bytes));
	printf("stats(NULL) = %d, rate = %llu, samples > 0: %d\n", stats(NULL), (unsigned long long)b.rate,
	       b.samples > 0);
	for (int i = 0; i < 10; i++)
		free(keep[i]);
	return 0;
}
