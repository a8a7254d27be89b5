/*
 * stacktab.c - interned call stacks and the (stack, size) buckets that
 * count samples, as Go's runtime keys its memory records.
 *
 * Keying buckets by object size as well as stack keeps the unbiasing exact:
 * every sample in a bucket has the same size, so one weight
 * 1/(1-exp(-size/R)) applies to the whole bucket (sampling.md section 6).
 *
 * Stacks and buckets are never freed: live-table entries and dumps refer to
 * them by id/pointer without holding the lock.  When the table holds
 * HEAPPROF_MAX_STACKS stacks, new stacks are charged to one overflow stack
 * whose single frame is hp_stacktab_overflow_frame, so the loss shows in
 * every profile under that name.  Everything is under hp_g.lock; memory
 * comes from ialloc (through uthash's allocator hooks for the stacks).
 *
 * Stacks are few and long: uthash, keyed by the frames.  Buckets are many
 * (one per object size per stack: 65 000 on the deep benchmark) and their
 * keys are 12 bytes, so they live in an open-addressing index that holds
 * the key inline: one cache line per lookup instead of a uthash chain of
 * separately allocated nodes, which was 15 % of a rate-1 sample.
 */
#include "hp.h"

#include <string.h>

#define uthash_malloc(sz) hp_ialloc(sz)
#define uthash_free(p, sz) hp_ifree((p), (sz))
#define uthash_nonfatal_oom(obj) (st.oom = 1)
/* Keys are arrays of return addresses: mix them a word at a time, much
 * cheaper than uthash's byte-wise default on 30-frame stacks. */
#define HASH_FUNCTION(keyptr, keylen, hashv) ((hashv) = (unsigned)hp_stacktab_hash((keyptr), (keylen)))
#include <uthash.h>

struct stack_node {
	UT_hash_handle hh;
	struct hp_stack s;      /* flexible: must stay last */
};

/* Buckets live in chunks of 256 (10 KiB), so an id finds its bucket with
 * one load from a small, hot table instead of from a pointer per bucket
 * (a cache miss of its own on every sample and every sampled free, perf
 * on churn at rate 1).  Id 0 is never used. */
#define CHUNK_BITS 8
#define CHUNK_MASK ((1u << CHUNK_BITS) - 1)

/* One slot of the bucket index; id 0 = empty. */
struct bucket_slot {
	uint64_t size;
	uint32_t stack_id;
	uint32_t id;
};

static struct {
	struct stack_node *stacks;      /* uthash head */
	struct bucket_slot *index;      /* 2^index_bits slots, at most half full */
	unsigned index_bits;
	struct hp_bucket **chunks;      /* id -> chunks[id >> CHUNK_BITS][id & CHUNK_MASK] */
	uint32_t nbuckets, nchunks, chunks_cap;
	uint32_t nstacks;
	struct stack_node *overflow;
	int oom;
} st;

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
__attribute__((optimize("no-tree-vectorize")))
static uint64_t hp_stacktab_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
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

static struct stack_node *make_stack(const uintptr_t *pcs, int n)
{
	size_t len = sizeof(struct stack_node) + (size_t)n * sizeof(uintptr_t);
	struct stack_node *sn = hp_ialloc(len);
	if (!sn)
		return NULL;
	sn->s.depth = (uint32_t)n;
	sn->s.id = ++st.nstacks;
	memcpy(sn->s.pcs, pcs, (size_t)n * sizeof(uintptr_t));
	return sn;
}

static struct stack_node *intern_stack(const uintptr_t *pcs, int n, int *new_stack)
{
	struct stack_node *sn;
	size_t klen = (size_t)n * sizeof(uintptr_t);
	HASH_FIND(hh, st.stacks, pcs, klen, sn);
	if (sn)
		return sn;
	if (st.nstacks >= hp_cfg.max_stacks) {
		if (!st.overflow) {
			/* +1: profile addresses are return addresses minus one */
			uintptr_t pc = (uintptr_t)hp_stacktab_overflow_frame + 1;
			st.overflow = make_stack(&pc, 1);
		}
		__atomic_fetch_add(&hp_g.overflowed, 1, __ATOMIC_RELAXED);
		return st.overflow;
	}
	sn = make_stack(pcs, n);
	if (!sn)
		return NULL;
	*new_stack = 1;
	st.oom = 0;
	HASH_ADD_KEYPTR(hh, st.stacks, sn->s.pcs, klen, sn);
	if (st.oom) {
		st.nstacks--;
		hp_ifree(sn, sizeof *sn + klen);
		return NULL;
	}
	return sn;
}

