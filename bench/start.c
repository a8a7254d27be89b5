/*
 * start.c - what heapprof adds to starting a process: spawns a small
 * program (default /bin/true) N times, one after another, each with this
 * process's environment (so under LD_PRELOAD each child loads the
 * library, as the children of a profiled build or script do under
 * HEAPPROF_FOLLOW), and reports per start:
 *
 *   result ns_per_alloc=WALL cpu_ns_per_alloc=CPU allocs=N seconds=S profiler_bytes=-1
 *
 * in bench.h's format, "alloc" standing for one start: WALL is elapsed
 * time per start, CPU the children's CPU time (user + system) per start.
 * This process's own start is not timed.
 *
 * usage: start N [PROGRAM]
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double children_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 0;
	char *prog = argc > 2 ? argv[2] : "/bin/true";
	char *av[] = { prog, NULL };
	if (n <= 0) {
		fprintf(stderr, "usage: start N [PROGRAM]\n");
		return 2;
	}
	double c0 = children_cpu(), t0 = now();
	for (long i = 0; i < n; i++) {
		pid_t pid;
		int st;
		if (posix_spawn(&pid, prog, NULL, NULL, av, environ) != 0 || waitpid(pid, &st, 0) != pid ||
		    !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "start: %s failed\n", prog);
			return 1;
		}
	}
	double t = now() - t0, c = children_cpu() - c0;
	printf("result ns_per_alloc=%.0f cpu_ns_per_alloc=%.0f allocs=%ld seconds=%.4f profiler_bytes=-1\n",
	       t / n * 1e9, c / n * 1e9, n, t);
	return 0;
}
