/*
 * hp.h - heapprof internals shared between the library's files.
 *
 * Grouped by the file that defines each item.  Nothing here is exported
 * from libheapprof.so: the build uses -fvisibility=hidden and a version
 * script, and only the libc allocator names and heapprof_* (see
 * include/heapprof.h) are public.
 */
#ifndef HP_H
#define HP_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>

#include "profile.h"

#define HP_LIKELY(x)   __builtin_expect(!!(x), 1)
#define HP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HP_COLD        __attribute__((noinline, cold))
#define HP_EXPORT      __attribute__((visibility("default")))
#define HP_TLS         __thread __attribute__((tls_model("initial-exec")))

#define HP_MAX_DEPTH 256

/* The program's frame at its call into the allocator: the return address,
 * the stack pointer after the call returns (the interposed function's
 * CFA) and the program's rbp.  The stack walk starts here rather than in
 * the profiler, whose own frames it would otherwise step through and cut. */
struct hp_frame {
	uintptr_t pc, sp, bp;
};
/* Fills f in a function built with frame pointers (interpose.c): rbp points
 * at the saved rbp, the return address is above it, the CFA above that. */
#define HP_FRAME_HERE(f)                                                      \
	do {                                                                  \
		const uintptr_t *fa_ = __builtin_frame_address(0);            \
		(f).pc = fa_[1];                                              \
		(f).sp = (uintptr_t)(fa_ + 2);                                \
		(f).bp = fa_[0];                                              \
	} while (0)

/* ---- interpose.c ---- */
void hp_interpose_resolve(void);
int hp_boot_owns(const void *p);       /* p came from the bootstrap arena */
int hp_boot_ready(void);               /* the real functions are resolved */
void hp_boot_register(const void *p);  /* core.c: remember a bootstrap block */
int hp_boot_serve(int on);             /* 1: this thread's allocations come from the arena (hp_init,
                                        * the dumper's start); returns the setting it replaced */
size_t hp_usable_size(void *p);        /* real malloc_usable_size, arena-aware */
size_t hp_usable_size_to_free(void *p); /* the same, safe on a bad pointer passed to free */
/* libc's pthread_create, for the profiler's own threads (not the wrapper). */
int hp_real_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);

/* ---- config.c: every HEAPPROF_* / HEAPTRACE* variable, read once ---- */
struct hp_config {
	uint64_t rate;          /* HEAPPROF_RATE: mean bytes between samples; 1 = all, 0 = off */
	int depth;              /* HEAPPROF_DEPTH: frames kept per stack (1..256) */
	uint64_t max_stacks;    /* HEAPPROF_MAX_STACKS: distinct stacks before the overflow bucket */
	const char *out;        /* HEAPPROF_OUT: file pattern (%p pid, %n sequence), or NULL */
	int trace;              /* HEAPTRACE=1 */
	uint64_t trace_growth;  /* HEAPTRACE_GROWTH percent (default 100) */
	uint64_t trace_min;     /* HEAPTRACE_MIN bytes: smallest goal (default 4 MiB) */
	uint64_t trace_interval;/* HEAPTRACE_INTERVAL seconds (default 10, 0 = off) */
	int stats;              /* HEAPPROF_STATS=1: count exact totals without tracing */
	int leaks;              /* HEAPPROF_LEAKS=1 */
	int leaks_top;          /* HEAPPROF_LEAKS_TOP (default 10) */
	int signal;             /* HEAPPROF_SIGNAL (default SIGUSR2; 0 = none) */
	int signal_set;         /* HEAPPROF_SIGNAL was given, not the default */
	uint64_t interval;      /* HEAPPROF_INTERVAL seconds between periodic dumps (0 = off) */
	int peak;               /* HEAPPROF_PEAK=1 */
	uint64_t peak_growth;   /* HEAPPROF_PEAK_GROWTH percent (default 10) */
	int follow;             /* HEAPPROF_FOLLOW (default 1): profile exec'd children */
	const char *http;       /* HEAPPROF_HTTP=ADDR:PORT or NULL */
	const char *http_file;  /* HEAPPROF_HTTP_FILE or NULL */
	int unwind;             /* HEAPPROF_UNWIND: HP_UNWIND_CFI (default), _LIBUNWIND or _FP */
};
enum { HP_UNWIND_CFI, HP_UNWIND_LIBUNWIND, HP_UNWIND_FP };
extern struct hp_config hp_cfg;
void hp_config_load(void);
int hp_config_signal(const char *s);   /* "USR2", "SIGUSR2", "12" -> number, -1 if bad */
int hp_write_all(int fd, const void *buf, size_t n);  /* 0 or -errno; raises no SIGPIPE/SIGXFSZ */
/* Warnings go to fd 2 only while it is the file it was at start
 * (hp_warn_init, first thing at init): see config.c. */
