/*
 * test_stacktab_gens.c - what a lock-free reader finds in an index
 * generation that a growth has given back (stacktab.c, stack_gen): its slot
 * pages read as zeros, maybe only some of them, maybe between the reader's
 * loads of one slot (a stack slot is two words).  Every such read must be
 * a miss (the caller then takes the lock), never a wrong bucket or stack,
 * and the probe must end.
 * White-box: includes stacktab.c to reach its static probes.
 * Links: ialloc.o config.o
 */
#include "check.h"

#include <stdlib.h>
#include "../../libheapprof/stacktab.c"

struct hp_global hp_g = { .lock = HP_LOCK_INIT };

enum { N = 6000 };      /* buckets: the index ends at 8192 slots of 8 bytes, 64 KiB, so pages are given back */

/* Whether gen_retire keeps the page(s) of a slot at [sl, sl + len) in a
 * generation g of hdr + slots bytes: the header's page, and a last page
 * the slots end inside (hp_ialloc_drop gives back whole pages only). */
static int kept(const void *g, size_t hdr, size_t slots, const void *sl, size_t len)
{
	uintptr_t lo = ((uintptr_t)g + hdr + 4095) & ~(uintptr_t)4095;
	uintptr_t hi = ((uintptr_t)g + hdr + slots) & ~(uintptr_t)4095;
	return (uintptr_t)sl + len <= lo || (uintptr_t)sl >= hi;
}

static uint32_t bucket(uintptr_t site, uint64_t size)
{
	uintptr_t pcs[2] = { site, 0x42 };
	int new_stack;
	return hp_stacktab_bucket_locked(pcs, 2, hp_stacktab_hash(pcs, 2), size, &new_stack);
}

int main(void)
{
	/* A slot whose tag matches but whose bucket is another: (site 7,
	 * size 100) sitting at the home slot of (site 7, size 0) with the
	 * latter's tag, as a 32-bit tag collision would put it. */
	uint32_t b100 = bucket(7, 100);
	const struct hp_stack *sk = hp_stacktab_get(b100)->stack;
	struct bucket_gen *g = hp_ialloc(sizeof *g + (sizeof g->s[0] << 10));
	if (!g)
		abort();        /* 8 KiB: the machine is out of memory */
	g->bits = 10;
	uint32_t id;
	uint64_t *home0 = index_find(g, sk, 0, &id);
	*home0 = (uint64_t)(uint32_t)bucket_hash(sk->hash, 0) << 32 | b100;
	uint64_t *past = index_find(g, sk, 0, &id);
	CHECK(id == 0 && past != home0, "a slot with the key's tag but another bucket is no match (got bucket %u)", id);
	uint32_t b0 = bucket(7, 0);
	bslot_fill(past, hp_stacktab_get(b0), b0);
	index_find(g, sk, 0, &id);
	CHECK(id == b0, "the key's own bucket, put past it, is found (bucket %u, want %u)", id, b0);

	/* N buckets made the ordinary way, then their generation given back,
	 * as gen_retire does when the index grows. */
	uint32_t ids[N + 1];
	for (uint32_t i = 1; i <= N; i++)
		ids[i] = bucket(0x1000 + i % 13, 16 * i);
	g = st.index;
	int found = 1;
	long on_kept_page = 0;
	for (uint32_t i = 1; i <= N; i++) {
		const struct hp_bucket *b = hp_stacktab_get(ids[i]);
		uint64_t *sl = index_find(g, b->stack, 16 * i, &id);
		found &= id == ids[i] && b->size == 16 * i;
		/* found later only if every slot its probe passes is kept */
		uint64_t mask = ((uint64_t)1 << g->bits) - 1, j = bucket_hash(b->stack->hash, 16 * i) >> (64 - g->bits);
		int whole = 1;
		for (;; j = (j + 1) & mask) {
			whole &= kept(g, sizeof *g, sizeof g->s[0] << g->bits, &g->s[j], sizeof g->s[j]);
			if (&g->s[j] == sl)
				break;
		}
		on_kept_page += whole;
	}
	CHECK(found && g->bits == 13, "before: %d buckets found in a generation of %u slots", N, 1u << g->bits);
	gen_retire(g, sizeof *g, sizeof g->s[0] << g->bits);
	long wrong = 0, hits = 0;
	for (uint32_t i = 1; i <= N; i++) {
		const struct hp_bucket *b = hp_stacktab_get(ids[i]);
		index_find(g, b->stack, 16 * i, &id);
		hits += id != 0;
		wrong += id != 0 && id != ids[i];
		index_find(g, b->stack, 0, &id);
		wrong += id != 0;
	}
	CHECK(g->bits == 13 && wrong == 0, "after it is given back: bits intact, no wrong bucket (%ld wrong)", wrong);
	CHECK(hits == on_kept_page, "and miss, but for the %ld whose probe lies on the kept first and last pages (%ld of %d found)",
	      on_kept_page, hits, N);

	/* The stack index the same way: frames are compared against the stack
	 * itself, which is never given back. */
	enum { BITS = 14 };     /* 16384 slots of 16 bytes: 256 KiB */
	struct stack_gen *sg = hp_ialloc(sizeof *sg + (sizeof sg->s[0] << BITS));
	if (!sg)
		abort();
	sg->bits = BITS;
	static struct hp_stack *sks[N];
	on_kept_page = 0;
	for (int i = 0; i < N; i++) {
		uintptr_t pcs[2] = { 0x1000 + 16 * (uintptr_t)i, 0x42 };
		struct hp_stack *sk;
		sks[i] = make_stack(pcs, 2, hp_stacktab_hash(pcs, 2));
		struct stack_slot *sl = sindex_find(sg, hp_stacktab_hash(pcs, 2), pcs, 2, &sk);
		slot_fill(sl, hp_stacktab_hash(pcs, 2), sks[i]);
		on_kept_page += kept(sg, sizeof *sg, sizeof sg->s[0] << sg->bits, sl, sizeof *sl);
	}
	gen_retire(sg, sizeof *sg, sizeof sg->s[0] << sg->bits);
	wrong = hits = 0;
	for (int i = 0; i < N; i++) {
		uintptr_t pcs[2] = { 0x1000 + 16 * (uintptr_t)i, 0x42 };
		struct hp_stack *sk;
		sindex_find(sg, hp_stacktab_hash(pcs, 2), pcs, 2, &sk);
		hits += sk != NULL;
		wrong += sk && sk != sks[i];
	}
	CHECK(wrong == 0 && hits == on_kept_page,
	      "a given-back stack index gives misses (but for the kept pages' %ld), never a wrong stack", on_kept_page);
	return check_done();
}
