/*
 * dump.c - turning the tables into a profile file.
 *
 * The table locks are held only to copy the bucket counters and count
 * the blocks still live, one shard at a time; stacks are immutable and
 * never freed, so the copy points at them.  Symbolizing, encoding and
 * gzip (profile.c) then run unlocked while the program keeps allocating.
 * The file is written under a temporary name in the same directory and
 * renamed into place, so a reader sees either no file or a whole one; a
 * failed write removes the temporary file and warns once.
 */
#include "hp.h"
#include "hp_env.h"
#include "heapprof.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct {
	uint64_t seq;           /* %n: dumps taken so far by this process */
} dump;

/* Copies the non-empty buckets, their counts summed over the shards.
 * *out is hp_ialloc'd; free with hp_ifree(*out, *bytes).  Returns the
 * count, or -1 on OOM or a lock not had in time.  Each shard is copied
 * under its own lock, its allocation counts with the blocks still in its
 * live table, each of which its allocation counted there; so each shard's
 * live blocks never exceed its allocations, and frees (the difference)
 * are never negative. */
#define SNAPSHOT_WAIT_NS 2000000000     /* per lock: critical sections take microseconds */

/* A shard's live blocks, counted into frees of their buckets (1..n) until
 * the end of the snapshot turns that into allocations less live. */
struct tally {
	struct hp_prof_sample *s;
	uint32_t n;
};

static void tally_live(uint32_t b, void *arg)
{
	struct tally *t = arg;
	if (b >= 1 && b <= t->n)        /* not HP_BOOT_BUCKET, nor a bucket newer than the snapshot */
		t->s[b - 1].frees++;
}

long hp_dump_snapshot(struct hp_prof_sample **out, size_t *bytes)
{
	/* Buckets 1..n are complete once n is read under the lock, and never
	 * change after.  A lock not had in SNAPSHOT_WAIT_NS was left held by
	 * a thread that is gone (hp_lock_within): no snapshot. */
	*out = NULL;
	*bytes = 0;
	if (!hp_lock_within(&hp_g.lock, SNAPSHOT_WAIT_NS))
		return -1;
	uint32_t n = hp_stacktab_nbuckets();
	hp_unlock(&hp_g.lock);
	size_t len = (size_t)(n ? n : 1) * sizeof(struct hp_prof_sample);
	struct hp_prof_sample *s = hp_ialloc(len);
	if (!s)
		return -1;
	for (unsigned sh = 0; sh < HP_NSHARDS; sh++) {
		if (!hp_lock_within(&hp_shards[sh].lock, SNAPSHOT_WAIT_NS)) {
			hp_ifree(s, len);
			return -1;
		}
		uint32_t below = hp_stacktab_count_ids_locked(sh);
		for (uint32_t id = 1; id <= n && id < below; id++) {
			const struct hp_count *c = hp_stacktab_count_peek_locked(sh, id);
			if (c)
				s[id - 1].allocs += c->allocs;
		}
		struct tally t = { s, n };
		hp_livetab_each_locked(sh, tally_live, &t);
		hp_unlock(&hp_shards[sh].lock);
	}
	long k = 0;
	for (uint32_t id = 1; id <= n; id++) {
		if (!s[id - 1].allocs)
			continue;
		const struct hp_bucket *b = hp_stacktab_get(id);
		uint64_t allocs = s[id - 1].allocs, live = s[id - 1].frees;
		s[k].pcs = b->stack->pcs;
		s[k].npcs = b->stack->depth;
		s[k].size = b->size;
		s[k].allocs = allocs;
		s[k].frees = allocs - live;
		k++;
	}
	*out = s;
	*bytes = len;
	return k;
}

int hp_dump_build_from(const struct hp_prof_sample *s, size_t n, int64_t when, int alloc_default,
		       struct hp_buf *out)
{
	char comment[160];
	uint64_t dropped = __atomic_load_n(&hp_g.dropped, __ATOMIC_RELAXED);
	uint64_t over = __atomic_load_n(&hp_g.overflowed, __ATOMIC_RELAXED);
	snprintf(comment, sizeof comment, "heapprof %s: rate %llu, %llu samples dropped, %llu in the overflow bucket",
		 HP_VERSION, (unsigned long long)hp_cfg.rate, (unsigned long long)dropped,
		 (unsigned long long)over);
	struct hp_prof_input in = {
		.samples = s,
		.n = n,
		.rate = hp_cfg.rate,
		.time_nanos = when,
		.duration_nanos = when - hp_g.start_ns,
		.alloc_default = alloc_default,
		.comment = comment,
	};
	return hp_profile_build(&in, out) == 0 ? 0 : -ENOMEM;
}

