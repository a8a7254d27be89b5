/*
 * stack.c - capturing the call stack of a sampled allocation.
 *
 * By default cfi.c walks the stack from the modules' .eh_frame rules, cached
 * per return address (a few instructions a frame), and hands any stack with
 * a frame it cannot step (a signal frame, a CFA expression) to libunwind's
 * unw_backtrace, which HEAPPROF_UNWIND=libunwind uses for every stack
 * (about 100 instructions a frame).  libunwind is loaded with dlopen(RTLD_LOCAL) rather than linked:
 * libunwind.so.8 exports backtrace() and the _Unwind_* family, and as a
 * dependency of a preloaded library those would come before libgcc_s in
 * the program's symbol search order and take over its C++ exceptions.
 *
 * HEAPPROF_UNWIND=fp walks frame pointers instead (about 1 ns a frame
 * against about 13): for programs built with -fno-omit-frame-pointer.  The
 * walk reads only inside the current thread's stack and stops at the first
 * frame pointer that leaves it or does not grow, so it cannot fault; but
 * through code without frame pointers (most distributions' libc) it stops
 * early or, rarely, records a wrong caller, which is why it is opt-in.
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
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <ucontext.h>

#define NSKIP 12

struct range { uintptr_t lo, hi; };

/* This thread's stack, for the frame-pointer walk; hi 0 = not known yet. */
static HP_TLS uintptr_t stack_lo, stack_hi;

static struct {
	int (*backtrace)(void **, int);
	int (*policy)(unw_addr_space_t, unw_caching_policy_t);
	unw_addr_space_t *as;
	int policy_state;               /* 0 not set, 1 being set, 2 set: see per_thread_cache */
	size_t unw_tls;                 /* libunwind's TLS module id, 0 if none (hp_stack_thread_start) */
	int mode;                       /* HEAPPROF_UNWIND: HP_UNWIND_* */
	struct range self;
	struct range unwinder;          /* libunwind's loaded segments (hp_stack_unwinder_owns) */
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

/* Switches libunwind to per-thread caches before its first unw_backtrace,
 * and returns 1 once they are on.  Not at init when cfi.c walks the
 * stacks: setting the policy flushes libunwind's global cache, which
 * faulted in 80-150 KiB of its code and data (the loop benchmark's peak
 * RSS) that a program whose frames cfi.c can all step never uses.  It
 * must come before any unw_backtrace: libunwind unlocks its global cache
 * by the policy of the moment, so a switch under a running walk would
 * leave that lock held.  A thread that finds another switching gets 0
 * and goes without the fallback for this one stack. */
static int per_thread_cache(void)
{
	int s = __atomic_load_n(&st.policy_state, __ATOMIC_ACQUIRE);
	if (s == 2)
		return 1;
	if (s == 1 || !__atomic_compare_exchange_n(&st.policy_state, &s, 1, 0, __ATOMIC_ACQ_REL,
						   __ATOMIC_ACQUIRE))
		return __atomic_load_n(&st.policy_state, __ATOMIC_ACQUIRE) == 2;
	if (st.policy && st.as)
		st.policy(*st.as, UNW_CACHE_PER_THREAD);
	__atomic_store_n(&st.policy_state, 2, __ATOMIC_RELEASE);
	return 1;
}

static int stack_bounds(void);

static inline int in(const struct range *r, uintptr_t a)
{
	return a >= r->lo && a < r->hi;
}

/* dl_iterate_phdr: the address range of libunwind's loadable segments,
 * found by its load bias (arg: its link_map). */
static int find_unwinder(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	const struct link_map *lm = arg;
	if (info->dlpi_addr != lm->l_addr || !info->dlpi_name || strcmp(info->dlpi_name, lm->l_name))
		return 0;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + ph->p_vaddr < lo)
			lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
			hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	if (lo < hi) {
		st.unwinder.lo = lo;
		st.unwinder.hi = hi;
	}
	return 1;
}

int hp_stack_unwinder_owns(uintptr_t pc)
{
	return in(&st.unwinder, pc);
}

