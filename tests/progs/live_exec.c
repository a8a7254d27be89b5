/*
 * live_exec.c - a program that starts another program with exec.
 *
 *   live_exec fork    allocates (parent_keep: 4 x 2000 B), then fork + execv
 *                     of itself as "live_exec child", waits for it; exit 0
 *   live_exec spawn   the same with posix_spawn (no fork handlers run)
 *   live_exec child   the exec'd program: allocates (exec_child_keep:
 *                     3 x 3000 B, kept), prints "child PID LD_PRELOAD=VALUE"
 *                     (VALUE "-" when unset), exits 0
 *
 * With the profiler preloaded and HEAPPROF_OUT=DIR/e.%p.pb.gz the parent
 * and the exec'd child each write their own profile; with HEAPPROF_FOLLOW=0
 * the child runs without the profiler (no file, LD_PRELOAD without
 * libheapprof).  stdout: "parent PID", the child's line, "child exit 0".
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static void *keep[4];

static void parent_keep(void)
{
	for (int i = 0; i < 4; i++)
		keep[i] = malloc(2000);
}

static void exec_child_keep(void)
{
	for (int i = 0; i < 3; i++)
		keep[i] = malloc(3000);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "fork";
	if (!strcmp(mode, "child")) {
		exec_child_keep();
		const char *pre = getenv("LD_PRELOAD");
		printf("child %d LD_PRELOAD=%s\n", (int)getpid(), pre ? pre : "-");
		return 0;
	}
	parent_keep();
	printf("parent %d\n", (int)getpid());
	fflush(stdout);
	char *cargv[] = { argv[0], "child", NULL };
	pid_t pid;
	if (!strcmp(mode, "spawn")) {
		if (posix_spawn(&pid, argv[0], NULL, NULL, cargv, environ) != 0)
			return 1;
	} else {
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			execv(argv[0], cargv);
			_exit(127);
		}
	}
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	printf("child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
