/*
 * stacktab.c - interned call stacks and the (stack, size) buckets that
 * count samples, as Go's runtime keys its memory records.
 *
 * Keying buckets by object size as well as stack keeps the unbiasing exact:
 * every sample in a bucket has the same size, so one weight
 * 1/(1-exp(-size/R)) applies to the whole bucket (sampling.md section 6).
 *
 * Stacks and buckets are never freed: live-table entries and dumps refer to
 * them by id/pointer without holding the lock.  A bucket's counters are
 * kept apart from it, a set per shard (hp.h), so that a sample writes only
 * its own shard's lines.  When the table holds
 * HEAPPROF_MAX_STACKS stacks, new stacks are charged to one overflow stack
 * whose single frame is hp_stacktab_overflow_frame, so the loss shows in
 * every profile under that name.  Changes are made under hp_g.lock;
 * hp_stacktab_lookup reads the bucket index without it (see bucket_gen),
 * straight from the stack's hash; the stack index is read only under the
 * lock, to intern a new stack.  Memory comes from ialloc.
 *
 * Both indexes are open addressing, so a lookup is about one cache line,
 * not a chain of separately allocated nodes:
 *  - stacks: (64-bit hash of the frames, stack); the frames are compared
 *    only when the hash matches.  This replaced uthash, whose chains of
 *    several nodes per bucket were 5 % of gcc's cc1 at rate 1 (perf);
 *  - buckets: (stack, size) -> bucket id, many of them (one per object
 *    size per stack: 65 000 on the deep benchmark), so a slot holds the
 *    key itself (tag, size, stack) beside the id, and a sample reads no
 *    bucket to find its own; uthash chains were 15 % of a rate-1 sample
 *    there.
 */
#include "hp.h"

#include <string.h>

/* One slot of the stack index; s NULL = empty.  Filled once, never
 * changed: hash is written before s is published. */
struct stack_slot {
	uint64_t hash;
	struct hp_stack *s;
};

/* One generation of the stack index.  It is read only under hp_g.lock (a
 * sample finds its bucket straight from the stack's hash), so an outgrown
 * one is freed at once; the bucket index's generations, read without the
 * lock, are not (bucket_gen). */
struct stack_gen {
	unsigned bits;
	struct stack_slot s[];
};

/* Buckets live in chunks of 256 (4 KiB), so an id finds its bucket with
 * one load from a small, hot table instead of from a pointer per bucket
 * (a cache miss of its own on every sample and every sampled free, perf
 * on churn at rate 1).  Each shard's counters are chunked the same way.
 * Id 0 is never used. */
#define CHUNK_BITS 8
#define CHUNK_MASK ((1u << CHUNK_BITS) - 1)

/* One slot of the bucket index, filled once: key = tag << 48 | size
 * field << 32 | bucket id (0 = empty), published after stack.  The tag is
 * 16 bits of the key's hash, the size field the object size itself below
 * SIZE_ESC; so a slot whose tag and size match is the sample's bucket when
 * its stack holds the sample's frames, and a sample reads no bucket to
 * know: with the tag alone (32 bits, the slot one word) the bucket's load
 * was a cache miss of its own, 36 % of hp_stacktab_lookup and 5 % of the
 * whole run on churn at rate 1 (perf, session 15).  Larger sizes are
 * confirmed in the bucket. */
struct bslot {
	uint64_t key;
	const struct hp_stack *stack;
};
#define SIZE_ESC 0xffffu

/* The bucket index.  A generation is published with one pointer store, so
 * a reader without the lock (hp_stacktab_lookup) sees bits and slots that
 * belong together.  A grown index leaves the old generation mapped
 * (readers may still be in it) but gives its slot pages back (gen_retire):
 * a word there reads whole or as zero, and a zero key or stack is a miss,
 * after which the reader takes the lock and finds the entry in the current
 * generation; the header stays, so bits matches the slots.  16 bytes a
 * slot at up to 3/4 full; the first generation has 4096 (64 KiB of
 * address space, touched as slots are filled), so that the loop
 * benchmark's 3 000 buckets fit without a growth, whose retired
 * generation would stay (gen_retire) and add to the peak. */
struct bucket_gen {
	unsigned bits;
	struct bslot s[];
};

static struct {
	struct stack_gen *sindex;       /* at most half full; under hp_g.lock */
	struct bucket_gen *index;       /* at most 3/4 full; read with __atomic */
	struct hp_bucket **chunks;      /* id -> chunks[id >> CHUNK_BITS][id & CHUNK_MASK]; read with __atomic */
	uint32_t nbuckets, nchunks, chunks_cap;
	/* shard -> chunk -> counts, NULL until the shard counts there; each
	 * shard's under its own lock */
	struct hp_count **counts[HP_NSHARDS];
	uint32_t counts_cap[HP_NSHARDS];
	uint32_t nstacks;
	struct hp_stack *overflow;
} st;

