/*
 * runner.c - runs one benchmark command and reports its wall time and peak
 * RSS, for bench/bench.py.
 *
 * Why not let Python wait4() the command itself: Linux keeps a process's
 * peak RSS across execve, so a command forked from the Python harness
 * would report at least the harness's own ~16 MiB.  This small program
 * forks the command from its own small address space instead, so ru_maxrss
 * is the command's (or, as wait4 reports it, the largest of the command and
 * the descendants it waited for).
 *
 * usage: runner STATSFILE [NAME=VALUE]... -- COMMAND [ARG]...
 * The NAME=VALUE pairs are set in the command's environment only, so the
 * runner itself is never preloaded with the tool being measured.  It
 * writes "wall_s=<s> cpu_s=<user+system s> maxrss_kb=<kb> status=<exit code,
 * or 128+signal>" to STATSFILE and exits 0, or 1 if the command could not
 * be run.  CPU time and peak RSS include the descendants the command
 * waited for (heaptrack's interpreter, cc1 under gcc).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status;
	pid_t pid;

	int cmd = 2;

	while (cmd < argc && strcmp(argv[cmd], "--") != 0)
		cmd++;
	if (cmd + 1 >= argc) {
		fprintf(stderr, "runner: usage: runner STATSFILE [NAME=VALUE]... -- COMMAND [ARG]...\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "runner: cannot fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		for (int i = 2; i < cmd; i++)
			if (putenv(argv[i]) != 0)
				_exit(127);
		execvp(argv[cmd + 1], argv + cmd + 1);
		fprintf(stderr, "runner: cannot run '%s': %s\n", argv[cmd + 1], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "runner: wait4: %s\n", strerror(errno));
			return 1;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	FILE *f = fopen(argv[1], "w");
	if (!f) {
		fprintf(stderr, "runner: cannot open '%s': %s\n", argv[1], strerror(errno));
		return 1;
	}
	fprintf(f, "wall_s=%.6f cpu_s=%.6f maxrss_kb=%ld status=%d\n",
		(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9,
		ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6,
		ru.ru_maxrss,
		WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return fclose(f) == 0 ? 0 : 1;
}
