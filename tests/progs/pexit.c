/*
 * pexit.c - main leaves with pthread_exit while its threads run on.
 *
 * glibc ends the process with exit(0) when the last thread exits, so the
 * process must end when both workers are done, with exit code 0 (and,
 * under the profiler, write its exit profile), not wait for the
 * profiler's own threads, which never exit by themselves.  One worker
 * allocates, the other never does, and each finishes after main is gone.
 * Output: three fixed lines, in this order.
 *
 * usage: pexit [stdin]: with "stdin" the quiet worker waits for the end of
 * its standard input instead of 200 ms, so a test can signal a dump while
 * main is gone and only a thread that never allocated is left
 * (live_signal.sh): the dump must still be taken.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static int wait_stdin;

static void *quiet(void *arg)
{
	(void)arg;
	char c;
	if (wait_stdin)
		while (read(0, &c, 1) > 0)
			;
	else
		pause_ms(200);
	printf("quiet worker done\n");
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t a, q;
	wait_stdin = argc > 1 && !strcmp(argv[1], "stdin");
	setvbuf(stdout, NULL, _IONBF, 0);
	if (pthread_create(&a, NULL, allocating, NULL) != 0 || pthread_create(&q, NULL, quiet, NULL) != 0)
		return 1;
	printf("main leaves\n");
	pthread_exit(NULL);
}