/* pcs[0..n) against a stored stack's frames.  A short stack by a word
 * loop: through the PLT, memcmp made the lock-free lookup save and restore
 * six registers around it, 16 instructions a sample more on the loop
 * benchmark's 5 frames (callgrind).  A long one by memcmp, whose vector
 * compare is 80 instructions fewer at 30 frames. */
static inline int same_frames(const struct hp_stack *sk, const uintptr_t *pcs, int n)
{
	if (sk->depth != (uint32_t)n)
		return 0;
	if (n > 8)
		return !memcmp(sk->pcs, pcs, (size_t)n * sizeof *pcs);
	for (int i = 0; i < n; i++)
		if (sk->pcs[i] != pcs[i])
			return 0;
	return 1;
}

static inline uint64_t mix_word(uint64_t h, const unsigned char *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	h = (h ^ w) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 32);
}

/* Four independent lanes, so the multiplies of a 30-frame stack overlap
 * instead of forming one 30-long dependency chain.  Not vectorized: SSE has
 * no 64-bit multiply, and gcc's emulation was slower than scalar code. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-vectorize")))
#endif
uint64_t hp_stacktab_hash(const uintptr_t *pcs, int n)
{
	const unsigned char *p = (const unsigned char *)pcs;
	const size_t len = (size_t)n * sizeof *pcs;
	uint64_t a = 0x9e3779b97f4a7c15ull ^ len, b = 0xc2b2ae3d27d4eb4full;
	uint64_t c = 0x165667b19e3779f9ull, d = 0x27d4eb2f165667c5ull;
	size_t i = 0;
	for (; i + 32 <= len; i += 32) {
		a = mix_word(a, p + i);
		b = mix_word(b, p + i + 8);
		c = mix_word(c, p + i + 16);
		d = mix_word(d, p + i + 24);
	}
	if (i + 8 <= len)
		a = mix_word(a, p + (i += 8) - 8);
	if (i + 8 <= len)
		b = mix_word(b, p + (i += 8) - 8);
	if (i + 8 <= len)
		c = mix_word(c, p + (i += 8) - 8);
	for (; i < len; i++)
		d = (d ^ p[i]) * 0x100000001b3ull;
	uint64_t r = mix_word(a, (const unsigned char *)&b);
	r = mix_word(r, (const unsigned char *)&c);
	r = mix_word(r, (const unsigned char *)&d);
	return r ^ (r >> 29);
}

void hp_stacktab_overflow_frame(void)
{
	/* Never called: its address names the overflow bucket's only frame. */
	__asm__ volatile("");
}

static struct hp_stack *make_stack(const uintptr_t *pcs, int n, uint64_t hash)
{
	struct hp_stack *sk = hp_ialloc(sizeof *sk + (size_t)n * sizeof(uintptr_t));
	if (!sk)
		return NULL;
	sk->depth = (uint32_t)n;
	sk->hash = hash;
	sk->id = ++st.nstacks;
	memcpy(sk->pcs, pcs, (size_t)n * sizeof(uintptr_t));
	return sk;
}

/* The slot holding the stack (hash, pcs, n), or the empty slot where it
 * belongs; *sk is the stack found there, NULL for the empty slot.  Under
 * hp_g.lock. */
static struct stack_slot *sindex_find(struct stack_gen *g, uint64_t hash, const uintptr_t *pcs, int n,
				      struct hp_stack **sk)
{
	uint64_t mask = ((uint64_t)1 << g->bits) - 1;
	for (uint64_t i = hash >> (64 - g->bits);; i = (i + 1) & mask) {
		struct stack_slot *sl = &g->s[i];
		*sk = __atomic_load_n(&sl->s, __ATOMIC_ACQUIRE);
		if (!*sk || (sl->hash == hash && same_frames(*sk, pcs, n)))
			return sl;
	}
}

static void slot_fill(struct stack_slot *sl, uint64_t hash, struct hp_stack *sk)
{
	sl->hash = hash;
	__atomic_store_n(&sl->s, sk, __ATOMIC_RELEASE);
}

/* An outgrown generation of hdr + slots bytes: its slot pages go back
 * (see bucket_gen).  Not below 64 KiB, where the saving is small and the
 * madvise's TLB shootdown, which interrupts every CPU the program runs
 * on, is not. */
