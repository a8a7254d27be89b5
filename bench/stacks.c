/*
 * stacks.c - time to write a profile with 100k distinct stacks.
 *
 * Allocates one block from each of N (default 100000) distinct call
 * stacks, then times heapprof_dump() through the public API.  The stacks
 * come from three levels of 48 generated functions each (48^3 = 110592
 * paths): stack i runs l1_{i/2304} -> l2_{(i/48)%48} -> l3_{i%48} -> leaf,
 * so the profile has about 150 distinct functions and N distinct stacks.
 * Each block's size also depends on i, so there is one sample per stack.
 * Run it with HEAPPROF_RATE=1 so every stack is recorded.
 *
 * heapprof_dump is looked up with dlsym, so the binary also runs without
 * the library (then it only reports the allocation time).
 *
 * usage: stacks [N] [output path]
 * prints: result ... and "dump ms=<ms> rc=<rc> bytes=<file size>"
 */
#include <sys/stat.h>

#include "bench.h"

#define MAXN (48u * 48u * 48u)

static struct {
	void **blocks;
	unsigned long long n;
} stk;

BENCH_NOINLINE static void stk_leaf(unsigned i)
{
	stk.blocks[i] = malloc(16 + (i % 61) * 8);
	if (stk.blocks[i])
		((char *)stk.blocks[i])[0] = (char)i;
}

#define X16(M, b) M(b##0) M(b##1) M(b##2) M(b##3) M(b##4) M(b##5) M(b##6) M(b##7) \
	M(b##8) M(b##9) M(b##a) M(b##b) M(b##c) M(b##d) M(b##e) M(b##f)
#define X48(M) X16(M, 0x1) X16(M, 0x2) X16(M, 0x3)

#define L3(k) BENCH_NOINLINE static void l3_##k(unsigned i) { stk_leaf(i); BENCH_BARRIER(); }
X48(L3)
#define L3REF(k) l3_##k,
static void (*const l3[48])(unsigned) = { X48(L3REF) };

#define L2(k) BENCH_NOINLINE static void l2_##k(unsigned i) { l3[i % 48](i); BENCH_BARRIER(); }
X48(L2)
#define L2REF(k) l2_##k,
static void (*const l2[48])(unsigned) = { X48(L2REF) };

#define L1(k) BENCH_NOINLINE static void l1_##k(unsigned i) { l2[(i / 48) % 48](i); BENCH_BARRIER(); }
X48(L1)
#define L1REF(k) l1_##k,
static void (*const l1[48])(unsigned) = { X48(L1REF) };

int main(int argc, char **argv)
{
	const char *out = argc > 2 ? argv[2] : "stacks.pb.gz";
	int (*dump)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapprof_dump");
	struct stat st;

	stk.n = bench_arg(argc, argv, 1, 100000);
	if (stk.n > MAXN) {
		fprintf(stderr, "stacks: at most %u stacks\n", MAXN);
		return 2;
	}
	stk.blocks = calloc(stk.n, sizeof(void *));
	if (!stk.blocks)
		return 1;
	double t0 = bench_now(), c0 = bench_cpu();
	for (unsigned i = 0; i < stk.n; i++)
		l1[i / (48 * 48)](i);
	bench_report(bench_now() - t0, bench_cpu() - c0, stk.n, (double)stk.n);
	if (dump) {
		double t1 = bench_now();
		int rc = dump(out);
		double ms = (bench_now() - t1) * 1e3;
		printf("dump ms=%.1f rc=%d bytes=%lld\n", ms, rc,
		       stat(out, &st) == 0 ? (long long)st.st_size : -1LL);
	}
	for (unsigned i = 0; i < stk.n; i++)
		free(stk.blocks[i]);
	free(stk.blocks);
	return 0;
}
