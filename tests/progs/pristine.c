/*
 * pristine.c - the heap the program starts main with is the one it would
 * have without the profiler.
 *
 * heapprof's own start-up (loading libunwind, the main thread's stack
 * bounds, the dumper thread) allocates through libc; those blocks must not
 * come from the program's heap, or the program sees them: mallinfo2() at
 * main counts them, the first small mallocs return recycled chunks with
 * old pointers in them instead of fresh memory (what MALLOC_PERTURB_
 * would not fill either), and where an aligned block's slack falls moves,
 * which malloc_usable_size shows.  Every line printed is a fact that
 * depends only on the heap's state, so a preloaded run must print what a
 * plain run prints.  Last, the program's first thread: the profiler starts
 * its dumper thread then, whose TLS vector glibc allocates, which must not
 * come from the program's heap either (352 bytes more in use).  Not to the
 * byte: the program's own thread's TLS vector has one 16-byte slot more
 * for each library with thread-local storage, ours and libunwind.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *idle(void *arg)
{
	return arg;
}

int main(void)
{
	static const size_t sizes[] = { 16, 24, 32, 48, 64, 100, 200, 500, 1000, 1100, 2000, 4000 };
	struct mallinfo2 m = mallinfo2();
	printf("at main: %zu bytes in use, %zu in the arena, %zu free chunks\n", m.uordblks, m.arena, m.ordblks);
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		unsigned char *p = malloc(sizes[k]);
		size_t nz = 0;
		for (size_t i = 0; i < sizes[k]; i++)
			nz += p[i] != 0;
		printf("malloc(%zu): %zu non-zero bytes\n", sizes[k], nz);
	}
	void *a = memalign(64, 100);
	printf("memalign(64, 100): %zu usable bytes\n", malloc_usable_size(a));
	m = mallinfo2();
	printf("after: %zu bytes in use\n", m.uordblks);
	size_t before = m.uordblks;
	pthread_t t;
	pthread_create(&t, NULL, idle, NULL);
	pthread_join(t, NULL);
	m = mallinfo2();
	printf("a thread leaves under 100 bytes more in use: %s\n", m.uordblks - before < 100 ? "yes" : "no");
	return 0;
}
