/*
 * fd2reuse.c - a program whose fd 2 stops being stderr.
 *
 * Daemons close stderr (or every fd) and go on to open their own files,
 * and the lowest free number is then 2: here a data file.  A profiler that
 * later printed a warning "to stderr", that is to whatever fd 2 had become,
 * wrote it into the program's data.  The program writes DATA to the file
 * at fd 2, keeps it open and exits; the test reads the file afterwards, so
 * the warning heapprof gives at exit (a profile it cannot write) is the
 * one that would land there.
 *
 * usage: fd2reuse FILE; exit code 0 when FILE could be made at fd 2.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char DATA[] = "the program's own data\n";

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	close(2);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd != 2) {
		printf("FAIL: the file is at fd %d, not 2\n", fd);
		return 1;
	}
	if (write(fd, DATA, strlen(DATA)) != (ssize_t)strlen(DATA)) {
		printf("FAIL: cannot write the file\n");
		return 1;
	}
	printf("wrote the file at fd 2\n");
	return 0;
}
