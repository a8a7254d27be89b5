/*
 * initlockplugin.c - a library whose constructor makes the process's first
 * allocation from inside libc, while libc holds one of its own locks.
 * Preloaded after libheapprof.so, its constructor runs before heapprof's,
 * so heapprof starts inside that allocation.  heapprof's start used to
 * register its atexit and pthread_atfork handlers there and, under
 * HEAPPROF_FOLLOW=0, edit LD_PRELOAD with setenv: each takes the lock the
 * thread already held, and the program never reached main
 * (tests/integration/lib_transparency.sh).
 *
 * INITLOCK selects the lock:
 *   atexit - 40 atexit handlers: glibc callocs room for the 33rd under
 *            __exit_funcs_lock;
 *   atfork - 50 pthread_atfork handlers: the list grows under its lock;
 *   setenv - setenv of a new variable: the environment grows under its
 *            lock (heapprof's own setenv only with HEAPPROF_FOLLOW=0).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void nop(void)
{
}

__attribute__((constructor)) static void initlock_constructor(void)
{
	const char *mode = getenv("INITLOCK");
	if (!mode)
		return;
	if (!strcmp(mode, "atexit")) {
		for (int i = 0; i < 40; i++)
			atexit(nop);
	} else if (!strcmp(mode, "atfork")) {
		for (int i = 0; i < 50; i++)
			pthread_atfork(nop, nop, nop);
	} else if (!strcmp(mode, "setenv")) {
		setenv("INITLOCK_SET", "1", 1);
	}
}
