/*
 * proctitle.c - a program that sets its process title as nginx, redis and
 * sshd do: the environment's strings are copied elsewhere (environ points
 * at the copies) and the memory of argv and the environment, one block at
 * the top of the stack, is written over with the title.  A profiler that
 * kept pointers into that block for its settings read the title instead:
 * HEAPPROF_OUT became "" or a piece of the title, and a dump made a file of
 * that name in the program's directory.
 *
 * usage: proctitle DIR: sets the title, makes DIR its working directory,
 * prints "ready" and waits for the end of stdin (a dump signal can come
 * meanwhile); prints "bye", exit code 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	char *dir = strdup(argv[1]);
	char *start = argv[0], *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
	int n = 0;
	while (environ[n])
		n++;
	char **env = calloc((size_t)n + 1, sizeof *env);
	for (int i = 0; i < n; i++) {
		if (environ[i] == end)
			end += strlen(environ[i]) + 1;
		env[i] = strdup(environ[i]);
	}
	environ = env;
	const char title[] = "proctitle: a title long enough to run over the environment's strings ";
	for (char *p = start; p < end - 1; p++)
		*p = title[(size_t)(p - start) % (sizeof title - 1)];
	end[-1] = '\0';
	if (chdir(dir) != 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	char buf[256];
	while (fread(buf, 1, sizeof buf, stdin) > 0)
		;
	printf("bye\n");
	return 0;
}
