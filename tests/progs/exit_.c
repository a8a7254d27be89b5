/*
 * exit_.c - leaves with _exit(): no atexit handlers, no destructors.
 *
 * A preloaded profiler gets no chance to run at _exit() (it must not hook
 * _exit, which vfork children call too), so no profile is expected: the test
 * checks that none is written and that the process ends promptly with its
 * own exit code.  stdout is fixed (flushed by hand before _exit); exit code 3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *kept[10];

void leak_some(void)
{
	for (int i = 0; i < 10; i++) {
		kept[i] = malloc(100);
		memset(kept[i], 'e', 100);
	}
}

int main(void)
{
	leak_some();
	printf("exit_: leaving with _exit(3)\n");
	fflush(stdout);
	_exit(3);
}
