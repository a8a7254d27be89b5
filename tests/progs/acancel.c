/*
 * acancel.c - threads cancelled asynchronously while they malloc and free.
 *
 * POSIX does not allow asynchronous cancellation around malloc, but
 * programs do it, and glibc's malloc mostly survives it.  A thread killed
 * that way inside heapprof's sample path could leave one of its locks
 * held, and the exit profile then waited for it for ever: the program
 * never ended.  Now that profile is given up after a while (with a
 * warning) and the program ends as it would without heapprof.  Everything
 * main allocates is allocated before the first thread starts.
 *
 * usage: acancel [rounds]; prints how many threads were cancelled; exit 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *churn(void *arg)
{
	(void)arg;
	int old;
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
	for (;;) {
		void *p[8];
		for (int i = 0; i < 8; i++)
			p[i] = malloc(32 + 64 * (size_t)i);
		for (int i = 0; i < 8; i++)
			free(p[i]);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 50, cancelled = 0;
	printf("cancelling %d threads\n", rounds);      /* stdout's buffer, now */
	for (int r = 0; r < rounds; r++) {
		pthread_t t;
		void *res;
		if (pthread_create(&t, NULL, churn, NULL) != 0)
			return 1;
		usleep(500);
		pthread_cancel(t);
		pthread_join(t, &res);
		cancelled += res == PTHREAD_CANCELED;
	}
	printf("cancelled %d\n", cancelled);
	return 0;
}
