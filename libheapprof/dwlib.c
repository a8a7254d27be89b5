/*
 * dwlib.c - loads elfutils at the first profile that names functions.
 *
 * dlopen(RTLD_LOCAL), as libunwind is (stack.c): libdw's and libelf's
 * names stay out of the program's symbol search.  A program that has them
 * loaded already (perf, gdb, systemtap) gets the same copy back.  The load
 * runs on a thread that writes a profile (the dumper, the HTTP server, the
 * exit hook, heapprof_dump's caller), never on an allocation's path;
 * pthread_once makes it once (glibc's runs it again in a child forked in
 * the middle).  Where libdw cannot be loaded (not installed, a chroot
 * without it, a sandbox that refuses open) a profile still has its samples,
 * addresses and mappings, so pprof can name the functions from the
 * binaries itself.
 */
#define HP_DWLIB_SELF
#include "dwlib.h"
#include "hp.h"

#include <dlfcn.h>
#include <pthread.h>

struct hp_dwlib hp_dwlib;

static struct {
	pthread_once_t once;
	int tried;
	int ok;
} dl = { PTHREAD_ONCE_INIT, 0, 0 };

static void load(void)
{
	dl.tried = 1;
	void *h = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return;
	struct hp_dwlib t;
	int missing = 0;
	/* libelf's functions through libdw's handle: dlsym searches an
	 * object's dependencies too */
#define HP_DWLIB_SYM(f) missing |= !(*(void **)&t.f = dlsym(h, #f));
	HP_DWLIB_FUNCS(HP_DWLIB_SYM)
#undef HP_DWLIB_SYM
	if (missing)
		return;         /* an elfutils older than 0.158; left loaded */
	hp_dwlib = t;
	dl.ok = 1;
}

int hp_dwlib_load(void)
{
	pthread_once(&dl.once, load);
	return dl.ok ? 0 : -1;
}

int hp_dwlib_missing(void)
{
	return dl.tried && !dl.ok;
}
