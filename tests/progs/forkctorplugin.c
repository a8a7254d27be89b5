/*
 * forkctorplugin.c - a library whose constructor forks (and waits for the
 * child), loaded over and over by tests/progs/dlfork.c.  The constructor
 * runs inside dlopen, which holds the dynamic linker's lock.
 */
#include <sys/wait.h>
#include <unistd.h>

__attribute__((constructor)) static void forks(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	if (p > 0)
		waitpid(p, NULL, 0);
}
