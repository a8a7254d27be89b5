/*
 * test_livetab.c - the live-block table: exact membership, no false
 * negatives from the lock-free checks while other threads insert, delete
 * and grow the table, the free fast path's page filter, the shards (one
 * table per 64 MiB-region class, each written under its own lock), and 10
 * million live blocks.
 * Links: livetab.o ialloc.o
 * Also built with ThreadSanitizer and AddressSanitizer (test_livetab_*san.c).
 */
#include "check.h"
#include "hp.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

HP_TLS struct hp_thread hp_self;       /* ialloc counts its lock in held */

#ifndef LIVETAB_BIG
#define LIVETAB_BIG 10000000
#endif

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Pointers as an allocator hands them out: 16-byte aligned, clustered. */
static const void *ptr(uint64_t i)
{
	return (const void *)(uintptr_t)(0x7f0000000000ull + i * 48);
}

/* The page filter free() reads: exact for pages without sampled blocks
 * (those frees never leave the fast path), a false positive for the rest
 * of a sampled block's page, and a count that saturates rather than wraps. */
static void test_pagefilt(void)
{
	const char *q = (const char *)(uintptr_t)0x7e0000001000ull;
	CHECK(!hp_livetab_maybe(q) && !hp_livetab_maybe(NULL), "nothing is maybe-sampled before the first sample");
	hp_livetab_insert_locked(q + 64, 5);
	CHECK(hp_livetab_maybe(q + 64) && hp_livetab_maybe(q), "a sampled block's page is flagged");
	CHECK(!hp_livetab_maybe(q + 4096) && !hp_livetab_maybe(q - 1) && !hp_livetab_maybe(NULL),
	      "the pages next to it are not");
	hp_livetab_insert_locked(q + 128, 6);
	hp_livetab_remove_locked(q + 64);
	CHECK(hp_livetab_maybe(q + 128), "the page stays flagged while one of its two blocks is live");
	hp_livetab_remove_locked(q + 128);
	CHECK(!hp_livetab_maybe(q + 128), "and clears when the last one goes");
	for (int i = 0; i < 300; i++)
		hp_livetab_insert_locked(q + 8192 + 8 * i, 1);
	for (int i = 0; i < 300; i++)
		hp_livetab_remove_locked(q + 8192 + 8 * i);
	CHECK(hp_livetab_maybe(q + 8192) && !hp_livetab_maybe(q) && hp_livetab_count() == 0,
	      "a page that held 300 blocks stays flagged (saturated count), its neighbours do not");
}

/* What a walk over the table saw: how many keys, and two sums of their
 * buckets that a missing, doubled or wrong bucket changes. */
struct tally {
	uint64_t n, sum, mix;
};

static void tally(uint32_t bucket, void *arg)
{
	struct tally *t = arg;
	t->n++;
	t->sum += bucket;
	t->mix += (uint64_t)bucket * bucket * 0x9e3779b97f4a7c15ull;
}

static void test_sequential(void)
{
	enum { N = 200000 };
	static uint32_t truth[N];       /* bucket of ptr(i), 0 = absent */
	uint64_t rng = 1, live = 0;
	int wrong = 0, negatives = 0;
	for (int op = 0; op < 1000000; op++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t i = (rng >> 33) % N;
		if (truth[i]) {
			wrong += hp_livetab_remove_locked(ptr(i)) != truth[i];
			truth[i] = 0;
			live--;
		} else {
			truth[i] = (uint32_t)(rng >> 12) | 1;
			wrong += hp_livetab_insert_locked(ptr(i), truth[i]) != 0;
			live++;
		}
		if (op % 1000 == 0)
			for (uint64_t k = 0; k < N; k += 97)
				negatives += truth[k] && !hp_livetab_maybe(ptr(k));
	}
	CHECK(!wrong, "a million random inserts and removes return the right buckets");
	CHECK(!negatives, "the lock-free check never misses a live block");
	CHECK(hp_livetab_count() == live, "count %llu matches the truth %llu",
	      (unsigned long long)hp_livetab_count(), (unsigned long long)live);
	/* A snapshot's frees are the allocations less the blocks it finds here
	 * (dump.c): each live block seen once, with its bucket. */
	struct tally seen = { 0 }, want = { 0 };
	for (unsigned sh = 0; sh < HP_NSHARDS; sh++)
		hp_livetab_each_locked(sh, tally, &seen);
	for (uint64_t k = 0; k < N; k++)
		if (truth[k])
			tally(truth[k], &want);
	CHECK(seen.n == live && seen.sum == want.sum && seen.mix == want.mix,
	      "hp_livetab_each_locked visits the %llu live blocks once each, with their buckets (%llu visits)",
	      (unsigned long long)live, (unsigned long long)seen.n);
	int absent = 0;
	for (uint64_t k = 0; k < N; k++)
		absent += !truth[k] && hp_livetab_remove_locked(ptr(k)) != 0;
	CHECK(!absent, "removing blocks that are not there finds nothing");
	for (uint64_t k = 0; k < N; k++)
		if (truth[k])
			hp_livetab_remove_locked(ptr(k));
	CHECK(hp_livetab_count() == 0, "the table empties");
}

