/*
 * sigfree.c - a signal handler that frees sampled blocks and allocates new
 * ones of the same size, 20 000 times a second, while the program allocates and frees in a
 * loop, so that signals land inside the profiler's own locks.
 *
 * Such a free must wait (the block's shard lock may be the one the
 * interrupted code holds), and the wait list once broke two ways: a signal
 * landing while the list was flushed freed its blocks twice (glibc abort,
 * "double free detected"), and past 8 waiting blocks the rest leaked, still
 * counted in use.  At exit every block is freed: at HEAPPROF_RATE=1 the
 * profile must show none of pool_alloc's or back_alloc's in use
 * (tests/integration/lib_transparency.sh).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define POOL 40000

static void *pool[POOL], *back[POOL];
static volatile sig_atomic_t next;

static __attribute__((noinline)) void *pool_alloc(size_t n)
{
	return malloc(n);
}

static __attribute__((noinline)) void *back_alloc(size_t n)
{
	return malloc(n);
}

static void on_alarm(int sig)
{
	(void)sig;
	int e = errno, i = next;
	if (i < POOL) {
		/* the same size back: glibc's per-thread cache gives the block
		 * just freed, so the handler never reaches the heap's own
		 * structures, which the interrupted malloc may be changing */
		free(pool[i]);
		pool[i] = NULL;
		back[i] = back_alloc(24 + i % 64);
		next = i + 1;
	}
	errno = e;
}

int main(void)
{
	for (int i = 0; i < POOL; i++)
		pool[i] = pool_alloc(24 + i % 64);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 50 }, { 0, 50 } };
	setitimer(ITIMER_REAL, &it, NULL);
	unsigned long sum = 0;
	for (long i = 0; next < POOL / 4; i++) {
		char *p = malloc(1100 + (size_t)(i & 1023));
		p[0] = (char)i;
		sum += (unsigned char)p[0];
		free(p);
	}
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	for (int i = 0; i < POOL; i++) {
		free(pool[i]);
		free(back[i]);
	}
	printf("done (%d handler calls)\n", next > 0);
	return sum == 0xffffffff;
}
