/*
 * exitheap.c - the heap the exit profile is built on when exit() was
 * called from a signal handler.
 *
 * A handler that calls exit() (common for SIGTERM and SIGINT, though exit
 * is not async-signal-safe) may have interrupted its thread inside malloc.
 * glibc survives that, because exit itself does not allocate; the exit
 * profile does (libdw, zlib, the profile's tables), and on the program's
 * heap it waited for ever on the arena lock the interrupted call held, or,
 * single-threaded, where glibc takes no lock, it ran on a half-changed heap
 * and died of "corrupted double-linked list".  So in that case (core.c
 * exit_hook asks hp_stack_in_handler) the exiting thread allocates from
 * here for the rest of the exit work, and never calls the real allocator:
 * a region of its own, mapped once, carved by a bump pointer into blocks
 * of power-of-two size classes with a free list each.  Only that thread
 * uses it, so there is no lock.  Blocks are found again by address range
 * (hp_exitheap_owns); every free reaches the slow path from then on
 * (hp_livetab_filter_all), as while tracing.
 */
#include "hp.h"

#include <string.h>
#include <sys/mman.h>

#define XH_RESERVE ((size_t)4 << 30)    /* address space only: pages are touched as used */
#define XH_HDR 16                       /* the block's class, keeping 16-byte alignment */
#define XH_NCLASS 33                    /* 32 B .. 2^37 B: more than XH_RESERVE */

struct hp_exitheap hp_xh;

static struct {
	uintptr_t cur;
	void *free[XH_NCLASS];          /* singly linked through the first word */
} xh;

static int size_class(size_t n)
{
	int c = 0;
	while (c < XH_NCLASS - 1 && ((size_t)32 << c) < n)
		c++;
	return c;
}

int hp_exitheap_enter(void)
{
	if (!hp_xh.base) {
		void *m = mmap(NULL, XH_RESERVE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			       -1, 0);
		if (m == MAP_FAILED)
			return -1;      /* the exit work then runs as before */
		xh.cur = (uintptr_t)m;
		hp_xh.len = XH_RESERVE;
		__atomic_store_n(&hp_xh.base, (uintptr_t)m, __ATOMIC_RELEASE);
	}
	hp_livetab_filter_all();
	hp_self.on_exitheap = 1;
	hp_self.countdown = 0;          /* every allocation of this thread takes the slow path */
	return 0;
}

void *hp_exitheap_alloc(size_t n)
{
	if (n > XH_RESERVE - XH_HDR)
		return NULL;
	int c = size_class(n + XH_HDR);
	unsigned char *b = xh.free[c];
	if (b) {
		xh.free[c] = *(void **)b;
	} else {
		size_t sz = (size_t)32 << c;
		if (xh.cur + sz > hp_xh.base + hp_xh.len || xh.cur + sz < xh.cur)
			return NULL;
		b = (unsigned char *)xh.cur;
		xh.cur += sz;
	}
	*(uint64_t *)b = (uint64_t)c;
	return b + XH_HDR;
}

size_t hp_exitheap_size(const void *p)
{
	const unsigned char *b = (const unsigned char *)p - XH_HDR;
	return ((size_t)32 << *(const uint64_t *)b) - XH_HDR;
}

void hp_exitheap_free(void *p)
{
	unsigned char *b = (unsigned char *)p - XH_HDR;
	int c = (int)*(uint64_t *)b;
	*(void **)b = xh.free[c];
	xh.free[c] = b;
}

void *hp_exitheap_realloc(void *p, size_t old, size_t n)
{
	if (p && hp_exitheap_owns(p) && n <= hp_exitheap_size(p))
		return p;
	void *q = hp_exitheap_alloc(n);
	if (q && p) {
		memcpy(q, p, old < n ? old : n);
		if (hp_exitheap_owns(p))
			hp_exitheap_free(p);
		/* a block of the real heap stays where it is: that heap is
		 * not to be touched now */
	}
	return q;
}