int hp_dump_build(struct hp_buf *out, int alloc_default)
{
	struct hp_prof_sample *s;
	size_t bytes;
	long n = hp_dump_snapshot(&s, &bytes);
	if (n < 0)
		return -ENOMEM;
	int r = hp_dump_build_from(s, (size_t)n, hp_now_ns(), alloc_default, out);
	hp_ifree(s, bytes);
	return r;
}

/* Whether fd 0, 1 or 2 has the file st open: /dev/stdout or /proc/self/fd/1
 * when the program's stdout is redirected to a file. */
static int is_own_stream(const struct stat *st)
{
	for (int n = 0; n <= 2; n++) {
		struct stat o;
		int fd = hp_fdtab_program(n);
		/* cannot tell (main gone, on a dumper thread): as if it were */
		int same = fd < 0 ? fd != -EBADF
			   : fstat(fd, &o) == 0 && o.st_dev == st->st_dev && o.st_ino == st->st_ino;
		hp_fdtab_release(fd, n);
		if (same)
			return 1;
	}
	return 0;
}

/* A path that exists and is not a regular file is written through, not
 * replaced: rename(2) would put a regular file where /dev/null, a FIFO or
 * a symlink was (as root, /dev/null itself).  A FIFO nobody reads fails
 * (ENXIO) instead of hanging the exit; a link to a regular file is
 * truncated, unless the program has that file open as its stdin, stdout
 * or stderr (/dev/stdout redirected to a file): then nothing is written
 * (EBUSY).  The exit dump runs before stdio's last flush, which would
 * write the program's buffered output over the profile, or the profile's
 * tail would follow the program's output.  A dangling link makes the file
 * it names.  0 or -errno. */
static int write_through(const char *path, const struct stat *ls, const uint8_t *data, size_t len)
{
	struct stat ts;
	int flags = O_WRONLY | O_CLOEXEC | O_NONBLOCK;
	if (stat(path, &ts) != 0) {
		if (!S_ISLNK(ls->st_mode) || errno != ENOENT)
			return -errno;
		flags |= O_CREAT;
	} else if (S_ISDIR(ts.st_mode)) {
		return -EISDIR;
	} else if (S_ISREG(ts.st_mode)) {
		if (is_own_stream(&ts))
			return -EBUSY;  /* hp_dump_write_error */
		flags |= O_TRUNC;
	}
	int fd = hp_open_high(path, flags, 0644);
	if (fd < 0)
		return -errno;
	int fl = fcntl(fd, F_GETFL);
	int r = fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ? -errno : hp_write_all(fd, data, len);
	if (close(fd) != 0 && r == 0)
		r = -errno;
	return r;
}

/* Writes data to path through path.tmp.PID and rename(2), so a reader
 * sees all of the file or none of it; a path that is not a regular file
 * is written through (write_through).  0 or -errno. */
int hp_dump_write_file(const char *path, const uint8_t *data, size_t len)
{
	struct stat ls;
	if (lstat(path, &ls) == 0 && !S_ISREG(ls.st_mode)) {
		if (S_ISDIR(ls.st_mode))
			return -EISDIR; /* before a temporary file beside it: rename onto "/" says EBUSY */
		return write_through(path, &ls, data, len);
	}
	char tmp[4200];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	int fd = hp_open_high(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int r = hp_write_all(fd, data, len);
	if (close(fd) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) != 0)
		r = -errno;
	if (r != 0)
		unlink(tmp);
	return r;
}

const char *hp_dump_write_error(int r)
{
	if (r == -EBUSY)
		return "the program's own stdout or stderr file";
	if (r == -ENXIO)
		return "nothing reads it";      /* a FIFO without a reader */
	const char *d = strerrordesc_np(-r);     /* not strerror: no locale, no malloc */
	return d ? d : "unknown error";
}

int hp_dump_to_path(const char *path)
{
	int g = hp_guard_enter();
	int e = errno;
	struct hp_buf buf = { 0 };
	int r = hp_dump_build(&buf, 0);
	if (r == 0)
		r = hp_dump_write_file(path, buf.data, buf.len);
	hp_buf_free(&buf);
	if (r != 0) {
		hp_warn3("cannot write profile", path, hp_dump_write_error(r));
	} else {
		/* said of a profile written, not where none could be */
		if (hp_dwlib_missing())
			hp_warn("cannot load libdw.so.1 (elfutils): profiles carry addresses, no function names");
		hp_trace_line("dump", path);
	}
	errno = e;
	hp_guard_leave(g);
	return r;
}