void hp_warn_init(void);
/* buf to the program's fd 2, from any thread (hp_fdtab_program); a warning
 * only while fd 2 is still the file it was at start.  0 or -errno. */
int hp_write_stderr(const void *buf, size_t n, int warning);
/* Writes "heapprof: <msg>\n" to stderr with one write(2); keeps errno.  At most
 * one warning per distinct msg pointer is printed. */
void hp_warn(const char *msg);
void hp_warn2(const char *msg, const char *subject); /* "heapprof: msg 'subject'" */
void hp_warn3(const char *msg, const char *subject, const char *why); /* "...'subject': why" */

/* ---- fdtab.c: the profiler's descriptors, out of the program's way ---- */
/* At the start of a thread of ours: move it to a descriptor table of its
 * own, empty; 1 if it has one. */
int hp_fdtab_unshare(void);
/* The program's descriptor n, usable on this thread: n itself in the
 * program's table, else a copy (pidfd_getfd); -EBADF if the program has
 * no descriptor n, another -errno if that cannot be told.  Give it back
 * with hp_fdtab_release(fd, n), which closes a copy. */
int hp_fdtab_program(int n);
void hp_fdtab_release(int fd, int n);
/* hp_fd_high and hp_open_high: profile.h */

/* ---- core.c: per-thread state, the locks, init, fork, exit ---- */

/* The lock of the sample tables: hp_g.lock (new stacks and buckets) and
 * one per shard (taken on every sample and on every free of a sampled
 * block of its addresses), each held for well under a microsecond (the
 * dump's copy of a shard's counters is the longest hold).  A test-and-set
 * lock whose release is a plain store: one atomic instruction a lock pair,
 * where pthread_mutex_t needs two.  A waiter spins a little, then sleeps
 * (hp_lock_wait), so a preempted holder, or a lower-priority one under
 * SCHED_FIFO, always gets the processor back. */
typedef struct { int v; } hp_lock_t;
#define HP_LOCK_INIT { 0 }
void hp_lock_wait(hp_lock_t *l) HP_COLD;
int hp_lock_within(hp_lock_t *l, int64_t ns) HP_COLD;  /* 1: taken; 0: not in about ns (dumps only) */
/* Frees of sampled blocks that a signal handler made while its thread held
 * one of our locks (core.c, free_later) wait in a list linked through the
 * blocks themselves; the thread's last unlock frees them. */
void hp_free_deferred(void) HP_COLD;

struct hp_thread {
	uint64_t countdown;     /* fast-path gate: the slow path runs when size >= countdown */
	uint64_t sample_left;   /* while tracing (countdown held at 0): bytes to the next sample */
	uint64_t rng;           /* splitmix64 state; 0 = thread not set up yet */
	uint64_t resume;        /* countdown the dump-signal handler zeroed to reach the slow path */
	uint64_t guess[8];      /* stack hash of this thread's last sample from each call site, by
				 * return address (hp_guess): where to prefetch the next one's slot */
	int guard;              /* > 0 while the profiler itself is running on this thread */
	int dead;               /* thread-exit destructor ran: per-thread counters are gone */
	int counted;            /* set up and counted in core.live; the destructor counts it out */
	int in_getattr;         /* inside pthread_getattr_np (interpose.c): no bounds to be asked for */
	int bounds_later;       /* stack bounds wait for an allocation outside pthread_getattr_np
				 * (hp_stack_safe); until then the gate stays shut and sampling runs
				 * on sample_left */
	int held;               /* our locks this thread holds or is taking: a fork from a signal
				 * handler that interrupted it must not wait for them (fork_prepare) */
	int fork_skip;          /* this thread's fork_prepare took no locks (held was set) */
	int exit_held;          /* holds the dumper's busy lock for good (exit work began): not
				 * counted in held, which would make its frees wait (deferred.c) */
	int on_exitheap;        /* exit work after exit() from a signal handler: allocations come
				 * from exitheap.c, never from the real allocator */
	void *deferred;         /* frees waiting until this thread holds none of our locks: a
				 * list through the blocks' first words, pushed and taken whole
				 * with atomic instructions, which a signal cannot split */
	/* exact totals (HEAPTRACE), not yet folded into the globals */
	int64_t t_allocs, t_frees, t_alloc_bytes, t_free_bytes;
};
extern HP_TLS struct hp_thread hp_self;

