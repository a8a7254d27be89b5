/*
 * interpose.c - the libc allocator entry points, and nothing else.
 *
 * Every exported function forwards to the next definition in symbol search
 * order (glibc's malloc, or jemalloc/tcmalloc if the program brings one),
 * and does the profiler's part first, with one thread-local compare:
 *
 *   allocation: if (size < countdown) countdown -= size; else slow path
 *   free:       if (the block's live-table slot is empty) nothing; else slow path
 *
 * so that malloc, calloc, realloc and free end in a tail jump to the real
 * function.
 *
 * The slow paths (core.c) sample, count, and look blocks up under a lock.
 * Pointers to the real functions start out pointing at boot_* resolvers,
 * so the fast path never tests "are we initialised?": the first call through
 * each pointer resolves it.  While dlsym itself runs, and while hp_init
 * runs on its thread, allocations come from a static arena; those blocks
 * are registered in the live table with a marker bucket so free()
 * recognises them without an extra range test.
 */
#include "hp.h"

#include <dlfcn.h>
#include <pthread.h>
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct hp_real {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*malloc_usable_size)(void *);
	int (*pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	int (*pthread_getattr_np)(pthread_t, pthread_attr_t *);
	int (*unshare)(int);
	int (*setns)(int, int);
	int (*pipe2)(int *, int);
};

static void *boot_malloc(size_t);
static void boot_free(void *);
static void *boot_calloc(size_t, size_t);
static void *boot_realloc(void *, size_t);
static int boot_posix_memalign(void **, size_t, size_t);
static void *boot_aligned_alloc(size_t, size_t);
static void *boot_memalign(size_t, size_t);
static void *boot_valloc(size_t);
static void *boot_pvalloc(size_t);
static size_t boot_malloc_usable_size(void *);
static int boot_pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
static int boot_pthread_getattr_np(pthread_t, pthread_attr_t *);
static int boot_unshare(int);
static int boot_setns(int, int);
static int boot_pipe2(int *, int);

static struct hp_real real = {
	boot_malloc, boot_free, boot_calloc, boot_realloc, boot_posix_memalign,
	boot_aligned_alloc, boot_memalign, boot_valloc, boot_pvalloc, boot_malloc_usable_size,
	boot_pthread_create, boot_pthread_getattr_np, boot_unshare, boot_setns, boot_pipe2,
};

/* ---- bootstrap: resolving the real functions ---- */

/* Enough for dlsym's own needs on any glibc we know of (2.36 needs none),
 * and for what hp_init allocates (about 10 KiB: loading libunwind, the main
 * thread's stack bounds, the dumper thread's DTV).  Pages never touched
 * cost nothing. */
static struct {
	_Alignas(16) unsigned char mem[65536];
	size_t used;
	atomic_int state;       /* 0 unresolved, 1 resolving, 2 resolved */
} boot;
static HP_TLS int boot_resolving;
static HP_TLS int boot_serving;         /* this thread runs hp_init (hp_boot_serve) */

