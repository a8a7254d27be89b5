/*
 * leaks.c - HEAPPROF_LEAKS=1: the stacks still holding memory at exit.
 *
 * Runs from the exit hook with the guard set, so it may allocate.  Values
 * are the same unbiased estimates as the profile's inuse_* (exact at rate 1);
 * the report says which.  "In use at exit" is all we know: a block a global
 * still points to is listed like a lost one, and the report says so.
 */
#include "hp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct leak {
	const uintptr_t *pcs;
	uint32_t npcs;
	double bytes, objects;
	uint64_t text;          /* hash of the frames as printed (frames_hash) */
};

static int by_bytes(const void *a, const void *b)
{
	const struct leak *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->pcs < y->pcs ? -1 : x->pcs > y->pcs;
}

static int by_stack(const void *a, const void *b)
{
	const struct leak *x = a, *y = b;
	return x->pcs < y->pcs ? -1 : x->pcs > y->pcs;
}

static int by_text(const void *a, const void *b)
{
	const struct leak *x = a, *y = b;
	if (x->text != y->text)
		return x->text < y->text ? -1 : 1;
	return x->pcs < y->pcs ? -1 : x->pcs > y->pcs;
}

/* Appends formatted text to a malloc'd string; keeps going after OOM. */
static void out(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void out(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (*buf && *len + (size_t)n < *cap) {
			*len += (size_t)n;
			return;
		}
		size_t ncap = (*cap ? *cap * 2 : 4096) + (size_t)n;
		char *nb = realloc(*buf, ncap);
		if (!nb)
			return;
		*buf = nb;
		*cap = ncap;
	}
}

static void put_frames(char **buf, size_t *len, size_t *cap, struct hp_sym *sym, const struct leak *l);

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* A hash of l's frames as put_frames prints them.  Stacks that print the
 * same, as the return addresses of a loop gcc unrolled, all on one line,
 * are one entry of the report, not one each (heapprof leaks does the same). */
static uint64_t frames_hash(struct hp_sym *sym, const struct leak *l)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (uint32_t i = 0; i < l->npcs; i++) {
		struct hp_symframe fr[16];
		int n = sym ? hp_sym_lookup(sym, l->pcs[i] - 1, fr, 16) : 0;
		char num[32];
		if (n == 0) {
			snprintf(num, sizeof num, "%#lx", (unsigned long)(l->pcs[i] - 1));
			h = fnv(h, num);
		}
		for (int k = 0; k < n; k++) {
			snprintf(num, sizeof num, "\x01%lld\x02", (long long)fr[k].line);
			h = fnv(fnv(fnv(h, fr[k].name), fr[k].file ? fr[k].file : ""), num);
		}
		h = fnv(h, "\n");
	}
	return h;
}

/* Whether a and b print the same (their hashes being equal). */
static int same_text(struct hp_sym *sym, const struct leak *a, const struct leak *b)
{
	char *x = NULL, *y = NULL;
	size_t xl = 0, xc = 0, yl = 0, yc = 0;
	put_frames(&x, &xl, &xc, sym, a);
	put_frames(&y, &yl, &yc, sym, b);
	int same = x && y && xl == yl && !memcmp(x, y, xl);
	free(x);
	free(y);
	return same;
}

static void put_frames(char **buf, size_t *len, size_t *cap, struct hp_sym *sym, const struct leak *l)
{
	for (uint32_t i = 0; i < l->npcs; i++) {
		struct hp_symframe fr[16];
		int n = sym ? hp_sym_lookup(sym, l->pcs[i] - 1, fr, 16) : 0;
		if (n == 0)
			out(buf, len, cap, "        %#lx\n", (unsigned long)(l->pcs[i] - 1));
		for (int k = 0; k < n; k++) {
			if (fr[k].file && fr[k].line)
				out(buf, len, cap, "        %s %s:%lld\n", fr[k].name, fr[k].file, (long long)fr[k].line);
			else
				out(buf, len, cap, "        %s\n", fr[k].name);
		}
	}
}