int hp_dump_expand(const char *pattern, char *buf, size_t len)
{
	size_t o = 0;
	unsigned long long seq = 0;     /* one dump, one number: every %n the same, as the tool has it */
	for (const char *p = pattern; *p; p++) {
		char tmp[32];
		const char *ins = NULL;
		if (p[0] == '%' && p[1] == 'p') {
			snprintf(tmp, sizeof tmp, "%d", (int)hp_g.pid);
			ins = tmp;
			p++;
		} else if (p[0] == '%' && p[1] == 'n') {
			if (!seq)
				seq = (unsigned long long)__atomic_add_fetch(&dump.seq, 1, __ATOMIC_RELAXED);
			snprintf(tmp, sizeof tmp, "%llu", seq);
			ins = tmp;
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			ins = "%";
			p++;
		}
		size_t l = ins ? strlen(ins) : 1;
		if (o + l + 1 > len)
			return -ENAMETOOLONG;
		memcpy(buf + o, ins ? ins : p, l);
		o += l;
	}
	buf[o] = 0;
	return 0;
}

static char abs_pattern[4096];
static char live_pattern[4200];

/* The pattern of dumps taken while the program runs (a signal, the
 * interval, heapprof_dump(NULL)): the exit pattern, with ".%n" before its
 * extension when it has no %n of its own.  Without it every
 * such dump of HEAPPROF_OUT=app.%p.pb.gz had one name: the second
 * overwrote the first, and the exit profile both.  hp_env.h: the tool
 * derives the same names. */
static void live_init(const char *pat)
{
	live_pattern[0] = 0;
	if (hp_env_pattern_has(pat, 'n'))
		return;
	size_t at = hp_env_ext_at(pat);
	if (snprintf(live_pattern, sizeof live_pattern, "%.*s.%%n%s", (int)at, pat, pat + at) >= (int)sizeof live_pattern)
		live_pattern[0] = 0;
}

/* A relative HEAPPROF_OUT (and the default pattern of signal dumps) is
 * taken relative to the directory the program started in, as a user who
 * typed it there means: resolved at each dump, it followed the program's
 * chdir() and put profiles in its data directory, or failed to.  Kept
 * relative when getcwd fails or the result is too long. */
static void abs_init(void)
{
	const char *pat = hp_cfg.out ? hp_cfg.out : "heapprof.%p.%n.pb.gz";
	char cwd[2048];
	abs_pattern[0] = 0;
	if (pat[0] == '/' || !getcwd(cwd, sizeof cwd))
		return;
	/* the directory's own % signs are not ours */
	size_t o = hp_env_escape(abs_pattern, sizeof abs_pattern, cwd);
	if (o >= sizeof abs_pattern ||
	    snprintf(abs_pattern + o, sizeof abs_pattern - o, "/%s", pat) >= (int)(sizeof abs_pattern - o))
		abs_pattern[0] = 0;
}

void hp_dump_init(void)
{
	abs_init();
	live_init(hp_dump_pattern());

}

const char *hp_dump_pattern(void)
{
	if (abs_pattern[0])
		return abs_pattern;
	return hp_cfg.out ? hp_cfg.out : "heapprof.%p.%n.pb.gz";
}

const char *hp_dump_live_pattern(void)
{
	return live_pattern[0] ? live_pattern : hp_dump_pattern();
}

/* A pattern whose name comes out too long is said, once, as a failed
 * write would be: it used to leave no profile and no word. */
static int expand_or_warn(const char *pattern, char *path, size_t len)
{
	int r = hp_dump_expand(pattern, path, len);
	if (r != 0)
		hp_warn3("cannot write profile", pattern, hp_dump_write_error(r));
	return r;
}

int hp_dump_next(char *path, size_t len)
{
	int r = expand_or_warn(hp_dump_live_pattern(), path, len);
	if (r != 0)
		return r;
	return hp_dump_to_path(path);
}

void hp_dump_at_exit(void)
{
	char path[4096];
	if (!hp_cfg.out || !hp_cfg.rate || expand_or_warn(hp_dump_pattern(), path, sizeof path) != 0)
		return;
	hp_dump_to_path(path);
}

void hp_dump_atfork_child(void)
{
	dump.seq = 0;
}

struct api_dump {
	const char *path;
	int r;
};

static void api_dump(void *arg)
{
	struct api_dump *d = arg;
	d->r = hp_dump_to_path(d->path);
}

HP_EXPORT int heapprof_dump(const char *path)
{
	char buf[4096];
	hp_init();
	if (!hp_cfg.rate)
		return -EINVAL;
	if (hp_g.frozen)
		return -EBUSY;  /* a fork child whose tables may be half changed (core.c fork_prepare) */
	int e = errno;
	struct api_dump d = { buf, hp_dump_expand(path ? path : hp_dump_live_pattern(), buf, sizeof buf) };
	if (d.r == 0)
		hp_stack_run_big(api_dump, &d);     /* the caller's thread may have a small stack */
	errno = e;
	return d.r;
}