/* A block of the arena, or NULL when it is full. */
static void *boot_arena_take(size_t n)
{
	size_t need = ((n + 15) & ~(size_t)15) + 16, at = __atomic_load_n(&boot.used, __ATOMIC_RELAXED);
	do {
		if (n > sizeof boot.mem || at + need > sizeof boot.mem)
			return NULL;
	} while (!__atomic_compare_exchange_n(&boot.used, &at, at + need, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	unsigned char *p = boot.mem + at + 16;
	memcpy(p - 16, &n, sizeof n);
	hp_boot_register(p);
	return p;
}

static void *boot_arena_alloc(size_t n)
{
	void *p = boot_arena_take(n);
	if (!p) {
		static const char msg[] = "heapprof: bootstrap arena exhausted\n";
		(void)!write(2, msg, sizeof msg - 1);
	}
	return p;       /* NULL: the caller sees ENOMEM; better than abort() */
}

/* While hp_init runs, what it allocates (through libc: dlopen, stdio,
 * pthread_create) comes from the arena, not from the program's heap: made
 * there, those blocks and the ones they free again stayed in the heap the
 * program starts main with, where mallinfo2() saw 4.8 KiB in use, the first
 * small mallocs returned recycled chunks with old pointers in them instead
 * of fresh zeroed memory, and MALLOC_PERTURB_ did not fill those. */
int hp_boot_serve(int on)
{
	int was = boot_serving;
	boot_serving = on;
	return was;
}

static void *serve(size_t n)
{
	void *p = boot_arena_take(n);
	return p ? p : real.malloc(n);
}

int hp_boot_ready(void)
{
	return atomic_load_explicit(&boot.state, memory_order_acquire) == 2;
}

int hp_boot_owns(const void *p)
{
	return (const unsigned char *)p >= boot.mem && (const unsigned char *)p < boot.mem + sizeof boot.mem;
}

static size_t boot_size(const void *p)
{
	size_t n;
	memcpy(&n, (const unsigned char *)p - 16, sizeof n);
	return n;
}

/* glibc's libc_malloc_debug.so (MALLOC_CHECK_, mtrace, mcheck), preloaded
 * after us, defines malloc and the rest only under hidden, non-default
 * versions, which dlsym skips: it would hand us libc's own malloc and
 * switch the program's malloc checking off without a word.  dlvsym finds
 * them, but must not be used otherwise: it skips an allocator whose
 * symbols carry no version (jemalloc, tcmalloc), and would take libc's
 * from under it.  So the versioned lookup is used only when the plain one
 * found libc's malloc itself and the versioned one something else. */
#if defined(__x86_64__) && defined(__GLIBC__)
#define HP_VER_BASE "GLIBC_2.2.5"
#define HP_VER_ALIGNED "GLIBC_2.16"
#else
#define HP_VER_BASE NULL
#define HP_VER_ALIGNED NULL
#endif
static int hidden_next;
static int next_is_libc;        /* the next allocator is libc's own malloc */

static void *must_sym(const char *name, const char *ver)
{
	void *p = hidden_next && ver ? dlvsym(RTLD_NEXT, name, ver) : NULL;
	return p ? p : dlsym(RTLD_NEXT, name);
}

/* Whether f is defined in the object whose file name starts with name. */
static int defined_in(void *f, const char *name)
{
	Dl_info di;
	if (!f || !dladdr(f, &di) || !di.dli_fname)
		return 0;
	const char *base = strrchr(di.dli_fname, '/');
	base = base ? base + 1 : di.dli_fname;
	return !strncmp(base, name, strlen(name));
}

/* By the defining object, not by comparing with __libc_malloc: tcmalloc
 * defines __libc_malloc too, as an alias of its own malloc, and was taken
 * for libc (and dlvsym then skipped it for glibc's malloc: the program
 * ran on glibc's heap under tcmalloc's name). */
static void find_hidden_next(void *plain_malloc)
{
	if (!HP_VER_BASE)
		return;
	next_is_libc = defined_in(plain_malloc, "libc.so");
	if (!next_is_libc)
		return;
	void *v = dlvsym(RTLD_NEXT, "malloc", HP_VER_BASE);
	hidden_next = v && v != plain_malloc && defined_in(v, "libc_malloc_debug.so");
	next_is_libc = !hidden_next;
}

/* Resolves every pointer at once.  Returns 1 when the real functions can be
 * used, 0 when this thread is inside the resolution (use the arena). */
static int boot_resolve(void)
{
	int s = atomic_load_explicit(&boot.state, memory_order_acquire);
	if (s == 2)
		return 1;
	if (boot_resolving)
		return 0;
	int expect = 0;
	if (!atomic_compare_exchange_strong(&boot.state, &expect, 1)) {
		while (atomic_load_explicit(&boot.state, memory_order_acquire) != 2)
			sched_yield();
		return 1;
	}
	boot_resolving = 1;
	struct hp_real r;
	find_hidden_next(dlsym(RTLD_NEXT, "malloc"));
	r.malloc = must_sym("malloc", HP_VER_BASE);
	r.free = must_sym("free", HP_VER_BASE);
	r.calloc = must_sym("calloc", HP_VER_BASE);
	r.realloc = must_sym("realloc", HP_VER_BASE);
	r.posix_memalign = must_sym("posix_memalign", HP_VER_BASE);
	r.aligned_alloc = must_sym("aligned_alloc", HP_VER_ALIGNED);
	r.memalign = must_sym("memalign", HP_VER_BASE);
	r.valloc = must_sym("valloc", HP_VER_BASE);
	r.pvalloc = must_sym("pvalloc", HP_VER_BASE);
	r.malloc_usable_size = must_sym("malloc_usable_size", HP_VER_BASE);
	r.pthread_create = must_sym("pthread_create", NULL);
	r.pthread_getattr_np = must_sym("pthread_getattr_np", NULL);
	r.unshare = must_sym("unshare", NULL);
	r.setns = must_sym("setns", NULL);
	r.pipe2 = must_sym("pipe2", NULL);
	boot_resolving = 0;
	if (!r.malloc || !r.free || !r.calloc || !r.realloc) {
		static const char msg[] = "heapprof: cannot find the real malloc\n";
		(void)!write(2, msg, sizeof msg - 1);
		_exit(127);     /* nothing sane is left to run on */
	}
	/* Optional entry points: fall back to the ones every allocator has. */
	if (!r.posix_memalign) r.posix_memalign = boot_posix_memalign;
	if (!r.aligned_alloc) r.aligned_alloc = boot_aligned_alloc;
	if (!r.memalign) r.memalign = boot_memalign;
	if (!r.valloc) r.valloc = boot_valloc;
	if (!r.pvalloc) r.pvalloc = boot_pvalloc;
	if (!r.malloc_usable_size) r.malloc_usable_size = boot_malloc_usable_size;
	if (!r.pthread_create) r.pthread_create = boot_pthread_create;
	if (!r.pthread_getattr_np) r.pthread_getattr_np = boot_pthread_getattr_np;
	if (!r.unshare) r.unshare = boot_unshare;
	if (!r.setns) r.setns = boot_setns;
	if (!r.pipe2) r.pipe2 = boot_pipe2;
	real = r;
	atomic_store_explicit(&boot.state, 2, memory_order_release);
	return 1;
}

static void *boot_malloc(size_t n)
{
	return boot_resolve() ? real.malloc(n) : boot_arena_alloc(n);
}

static void boot_free(void *p)
{
	if (boot_resolve())
		real.free(p);
}

static void *boot_calloc(size_t n, size_t m)
{
	size_t t;
	if (boot_resolve())
		return real.calloc(n, m);
	if (__builtin_mul_overflow(n, m, &t)) {
		errno = ENOMEM;
		return NULL;
	}
	return boot_arena_alloc(t);    /* static memory is already zero */
}

static void *boot_realloc(void *p, size_t n)
{
	if (boot_resolve())
		return real.realloc(p, n);
	void *q = boot_arena_alloc(n);
	if (q && p)
		memcpy(q, p, boot_size(p) < n ? boot_size(p) : n);
	return q;
}

/* The aligned entry points are used as fallbacks when the next allocator
 * lacks them, so they are written in terms of posix_memalign/memalign. */
static int boot_posix_memalign(void **out, size_t a, size_t n)
{
	if (!boot_resolve() || real.posix_memalign == boot_posix_memalign) {
		if (a < sizeof(void *) || (a & (a - 1)))
			return EINVAL;
		void *p = real.memalign != boot_memalign ? real.memalign(a, n) : NULL;
		if (!p)
			return ENOMEM;
		*out = p;
		return 0;
	}
	return real.posix_memalign(out, a, n);
}

static void *boot_aligned_alloc(size_t a, size_t n)
{
	if (boot_resolve() && real.aligned_alloc != boot_aligned_alloc)
		return real.aligned_alloc(a, n);
	return boot_memalign(a, n);
}

static void *boot_memalign(size_t a, size_t n)
{
	if (boot_resolve() && real.memalign != boot_memalign)
		return real.memalign(a, n);
	void *p = NULL;
	int e = real.posix_memalign != boot_posix_memalign ? real.posix_memalign(&p, a, n) : ENOMEM;
	if (e) {
		errno = e;
		return NULL;
	}
	return p;
}

static void *boot_valloc(size_t n)
{
	if (boot_resolve() && real.valloc != boot_valloc)
		return real.valloc(n);
	return boot_memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

static void *boot_pvalloc(size_t n)
{
	if (boot_resolve() && real.pvalloc != boot_pvalloc)
		return real.pvalloc(n);
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	return boot_memalign(ps, n ? (n + ps - 1) & ~(ps - 1) : ps);
}

static size_t boot_malloc_usable_size(void *p)
{
	if (boot_resolve() && real.malloc_usable_size != boot_malloc_usable_size)
		return real.malloc_usable_size(p);
	return 0;
}

static int boot_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
	if (boot_resolve() && real.pthread_create != boot_pthread_create)
		return real.pthread_create(t, a, fn, arg);
	return EAGAIN;  /* no libc pthread_create: nothing sane to call */
}

static int boot_pthread_getattr_np(pthread_t t, pthread_attr_t *a)
{
	if (boot_resolve() && real.pthread_getattr_np != boot_pthread_getattr_np)
		return real.pthread_getattr_np(t, a);
	return ENOSYS;
}

static int boot_unshare(int flags)
{
	if (boot_resolve() && real.unshare != boot_unshare)
		return real.unshare(flags);
	errno = ENOSYS;
	return -1;
}

static int boot_setns(int fd, int type)
{
	if (boot_resolve() && real.setns != boot_setns)
		return real.setns(fd, type);
	errno = ENOSYS;
	return -1;
}

static int boot_pipe2(int *fds, int flags)
{
	if (boot_resolve() && real.pipe2 != boot_pipe2)
		return real.pipe2(fds, flags);
	return (int)syscall(SYS_pipe2, fds, flags);     /* sets errno through libc's syscall() */
}

/* Not an allocator entry point: pthread_getattr_np holds a thread's lock
 * while it allocates (a cpuset, an attribute extension), and a thread that
 * asked for its stack bounds from such an allocation, through
 * pthread_getattr_np, waited on that lock for ever (tests/progs/getattr.c:
 * Rust's std and garbage collectors ask for a new thread's stack first
 * thing).  So the thread notes that it is inside, and heapprof asks for its
 * bounds later (hp_stack_safe). */
HP_EXPORT int pthread_getattr_np(pthread_t t, pthread_attr_t *a)
{
	hp_self.in_getattr++;
	int r = real.pthread_getattr_np(t, a);
	hp_self.in_getattr--;
	return r;
}

/* Nor are these: the kernel refuses them to a process with more than one
 * thread, and the dumper thread is one (hp_dumper_single). */
static int call_unshare(int flags, int unused)
{
	(void)unused;
	return real.unshare(flags);
}

static int call_setns(int fd, int type)
{
	return real.setns(fd, type);
}

/* Nor is this: libunwind (1.6) checks the addresses it reads, on a stack
 * walk it takes without unwind tables, by writing them to a pipe of its
 * own, made at its first such walk at the lowest free numbers, the
 * program's.  A program that closed its descriptors above 2 and opened
 * files then had libunwind read and write them (its copy of a file
 * gained bytes it never wrote: tests/progs/unwpipe.c), and the program's
 * next open() was 5 instead of 3.  So a pipe libunwind makes on our
 * thread's stack walk goes where our other descriptors go (hp_fd_high);
 * the program's own pipes are its own, as made. */
static void pipe_ours(int *fds, const void *caller)
{
	if (HP_UNLIKELY(hp_self.guard) && hp_stack_unwinder_owns((uintptr_t)caller)) {
		fds[0] = hp_fd_high(fds[0]);
		fds[1] = hp_fd_high(fds[1]);
	}
}

HP_EXPORT int pipe2(int fds[2], int flags)
{
	int r = real.pipe2(fds, flags);
	if (r == 0)
		pipe_ours(fds, __builtin_return_address(0));
	return r;
}

/* The flags the kernel refuses to a process with threads: what a new user
 * namespace implies, and sharing a thread's own parts. */
#define NEED_ALONE (CLONE_NEWUSER | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM)
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif
#define UNSHARE_FLAGS (NEED_ALONE | CLONE_FS | CLONE_NEWNS | CLONE_FILES | CLONE_SYSVSEM | CLONE_NEWUTS | \
		       CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWCGROUP | CLONE_NEWTIME)

HP_EXPORT int unshare(int flags)
{
	return hp_dumper_single(call_unshare, flags, 0, (flags & NEED_ALONE) && !(flags & ~UNSHARE_FLAGS));
}

/* setns: a user or mount namespace (the latter needs the filesystem
 * context unshared), a time namespace (refused with EUSERS to a process
 * with threads), or any the descriptor names (type 0, a pidfd). */
HP_EXPORT int setns(int fd, int type)
{
	return hp_dumper_single(call_setns, fd, type,
				type == 0 || (type & (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWTIME)));
}

/* Nor are these: where our dump handler is installed the program is told
 * the signal has its default action (dumper.c, hp_dumper_sigaction).
 * signal() is glibc's own code under another of its names, bsd_signal,
 * for every other signal; for ours, the same BSD semantics through our
 * sigaction.  (sysv_signal, sigset and raw rt_sigaction calls still see
 * our handler.) */
extern __sighandler_t bsd_signal(int sig, __sighandler_t h);

HP_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return hp_dumper_sigaction(sig, act, old);
}

