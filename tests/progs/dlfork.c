/*
 * dlfork.c - loads and unloads a library whose constructor forks
 * (forkctorplugin.so) for a few seconds, while the profiler writes
 * periodic dumps (HEAPPROF_INTERVAL=1).  A dump waits for the dynamic
 * linker's lock, which dlopen holds while the constructor forks, and the
 * fork waited for the dump to end: both for ever.  Now the fork goes ahead
 * after a bounded wait.
 *
 * usage: dlfork PLUGIN SECONDS; prints "done", exit 0 (1 when dlopen fails).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	time_t end = time(NULL) + atoi(argv[2]);
	while (time(NULL) < end) {
		void *h = dlopen(argv[1], RTLD_NOW);
		if (!h)
			return 1;
		dlclose(h);
	}
	printf("done\n");
	return 0;
}