int hp_stack_init(void)
{
	static const char *const news[] = {
		"_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
		"_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
		"_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
	};
	dl_iterate_phdr(find_self, (void *)(uintptr_t)hp_stack_capture);
	st.mode = hp_cfg.unwind;
	if (st.mode == HP_UNWIND_CFI && hp_cfi_init() != 0)
		st.mode = HP_UNWIND_LIBUNWIND;
	for (size_t i = 0; i < sizeof news / sizeof news[0]; i++)
		add_skip(news[i]);

	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		h = dlopen("libunwind.so", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return -1;
	st.backtrace = (int (*)(void **, int))dlsym(h, "unw_backtrace");
	struct link_map *lm;
	if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0)
		dl_iterate_phdr(find_unwinder, lm);
	if (dlinfo(h, RTLD_DI_TLS_MODID, &st.unw_tls) != 0)
		st.unw_tls = 0;
	st.policy = (int (*)(unw_addr_space_t, unw_caching_policy_t))dlsym(h, "_ULx86_64_set_caching_policy");
	st.as = (unw_addr_space_t *)dlsym(h, "_ULx86_64_local_addr_space");
	if (st.mode == HP_UNWIND_LIBUNWIND)
		per_thread_cache();
	/* The initialising thread's start now, not at its first allocation:
	 * should its bounds need pthread_getattr_np's read of /proc/self/maps
	 * (init on another thread than the first), a program may by then run
	 * under a seccomp filter that kills on open (set up at the top of
	 * main, before its first malloc).  Init runs
	 * before main, from our constructor if not earlier, and its blocks
	 * come from the bootstrap arena (interpose.c), so the program's heap
	 * is at main as it would be without us. */
	hp_stack_thread_start();
	return st.backtrace || st.mode == HP_UNWIND_FP ? 0 : -1;
}


static int in_new(uintptr_t a)
{
	for (int i = 0; i < st.nskip; i++)
		if (in(&st.skip[i], a))
			return 1;
	return 0;
}

/* The process's first stack, when this thread runs on it, without asking
 * pthread_getattr_np: for that stack glibc reads /proc/self/maps with
 * sscanf, about 0.1 ms of every profiled process's start (more with many
 * mappings).  The top: the page that holds __libc_stack_end, where _start
 * found the stack pointer (every frame lies below it, and its page is
 * mapped).  The bottom: RLIMIT_STACK below the top of the stack's mapping,
 * as the kernel counts it and glibc has it when nothing is mapped nearer
 * (the kernel puts other mappings at least 128 MiB below the stack; more
 * than that, or no limit, counts as 128 MiB here: a stack grown past that
 * is just not ours, and takes the slower walk).  That top lies above the
 * arguments and the environment: the page after the end of the program's
 * file name (AT_EXECFN), which exec copies there first.  Counted from
 * __libc_stack_end instead, a 300 KB environment put the bottom 300 KB
 * too low, and a sample near the real limit walked off the stack (the
 * stack-room check saw room that was not there).  Exactly there, no margin
 * above it: a stack pointer below the bottom is taken for another stack
 * (a coroutine's), whose samples have no room check.  0, or -1 when this thread's stack pointer is not on that
 * stack (a thread's own, or a forked child of one) or the top is not as
 * expected. */
extern void *__libc_stack_end;
static int main_stack_bounds(uintptr_t *lo, uintptr_t *hi)
{
	struct rlimit rl;
	uintptr_t top = ((uintptr_t)__libc_stack_end + 4095) & ~(uintptr_t)4095;
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	const char *fn = (const char *)getauxval(AT_EXECFN);
	if (!__libc_stack_end || !fn || (uintptr_t)fn < (uintptr_t)__libc_stack_end ||
	    getrlimit(RLIMIT_STACK, &rl) != 0)
		return -1;
	uintptr_t end = ((uintptr_t)fn + strlen(fn) + 1 + 4095) & ~(uintptr_t)4095;
	uintptr_t size = rl.rlim_cur < ((uintptr_t)128 << 20) ? (uintptr_t)rl.rlim_cur : (uintptr_t)128 << 20;
	if (end - top > ((uintptr_t)64 << 20) || size < end - top + 65536)
		return -1;
	uintptr_t bottom = end - size;
	if (sp >= top || sp < bottom)
		return -1;
	*lo = bottom;
	*hi = top;
	return 0;
}

/* Learns this thread's stack bounds once (pthread_getattr_np may allocate:
 * the caller holds the guard).  Returns 0, or -1 when they cannot be known;
 * that too is remembered, as the empty range [1, 1), so it is asked once. */

static int stack_bounds(void)
{
	pthread_attr_t a;
	void *addr;
	size_t size;
	if (!stack_hi) {
		stack_lo = stack_hi = 1;
		uintptr_t lo, hi;
		if (main_stack_bounds(&lo, &hi) == 0) {
			stack_lo = lo;
			stack_hi = hi;
			return 0;
		}
		if (pthread_getattr_np(pthread_self(), &a) != 0)
			return -1;
		int r = pthread_attr_getstack(&a, &addr, &size);
		pthread_attr_destroy(&a);
		if (r != 0 || size < 4096)
			return -1;
		stack_lo = (uintptr_t)addr;
		stack_hi = (uintptr_t)addr + size;
	}
	return stack_hi > stack_lo ? 0 : -1;
}