HP_EXPORT __sighandler_t signal(int sig, __sighandler_t h)
{
	if (!hp_dumper_signal_ours(sig))
		return bsd_signal(sig, h);
	if (h == SIG_ERR) {             /* as glibc: no handler, the action left alone */
		errno = EINVAL;
		return SIG_ERR;
	}
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, sig);
	sa.sa_flags = SA_RESTART;
	if (hp_dumper_sigaction(sig, &sa, &old) != 0)
		return SIG_ERR;
	return old.sa_handler;
}

int hp_real_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
	return real.pthread_create(t, a, fn, arg);
}

void hp_interpose_resolve(void)
{
	boot_resolve();
}

size_t hp_usable_size(void *p)
{
	if (!p)
		return 0;
	if (hp_boot_owns(p))
		return boot_size(p);
	return real.malloc_usable_size(p);
}

/* The same for a block the program is about to free or realloc, which may
 * be a bad pointer: a double free, a free of a pointer glibc never gave
 * out.  glibc's malloc_usable_size also reads the next chunk's header,
 * which for a block already merged into the top chunk lies past the end
 * of the heap: the program died of SIGSEGV in our call instead of glibc's
 * "double free or corruption" abort in its free.  So for glibc's malloc
 * only the block's own size word is read (what free reads first too), and
 * its usable size worked out as glibc's musable does for a block in use:
 * the chunk size less 8, or less 16 for an mmapped chunk (bit 1). */
