/*
 * dumper.c - the background thread: signal dumps, periodic dumps, peak
 * capture and HEAPTRACE ticks.
 *
 * A signal handler may not lock or allocate, and the signal can land while
 * the interrupted thread holds our lock or is inside malloc, so the handler
 * only counts the signal in dm.wake and wakes the futex on it.  The dumper
 * thread, created with every signal blocked and its recursion guard set for
 * life, waits on that futex (or times out for periodic work) and does the
 * dump.  A futex, not a pipe: a pipe's two descriptors would sit in the
 * program's fd table, where they change the numbers its open() returns,
 * and a program that closes every fd above 2 and reopens its own files
 * would have the dumper read its input and the handler write into its
 * output (tests/progs/fds.c).  Dumps are serialized by
 * dm.busy, which the exit hook also takes, so the process never exits
 * halfway through writing a file.
 *
 * The thread is started only when it costs nothing or is needed: once a
 * second thread exists, glibc's malloc leaves its single-threaded paths
 * (arena locks, atomic fastbins: +18 instructions per malloc/free pair,
 * 1.50x -> 1.18x on a deep-stack workload, docs/performance.md), so a
 * single-threaded program should not pay for a thread that only waits.
 * It starts at init when periodic work needs it or the process already has
 * threads; when the program creates its first thread (pthread_create is
 * wrapped for this); or at the first dump signal.  A signal handler may not
 * normally create a thread, but in a single-threaded process whose only
 * thread was stopped in a blocking system call of libc (the idle server
 * waiting in read() or poll() that a user wants to dump) it may: that
 * thread holds none of the locks pthread_create takes and is not inside
 * malloc (may_start_here).  Anywhere else the handler leaves the start to
 * the thread's next allocation, and the count waits in dm.wake.
 *
 * The program keeps control of its signals: our handler is installed only
 * if the signal still has its default action at init, with SA_RESTART so a
 * blocked read() in the program is restarted rather than failing with EINTR.
 * If the program installs its own handler later, the program wins.
 */
#include "hp.h"
#include "profile.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

/* libc's own sigaction, under the name it exports beside `sigaction`,
 * which is now ours (interpose.c). */
extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);

int hp_dumper_needed;

static struct {
	int armed;              /* signal and periodic dumps are set up (hp_dumper_start) */
	uint32_t wake;          /* dump signals received; the futex the dumper waits on */
	uint32_t served;        /* the count the dumper last acted on (its own) */
	uint32_t done;          /* the count the last signal dump answered (under busy) */
	int retire;             /* the program's threads are gone: return (hp_dumper_retire) */
	int sig_ours;           /* our handler was installed at start: sigaction hides it */
	int running;
	pthread_t thread;
	pthread_mutex_t busy;   /* held while a dump is being written */
	pthread_mutex_t peak_lock;
	double peak_mark;       /* est. in-use that triggers the next peak copy */
	struct hp_prof_sample *peak_snap;       /* counters at the peak (ialloc'd) */
	long peak_n;
	size_t peak_bytes;
	int64_t peak_ns;        /* when the peak copy was taken */
	double peak_inuse;      /* est. in-use at that moment */
	int64_t next_interval, next_tick;       /* CLOCK_MONOTONIC ns */
	uintptr_t libc_lo, libc_hi;     /* libc's executable segment, for may_start_here */
	uintptr_t rtld_lo, rtld_hi;     /* ld.so's: no thread is started from inside it */
	int starting;           /* a start_thread is under way (claimed with a CAS) */
	int pausing;            /* hp_dumper_single wants the thread gone for a moment */
	int alone;              /* one thread, whatever glibc's flag says: a forked
				 * child, or after hp_dumper_single */
	int stat_fd;            /* /proc/self/stat, kept in the thread's own fd table */
	int prog_dfl_set;       /* the program set the dump signal to SIG_DFL (hp_dumper_sigaction) */
	struct sigaction prog_dfl;      /* that action, flags and mask as given, for a read-back */
} dm = { .busy = PTHREAD_MUTEX_INITIALIZER, .peak_lock = PTHREAD_MUTEX_INITIALIZER,
	 .peak_mark = 1.0, .stat_fd = -1 };

static void start_thread(void);

/* Blocking system calls that SA_RESTART restarts: the kernel hands the
 * handler their number in rax with rip back on the syscall instruction.
 * Only calls that wait for input or for a child: libc writes while holding
 * malloc's arena lock (malloc_stats and malloc_info print to a FILE under
 * it), and a write blocked on a full pipe there would make pthread_create's
 * calloc wait on that lock for ever. */