/* The guess[] entry for an allocation whose caller returns to pc.  By call
 * site, not simply the thread's last sample: churn's three call sites
 * taking turns made the last stack the wrong one for most samples, and
 * the index slot's miss 8.6 % of that run at rate 1 instead of 6.3 % (4
 * perf runs each, session 16).  Eight entries, no tags: a collision only
 * prefetches a useless line. */
static inline uint64_t *hp_guess(uintptr_t pc)
{
	return &hp_self.guess[(pc * 0x9e3779b97f4a7c15ull) >> 61];
}

/* Counted in held before the lock is tried and after it is released, so a
 * signal landing in between errs on the safe side. */
static inline __attribute__((always_inline)) void hp_lock(hp_lock_t *l)
{
	hp_self.held++;
	if (HP_UNLIKELY(__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE)))
		hp_lock_wait(l);
}
static inline void hp_unlock(hp_lock_t *l)
{
	__atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
	if (!--hp_self.held && HP_UNLIKELY(hp_self.deferred != NULL))
		hp_free_deferred();
}
/* The same count for every pthread mutex of ours. */
static inline void hp_mutex_lock(pthread_mutex_t *m)
{
	hp_self.held++;
	pthread_mutex_lock(m);
}
static inline void hp_mutex_unlock(pthread_mutex_t *m)
{
	pthread_mutex_unlock(m);
	if (!--hp_self.held && HP_UNLIKELY(hp_self.deferred != NULL))
		hp_free_deferred();
}

/* Global profiler state that the fast paths read. */
struct hp_global {
	int ready;              /* hp_init finished */
	int tracing;            /* exact totals are being counted (HEAPTRACE / stats) */
	pid_t pid;
	int64_t start_ns;       /* CLOCK_REALTIME at init */
	int64_t start_mono_ns;  /* CLOCK_MONOTONIC at init */
	hp_lock_t lock;         /* the stack table and the bucket index (new stacks, new buckets) */
	uint64_t dropped;       /* samples we could not record (atomic) */
	uint64_t overflowed;    /* samples counted in the overflow bucket (atomic) */
	uintptr_t self_lo, self_hi; /* our own text, cut from stacks */
	int frozen;             /* a fork child whose tables another thread may have left half
				 * changed (fork_prepare skipped): it profiles nothing */
};
extern struct hp_global hp_g;

/* What a sample or a sampled free writes is split into shards by address,
 * each with its own lock, live table and bucket counters, so that threads
 * whose heaps lie apart write apart.  glibc gives each thread an arena of
 * 64 MiB heaps aligned to 64 MiB, hence bits 26 and up: with one lock and
 * one set of counters, two threads sampling the same stacks passed those
 * cache lines between cores on every sample (session 6, the 2-thread loop
 * at the default rate: 1.096x plain, 1.055x in a build that skipped the
 * counter increments).
 * The bits are below 4 GiB, so the blocks that fold onto one page-filter
 * entry (hp.h, livetab.c) always belong to one shard and one lock.
 * Lock order: hp_g.lock, then shards in index order (fork only), then
 * ialloc's; a sample never holds hp_g.lock and a shard lock together. */
#define HP_SHARD_SHIFT 26       /* glibc's heaps are 64 MiB-aligned */
#define HP_SHARD_BITS 4
#define HP_NSHARDS (1u << HP_SHARD_BITS)
#define HP_PAGEFILT_BITS 20     /* the page filter's index: address bits 12..31 */
_Static_assert(HP_SHARD_SHIFT + HP_SHARD_BITS <= 12 + HP_PAGEFILT_BITS,
	       "the shard bits must lie inside the page filter's index bits");
