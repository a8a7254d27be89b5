/*
 * dwlib.c - loads elfutils at the first profile that names functions.
 *
 * dlopen(RTLD_LOCAL), as libunwind is (stack.c): libdw's and libelf's
 * names stay out of the program's symbol search.  A program that has them
 * loaded already (perf, gdb, systemtap) gets the same copy back.  The load
 * runs on a thread that writes a profile (the dumper, the HTTP server, the
 * exit hook, heapprof_dump's caller), never on an allocation's path, and
 * once.  Not with pthread_once: a thread that waits there cannot stop
 * waiting, and the loader's lock can be held by that very thread (exit()
 * from a library constructor, inside dlopen) while the dumper's dlopen
 * waits for it: the exit hung for good.  A second caller waits for the
 * first at most a second, then goes on without names; a child forked in
 * the middle starts afresh (hp_dwlib_atfork_child).  Where libdw cannot be loaded (not installed, a chroot
 * without it, a sandbox that refuses open) a profile still has its samples,
 * addresses and mappings, so pprof can name the functions from the
 * binaries itself.
 */
#define HP_DWLIB_SELF
#include "dwlib.h"
#include "hp.h"

#include <dlfcn.h>
#include <link.h>
#include <time.h>

struct hp_dwlib hp_dwlib;

static struct {
	int state;      /* 0 not tried, 1 loading, 2 loaded, 3 failed (atomic) */
} dl;

/* 1 when every pointer of hp_dwlib is set. */
static int load(void)
{
	void *h = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return 0;
	struct hp_dwlib t;
	int missing = 0;
	/* libelf's functions through libdw's handle: dlsym searches an
	 * object's dependencies too */
#define HP_DWLIB_SYM(f) missing |= !(*(void **)&t.f = dlsym(h, #f));
	HP_DWLIB_FUNCS(HP_DWLIB_SYM)
#undef HP_DWLIB_SYM
	if (missing)
		return 0;       /* an elfutils older than 0.158; left loaded */
	hp_dwlib = t;
	return 1;
}

/* Exit work after exit() from a signal handler that interrupted the
 * dynamic linker (a dlopen, a dlclose) on this thread: a dlopen now runs
 * inside the interrupted one, whose lock this thread holds already, and
 * ld.so stopped the process with an assertion (exit code 127, 8 of 60
 * exits of a program looping over dlopen/dlclose).  The loader says in
 * _r_debug (the debuggers' interface) when its list of objects is being
 * changed; then the profile goes without names.  (A handler that exits
 * from anywhere else, a SIGTERM handler that calls exit(), still loads
 * libdw here.) */
static int loader_busy(void)
{
	return hp_self.on_exitheap && __atomic_load_n(&_r_debug.r_state, __ATOMIC_ACQUIRE) != RT_CONSISTENT;
}

int hp_dwlib_load(void)
{
	if (__atomic_load_n(&dl.state, __ATOMIC_ACQUIRE) == 0 && loader_busy())
		return -1;
	int s = 0;
	if (__atomic_compare_exchange_n(&dl.state, &s, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&dl.state, load() ? 2 : 3, __ATOMIC_RELEASE);
	}
	for (int i = 0; i < 1000 && __atomic_load_n(&dl.state, __ATOMIC_ACQUIRE) == 1; i++) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return __atomic_load_n(&dl.state, __ATOMIC_ACQUIRE) == 2 ? 0 : -1;
}

void hp_dwlib_atfork_child(void)
{
	int loading = 1;
	__atomic_compare_exchange_n(&dl.state, &loading, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

int hp_dwlib_missing(void)
{
	return __atomic_load_n(&dl.state, __ATOMIC_ACQUIRE) == 3;
}