static void gen_retire(void *g, size_t hdr, size_t slots)
{
	if (slots >= (64u << 10))
		hp_ialloc_drop(g, hdr + slots, hdr);
}

/* Makes room for one more stack: the index doubles at half full. */
static int sindex_reserve(void)
{
	struct stack_gen *old = st.sindex;
	if (old && (uint64_t)(st.nstacks + 1) * 2 <= ((uint64_t)1 << old->bits))
		return 0;
	unsigned bits = old ? old->bits + 1 : 10;
	struct stack_gen *g = hp_ialloc(sizeof *g + (sizeof g->s[0] << bits));
	if (!g)
		return -1;
	g->bits = bits;
	uint64_t mask = ((uint64_t)1 << bits) - 1;
	for (uint64_t i = 0; old && i < ((uint64_t)1 << old->bits); i++) {
		if (!old->s[i].s)
			continue;
		uint64_t j = old->s[i].hash >> (64 - bits);
		while (g->s[j].s)               /* stacks are distinct: the first empty slot */
			j = (j + 1) & mask;
		slot_fill(&g->s[j], old->s[i].hash, old->s[i].s);
	}
	st.sindex = g;
	if (old)
		hp_ifree(old, sizeof *old + (sizeof old->s[0] << old->bits));
	return 0;
}

static struct hp_stack *intern_stack(const uintptr_t *pcs, int n, uint64_t h, int *new_stack)
{
	struct stack_slot *sl = NULL;
	struct hp_stack *sk;
	if (st.sindex) {
		sl = sindex_find(st.sindex, h, pcs, n, &sk);
		if (sk)
			return sk;
	}
	if (st.nstacks >= hp_cfg.max_stacks) {
		if (!st.overflow) {
			/* +1: profile addresses are return addresses minus one */
			uintptr_t pc = (uintptr_t)hp_stacktab_overflow_frame + 1;
			st.overflow = make_stack(&pc, 1, hp_stacktab_hash(&pc, 1));
		}
		__atomic_fetch_add(&hp_g.overflowed, 1, __ATOMIC_RELAXED);
		return st.overflow;
	}
	if (!sl || (uint64_t)(st.nstacks + 1) * 2 > ((uint64_t)1 << st.sindex->bits)) {
		if (sindex_reserve() != 0)
			return NULL;
		sl = sindex_find(st.sindex, h, pcs, n, &sk);
	}
	sk = make_stack(pcs, n, h);
	if (!sk)
		return NULL;
	*new_stack = 1;
	slot_fill(sl, h, sk);
	return sk;
}

/* Keyed by the stack's hash, not its id, so that a sample finds its bucket
 * from the frames it holds: index slot, bucket, stack, three loads in a
 * chain, where going through the stack index first made four (perf on
 * churn at rate 1, where each is a cache miss; docs/performance.md,
 * session 10).  Top bits: the home slot; low 32: the tag. */
static inline uint64_t bucket_hash(uint64_t stack_hash, uint64_t size)
{
	uint64_t h = stack_hash ^ size * 0x9e3779b97f4a7c15ull;
	h = (h ^ (h >> 31)) * 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
}

/* The key of a slot for (hash, size) with bucket id, and the mask that
 * leaves its tag and size field. */
#define KEY_MATCH (~(uint64_t)UINT32_MAX)
static inline uint64_t slot_key(uint64_t h, uint64_t size, uint32_t id)
{
	return (h & 0xffff) << 48 | (uint64_t)(size < SIZE_ESC ? size : SIZE_ESC) << 32 | id;
}

/* At most 3/4 full: buckets are looked up far more often than added, and
 * a hit probes about 2.5 slots at that load, mostly in one cache line. */
static int index_full(const struct bucket_gen *g, uint32_t n)
{
	return (uint64_t)n * 4 > ((uint64_t)3 << g->bits);
}

/* The slot holding (sk, size), or the empty slot where it belongs; *id is
 * the bucket id found there, 0 for the empty slot.  Under hp_g.lock; the
 * reader without it, hp_stacktab_lookup, probes the same slots, and
 * compares frames where this compares the interned stack. */
static struct bslot *index_find(struct bucket_gen *g, const struct hp_stack *sk, uint64_t size, uint32_t *id)
{
	uint64_t h = bucket_hash(sk->hash, size), mask = ((uint64_t)1 << g->bits) - 1, want = slot_key(h, size, 0);
	for (uint64_t i = h >> (64 - g->bits);; i = (i + 1) & mask) {
		uint64_t w = __atomic_load_n(&g->s[i].key, __ATOMIC_ACQUIRE);
		*id = (uint32_t)w;
		if (!*id)
			return &g->s[i];
		if ((w & KEY_MATCH) == want && g->s[i].stack == sk &&
		    (size < SIZE_ESC || hp_stacktab_get(*id)->size == size))
			return &g->s[i];
	}
}

