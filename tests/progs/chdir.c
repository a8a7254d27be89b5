/*
 * chdir.c - a program that moves to another directory after start-up
 * (as daemons do, or a build tool entering a subdirectory).
 *
 * usage: chdir DIR [SECONDS]: allocates, chdir(DIR), allocates again,
 * prints "moved", stays SECONDS (default 0; signals do not cut it short),
 * exits 0.  A relative HEAPPROF_OUT names a file in the directory the
 * program started in, not in DIR (tests/integration/lib_output.sh), and
 * heapprof dump finds its signal dumps there (cli_dump.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void *volatile sink;

int main(int argc, char **argv)
{
	for (int i = 0; i < 1000; i++)
		sink = malloc(1000);
	if (argc < 2 || chdir(argv[1]) != 0) {
		perror("chdir");
		return 1;
	}
	for (int i = 0; i < 1000; i++)
		sink = malloc(1000);
	printf("moved\n");
	fflush(stdout);
	time_t until = time(NULL) + (argc > 2 ? atoi(argv[2]) : 0);
	while (time(NULL) < until)
		sleep(1);
	return 0;
}