struct hp_shard {
	hp_lock_t lock;         /* this shard's live table and counters */
	uint64_t samples;       /* samples recorded here (written under lock, read relaxed) */
	double est_inuse;       /* HEAPPROF_PEAK only: estimated in-use bytes (under lock) */
} __attribute__((aligned(64)));
extern struct hp_shard hp_shards[HP_NSHARDS];
static inline unsigned hp_shard_of(const void *p)
{
	return (unsigned)((uintptr_t)p >> HP_SHARD_SHIFT) & (HP_NSHARDS - 1);
}
uint64_t hp_samples(void);      /* recorded samples, all shards */
double hp_est_inuse(void);      /* HEAPPROF_PEAK: estimated in-use bytes, all shards (racy) */

void hp_init(void);
/* core.c: the program's threads, counted so that ours never keep the
 * process alive.  pthread_create's wrapper counts a thread before it is
 * created (1: counted), takes that back if the creation fails, and the
 * new thread adopts the count when it starts. */
int hp_thread_created(void);
void hp_thread_uncreated(void);
void hp_thread_adopt(void);
int hp_program_threads(void);   /* the program's threads counted now (not ours) */
/* Our dumper and HTTP threads, at their start: if another preload's
 * pthread_create allocated on them before that (so they were counted as the
 * program's), they are not: counted, they would keep the count above zero
 * until their own retiring, which waits for it to reach zero. */
void hp_thread_disown(void);
/* The slow path of every allocation entry point: a sample is due (or the
 * thread is new, or the profiler is not ready).  p is the block the real
 * allocator returned (NULL if it failed), from the program's frame. */
void hp_alloc_slow(void *p, size_t size, const struct hp_frame *from) HP_COLD;
/* free() of a pointer whose live-table slot was occupied.  Returns 1 when
 * the caller should pass p on to the real free, 0 for a bootstrap block. */
int hp_free_slow(void *p) HP_COLD;
/* realloc() of such a pointer; realfn is the real realloc. */
void *hp_realloc_slow(void *p, size_t n, void *(*realfn)(void *, size_t), const struct hp_frame *from) HP_COLD;

/* The allocation fast path: one thread-local compare and subtract, taken
 * before the real call so that malloc can end in a tail jump.  Returns 1
 * when no sample is due: the caller forwards and is done.  Charging the
 * bytes of a call that then fails is harmless: no sample mark fell inside
 * them, and the rest of an exponential countdown is again exponential. */
static inline int hp_countdown(size_t n)
{
	struct hp_thread *t = &hp_self;
#if defined(__x86_64__)
	/* Load, subtract, jump on "borrow or zero" (which is n >= countdown),
	 * store: six instructions in malloc with the tail jump, where the
	 * compiler's C made seven (a compare beside the subtract).  Nothing is
	 * stored on the way to the slow path, as in the C form: a subtract
	 * straight on the word, undone on that way, was two instructions
	 * less, but a signal handler's allocation between the subtract and
	 * the undo saw a wrapped countdown, took the fast path, and left the
	 * thread's countdown near 2^64 (sampling off for good) or its shut
	 * gate open (tracing, the exit heap).  Here a handler between the load
	 * and the store only has its own bytes forgotten.  No output operand:
	 * gcc 12 dropped the code at the label of an asm goto with one. */
	asm goto("movq %0, %%rax\n\tsubq %1, %%rax\n\tjbe %l[due]\n\tmovq %%rax, %0"
		 : : "m"(t->countdown), "r"((uint64_t)n) : "rax", "cc", "memory" : due);
	return 1;
due:
	return 0;
#else
	if (HP_LIKELY(n < t->countdown)) {
		t->countdown -= n;
		return 1;
	}
	return 0;
#endif
}

/* The same after the real call, with the frame already taken (realloc). */
static inline void hp_account(void *p, size_t n, const struct hp_frame *from)
{
	if (!hp_countdown(n))
		hp_alloc_slow(p, n, from);
}

