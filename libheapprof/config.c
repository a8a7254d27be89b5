/*
 * config.c - every HEAPPROF_* and HEAPTRACE* variable, read once at init
 * from one table.  A bad value gets one warning and the default: the host
 * program must run as it would without us.
 */
#include "hp.h"
#include "hp_env.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct hp_config hp_cfg = {
	.rate = 524288,
	.depth = 64,
	.max_stacks = 262144,
	.trace_growth = 100,
	.trace_min = 4 << 20,
	.trace_interval = 10,
	.leaks_top = 10,
	.signal = SIGUSR2,
	.peak_growth = 10,
	.follow = 1,
};

enum kind { U64, INT, BOOL, STR, SIG, UNWIND };
static const struct opt {
	const char *name;
	enum kind kind;
	void *dst;
	uint64_t min, max;
} opts[] = {
	{ "HEAPPROF_RATE", U64, &hp_cfg.rate, 0, HP_ENV_RATE_MAX },
	{ "HEAPPROF_DEPTH", INT, &hp_cfg.depth, 1, HP_MAX_DEPTH },
	{ "HEAPPROF_MAX_STACKS", U64, &hp_cfg.max_stacks, 16, 1u << 24 },
	{ "HEAPPROF_OUT", STR, &hp_cfg.out, 0, 0 },
	{ "HEAPTRACE", BOOL, &hp_cfg.trace, 0, 1 },
	{ "HEAPTRACE_GROWTH", U64, &hp_cfg.trace_growth, 1, 100000 },
	{ "HEAPTRACE_MIN", U64, &hp_cfg.trace_min, 0, (uint64_t)1 << 50 },
	{ "HEAPTRACE_INTERVAL", U64, &hp_cfg.trace_interval, 0, HP_ENV_SECONDS_MAX },
	{ "HEAPPROF_STATS", BOOL, &hp_cfg.stats, 0, 1 },
	{ "HEAPPROF_LEAKS", BOOL, &hp_cfg.leaks, 0, 1 },
	{ "HEAPPROF_LEAKS_TOP", INT, &hp_cfg.leaks_top, 0, 1000000 },  /* 0: all, as leaks -n 0 */
	{ "HEAPPROF_SIGNAL", SIG, &hp_cfg.signal, 0, 0 },
	{ "HEAPPROF_INTERVAL", U64, &hp_cfg.interval, 0, HP_ENV_SECONDS_MAX },
	{ "HEAPPROF_PEAK", BOOL, &hp_cfg.peak, 0, 1 },
	{ "HEAPPROF_PEAK_GROWTH", U64, &hp_cfg.peak_growth, 1, 100000 },
	{ "HEAPPROF_FOLLOW", BOOL, &hp_cfg.follow, 0, 1 },
	{ "HEAPPROF_HTTP", STR, &hp_cfg.http, 0, 0 },
	{ "HEAPPROF_UNWIND", UNWIND, &hp_cfg.unwind, 0, 0 },
	{ "HEAPPROF_HTTP_FILE", STR, &hp_cfg.http_file, 0, 0 },
};

int hp_config_signal(const char *s)
{
	return hp_env_signal(s);
}

void hp_config_load(void)
{
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
		const struct opt *o = &opts[i];
		const char *s = getenv(o->name);
		uint64_t v;
		int bad = 0;
		if (!s || !*s)
			continue;
		switch (o->kind) {
		case STR: {
			/* A copy: programs that set their process title (nginx,
			 * redis, sshd) write it over the environment's strings,
			 * and a pointer into them named a file in the program's
			 * directory after the title (tests/progs/proctitle.c). */
			size_t len = strlen(s) + 1;
			char *copy = hp_ialloc(len);
			if (!copy) {
				bad = 1;
				break;
			}
			memcpy(copy, s, len);
			*(const char **)o->dst = copy;
			break;
		}
		case SIG: {
			int sig = hp_config_signal(s);
			if (sig < 0)
				bad = 1;
			else
				*(int *)o->dst = sig;
			hp_cfg.signal_set = 1;
			break;
		}
		case UNWIND:    /* "cfi" (ours, the default), "libunwind" ("dwarf") or "fp" */
			if (!strcmp(s, "fp"))
				*(int *)o->dst = HP_UNWIND_FP;
			else if (!strcmp(s, "libunwind") || !strcmp(s, "dwarf"))
				*(int *)o->dst = HP_UNWIND_LIBUNWIND;
			else if (!strcmp(s, "cfi"))
				*(int *)o->dst = HP_UNWIND_CFI;
			else
				bad = 1;
			break;
		case BOOL:
			if (!strcmp(s, "1") || !strcmp(s, "yes") || !strcmp(s, "true"))
				*(int *)o->dst = 1;
			else if (!strcmp(s, "0") || !strcmp(s, "no") || !strcmp(s, "false"))
				*(int *)o->dst = 0;
			else
				bad = 1;
			break;
		case U64:
		case INT:
			if (hp_env_u64(s, &v) || v < o->min || v > o->max)
				bad = 1;
			else if (o->kind == U64)
				*(uint64_t *)o->dst = v;
			else
				*(int *)o->dst = (int)v;
			break;
		}
		if (bad)
			hp_warn2("ignoring bad value of", o->name);
	}
}

