/*
 * trace.c - exact totals and the HEAPTRACE line.
 *
 * Counting every call would put a shared atomic on the fast path, so each
 * thread counts in its own hp_thread and folds into the global atomics in
 * batches (64 events or 256 KiB of net change), at thread exit, and at
 * process exit.  While counting is on (HEAPTRACE=1 or HEAPPROF_STATS=1) the
 * fast paths are shut (countdown 0, the always-busy free filter), so every
 * call reaches core.c and then here; with it off none of this runs.
 *
 * Bytes are malloc_usable_size() on both sides, so in-use returns exactly to
 * its starting level when everything is freed (requested sizes are not
 * known at free).  Lines are formatted with integer code into a stack
 * buffer and written with one write(2): no stdio, no malloc, errno kept.
 * Format and regex: docs/heaptrace.md.
 */
#include "hp.h"
#include "heapprof.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define BATCH_EVENTS 64
#define BATCH_BYTES (256 << 10)

static struct {
	uint64_t allocs, frees, alloc_bytes, free_bytes;   /* atomics */
	uint64_t peak;                  /* highest in-use seen at a flush */
	uint64_t goal;                  /* in-use that triggers the next growth line */
	pthread_mutex_t line_lock;      /* one line at a time, in sequence order */
	uint64_t seq;
	uint64_t last_inuse, last_alloc_bytes, last_events;
	int64_t last_mono;
} tr = { .line_lock = PTHREAD_MUTEX_INITIALIZER };

static uint64_t inuse_now(void)
{
	uint64_t a = __atomic_load_n(&tr.alloc_bytes, __ATOMIC_RELAXED);
	uint64_t f = __atomic_load_n(&tr.free_bytes, __ATOMIC_RELAXED);
	return a > f ? a - f : 0;
}

static uint64_t next_goal(uint64_t inuse)
{
	uint64_t g = inuse + inuse / 100 * hp_cfg.trace_growth + inuse % 100 * hp_cfg.trace_growth / 100;
	return g > hp_cfg.trace_min ? g : hp_cfg.trace_min;
}

void hp_trace_init(void)
{
	tr.goal = next_goal(0);
	tr.last_mono = hp_g.start_mono_ns;
}

/* Adds v to this thread's counter *c in one instruction, which a signal
 * handler counting on the same thread cannot land inside of: as a load, an
 * add and a store, the handler's count in between was overwritten
 * (thousands of allocations and frees lost a run, and megabytes "in use"
 * after everything was freed, with a handler that allocates).  No lock
 * prefix: the counter is this thread's alone. */
static inline void count_add(int64_t *c, int64_t v)
{
#if defined(__x86_64__)
	__asm__ volatile("addq %1, %0" : "+m"(*c) : "er"(v));
#else
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
#endif
}