#define HP_BOOT_BUCKET UINT32_MAX   /* live-table marker for bootstrap-arena blocks */

static inline int hp_guard_enter(void) { return hp_self.guard++; }
static inline void hp_guard_leave(int old) { hp_self.guard = old; }

int64_t hp_now_ns(void);        /* CLOCK_REALTIME */
int64_t hp_mono_ns(void);       /* CLOCK_MONOTONIC */

/* ---- exitheap.c: the heap of the exit work after exit() from a signal handler ---- */
struct hp_exitheap {
	uintptr_t base;         /* 0 until first used */
	size_t len;
};
extern struct hp_exitheap hp_xh;
static inline int hp_exitheap_owns(const void *p)
{
	uintptr_t b = __atomic_load_n(&hp_xh.base, __ATOMIC_ACQUIRE);
	return b && (uintptr_t)p - b < hp_xh.len;
}
/* From now on this thread allocates from the exit heap; -1 (and nothing
 * changed) when its region cannot be mapped. */
int hp_exitheap_enter(void);
void *hp_exitheap_alloc(size_t n);          /* NULL when full */
void hp_exitheap_free(void *p);             /* p: hp_exitheap_owns */
size_t hp_exitheap_size(const void *p);     /* usable size of such a block */
/* p NULL, an exit-heap block, or a real-heap block of old usable bytes,
 * which is copied and left where it is.  NULL when full. */
void *hp_exitheap_realloc(void *p, size_t old, size_t n);

/* ---- trace.c: exact totals (HEAPTRACE, heapprof_stats) and the trace line ---- */
void hp_trace_init(void);
void hp_trace_alloc(struct hp_thread *t, void *p);   /* count one allocation */
void hp_trace_free(struct hp_thread *t, void *p);    /* count one free (before the real free) */
void hp_trace_flush(struct hp_thread *t);            /* fold t's counters into the globals */
void hp_trace_line(const char *reason, const char *path); /* print one line now */
void hp_trace_free_size(struct hp_thread *t, size_t usable); /* same, size known */
void hp_trace_tick(void);                            /* dumper thread: time-based line */
void hp_trace_atfork_child(void);

/* ---- sampler.c: exponential intervals and weights ---- */
/* Draws the next countdown for t (seeding its RNG if needed).  rate 1 -> 0
 * (sample everything), rate 0 -> UINT64_MAX (never). */
uint64_t hp_sampler_next(struct hp_thread *t, uint64_t rate);
void hp_sampler_seed(struct hp_thread *t);
/* Inverse inclusion probability 1/(1-exp(-size/rate)); exactly 1 at rate <= 1. */
double hp_sampler_weight(uint64_t size, uint64_t rate);
double hp_sampler_ln(double x);              /* ln x, x > 0 normal (no libm) */
double hp_sampler_one_minus_exp(double a);   /* 1 - exp(-a), a >= 0 (no libm) */

/* ---- stack.c: unwinding ---- */
int hp_stack_init(void);                     /* 0 or -1 (no unwinder: samples dropped) */
/* Captures up to max return addresses, leaf first, from the program's frame,
 * with the profiler's own frames (and operator new) removed, into buf (the
 * walk needs room past max for the frames it then cuts).  The stack starts
 * at buf[*first]; returns its depth (0 = failed).  Not copied to buf[0]:
 * that copy re-read the walk's 8-byte stores as 32-byte loads, which store
 * forwarding cannot serve (docs/performance.md, session 10). */
#define HP_STACK_BUF (HP_MAX_DEPTH + 16)
int hp_stack_capture(uintptr_t buf[HP_STACK_BUF], int max, const struct hp_frame *from, int *first);
void hp_stack_thread_start(void);            /* a thread's first allocation, guard held */
int hp_stack_safe(void);                     /* 0: bounds unknown, and not to be asked for now (stack.c) */
int hp_stack_room(void);                     /* 0: too little stack left for a sample here */
/* 1 when a signal handler's frame lies on this thread's stack above the
 * caller: exit() was called from a handler (stack.c). */
int hp_stack_in_handler(void);
/* libc's executable segment, found by its file name, once; [0, 0) when
 * there is none.  After the first call, safe in a signal handler. */
