/*
 * tinystack.c - allocation with little stack left: a thread uses up its
 * 64 KiB stack to within LEFT bytes (alloca) and then mallocs and frees 200
 * times.  glibc's malloc needs about 3.3 KiB there; a sample's stack walk
 * needs more (libunwind's about 8 KiB), so with less than that left the
 * profiler must drop the sample rather than overflow the stack.
 *
 * usage: tinystack [LEFT]      (bytes, default 6144); prints "done"
 */
#include <alloca.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t left = 6144;
static volatile unsigned sink;

static __attribute__((noinline)) void allocate(void)
{
	for (int i = 0; i < 200; i++) {
		char *p = malloc(64 + (size_t)i * 16);
		if (!p)
			abort();
		p[0] = (char)i;
		sink += (unsigned char)p[0];
		free(p);
	}
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_attr_t a;
	void *lo;
	size_t size;
	if (pthread_getattr_np(pthread_self(), &a) != 0 || pthread_attr_getstack(&a, &lo, &size) != 0)
		return NULL;
	pthread_attr_destroy(&a);
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	size_t use = sp - (uintptr_t)lo > left + 512 ? sp - (uintptr_t)lo - left - 512 : 0;
	volatile char *pad = alloca(use);
	if (use)
		pad[0] = 0;
	allocate();
	return (void *)1;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		left = (size_t)strtoul(argv[1], NULL, 10);
	pthread_attr_t a;
	pthread_t t;
	void *r = NULL;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 << 10);
	if (pthread_create(&t, &a, worker, NULL) != 0 || pthread_join(t, &r) != 0 || !r)
		return 1;
	printf("done\n");
	return 0;
}
