/*
 * livetab.c - the sampled blocks that are still live, keyed by address.
 *
 * free() must tell "was this block sampled?" for every pointer.  Two
 * filters answer before any lock is taken, and both have false positives
 * but never false negatives:
 *  - the page filter (hp.h), read by the free fast path: a saturating
 *    count per folded page of the live sampled blocks that start there.
 *    It is raised before malloc hands a sampled block to the program and
 *    lowered only under the block's shard lock when one goes, so while a
 *    block is live every value a reader can see for its entry is at least
 *    1.  Every block folding onto an entry is in the same shard, so its
 *    writers are serialized by one lock.  A count
 *    that reaches 255 stays there: such an entry gives false positives
 *    from then on, never a miss;
 *  - the table's home slot, read by the slow path (hp_livetab_probe) so
 *    that a page false positive usually ends without the lock.
 * The table is open addressing with linear probing.  A pointer that is in
 * it always has a non-empty home slot, so an empty home slot proves the
 * block was not sampled.  Two rules keep that true while other threads
 * change the table:
 *  - Deletion shifts later entries back instead of leaving tombstones
 *    (tombstones pile up on the few addresses an allocator reuses, see
 *    measured.md), and every slot it vacates holds BUSY until it is either
 *    refilled or proven to be no live key's home, so no home slot of a
 *    live key is ever seen empty.
 *  - Growth builds a new generation and publishes it with one pointer store;
 *    old generations stay mapped and frozen, so a reader holding a stale
 *    pointer still finds every key inserted before the switch.  Their total
 *    size is less than the current generation's.
 * There is one table per shard (hp.h); its writers hold the shard's lock.
 * At 75% load a table doubles; 10 million live blocks in one shard need
 * 2^24 slots of 16 bytes, 256 MiB.
 */
#include "hp.h"

#include <string.h>

#ifdef __clang__
/* The static generations below put a flexible array inside a struct. */
#pragma clang diagnostic ignored "-Wgnu-variable-sized-type-not-at-end"
#endif

/* A key and its bucket id side by side: an insert or a remove touches one
 * cache line, not one in a key array and one in a value array (two misses
 * per sampled block on churn at rate 1, where the program's own data keeps
 * evicting the table). */
struct liveslot {
	uintptr_t key;            /* 0 = empty, 1 = being moved, else a pointer */
	uint32_t val;             /* bucket id */
};

/* One generation of the table.  Readers load the pointer once, so slots
 * and shift always belong together.  Nothing here is written per insert
 * or remove (the count lives in its ltshard), so that the line with shift,
 * which every lock-free probe reads, is not passed between cores by
 * writers. */
struct livearr {
	unsigned shift;           /* slot = hash >> shift; 2^(64-shift) slots */
	struct liveslot s[];
};

#define BUSY ((uintptr_t)1)
#define GEN0_BITS 10

/* Each shard's first generation, in .bss: its pages cost nothing until the
 * shard's first sample. */
static struct {
	struct livearr hdr;
	struct liveslot s[1u << GEN0_BITS];
} gen0[HP_NSHARDS];

/* Zero, mask included, so that it lives in .bss.  Mask 0 folds every
 * pointer onto entry 0, which is right while nothing has been sampled;
 * the first insert widens it before it counts its block. */
struct hp_pagefilt hp_pagefilt;

/* One shard's table.  The count has a line of its own, apart from cur,
 * which every probe reads: a thread that frees what another allocated
 * probes here, and should not take the line the writers keep changing. */
struct ltshard {
	struct livearr *cur;            /* the current generation; NULL before the first insert */
	_Alignas(64) uint64_t count;    /* live keys; written under the shard's lock */
} __attribute__((aligned(64)));

static struct {
	int filter_all;                 /* tracing: the mask stays 0 */
	struct ltshard sh[HP_NSHARDS];
} lt;

static inline uint8_t *pagefilt_entry(const void *p)
{
	return &hp_pagefilt.count[((uintptr_t)p >> 12) & ((1u << HP_PAGEFILT_BITS) - 1)];
}

/* Under the block's shard lock, before the block reaches the program. */
static void pagefilt_add(const void *p)
{
	if (HP_UNLIKELY(!__atomic_load_n(&hp_pagefilt.mask, __ATOMIC_RELAXED)) && !lt.filter_all)
		__atomic_store_n(&hp_pagefilt.mask, (1u << HP_PAGEFILT_BITS) - 1, __ATOMIC_RELAXED);
	uint8_t *e = pagefilt_entry(p);
	if (*e != UINT8_MAX)
		__atomic_store_n(e, (uint8_t)(*e + 1), __ATOMIC_RELAXED);
}

static void pagefilt_sub(const void *p)
{
	uint8_t *e = pagefilt_entry(p);
	if (*e != UINT8_MAX)
		__atomic_store_n(e, (uint8_t)(*e - 1), __ATOMIC_RELAXED);
}

static inline uint64_t nslots(const struct livearr *a)
{
	return (uint64_t)1 << (64 - a->shift);
}

static inline uint64_t home(const struct livearr *a, uintptr_t k)
{
	return ((k >> 4) * 0x9e3779b97f4a7c15ull) >> a->shift;
}