void hp_stack_libc_text(uintptr_t *lo, uintptr_t *hi);
int hp_stack_unwinder_owns(uintptr_t pc);   /* pc lies in libunwind's code (interpose.c, pipe2) */
void hp_stack_run_big(void (*fn)(void *), void *arg); /* fn(arg) with room for a dump (stack.c) */

/* ---- cfi.c: our own walk from .eh_frame rules, cached per return address ---- */
int hp_cfi_init(void);                       /* 0 or -1 (then libunwind does every walk) */
/* Return addresses from frame `from` up into pcs, less
 * those in [cut_lo, cut_hi); -1 when a frame needs libunwind.  [lo, hi)
 * bounds every stack read (this thread's stack). */
int hp_cfi_walk(uintptr_t *pcs, int max, uintptr_t lo, uintptr_t hi, uintptr_t cut_lo, uintptr_t cut_hi,
		const struct hp_frame *from);

/* ---- ialloc.c: the profiler's own memory, from mmap, never from malloc ---- */
void *hp_ialloc(size_t size);               /* zeroed; NULL on failure */
void hp_ifree(void *p, size_t size);
/* Gives the pages lying wholly inside [p + keep, p + size) of a block back
 * to the kernel; they read as zeros from then on.  For a table generation
 * that lock-free readers may still be in, when a zero slot only sends them
 * to the locked path.  The block stays allocated, and must never be
 * hp_ifree'd: the pages given back are no longer counted as held. */
void hp_ialloc_drop(void *p, size_t size, size_t keep);
uint64_t hp_ialloc_bytes(void);             /* bytes the profiler holds */
void hp_ialloc_atfork_prepare(void);
void hp_ialloc_atfork_parent(void);
void hp_ialloc_atfork_child(void);

/* ---- stacktab.c: interned stacks and (stack, size) buckets (new ones under hp_g.lock) ---- */
struct hp_stack {
	uint32_t id;
	uint32_t depth;
	uint64_t hash;          /* hp_stacktab_hash of pcs: the bucket index's key */
	uintptr_t pcs[];        /* return addresses, leaf first */
};
struct hp_bucket {
	const struct hp_stack *stack;
	uint64_t size;          /* requested object size */
};                              /* written once, when the bucket is made */
/* A bucket's count in one shard: the sampled blocks of that shard's
 * addresses, so a block's allocation counts in the shard whose live table
 * holds it.  No count of frees: a snapshot takes them as the allocations
 * less the bucket's blocks still in the live table, so that a sampled
 * free touches the live table alone, not also a counter that its
 * allocation, long before, left to go cold (a cache miss of its own, 6 %
 * of churn at rate 1, perf, session 16). */
struct hp_count {
	uint64_t allocs;        /* sampled allocations */
};
/* The hash that keys the stack pcs[0..n): computed once per sample, for
 * the lock-free hp_stacktab_lookup and, when that misses, under the lock. */
uint64_t hp_stacktab_hash(const uintptr_t *pcs, int n);
/* Returns the bucket id (>= 1) for (pcs, size), creating it; hash is
 * hp_stacktab_hash(pcs, n).  The overflow bucket when the stack table is
 * full; 0 when out of memory.  *new_stack is set when the stack was not
 * known before.  _locked: caller holds hp_g.lock. */
uint32_t hp_stacktab_bucket_locked(const uintptr_t *pcs, int n, uint64_t hash, uint64_t size, int *new_stack);
/* The same without the lock, for a bucket that exists: its id, or 0 when
 * (pcs, size) has no bucket yet or it is too new to be seen (then take the
 * lock and call hp_stacktab_bucket_locked).  Never a wrong id. */
uint32_t hp_stacktab_lookup(const uintptr_t *pcs, int n, uint64_t hash, uint64_t size);
/* Starts loading the bucket index slot that hp_stacktab_lookup(.., hash,
 * size) will read first; a hint, any hash will do. */
void hp_stacktab_prefetch(uint64_t hash, uint64_t size);
/* Never moves or goes away: safe without the lock for an id the caller
 * got from this table. */
struct hp_bucket *hp_stacktab_get(uint32_t id);
/* Bucket id's counters in shard sh, made (zeroed) on first use; NULL when
 * out of memory.  _locked: caller holds hp_shards[sh].lock. */