static void bslot_fill(struct bslot *sl, const struct hp_bucket *b, uint32_t id)
{
	__atomic_store_n(&sl->stack, b->stack, __ATOMIC_RELAXED);
	__atomic_store_n(&sl->key, slot_key(bucket_hash(b->stack->hash, b->size), b->size, id), __ATOMIC_RELEASE);
}

/* Makes room for one more bucket: the index doubles at 3/4 full. */
static int index_reserve(void)
{
	struct bucket_gen *old = st.index;
	if (old && !index_full(old, st.nbuckets + 1))
		return 0;
	unsigned bits = old ? old->bits + 1 : 12;
	struct bucket_gen *g = hp_ialloc(sizeof *g + (sizeof g->s[0] << bits));
	if (!g)
		return -1;
	g->bits = bits;
	for (uint32_t id = 1, seen; id <= st.nbuckets; id++) {
		const struct hp_bucket *b = hp_stacktab_get(id);
		bslot_fill(index_find(g, b->stack, b->size, &seen), b, id);
	}
	__atomic_store_n(&st.index, g, __ATOMIC_RELEASE);
	if (old)
		gen_retire(old, sizeof *old, sizeof old->s[0] << old->bits);
	return 0;
}

/* One more chunk of buckets (zeroed), growing the chunk table by doubling.
 * An outgrown table stays mapped: a sampled free reads its bucket's size
 * (HEAPPROF_PEAK) without hp_g.lock.  Together they are smaller than the
 * current one. */
static int chunk_add(void)
{
	if (st.nchunks == st.chunks_cap) {
		uint32_t ncap = st.chunks_cap ? st.chunks_cap * 2 : 64;
		struct hp_bucket **nc = hp_ialloc((size_t)ncap * sizeof *nc);
		if (!nc)
			return -1;
		if (st.chunks)
			memcpy(nc, st.chunks, (size_t)st.chunks_cap * sizeof *nc);
		__atomic_store_n(&st.chunks, nc, __ATOMIC_RELEASE);
		st.chunks_cap = ncap;
	}
	struct hp_bucket *c = hp_ialloc(sizeof *c << CHUNK_BITS);
	if (!c)
		return -1;
	st.chunks[st.nchunks++] = c;
	return 0;
}

uint32_t hp_stacktab_bucket_locked(const uintptr_t *pcs, int n, uint64_t hash, uint64_t size, int *new_stack)
{
	*new_stack = 0;
	struct hp_stack *sk = intern_stack(pcs, n, hash, new_stack);
	if (!sk)
		return 0;
	uint32_t id;
	if (st.index) {
		index_find(st.index, sk, size, &id);
		if (id)
			return id;
	}
	if (index_reserve() != 0)
		return 0;
	id = st.nbuckets + 1;
	if ((id >> CHUNK_BITS) >= st.nchunks && chunk_add() != 0)
		return 0;
	struct hp_bucket *b = hp_stacktab_get(id);
	b->stack = sk;
	b->size = size;
	st.nbuckets = id;
	uint32_t seen;
	bslot_fill(index_find(st.index, sk, size, &seen), b, id);
	return id;
}

uint32_t hp_stacktab_lookup(const uintptr_t *pcs, int n, uint64_t hash, uint64_t size)
{
	struct bucket_gen *g = __atomic_load_n(&st.index, __ATOMIC_ACQUIRE);
	if (!g)
		return 0;
	uint64_t h = bucket_hash(hash, size), mask = ((uint64_t)1 << g->bits) - 1, want = slot_key(h, size, 0);
	for (uint64_t i = h >> (64 - g->bits);; i = (i + 1) & mask) {
		uint64_t w = __atomic_load_n(&g->s[i].key, __ATOMIC_ACQUIRE);
		uint32_t id = (uint32_t)w;
		if (!id)
			return 0;
		if ((w & KEY_MATCH) == want) {
			const struct hp_stack *sk = __atomic_load_n(&g->s[i].stack, __ATOMIC_RELAXED);
			if (!sk)
				return 0;       /* a retired generation's page, given back: ask under the lock */
			if (sk->hash == hash && same_frames(sk, pcs, n) &&
			    (size < SIZE_ESC || hp_stacktab_get(id)->size == size))
				return id;
		}
	}
}

