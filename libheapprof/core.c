/*
 * core.c - per-thread state, the slow paths, init, fork and exit.
 *
 * The fast paths in interpose.c only compare a thread-local countdown (on
 * allocation) or probe one live-table slot (on free).  Everything else
 * happens here, out of line: setting up a new thread, taking a sample
 * (unwind, intern the stack, register the block), recognising a sampled
 * block on free or realloc, and the process-level events (constructor,
 * pthread_atfork handlers, the final dump at exit).
 *
 * Locking (spin a little, then sleep: hp.h): hp_g.lock guards the stack
 * table and the bucket index, and is taken only to add a stack or a
 * bucket; existing buckets are looked up without it.  Each shard's lock
 * (hp.h) guards that shard's live table and counters.  Locks are held only
 * around table updates and the dump's copy of the counters, never while
 * unwinding, symbolizing, compressing or writing, and nothing done under
 * them calls malloc.
 */
#include "hp.h"

#include <errno.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

HP_TLS struct hp_thread hp_self;
struct hp_global hp_g = { .lock = HP_LOCK_INIT };
struct hp_shard hp_shards[HP_NSHARDS];

static struct {
	pthread_once_t once;
	pthread_key_t exit_key;
	int have_key;
	int live;               /* threads of the program counted and not yet exited (atomic) */
	int fork_guard;         /* the forking thread's guard, saved by prepare */
} core = { .once = PTHREAD_ONCE_INIT };

int64_t hp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t hp_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t hp_samples(void)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < HP_NSHARDS; i++)
		n += __atomic_load_n(&hp_shards[i].samples, __ATOMIC_RELAXED);
	return n;
}

double hp_est_inuse(void)
{
	double sum = 0, v;
	for (unsigned i = 0; i < HP_NSHARDS; i++) {
		__atomic_load(&hp_shards[i].est_inuse, &v, __ATOMIC_RELAXED);
		sum += v;
	}
	return sum;
}

void hp_boot_register(const void *p)
{
	struct hp_shard *sh = &hp_shards[hp_shard_of(p)];
	hp_lock(&sh->lock);
	if (hp_livetab_insert_locked(p, HP_BOOT_BUCKET) != 0)
		__atomic_fetch_add(&hp_g.dropped, 1, __ATOMIC_RELAXED);
	hp_unlock(&sh->lock);
}

/* Measured on the 2-thread loop at rate 1 (docs/performance.md, session 6):
 * with 5 pauses before sleeping it costs 102-112 CPU ns a pair, steadily;
 * with 20 or 60, 230-600 ns, because two threads then run the critical
 * sections side by side and pass the lock's and the buckets' cache lines
 * back and forth, where a thread that sleeps leaves the other to run
 * alone.  glibc's mutex measured 170-330 ns. */
enum { LOCK_SPINS = 5, LOCK_SLEEP_NS = 50000 };

/* Waits for l until CLOCK_MONOTONIC reaches end (INT64_MAX: for ever,
 * and no clock is read).  1 when taken. */
static int lock_wait_until(hp_lock_t *l, int64_t end)
{
	int e = errno, got = 0;
	for (unsigned i = 0;; i++) {
		if (!__atomic_load_n(&l->v, __ATOMIC_RELAXED) && !__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE)) {
			got = 1;
			break;
		}
		if (end != INT64_MAX && hp_mono_ns() >= end)
			break;
		if (i < LOCK_SPINS) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		} else {
			/* A sleep, not a yield: under SCHED_FIFO a yield never lets a
			 * lower-priority holder run.  The raw system call, because
			 * nanosleep() is a cancellation point and malloc is not: a
			 * pending pthread_cancel must not fire inside malloc.  The
			 * one glibc's nanosleep() makes, so that a seccomp filter
			 * that lets the program sleep lets us. */
			struct timespec ts = { 0, LOCK_SLEEP_NS };
			syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
		}
	}
	errno = e;
	return got;
}

void hp_lock_wait(hp_lock_t *l)
{
	lock_wait_until(l, INT64_MAX);
}

