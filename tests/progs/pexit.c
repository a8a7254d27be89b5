/*
 * pexit.c - main leaves with pthread_exit while its threads run on.
 *
 * glibc ends the process with exit(0) when the last thread exits, so the
 * process must end when both workers are done, with exit code 0 (and,
 * under the profiler, write its exit profile), not wait for the
 * profiler's own threads, which never exit by themselves.  One worker
 * allocates, the other never does, and each finishes after main is gone.
 * Output: three fixed lines, in this order.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *volatile sink;

static void pause_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000 };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void *allocating(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++)
		sink = malloc(1000);
	pause_ms(100);
	printf("allocating worker done\n");
	return NULL;
}

static void *quiet(void *arg)
{
	(void)arg;
	pause_ms(200);
	printf("quiet worker done\n");
	return NULL;
}

int main(void)
{
	pthread_t a, q;
	setvbuf(stdout, NULL, _IONBF, 0);
	if (pthread_create(&a, NULL, allocating, NULL) != 0 || pthread_create(&q, NULL, quiet, NULL) != 0)
		return 1;
	printf("main leaves\n");
	pthread_exit(NULL);
}
