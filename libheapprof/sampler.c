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
 */
#include "hp.h"

#include <math.h>
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
	double gap = -log(u) * (double)rate;
	if (gap >= 0x1.0p62)
		return (uint64_t)1 << 62;
	return (uint64_t)gap + 1;
}

/* 1/(1 - exp(-size/rate)), with expm1 so tiny sizes keep full precision
 * (w(16 B) at 512 KiB is 32768.5).  Exactly 1 at rate <= 1, and for size 0
 * (never sampled at rate > 1; seen, so counted once, if it ever is). */
double hp_sampler_weight(uint64_t size, uint64_t rate)
{
	if (rate <= 1 || size == 0)
		return 1.0;
	return 1.0 / -expm1(-(double)size / (double)rate);
}
