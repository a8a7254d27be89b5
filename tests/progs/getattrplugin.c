/*
 * getattrplugin.c - a second preload that wraps pthread_getattr_np and
 * calls the real one, as tracing preloads do.  heapprof tells an
 * allocation made inside pthread_getattr_np by where it was called from,
 * libc's code; taken from the symbol as the program binds it, that was
 * this wrapper's code, and tests/progs/getattr.c hung again
 * (tests/integration/lib_getattr.sh).
 */
#include <dlfcn.h>
#include <pthread.h>

int pthread_getattr_np(pthread_t t, pthread_attr_t *a)
{
	static int (*real)(pthread_t, pthread_attr_t *);
	if (!real)
		real = (int (*)(pthread_t, pthread_attr_t *))dlsym(RTLD_NEXT, "pthread_getattr_np");
	return real ? real(t, a) : -1;
}