void hp_leaks_report(void)
{
	struct hp_prof_sample *s;
	size_t sbytes;
	long n = hp_dump_snapshot(&s, &sbytes);
	if (n < 0)
		return;
	struct leak *v = malloc(sizeof *v * (size_t)(n ? n : 1));
	if (!v) {
		hp_ifree(s, sbytes);
		return;
	}
	long k = 0;
	for (long i = 0; i < n; i++) {
		uint64_t live = s[i].allocs - s[i].frees;
		if (!live)
			continue;
		double w = hp_sampler_weight(s[i].size, hp_cfg.rate);
		v[k++] = (struct leak){ s[i].pcs, s[i].npcs, (double)live * w * (double)s[i].size, (double)live * w, 0 };
	}
	hp_ifree(s, sbytes);
	/* One entry per stack: buckets split a stack by object size. */
	qsort(v, (size_t)k, sizeof *v, by_stack);
	long m = 0;
	for (long i = 0; i < k; i++) {
		if (m && v[m - 1].pcs == v[i].pcs) {
			v[m - 1].bytes += v[i].bytes;
			v[m - 1].objects += v[i].objects;
		} else {
			v[m++] = v[i];
		}
	}
	struct hp_sym *sym = m ? hp_sym_open() : NULL;
	if (sym && m > 1) {
		/* every listed address at once: one pass per symbol table */
		size_t na = 0;
		for (long i = 0; i < m; i++)
			na += v[i].npcs;
		uintptr_t *a = malloc(na * sizeof *a);
		if (a) {
			na = 0;
			for (long i = 0; i < m; i++)
				for (uint32_t j = 0; j < v[i].npcs; j++)
					a[na++] = v[i].pcs[j] - 1;
			hp_sym_prefetch(sym, a, na);
			free(a);
		}
		for (long i = 0; i < m; i++)
			v[i].text = frames_hash(sym, &v[i]);
		qsort(v, (size_t)m, sizeof *v, by_text);
		long j = 0;
		for (long i = 0; i < m; i++) {
			if (j && v[j - 1].text == v[i].text && same_text(sym, &v[j - 1], &v[i])) {
				v[j - 1].bytes += v[i].bytes;
				v[j - 1].objects += v[i].objects;
			} else {
				v[j++] = v[i];
			}
		}
		m = j;
	}
	qsort(v, (size_t)m, sizeof *v, by_bytes);
	double tb = 0, to = 0;
	for (long i = 0; i < m; i++) {
		tb += v[i].bytes;
		to += v[i].objects;
	}

	char *buf = NULL;
	size_t len = 0, cap = 0;
	int exact = hp_cfg.rate == 1;
	out(&buf, &len, &cap, "heapprof: leak report: %.0f bytes in %.0f objects from %ld stacks in use at exit (%s)\n",
	    tb, to, m, exact ? "exact, HEAPPROF_RATE=1" : "estimated from samples");
	if (!exact)
		out(&buf, &len, &cap, "heapprof: sampled at HEAPPROF_RATE=%llu bytes; run with HEAPPROF_RATE=1 for exact counts\n",
		    (unsigned long long)hp_cfg.rate);
	out(&buf, &len, &cap, "heapprof: in use at exit is not reachability: blocks still held through globals are listed too\n");
	long top = hp_cfg.leaks_top == 0 || m < hp_cfg.leaks_top ? m : hp_cfg.leaks_top;
	for (long i = 0; i < top; i++) {
		out(&buf, &len, &cap, "#%ld %.0f bytes in %.0f object%s\n", i + 1, v[i].bytes, v[i].objects,
		    v[i].objects == 1 ? "" : "s");
		put_frames(&buf, &len, &cap, sym, &v[i]);
	}
	if (m > top) {
		double rb = 0;
		for (long i = top; i < m; i++)
			rb += v[i].bytes;
		out(&buf, &len, &cap, "heapprof: ... and %ld more stacks holding %.0f bytes (HEAPPROF_LEAKS_TOP=%d)\n",
		    m - top, rb, hp_cfg.leaks_top);
	}
	if (sym)
		hp_sym_close(sym);
	if (buf)
		hp_write_stderr(buf, len, 0);
	free(buf);
	free(v);
}
