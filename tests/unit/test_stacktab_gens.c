/*
 * test_stacktab_gens.c - what the lock-free reader, hp_stacktab_lookup,
 * finds in a bucket index: a slot whose tag and size field match but whose
 * bucket is another key's, a slot whose stack word reads as zero, and a
 * generation that a growth has given back (stacktab.c,
 * bucket_gen), whose slot pages read as zeros.  Every such read must be a
 * miss (the caller then takes the lock), never a wrong bucket, and the probe
 * must end.  (The stack index is read only under the lock, where the
 * current generation is the only one.)
 * White-box: includes stacktab.c to reach its index and generations.
 * Links: ialloc.o config.o
 */
#include "check.h"

#include <stdlib.h>
#include "../../libheapprof/stacktab.c"

struct hp_global hp_g = { .lock = HP_LOCK_INIT };
HP_TLS struct hp_thread hp_self;       /* ialloc counts its lock in held */

enum { N = 6000 };      /* buckets: the index ends at 8192 slots of 16 bytes, 128 KiB, so pages are given back */

/* Whether gen_retire keeps the page(s) of a slot at [sl, sl + len) in a
 * generation g of hdr + slots bytes: the header's page, and a last page
 * the slots end inside (hp_ialloc_drop gives back whole pages only). */
static int kept(const void *g, size_t hdr, size_t slots, const void *sl, size_t len)
{
	uintptr_t lo = ((uintptr_t)g + hdr + 4095) & ~(uintptr_t)4095;
	uintptr_t hi = ((uintptr_t)g + hdr + slots) & ~(uintptr_t)4095;
	return (uintptr_t)sl + len <= lo || (uintptr_t)sl >= hi;
}

/* The frames of test stack `site`: two of them. */
static void frames(uintptr_t pcs[2], uintptr_t site)
{
	pcs[0] = site;
	pcs[1] = 0x42;
}

static uint32_t bucket(uintptr_t site, uint64_t size)
{
	uintptr_t pcs[2];
	int new_stack;
	frames(pcs, site);
	return hp_stacktab_bucket_locked(pcs, 2, hp_stacktab_hash(pcs, 2), size, &new_stack);
}

static uint32_t lookup(uintptr_t site, uint64_t size)
{
	uintptr_t pcs[2];
	frames(pcs, site);
	return hp_stacktab_lookup(pcs, 2, hp_stacktab_hash(pcs, 2), size);
}

/* Slot j of g as bslot_fill would fill it for bucket id, but with the
 * tag and size field of the key (site, size): what a 16-bit tag collision
 * puts in a probe's way. */
static void put_as(struct bucket_gen *g, uint64_t j, uintptr_t site, uint64_t size, uint32_t id)
{
	uintptr_t pcs[2];
	frames(pcs, site);
	g->s[j].stack = hp_stacktab_get(id)->stack;
	g->s[j].key = slot_key(bucket_hash(hp_stacktab_hash(pcs, 2), size), size, id);
}

static uint64_t home_of(const struct bucket_gen *g, uintptr_t site, uint64_t size)
{
	uintptr_t pcs[2];
	frames(pcs, site);
	return bucket_hash(hp_stacktab_hash(pcs, 2), size) >> (64 - g->bits);
}

/* Shows the reader g, whose slot `home` of the key (site, size) holds the
 * bucket in_way under the key's tag and size field: no match.  Then the
 * key's own bucket, made the ordinary way, put in the next slot: found. */
static void in_the_way(struct bucket_gen *g, uint64_t home, uintptr_t site, uint64_t size, uint32_t in_way,
		       const char *what)
{
	struct bucket_gen *real = st.index;
	put_as(g, home, site, size, in_way);
	st.index = g;
	uint32_t id = lookup(site, size);
	CHECK(id == 0, "%s is no match (got bucket %u)", what, id);
	st.index = real;
	uint32_t own = bucket(site, size);
	put_as(g, (home + 1) & 1023, site, size, own);
	st.index = g;
	id = lookup(site, size);
	CHECK(id == own, "... and the key's own bucket, past it, is found (bucket %u, want %u)", id, own);
	st.index = real;
}

int main(void)
{
	/* Slots matching (site 7, size 0) by tag and size field at its home:
	 * first one whose stack word reads as zero, as a page given back
	 * mid-read shows it; then the bucket of (site 9, size 0), another
	 * stack.  The reader is shown this index by publishing it as the
	 * current one. */
	uint32_t other = bucket(9, 0), b100 = bucket(7, 100);
	struct bucket_gen *real = st.index, *g = hp_ialloc(sizeof *g + (sizeof g->s[0] << 10));
	if (!g)
		abort();        /* 16 KiB: the machine is out of memory */
	g->bits = 10;
	uint64_t home = home_of(g, 7, 0);
	put_as(g, home, 7, 0, b100);
	g->s[home].stack = NULL;
	st.index = g;
	uint32_t id = lookup(7, 0);
	CHECK(id == 0, "a slot whose stack reads as zero is a miss, not a match (got bucket %u)", id);
	st.index = real;
	g->s[home].key = 0;
	in_the_way(g, home, 7, 0, other, "a slot with the key's tag and size but another stack");

	/* Sizes from SIZE_ESC up share one size field: (site 7, 80000) in
	 * the way of (site 7, 70000), same stack, is told apart by its
	 * bucket. */
	uint32_t b80k = bucket(7, 80000);
	memset(g->s, 0, sizeof g->s[0] << g->bits);
	in_the_way(g, home_of(g, 7, 70000), 7, 70000, b80k,
		   "a large size's slot, matching by tag and the shared size field");

	/* N buckets made the ordinary way, then their generation given back,
	 * as gen_retire does when the index grows; the reader still holds it. */
	uint32_t ids[N + 1];
	for (uint32_t i = 1; i <= N; i++)
		ids[i] = bucket(0x1000 + i % 13, 16 * i);
	g = st.index;
	long found = 0, findable = 0;
	for (uint32_t i = 1; i <= N; i++) {
		found += lookup(0x1000 + i % 13, 16 * i) == ids[i];
		/* found later only if every slot its probe passes is kept */
		const struct hp_bucket *b = hp_stacktab_get(ids[i]);
		struct bslot *sl = index_find(g, b->stack, b->size, &id);
		uint64_t mask = ((uint64_t)1 << g->bits) - 1, j = bucket_hash(b->stack->hash, b->size) >> (64 - g->bits);
		int whole = 1;
		for (;; j = (j + 1) & mask) {
			whole &= kept(g, sizeof *g, sizeof g->s[0] << g->bits, &g->s[j], sizeof g->s[j]);
			if (&g->s[j] == sl)
				break;
		}
		findable += whole;
	}
	CHECK(found == N && g->bits == 13, "before: %ld of %d buckets found in a generation of %u slots", found, N,
	      1u << g->bits);
	gen_retire(g, sizeof *g, sizeof g->s[0] << g->bits);
	long wrong = 0, hits = 0;
	for (uint32_t i = 1; i <= N; i++) {
		id = lookup(0x1000 + i % 13, 16 * i);
		hits += id != 0;
		wrong += id != 0 && id != ids[i];
		wrong += lookup(0x1000 + i % 13, 16 * i + 1) != 0;    /* never made */
	}
	CHECK(g->bits == 13 && wrong == 0, "after it is given back: bits intact, no wrong bucket (%ld wrong)", wrong);
	CHECK(hits == findable && findable > 0,
	      "and misses, but for the %ld whose probe lies on the kept first and last pages (%ld of %d found)",
	      findable, hits, N);
	return check_done();
}