static int blocking_call(long nr)
{
	switch (nr) {
	case SYS_read: case SYS_readv: case SYS_recvfrom: case SYS_recvmsg:
	case SYS_accept: case SYS_accept4: case SYS_wait4: case SYS_waitid:
	case SYS_msgrcv:
		return 1;
	default:
		return 0;
	}
}

/* Whether the signal handler may create the dumper thread itself: the
 * process has one thread, it is not inside the profiler, and it was
 * stopped at a system call instruction of libc that either failed with
 * EINTR (poll, epoll_wait, select, nanosleep, pause, sigsuspend: only
 * waits do) or is one of the waits above, about to be restarted.  libc
 * makes those calls holding none of the locks that pthread_create takes,
 * and malloc never makes them, so creating a thread there is as safe as
 * from the program's own code.  A program handler that interrupted malloc
 * and then waited in one would defeat this; heapprof accepts that corner
 * (docs/live.md).
 *
 * ucv is checked before it is read: a program that saved our handler and
 * calls it as sa_handler(sig) passes garbage.  The kernel puts the
 * ucontext a few words above the handler's frame, with its fpregs
 * pointing a little further up; anything else is not trusted. */
static int may_start_here(const void *ucv)
{
#if defined(__x86_64__)
	const ucontext_t *uc = ucv;
	uintptr_t u = (uintptr_t)ucv, f = (uintptr_t)__builtin_frame_address(0);
	if (u < f || u - f > 512 || (u & 7))
		return 0;
	uintptr_t fpregs = (uintptr_t)uc->uc_mcontext.fpregs;
	if (fpregs <= u || fpregs - u > 4096)
		return 0;
	if (!(__libc_single_threaded || dm.alone) || hp_self.guard || !hp_g.ready)
		return 0;
	uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	long ax = (long)uc->uc_mcontext.gregs[REG_RAX];
	if (ip < dm.libc_lo + 2 || ip + 2 > dm.libc_hi)
		return 0;       /* only libc's bytes are read, and they are mapped */
	const unsigned char *c = (const unsigned char *)ip;
	if (ax == -EINTR && c[-2] == 0x0f && c[-1] == 0x05)
		return 1;
	return c[0] == 0x0f && c[1] == 0x05 && blocking_call(ax);
#else
	(void)ucv;
	return 0;
#endif
}

/* Whether the dump signal sig is the program's own to die of: it set the
 * signal's action to SIG_DFL and then sent the signal to itself (raise,
 * kill(getpid()), sigqueue), as a handler that cleans up and re-raises
 * does, and CPython's signal.signal(s, SIG_DFL); os.kill(os.getpid(), s).
 * Without us that ends the process; a signal from another process (kill
 * -USR2, heapprof dump) still asks for a dump, even after SIG_DFL (daemons
 * reset every signal at start).  Signals whose default is to be ignored
 * (URG, WINCH) dump either way: nothing of the program's would differ. */
static int program_default(int sig, const siginfo_t *si)
{
	return __atomic_load_n(&dm.prog_dfl_set, __ATOMIC_ACQUIRE) && si && sig != SIGURG && sig != SIGWINCH &&
	       (si->si_code == SI_USER || si->si_code == SI_TKILL || si->si_code == SI_QUEUE) &&
	       si->si_pid == getpid();
}

static void on_signal(int sig, siginfo_t *si, void *ucv)
{
	int e = errno;
	if (program_default(sig, si)) {
		/* the default action, as the program set it: the signal is
		 * blocked in this handler, so it lands when the handler returns */
		struct sigaction dfl = dm.prog_dfl;
		dfl.sa_handler = SIG_DFL;
		__sigaction(sig, &dfl, NULL);
		__atomic_store_n(&dm.sig_ours, 0, __ATOMIC_RELEASE);
		syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), sig);
		errno = e;
		return;
	}
	if (dm.armed && !__atomic_load_n(&dm.retire, __ATOMIC_ACQUIRE)) {
		__atomic_fetch_add(&dm.wake, 1, __ATOMIC_RELEASE);
		syscall(SYS_futex, &dm.wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	}
	if (!__atomic_load_n(&dm.running, __ATOMIC_ACQUIRE)) {
		if (may_start_here(ucv)) {
			int g = hp_guard_enter();
			start_thread();
			hp_guard_leave(g);
		} else {
			/* The thread's next allocation takes the slow path, which
			 * puts the countdown back (hp_alloc_slow: no sample is
			 * added) and starts the thread.  At rate 1 and while
			 * tracing every allocation goes there anyway. */
			__atomic_store_n(&hp_dumper_needed, 1, __ATOMIC_RELEASE);
			struct hp_thread *t = &hp_self;
			if (!t->guard && !hp_g.tracing && t->countdown && !t->resume) {
				t->resume = t->countdown;
				t->countdown = 0;
			}
		}
	}
	errno = e;
}