struct hp_count *hp_stacktab_count_locked(unsigned sh, uint32_t id);
/* Starts loading that counter, without the lock; a hint. */
void hp_stacktab_count_prefetch(unsigned sh, uint32_t id);
/* The same for reading: NULL when the shard never counted id. */
const struct hp_count *hp_stacktab_count_peek_locked(unsigned sh, uint32_t id);
/* Ids below this have counters in shard sh, if any do (0: none). */
uint32_t hp_stacktab_count_ids_locked(unsigned sh);
uint32_t hp_stacktab_nbuckets(void);        /* ids run 1..n */
uint32_t hp_stacktab_nstacks(void);
/* The pseudo frame the overflow bucket points at. */
void hp_stacktab_overflow_frame(void);

/* ---- livetab.c: sampled blocks that are still live, a table per shard ---- */
/* Fast, lock-free: 0 means p was certainly not sampled.  A non-zero answer
 * may be a false positive; the caller confirms under p's shard lock. */
static inline int hp_livetab_maybe(const void *p);
/* Lock-free probe of the table itself, a finer filter than
 * hp_livetab_maybe: 0 means certainly not sampled. */
int hp_livetab_probe(const void *p);
/* While tracing, every free must reach the slow path to be counted. */
void hp_livetab_filter_all(void);
/* Starts loading p's home slot, without the lock: a sample calls it before
 * walking the stack, so the miss overlaps the walk, not the locked part. */
void hp_livetab_prefetch(const void *p);
/* _locked: the caller holds hp_shards[hp_shard_of(p)].lock. */
int hp_livetab_insert_locked(const void *p, uint32_t bucket); /* 0 or -ENOMEM */
uint32_t hp_livetab_remove_locked(const void *p);           /* bucket or 0 */
uint64_t hp_livetab_count(void);                            /* live keys, all shards */
/* Calls fn(bucket, arg) for each live key of shard sh. */
void hp_livetab_each_locked(unsigned sh, void (*fn)(uint32_t bucket, void *arg), void *arg);

/* The free fast path's filter: a byte per 4 KiB page of address space,
 * folded modulo 4 GiB, counting the live sampled blocks that start in a
 * page folding onto it.  No multiply and no pointer to follow: free() is
 * seven instructions before its tail jump (the table probe it replaced took
 * twelve, with a multiply and two dependent loads).  The index mask is a
 * variable so that the whole struct is .bss (no 1 MiB in the file) and so
 * that tracing can send every free to the slow path: mask 0 and entry 0
 * held non-zero.  See livetab.c for why a reader never misses a block. */
struct hp_pagefilt {
	uint32_t mask;                          /* 2^20 - 1 from the first sample; 0 while tracing */
	uint8_t count[1u << HP_PAGEFILT_BITS];  /* 1 MiB of .bss, touched where written */
};
extern struct hp_pagefilt hp_pagefilt;

static inline int hp_livetab_maybe(const void *p)
{
	uint32_t i = (uint32_t)((uintptr_t)p >> 12) & __atomic_load_n(&hp_pagefilt.mask, __ATOMIC_RELAXED);
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
	/* A compare of the byte in memory: the relaxed atomic load compiled
	 * to a load and a test, one instruction more in every free.  A byte
	 * load is single-copy atomic all the same. */
	asm goto("cmpb $0, %0\n\tjne %l[maybe]" : : "m"(hp_pagefilt.count[i]) : "cc" : maybe);
	return 0;
maybe:
	return 1;
#else
	return __atomic_load_n(&hp_pagefilt.count[i], __ATOMIC_RELAXED) != 0;
#endif
}

/* ---- dump.c: turning the tables into a profile file ---- */
/* Writes a profile to path (a HEAPPROF_OUT-style pattern is NOT expanded
 * here).  Returns 0 or -errno.  Takes the table locks only to copy counters. */
int hp_dump_to_path(const char *path);
int hp_dump_build(struct hp_buf *out, int alloc_default);   /* gzipped profile in memory */
/* The same from copied counters taken at time `when` (CLOCK_REALTIME ns). */
int hp_dump_build_from(const struct hp_prof_sample *s, size_t n, int64_t when, int alloc_default,
		       struct hp_buf *out);