size_t hp_usable_size_to_free(void *p)
{
	if (!p || hp_boot_owns(p) || !next_is_libc)
		return hp_usable_size(p);
	size_t head;
	memcpy(&head, (const unsigned char *)p - sizeof head, sizeof head);
	size_t size = head & ~(size_t)7, hdr = head & 2 ? 2 * sizeof head : sizeof head;
	return size > hdr ? size - hdr : 0;
}

/* ---- the fast paths ---- */

/* The slow halves take the program's frame where they start: the fast
 * halves reach them with a tail jump, so their return address is the
 * program's.  (Were the jump a call, the walk would start one frame of
 * ours lower and cut it: slower, not wrong.) */
static HP_COLD void *malloc_slow(size_t n)
{
	struct hp_frame f;
	HP_FRAME_HERE(f);
	void *p;
	if (HP_UNLIKELY(boot_serving))
		p = serve(n);
	else if (HP_UNLIKELY(hp_self.on_exitheap)) {
		if (!(p = hp_exitheap_alloc(n)))
			errno = ENOMEM;
	} else
		p = real.malloc(n);
	hp_alloc_slow(p, n, &f);
	return p;
}

HP_EXPORT void *malloc(size_t n)
{
	if (HP_LIKELY(hp_countdown(n)))
		return real.malloc(n);
	return malloc_slow(n);
}

