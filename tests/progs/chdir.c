/*
 * chdir.c - a program that moves to another directory after start-up
 * (as daemons do, or a build tool entering a subdirectory).
 *
 * usage: chdir DIR: allocates, chdir(DIR), allocates again, exits 0.  A
 * relative HEAPPROF_OUT names a file in the directory the program started
 * in, not in DIR (tests/integration/lib_output.sh).
 */
#include <stdio.h>
#include <stdlib.h>
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
	return 0;
}
