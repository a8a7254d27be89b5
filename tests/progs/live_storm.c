/*
 * live_storm.c - a storm of dump signals while threads allocate.
 *
 * NTHREADS threads malloc, calloc, realloc and free blocks of mixed sizes
 * in a loop, each keeping a ring of live blocks, while the main thread
 * sends the process NSIG signals (kill(getpid(), SIG)), one every GAP_US
 * microseconds.  Under the profiler every signal asks the dumper thread
 * for a profile, so dumps run again and again while allocation goes on:
 * the test (tests/integration/live_storm.sh) checks that nothing crashes
 * or hangs and that every file written is complete.  A dump that never
 * finishes shows as a hang: the whole run is bounded by the test.
 *
 * Usage: live_storm NSIG [GAP_US [SIG]]   (defaults: 200 signals, 2000 us,
 * SIGUSR2).  Run it with NSIG 0 without the profiler (the default action
 * of SIGUSR2 would end it) to get the reference output.
 *
 * stdout is fixed whatever the timing: "4 threads done"; exit code 0.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NTHREADS 4
#define RING 512

static atomic_int stop;

static void *worker(void *arg)
{
	unsigned x = (unsigned)(long)arg * 2654435761u + 7;
	char *ring[RING] = { 0 };
	while (!atomic_load(&stop)) {
		for (int k = 0; k < 1000; k++) {
			x = x * 1103515245u + 12345u;
			int i = (int)(x >> 8) % RING;
			size_t n = (size_t)16 << (x >> 16) % 10;     /* 16 B .. 8 KiB */
			switch ((x >> 4) % 4) {
			case 0:
				free(ring[i]);
				ring[i] = malloc(n);
				break;
			case 1:
				free(ring[i]);
				ring[i] = calloc(1, n);
				break;
			case 2: {
				char *q = realloc(ring[i], n);
				if (q)
					ring[i] = q;
				break;
			}
			default:
				free(ring[i]);
				ring[i] = NULL;
			}
			if (ring[i])
				ring[i][0] = 1;
		}
	}
	for (int i = 0; i < RING; i++)
		free(ring[i]);
	return NULL;
}

int main(int argc, char **argv)
{
	int nsig = argc > 1 ? atoi(argv[1]) : 200;
	long gap = argc > 2 ? atol(argv[2]) : 2000;
	int sig = argc > 3 ? atoi(argv[3]) : SIGUSR2;
	pthread_t th[NTHREADS];
	for (long i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)i) != 0)
			return 1;
	for (int i = 0; i < nsig; i++) {
		kill(getpid(), sig);
		usleep((useconds_t)gap);
	}
	usleep(100000);
	atomic_store(&stop, 1);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	printf("%d threads done\n", NTHREADS);
	return 0;
}