static HP_COLD void *calloc_slow(size_t n, size_t m, size_t t)
{
	struct hp_frame f;
	HP_FRAME_HERE(f);
	void *p;
	if (HP_UNLIKELY(boot_serving) && t != SIZE_MAX && (p = boot_arena_take(t)))
		;               /* static memory never handed out before: zero */
	else if (HP_UNLIKELY(hp_self.on_exitheap)) {
		if (t == SIZE_MAX)
			p = NULL;
		else if ((p = hp_exitheap_alloc(t)))
			memset(p, 0, t);
		if (!p)
			errno = ENOMEM;
	} else
		p = real.calloc(n, m);
	hp_alloc_slow(p, t, &f);        /* an overflowing t fails: no sample */
	return p;
}

HP_EXPORT void *calloc(size_t n, size_t m)
{
	size_t t;
	if (__builtin_mul_overflow(n, m, &t))
		t = SIZE_MAX;           /* real calloc fails with ENOMEM */
	if (HP_LIKELY(hp_countdown(t)))
		return real.calloc(n, m);
	return calloc_slow(n, m, t);
}

HP_EXPORT void free(void *p)
{
	if (HP_UNLIKELY(hp_livetab_maybe(p))) {
		if (!hp_free_slow(p))
			return;         /* a bootstrap-arena block: never ours to free */
	}
	real.free(p);
}