/* Blocks 64 MiB apart are in different shards, each with its own table,
 * and blocks 4 GiB apart, which share a page-filter entry, in the same one:
 * that is what lets the filter's writers be serialized by the shard lock. */
static void test_shards(void)
{
	const char *q = (const char *)(uintptr_t)0x7d0000000000ull;
	unsigned seen = 0;
	for (unsigned i = 0; i < HP_NSHARDS; i++) {
		seen |= 1u << hp_shard_of(q + ((size_t)i << HP_SHARD_SHIFT));
		hp_livetab_insert_locked(q + ((size_t)i << HP_SHARD_SHIFT), 100 + i);
	}
	CHECK(seen == (1u << HP_NSHARDS) - 1, "%u regions of 64 MiB fall in %u different shards", HP_NSHARDS, HP_NSHARDS);
	CHECK(hp_livetab_count() == HP_NSHARDS, "the count sums the shards (%llu)", (unsigned long long)hp_livetab_count());
	int same = 1, found = 1;
	uint64_t rng = 7;
	for (int i = 0; i < 100000; i++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		uintptr_t a = (uintptr_t)(rng >> 16) & ~(uintptr_t)15;
		same &= hp_shard_of((const void *)a) == hp_shard_of((const void *)(a + ((uintptr_t)(rng & 0xff) << 32)));
	}
	CHECK(same, "addresses that fold onto one page-filter entry (4 GiB apart) share a shard");
	for (unsigned i = 0; i < HP_NSHARDS; i++)
		found &= hp_livetab_probe(q + ((size_t)i << HP_SHARD_SHIFT)) && !hp_livetab_probe(q + ((size_t)i << HP_SHARD_SHIFT) + 16);
	CHECK(found, "each shard's table finds its own block, and not its neighbour");
	for (unsigned i = HP_NSHARDS; i-- > 0;)
		found &= hp_livetab_remove_locked(q + ((size_t)i << HP_SHARD_SHIFT)) == 100 + i;
	CHECK(found && hp_livetab_count() == 0, "each comes out of its own shard with its bucket");
}

/* Two writers, each churning blocks of its own shard under that shard's
 * lock only, while readers check their blocks in both: what tables and
 * filter entries two shards share must be nothing a writer changes. */
enum { SHARD_OPS = 300000, SHARD_KEYS = 20000, SHARD_FIXED = 100 };
static pthread_mutex_t shard_lock[2] = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER };
static uint8_t shard_live[2][SHARD_KEYS];
static long shard_wrong;

static const void *shard_ptr(int w, uint64_t i)
{
	return (const void *)(uintptr_t)(0x7c0000000000ull + ((uint64_t)w << HP_SHARD_SHIFT) + i * 48);
}

/* Writer w churns its keys SHARD_FIXED.. and checks that the other
 * writer's fixed keys, live throughout, are always seen. */
static void *shard_writer(void *arg)
{
	int w = (int)(uintptr_t)arg;
	uint64_t rng = 11 + (uint64_t)w;
	long wrong = 0;
	for (int op = 0; op < SHARD_OPS; op++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t k = SHARD_FIXED + (rng >> 33) % (SHARD_KEYS - SHARD_FIXED);
		pthread_mutex_lock(&shard_lock[w]);
		if (shard_live[w][k])
			wrong += hp_livetab_remove_locked(shard_ptr(w, k)) != (uint32_t)(w + 1);
		else
			wrong += hp_livetab_insert_locked(shard_ptr(w, k), (uint32_t)(w + 1)) != 0;
		pthread_mutex_unlock(&shard_lock[w]);
		shard_live[w][k] ^= 1;
		if (op % 64 == 0)
			for (uint64_t j = 0; j < SHARD_FIXED; j++)
				wrong += !hp_livetab_maybe(shard_ptr(!w, j)) + !hp_livetab_probe(shard_ptr(!w, j));
	}
	__atomic_fetch_add(&shard_wrong, wrong, __ATOMIC_RELAXED);
	return NULL;
}