/* Writes all of buf to fd, for everything heapprof writes on a program's
 * thread: warnings, HEAPTRACE lines and the leak report on stderr, the
 * exit profile.  The write must not raise a signal in the program:
 * SIGPIPE when its stderr is a pipe nobody reads any more, SIGXFSZ when
 * the profile passes its RLIMIT_FSIZE.  Either killed the program where it
 * would have exited normally.  So both are blocked around the write, and
 * one that the write raised (pending now, not before) is taken off again;
 * the write fails with EPIPE or EFBIG instead.  The raw calls: write() and
 * sigtimedwait() are cancellation points, and this may run inside malloc.
 * 0, or -errno. */
int hp_write_all(int fd, const void *buf, size_t n)
{
	sigset_t ours, old, before, after;
	sigemptyset(&ours);
	sigaddset(&ours, SIGPIPE);
	sigaddset(&ours, SIGXFSZ);
	pthread_sigmask(SIG_BLOCK, &ours, &old);
	sigpending(&before);
	const char *p = buf;
	int r = 0;
	while (n) {
		long w = syscall(SYS_write, fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = w < 0 ? -errno : -EIO;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
	if (r) {
		sigpending(&after);
		static const int sigs[] = { SIGPIPE, SIGXFSZ };
		for (int i = 0; i < 2; i++) {
			if (!sigismember(&after, sigs[i]) || sigismember(&before, sigs[i]))
				continue;
			sigset_t one;
			struct timespec zero = { 0, 0 };
			sigemptyset(&one);
			sigaddset(&one, sigs[i]);
			syscall(SYS_rt_sigtimedwait, &one, NULL, &zero, _NSIG / 8);
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

/* Warnings: one write(2), errno kept, each distinct (msg, subject) pair at
 * most once.  No lock (a forked child must never find it held): two threads
 * racing on the same new warning may both print it, which is harmless.
 *
 * Only while fd 2 is the file it was when heapprof started.  A program
 * that closes stderr (daemons do) and opens a file of its own gets fd 2
 * for it, and a warning written "to stderr" then went into the program's
 * data (tests/progs/fd2reuse.c).  A program that puts a log on fd 2 itself
 * gets no warnings there either: we cannot tell the two apart, and a lost
 * warning harms nothing.  HEAPTRACE lines and the HEAPPROF_LEAKS report,
 * output the user asked for, go to fd 2 whatever it is, as Go's gctrace
 * does. */
static struct {
	const char *seen[64][2];
	int nseen;
	int fd2;                /* 0: not looked at yet; 1: open, as below; -1: closed at start */
	dev_t dev;
	ino_t ino;
} warn;

void hp_warn_init(void)
{
	struct stat st;
	if (fstat(2, &st) == 0) {
		warn.dev = st.st_dev;
		warn.ino = st.st_ino;
		warn.fd2 = 1;
	} else {
		warn.fd2 = -1;
	}
}

static int stderr_ours(int fd)
{
	struct stat st;
	if (warn.fd2 == 0)
		return 1;       /* before init: the program has run no code yet */
	return warn.fd2 > 0 && fstat(fd, &st) == 0 && st.st_dev == warn.dev && st.st_ino == warn.ino;
}

int hp_write_stderr(const void *buf, size_t n, int warning)
{
	int fd = hp_fdtab_program(2);
	int r = fd < 0 ? fd : warning && !stderr_ours(fd) ? -EBUSY : hp_write_all(fd, buf, n);
	hp_fdtab_release(fd, 2);
	return r;
}

void hp_warn2(const char *msg, const char *subject)
{
	hp_warn3(msg, subject, NULL);
}

void hp_warn3(const char *msg, const char *subject, const char *why)
{
	int e = errno;
	int n = __atomic_load_n(&warn.nseen, __ATOMIC_ACQUIRE);
	for (int i = 0; i < n && i < 64; i++)
		if (warn.seen[i][0] == msg && warn.seen[i][1] == subject)
			goto out;
	int slot = __atomic_fetch_add(&warn.nseen, 1, __ATOMIC_ACQ_REL);
	if (slot < 64) {
		warn.seen[slot][0] = msg;
		warn.seen[slot][1] = subject;
	}
	char buf[512];
	size_t len = 0;
	/* A subject of over WARN_SUBJECT_MAX bytes (a path, a pattern) is cut,
	 * with "...", so the reason after it is still on the line. */
	enum { WARN_SUBJECT_MAX = 300 };
	size_t sublen = subject ? strlen(subject) : 0;
	int cut = sublen > WARN_SUBJECT_MAX;
	const struct { const char *s; size_t n; } parts[] = {
		{ "heapprof: ", 10 }, { msg, strlen(msg) },
		{ " '", subject ? 2 : 0 }, { subject, cut ? WARN_SUBJECT_MAX : sublen }, { "...", cut ? 3 : 0 },
		{ "'", subject ? 1 : 0 }, { ": ", why ? 2 : 0 }, { why, why ? strlen(why) : 0 },
	};
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		size_t l = parts[i].n < sizeof buf - 1 - len ? parts[i].n : sizeof buf - 1 - len;
		if (l)
			memcpy(buf + len, parts[i].s, l);
		len += l;
	}
	buf[len++] = '\n';
	hp_write_stderr(buf, len, 1);
out:
	errno = e;
}

void hp_warn(const char *msg)
{
	hp_warn2(msg, NULL);
}