static HP_COLD void *realloc_slow(void *p, size_t n)
{
	struct hp_frame f;
	HP_FRAME_HERE(f);
	if (hp_livetab_maybe(p))
		return hp_realloc_slow(p, n, real.realloc, &f);
	void *q = HP_UNLIKELY(boot_serving) && !p ? serve(n) : real.realloc(p, n);
	/* (never here on the exit heap: every block is "maybe" then, hp_realloc_slow) */
	if (q)
		hp_alloc_slow(q, n, &f);
	return q;
}

/* realloc = free(old) + allocation(new), with a fresh sampling decision.
 * A sampled old block is detached before the real call so that its address,
 * once released, cannot be handed to another thread and registered while we
 * still hold the stale entry (hp_realloc_slow). */
HP_EXPORT void *realloc(void *p, size_t n)
{
	if (HP_LIKELY(!hp_livetab_maybe(p) && hp_countdown(n)))
		return real.realloc(p, n);
	return realloc_slow(p, n);
}

/* The rare entry points account after the real call, and take the program's
 * frame only when a sample is due (in the function itself: a macro, not a
 * call, so that the frame is theirs). */
#define ACCOUNT(p, n)                                                         \
	do {                                                                  \
		if (!hp_countdown(n)) {                                       \
			struct hp_frame f_;                                   \
			HP_FRAME_HERE(f_);                                    \
			hp_alloc_slow((p), (n), &f_);                         \
		}                                                             \
	} while (0)

