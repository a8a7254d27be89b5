/*
 * ctorexit.c - loads a library whose constructor exits the process from
 * inside dlopen (ctorexitplugin.so), while periodic dumps run
 * (HEAPPROF_INTERVAL=1).  The dump that fell in the constructor's work
 * loaded libdw and waited for the loader's lock; exit's own profile waited
 * for that load, holding the lock: the process never ended.  Now the exit
 * profile waits a second at most.
 *
 * usage: ctorexit PLUGIN; exit code 3 (the constructor's).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	for (int i = 0; i < 2000; i++) {
		void *volatile p = malloc(4000);
		(void)p;
	}
	if (!dlopen(argv[1], RTLD_NOW))
		return 1;
	return 0;
}