/* The lock, or 0 after about ns nanoseconds of waiting for it.  For the
 * dumps only: a thread that died holding a lock (cancelled asynchronously
 * inside malloc, which POSIX does not allow but programs do) left the
 * exit profile waiting for ever, and the program with it; such a profile
 * is not written instead.  The sample path still waits: its critical
 * sections are short, and it has nothing to give up but the sample. */
int hp_lock_within(hp_lock_t *l, int64_t ns)
{
	hp_self.held++;
	if (!__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE) || lock_wait_until(l, hp_mono_ns() + ns))
		return 1;
	if (!--hp_self.held && HP_UNLIKELY(hp_self.deferred != NULL))
		hp_free_deferred();     /* frees a handler made while we waited */
	return 0;
}

/* ---- threads ---- */

/* The program's threads, counted so that ours never keep the process
 * alive.  glibc ends the process when its last thread exits (main may
 * leave with pthread_exit), and our dumper and HTTP threads are threads
 * like any other: while they waited, a program whose threads had all
 * exited never ended, and ignored SIGTERM, which our threads block.  So
 * when the count falls to zero, the exiting thread stops and joins ours
 * first, and glibc ends the process from the program's own last thread,
 * as it would without us.
 *
 * Main is counted from the constructor.  A thread created through our
 * pthread_create is counted by its creator before it exists (so the count
 * cannot fall to zero while it is starting) and adopts that count when it
 * starts (hp_thread_adopt); others (C11 thrd_create, threads of another
 * preload's constructors) are counted at their first allocation, and one
 * that never allocates is never counted: if it runs on after the rest,
 * so does the process, without our threads, and without dumps.  A thread
 * is counted out by the pthread key's destructor, at its exit. */
static void count_out(void)
{
	if (__atomic_sub_fetch(&core.live, 1, __ATOMIC_ACQ_REL) == 0) {
		int old;
		/* joining is a cancellation point, and this may run from
		 * pthread_exit or a cancelled thread's unwinding */
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
		hp_http_retire();
		hp_dumper_retire();
		pthread_setcancelstate(old, NULL);
	}
}

/* pthread key destructor: the thread is going away; fold its exact counters
 * into the globals and send its later events straight there, and count it
 * out. */
static void thread_exit(void *arg)
{
	(void)arg;
	struct hp_thread *t = &hp_self;
	int g = hp_guard_enter();
	hp_trace_flush(t);
	t->dead = 1;
	if (t->counted) {
		t->counted = 0;
		count_out();
	}
	hp_guard_leave(g);
}

int hp_thread_created(void)
{
	if (!core.have_key)
		return 0;
	__atomic_add_fetch(&core.live, 1, __ATOMIC_ACQ_REL);
	return 1;
}

void hp_thread_uncreated(void)
{
	int g = hp_guard_enter();
	count_out();
	hp_guard_leave(g);
}

void hp_thread_adopt(void)
{
	struct hp_thread *t = &hp_self;
	int g = hp_guard_enter();
	if (t->counted)
		/* Counted at an allocation made before its start routine (by
		 * another preload's pthread_create): the creator's count goes.
		 * Not the last: this thread holds one. */
		__atomic_sub_fetch(&core.live, 1, __ATOMIC_ACQ_REL);
	else if (pthread_setspecific(core.exit_key, (void *)1) == 0)
		t->counted = 1;
	else
		count_out();    /* it could never be counted out */
	hp_guard_leave(g);
}

void hp_thread_disown(void)
{
	struct hp_thread *t = &hp_self;
	if (!t->counted)
		return;
	t->counted = 0;
	pthread_setspecific(core.exit_key, NULL);
	__atomic_sub_fetch(&core.live, 1, __ATOMIC_ACQ_REL);
}

int hp_program_threads(void)
{
	return __atomic_load_n(&core.live, __ATOMIC_ACQUIRE);
}

/* Counts t's thread in core.live, once; the key's destructor counts it
 * out.  Guard held. */
static void count_in(struct hp_thread *t)
{
	if (!t->counted && core.have_key && pthread_setspecific(core.exit_key, (void *)1) == 0) {
		t->counted = 1;
		__atomic_add_fetch(&core.live, 1, __ATOMIC_ACQ_REL);
	}
}

