/*
 * livetab.c - the sampled blocks that are still live, keyed by address.
 *
 * free() must tell "was this block sampled?" for every pointer, at the cost
 * of one load on the fast path.  This is an open-addressing table with
 * linear probing, read without a lock: a pointer that is in the table
 * always has a non-empty home slot, so an empty home slot proves the block
 * was not sampled.  A non-empty one (p itself, or a neighbour) sends free()
 * to the slow path, which decides under hp_g.lock.  So there are false
 * positives but never false negatives.
 *
 * Two rules keep that true while other threads change the table:
 *  - Deletion shifts later entries back instead of leaving tombstones
 *    (tombstones pile up on the few addresses an allocator reuses, see
 *    measured.md), and every slot it vacates holds BUSY until it is either
 *    refilled or proven to be no live key's home, so no home slot of a
 *    live key is ever seen empty.
 *  - Growth builds a new generation and publishes it with one pointer store;
 *    old generations stay mapped and frozen, so a reader holding a stale
 *    pointer still finds every key inserted before the switch.  Their total
 *    size is less than the current generation's.
 * Writers hold hp_g.lock.  At 75% load the table doubles; 10 million live
 * blocks need 2^24 slots, 192 MiB.
 */
#include "hp.h"

#include <string.h>

#ifdef __clang__
/* The static generations below put a flexible array inside a struct. */
#pragma clang diagnostic ignored "-Wgnu-variable-sized-type-not-at-end"
#endif

#define BUSY ((uintptr_t)1)
#define GEN0_BITS 10

static struct {
	struct hp_livearr hdr;
	uintptr_t keys[1u << GEN0_BITS];
} gen0 = { .hdr = { .shift = 64 - GEN0_BITS } };
static uint32_t gen0_vals[1u << GEN0_BITS];

/* While tracing, hp_live points here: two slots, both BUSY, so the free
 * fast path always goes to the slow path, which counts the free and probes
 * the real table. */
static struct {
	struct hp_livearr hdr;
	uintptr_t keys[2];
} all_busy = { .hdr = { .shift = 63 }, .keys = { BUSY, BUSY } };

struct hp_livearr *hp_live = &gen0.hdr;

static struct {
	struct hp_livearr *cur;         /* the real table (== hp_live unless tracing) */
	int filtering;
} lt = { .cur = &gen0.hdr };

static inline uint64_t nslots(const struct hp_livearr *a)
{
	return (uint64_t)1 << (64 - a->shift);
}

static inline uint64_t home(const struct hp_livearr *a, uintptr_t k)
{
	return hp_livetab_hash((const void *)k) >> a->shift;
}

static void publish(struct hp_livearr *a)
{
	lt.cur = a;
	if (!lt.filtering)
		__atomic_store_n(&hp_live, a, __ATOMIC_RELEASE);
}

void hp_livetab_filter_all(void)
{
	lt.filtering = 1;
	__atomic_store_n(&hp_live, &all_busy.hdr, __ATOMIC_RELEASE);
}

int hp_livetab_probe(const void *p)
{
	struct hp_livearr *a = __atomic_load_n(&lt.cur, __ATOMIC_ACQUIRE);
	return __atomic_load_n(&a->keys[hp_livetab_hash(p) >> a->shift], __ATOMIC_RELAXED) != 0;
}

static void put(struct hp_livearr *a, uintptr_t k, uint32_t v)
{
	uint64_t mask = nslots(a) - 1;
	uint64_t i = home(a, k);
	while (a->keys[i] != 0 && a->keys[i] != k)
		i = (i + 1) & mask;
	if (a->keys[i] == 0)
		a->count++;
	a->vals[i] = v;
	__atomic_store_n(&a->keys[i], k, __ATOMIC_RELEASE);
}

static int grow(void)
{
	struct hp_livearr *old = lt.cur;
	unsigned shift = old->shift - 1;
	uint64_t n = (uint64_t)1 << (64 - shift);
	struct hp_livearr *a = hp_ialloc(sizeof *a + n * sizeof(uintptr_t));
	uint32_t *vals = hp_ialloc(n * sizeof(uint32_t));
	if (!a || !vals) {
		hp_ifree(a, sizeof *a + n * sizeof(uintptr_t));
		hp_ifree(vals, n * sizeof(uint32_t));
		return -1;
	}
	a->shift = shift;
	a->vals = vals;
	for (uint64_t i = 0, on = nslots(old); i < on; i++)
		if (old->keys[i] > BUSY)
			put(a, old->keys[i], old->vals[i]);
	publish(a);
	return 0;
}

int hp_livetab_insert_locked(const void *p, uint32_t bucket)
{
	struct hp_livearr *a = lt.cur;
	if (!a->vals)
		a->vals = gen0_vals;
	if ((a->count + 1) * 4 > nslots(a) * 3) {
		if (grow() != 0)
			return -1;
		a = lt.cur;
	}
	put(a, (uintptr_t)p, bucket);
	return 0;
}

uint32_t hp_livetab_remove_locked(const void *p)
{
	struct hp_livearr *a = lt.cur;
	uint64_t mask = nslots(a) - 1;
	uintptr_t k = (uintptr_t)p;
	uint64_t i = home(a, k);
	if (!a->vals)
		return 0;
	while (a->keys[i] != k) {
		if (a->keys[i] == 0)
			return 0;
		i = (i + 1) & mask;
	}
	uint32_t v = a->vals[i];
	__atomic_store_n(&a->keys[i], BUSY, __ATOMIC_RELAXED);
	/* Backward shift: move each later key of the cluster that may live
	 * at the hole into it; the hole walks forward, BUSY all the while. */
	for (uint64_t j = i;;) {
		j = (j + 1) & mask;
		uintptr_t kj = a->keys[j];
		if (kj == 0)
			break;
		uint64_t h = home(a, kj);
		if (((j - h) & mask) >= ((j - i) & mask)) {
			a->vals[i] = a->vals[j];
			__atomic_store_n(&a->keys[i], kj, __ATOMIC_RELEASE);
			__atomic_store_n(&a->keys[j], BUSY, __ATOMIC_RELEASE);
			i = j;
		}
	}
	__atomic_store_n(&a->keys[i], 0, __ATOMIC_RELEASE);
	a->count--;
	return v;
}

uint64_t hp_livetab_count(void)
{
	return lt.cur->count;
}