/* Whether this thread may ask for its stack bounds now: yes once it knows
 * them, and not inside pthread_getattr_np (interpose.c notes it), which
 * holds a thread's lock while it allocates (a cpuset realloc'd, an
 * attribute extension calloc'd): our own pthread_getattr_np for the thread
 * waited on that lock for ever, and a runtime that asks for a new thread's
 * stack first thing (Rust's std, garbage collectors) made that the
 * thread's first allocation (tests/progs/getattr.c).  Such a thread learns
 * its bounds at its next allocation outside it (core.c, bounds_later);
 * until then its samples are walked by libunwind, which needs no bounds
 * (dropped under HEAPPROF_UNWIND=fp).  Learning them at thread start
 * instead gave every thread a malloc arena, even one that never
 * allocates; telling "inside" by the caller being libc's code left
 * threads that allocate only through libc without bounds. */
int hp_stack_safe(void)
{
	return stack_hi || !hp_self.in_getattr;
}

/* Whether this thread has room for a sample on the stack it runs on.  A
 * sample takes a few KiB of stack (its 2 KiB frame buffer, and libunwind's
 * walk, which takes every stack that is not the thread's own; 6.5 KiB when
 * there were two buffers), and a signal handler may run on a sigaltstack of SIGSTKSZ, 8 KiB,
 * most of which the program's handler uses itself: a malloc sampled there
 * overflowed it into whatever lay below.  The same on the thread's own
 * stack near its end: with 6 KiB left, where glibc's malloc needs 3.3, a
 * sample walked by libunwind died of SIGSEGV (tests/progs/tinystack.c).
 * With less than HP_SAMPLE_STACK left on its alternate stack, or
 * HP_SAMPLE_STACK_OWN on its own (libunwind's walk measured at about
 * 8 KiB; a smaller margin, so that threads of 16 to 32 KiB still sample),
 * the sample is dropped (and counted).  Other stacks (coroutines) cannot
 * be measured and are sampled as before. */
#define HP_SAMPLE_STACK (16u << 10)
#define HP_SAMPLE_STACK_OWN (12u << 10)

/* Whether sp is on the thread's alternate signal stack (its bounds in
 * *ss).  Asked only off the thread's own stack: sshd's pre-auth child runs
 * under a seccomp filter that kills the process at sigaltstack(2), and the
 * exit hook's question killed it at every login.  An alternate stack
 * inside the thread's stack region (a handler's array on main's stack)
 * is then taken for the stack itself, whose bounds hold it. */
static int on_altstack(uintptr_t sp, stack_t *ss)
{
	if (sp > stack_lo && sp <= stack_hi)
		return 0;
	return sigaltstack(NULL, ss) == 0 && (ss->ss_flags & SS_ONSTACK);
}

int hp_stack_room(void)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	if (HP_LIKELY(sp > stack_lo && sp <= stack_hi))
		return sp - stack_lo >= HP_SAMPLE_STACK_OWN;
	stack_t ss;
	if (!on_altstack(sp, &ss))
		return 1;
	return sp - (uintptr_t)ss.ss_sp >= HP_SAMPLE_STACK;
}

/* A signal handler's frame returns to the sigreturn trampoline that
 * sigaction put in sa_restorer (glibc's __restore_rt), whose address the
 * kernel stores on the stack as the frame's return address.  So: a scan of
 * the words between here and the top of the stack this thread runs on (the
 * alternate one, if it is on it) for one that points at the trampoline's
 * code, "mov $15, %rax; syscall" (rt_sigreturn), in libc's text.  By its
 * code, not by the handlers installed now: a handler installed with
 * SA_RESETHAND, or one that ignores its signal before calling exit(), is no
 * longer in the table.  A stray copy of that address on the stack makes a
 * false "yes", which costs only the exit heap's pages (exitheap.c).  An
 * unknown stack, or another trampoline than libc's, gives "no", as before. */
#if defined(__x86_64__)
static const unsigned char sigreturn_code[] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };
#endif

/* libc by its file name: an address like &sigaction goes through our GOT
 * and could name another preload that wraps the function. */
static int libc_text_of(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	uintptr_t *r = arg;
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	const char *base = strrchr(name, '/');
	if (strcmp(base ? base + 1 : name, "libc.so.6") != 0)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			r[0] = info->dlpi_addr + ph->p_vaddr;
			r[1] = r[0] + ph->p_memsz;
		}
	}
	return 1;
}

