/*
 * closerange.c - a program that keeps closing every descriptor above 2
 * (close_range, as daemons and process supervisors do) and opening a file
 * of its own, which then gets fd 3, while dumps run: it writes a 64 KiB
 * pattern, waits, and reads it back, four times per file.  A descriptor the
 * profiler held at 3 (a dump's output file, an ELF file libdw reads) would
 * be closed under the dump, reused for the program's file, and written to
 * or closed by the dump.  The test sends the dump signal all the while.
 *
 * usage: closerange SECONDS FILE      prints "bad N" (N = 0 without harm)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char buf[65536], back[65536];
	char *keep[256] = { 0 };
	long bad = 0, iters = 0;
	if (argc != 3)
		return 2;
	time_t end = time(NULL) + atoi(argv[1]);
	while (time(NULL) < end) {
		for (int i = 0; i < 256; i++) {        /* something for the dumps to show */
			free(keep[i]);
			keep[i] = strdup("a string kept so that the heap holds something");
		}
		syscall(SYS_close_range, 3u, ~0u, 0u);
		int fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return 1;
		memset(buf, 'a' + (int)(iters % 26), sizeof buf);
		for (int k = 0; k < 4; k++) {
			if (pwrite(fd, buf, sizeof buf, 0) != (ssize_t)sizeof buf)
				bad++;
			usleep(100);
			if (pread(fd, back, sizeof back, 0) != (ssize_t)sizeof back || memcmp(buf, back, sizeof buf))
				bad++;
		}
		if (close(fd) != 0)
			bad++;
		iters++;
	}
	for (int i = 0; i < 256; i++)
		free(keep[i]);
	printf("bad %ld\n", bad);
	return 0;
}