/* A numbered dump: for dump signals up to count w (any that came since
 * the last one answered), or, with w = 0, a periodic one. */
static void live_dump(uint32_t w)
{
	char path[4096];
	hp_mutex_lock(&dm.busy);
	if (!w || w != dm.done) {
		if (w)
			dm.done = w;
		hp_dump_next(path, sizeof path);
	}
	hp_mutex_unlock(&dm.busy);
}

/* HEAPPROF_PEAK: called after each sample.  When the estimated in-use
 * heap passes the mark, copy the bucket counters right away (the moment
 * matters: by the time a thread woke up, the heap could have shrunk) and
 * keep the copy; it becomes a profile only at exit, so a peak costs one
 * counter copy, not a symbolized dump.  The next mark is the new peak plus
 * HEAPPROF_PEAK_GROWTH percent, so a growing heap takes logarithmically
 * many copies. */
void hp_dumper_peak_check(void)
{
	if (!hp_cfg.peak)
		return;
	/* A racy read: at worst two threads both take a copy. */
	double now = hp_est_inuse();
	if (now < dm.peak_mark)
		return;
	struct hp_prof_sample *snap;
	size_t bytes;
	long n = hp_dump_snapshot(&snap, &bytes);
	if (n < 0)
		return;
	hp_mutex_lock(&dm.peak_lock);
	if (now >= dm.peak_mark) {
		struct hp_prof_sample *old = dm.peak_snap;
		size_t old_bytes = dm.peak_bytes;
		dm.peak_snap = snap;
		dm.peak_n = n;
		dm.peak_bytes = bytes;
		dm.peak_ns = hp_now_ns();
		dm.peak_inuse = now;
		dm.peak_mark = now * (1.0 + (double)hp_cfg.peak_growth / 100.0);
		snap = old;
		bytes = old_bytes;
	}
	hp_mutex_unlock(&dm.peak_lock);
	hp_ifree(snap, bytes);
}

static int64_t secs(uint64_t s)
{
	return (int64_t)s * 1000000000;
}

/* HEAPTRACE's tick, when it is due at now: from the thread, or from a
 * batch flush while no thread runs (hp_dumper_tick_here). */
static void tick_if_due(int64_t now)
{
	if (hp_cfg.trace && hp_cfg.trace_interval && dm.next_tick <= now) {
		hp_trace_tick();
		dm.next_tick = now + secs(hp_cfg.trace_interval);
	}
}

/* Whether the program has no thread left: the process holds only our
 * threads (ours of them) and the main thread's zombie.  A thread that ends
 * without running its key destructors (a raw SYS_exit, seccomp's
 * SECCOMP_RET_KILL_THREAD) is never counted out, so after main's
 * pthread_exit our threads would keep the process alive for ever, and
 * with every signal blocked in them, deaf to SIGTERM.  One read of
 * /proc/self/stat: the main thread's state, num_threads and, in *status,
 * its exit status as waitpid(2) has it (Linux 3.5 on; 0 before).  In a
 * descriptor table of its own the thread keeps the file open (dm.stat_fd):
 * sshd's sandboxed child sets RLIMIT_NOFILE to 0 before its seccomp
 * filter kills its main thread, and an open each time then failed for
 * ever, leaving the process alive, deaf to SIGTERM. */