void hp_stack_libc_text(uintptr_t *lo, uintptr_t *hi)
{
	static uintptr_t r[2];
	if (!__atomic_load_n(&r[1], __ATOMIC_ACQUIRE)) {
		uintptr_t n[2] = { 0, 0 };
		dl_iterate_phdr(libc_text_of, n);
		r[0] = n[0];
		__atomic_store_n(&r[1], n[1], __ATOMIC_RELEASE);
	}
	*lo = r[0];
	*hi = __atomic_load_n(&r[1], __ATOMIC_ACQUIRE);
}

/* The innermost signal frame on this thread's stack (the word that holds
 * the return address into libc's sigreturn code), or NULL; *top: the end
 * of the stack it is on. */
static const uintptr_t *signal_frame(uintptr_t *top)
{
#if defined(__x86_64__)
	uintptr_t lo, hi;
	hp_stack_libc_text(&lo, &hi);
	if (!hi)
		return NULL;
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	stack_t ss;
	if (on_altstack(sp, &ss))
		*top = (uintptr_t)ss.ss_sp + ss.ss_size;
	else if (sp > stack_lo && sp <= stack_hi)
		*top = stack_hi;
	else
		return NULL;
	for (const uintptr_t *w = (const uintptr_t *)(sp & ~(uintptr_t)7); (uintptr_t)(w + 1) <= *top; w++)
		if (*w >= lo && *w <= hi - sizeof sigreturn_code &&    /* no sum: it may wrap */
		    !memcmp((const void *)*w, sigreturn_code, sizeof sigreturn_code))
			return w;
#else
	(void)top;
#endif
	return NULL;
}

int hp_stack_in_handler(void)
{
	uintptr_t top;
	return signal_frame(&top) != NULL;
}

/* The x86-64 ABI's entry to a module's thread-local block (ld.so). */
typedef struct {
	unsigned long ti_module, ti_offset;
} hp_tls_index;
extern void *__tls_get_addr(hp_tls_index *ti);

/* Does now, at this thread's first allocation (for the thread that runs
 * hp_init, at init: hp_stack_init), what would otherwise
 * allocate from the program's heap at its first sample, a random point
 * of the program's own allocations (tests/integration/lib_heaplayout.sh):
 *  - the stack bounds: pthread_getattr_np allocates a cpuset (for the
 *    main thread, stdio's buffers to read /proc/self/maps).  Made at a
 *    sample, that small block could leave glibc's heap in a state where
 *    every later malloc worked harder: in about one run of the loop
 *    benchmark in eight, glibc's malloc executed 25 % more instructions
 *    to the end (callgrind, 3 of 26 runs; none in 32 without it);
 *  - libunwind's thread-local block: libunwind is dlopen'ed, so glibc
 *    mallocs the block on the thread's first use of it, a first walk
 *    (HEAPPROF_UNWIND=libunwind: that walk is made now) or cfi.c's first
 *    fallback (the block alone is made now, through __tls_get_addr, which
 *    is what libunwind's own code calls).
 * Caller holds the guard. */
void hp_stack_thread_start(void)
{
	if (hp_stack_safe())
		stack_bounds(); /* all modes: hp_stack_room reads them too */
	if (st.mode == HP_UNWIND_CFI && st.unw_tls) {
		/* the block a first fallback would make glibc allocate */
		hp_tls_index ti = { st.unw_tls, 0 };
		(void)__tls_get_addr(&ti);
	} else if (st.mode == HP_UNWIND_LIBUNWIND && st.backtrace) {
		void *pc;
		st.backtrace(&pc, 1);
	}
}

/* Frame-pointer walk: each frame record is {caller's frame pointer, return
 * address}.  It starts at the program's frame, or here when that is not on
 * this stack (a sigaltstack): this function and its callers in the library
 * are built with frame pointers, so the chain is whole up to the program.  Writes the return
 * addresses after the profiler's own frames (and operator new) straight
 * into pcs. */
static __attribute__((noinline)) int fp_capture(uintptr_t *pcs, int max, const struct hp_frame *from)
{
	if (!hp_stack_safe() || stack_bounds() != 0)
		return 0;
	const uintptr_t lo = stack_lo, hi = stack_hi - 2 * sizeof(uintptr_t);
	uintptr_t f = (uintptr_t)__builtin_frame_address(0);
	int n = 0, leading = 1;
	if (from->sp >= lo && from->sp <= hi) {
		if (!in(&st.self, from->pc) && !in_new(from->pc)) {
			leading = 0;
			pcs[n++] = from->pc;
		}
		f = from->bp;
	}
	while (n < max && f >= lo && f <= hi && !(f & (sizeof(uintptr_t) - 1))) {
		const uintptr_t *fp = (const uintptr_t *)f;
		uintptr_t ret = fp[1], next = fp[0];
		if (ret < 4096)
			break;
		if (in(&st.self, ret) || (leading && in_new(ret)))
			;       /* the profiler (see below), or still in operator new */
		else {
			leading = 0;
			pcs[n++] = ret;
		}
		if (next <= f)
			break;
		f = next;
	}
	return n;
}

