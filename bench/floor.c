/*
 * floor.c - the least an interposer can add to the malloc/free loop, for
 * make bench to measure beside heapprof in the same run: malloc only jumps
 * on to glibc's, free tests the address against one range (the bootstrap
 * arena an interposer needs before it has found the real allocator) and
 * jumps on.  What issue 2 calls "forwarding plus an address-range test";
 * heapprof's fast path is that plus its countdown and its page filter.
 *
 * Only malloc and free: the bench's loop calls nothing else, and every
 * other allocation goes straight to glibc, whose blocks these are too.
 */
#include <stddef.h>
#include <stdint.h>

extern void *__libc_malloc(size_t n);
extern void __libc_free(void *p);

static char arena[4096];

void *malloc(size_t n)
{
	return __libc_malloc(n);
}

void free(void *p)
{
	if ((uintptr_t)p - (uintptr_t)arena < sizeof arena)
		return;
	__libc_free(p);
}