static int program_gone(int ours, int *status)
{
	char buf[1024];
	int fd = dm.stat_fd >= 0 ? dm.stat_fd : hp_open_high("/proc/self/stat", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	if (fd != dm.stat_fd)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	char state = p[2];
	/* from the name (the 2nd field) on to num_threads, the 20th */
	int field = 2;
	for (; *p && field < 20; p++)
		if (*p == ' ')
			field++;
	long threads = strtol(p, NULL, 10);
	for (; *p && field < 52; p++)   /* exit_code, the 52nd */
		if (*p == ' ')
			field++;
	*status = field == 52 ? (int)strtol(p, NULL, 10) : 0;
	return state == 'Z' && threads > 0 && threads <= ours + 1;
}

/* The program's threads are all gone, none through exit(): end the process
 * as the last of them would have ended it, had we not been there.  Main
 * killed by a signal (seccomp's SECCOMP_RET_KILL_THREAD: SIGSYS, a core
 * when it is the last thread) kills the process with that signal; else
 * a raw exit with main's status, so that no exit handler runs, where a
 * return from this thread would make glibc call exit(0). */
static __attribute__((noreturn)) void end_as_program(int status)
{
	__atomic_store_n(&dm.retire, 1, __ATOMIC_RELEASE);
	hp_http_retire();
	int sig = status & 0x7f;
	if (sig) {
		struct sigaction dfl;
		memset(&dfl, 0, sizeof dfl);
		dfl.sa_handler = SIG_DFL;
		__sigaction(sig, &dfl, NULL);
		sigset_t one;
		sigemptyset(&one);
		sigaddset(&one, sig);
		pthread_sigmask(SIG_UNBLOCK, &one, NULL);
		kill(getpid(), sig);
	}
	for (;;)
		syscall(SYS_exit, (status >> 8) & 0xff);
}

static void *dumper_main(void *arg)
{
	(void)arg;
	hp_self.guard = 1;      /* everything this thread allocates is ours */
	hp_thread_disown();
	/* its files never meet the program's (fdtab.c), and there it may
	 * keep one open */
	dm.stat_fd = hp_fdtab_unshare() ? open("/proc/self/stat", O_RDONLY | O_CLOEXEC) : -1;
	for (;;) {
		if (__atomic_load_n(&dm.retire, __ATOMIC_ACQUIRE) || __atomic_load_n(&dm.pausing, __ATOMIC_ACQUIRE))
			return NULL;
		int64_t now = hp_mono_ns(), due = INT64_MAX;
		if (hp_cfg.interval && dm.next_interval <= now) {
			live_dump(0);
			dm.next_interval = now + secs(hp_cfg.interval);
		}
		tick_if_due(now);
		if (hp_cfg.interval && dm.next_interval < due)
			due = dm.next_interval;
		if (hp_cfg.trace && hp_cfg.trace_interval && dm.next_tick < due)
			due = dm.next_tick;
		/* at least once a second: is any thread of the program left? */
		int status;
		if (program_gone(1 + hp_http_running(), &status))
			end_as_program(status);
		if (due > now + secs(1))
			due = now + secs(1);
		uint32_t w = __atomic_load_n(&dm.wake, __ATOMIC_ACQUIRE);
		if (__atomic_load_n(&dm.retire, __ATOMIC_ACQUIRE) || __atomic_load_n(&dm.pausing, __ATOMIC_ACQUIRE))
			return NULL;    /* retire's wake is not a signal: no dump */
		if (w != dm.served) {
			dm.served = w;  /* several signals while busy make one dump */
			live_dump(w);
			continue;
		}
		struct timespec ts = { (due - now) / 1000000000, (due - now) % 1000000000 };
		if (due < now)
			ts = (struct timespec){ 0, 0 };
		/* Back at a wake, at the timeout, or at once when a signal came
		 * after the load (EAGAIN); the loop looks again each time. */
		if (syscall(SYS_futex, &dm.wake, FUTEX_WAIT_PRIVATE, w, due == INT64_MAX ? NULL : &ts, NULL, 0) != 0 &&
		    errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT) {
			hp_warn("the dumper thread cannot wait: signal and periodic dumps are off");
			return NULL;
		}
	}
}

static void start_thread(void)
{
	/* One starter only: the program's pthread_create, the handler and a
	 * slow path can race, and the new thread itself may create threads
	 * before `running` is set. */
	int zero = 0;
	if (!__atomic_compare_exchange_n(&dm.starting, &zero, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	if (__atomic_load_n(&dm.running, __ATOMIC_ACQUIRE) || __atomic_load_n(&dm.retire, __ATOMIC_ACQUIRE))
		return;         /* stays claimed: the thread exists, or must not any more */
	sigset_t all, old;
	pthread_attr_t attr;
	sigfillset(&all);
	pthread_attr_init(&attr);
	/* Joinable: hp_dumper_retire waits for it to be gone. */
	pthread_attr_setstacksize(&attr, 256 << 10);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* What pthread_create allocates for the thread (its TLS vector) from
	 * the bootstrap arena, not the program's heap: started at the
	 * program's first pthread_create, it left 352 bytes more in use there
	 * (mallinfo2, malloc_stats) and moved the program's later blocks.  The
	 * arena serves from the slow path, so the gate is shut meanwhile
	 * (guarded: no sample, and the countdown is left as it was). */
	struct hp_thread *t = &hp_self;
	uint64_t gate = t->countdown;
	t->countdown = 0;
	int served = hp_boot_serve(1);
	int r = hp_real_pthread_create(&dm.thread, &attr, dumper_main, NULL);
	hp_boot_serve(served);
	if (t->countdown == 0)
		t->countdown = gate;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	__atomic_store_n(&dm.running, r == 0, __ATOMIC_RELEASE);
	if (r != 0)
		__atomic_store_n(&dm.starting, 0, __ATOMIC_RELEASE);
	/* Said where the user asked for what the thread does: a program at
	 * its thread or memory limit printed it unasked (the default signal
	 * dumps are there for heapprof dump, which says why none comes). */
	if (r != 0 && (hp_cfg.signal_set || hp_cfg.interval || hp_cfg.peak || hp_cfg.trace))
		hp_warn("cannot start the dumper thread: signal and periodic dumps are off");
}

/* Periodic dumps need the thread from the start; so does nothing else, but
 * a process that has threads already (or will have the HTTP server's)
 * pays nothing more for one, and there it also ticks for HEAPTRACE. */
static int needs_thread_now(void)
{
	int threaded = !__libc_single_threaded && !dm.alone;
	return hp_cfg.rate && (hp_cfg.interval || (hp_cfg.trace && hp_cfg.trace_interval && threaded) ||
			       (hp_cfg.signal && (threaded || hp_cfg.http)));
}

/* HEAPTRACE's tick in a process without the thread: a single-threaded
 * program keeps glibc's lock-free malloc paths, and a signal handler's
 * malloc does not meet an arena lock that the thread's existence made
 * glibc take (sigmalloc.c under HEAPTRACE=1 hung 20 of 20 times).  While
 * tracing every allocation takes the slow path, which calls this at each
 * batch flush (trace.c); once the thread runs, it ticks instead.  So an
 * idle single-threaded program ticks at its next allocations, not on the
 * second; a tick says only what changed, and nothing changes while idle. */
void hp_dumper_tick_here(void)
{
	if (dm.armed && hp_cfg.trace_interval && !__atomic_load_n(&dm.running, __ATOMIC_ACQUIRE))
		tick_if_due(hp_mono_ns());
}

static void exec_range(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			*lo = info->dlpi_addr + ph->p_vaddr;
			*hi = *lo + ph->p_memsz;
		}
	}
}

/* ld.so by AT_BASE (libc: hp_stack_libc_text). */
static int note_modules(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (info->dlpi_addr && info->dlpi_addr == (ElfW(Addr))getauxval(AT_BASE))
		exec_range(info, &dm.rtld_lo, &dm.rtld_hi);
	return 0;
}

static int install_ours(int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_RESTART | SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	return __sigaction(sig, &sa, NULL);
}

int hp_dumper_signal_ours(int sig)
{
	return __atomic_load_n(&dm.sig_ours, __ATOMIC_ACQUIRE) && sig == hp_cfg.signal;
}

/* sigaction and signal, for the program (interpose.c), on the dump signal
 * once our handler was installed at start-up.  The program sees what it
 * would see without us: the default action where our handler is.  CPython
 * took the unknown handler for one it cannot restore, and failed to put
 * SIGUSR2 back as it found it (its test_threadsignals), and a program
 * that checks for SIG_DFL before installing its own took us for someone
 * else's.  Any other action replaces ours, as before (the program wins);
 * SIG_DFL puts ours back, since to the program that is what it was, so a
 * library that sets a handler for a while and restores the old one leaves
 * the dumps working. */
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000      /* the kernel's: libc sets it on every action it installs */
#endif
int hp_dumper_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!hp_dumper_signal_ours(sig))
		return __sigaction(sig, act, old);
	struct sigaction cur;
	if (__sigaction(sig, NULL, &cur) != 0)
		return -1;
	int ours = (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_signal;
	if (act && (act->sa_handler == SIG_DFL ? !ours && install_ours(sig) != 0 : __sigaction(sig, act, NULL) != 0))
		return -1;
	if (old) {
		if (ours && __atomic_load_n(&dm.prog_dfl_set, __ATOMIC_ACQUIRE)) {
			/* SIG_DFL with the flags and mask it was given, as the
			 * kernel keeps them: with libc's restorer, without the
			 * signals that cannot be blocked */
			*old = dm.prog_dfl;
			old->sa_flags |= cur.sa_flags & SA_RESTORER;
			old->sa_restorer = cur.sa_restorer;
			sigdelset(&old->sa_mask, SIGKILL);
			sigdelset(&old->sa_mask, SIGSTOP);
		} else if (ours) {
			memset(old, 0, sizeof *old);
			old->sa_handler = SIG_DFL;
		} else {
			*old = cur;
		}
	}
	if (act && act->sa_handler == SIG_DFL) {
		dm.prog_dfl = *act;
		__atomic_store_n(&dm.prog_dfl_set, 1, __ATOMIC_RELEASE);
	} else if (act) {
		__atomic_store_n(&dm.prog_dfl_set, 0, __ATOMIC_RELEASE);
	}
	return 0;
}

