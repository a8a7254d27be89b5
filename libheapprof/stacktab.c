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
 * comes from ialloc through uthash's allocator hooks.
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

struct bucket_key {
	uint32_t stack_id;
	uint32_t pad;
	uint64_t size;
};

struct bucket_node {
	UT_hash_handle hh;
	struct bucket_key key;
	uint32_t id;
	struct hp_bucket b;
};

static struct {
	struct stack_node *stacks;      /* uthash head */
	struct bucket_node *buckets;    /* uthash head */
	struct bucket_node **by_id;     /* id -> node; index 0 unused */
	uint32_t nbuckets, cap;
	uint32_t nstacks;
	struct stack_node *overflow;
	int oom;
} st;

static uint64_t hp_stacktab_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
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

uint32_t hp_stacktab_bucket_locked(const uintptr_t *pcs, int n, uint64_t size, int *new_stack)
{
	*new_stack = 0;
	struct stack_node *sn = intern_stack(pcs, n, new_stack);
	if (!sn)
		return 0;
	struct bucket_key k = { .stack_id = sn->s.id, .size = size };
	struct bucket_node *bn;
	HASH_FIND(hh, st.buckets, &k, sizeof k, bn);
	if (bn)
		return bn->id;
	if (st.nbuckets + 1 >= st.cap) {
		uint32_t ncap = st.cap ? st.cap * 2 : 1024;
		struct bucket_node **nb = hp_ialloc((size_t)ncap * sizeof *nb);
		if (!nb)
			return 0;
		if (st.by_id) {
			memcpy(nb, st.by_id, (size_t)st.cap * sizeof *nb);
			hp_ifree(st.by_id, (size_t)st.cap * sizeof *nb);
		}
		st.by_id = nb;
		st.cap = ncap;
	}
	bn = hp_ialloc(sizeof *bn);
	if (!bn)
		return 0;
	bn->key = k;
	bn->b.stack = &sn->s;
	bn->b.size = size;
	st.oom = 0;
	HASH_ADD(hh, st.buckets, key, sizeof k, bn);
	if (st.oom) {
		hp_ifree(bn, sizeof *bn);
		return 0;
	}
	bn->id = ++st.nbuckets;
	st.by_id[bn->id] = bn;
	return bn->id;
}

struct hp_bucket *hp_stacktab_get(uint32_t id)
{
	return &st.by_id[id]->b;
}

uint32_t hp_stacktab_nbuckets(void)
{
	return st.nbuckets;
}

uint32_t hp_stacktab_nstacks(void)
{
	return st.nstacks;
}