static HP_COLD void thread_setup(struct hp_thread *t)
{
	hp_sampler_seed(t);
	if (hp_cfg.rate) {
		int g = hp_guard_enter();
		/* From inside pthread_getattr_np the bounds wait for the
		 * thread's next allocation outside it: the same point in every
		 * run, so the heap's layout does not depend on where samples
		 * fall (stack.c, hp_stack_thread_start). */
		t->bounds_later = !hp_stack_safe();
		hp_stack_thread_start();
		hp_guard_leave(g);
	}
	int g = hp_guard_enter();
	count_in(t);
	hp_guard_leave(g);
	if (hp_g.tracing || t->bounds_later) {
		/* The gate stays shut so every allocation comes here (to be
		 * counted, or to learn the bounds); sampling runs on its own
		 * countdown in the slow path. */
		t->countdown = 0;
		t->sample_left = hp_sampler_next(t, hp_cfg.rate);
	} else {
		t->countdown = hp_sampler_next(t, hp_cfg.rate);
	}
}

/* ---- samples ---- */

/* HEAPPROF_PEAK follows the estimated in-use bytes; nothing else needs
 * them, so without it a sample or a free touches only its bucket's
 * counters.  Under sh's lock. */
static void peak_account(struct hp_shard *sh, uint64_t size, int sign)
{
	double v = sh->est_inuse + sign * hp_sampler_weight(size, hp_cfg.rate) * (double)size;
	__atomic_store(&sh->est_inuse, &v, __ATOMIC_RELAXED);
}

/* noinline: its frame buffer must not be on the stack before
 * hp_stack_room has been asked (hp_alloc_slow). */
static __attribute__((noinline)) void record_sample(void *p, size_t n, const struct hp_frame *from)
{
	uintptr_t buf[HP_STACK_BUF];
	int g = hp_guard_enter(), first;
	int d = hp_stack_capture(buf, hp_cfg.depth, from, &first);
	const uintptr_t *pcs = buf + first;
	int ok = 0, new_stack = 0;
	if (d > 0) {
		/* Known buckets are found without hp_g.lock, so that a sample
		 * in steady state takes only its shard's lock. */
		uint64_t h = hp_stacktab_hash(pcs, d);
		*hp_guess(from->pc) = h;
		uint32_t b = hp_stacktab_lookup(pcs, d, h, n);
		if (!b) {
			hp_lock(&hp_g.lock);
			b = hp_stacktab_bucket_locked(pcs, d, h, n, &new_stack);
			hp_unlock(&hp_g.lock);
		}
		unsigned si = hp_shard_of(p);
		struct hp_shard *sh = &hp_shards[si];
		if (b)
			hp_stacktab_count_prefetch(si, b);
		hp_lock(&sh->lock);
		struct hp_count *c = b ? hp_stacktab_count_locked(si, b) : NULL;
		if (c && hp_livetab_insert_locked(p, b) == 0) {
			c->allocs++;
			if (HP_UNLIKELY(hp_cfg.peak))
				peak_account(sh, n, 1);
			/* Under the lock, so no atomic add: readers only load it. */
			__atomic_store_n(&sh->samples, sh->samples + 1, __ATOMIC_RELAXED);
			ok = 1;
		}
		hp_unlock(&sh->lock);
	}
	if (new_stack)
		hp_modtab_note(pcs, d);
	if (ok) {
		if (HP_UNLIKELY(hp_cfg.peak))
			hp_dumper_peak_check();
	}
	else
		__atomic_fetch_add(&hp_g.dropped, 1, __ATOMIC_RELAXED);
	hp_guard_leave(g);
}

/* A sample's first cold lines, its live-table slot and (if it comes from
 * the stack of this thread's last sample at the same call site) its bucket
 * index slot, start loading before the draw of the next interval and the
 * stack walk, which hide part of them: each a miss of about 100 ns when
 * samples are far apart (perf on the loop benchmark, session 16). */
static inline void sample_prefetch(const void *p, size_t n, const struct hp_frame *from)
{
	hp_livetab_prefetch(p);
	hp_stacktab_prefetch(*hp_guess(from->pc), n);
}