int hp_dump_write_file(const char *path, const uint8_t *data, size_t len);
const char *hp_dump_write_error(int r);   /* why hp_dump_write_file failed, for a warning */
long hp_dump_snapshot(struct hp_prof_sample **out, size_t *bytes); /* ialloc'd copy */
void hp_dump_init(void);          /* at init: a relative pattern is taken from the starting directory */
const char *hp_dump_pattern(void);   /* HEAPPROF_OUT or the default pattern, absolute */
/* The pattern of dumps taken while the program runs: hp_dump_pattern with
 * ".%n" before its extension when it has no %n. */
const char *hp_dump_live_pattern(void);
int hp_dump_next(char *path, size_t len); /* expand the pattern and dump there */
void hp_dump_atfork_child(void);
/* Expands pattern (%p pid, %n next sequence number) into buf. */
int hp_dump_expand(const char *pattern, char *buf, size_t len);
/* The final dump at exit, if HEAPPROF_OUT is set. */
void hp_dump_at_exit(void);

/* ---- dwlib.c: elfutils, loaded at the first profile (the pointers: dwlib.h) ---- */
/* 1 when the load was tried and failed: profiles name no functions. */
int hp_dwlib_missing(void);
void hp_dwlib_atfork_child(void);       /* a load under way in the parent is not the child's */

/* ---- beacon.c: the dump settings, for `heapprof dump` to find ---- */
/* Names a mapping after the dump signal and pattern (hp_env.h); at init,
 * after hp_dump_init and hp_dumper_start.  Nothing when it cannot. */
void hp_beacon_publish(void);

/* ---- dumper.c: the background thread (signal, periodic and peak dumps) ---- */
void hp_dumper_start(void);
int hp_dumper_atfork_prepare(void);     /* -1: a dump held on past the wait; fork without our locks */
void hp_dumper_atfork_parent(void);
void hp_dumper_atfork_child(void);
void hp_dumper_peak_check(void);     /* after a sample: copy the counters at a new peak */
void hp_dumper_lazy_start(uintptr_t caller); /* slow paths: start the thread if a signal or fork asked */
void hp_dumper_program_threaded(void); /* the program created a thread: start ours too */
void hp_dumper_exit(void);           /* exit hook: finish a running dump, write the peak */
void hp_dumper_retire(void);         /* the program's last thread is exiting: stop and join ours */
void hp_dumper_tick_here(void);      /* HEAPTRACE tick from a batch flush, while no thread runs */
/* unshare, setns: made as if ours were not there.  ours_matter: the call
 * can fail (EINVAL) only because the process has more than one thread. */
int hp_dumper_single(int (*call)(int, int), int a, int b, int ours_matter);
extern int hp_dumper_needed;

/* ---- modtab.c: modules stacks point into, remembered after dlclose ---- */
struct hp_modinfo {
	uintptr_t lo, hi;       /* executable segment [lo, hi) */
	uintptr_t base;         /* load bias */
	uint64_t offset;        /* file offset of lo */
	char path[1024];
};
/* After a new stack is interned, outside every lock: record the modules of
 * its addresses (return addresses) that are not known yet. */
void hp_modtab_note(const uintptr_t *pcs, int n);
/* The recorded module holding addr (a call-site address); 1 if found. */
int hp_modtab_find(uintptr_t addr, struct hp_modinfo *out);
void hp_modtab_atfork_child(void);

/* ---- http.c: the pprof HTTP endpoint (HEAPPROF_HTTP) ---- */
void hp_http_start(void);            /* init, after hp_dumper_start; guard set */
void hp_http_atfork_child(void);     /* fork child: close the listener; the child does not serve */
void hp_http_retire(void);           /* the program's last thread is exiting: stop and join the server */
int hp_http_running(void);           /* 1 while the server thread runs */
/* The program's sigaction: our dump handler shows as SIG_DFL (dumper.c). */
struct sigaction;
int hp_dumper_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
int hp_dumper_signal_ours(int sig);  /* our dump handler is sig's action now */

/* ---- leaks.c: the in-use report at exit ---- */
void hp_leaks_report(void);


#endif
