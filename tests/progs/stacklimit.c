/*
 * stacklimit.c - the first thread allocates, and exits, a few KiB above
 * the lowest address its stack may grow to: RLIMIT_STACK below the top of
 * the stack's mapping, which lies above the arguments and the environment.
 *
 * heapprof takes that thread's stack bounds without glibc's read of
 * /proc/self/maps (stack.c, main_stack_bounds).  Counted from where the
 * environment ends instead of from the mapping's top, a large environment
 * put the bottom too low: a sample there saw room that was not, walked off
 * the stack and the program died of SIGSEGV; so did exit(), whose profile
 * was built on the thread's stack instead of a mapping of its own.
 *
 * usage: stacklimit ROOM [exit]: moves down to ROOM bytes above the limit,
 * makes 50 allocations of 600 000 bytes there (sampled at any rate) and
 * prints "ok ROOM"; with "exit", calls exit(0) there instead.  Run it with
 * a large environment.
 */
#include <alloca.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static uintptr_t limit;

static __attribute__((noinline)) void work(void)
{
	for (int i = 0; i < 50; i++) {
		void *volatile p = malloc(600000 + (size_t)i);
		free(p);
	}
}

static __attribute__((noinline)) void at(size_t room, int leave)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	volatile char *p = alloca(sp - limit - room);
	p[0] = 1;
	if (leave) {
		printf("exit at %zu\n", room);
		fflush(stdout);
		exit(0);
	}
	work();
	__asm__ volatile("" : : "r"(p) : "memory");
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	char line[512];
	unsigned long lo = 0, hi = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, "[stack]"))
			sscanf(line, "%lx-%lx", &lo, &hi);
	if (f)
		fclose(f);
	struct rlimit rl;
	if (!hi || getrlimit(RLIMIT_STACK, &rl) != 0 || rl.rlim_cur > (64u << 20))
		return 1;
	limit = hi - rl.rlim_cur;
	size_t room = strtoul(argv[1], NULL, 0);
	work();
	at(room, argc > 2 && !strcmp(argv[2], "exit"));
	printf("ok %zu\n", room);
	return 0;
}