void hp_livetab_filter_all(void)
{
	lt.filter_all = 1;
	__atomic_store_n(&hp_pagefilt.count[0], UINT8_MAX, __ATOMIC_RELAXED);
	__atomic_store_n(&hp_pagefilt.mask, 0, __ATOMIC_RELAXED);
}

/* p's home slot in its shard's current generation, for readers without
 * the lock; NULL while the shard has never held a key. */
static struct liveslot *home_slot(const void *p)
{
	struct livearr *a = __atomic_load_n(&lt.sh[hp_shard_of(p)].cur, __ATOMIC_ACQUIRE);
	return a ? &a->s[home(a, (uintptr_t)p)] : NULL;
}

int hp_livetab_probe(const void *p)
{
	struct liveslot *sl = home_slot(p);
	return sl && __atomic_load_n(&sl->key, __ATOMIC_RELAXED) != 0;
}

void hp_livetab_prefetch(const void *p)
{
	struct liveslot *sl = home_slot(p);
	if (sl)
		__builtin_prefetch(sl, 1);
}

/* Returns 1 when k is new, 0 when it was there (its bucket replaced). */
static int put(struct livearr *a, uintptr_t k, uint32_t v)
{
	uint64_t mask = nslots(a) - 1;
	uint64_t i = home(a, k);
	while (a->s[i].key != 0 && a->s[i].key != k)
		i = (i + 1) & mask;
	int fresh = a->s[i].key == 0;
	a->s[i].val = v;
	__atomic_store_n(&a->s[i].key, k, __ATOMIC_RELEASE);
	return fresh;
}

static int grow(struct ltshard *t)
{
	struct livearr *old = t->cur;
	unsigned shift = old->shift - 1;
	uint64_t n = (uint64_t)1 << (64 - shift);
	struct livearr *a = hp_ialloc(sizeof *a + n * sizeof a->s[0]);
	if (!a)
		return -1;
	a->shift = shift;
	for (uint64_t i = 0, on = nslots(old); i < on; i++)
		if (old->s[i].key > BUSY)
			put(a, old->s[i].key, old->s[i].val);
	__atomic_store_n(&t->cur, a, __ATOMIC_RELEASE);
	return 0;
}

int hp_livetab_insert_locked(const void *p, uint32_t bucket)
{
	unsigned sh = hp_shard_of(p);
	struct ltshard *t = &lt.sh[sh];
	struct livearr *a = t->cur;
	if (HP_UNLIKELY(!a)) {
		gen0[sh].hdr.shift = 64 - GEN0_BITS;
		__atomic_store_n(&t->cur, a = &gen0[sh].hdr, __ATOMIC_RELEASE);
	}
	if ((t->count + 1) * 4 > nslots(a) * 3) {
		if (grow(t) != 0)
			return -1;
		a = t->cur;
	}
	if (put(a, (uintptr_t)p, bucket)) {     /* not a re-registration of a live key */
		__atomic_store_n(&t->count, t->count + 1, __ATOMIC_RELAXED);
		pagefilt_add(p);
	}
	return 0;
}

uint32_t hp_livetab_remove_locked(const void *p)
{
	struct ltshard *t = &lt.sh[hp_shard_of(p)];
	struct livearr *a = t->cur;
	if (!a)
		return 0;
	uint64_t mask = nslots(a) - 1;
	uintptr_t k = (uintptr_t)p;
	uint64_t i = home(a, k);
	while (a->s[i].key != k) {
		if (a->s[i].key == 0)
			return 0;
		i = (i + 1) & mask;
	}
	uint32_t v = a->s[i].val;
	__atomic_store_n(&a->s[i].key, BUSY, __ATOMIC_RELAXED);
	/* Backward shift: move each later key of the cluster that may live
	 * at the hole into it; the hole walks forward, BUSY all the while. */
	for (uint64_t j = i;;) {
		j = (j + 1) & mask;
		uintptr_t kj = a->s[j].key;
		if (kj == 0)
			break;
		uint64_t h = home(a, kj);
		if (((j - h) & mask) >= ((j - i) & mask)) {
			a->s[i].val = a->s[j].val;
			__atomic_store_n(&a->s[i].key, kj, __ATOMIC_RELEASE);
			__atomic_store_n(&a->s[j].key, BUSY, __ATOMIC_RELEASE);
			i = j;
		}
	}
	__atomic_store_n(&a->s[i].key, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&t->count, t->count - 1, __ATOMIC_RELAXED);
	pagefilt_sub(p);
	return v;
}

uint64_t hp_livetab_count(void)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < HP_NSHARDS; i++)
		n += __atomic_load_n(&lt.sh[i].count, __ATOMIC_RELAXED);
	return n;
}

void hp_livetab_each_locked(unsigned sh, void (*fn)(uint32_t bucket, void *arg), void *arg)
{
	const struct livearr *a = lt.sh[sh].cur;
	if (!a)
		return;
	for (uint64_t i = 0, n = nslots(a); i < n; i++)
		if (a->s[i].key > BUSY)
			fn(a->s[i].val, arg);
}
