/*
 * badfree.c - a program with a heap bug must die the way it does without
 * the profiler: glibc's own check in free() catches the bug and aborts
 * with its message (exit 134), under every profiler mode, HEAPTRACE too.
 *
 * usage: badfree MODE, one of
 *   tcache   - a small block freed twice (glibc's tcache check);
 *   top      - a 100 000-byte block freed twice, after it was merged into
 *              the top chunk (where glibc's malloc_usable_size would read
 *              past the end of the heap);
 *   stack    - free() of a pointer into the stack;
 *   memalign - a memalign'd block freed twice.
 * Prints "survived" and exits 0 if glibc did not catch it.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink;

/* The second free goes through a pointer the compiler cannot see through,
 * so it neither warns about it nor drops it. */
static void (*volatile free_again)(void *) = free;

static void free_twice(void *p)
{
	uintptr_t again = (uintptr_t)p;
	free(p);
	free_again((void *)again);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	/* Zeroed: glibc reads the 16 bytes before the pointer as a chunk
	 * header, and what the stack held there before main (the loader's
	 * and the constructors' frames, ours among them) decided whether it
	 * said "invalid pointer" or walked on into a SIGSEGV: the test
	 * compared two programs' leftovers, not the profiler.  With a zero
	 * size glibc's first check catches it, with or without us. */
	char on_stack[64];
	memset(on_stack, 0, sizeof on_stack);
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(mode, "tcache"))
		free_twice(malloc(24));
	else if (!strcmp(mode, "top"))
		free_twice(malloc(100000));
	else if (!strcmp(mode, "stack")) {
		sink = on_stack + 16;
		free(sink);
	} else if (!strcmp(mode, "memalign"))
		free_twice(memalign(4096, 100));
	else {
		fprintf(stderr, "usage: badfree tcache|top|stack|memalign\n");
		return 2;
	}
	printf("survived\n");
	return 0;
}
