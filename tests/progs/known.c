/*
 * known.c - a program whose allocations are known exactly, so that a profile
 * taken with HEAPPROF_RATE=1 can be compared with the truth.
 *
 * Built with -O0 -fno-inline (tests/tests.mk): every function below keeps its
 * own frame, and the function that calls the allocator is the leaf of the
 * stack.  Each allocation call sits on a line tagged with a comment "@NAME";
 * the test looks the tag up to know the line pprof must show.
 *
 * Truth at exit, requested sizes (tests/integration/lib_pprof.py, KNOWN):
 *
 *   leaf            alloc_objects alloc_space inuse_objects inuse_space
 *   leaf_a               1000        64000         300         19200
 *   leaf_b                 50       204800           0             0
 *   leaf_c                 10        10000           4          4000   calloc(100, 10)
 *   realloc_chain          10         5500           1          1000   realloc 100,200..1000
 *   realloc_zero            1           77           0             0   realloc(p, 0) frees
 *   reallocarray_site       2          480           1           320
 *   pm_site                 1         1000           1          1000   posix_memalign(64)
 *   aa_site                 1         2048           1          2048   aligned_alloc(128)
 *   ma_site                 1         3000           1          3000   memalign(256)
 *   va_site                 1         5000           1          5000   valloc
 *   pva_site                1   6000|page-rounded (8192)               pvalloc(6000)
 *   pva0_site               1            0           1             0   pvalloc(0): 0 pages
 *   static_leaf             7         2331           7          2331   a static function
 *   chain_leaf              5          640           5           640   under chain_8..chain_1
 *   mixed_leaf              5      2097200           3            48   3 x 16 B + 2 x 1 MiB
 *   shared_leaf            30          960          30           960   10 via caller_x, 20 via caller_y
 *   zero_site               3            0           2             0   malloc(0) x 3, one freed
 *
 * strdup_site calls strdup("hello, world"): one 13-byte block, kept, whose
 * leaf frame is libc's strdup and whose caller is strdup_site.
 * stdout is fixed; the exit code is 0.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Blocks kept live to the end; globals so nothing frees them. */
static void *keep_a[1000];
static void *keep_c[10];
static void *keep_misc[64];
static int nkeep;

static void keep(void *p)
{
	keep_misc[nkeep++] = p;
}

void leaf_a(void)
{
	for (int i = 0; i < 1000; i++) {
		keep_a[i] = malloc(64); /* @leaf_a */
		memset(keep_a[i], 'a', 64);
	}
}

void leaf_b(void)
{
	void *v[50];
	for (int i = 0; i < 50; i++) {
		v[i] = malloc(4096); /* @leaf_b */
		memset(v[i], 'b', 4096);
	}
	for (int i = 0; i < 50; i++)
		free(v[i]);
}

void leaf_c(void)
{
	for (int i = 0; i < 10; i++)
		keep_c[i] = calloc(100, 10); /* @leaf_c */
}

void realloc_chain(void)
{
	char *p = NULL;
	for (size_t sz = 100; sz <= 1000; sz += 100) {
		p = realloc(p, sz); /* @realloc_chain */
		memset(p, 'r', sz);
	}
	keep(p);
}

void realloc_zero(void)
{
	void *p = malloc(77); /* @realloc_zero */
	void *q = realloc(p, 0);
	if (q) /* not glibc: realloc(p, 0) returned a block */
		free(q);
}

void reallocarray_site(void)
{
	void *p = reallocarray(NULL, 10, 16); /* @reallocarray_site */
	p = reallocarray(p, 20, 16);
	keep(p);
}

void pm_site(void)
{
	void *p = NULL;
	if (posix_memalign(&p, 64, 1000) == 0) /* @pm_site */
		keep(p);
}

void aa_site(void)
{
	keep(aligned_alloc(128, 2048)); /* @aa_site */
}

void ma_site(void)
{
	keep(memalign(256, 3000)); /* @ma_site */
}

void va_site(void)
{
	keep(valloc(5000)); /* @va_site */
}

void pva_site(void)
{
	keep(pvalloc(6000)); /* @pva_site */
}

/* Charged a page once, where glibc gives a minimum chunk. */
void pva0_site(void)
{
	keep(pvalloc(0)); /* @pva0_site */
}

/* Not in .dynsym (no -rdynamic): the profile must name it from .symtab. */
static void static_leaf(void)
{
	for (int i = 0; i < 7; i++)
		keep(malloc(333)); /* @static_leaf */
}

void chain_leaf(void)
{
	for (int i = 0; i < 5; i++)
		keep(malloc(128)); /* @chain_leaf */
}
void chain_8(void) { chain_leaf(); }
void chain_7(void) { chain_8(); }
void chain_6(void) { chain_7(); }
void chain_5(void) { chain_6(); }
void chain_4(void) { chain_5(); }
void chain_3(void) { chain_4(); }
void chain_2(void) { chain_3(); }
void chain_1(void) { chain_2(); }

/* One call site, two object sizes: two samples, told apart by the bytes label. */
void mixed_leaf(void)
{
	static const size_t sizes[5] = { 16, 1048576, 16, 1048576, 16 };
	void *v[5];
	for (int i = 0; i < 5; i++)
		v[i] = malloc(sizes[i]); /* @mixed_leaf */
	free(v[1]);
	free(v[3]);
	keep(v[0]);
	keep(v[2]);
	keep(v[4]);
}

/* One leaf reached from two callers: two stacks. */
static void *keep_shared[30];
static int nshared;
void shared_leaf(int n)
{
	for (int i = 0; i < n; i++)
		keep_shared[nshared++] = malloc(32); /* @shared_leaf */
}
void caller_x(void) { shared_leaf(10); }
void caller_y(void) { shared_leaf(20); }

/* malloc(0): its samples carry the label bytes = 0 too. */
static void *keep_zero[3];
void zero_site(void)
{
	for (int i = 0; i < 3; i++)
		keep_zero[i] = malloc(0); /* @zero_site */
	free(keep_zero[2]);
}

void strdup_site(void)
{
	keep(strdup("hello, world")); /* @strdup_site */
}

int main(void)
{
	leaf_a();
	for (int i = 300; i < 1000; i++)
		free(keep_a[i]);
	leaf_b();
	leaf_c();
	for (int i = 4; i < 10; i++)
		free(keep_c[i]);
	realloc_chain();
	realloc_zero();
	reallocarray_site();
	pm_site();
	aa_site();
	ma_site();
	va_site();
	pva_site();
	pva0_site();
	static_leaf();
	chain_1();
	mixed_leaf();
	caller_x();
	caller_y();
	zero_site();
	strdup_site();

	/* Print only facts that do not depend on addresses. */
	long sum = 0;
	for (int i = 0; i < 300; i++)
		sum += ((unsigned char *)keep_a[i])[63];
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 1000; j++)
			sum += ((unsigned char *)keep_c[i])[j];
	printf("known: kept %d misc blocks, checksum %ld\n", nkeep, sum);
	printf("known: strdup gave '%s'\n", (char *)keep_misc[nkeep - 1]);
	return 0;
}
