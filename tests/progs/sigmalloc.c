/*
 * sigmalloc.c - a signal handler that allocates, in a program with one
 * thread.
 *
 * POSIX does not allow malloc in a signal handler, but with one thread
 * glibc takes no lock and it works, and programs do it.  A handler that
 * lands while its thread is inside one of the profiler's critical
 * sections (a free of a sampled block holds its shard's lock) and then
 * samples an allocation, or frees or reallocs a sampled block, must not
 * wait for that lock: its own thread holds it, and waited for ever.
 *
 * A 100 us timer interrupts a loop of malloc/realloc/free; the handler
 * frees the block its last call left, mallocs and reallocs a new one.
 * Even single-threaded, a handler's malloc is safe only where it cannot
 * meet the interrupted call in glibc's heap: the loop's blocks are too
 * large for glibc's per-thread cache, the handler's 40-byte blocks always
 * come from it (filled before the timer starts, and realloc to the same
 * size stays in place), so the plain run never fails.
 *
 * usage: sigmalloc [iterations]; prints one line, exit 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static void *volatile left;     /* the handler's block, kept to its next call */
static volatile sig_atomic_t calls;

static void on_alarm(int sig)
{
	(void)sig;
	int e = errno;
	free(left);
	char *q = malloc(40);
	if (q) {
		q[0] = 1;
		char *r = realloc(q, 40);
		q = r ? r : q;
	}
	left = q;
	calls++;
	errno = e;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 300000;
	void *fill[7];
	for (int i = 0; i < 7; i++)
		fill[i] = malloc(40);
	for (int i = 0; i < 7; i++)
		free(fill[i]);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 100 }, { 0, 100 } };
	setitimer(ITIMER_REAL, &it, NULL);

	unsigned long sum = 0;
	for (long i = 0; i < n; i++) {
		char *p = malloc(1100 + (size_t)(i & 1023));
		if (!p)
			return 1;
		p[0] = (char)i;
		if (i % 7 == 0) {
			char *r = realloc(p, 2000 + (size_t)(i & 2047));
			if (r)
				p = r;
		}
		sum += (unsigned char)p[0];
		free(p);
	}

	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	free(left);
	printf("sigmalloc: %ld iterations, checksum %lu, handler ran: %s\n", n, sum, calls > 0 ? "yes" : "no");
	return 0;
}