int hp_stack_capture(uintptr_t buf[HP_STACK_BUF], int max, const struct hp_frame *from, int *first)
{
	int n = -1, i = 0;
	*first = 0;
	if (st.mode == HP_UNWIND_FP && (n = fp_capture(buf, max, from)) > 0)
		return n;
	/* Under fp, a chain that gives no frame of the program goes to
	 * libunwind: code without frame pointers that uses rbp for data
	 * before the program's first frame (libstdc++'s aligned operator
	 * new) made it stop at once, and the sample was dropped. */
	if (st.mode == HP_UNWIND_CFI && hp_stack_safe() && stack_bounds() == 0) {
		/* The walk has left out our own frames already. */
		n = hp_cfi_walk(buf, max + 8, stack_lo, stack_hi, st.self.lo, st.self.hi, from);
		if (n >= 0) {
			while (i < n && in_new(buf[i]))
				i++;
			*first = i;
			return n - i < max ? n - i : max;
		}
	}
	if (!st.backtrace || !per_thread_cache())
		return 0;
	n = st.backtrace((void **)buf, max + 16);
	while (i < n && in(&st.self, buf[i]))
		i++;
	while (i < n && in_new(buf[i]))
		i++;
	/* Further frames of ours: only the pthread_create wrapper calls back
	 * into the program (thread_begin leaves no frame: it tail-calls the
	 * start routine), and what pthread_create allocates belongs to libc's
	 * pthread_create and its caller, as without us.  Compacted in place:
	 * d never passes i. */
	int d = 0;
	for (; i < n && d < max; i++)
		if (!in(&st.self, buf[i]))
			buf[d++] = buf[i];
	return d;
}

/* ---- room for a dump ---- */

/* Building a profile takes about 150 KiB of stack (libdw's
 * dwarf_getsrclines alone; the dumper thread has 256 KiB), and the exit
 * profile, the leak report and heapprof_dump() are built on the calling
 * thread: exit() from a thread with a 32 KiB stack, or from a main thread
 * under `ulimit -s 128`, died of SIGSEGV there (tests/progs/smallstack.c).
 * With less than HP_DUMP_STACK left on this thread's stack (or a stack we
 * do not know, such as a signal handler's), fn runs on a mapping of its
 * own, with a guard page below it, and the thread comes back to its stack
 * afterwards. */
#define HP_DUMP_STACK (256u << 10)
#define HP_DUMP_MAP (512u << 10)

static HP_TLS struct {
	void (*fn)(void *);
	void *arg;
} on_big;

static void run_big(void)
{
	on_big.fn(on_big.arg);
}

void hp_stack_run_big(void (*fn)(void *), void *arg)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	if (stack_hi > stack_lo && sp > stack_lo && sp <= stack_hi && sp - stack_lo >= HP_DUMP_STACK) {
		fn(arg);
		return;
	}
	unsigned char *m = mmap(NULL, HP_DUMP_MAP + 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED || mprotect(m, 4096, PROT_NONE) != 0) {
		if (m != MAP_FAILED)
			munmap(m, HP_DUMP_MAP + 4096);
		fn(arg);        /* as before: this stack may be enough */
		return;
	}
	/* Called on an alternate signal stack (exit() in a handler): off it,
	 * the kernel delivers the next SA_ONSTACK signal at its top, over the
	 * frames we left there, `back` among them.  So every signal stays
	 * blocked from before the switch until we are back on it: setcontext
	 * sets the mask before it moves the stack pointer. */
	stack_t ss;
	sigset_t all, old;
	int blocked = on_altstack((uintptr_t)__builtin_frame_address(0), &ss);
	if (blocked) {
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
	}
	ucontext_t back, run;
	if (getcontext(&run) == 0) {
		run.uc_stack.ss_sp = m + 4096;
		run.uc_stack.ss_size = HP_DUMP_MAP;
		run.uc_link = &back;
		on_big.fn = fn;
		on_big.arg = arg;
		makecontext(&run, run_big, 0);
		if (swapcontext(&back, &run) != 0)
			fn(arg);
	} else {
		fn(arg);
	}
	munmap(m, HP_DUMP_MAP + 4096);
	if (blocked)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
}
