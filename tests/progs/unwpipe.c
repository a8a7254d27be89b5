/*
 * unwpipe.c - a program whose allocations come through code without unwind
 * tables (hand-written assembly, as in JITs and some libraries), which
 * closes its descriptors above 2 as a daemon does and then copies a file.
 *
 * heapprof's own stack walk cannot step such a frame and hands the stack
 * to libunwind, which then checks each address it reads by writing it to a
 * pipe of its own.  Made at the lowest free numbers, that pipe was the
 * program's: its first open() after the first walk returned 5, not 3, and
 * once the program had closed 3 and 4 and opened its files there,
 * libunwind read from the program's input and wrote to its output.
 *
 * usage: unwpipe IN OUT: prints the number of a descriptor opened after
 * the first walk, then copies IN to OUT 10 bytes at a time, allocating
 * between each read and write; prints "copied N".  Exit code 0, 1 when a
 * file cannot be opened.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void *nocfi_alloc(size_t n);

/* A frame-pointer frame with no CFI: no .eh_frame entry covers it. */
__asm__(".text\n"
	".globl nocfi_alloc\n"
	".type nocfi_alloc, @function\n"
	"nocfi_alloc:\n"
	"\tpush %rbp\n"
	"\tmov %rsp, %rbp\n"
	"\tcall malloc@PLT\n"
	"\tpop %rbp\n"
	"\tret\n"
	".size nocfi_alloc, . - nocfi_alloc\n");

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	free(nocfi_alloc(100));
	int probe = open("/dev/null", O_RDONLY);
	printf("first descriptor %d\n", probe);
	for (int fd = 3; fd < 64; fd++)
		close(fd);
	int in = open(argv[1], O_RDONLY), out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (in < 0 || out < 0)
		return 1;
	char buf[10];
	ssize_t n;
	long total = 0;
	while ((n = read(in, buf, sizeof buf)) > 0) {
		free(nocfi_alloc(100));
		if (write(out, buf, (size_t)n) != n)
			return 1;
		total += n;
	}
	printf("copied %ld\n", total);
	return 0;
}
