/*
 * test_sampler.c - the sampling math: interval distribution, rates 0 and 1,
 * inclusion probability and unbiased weights.
 * Links: sampler.o
 */
#include "check.h"
#include "hp.h"

#include <math.h>

HP_TLS struct hp_thread hp_self;

int main(void)
{
	struct hp_thread t = { 0 };
	const uint64_t R = 524288;

	/* The countdown is floor(Exp(R)) + 1: its mean is R + 0.5. */
	double sum = 0, sumsq = 0;
	const int N = 1000000;
	for (int i = 0; i < N; i++) {
		double x = (double)hp_sampler_next(&t, R);
		sum += x;
		sumsq += x * x;
	}
	double mean = sum / N, sd = sqrt(sumsq / N - mean * mean);
	CHECK(fabs(mean - R) < 0.01 * R, "mean of 10^6 intervals %.0f is within 1%% of the rate %llu", mean,
	      (unsigned long long)R);
	CHECK(fabs(sd - R) < 0.02 * R, "their standard deviation %.0f matches an exponential (%llu)", sd,
	      (unsigned long long)R);

	int all_zero = 1;
	for (int i = 0; i < 1000; i++)
		all_zero &= hp_sampler_next(&t, 1) == 0;
	CHECK(all_zero, "rate 1 gives countdown 0: every allocation is sampled");
	CHECK(hp_sampler_next(&t, 0) == UINT64_MAX, "rate 0 never samples");
	CHECK(hp_sampler_weight(12345, 1) == 1.0 && hp_sampler_weight(0, 1) == 1.0, "weights are exactly 1 at rate 1");
	CHECK(fabs(hp_sampler_weight(16, R) - 32768.5) < 0.01, "w(16 B) at 512 KiB is 32768.5 (got %.3f)",
	      hp_sampler_weight(16, R));
	CHECK(fabs(hp_sampler_weight(R, R) - 1.0 / (1.0 - exp(-1.0))) < 1e-12, "w(R) = 1/(1-1/e)");
	CHECK(hp_sampler_weight((uint64_t)1 << 40, R) == 1.0, "huge blocks weigh 1");

	/* Drive the countdown exactly as the fast path does, for a stream of
	 * mixed sizes, and check that the estimates from the weights are
	 * unbiased: within 5 sigma of the truth. */
	static const uint64_t sizes[] = { 16, 200, 4096, 65536, 1 << 20 };
	double est[5] = { 0 }, var[5] = { 0 };
	uint64_t truth[5] = { 0 }, nsampled[5] = { 0 }, ncalls[5] = { 0 };
	uint64_t c = hp_sampler_next(&t, R);
	uint64_t rng = 12345;
	for (int i = 0; i < 4000000; i++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		int k = (int)((rng >> 33) % 5);
		if (k == 4 && (rng >> 40) % 64)
			k = 2;  /* keep 1 MiB blocks rare */
		uint64_t s = sizes[k];
		truth[k] += s;
		ncalls[k]++;
		if (s < c) {
			c -= s;
		} else {
			double w = hp_sampler_weight(s, R);
			est[k] += w * (double)s;
			nsampled[k]++;
			c = hp_sampler_next(&t, R);
		}
	}
	for (int k = 0; k < 5; k++) {
		double p = -expm1(-(double)sizes[k] / R);
		var[k] = (double)ncalls[k] * (double)sizes[k] * (double)sizes[k] * (1 - p) / p;
		double z = (est[k] - (double)truth[k]) / sqrt(var[k] > 0 ? var[k] : 1);
		CHECK(fabs(z) < 5, "size %llu: estimate %.4g vs truth %llu (%.2f sigma)", (unsigned long long)sizes[k],
		      est[k], (unsigned long long)truth[k], z);
		double frac = (double)nsampled[k] / (double)ncalls[k];
		double sdp = sqrt(p * (1 - p) / (double)ncalls[k]);
		CHECK(fabs(frac - p) < 5 * sdp + 1e-9, "size %llu sampled with probability %.5f, expected %.5f",
		      (unsigned long long)sizes[k], frac, p);
	}

	/* The library's own ln and 1 - exp(-a) (it does not link libm) agree
	 * with libm's to a few ulp wherever they are used: ln on (0, 1] for
	 * the intervals, 1 - exp(-a) from tiny a (16 B at a huge rate) to a
	 * past the point where it rounds to 1. */
	double worst_ln = 0, worst_ome = 0;
	uint64_t g = 99;
	for (int i = 0; i < 1000000; i++) {
		g = g * 6364136223846793005ull + 1442695040888963407ull;
		double u = (double)((g >> 11) + 1) * 0x1.0p-53;
		double want = log(u);
		if (want != 0) {
			double err = fabs(hp_sampler_ln(u) - want) / fabs(want);
			worst_ln = err > worst_ln ? err : worst_ln;
		}
	}
	CHECK(hp_sampler_ln(1.0) == 0 && hp_sampler_ln(0x1.0p-53) == log(0x1.0p-53), "ln(1) = 0, ln(2^-53) exact");
	/* At x = j/32 the series term is 0 and ln is its table entry alone. */
	int table_ok = 1;
	for (int j = 23; j <= 45; j++)
		table_ok &= hp_sampler_ln(j / 32.0) == log(j / 32.0);
	CHECK(table_ok, "ln(j/32) for j = 23..45 equals libm's exactly (the table entries)");
	/* Just below 1, where ln x is tiny and only relative accuracy shows. */
	double worst_near1 = 0;
	for (double d = 0x1.0p-53; d < 0.02; d *= 1.01) {
		double err = fabs(hp_sampler_ln(1 - d) - log(1 - d)) / fabs(log(1 - d));
		worst_near1 = err > worst_near1 ? err : worst_near1;
	}
	CHECK(worst_near1 < 1e-15, "ln(1 - d), 2^-53 <= d < 0.02: worst relative error %.2g (< 1e-15)", worst_near1);
	CHECK(worst_ln < 1e-15, "ln on 10^6 draws in (0, 1]: worst relative error %.2g (< 1e-15, a few ulp)", worst_ln);
	for (double a = 1e-12; a < 60; a *= 1.001) {
		double want = -expm1(-a);
		double err = fabs(hp_sampler_one_minus_exp(a) - want) / want;
		worst_ome = err > worst_ome ? err : worst_ome;
	}
	CHECK(worst_ome < 4e-16, "1 - exp(-a) for a in [1e-12, 60]: worst relative error %.2g (< 4e-16)", worst_ome);
	return check_done();
}