void hp_trace_flush(struct hp_thread *t)
{
	if (!t->t_allocs && !t->t_frees)
		return;
	/* Each counter taken with an exchange, so a handler that counts
	 * between two of them keeps its counts for the next flush. */
	__atomic_fetch_add(&tr.allocs, (uint64_t)__atomic_exchange_n(&t->t_allocs, 0, __ATOMIC_RELAXED),
			   __ATOMIC_RELAXED);
	__atomic_fetch_add(&tr.frees, (uint64_t)__atomic_exchange_n(&t->t_frees, 0, __ATOMIC_RELAXED),
			   __ATOMIC_RELAXED);
	__atomic_fetch_add(&tr.alloc_bytes, (uint64_t)__atomic_exchange_n(&t->t_alloc_bytes, 0, __ATOMIC_RELAXED),
			   __ATOMIC_RELAXED);
	__atomic_fetch_add(&tr.free_bytes, (uint64_t)__atomic_exchange_n(&t->t_free_bytes, 0, __ATOMIC_RELAXED),
			   __ATOMIC_RELAXED);

	uint64_t inuse = inuse_now();
	uint64_t peak = __atomic_load_n(&tr.peak, __ATOMIC_RELAXED);
	while (inuse > peak && !__atomic_compare_exchange_n(&tr.peak, &peak, inuse, 1,
							   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	/* Not while this thread holds one of our locks (a signal handler's
	 * allocation, which may have interrupted this very line): the goal
	 * stays, so a later flush prints it. */
	if (hp_cfg.trace && !t->held) {
		int g = hp_guard_enter();
		if (inuse >= __atomic_load_n(&tr.goal, __ATOMIC_RELAXED))
			hp_trace_line("growth", NULL);
		hp_dumper_tick_here();
		hp_guard_leave(g);
	}
}

static inline void maybe_flush(struct hp_thread *t)
{
	int64_t net = t->t_alloc_bytes - t->t_free_bytes;
	if (t->dead || t->t_allocs + t->t_frees >= BATCH_EVENTS || net >= BATCH_BYTES || net <= -BATCH_BYTES)
		hp_trace_flush(t);
}

void hp_trace_alloc(struct hp_thread *t, void *p)
{
	count_add(&t->t_allocs, 1);
	count_add(&t->t_alloc_bytes, (int64_t)hp_usable_size(p));
	maybe_flush(t);
}

void hp_trace_free_size(struct hp_thread *t, size_t usable)
{
	count_add(&t->t_frees, 1);
	count_add(&t->t_free_bytes, (int64_t)usable);
	maybe_flush(t);
}

void hp_trace_free(struct hp_thread *t, void *p)
{
	hp_trace_free_size(t, hp_usable_size_to_free(p));
}

static void stats_read(struct heapprof_stats *st);

/* ---- formatting without stdio ---- */

struct line {
	char buf[512];
	size_t n;
};

static void put_str(struct line *l, const char *s)
{
	size_t k = strlen(s);
	if (k > sizeof l->buf - 1 - l->n)
		k = sizeof l->buf - 1 - l->n;
	memcpy(l->buf + l->n, s, k);
	l->n += k;
}

static void put_u64(struct line *l, uint64_t v)
{
	char tmp[24];
	int i = sizeof tmp;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	size_t k = sizeof tmp - (size_t)i;
	if (k > sizeof l->buf - 1 - l->n)
		return;
	memcpy(l->buf + l->n, tmp + i, k);
	l->n += k;
}

/* bytes as MB (2^20) with one decimal, truncated, as gctrace counts MB. */
static void put_mb(struct line *l, uint64_t bytes)
{
	uint64_t tenths = (uint64_t)((unsigned __int128)bytes * 10 >> 20);
	put_u64(l, tenths / 10);
	put_str(l, ".");
	put_u64(l, tenths % 10);
}

/* Reads a small /proc file into buf (NUL-terminated); 0 or -1.  Only
 * open/read/close: safe on any thread, no malloc. */
static int read_proc(const char *path, char *buf, size_t len)
{
	int fd = hp_open_high(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return 0;
}

static uint64_t rss_bytes(void)
{
	char buf[128];
	if (read_proc("/proc/self/statm", buf, sizeof buf))
		return 0;
	const char *p = buf;
	while (*p && *p != ' ')
		p++;
	uint64_t pages = 0;
	for (p++; *p >= '0' && *p <= '9'; p++)
		pages = pages * 10 + (uint64_t)(*p - '0');
	return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t thread_count(void)
{
	char buf[2048];
	if (read_proc("/proc/self/status", buf, sizeof buf))
		return 0;
	const char *p = strstr(buf, "\nThreads:");
	if (!p)
		return 0;
	for (p += 9; *p == ' ' || *p == '\t'; p++)
		;
	uint64_t n = 0;
	for (; *p >= '0' && *p <= '9'; p++)
		n = n * 10 + (uint64_t)(*p - '0');
	return n;
}

static void trace_line(const char *reason, const char *path);

/* The line is often printed from inside malloc, by a thread the program
 * may have asked to cancel: open, read and write are cancellation points
 * and malloc is not, and a cancellation here would leave line_lock held
 * (the process then hangs at exit).  So cancellation is off meanwhile. */
void hp_trace_line(const char *reason, const char *path)
{
	if (!hp_cfg.trace)
		return;
	int cs;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	trace_line(reason, path);
	pthread_setcancelstate(cs, NULL);
}

static void trace_line(const char *reason, const char *path)
{
	int e = errno;
	struct heapprof_stats st;
	hp_mutex_lock(&tr.line_lock);
	uint64_t inuse = inuse_now();
	if (!strcmp(reason, "growth") && inuse < __atomic_load_n(&tr.goal, __ATOMIC_RELAXED)) {
		hp_mutex_unlock(&tr.line_lock);    /* another thread printed it */
		errno = e;
		return;
	}
	stats_read(&st);
	int64_t now = hp_mono_ns();
	int64_t since = now - hp_g.start_mono_ns;
	int64_t dt = now - tr.last_mono;
	uint64_t da = st.alloc_bytes - tr.last_alloc_bytes;
	uint64_t rate = dt > 0 ? (uint64_t)((unsigned __int128)da * 1000000000 / (uint64_t)dt) : 0;
	uint64_t goal = next_goal(inuse);

	struct line l = { .n = 0 };
	put_str(&l, "heaptrace ");
	put_u64(&l, ++tr.seq);
	put_str(&l, " @");
	put_u64(&l, (uint64_t)since / 1000000000);
	put_str(&l, ".");
	uint64_t ms = (uint64_t)since / 1000000 % 1000;
	put_str(&l, ms < 100 ? (ms < 10 ? "00" : "0") : "");
	put_u64(&l, ms);
	put_str(&l, "s: ");
	put_mb(&l, tr.last_inuse);
	put_str(&l, "->");
	put_mb(&l, inuse);
	put_str(&l, " MB inuse, ");
	put_mb(&l, st.peak_inuse_bytes);
	put_str(&l, " MB peak, ");
	put_mb(&l, st.alloc_bytes);
	put_str(&l, " MB alloc, ");
	put_u64(&l, st.allocs);
	put_str(&l, " allocs, ");
	put_u64(&l, st.frees);
	put_str(&l, " frees, ");
	put_mb(&l, rate);
	put_str(&l, " MB/s, ");
	put_mb(&l, rss_bytes());
	put_str(&l, " MB rss, ");
	put_u64(&l, thread_count());
	put_str(&l, " threads, ");
	put_u64(&l, st.samples);
	put_str(&l, " samples, ");
	put_u64(&l, st.samples_dropped);
	put_str(&l, " dropped, ");
	put_mb(&l, st.profiler_bytes);
	put_str(&l, " MB prof, ");
	put_mb(&l, goal);
	put_str(&l, " MB next (");
	put_str(&l, reason);
	if (path) {
		put_str(&l, " ");
		put_str(&l, path);
	}
	put_str(&l, ")\n");

	tr.last_inuse = inuse;
	tr.last_alloc_bytes = st.alloc_bytes;
	tr.last_events = st.allocs + st.frees;
	tr.last_mono = now;
	__atomic_store_n(&tr.goal, goal, __ATOMIC_RELAXED);

	hp_write_stderr(l.buf, l.n, 0);
	hp_mutex_unlock(&tr.line_lock);
	errno = e;
}

void hp_trace_tick(void)
{
	uint64_t events = __atomic_load_n(&tr.allocs, __ATOMIC_RELAXED) + __atomic_load_n(&tr.frees, __ATOMIC_RELAXED);
	if (events != tr.last_events)
		hp_trace_line("tick", NULL);
}

void hp_trace_atfork_child(void)
{
	pthread_mutex_init(&tr.line_lock, NULL);
}

/* The totals as folded so far; no flush (hp_trace_line calls this with
 * line_lock held, and a flush may want to print a growth line). */
static void stats_read(struct heapprof_stats *st)
{
	memset(st, 0, sizeof *st);
	st->counting = hp_g.tracing;
	st->allocs = __atomic_load_n(&tr.allocs, __ATOMIC_RELAXED);
	st->frees = __atomic_load_n(&tr.frees, __ATOMIC_RELAXED);
	st->alloc_bytes = __atomic_load_n(&tr.alloc_bytes, __ATOMIC_RELAXED);
	st->free_bytes = __atomic_load_n(&tr.free_bytes, __ATOMIC_RELAXED);
	st->inuse_bytes = st->alloc_bytes > st->free_bytes ? st->alloc_bytes - st->free_bytes : 0;
	st->peak_inuse_bytes = __atomic_load_n(&tr.peak, __ATOMIC_RELAXED);
	st->samples = hp_samples();
	st->samples_dropped = __atomic_load_n(&hp_g.dropped, __ATOMIC_RELAXED);
	st->profiler_bytes = hp_ialloc_bytes();
	st->rate = hp_cfg.rate;
}

HP_EXPORT int heapprof_stats(struct heapprof_stats *st)
{
	if (!st)
		return -EINVAL;
	if (hp_g.tracing) {
		/* The caller's own pending batch, so its view is exact. */
		int e = errno;
		hp_trace_flush(&hp_self);
		errno = e;
	}
	stats_read(st);
	return 0;
}