HP_EXPORT void *reallocarray(void *p, size_t n, size_t m)
{
	size_t t;
	if (__builtin_mul_overflow(n, m, &t)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, t);
}

HP_EXPORT int posix_memalign(void **out, size_t a, size_t n)
{
	void *p;
	int e = real.posix_memalign(&p, a, n);
	if (e == 0) {
		*out = p;
		ACCOUNT(p, n);
	}
	return e;
}

HP_EXPORT void *aligned_alloc(size_t a, size_t n)
{
	void *p = real.aligned_alloc(a, n);
	ACCOUNT(p, n);
	return p;
}

HP_EXPORT void *memalign(size_t a, size_t n)
{
	void *p = real.memalign(a, n);
	ACCOUNT(p, n);
	return p;
}

HP_EXPORT void *valloc(size_t n)
{
	void *p = real.valloc(n);
	ACCOUNT(p, n);
	return p;
}

/* pvalloc rounds the request up to whole pages; that rounded size is what
 * the program asked for in effect, so it is what we charge. */
HP_EXPORT void *pvalloc(size_t n)
{
	void *p = real.pvalloc(n);
	/* The request rounded up to pages, as pvalloc promises; 0 stays 0
	 * (it was charged a page, where glibc gives a minimum chunk) */
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	ACCOUNT(p, (n + ps - 1) & ~(ps - 1));
	return p;
}

HP_EXPORT size_t malloc_usable_size(void *p)
{
	if (HP_UNLIKELY(p && hp_boot_owns(p)))
		return boot_size(p);
	if (HP_UNLIKELY(hp_exitheap_owns(p)))
		return hp_exitheap_size(p);
	return real.malloc_usable_size(p);
}

/* A new thread of the program starts here, to be counted before it runs
 * fn (core.c hp_thread_adopt): its creator counted it already, so that
 * the count cannot fall to zero while it is starting.  The start and its
 * argument travel in one of a few slots, not in memory from the program's
 * heap; when all are in use the thread starts as it is and is counted at
 * its first allocation.  The call to fn is a tail call: no frame of ours
 * stays under the program's. */
static struct start_slot {
	void *(*fn)(void *);
	void *arg;
	int busy;
} starts[64];

static void *thread_begin(void *p)
{
	struct start_slot *s = p;
	void *(*fn)(void *) = s->fn;
	void *arg = s->arg;
	__atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
	hp_thread_adopt();
	return fn(arg);
}

static struct start_slot *start_claim(void)
{
	for (unsigned i = 0; i < sizeof starts / sizeof starts[0]; i++) {
		int zero = 0;
		if (!__atomic_load_n(&starts[i].busy, __ATOMIC_RELAXED) &&
		    __atomic_compare_exchange_n(&starts[i].busy, &zero, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return &starts[i];
	}
	return NULL;
}

/* Not an allocator entry point: the program's first thread makes glibc
 * multi-threaded, after which heapprof's dumper thread costs nothing more,
 * so it is started then (dumper.c); and every thread is counted
 * (thread_begin).  When all 64 slots are taken, the thread starts as it is
 * and is counted at its first allocation. */
HP_EXPORT int pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
	struct start_slot *s = NULL;
	int r;
	if (!hp_self.guard && hp_g.ready && (s = start_claim()) && !hp_thread_created()) {
		__atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
		s = NULL;
	}
	if (s) {
		s->fn = fn;
		s->arg = arg;
		r = real.pthread_create(t, a, thread_begin, s);
		if (r != 0) {
			__atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
			hp_thread_uncreated();
		}
	} else {
		r = real.pthread_create(t, a, fn, arg);
	}
	if (r == 0 && !hp_self.guard) {
		int e = errno;
		hp_dumper_program_threaded();
		errno = e;
	}
	return r;
}
