/*
 * libconly.c - a thread that allocates only through libc (strdup).
 *
 * heapprof learns a thread's stack bounds at its first allocation, but not
 * from inside pthread_getattr_np (tests/progs/getattr.c).  A first version
 * of that rule took any allocation from libc's code as "inside", so this
 * thread never learned its bounds: under HEAPPROF_UNWIND=fp every one of
 * its samples was dropped, and every allocation took the slow path.
 *
 * usage: libconly; keeps 2000 strings of 4000 bytes, prints a line, exit 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { STRINGS = 2000, LEN = 4000 };

static char text[LEN];
static char *kept[STRINGS];

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < STRINGS; i++)
		kept[i] = strdup(text);
	return NULL;
}

int main(void)
{
	memset(text, 'x', LEN - 1);
	pthread_t t;
	if (pthread_create(&t, NULL, worker, NULL) != 0)
		return 1;
	pthread_join(t, NULL);
	size_t total = 0;
	for (int i = 0; i < STRINGS; i++)
		total += kept[i] ? strlen(kept[i]) + 1 : 0;
	printf("kept %zu bytes\n", total);
	return 0;
}
