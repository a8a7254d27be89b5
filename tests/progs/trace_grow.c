/*
 * trace_grow.c - a heap that only grows, for the HEAPTRACE growth lines.
 *
 * grow_step() allocates blocks of BLOCK bytes (64 KiB, touched) and keeps
 * them until the heap holds TOTAL MiB (argument, default 70), printing one
 * line per whole 8 MiB; then main frees everything and exits normally.
 * Under HEAPTRACE=1 with the defaults the trace must show growth lines at
 * 4, 8, 16, 32 and 64 MiB in use (tests/integration/trace_line.sh), and the
 * exit line shows in-use back near 0.
 *
 * Usage: trace_grow [TOTAL_MIB [BLOCK_KIB]].  stdout: "grown 8 MiB" ...,
 * then "freed N blocks"; exit code 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char **blocks;

static char *grow_step(size_t block)
{
	char *p = malloc(block);
	if (p)
		memset(p, 1, block);
	return p;
}

int main(int argc, char **argv)
{
	long total = argc > 1 ? atol(argv[1]) : 70;
	size_t block = (size_t)(argc > 2 ? atol(argv[2]) : 64) << 10;
	long n = (long)(((size_t)total << 20) / block);
	blocks = calloc((size_t)n, sizeof *blocks);
	if (!blocks)
		return 1;
	for (long i = 0; i < n; i++) {
		blocks[i] = grow_step(block);
		if (((size_t)(i + 1) * block) % (8 << 20) == 0)
			printf("grown %zu MiB\n", (size_t)(i + 1) * block >> 20);
	}
	for (long i = 0; i < n; i++)
		free(blocks[i]);
	free(blocks);
	printf("freed %ld blocks\n", n);
	return 0;
}
