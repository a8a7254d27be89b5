/*
 * test_stacktab_gens.c - what a lock-free reader finds in an index
 * generation that a growth has given back (stacktab.c, stack_gen): its slot
 * pages read as zeros, maybe only some of them, maybe between the reader's
 * loads of one slot.  Every such read must be a miss (the caller then takes
 * the lock), never a wrong bucket or stack, and the probe must end.
 * White-box: includes stacktab.c to reach its static probes.
 * Links: ialloc.o config.o
 */
#include "check.h"

#include <stdlib.h>
#include "../../libheapprof/stacktab.c"

struct hp_global hp_g = { .lock = HP_LOCK_INIT };

enum { BITS = 14, N = 6000 };   /* 16384 slots of 16 bytes: 256 KiB, so pages are given back */

static struct bucket_gen *new_gen(void)
{
	struct bucket_gen *g = hp_ialloc(sizeof *g + (sizeof g->s[0] << BITS));
	if (!g)
		abort();        /* 256 KiB: the machine is out of memory */
	g->bits = BITS;
	return g;
}

int main(void)
{
	/* A slot whose size field alone reads zero: it is (stack 7, size 100,
	 * bucket 5), sitting where a probe for (stack 7, size 0) starts, as a
	 * displaced entry would.  A malloc(0) sampled at rate 1 asks for size 0. */
	struct bucket_gen *g = new_gen();
	uint32_t id;
	struct bucket_slot *home0 = index_find(g, 7, 0, &id);
	bslot_fill(home0, 7, 100, 5);
	home0->nsize = 0;
	index_find(g, 7, 0, &id);
	CHECK(id == 0, "a slot whose size reads zero is no match for a size-0 request (got bucket %u)", id);

	/* A whole generation given back, as gen_retire does. */
	g = new_gen();
	for (uint32_t i = 1; i <= N; i++)
		bslot_fill(index_find(g, 1 + i % 13, 16 * i, &id), 1 + i % 13, 16 * i, i);
	int found = 1;
	long on_header_page = 0;        /* the page gen_retire keeps */
	for (uint32_t i = 1; i <= N; i++) {
		struct bucket_slot *sl = index_find(g, 1 + i % 13, 16 * i, &id);
		found &= id == i;
		on_header_page += (char *)(sl + 1) <= (char *)g + 4096;
	}
	CHECK(found, "before: %d buckets found in the generation", N);
	gen_retire(g, sizeof *g, sizeof g->s[0] << g->bits);
	long wrong = 0, hits = 0;
	for (uint32_t i = 1; i <= N; i++) {
		index_find(g, 1 + i % 13, 16 * i, &id);
		hits += id != 0;
		wrong += id != 0 && id != i;
		index_find(g, 1 + i % 13, 0, &id);
		wrong += id != 0;
	}
	CHECK(g->bits == BITS && wrong == 0, "after it is given back: bits intact, no wrong bucket (%ld wrong)", wrong);
	CHECK(hits == on_header_page, "and miss, but for the %ld in slots on the kept header page (%ld of %d found)",
	      on_header_page, hits, N);

	/* The stack index the same way: frames are compared against the stack
	 * itself, which is never given back. */
	struct stack_gen *sg = hp_ialloc(sizeof *sg + (sizeof sg->s[0] << BITS));
	if (!sg)
		abort();
	sg->bits = BITS;
	static struct hp_stack *sks[N];
	on_header_page = 0;
	for (int i = 0; i < N; i++) {
		uintptr_t pcs[2] = { 0x1000 + 16 * (uintptr_t)i, 0x42 };
		struct hp_stack *sk;
		sks[i] = make_stack(pcs, 2);
		struct stack_slot *sl = sindex_find(sg, hp_stacktab_hash(pcs, 2), pcs, 2, &sk);
		slot_fill(sl, hp_stacktab_hash(pcs, 2), sks[i]);
		on_header_page += (char *)(sl + 1) <= (char *)sg + 4096;
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
	CHECK(wrong == 0 && hits == on_header_page,
	      "a given-back stack index gives misses (but for the header page's %ld), never a wrong stack", on_header_page);
	return check_done();
}
