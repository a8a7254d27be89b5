/*
 * exitthread.c - exit() called from a thread other than main while two
 * other threads keep allocating.
 *
 * exit() runs the atexit handlers and destructors (where a preloaded
 * profiler writes its profile) on the exiting thread while the spinners go
 * on calling malloc and free.  The main thread sits in pthread_join.
 * Truth at rate 1 (tests/integration/lib_pprof.py, EXITTHREAD): leaf
 * exit_alloc 3 objects / 6666 B allocated and in use.
 * stdout is fixed; the exit code is 42.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *kept[3];

static void *spinner(void *arg)
{
	unsigned x = (unsigned)(long)arg + 7;
	for (;;) {
		x = x * 1103515245u + 12345u;
		size_t sz = 1 + (x >> 10) % 5000;
		char *p = malloc(sz);
		memset(p, 1, sz);
		free(p);
	}
	return NULL;
}

void exit_alloc(void)
{
	for (int i = 0; i < 3; i++)
		kept[i] = malloc(2222); /* @exit_alloc */
}

static void *exiter(void *arg)
{
	(void)arg;
	struct timespec ts = { 0, 50 * 1000000L };
	nanosleep(&ts, NULL);
	exit_alloc();
	printf("exitthread: exiting from a thread\n");
	exit(42);
}

int main(void)
{
	pthread_t sp[2], ex;

	printf("exitthread: started\n");
	for (int i = 0; i < 2; i++)
		pthread_create(&sp[i], NULL, spinner, (void *)(long)i);
	pthread_create(&ex, NULL, exiter, NULL);
	pthread_join(ex, NULL);
	printf("exitthread: not reached\n");
	return 1;
}
