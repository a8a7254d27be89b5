/*
 * cancel.c - malloc and free are not cancellation points, so a thread that
 * calls nothing else is never cancelled, however long a cancel request is
 * pending.  Under a profiler that waits, opens or writes with a cancellable
 * call inside malloc (nanosleep in a lock wait, write for a HEAPTRACE
 * line), the request would fire there, with the block lost and perhaps a
 * lock held, so that the process hangs at exit.
 *
 * Three threads allocate 64-byte blocks as fast as they can (at
 * HEAPPROF_RATE=1 every call takes the profiler's lock, so some wait for
 * it).  A fourth gets a pthread_cancel before it starts, then grows a
 * 16 MiB heap and frees it, again and again (HEAPTRACE prints growth lines
 * from its mallocs).  After 300 ms all stop, and the fourth must return
 * normally.  An alarm turns a hang into a failure with a name.
 *
 * Prints "not cancelled"; exits 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum { BLOCKS = 16384, BLOCK = 1024 };

static int stop, go;

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

static void *grow(void *arg)
{
	static void *blk[BLOCKS];
	(void)arg;
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		;               /* not a cancellation point: the request stays pending */
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		for (int i = 0; i < BLOCKS; i++)
			blk[i] = malloc(BLOCK);
		for (int i = 0; i < BLOCKS; i++)
			free(blk[i]);
	}
	return NULL;
}

int main(void)
{
	pthread_t th[4];
	void *res = NULL;

	alarm(30);
	if (pthread_create(&th[0], NULL, grow, NULL) != 0) {
		fprintf(stderr, "cancel: cannot create a thread\n");
		return 1;
	}
	for (int i = 1; i < 4; i++)
		if (pthread_create(&th[i], NULL, spin, NULL) != 0) {
			fprintf(stderr, "cancel: cannot create a thread\n");
			return 1;
		}
	pthread_cancel(th[0]);
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	usleep(300000);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(th[0], &res);
	for (int i = 1; i < 4; i++)
		pthread_join(th[i], NULL);
	printf("%s\n", res == PTHREAD_CANCELED ? "cancelled inside malloc or free" : "not cancelled");
	return res == PTHREAD_CANCELED;
}
