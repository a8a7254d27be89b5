/*
 * sameline.c - five calls of one leaking function on one source line: five
 * return addresses in main, all at the same file:line, as a loop gcc
 * unrolled gives.  heapprof leaks prints them as one stack of 5 objects
 * (tests/integration/cli_run.sh), not five stacks of one; the block
 * allocated on the next line is a stack of its own.
 */
#include <stdlib.h>

void *keep[8];

__attribute__((noinline)) static void leak_one(int i)
{
	keep[i] = malloc(1000);
}

int main(void)
{
	leak_one(0); leak_one(1); leak_one(2); leak_one(3); leak_one(4);
	keep[5] = malloc(100);
	return 0;
}
