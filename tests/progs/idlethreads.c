/*
 * idlethreads.c - threads that never allocate get no malloc arena.
 *
 * glibc gives a thread an arena at its first allocation.  A profiler that
 * allocated on every new thread at its start (pthread_getattr_np's cpuset,
 * for its stack bounds) gave idle threads arenas too, which malloc_info()
 * shows and which change the arenas later threads are handed.  Six threads
 * wait on a barrier while main counts the arenas.
 *
 * usage: idlethreads; prints the arena count, exit 0.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { THREADS = 6 };

static pthread_barrier_t gate;

static void *idle(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&gate);    /* started */
	pthread_barrier_wait(&gate);    /* counted */
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	pthread_barrier_init(&gate, NULL, THREADS + 1);
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, idle, NULL) != 0)
			return 1;
	pthread_barrier_wait(&gate);
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return 1;
	malloc_info(0, f);
	fclose(f);
	int arenas = 0;
	for (char *p = buf; (p = strstr(p, "<heap nr=")); p++)
		arenas++;
	free(buf);
	printf("arenas: %d\n", arenas);
	pthread_barrier_wait(&gate);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	return 0;
}