/* The slot is a random line of the index, cold when samples are far
 * apart (about 100 ns on the loop benchmark, perf, session 16); the draw
 * and the stack walk before the lookup hide part of that (half, on the
 * loop's short stacks) when the sample comes from the same stack as this
 * thread's last one from the same call site. */
void hp_stacktab_prefetch(uint64_t hash, uint64_t size)
{
	struct bucket_gen *g = __atomic_load_n(&st.index, __ATOMIC_ACQUIRE);
	if (g)
		__builtin_prefetch(&g->s[bucket_hash(hash, size) >> (64 - g->bits)]);
}

struct hp_bucket *hp_stacktab_get(uint32_t id)
{
	return &__atomic_load_n(&st.chunks, __ATOMIC_ACQUIRE)[id >> CHUNK_BITS][id & CHUNK_MASK];
}

/* Shard sh's first count in chunk c: grows its chunk table, makes the
 * chunk.  Apart from hp_stacktab_count_locked so that the every-sample
 * path there saves no registers (callgrind: 32 instructions a call, 20 of
 * them the prologue and epilogue this needs). */
static HP_COLD struct hp_count *count_chunk_add(unsigned sh, uint32_t c)
{
	if (c >= st.counts_cap[sh]) {
		uint32_t ncap = st.counts_cap[sh] ? st.counts_cap[sh] * 2 : 64;
		while (ncap <= c)
			ncap *= 2;
		struct hp_count **nc = hp_ialloc((size_t)ncap * sizeof *nc);
		if (!nc)
			return NULL;
		/* The old table stays (hp_stacktab_count_prefetch may be reading
		 * it); all of them together are smaller than the new one.  The
		 * table is published before its capacity, so a reader that sees
		 * a capacity sees a table at least that large. */
		if (st.counts[sh])
			memcpy(nc, st.counts[sh], (size_t)st.counts_cap[sh] * sizeof *nc);
		__atomic_store_n(&st.counts[sh], nc, __ATOMIC_RELEASE);
		__atomic_store_n(&st.counts_cap[sh], ncap, __ATOMIC_RELEASE);
	}
	if (!st.counts[sh][c]) {
		struct hp_count *chunk = hp_ialloc(sizeof(struct hp_count) << CHUNK_BITS);
		if (!chunk)
			return NULL;
		__atomic_store_n(&st.counts[sh][c], chunk, __ATOMIC_RELEASE);
	}
	return st.counts[sh][c];
}

/* Bucket id's counter in shard sh if the shard has made it, else NULL.
 * Safe without the shard's lock too (hp_stacktab_count_prefetch): chunks
 * and tables are never freed, a table is published before its capacity,
 * and a chunk not there yet reads as NULL.  Inlined: as a call it put 5
 * instructions on every rate-1 sample (callgrind). */
static inline __attribute__((always_inline)) struct hp_count *count_find(unsigned sh, uint32_t id)
{
	uint32_t c = id >> CHUNK_BITS;
	if (c >= __atomic_load_n(&st.counts_cap[sh], __ATOMIC_ACQUIRE))
		return NULL;
	struct hp_count **tab = __atomic_load_n(&st.counts[sh], __ATOMIC_ACQUIRE);
	struct hp_count *chunk = __atomic_load_n(&tab[c], __ATOMIC_ACQUIRE);
	return chunk ? &chunk[id & CHUNK_MASK] : NULL;
}

/* The counter is a random line (one per bucket and shard), cold when
 * samples are far apart: after the index slot, the other cache miss of
 * a sample (perf, session 16).  Without the lock, so the load overlaps
 * taking it and the live-table insert. */
void hp_stacktab_count_prefetch(unsigned sh, uint32_t id)
{
	struct hp_count *c = count_find(sh, id);
	if (c)
		__builtin_prefetch(c, 1);
}

struct hp_count *hp_stacktab_count_locked(unsigned sh, uint32_t id)
{
	uint32_t c = id >> CHUNK_BITS;
	struct hp_count *chunk;
	if (HP_UNLIKELY(c >= st.counts_cap[sh] || !(chunk = st.counts[sh][c])) &&
	    !(chunk = count_chunk_add(sh, c)))
		return NULL;
	return &chunk[id & CHUNK_MASK];
}

uint32_t hp_stacktab_count_ids_locked(unsigned sh)
{
	uint64_t n = (uint64_t)st.counts_cap[sh] << CHUNK_BITS;
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

const struct hp_count *hp_stacktab_count_peek_locked(unsigned sh, uint32_t id)
{
	return count_find(sh, id);
}

uint32_t hp_stacktab_nbuckets(void)
{
	return st.nbuckets;
}

uint32_t hp_stacktab_nstacks(void)
{
	return st.nstacks;
}