void hp_alloc_slow(void *p, size_t n, const struct hp_frame *from)
{
	struct hp_thread *t = &hp_self;
	if (t->guard || !hp_boot_ready() || hp_g.frozen)
		return;         /* the profiler's own allocation, too early, or a frozen child */
	int e = errno;
	if (HP_UNLIKELY(!hp_g.ready))
		hp_init();
	if (HP_UNLIKELY(!t->rng))
		thread_setup(t);
	if (HP_UNLIKELY(t->bounds_later) && hp_stack_safe()) {
		int g = hp_guard_enter();
		hp_stack_thread_start();
		hp_guard_leave(g);
		if (!hp_g.tracing)
			t->countdown = t->sample_left;  /* the gate opens where sampling stands */
		t->bounds_later = 0;            /* after: a handler's malloc in between finds the gate set */
	}
	if (hp_g.tracing || t->bounds_later) {
		if (p && hp_g.tracing)
			hp_trace_alloc(t, p);
		if (n < t->sample_left) {
			t->sample_left -= n;
			goto out;
		}
		sample_prefetch(p, n, from);
		t->sample_left = hp_sampler_next(t, hp_cfg.rate);
	} else {
		if (HP_UNLIKELY(t->resume)) {
			/* The dump-signal handler zeroed the countdown only to get
			 * here: continue where it was, so no sample is added.  If
			 * the fast path's store overwrote the zero, it is live. */
			if (t->countdown == 0)
				t->countdown = t->resume;
			t->resume = 0;
		}
		if (n < t->countdown) {         /* first call on a new thread */
			t->countdown -= n;
			goto out;
		}
		sample_prefetch(p, n, from);
		t->countdown = hp_sampler_next(t, hp_cfg.rate);
	}
	/* A sample mark fell inside these n bytes.  A failed allocation takes
	 * no sample; the fresh countdown keeps the stream unbiased.  Nor does
	 * a signal handler's allocation while its thread holds one of our
	 * locks: the sample would wait for that lock, on its own thread, for
	 * ever (sigmalloc.c). */
	if (p && HP_LIKELY(hp_stack_room() && !t->held))
		record_sample(p, n, from);
	else if (p)
		__atomic_fetch_add(&hp_g.dropped, 1, __ATOMIC_RELAXED);
out:
	if (HP_UNLIKELY(__atomic_load_n(&hp_dumper_needed, __ATOMIC_ACQUIRE)) && !t->held)
		hp_dumper_lazy_start(from->pc);
	errno = e;
}

/* The free of a sampled block of bucket b (sign 1), or its undoing (-1:
 * the realloc failed), in the peak's running estimate: the only thing a
 * sampled free updates, the profile taking its frees from the live table
 * (struct hp_count).  Under sh's lock. */
static void peak_free(struct hp_shard *sh, uint32_t b, int sign)
{
	if (HP_UNLIKELY(hp_cfg.peak))
		peak_account(sh, hp_stacktab_get(b)->size, -sign);
}

/* Removes p from the live table and counts the free on its bucket.
 * Returns the bucket id, HP_BOOT_BUCKET, or 0 when p was not sampled. */
static uint32_t detach(const void *p)
{
	if (HP_UNLIKELY(hp_g.frozen))   /* its tables are not to be touched */
		return hp_boot_owns(p) ? HP_BOOT_BUCKET : 0;
	if (!hp_livetab_probe(p))
		return 0;       /* a false positive of the fast check, or tracing */
	unsigned si = hp_shard_of(p);
	struct hp_shard *sh = &hp_shards[si];
	hp_lock(&sh->lock);
	uint32_t b = hp_livetab_remove_locked(p);
	if (b && b != HP_BOOT_BUCKET)
		peak_free(sh, b, 1);
	hp_unlock(&sh->lock);
	return b;
}

static void reattach(const void *p, uint32_t b)
{
	unsigned si = hp_shard_of(p);
	struct hp_shard *sh = &hp_shards[si];
	hp_lock(&sh->lock);
	if (hp_livetab_insert_locked(p, b) == 0) {
		if (b != HP_BOOT_BUCKET)
			peak_free(sh, b, -1);
	} else {
		__atomic_fetch_add(&hp_g.dropped, 1, __ATOMIC_RELAXED);
	}
	hp_unlock(&sh->lock);
}