static void test_shards_concurrent(void)
{
	CHECK(hp_shard_of(shard_ptr(0, 0)) != hp_shard_of(shard_ptr(1, 0)), "the two writers' blocks are in two shards");
	for (int w = 0; w < 2; w++)
		for (uint64_t k = 0; k < SHARD_FIXED; k++) {
			hp_livetab_insert_locked(shard_ptr(w, k), (uint32_t)(w + 1));
			shard_live[w][k] = 1;
		}
	pthread_t th[2];
	for (uintptr_t w = 0; w < 2; w++)
		pthread_create(&th[w], NULL, shard_writer, (void *)w);
	for (int w = 0; w < 2; w++)
		pthread_join(th[w], NULL);
	CHECK(shard_wrong == 0, "two shards changed at once, each under its own lock: right buckets, no block missed (%ld wrong)",
	      shard_wrong);
	uint64_t live = 0;
	for (int w = 0; w < 2; w++)
		for (uint64_t k = 0; k < SHARD_KEYS; k++)
			live += shard_live[w][k];
	CHECK(hp_livetab_count() == live, "the count sums both shards (%llu, truth %llu)",
	      (unsigned long long)hp_livetab_count(), (unsigned long long)live);
	for (int w = 0; w < 2; w++)
		for (uint64_t k = 0; k < SHARD_KEYS; k++)
			if (shard_live[w][k])
				hp_livetab_remove_locked(shard_ptr(w, k));
}

/* Readers own live keys and check them without the lock while a writer
 * churns other keys (shifting clusters, growing the table). */
enum { READERS = 3, OWN = 2000 };
static int stop;
static long misses;

static void *reader(void *arg)
{
	uint64_t base = 1000000 + (uint64_t)(uintptr_t)arg * OWN;
	long local = 0;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		for (uint64_t k = 0; k < OWN; k++)
			local += !hp_livetab_maybe(ptr(base + k)) + !hp_livetab_probe(ptr(base + k));
		/* Free one of ours and take it again, as a program would. */
		uint64_t k = (uint64_t)rand() % OWN;
		pthread_mutex_lock(&lock);
		hp_livetab_remove_locked(ptr(base + k));
		hp_livetab_insert_locked(ptr(base + k), 7);
		pthread_mutex_unlock(&lock);
	}
	__atomic_fetch_add(&misses, local, __ATOMIC_RELAXED);
	return NULL;
}

static void test_concurrent(void)
{
	pthread_t th[READERS];
	for (uint64_t r = 0; r < READERS; r++)
		for (uint64_t k = 0; k < OWN; k++)
			hp_livetab_insert_locked(ptr(1000000 + r * OWN + k), 7);
	for (uintptr_t r = 0; r < READERS; r++)
		pthread_create(&th[r], NULL, reader, (void *)r);
	uint64_t rng = 99;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long ops = 0;
	do {
		for (int i = 0; i < 1000; i++, ops++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			uint64_t k = (rng >> 33) % (200000 + (uint64_t)ops / 50);
			pthread_mutex_lock(&lock);
			if (!hp_livetab_remove_locked(ptr(k)))
				hp_livetab_insert_locked(ptr(k), 3);
			pthread_mutex_unlock(&lock);
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 1500000000L);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int r = 0; r < READERS; r++)
		pthread_join(th[r], NULL);
	CHECK(misses == 0, "%d lock-free readers (page filter and table probe) never missed their live blocks during %ld concurrent changes",
	      READERS, ops);
}

static void test_big(void)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int bad = 0;
	for (uint64_t i = 0; i < LIVETAB_BIG; i++)
		bad |= hp_livetab_insert_locked(ptr(50000000 + i), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(!bad && hp_livetab_count() >= LIVETAB_BIG, "holds %d live blocks (%.2f s, profiler memory %llu MiB)",
	      LIVETAB_BIG, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	      (unsigned long long)(hp_ialloc_bytes() >> 20));
	int negatives = 0;
	for (uint64_t i = 0; i < LIVETAB_BIG; i += 101)
		negatives += !hp_livetab_probe(ptr(50000000 + i));   /* (the page filter is saturated here) */
	CHECK(!negatives, "every one of them is found");
}

int main(void)
{
	test_pagefilt();
	test_shards();
	test_shards_concurrent();
	test_sequential();
	test_concurrent();
	test_big();
	return check_done();
}
