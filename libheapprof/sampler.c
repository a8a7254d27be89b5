/*
 * sampler.c - Poisson sampling by bytes.
 *
 * Bytes are marked with probability 1/R each (R = HEAPPROF_RATE), so the gap
 * to the next mark is exponential with mean R and, being memoryless, one
 * countdown per thread decides every allocation: an allocation of s bytes
 * is sampled iff the countdown c <= s, i.e. with probability 1 - exp(-s/R).
 * Each sample then stands for 1/(1 - exp(-s/R)) allocations of its size
 * (Horvitz-Thompson), which is what Go's scaleHeapSample applies; see
 * ../shared/reference/sampling.md.  All floating point stays here, off the
 * fast path.
 *
 * The two transcendental functions needed, ln and 1 - exp(-a), are written
 * out below rather than taken from libm: linking libm maps about 300 KiB
 * into every C program that does not use it already, and these need
 * neither errno nor special cases.  Both are within a few ulp of libm's
 * (tests/unit/test_sampler.c compares them).
 */
#include "hp.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t seed_counter;

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t x = (*s += 0x9e3779b97f4a7c15ull);
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Seeds t's generator from the clock, the thread and a process-wide
 * counter, so threads and forked children draw differently. */
void hp_sampler_seed(struct hp_thread *t)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uintptr_t)t
		^ ((uint64_t)getpid() << 17) ^ (__atomic_add_fetch(&seed_counter, 1, __ATOMIC_RELAXED) << 48);
	splitmix64(&s);
	t->rng = s ? s : 1;
}

/* ln x for a normal x > 0, once per sample.  x = m 2^e with m in
 * [sqrt(1/2), sqrt(2)]; c = j/32 is the nearest 32nd to m, and
 * ln m = ln c + 2 atanh(s), s = (m - c)/(m + c), |s| < 0.0113, where the odd
 * series to s^9 leaves a relative error below 1e-20.  m - c is exact, and
 * c = 1 (ln c = 0) near x = 1, so the result stays within a few ulp even
 * where ln x is tiny.  The table is ln(j/32) correctly rounded, j = 23..45
 * (tests/unit/test_sampler.c checks every entry against libm).  It replaced
 * a series to s^19 around 1 alone, ten dependent steps to which perf gave
 * a sixth of the sample path's own time: 11.1 -> 9.3 ns a call. */
double hp_sampler_ln(double x)
{
	static const double ln_32nds[] = {
		-0.33024168687057687,    /* ln(23/32) */
		-0.2876820724517809,     /* ln(24/32) */
		-0.24686007793152578,    /* ln(25/32) */
		-0.2076393647782445,     /* ln(26/32) */
		-0.16989903679539747,    /* ln(27/32) */
		-0.13353139262452263,    /* ln(28/32) */
		-0.09844007281325252,    /* ln(29/32) */
		-0.06453852113757118,    /* ln(30/32) */
		-0.0317486983145803,     /* ln(31/32) */
		0.0,                     /* ln(32/32) */
		0.030771658666753687,    /* ln(33/32) */
		0.06062462181643484,     /* ln(34/32) */
		0.08961215868968714,     /* ln(35/32) */
		0.11778303565638346,     /* ln(36/32) */
		0.1451820098444979,      /* ln(37/32) */
		0.17185025692665923,     /* ln(38/32) */
		0.19782574332991987,     /* ln(39/32) */
		0.22314355131420976,     /* ln(40/32) */
		0.24783616390458127,     /* ln(41/32) */
		0.27193371548364176,     /* ln(42/32) */
		0.2954642128938359,      /* ln(43/32) */
		0.3184537311185346,      /* ln(44/32) */
		0.3409265869705932,      /* ln(45/32) */
	};
	uint64_t u;
	memcpy(&u, &x, sizeof u);
	int e = (int)((u >> 52) & 0x7ff) - 1023;
	u = (u & ((1ull << 52) - 1)) | 1023ull << 52;          /* m in [1, 2) */
	double m;
	memcpy(&m, &u, sizeof m);
	if (m > 1.41421356237309504880) {
		m *= 0.5;
		e++;
	}
	int j = (int)(m * 32 + 0.5);                            /* 23..45 */
	double c = j * (1.0 / 32);
	double s = (m - c) / (m + c), z = s * s;
	double p = 1 + z * (1.0 / 3 + z * (1.0 / 5 + z * (1.0 / 7 + z * (1.0 / 9))));
	/* ln 2 in two parts, so that e ln 2 adds no rounding of its own */
	return e * 6.93147180369123816490e-01 + (ln_32nds[j - 23] + (2 * s * p + e * 1.90821492927058770002e-10));
}

/* 1 - exp(-a) for a >= 0, accurate also where a is tiny (w(16 B) at
 * 512 KiB needs a = 3e-5 to full precision).  Used when a bucket is made
 * and when a profile is written, not per sample. */
double hp_sampler_one_minus_exp(double a)
{
	double t = 1;
	if (a < 0.5) {          /* a (1 - a/2 (1 - a/3 (1 - ...))), to a^17/17! */
		for (int k = 17; k >= 2; k--)
			t = 1 - t * a / k;
		return a * t;
	}
	if (a > 40)
		return 1;       /* exp(-40) is below half an ulp of 1 */
	/* exp(-a) = 2^-k exp(-r), r = a - k ln 2 in [-0.35, 0.35] */
	int k = (int)(a * 1.44269504088896340736 + 0.5);
	double r = (a - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
	for (int j = 16; j >= 1; j--)
		t = 1 - t * r / j;
	uint64_t b = (uint64_t)(1023 - k) << 52;
	double two_k;
	memcpy(&two_k, &b, sizeof two_k);
	return 1 - t * two_k;
}

/* Returns floor(X) + 1 with X ~ Exp(rate): an allocation of n bytes is then
 * sampled iff n >= countdown, which happens with probability exactly
 * 1 - exp(-n/rate).  rate 1 -> 0 (every allocation); rate 0 -> never. */
uint64_t hp_sampler_next(struct hp_thread *t, uint64_t rate)
{
	if (rate == 0)
		return UINT64_MAX;
	if (rate == 1)
		return 0;
	if (!t->rng)
		hp_sampler_seed(t);
	uint64_t x = splitmix64(&t->rng);
	double u = (double)((x >> 11) + 1) * 0x1.0p-53;     /* (0, 1] */
	double gap = -hp_sampler_ln(u) * (double)rate;
	if (gap >= 0x1.0p62)
		return (uint64_t)1 << 62;
	return (uint64_t)gap + 1;
}

/* 1/(1 - exp(-size/rate)), computed so that tiny sizes keep full precision
 * (w(16 B) at 512 KiB is 32768.5).  Exactly 1 at rate <= 1, and for size 0
 * (never sampled at rate > 1; seen, so counted once, if it ever is). */
double hp_sampler_weight(uint64_t size, uint64_t rate)
{
	if (rate <= 1 || size == 0)
		return 1.0;
	return 1.0 / hp_sampler_one_minus_exp((double)size / (double)rate);
}