/* A signal handler frees a sampled block while its thread holds one of our
 * locks (it interrupted a free, a sample or a dump): the block's shard lock
 * may be that one, so its live-table entry cannot be touched now.  The
 * block waits, still allocated, until the thread holds none of them
 * (hp_unlock, deferred.c), linked into its list through its first word.
 * (Until session 13 the list held 8, and the rest leaked, still counted
 * in use: a 50 us timer overflows it while a sample makes a new bucket.)
 * Returns 1 when the block is taken care of. */
static int free_later(struct hp_thread *t, void *p)
{
	if (!hp_livetab_probe(p))
		return 0;       /* not sampled: no lock to take */
	if (hp_usable_size_to_free(p) < sizeof(void *)) {
		__atomic_fetch_add(&hp_g.dropped, 1, __ATOMIC_RELAXED);
		return 1;       /* no room for the link: leaked rather than hang */
	}
	/* A compare-and-swap, one instruction: a handler of another signal
	 * that lands in this one and pushes too makes it go round again. */
	void *head = __atomic_load_n(&t->deferred, __ATOMIC_RELAXED);
	do
		memcpy(p, &head, sizeof head);
	while (!__atomic_compare_exchange_n(&t->deferred, &head, p, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	return 1;
}

int hp_free_slow(void *p)
{
	if (!p)
		return 1;
	if (HP_UNLIKELY(hp_exitheap_owns(p))) {
		hp_exitheap_free(p);
		return 0;
	}
	struct hp_thread *t = &hp_self;
	if (HP_UNLIKELY(t->held) && !hp_g.frozen && free_later(t, p))
		return 0;       /* a frozen child's held count never falls, and it touches no lock */
	int e = errno;
	if (hp_g.tracing && !t->guard && !hp_g.frozen && !hp_boot_owns(p)) {
		if (HP_UNLIKELY(!t->rng) && hp_g.ready)
			thread_setup(t);        /* a thread that only frees must flush at exit too */
		hp_trace_free(t, p);
	}
	uint32_t b = detach(p);
	errno = e;
	/* after exit() from a signal handler the real heap is left alone */
	return b != HP_BOOT_BUCKET && !t->on_exitheap;
}

/* realloc on the exit heap (hp_exitheap_enter), of one of its blocks or,
 * while this thread is on it, of any block: a real-heap block is copied
 * and left in place.  As glibc: realloc(p, 0) frees p and gives NULL. */
static void *realloc_exitheap(void *p, size_t n)
{
	int own = p && hp_exitheap_owns(p);
	if (p && n == 0) {
		if (own)
			hp_exitheap_free(p);
		else
			detach(p);
		return NULL;
	}
	size_t old = !p ? 0 : own ? hp_exitheap_size(p) : hp_usable_size_to_free(p);
	void *q = hp_exitheap_realloc(p, old, n);
	if (!q) {
		errno = ENOMEM;
		return NULL;
	}
	if (p && !own)
		detach(p);
	return q;
}

/* realloc as a new block and a free of the old one, through our own
 * malloc and free: for a bootstrap block, which the real allocator must
 * never see, and for a sampled block reallocated by a signal handler while
 * its thread holds one of our locks (its free then waits: free_later).
 * As glibc: realloc(p, 0) frees p and gives NULL. */
static void *realloc_by_copy(void *p, size_t n)
{
	if (n == 0) {
		free(p);
		return NULL;
	}
	size_t old = hp_usable_size_to_free(p);
	void *q = malloc(n);
	if (q) {
		memcpy(q, p, old < n ? old : n);
		free(p);
	}
	return q;
}

void *hp_realloc_slow(void *p, size_t n, void *(*realfn)(void *, size_t), const struct hp_frame *from)
{
	struct hp_thread *t = &hp_self;
	if (HP_UNLIKELY(t->on_exitheap || hp_exitheap_owns(p)))
		return realloc_exitheap(p, n);
	if (HP_UNLIKELY(t->held) && !hp_g.frozen && p && hp_livetab_probe(p))
		return realloc_by_copy(p, n);
	if (!p) {
		void *q = realfn(NULL, n);
		if (q)
			hp_account(q, n, from);
		return q;
	}
	if (hp_boot_owns(p))
		return realloc_by_copy(p, n);
	int counting = hp_g.tracing && !t->guard && !hp_g.frozen;  /* as hp_alloc_slow counts */
	size_t old_usable = counting ? hp_usable_size_to_free(p) : 0;
	uint32_t b = detach(p);
	void *q = realfn(p, n);
	if (!q && n != 0) {
		/* Failed: the old block is untouched and still live. */
		int e = errno;
		if (b)
			reattach(p, b);
		errno = e;
		return NULL;
	}
	if (counting) {
		int e = errno;
		hp_trace_free_size(t, old_usable);
		errno = e;
	}
	if (q)
		hp_account(q, n, from);
	return q;
}

/* ---- process events ---- */

static void exit_work(void *arg)
{
	(void)arg;
	hp_dumper_exit();
	hp_trace_flush(&hp_self);
	hp_dump_at_exit();
	hp_trace_line("exit", NULL);    /* last: after the dump line of the final profile */
	if (hp_cfg.leaks && hp_cfg.rate)
		hp_leaks_report();
}

static void exit_hook(void)
{
	/* A process that fork's handlers never saw (made by a raw clone(),
	 * or a vfork child calling exit) has our tables as another thread of
	 * the parent may have left them, locks held, and the parent's pid:
	 * its profile would wait on those locks for ever, or overwrite the
	 * parent's.  It writes nothing, nor does a frozen fork child
	 * (fork_prepare). */
	if (getpid() != hp_g.pid || hp_g.frozen)
		return;
	/* exit() from a signal handler that interrupted this thread inside
	 * our own code: our tables may be half changed and our locks are its
	 * own.  No profile, said once; waiting would only time out. */
	if (hp_self.held) {
		hp_warn("exit() from a signal handler that interrupted the profiler: no profile at exit");
		return;
	}
	/* ... or inside malloc: glibc's heap is then not to be used
	 * (exitheap.c).  Asked on this stack, before any switch. */
	if (hp_stack_in_handler())
		hp_exitheap_enter();
	int g = hp_guard_enter();
	hp_stack_run_big(exit_work, NULL);  /* exit() may come from a thread with a small stack */
	hp_guard_leave(g);
}

/* A fork from a signal handler that interrupted this very thread inside
 * one of our critical sections (crash handlers and supervisors fork from
 * handlers) would wait for ever on a lock the thread itself holds.  Then no
 * lock is taken: the parent goes on as before, and the child, whose tables
 * this or another thread may have left half changed, profiles nothing. */
static void fork_prepare(void)
{
	struct hp_thread *t = &hp_self;
	if (t->held || t->exit_held) {
		t->fork_skip = 1;
		return;
	}
	core.fork_guard = hp_guard_enter();
	if (hp_dumper_atfork_prepare() != 0) {
		hp_guard_leave(core.fork_guard);
		t->fork_skip = 1;
		return;
	}
	hp_lock(&hp_g.lock);
	for (unsigned i = 0; i < HP_NSHARDS; i++)
		hp_lock(&hp_shards[i].lock);
	hp_ialloc_atfork_prepare();
}

static void fork_parent(void)
{
	if (hp_self.fork_skip) {
		hp_self.fork_skip = 0;
		return;
	}
	hp_ialloc_atfork_parent();
	for (unsigned i = HP_NSHARDS; i-- > 0;)
		hp_unlock(&hp_shards[i].lock);
	hp_unlock(&hp_g.lock);
	hp_dumper_atfork_parent();
	hp_guard_leave(core.fork_guard);
}

static void fork_child(void)
{
	struct hp_thread *t = &hp_self;
	int skipped = t->fork_skip;
	t->fork_skip = 0;
	hp_g.frozen |= skipped;
	/* Only this thread exists now.  Locks held by threads that are gone
	 * would stay locked forever, so start them afresh (also when frozen:
	 * the interrupted section's own unlock is then a harmless store).
	 * The locks fork_prepare took are not released but remade, so this
	 * thread holds none of them now. */
	if (!skipped)
		t->held = 0;
	hp_g.lock = (hp_lock_t)HP_LOCK_INIT;
	for (unsigned i = 0; i < HP_NSHARDS; i++)
		hp_shards[i].lock = (hp_lock_t)HP_LOCK_INIT;
	hp_ialloc_atfork_child();
	hp_modtab_atfork_child();
	hp_dwlib_atfork_child();
	hp_g.pid = getpid();
	core.live = hp_self.counted;    /* the child's one thread */
	/* Re-seed, or parent and child would sample alike.  rng 0 and a shut
	 * gate make the child's next allocation set the thread up afresh in the
	 * slow path, which also starts the child's dumper thread (not here:
	 * most children exec at once). */
	hp_self.rng = 0;
	hp_self.countdown = 0;
	hp_trace_atfork_child();
	hp_dumper_atfork_child();
	hp_http_atfork_child();
	if (!skipped)
		hp_guard_leave(core.fork_guard);
}

/* HEAPPROF_FOLLOW=0: programs this one execs run without us.  Only our own
 * entry is taken out of LD_PRELOAD; other preloads stay. */
static void unfollow(void)
{
	const char *v = getenv("LD_PRELOAD");
	char buf[4096];
	size_t o = 0;
	if (!v || strlen(v) >= sizeof buf)
		return;
	for (const char *p = v; *p;) {
		size_t n = strcspn(p, ": ");
		if (n && !memmem(p, n, "libheapprof", 11)) {
			if (o)
				buf[o++] = ':';
			memcpy(buf + o, p, n);
			o += n;
		}
		p += n;
		p += *p != 0;
	}
	buf[o] = 0;
	if (o)
		setenv("LD_PRELOAD", buf, 1);
	else
		unsetenv("LD_PRELOAD");
}

static void init_once(void)
{
	int g = hp_guard_enter();
	hp_warn_init();
	hp_boot_serve(1);
	hp_interpose_resolve();
	hp_config_load();
	hp_dump_init();
	hp_g.pid = getpid();
	hp_g.start_ns = hp_now_ns();
	hp_g.start_mono_ns = hp_mono_ns();
	if (hp_cfg.rate && hp_stack_init() != 0) {
		hp_warn("cannot load libunwind.so.8: profiling is off");
		hp_cfg.rate = 0;
	}
	hp_g.tracing = hp_cfg.trace || hp_cfg.stats;
	if (hp_g.tracing)
		hp_livetab_filter_all();
	hp_trace_init();
	core.have_key = pthread_key_create(&core.exit_key, thread_exit) == 0;
	__atomic_store_n(&hp_g.ready, 1, __ATOMIC_RELEASE);
	hp_dumper_start();
	hp_beacon_publish();
	hp_http_start();
	hp_boot_serve(0);
	hp_guard_leave(g);
}

void hp_init(void)
{
	pthread_once(&core.once, init_once);
}

/* What takes one of libc's own locks: atexit, pthread_atfork and setenv.
 * Not in init_once, which the first allocation in the process runs, and
 * that can come from inside libc with the very lock held, in another
 * library's constructor before ours: __new_exitfn callocs room for the
 * 33rd atexit handler under __exit_funcs_lock, pthread_atfork grows its
 * list under its lock, setenv its environment under its own; the thread
 * then waited on itself for ever (tests/progs/initlockplugin.c).  The
 * constructor runs from the dynamic linker, before main, with none held.
 * The price: after such an early start our exit hook is registered after
 * those constructors' handlers, so it runs before them. */
static void init_late(void)
{
	int g = hp_guard_enter();
	if (!hp_cfg.follow)
		unfollow();
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	atexit(exit_hook);
	hp_guard_leave(g);
}

__attribute__((constructor)) static void hp_constructor(void)
{
	hp_init();
	init_late();
	/* The main thread is counted whether or not it allocates later: a
	 * program whose other threads all exit lives on in main. */
	int g = hp_guard_enter();
	count_in(&hp_self);
	hp_guard_leave(g);
}
