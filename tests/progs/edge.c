/*
 * edge.c - the malloc family's edge cases, each checked and printed.
 *
 * The profiler must not change what these calls return, what they do to
 * errno or to *memptr, or alignment and usable sizes.  Every line printed is
 * a fact about the result that does not depend on addresses, so a run under
 * LD_PRELOAD must print exactly what a plain run prints.  Where glibc's
 * behaviour is fixed by documentation (man malloc(3), posix_memalign(3)) the
 * program also checks it and prints "FAIL" and exits 1 when it does not hold;
 * behaviour that differs between glibc versions (aligned_alloc with a bad
 * alignment, realloc(p, 0)) is only printed.  Exit code 0 when all hold.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;

/* The sizes come through a volatile so the compiler cannot see the overflow. */
static volatile size_t vsize_max = SIZE_MAX;

static void check(int cond, const char *what)
{
	printf("%s: %s\n", cond ? "yes" : "FAIL", what);
	if (!cond)
		failures++;
}

static const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case ENOMEM: return "ENOMEM";
	case EINVAL: return "EINVAL";
	case 1234: return "1234 (unchanged)";
	default: return "other";
	}
}

static int aligned(const void *p, size_t a)
{
	return ((uintptr_t)p % a) == 0;
}

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p, *q;
	int r;

	p = malloc(0);
	check(p != NULL, "malloc(0) returns a pointer");
	free(p);

	errno = 1234;
	free(NULL);
	check(errno == 1234, "free(NULL) keeps errno");

	p = malloc(100);
	errno = 1234;
	free(p);
	check(errno == 1234, "free(p) keeps errno");

	errno = 1234;
	p = malloc(100);
	printf("errno after a successful malloc: %s\n", errname(errno));
	free(p);
	errno = 1234;
	p = calloc(10, 10);
	printf("errno after a successful calloc: %s\n", errname(errno));
	errno = 1234;
	p = realloc(p, 5000);
	printf("errno after a successful realloc: %s\n", errname(errno));
	free(p);

	p = realloc(NULL, 50);
	check(p != NULL && malloc_usable_size(p) >= 50, "realloc(NULL, 50) acts as malloc(50)");
	memset(p, 'x', 50);
	p = realloc(p, 100000);
	check(p != NULL && ((char *)p)[0] == 'x' && ((char *)p)[49] == 'x',
	      "realloc growth keeps the contents");
	p = realloc(p, 10);
	check(p != NULL && ((char *)p)[9] == 'x', "realloc shrink keeps the contents");
	errno = 1234;
	q = realloc(p, 0);
	printf("realloc(p, 0) returns %s, errno %s\n", q ? "a pointer" : "NULL", errname(errno));
	free(q);

	p = malloc(64);
	memset(p, 'y', 64);
	errno = 0;
	q = realloc(p, vsize_max / 2 + 1);
	check(q == NULL && errno == ENOMEM, "realloc(p, huge) fails with ENOMEM");
	check(((char *)p)[63] == 'y', "a failed realloc leaves the old block intact");
	free(p);

	errno = 0;
	p = malloc(vsize_max / 2 + 1);
	check(p == NULL && errno == ENOMEM, "malloc(huge) fails with ENOMEM");
	errno = 0;
	p = malloc(vsize_max - 4096);
	check(p == NULL && errno == ENOMEM, "malloc(SIZE_MAX - 4096) fails with ENOMEM");

	errno = 0;
	p = calloc(vsize_max / 2, 3);
	check(p == NULL && errno == ENOMEM, "calloc overflow fails with ENOMEM");
	errno = 0;
	p = calloc(vsize_max, vsize_max);
	check(p == NULL && errno == ENOMEM, "calloc(SIZE_MAX, SIZE_MAX) fails with ENOMEM");
	p = calloc(0, 5);
	check(p != NULL, "calloc(0, 5) returns a pointer");
	free(p);

	/* calloc must zero even memory that was just dirtied and freed. */
	for (int i = 0; i < 100; i++) {
		p = malloc(256);
		memset(p, 0xa5, 256);
		free(p);
		unsigned char *z = calloc(32, 8);
		int zero = 1;
		for (int j = 0; j < 256; j++)
			zero &= z[j] == 0;
		free(z);
		if (!zero) {
			check(0, "calloc returns zeroed memory");
			break;
		}
		if (i == 99)
			check(1, "calloc returns zeroed memory");
	}
	p = calloc(1, 10 << 20);
	int zero = 1;
	for (size_t j = 0; j < (10u << 20); j += 4093)
		zero &= ((unsigned char *)p)[j] == 0;
	check(zero, "calloc(1, 10 MiB) is zeroed");
	free(p);

	errno = 0;
	p = reallocarray(NULL, vsize_max / 2, 3);
	check(p == NULL && errno == ENOMEM, "reallocarray overflow fails with ENOMEM");
	p = malloc(8);
	errno = 0;
	q = reallocarray(p, vsize_max / 4, 8);
	check(q == NULL && errno == ENOMEM, "reallocarray(p, overflow) fails with ENOMEM");
	q = reallocarray(p, 100, 4);
	check(q != NULL && malloc_usable_size(q) >= 400, "reallocarray(p, 100, 4) works");
	free(q);

	p = (void *)0x1234;
	errno = 1234;
	r = posix_memalign(&p, 3, 16);
	check(r == EINVAL, "posix_memalign(3) returns EINVAL");
	check(errno == 1234, "posix_memalign failure leaves errno alone");
	check(p == (void *)0x1234, "posix_memalign failure leaves *memptr alone");
	r = posix_memalign(&p, 4, 16);
	check(r == EINVAL && p == (void *)0x1234, "posix_memalign(4), not a multiple of sizeof(void *), gives EINVAL");
	r = posix_memalign(&p, 0, 16);
	check(r == EINVAL && p == (void *)0x1234, "posix_memalign(0) gives EINVAL");
	r = posix_memalign(&p, 64, vsize_max / 2 + 1);
	check(r == ENOMEM && p == (void *)0x1234, "posix_memalign(64, huge) gives ENOMEM");
	errno = 1234;
	r = posix_memalign(&p, 64, 100);
	check(r == 0 && aligned(p, 64) && malloc_usable_size(p) >= 100,
	      "posix_memalign(64, 100) works");
	check(errno == 1234, "posix_memalign success leaves errno alone");
	free(p);
	r = posix_memalign(&p, 4096, 0);
	printf("posix_memalign(4096, 0) returns %d\n", r);
	free(r == 0 ? p : NULL);
	r = posix_memalign(&p, 1 << 20, 10);
	check(r == 0 && aligned(p, 1 << 20), "posix_memalign(1 MiB) is aligned");
	free(p);

	errno = 0;
	p = aligned_alloc(3, 16);
	printf("aligned_alloc(3, 16) returns %s, errno %s\n", p ? "a pointer" : "NULL", errname(errno));
	free(p);
	p = aligned_alloc(256, 512);
	check(p != NULL && aligned(p, 256), "aligned_alloc(256, 512) is aligned");
	free(p);
	errno = 0;
	p = aligned_alloc(64, vsize_max / 2 + 1);
	check(p == NULL && errno == ENOMEM, "aligned_alloc(64, huge) fails with ENOMEM");

	p = memalign(64, 100);
	check(p != NULL && aligned(p, 64) && malloc_usable_size(p) >= 100, "memalign(64, 100)");
	free(p);
	p = memalign(24, 100);
	printf("memalign(24, 100) returns %s%s\n", p ? "a pointer" : "NULL",
	       p && aligned(p, 32) ? " aligned to 32" : "");
	free(p);
	errno = 0;
	p = memalign(vsize_max / 2 + 2, 1);
	printf("memalign(huge alignment) returns %s, errno %s\n", p ? "a pointer" : "NULL", errname(errno));
	free(p);

	p = valloc(100);
	check(p != NULL && aligned(p, page) && malloc_usable_size(p) >= 100, "valloc(100) is page aligned");
	free(p);
	p = pvalloc(100);
	check(p != NULL && aligned(p, page) && malloc_usable_size(p) >= (size_t)page,
	      "pvalloc(100) is page aligned and a page long");
	free(p);
	p = pvalloc(0);
	printf("pvalloc(0) returns %s\n", p ? "a pointer" : "NULL");
	free(p);

	check(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) is 0");
	int usable_ok = 1;
	for (size_t n = 1; n <= 5000; n += 7) {
		p = malloc(n);
		usable_ok &= malloc_usable_size(p) >= n;
		free(p);
	}
	check(usable_ok, "malloc_usable_size(malloc(n)) >= n for n up to 5000");

	/* libc functions that allocate internally: their blocks come back to free(). */
	char *s = strdup("edge");
	check(s && strcmp(s, "edge") == 0, "strdup");
	free(s);
	s = NULL;
	check(asprintf(&s, "%d-%s", 42, "x") == 4 && strcmp(s, "42-x") == 0, "asprintf");
	free(s);
	FILE *f = fopen("/proc/self/stat", "r");
	check(f != NULL, "fopen");
	char *line = NULL;
	size_t cap = 0;
	check(f && getline(&line, &cap, f) > 0, "getline");
	free(line);
	if (f)
		fclose(f);

	/* Many sizes, interleaved, through every entry point, with contents checked. */
	void *v[512];
	int pattern_ok = 1;
	for (int i = 0; i < 512; i++) {
		size_t n = 1 + (size_t)i * 37 % 3000;
		switch (i % 6) {
		case 0: v[i] = malloc(n); break;
		case 1: v[i] = calloc(1, n); break;
		case 2: v[i] = realloc(NULL, n); break;
		case 3: v[i] = memalign(32, n); break;
		case 4: v[i] = aligned_alloc(64, n); break;
		default: if (posix_memalign(&v[i], 128, n)) v[i] = NULL; break;
		}
		memset(v[i], i & 0xff, n);
	}
	for (int i = 0; i < 512; i++) {
		size_t n = 1 + (size_t)i * 37 % 3000;
		pattern_ok &= ((unsigned char *)v[i])[n - 1] == (i & 0xff);
		if (i % 3 == 0)
			v[i] = realloc(v[i], n * 2);
		pattern_ok &= ((unsigned char *)v[i])[n - 1] == (i & 0xff);
		free(v[i]);
	}
	check(pattern_ok, "512 mixed blocks keep their contents");

	printf("edge: %d failures\n", failures);
	return failures ? 1 : 0;
}
