/*
 * ialloc.c - the profiler's private memory.
 *
 * Tables touched under the profiler's locks on the malloc path must not
 * call malloc: that would recurse into us, and it would put the profiler's
 * memory into the heap it measures.  This is a small size-class allocator
 * on mmap.  Callers pass the size back on free, so blocks carry no header.
 * Requests above 64 KiB get their own mapping.
 */
#include "hp.h"

#include <string.h>
#include <sys/mman.h>

#define NCLASS 13               /* 16 B .. 64 KiB */
#define CHUNK (1u << 20)

static struct {
	pthread_mutex_t lock;
	void *free[NCLASS];     /* singly linked through the first word */
	unsigned char *cur, *end;
	uint64_t mapped;        /* bytes mapped and not given back (hp_ialloc_drop), for heapprof_stats */
} ia = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int size_class(size_t n)
{
	int c = 0;
	size_t s = 16;
	while (s < n) {
		s <<= 1;
		c++;
	}
	return c;
}

static void *map(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	__atomic_fetch_add(&ia.mapped, n, __ATOMIC_RELAXED);
	return p;
}

void *hp_ialloc(size_t n)
{
	if (n == 0)
		n = 1;
	if (n > (16u << (NCLASS - 1))) {
		size_t len = (n + 4095) & ~(size_t)4095;
		return map(len);        /* fresh mappings are zeroed */
	}
	int c = size_class(n);
	size_t sz = (size_t)16 << c;
	void *p;
	hp_mutex_lock(&ia.lock);
	if ((p = ia.free[c])) {
		ia.free[c] = *(void **)p;
		hp_mutex_unlock(&ia.lock);
		memset(p, 0, sz);
		return p;
	}
	if ((size_t)(ia.end - ia.cur) < sz) {
		unsigned char *m = map(CHUNK);
		if (!m) {
			hp_mutex_unlock(&ia.lock);
			return NULL;
		}
		ia.cur = m;     /* the rest of the old chunk is abandoned */
		ia.end = m + CHUNK;
	}
	p = ia.cur;
	ia.cur += sz;
	hp_mutex_unlock(&ia.lock);
	return p;
}

void hp_ifree(void *p, size_t n)
{
	if (!p)
		return;
	if (n == 0)
		n = 1;
	if (n > (16u << (NCLASS - 1))) {
		size_t len = (n + 4095) & ~(size_t)4095;
		munmap(p, len);
		__atomic_fetch_sub(&ia.mapped, len, __ATOMIC_RELAXED);
		return;
	}
	int c = size_class(n);
	hp_mutex_lock(&ia.lock);
	*(void **)p = ia.free[c];
	ia.free[c] = p;
	hp_mutex_unlock(&ia.lock);
}

void hp_ialloc_drop(void *p, size_t n, size_t keep)
{
	uintptr_t lo = ((uintptr_t)p + keep + 4095) & ~(uintptr_t)4095;
	uintptr_t hi = ((uintptr_t)p + n) & ~(uintptr_t)4095;
	if (lo < hi && madvise((void *)lo, hi - lo, MADV_DONTNEED) == 0)
		__atomic_fetch_sub(&ia.mapped, hi - lo, __ATOMIC_RELAXED);   /* held no more */
}

uint64_t hp_ialloc_bytes(void)
{
	return __atomic_load_n(&ia.mapped, __ATOMIC_RELAXED);
}

void hp_ialloc_atfork_prepare(void)
{
	pthread_mutex_lock(&ia.lock);
}

void hp_ialloc_atfork_parent(void)
{
	pthread_mutex_unlock(&ia.lock);
}

void hp_ialloc_atfork_child(void)
{
	pthread_mutex_init(&ia.lock, NULL);
}