void hp_dumper_start(void)
{
	if (!hp_cfg.rate || (!hp_cfg.signal && !needs_thread_now() && !(hp_cfg.trace && hp_cfg.trace_interval)))
		return;
	dm.armed = 1;
	int64_t now = hp_mono_ns();
	dm.next_interval = now + secs(hp_cfg.interval);
	dm.next_tick = now + secs(hp_cfg.trace_interval);
	dl_iterate_phdr(note_modules, NULL);
	hp_stack_libc_text(&dm.libc_lo, &dm.libc_hi);
	if (hp_cfg.signal) {
		struct sigaction old;
		if (__sigaction(hp_cfg.signal, NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
		    !(old.sa_flags & SA_SIGINFO)) {
			if (install_ours(hp_cfg.signal) == 0)
				__atomic_store_n(&dm.sig_ours, 1, __ATOMIC_RELEASE);
		} else if (hp_cfg.signal_set) {
			/* Said only when the user chose the signal: started with
			 * SIGUSR2 ignored (a supervisor's, perf's), a program
			 * would otherwise print this line on every run, on a
			 * stderr that is its own.  heapprof dump says it too. */
			hp_warn(old.sa_handler == SIG_IGN && !(old.sa_flags & SA_SIGINFO)
					? "HEAPPROF_SIGNAL is ignored in this process (inherited): signal dumps are off"
					: "the program handles HEAPPROF_SIGNAL itself: signal dumps are off");
		}
	}
	if (needs_thread_now())
		start_thread();
}

/* pthread_create's wrapper, after the program created a thread: glibc is
 * multi-threaded from now on, so the dumper thread is free. */
void hp_dumper_program_threaded(void)
{
	dm.alone = 0;
	if (__atomic_load_n(&dm.running, __ATOMIC_ACQUIRE) || !dm.armed || dm.retire || !hp_g.ready)
		return;
	/* Here, in the thread that created one, before pthread_create
	 * returns to the program: the program cannot fork halfway through. */
	int g = hp_guard_enter();
	start_thread();
	hp_guard_leave(g);
}

/* A forked child has our handler but no thread.  Signals the parent had
 * not served yet are the parent's: the child's count starts from there.
 * A thread for periodic work starts on its next slow-path event, outside
 * the atfork handler; for signals, as in any process (above). */
void hp_dumper_atfork_child(void)
{
	pthread_mutex_init(&dm.busy, NULL);
	pthread_mutex_init(&dm.peak_lock, NULL);
	hp_dump_atfork_child();
	dm.running = 0;
	dm.starting = 0;
	dm.pausing = 0;         /* a fork during hp_dumper_single's join: the child has no thread to join */
	/* glibc leaves __libc_single_threaded false in the child of a
	 * multi-threaded parent; the child has one thread all the same. */
	dm.alone = 1;
	hp_dumper_needed = 0;
	dm.retire = hp_g.frozen;        /* the child's one thread is the program's; a frozen
					 * child never starts the thread or counts a signal */
	/* The child's peak is its own, from its heap at the fork: the
	 * parent's copy was written as the child's peak profile, a state its
	 * heap never had, and the parent's mark hid the child's own peaks. */
	if (dm.peak_snap && !hp_g.frozen)
		hp_ifree(dm.peak_snap, dm.peak_bytes);
	dm.peak_snap = NULL;
	dm.peak_n = 0;
	dm.peak_bytes = 0;
	dm.peak_inuse = 0;
	dm.peak_mark = hp_est_inuse();
	if (!dm.armed || hp_g.frozen)
		return;
	dm.served = dm.done = __atomic_load_n(&dm.wake, __ATOMIC_ACQUIRE);
	hp_dumper_needed = needs_thread_now();
}

/* caller: the return address of the allocator call that led here, or 0.
 * Not from inside ld.so (dlopen's own allocations, or pthread_create's
 * for a thread's TLS): its TLS tables may be half-updated there, and
 * pthread_create reads them.  The flag then stays set for a later call. */
void hp_dumper_lazy_start(uintptr_t caller)
{
	if (caller && caller >= dm.rtld_lo && caller < dm.rtld_hi)
		return;
	if (__atomic_exchange_n(&hp_dumper_needed, 0, __ATOMIC_ACQ_REL) &&
	    !__atomic_load_n(&dm.running, __ATOMIC_ACQUIRE) && dm.armed && !dm.retire) {
		int g = hp_guard_enter();
		start_thread();
		hp_guard_leave(g);
	}
}

/* Called by the program's last thread as it exits (core.c count_out):
 * stop the dumper and wait until it is gone, so that glibc sees that
 * thread as the last one and ends the process from it.  A dump under way
 * is finished first; waiting is bounded, as at exit.  The thread is not
 * started again and signals are no longer counted, but in a forked
 * child. */
void hp_dumper_retire(void)
{
	if (dm.retire)
		return;
	__atomic_store_n(&dm.retire, 1, __ATOMIC_RELEASE);      /* also: never started from now on */
	int zero = 0;
	if (!__atomic_load_n(&dm.running, __ATOMIC_ACQUIRE) ||
	    !__atomic_compare_exchange_n(&dm.pausing, &zero, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;         /* not running, or hp_dumper_single is joining it, and will not restart it */
	__atomic_fetch_add(&dm.wake, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &dm.wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_timedjoin_np(dm.thread, NULL, &until);
}

/* Stops the running thread and waits until it is gone; 1 if it was
 * running and is gone.  It finishes a dump under way first.  Its wake
 * count is left alone (no increment: the next thread would take it for a
 * signal), so a wake that lands just before its futex wait is repeated. */
static int pause_thread(void)
{
	int zero = 0;
	/* One joiner at a time: two unshare calls at once, or this and
	 * hp_dumper_retire, would join one thread twice. */
	if (!__atomic_compare_exchange_n(&dm.pausing, &zero, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return 0;
	if (!__atomic_load_n(&dm.running, __ATOMIC_ACQUIRE) || __atomic_load_n(&dm.retire, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&dm.pausing, 0, __ATOMIC_RELEASE);
		return 0;
	}
	int gone = 0;
	for (int i = 0; i < 500 && !gone; i++) {
		syscall(SYS_futex, &dm.wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		if ((until.tv_nsec += 10000000) >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		gone = pthread_timedjoin_np(dm.thread, NULL, &until) == 0;
	}
	if (gone) {
		__atomic_store_n(&dm.running, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&dm.starting, 0, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&dm.pausing, 0, __ATOMIC_RELEASE);
	return gone;
}

/* unshare and setns, made as the program would see them without us.  The
 * kernel refuses unshare(CLONE_NEWUSER) (and CLONE_THREAD, CLONE_SIGHAND,
 * CLONE_VM), setns into a user namespace, and setns into a mount namespace
 * while CLONE_FS is shared, to a process with more than one thread:
 * EINVAL.  A program that created threads and joined them may make these
 * calls; with the dumper thread still there it could not (unshare.c).  So
 * when one fails with EINVAL while the thread runs, the thread is stopped
 * and the call made again.  Made, the process has one thread, and ours
 * starts again as in any single-threaded process (the program's next
 * pthread_create, a dump signal, periodic work's next allocation); still
 * refused, the program has threads of its own, ours starts again at once,
 * and the program sees the call's own error.  The HTTP server's thread is
 * not stopped: under HEAPPROF_HTTP these calls fail, as in a threaded
 * program. */
int hp_dumper_single(int (*call)(int, int), int a, int b, int ours_matter)
{
	int e0 = errno;
	int r = call(a, b);
	/* Only where our thread can be why: not for flags the kernel refuses
	 * anyway, nor while the program has threads of its own (each such
	 * refusal cost 15 ms, the dumper stopped and started again). */
	if (r == 0 || (errno != EINVAL && errno != EUSERS) || hp_self.guard || !ours_matter || hp_program_threads() > 1)
		return r;
	/* unshare and setns are no cancellation points; the join and the
	 * sleeps below are, and a cancel there left the dumper stopped for
	 * good (dm.pausing held) */
	int cs;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	if (!pause_thread()) {
		pthread_setcancelstate(cs, NULL);
		errno = EINVAL;
		return r;
	}
	/* The kernel takes a thread out of its group a moment after the
	 * join has returned: a few more tries, 10 ms in all. */
	for (int i = 0; i < 100; i++) {
		if ((r = call(a, b)) == 0 || (errno != EINVAL && errno != EUSERS))
			break;
		struct timespec ts = { 0, 100000 };
		nanosleep(&ts, NULL);
	}
	int e = errno;
	if (r == 0) {
		dm.alone = 1;
		if (needs_thread_now())
			__atomic_store_n(&hp_dumper_needed, 1, __ATOMIC_RELEASE);
	} else {
		int g = hp_guard_enter();
		start_thread();
		hp_guard_leave(g);
	}
	pthread_setcancelstate(cs, NULL);
	errno = r == 0 ? e0 : e;        /* as the call alone: not our first try's EINVAL */
	return r;
}

int hp_dumper_atfork_prepare(void)
{
	/* Don't fork while another thread is inside pthread_create for the
	 * dumper (its stack and TLS half set up): wait for it, briefly. */
	for (int i = 0; i < 2000 && __atomic_load_n(&dm.starting, __ATOMIC_ACQUIRE) &&
	     !__atomic_load_n(&dm.running, __ATOMIC_ACQUIRE); i++)
		sched_yield();
	/* Don't fork halfway through a dump: the child would inherit a
	 * half-built buffer and a held lock.  But not for ever: a dump waits
	 * for the dynamic linker's lock (dlopen, dl_iterate_phdr), and a
	 * library's constructor that forks holds it: the two waited on each
	 * other for good (a dlopen in a loop while dumps ran).  After a
	 * second the fork goes ahead without our locks, its child frozen, as
	 * a fork from a signal handler that interrupted us. */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	return pthread_mutex_timedlock(&dm.busy, &until) == 0 ? 0 : -1;
}

void hp_dumper_atfork_parent(void)
{
	pthread_mutex_unlock(&dm.busy);
}

/* The peak file: the pattern with %n replaced by "peak" (or ".peak"
 * inserted before ".pb.gz" when there is no %n). */
static int peak_path(char *buf, size_t len)
{
	const char *pat = hp_dump_pattern();
	char tmp[4096];
	const char *n = strstr(pat, "%n");
	int w;
	if (n)
		w = snprintf(tmp, sizeof tmp, "%.*speak%s", (int)(n - pat), pat, n + 2);
	else {
		size_t l = strlen(pat);
		if (l > 6 && !strcmp(pat + l - 6, ".pb.gz"))
			w = snprintf(tmp, sizeof tmp, "%.*s.peak.pb.gz", (int)(l - 6), pat);
		else
			w = snprintf(tmp, sizeof tmp, "%s.peak", pat);
	}
	int r = w < 0 || (size_t)w >= sizeof tmp ? -ENAMETOOLONG : hp_dump_expand(tmp, buf, len);
	if (r != 0)     /* said once, as a failed write; not cut short into another name */
		hp_warn3("cannot write profile", pat, hp_dump_write_error(r));
	return r;
}

static void write_peak(void)
{
	char path[4096];
	struct hp_buf b = { 0 };
	/* The heap may have grown past the last copy without reaching the next
	 * mark: then the state at exit is the peak. */
	if (hp_cfg.peak && hp_est_inuse() > dm.peak_inuse) {
		dm.peak_mark = 0;
		hp_dumper_peak_check();
	}
	hp_mutex_lock(&dm.peak_lock);
	if (dm.peak_snap && peak_path(path, sizeof path) == 0 &&
	    hp_dump_build_from(dm.peak_snap, (size_t)dm.peak_n, dm.peak_ns, 0, &b) == 0) {
		int r = hp_dump_write_file(path, b.data, b.len);
		if (r != 0)
			hp_warn3("cannot write profile", path, hp_dump_write_error(r));
		else
			hp_trace_line("dump", path);
	}
	hp_mutex_unlock(&dm.peak_lock);
	hp_buf_free(&b);
}

void hp_dumper_exit(void)
{
	/* Wait for a dump in progress, briefly: exit must not hang on us. */
	for (int i = 0; i < 500; i++) {
		if (pthread_mutex_trylock(&dm.busy) == 0) {
			hp_self.exit_held = 1;  /* for good: a fork after this skips our locks */
			/* A dump signal not answered yet (the program exits right
			 * after it, often because the signal cut its sleep short,
			 * or before its next allocation could start the dumper) is
			 * answered now: heapprof dump is waiting for the file.
			 * After hp_dumper_retire the count holds its wake too. */
			char path[4096];
			uint32_t w = __atomic_load_n(&dm.wake, __ATOMIC_ACQUIRE);
			if (dm.armed && w != dm.done && !__atomic_load_n(&dm.retire, __ATOMIC_ACQUIRE)) {
				dm.done = w;
				hp_dump_next(path, sizeof path);
			}
			write_peak();
			/* Stay locked: no dump may start once exit has begun. */
			return;
		}
		usleep(10000);
	}
}
