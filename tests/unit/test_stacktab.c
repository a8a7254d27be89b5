/*
 * test_stacktab.c - interning stacks and (stack, size) buckets, and the
 * overflow bucket once HEAPPROF_MAX_STACKS stacks exist, both indexes
 * keeping every entry as they grow, the lock-free lookup never giving a
 * wrong bucket while another thread adds stacks and grows the indexes,
 * and the lock-free counter prefetch safe while a shard's counter tables
 * grow under it.
 * Also built with ThreadSanitizer (test_stacktab_tsan.c) and AddressSanitizer.
 * Links: stacktab.o ialloc.o config.o
 */
#include "check.h"
#include "hp.h"

#include <pthread.h>
#include <string.h>

struct hp_global hp_g = { .lock = HP_LOCK_INIT };
HP_TLS struct hp_thread hp_self;       /* ialloc counts its lock in held */

static int fresh;

static uint32_t bucket(const uintptr_t *pcs, int n, uint64_t size)
{
	return hp_stacktab_bucket_locked(pcs, n, hp_stacktab_hash(pcs, n), size, &fresh);
}

/* Readers look up stacks whose buckets exist (ids known) and stacks the
 * writer is adding (ids not known yet: remembered, checked after).  A
 * lookup may miss a known bucket only when it ran in a generation that a
 * growth gave back meanwhile (then the caller takes the lock): a handful
 * in millions, never a wrong id. */
enum { KNOWN = 2000, ADDED = 60000 };
static uint32_t known_id[KNOWN], seen_id[ADDED];
static int stop_readers;
static long wrong, missed_known, lookups;

static void key(uintptr_t *s, uintptr_t i)
{
	s[0] = 0x7000000 + 16 * i;
	s[1] = 0x42;
	s[2] = i % 5;
}

static void *reader(void *arg)
{
	uintptr_t s[3];
	long w = 0, m = 0;
	(void)arg;
	while (!__atomic_load_n(&stop_readers, __ATOMIC_ACQUIRE)) {
		for (uintptr_t i = 0; i < KNOWN; i++) {
			key(s, i);
			uint32_t id = hp_stacktab_lookup(s, 3, hp_stacktab_hash(s, 3), 8);
			w += id && id != known_id[i];
			m += !id;
		}
		__atomic_fetch_add(&lookups, KNOWN, __ATOMIC_RELAXED);
		for (uintptr_t i = 0; i < ADDED; i += 7) {
			key(s, KNOWN + i);
			uint32_t id = hp_stacktab_lookup(s, 3, hp_stacktab_hash(s, 3), 8);
			if (id) {
				__atomic_store_n(&seen_id[i], id, __ATOMIC_RELAXED);
				/* As a sample does before its shard's lock, while
				 * the writer grows that shard's counter tables. */
				hp_stacktab_count_prefetch(0, id);
			}
		}
	}
	__atomic_fetch_add(&wrong, w, __ATOMIC_RELAXED);
	__atomic_fetch_add(&missed_known, m, __ATOMIC_RELAXED);
	return NULL;
}

