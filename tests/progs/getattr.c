/*
 * getattr.c - threads whose first allocation is made inside
 * pthread_getattr_np.
 *
 * Runtimes ask for a new thread's stack at its very start (Rust's std
 * does, for its guard page; so do garbage collectors): pthread_getattr_np
 * takes the thread's own lock and, holding it, reallocs a cpuset.  That is
 * the thread's first allocation, and a profiler that learned the thread's
 * stack bounds there, through pthread_getattr_np, waited for ever on the
 * lock the thread already held.  Every thread here asks for its own
 * attributes first thing; half of them also ask for another thread's.
 * Half are started with pthread_create, which heapprof wraps, half with
 * C11's thrd_create, which glibc starts without going through that
 * wrapper.  The run must end, and print what it prints plainly.
 *
 * usage: getattr; exit code 0 when every thread saw a stack.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <threads.h>

enum { THREADS = 8 };

static pthread_t main_thread;

static int stack_size_of(pthread_t t)
{
	pthread_attr_t a;
	void *lo;
	size_t size;
	if (pthread_getattr_np(t, &a) != 0)
		return 0;
	int ok = pthread_attr_getstack(&a, &lo, &size) == 0 && size > 0;
	pthread_attr_destroy(&a);
	return ok;
}

static void *worker(void *arg)
{
	long i = (long)arg;
	int ok = stack_size_of(pthread_self());
	if (i % 2)
		ok &= stack_size_of(main_thread);
	free(malloc(100));      /* and then an ordinary allocation */
	return (void *)(long)ok;
}

static int c11_worker(void *arg)
{
	return worker(arg) != NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	thrd_t c[THREADS];
	int seen = 0;
	main_thread = pthread_self();
	for (long i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i) != 0 ||
		    thrd_create(&c[i], c11_worker, (void *)i) != thrd_success)
			return 1;
	for (int i = 0; i < THREADS; i++) {
		void *r;
		int cr;
		pthread_join(t[i], &r);
		thrd_join(c[i], &cr);
		seen += (r != NULL) + cr;
	}
	printf("%d of %d threads saw their stack\n", seen, 2 * THREADS);
	return seen == 2 * THREADS ? 0 : 1;
}
