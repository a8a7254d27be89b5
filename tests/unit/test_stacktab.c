/*
 * test_stacktab.c - interning stacks and (stack, size) buckets, and the
 * overflow bucket once HEAPPROF_MAX_STACKS stacks exist, and both indexes
 * keeping every entry as they grow.
 * Links: stacktab.o ialloc.o config.o
 */
#include "check.h"
#include "hp.h"

struct hp_global hp_g = { .lock = HP_LOCK_INIT };

static int fresh;

static uint32_t bucket(const uintptr_t *pcs, int n, uint64_t size)
{
	return hp_stacktab_bucket_locked(pcs, n, hp_stacktab_hash(pcs, n), size, &fresh);
}

int main(void)
{
	uintptr_t a[3] = { 0x1000, 0x2000, 0x3000 };
	uintptr_t b[3] = { 0x1000, 0x2000, 0x3001 };
	hp_cfg.max_stacks = 100;

	uint32_t a64 = bucket(a, 3, 64);
	CHECK(a64 != 0 && fresh, "a first stack is new");
	CHECK(bucket(a, 3, 64) == a64 && !fresh, "the same stack and size give the same bucket");
	uint32_t a32 = bucket(a, 3, 32);
	CHECK(a32 != a64, "another size on the same stack is another bucket");
	CHECK(hp_stacktab_get(a32)->stack == hp_stacktab_get(a64)->stack, "... sharing one interned stack");
	uint32_t b64 = bucket(b, 3, 64);
	CHECK(b64 != a64 && hp_stacktab_get(b64)->stack != hp_stacktab_get(a64)->stack,
	      "a stack differing in one frame is a new stack");
	CHECK(bucket(a, 2, 64) != a64, "a prefix is a different stack");
	const struct hp_bucket *k = hp_stacktab_get(a64);
	CHECK(k->size == 64 && k->stack->depth == 3 && k->stack->pcs[2] == 0x3000, "buckets keep size and frames");

	uint32_t first_overflow = 0;
	for (uintptr_t i = 0; i < 300; i++) {
		uintptr_t s[2] = { 0x9000 + i, 0x42 };
		uint32_t id = bucket(s, 2, 100);
		if (hp_stacktab_get(id)->stack->pcs[0] == (uintptr_t)hp_stacktab_overflow_frame + 1 && !first_overflow)
			first_overflow = (uint32_t)i;
		if (!id)
			break;
	}
	CHECK(hp_stacktab_nstacks() == 101, "the table stops at HEAPPROF_MAX_STACKS stacks, plus the overflow stack (%u)",
	      hp_stacktab_nstacks());
	CHECK(first_overflow > 0 && hp_g.overflowed == 300 - first_overflow,
	      "later stacks land in the overflow bucket and are counted (%llu)", (unsigned long long)hp_g.overflowed);
	CHECK(bucket(a, 3, 64) == a64, "known stacks still get their own bucket");

	/* 20 000 stacks of two sizes each: the stack index doubles five times
	 * and the bucket index six, and every entry must come back the same. */
	enum { MANY = 20000 };
	static uint32_t ids[MANY][2];
	hp_cfg.max_stacks = 1u << 20;
	uint32_t stacks_before = hp_stacktab_nstacks();
	int fresh_all = 1, same = 1, right = 1;
	for (uintptr_t i = 0; i < MANY; i++) {
		uintptr_t s[4] = { 0x400000 + 16 * i, 0x500000 + i % 7, 0x600000, i % 3 };
		ids[i][0] = bucket(s, 4 - (int)(i & 1), 24);
		fresh_all &= fresh;
		ids[i][1] = bucket(s, 4 - (int)(i & 1), 4096);
	}
	for (uintptr_t i = 0; i < MANY; i++) {
		uintptr_t s[4] = { 0x400000 + 16 * i, 0x500000 + i % 7, 0x600000, i % 3 };
		same &= bucket(s, 4 - (int)(i & 1), 24) == ids[i][0] && !fresh;
		same &= bucket(s, 4 - (int)(i & 1), 4096) == ids[i][1];
		const struct hp_bucket *k0 = hp_stacktab_get(ids[i][0]);
		right &= k0->size == 24 && k0->stack->pcs[0] == s[0] && k0->stack->depth == 4 - (i & 1) &&
			 hp_stacktab_get(ids[i][1])->stack == k0->stack;
	}
	CHECK(fresh_all && hp_stacktab_nstacks() == stacks_before + MANY, "%d new stacks are each new (%u in all)",
	      MANY, hp_stacktab_nstacks());
	CHECK(same, "after the indexes grew, every stack and size finds its bucket again");
	CHECK(right, "and every bucket keeps its size and frames");
	return check_done();
}
