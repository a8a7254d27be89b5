/*
 * cancel.c - malloc and free are not cancellation points, so a thread that
 * calls nothing else is never cancelled, however long a cancel request is
 * pending.  Under a profiler whose lock waits in a cancellable call
 * (nanosleep, say), the request would fire inside malloc or free, with the
 * program's locks held and its block lost.
 *
 * Four threads allocate as fast as they can (at HEAPPROF_RATE=1 every call
 * takes the profiler's lock, so some wait for it); one of them gets a
 * pthread_cancel, the others stop after 300 ms, and that one must then
 * return normally.
 *
 * Prints "not cancelled"; exits 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int stop;

static void *spin(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		void *p = malloc(64);
		__asm__ volatile("" : : "r"(p) : "memory");
		free(p);
	}
	return NULL;
}

int main(void)
{
	pthread_t th[4];
	void *res = NULL;

	for (int i = 0; i < 4; i++)
		if (pthread_create(&th[i], NULL, spin, NULL) != 0) {
			fprintf(stderr, "cancel: cannot create a thread\n");
			return 1;
		}
	usleep(100000);
	pthread_cancel(th[0]);
	usleep(300000);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(th[0], &res);
	for (int i = 1; i < 4; i++)
		pthread_join(th[i], NULL);
	printf("%s\n", res == PTHREAD_CANCELED ? "cancelled inside malloc or free" : "not cancelled");
	return res == PTHREAD_CANCELED;
}