static void test_lockfree_lookup(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	uintptr_t s[3];
	pthread_t th[2];
	for (uintptr_t i = 0; i < KNOWN; i++) {
		key(s, i);
		known_id[i] = bucket(s, 3, 8);
	}
	for (int r = 0; r < 2; r++)
		pthread_create(&th[r], NULL, reader, NULL);
	for (uintptr_t i = 0; i < ADDED; i++) {
		key(s, KNOWN + i);
		pthread_mutex_lock(&lock);
		struct hp_count *c = hp_stacktab_count_locked(0, bucket(s, 3, 8));
		if (c)
			c->allocs++;
		pthread_mutex_unlock(&lock);
	}
	__atomic_store_n(&stop_readers, 1, __ATOMIC_RELEASE);
	for (int r = 0; r < 2; r++)
		pthread_join(th[r], NULL);
	long bad_seen = 0, seen = 0;
	for (uintptr_t i = 0; i < ADDED; i += 7) {
		key(s, KNOWN + i);
		seen += seen_id[i] != 0;
		bad_seen += seen_id[i] && seen_id[i] != bucket(s, 3, 8);
	}
	CHECK(!wrong, "lock-free lookups of existing buckets never gave a wrong id while %d stacks were added", ADDED);
	/* A lookup misses only if a growth gives its generation back while it
	 * is in it: at most one per reader per generation, and the writer
	 * grows the two indexes fewer than 10 times here. */
	CHECK(missed_known <= 2 * 10, "and missed one only while a growth passed it (%ld of %ld lookups)",
	      missed_known, lookups);
	long missed_after = 0;
	for (uintptr_t i = 0; i < KNOWN; i++) {
		key(s, i);
		missed_after += hp_stacktab_lookup(s, 3, hp_stacktab_hash(s, 3), 8) != known_id[i];
	}
	CHECK(!missed_after, "once the growths are over, every known bucket is found without the lock");
	CHECK(!bad_seen, "and each bucket they saw being added was the right one (%ld seen)", seen);
	long counted = 0;
	for (uintptr_t i = 0; i < ADDED; i++) {
		key(s, KNOWN + i);
		const struct hp_count *c = hp_stacktab_count_peek_locked(0, bucket(s, 3, 8));
		counted += c && c->allocs == 1;
	}
	CHECK(counted == ADDED, "the counters made meanwhile, under readers prefetching them, keep their counts (%ld of %d)",
	      counted, ADDED);
	key(s, KNOWN + ADDED + 1);
	CHECK(hp_stacktab_lookup(s, 3, hp_stacktab_hash(s, 3), 8) == 0, "a stack never added is not found");
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

	/* The index keeps sizes below 65535 in the slot; larger ones share
	 * one escape value there and are told apart by the bucket. */
	uint64_t h = hp_stacktab_hash(a, 3);
	uint32_t e0 = bucket(a, 3, 65534), e1 = bucket(a, 3, 65535), e2 = bucket(a, 3, 1u << 20),
		 e3 = bucket(a, 3, (1u << 20) + 65536), z = bucket(a, 3, 0);
	CHECK(e0 && e1 && e2 && e3 && z && e0 != e1 && e1 != e2 && e2 != e3 && e1 != e3 && z != e0,
	      "sizes around and above the slot's size field, and size 0, are buckets of their own");
	CHECK(hp_stacktab_lookup(a, 3, h, 65534) == e0 && hp_stacktab_lookup(a, 3, h, 65535) == e1 &&
	      hp_stacktab_lookup(a, 3, h, 1u << 20) == e2 && hp_stacktab_lookup(a, 3, h, (1u << 20) + 65536) == e3 &&
	      hp_stacktab_lookup(a, 3, h, 0) == z && hp_stacktab_lookup(a, 3, h, 64) == a64,
	      "the lock-free lookup finds each of them");
	CHECK(!hp_stacktab_lookup(a, 3, h, 3u << 20) && !hp_stacktab_lookup(a, 3, h, 65536) &&
	      !hp_stacktab_lookup(a, 3, h, 65533) && !hp_stacktab_lookup(b, 3, hp_stacktab_hash(b, 3), 65535),
	      "and finds nothing for a size or stack never added");
	CHECK(hp_stacktab_get(e3)->size == (1u << 20) + 65536 && hp_stacktab_get(e1)->size == 65535,
	      "large buckets keep their sizes");

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

	/* Counters: one set per shard, made on first use, apart from the bucket. */
	const struct hp_count *none = hp_stacktab_count_peek_locked(3, ids[MANY - 1][1]);
	struct hp_count *c3 = hp_stacktab_count_locked(3, ids[MANY - 1][1]);
	struct hp_count *c9 = hp_stacktab_count_locked(9, ids[MANY - 1][1]);
	CHECK(!none && c3 && c9 && c3 != c9 && !c3->allocs && !c9->allocs,
	      "a bucket's counters exist per shard, zeroed, once a shard counts it");
	c3->allocs = 5;
	c9->allocs = 2;
	CHECK(hp_stacktab_count_peek_locked(3, ids[MANY - 1][1]) == c3 && c3->allocs == 5 &&
	      hp_stacktab_count_locked(9, ids[MANY - 1][1])->allocs == 2,
	      "and each shard keeps its own counts");
	CHECK(!hp_stacktab_count_peek_locked(3, ids[0][0]) && !hp_stacktab_count_peek_locked(0, ids[MANY - 1][1]),
	      "other buckets and shards are untouched");

	/* What a grown index does to its old generation: the header stays, the
	 * pages wholly past it read as zeros (a reader there sees empty slots). */
	enum { BLK = 65536 + 24 };
	unsigned char *blk = hp_ialloc(BLK);
	memset(blk, 0xab, BLK);
	hp_ialloc_drop(blk, BLK, 16);
	size_t zero_from = (((uintptr_t)blk + 16 + 4095) & ~(uintptr_t)4095) - (uintptr_t)blk;
	int kept = 1, zeroed = 1;
	for (size_t i = 0; i < zero_from; i++)
		kept &= blk[i] == 0xab;
	for (size_t i = zero_from; i < (((uintptr_t)blk + BLK) & ~(uintptr_t)4095) - (uintptr_t)blk; i++)
		zeroed &= blk[i] == 0;
	CHECK(kept && zeroed && blk[BLK - 1] == 0xab,
	      "a dropped block keeps its header page and its partial last page, and reads zeros between");

	test_lockfree_lookup();
	return check_done();
}
