/*
 * stack.c - capturing the call stack of a sampled allocation.
 *
 * libunwind's unw_backtrace (its cached fast-trace path, about 8 ns a frame)
 * does the walk.  It is loaded with dlopen(RTLD_LOCAL) rather than linked:
 * libunwind.so.8 exports backtrace() and the _Unwind_* family, and as a
 * dependency of a preloaded library those would come before libgcc_s in
 * the program's symbol search order and take over its C++ exceptions.
 *
 * Frames are cut by address, not by count: first the profiler's own
 * (everything in libheapprof's text), then C++ operator new/new[] (libstdc++
 * calls malloc from them), so a sample's leaf is the code that allocated.
 */
#include "hp.h"

#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>
#include <string.h>

#define NSKIP 12

struct range { uintptr_t lo, hi; };

static struct {
	int (*backtrace)(void **, int);
	struct range self;
	struct range skip[NSKIP];       /* operator new variants */
	int nskip;
} st;

static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	uintptr_t probe = (uintptr_t)arg;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		if (a < lo)
			lo = a;
		if (a + ph->p_memsz > hi)
			hi = a + ph->p_memsz;
	}
	if (probe >= lo && probe < hi) {
		st.self.lo = lo;
		st.self.hi = hi;
		return 1;
	}
	return 0;
}

static void add_skip(const char *sym)
{
	void *addr = dlsym(RTLD_DEFAULT, sym);
	Dl_info info;
	const ElfW(Sym) *es = NULL;
	if (!addr || st.nskip >= NSKIP)
		return;
	if (!dladdr1(addr, &info, (void **)&es, RTLD_DL_SYMENT) || !es || !es->st_size)
		return;
	st.skip[st.nskip].lo = (uintptr_t)addr;
	st.skip[st.nskip].hi = (uintptr_t)addr + es->st_size;
	st.nskip++;
}

int hp_stack_init(void)
{
	static const char *const news[] = {
		"_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
		"_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
		"_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
	};
	dl_iterate_phdr(find_self, (void *)(uintptr_t)hp_stack_capture);
	for (size_t i = 0; i < sizeof news / sizeof news[0]; i++)
		add_skip(news[i]);

	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		h = dlopen("libunwind.so", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return -1;
	st.backtrace = (int (*)(void **, int))dlsym(h, "unw_backtrace");
	int (*policy)(unw_addr_space_t, unw_caching_policy_t) =
		(int (*)(unw_addr_space_t, unw_caching_policy_t))dlsym(h, "_ULx86_64_set_caching_policy");
	unw_addr_space_t *as = (unw_addr_space_t *)dlsym(h, "_ULx86_64_local_addr_space");
	if (policy && as)
		policy(*as, UNW_CACHE_PER_THREAD);
	return st.backtrace ? 0 : -1;
}

static inline int in(const struct range *r, uintptr_t a)
{
	return a >= r->lo && a < r->hi;
}

static int in_new(uintptr_t a)
{
	for (int i = 0; i < st.nskip; i++)
		if (in(&st.skip[i], a))
			return 1;
	return 0;
}

int hp_stack_capture(uintptr_t *pcs, int max)
{
	void *buf[HP_MAX_DEPTH + 16];
	if (!st.backtrace)
		return 0;
	int n = st.backtrace(buf, max + 16);
	int i = 0;
	while (i < n && in(&st.self, (uintptr_t)buf[i]))
		i++;
	while (i < n && in_new((uintptr_t)buf[i]))
		i++;
	int d = 0;
	for (; i < n && d < max; i++)
		pcs[d++] = (uintptr_t)buf[i];
	return d;
}
