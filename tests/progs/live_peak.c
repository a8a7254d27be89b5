/*
 * live_peak.c - a heap that rises to a peak and falls back before exit.
 *
 * peak_block() allocates 64 blocks of 1 MiB (64 MiB in use), the program
 * holds that peak for HOLD_MS milliseconds, then frees 60 of them and exits
 * normally with 4 MiB still in use.  The final profile (at exit) shows only
 * the 4 MiB; HEAPPROF_PEAK=1 must keep the profile of the peak and write it
 * at exit, with about 64 MiB in use (tests/integration/live_peak.sh).
 *
 * Usage: live_peak [HOLD_MS [fork]]  (default 300; 0 frees at once, the
 * hardest case for a profiler that records the peak late).  With "fork",
 * a child forked at the end, 4 MiB in use, allocates 8 blocks of 1 MiB
 * more (child_block) and exits: its peak profile must show its own
 * 12 MiB peak, not the parent's 64 MiB.
 * stdout: "peak 64 MiB, end 4 MiB"; exit code 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NBLOCKS 64
#define KEEP 4
#define MIB (1 << 20)

static char *blocks[NBLOCKS];

static void peak_block(int i)
{
	blocks[i] = malloc(MIB);
	memset(blocks[i], 1, 4096);
}

static void child_block(char **p)
{
	*p = malloc(MIB);
	memset(*p, 2, 4096);
}

int main(int argc, char **argv)
{
	int hold = argc > 1 ? atoi(argv[1]) : 300;
	int do_fork = argc > 2 && !strcmp(argv[2], "fork");
	for (int i = 0; i < NBLOCKS; i++)
		peak_block(i);
	usleep((useconds_t)hold * 1000);
	for (int i = KEEP; i < NBLOCKS; i++)
		free(blocks[i]);
	if (do_fork) {
		pid_t c = fork();
		if (c == 0) {
			for (int i = 0; i < 8; i++)
				child_block(&blocks[KEEP + i]);
			exit(0);
		}
		if (c > 0)
			waitpid(c, NULL, 0);
	}
	printf("peak %d MiB, end %d MiB\n", NBLOCKS, KEEP);
	return 0;
}