static inline uint64_t bucket_hash(uint32_t stack_id, uint64_t size)
{
	uint64_t h = (size ^ ((uint64_t)stack_id << 40 | stack_id)) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 31);
}

/* The slot holding (stack_id, size), or the empty slot where it belongs. */
static struct bucket_slot *index_find(struct bucket_slot *ix, unsigned bits, uint32_t stack_id, uint64_t size)
{
	uint64_t mask = ((uint64_t)1 << bits) - 1;
	for (uint64_t i = bucket_hash(stack_id, size) >> (64 - bits);; i = (i + 1) & mask) {
		struct bucket_slot *sl = &ix[i];
		if (sl->id == 0 || (sl->stack_id == stack_id && sl->size == size))
			return sl;
	}
}

/* Makes room for one more bucket: the index doubles at half full. */
static int index_reserve(void)
{
	if (st.index && (uint64_t)(st.nbuckets + 1) * 2 <= ((uint64_t)1 << st.index_bits))
		return 0;
	unsigned bits = st.index ? st.index_bits + 1 : 12;
	struct bucket_slot *ix = hp_ialloc(sizeof *ix << bits);
	if (!ix)
		return -1;
	for (uint32_t id = 1; id <= st.nbuckets; id++) {
		const struct hp_bucket *b = hp_stacktab_get(id);
		struct bucket_slot *sl = index_find(ix, bits, b->stack->id, b->size);
		sl->stack_id = b->stack->id;
		sl->size = b->size;
		sl->id = id;
	}
	if (st.index)
		hp_ifree(st.index, sizeof *st.index << st.index_bits);
	st.index = ix;
	st.index_bits = bits;
	return 0;
}

/* One more chunk of buckets (zeroed), growing the chunk table by doubling. */
static int chunk_add(void)
{
	if (st.nchunks == st.chunks_cap) {
		uint32_t ncap = st.chunks_cap ? st.chunks_cap * 2 : 64;
		struct hp_bucket **nc = hp_ialloc((size_t)ncap * sizeof *nc);
		if (!nc)
			return -1;
		if (st.chunks) {
			memcpy(nc, st.chunks, (size_t)st.chunks_cap * sizeof *nc);
			hp_ifree(st.chunks, (size_t)st.chunks_cap * sizeof *nc);
		}
		st.chunks = nc;
		st.chunks_cap = ncap;
	}
	struct hp_bucket *c = hp_ialloc(sizeof *c << CHUNK_BITS);
	if (!c)
		return -1;
	st.chunks[st.nchunks++] = c;
	return 0;
}

uint32_t hp_stacktab_bucket_locked(const uintptr_t *pcs, int n, uint64_t size, int *new_stack)
{
	*new_stack = 0;
	struct stack_node *sn = intern_stack(pcs, n, new_stack);
	if (!sn)
		return 0;
	if (st.index) {
		struct bucket_slot *sl = index_find(st.index, st.index_bits, sn->s.id, size);
		if (sl->id)
			return sl->id;
	}
	if (index_reserve() != 0)
		return 0;
	uint32_t id = st.nbuckets + 1;
	if ((id >> CHUNK_BITS) >= st.nchunks && chunk_add() != 0)
		return 0;
	struct hp_bucket *b = hp_stacktab_get(id);
	b->stack = &sn->s;
	b->size = size;
	b->est_bytes = hp_sampler_weight(size, hp_cfg.rate) * (double)size;
	struct bucket_slot *sl = index_find(st.index, st.index_bits, sn->s.id, size);
	sl->stack_id = sn->s.id;
	sl->size = size;
	sl->id = st.nbuckets = id;
	return id;
}

struct hp_bucket *hp_stacktab_get(uint32_t id)
{
	return &st.chunks[id >> CHUNK_BITS][id & CHUNK_MASK];
}

uint32_t hp_stacktab_nbuckets(void)
{
	return st.nbuckets;
}

uint32_t hp_stacktab_nstacks(void)
{
	return st.nstacks;
}
