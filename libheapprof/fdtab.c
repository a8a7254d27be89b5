/*
 * fdtab.c - the profiler's descriptors, kept out of the program's way.
 *
 * open(2) returns the lowest free number.  A descriptor of ours in the
 * program's table is moved high at once (hp_fd_high), but for a moment it
 * is fd 3, say, and a program that closes every descriptor above 2
 * (close_range, as daemons and supervisors do) and opens a file of its own
 * in that moment gets fd 3 for it: our dup and close then took the
 * program's file, and the dump wrote into it or closed it under the
 * program (tests/progs/closerange.c: 8 bad reads in 15 s of signal dumps).
 * No order of calls closes that window in a shared table.
 *
 * So the profiler's own threads (the dumper, the HTTP server) move to a
 * table of their own when they start (hp_fdtab_unshare): close_range with
 * CLOSE_RANGE_UNSHARE over the whole range gives the thread a new table
 * with none of the program's descriptors.  Empty, because a copy would
 * hold the program's files open: a pipe the program closes would never
 * reach EOF for its reader.  There our opens and closes never meet the
 * program's, and the program's close_range does not end the HTTP server,
 * which takes its listening socket over with pidfd_getfd.
 *
 * Such a thread still writes to the program's stderr (warnings, HEAPTRACE
 * lines): hp_fdtab_program fetches the program's descriptor with
 * pidfd_getfd(2), the same open file (offset, O_APPEND) as its fd 2, for
 * one write, and the caller closes it right after (hp_fdtab_release).  The
 * program's table is its main thread's; once main has gone (pthread_exit)
 * another of its threads is asked (PIDFD_THREAD, Linux 6.9).  Where any of
 * this is missing (close_range before Linux 5.9, pidfd_getfd before 5.6, a
 * sandbox that refuses one of them) the thread stays in the program's
 * table, as before.  A caller that cannot reach the program's descriptor
 * (main gone before Linux 6.9) is told so apart from "the program has no
 * such descriptor" (-EBADF), and assumes the worst (dump.c).
 */
#include "hp.h"
#include "profile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

static HP_TLS struct {
	int own;                /* this thread has a table of its own */
	int pidfd;              /* there: the process, for pidfd_getfd */
} ft;

/* Our threads with tables of their own, for fetch_from_threads to pass
 * over: their descriptors are not the program's (the HTTP server's
 * connections sit at 1 and 2 there).  A ring: a thread restarted after
 * hp_dumper_single takes the next slot. */
static struct {
	int tid[8];
	unsigned next;
} ours;

/* Whether the calls a table of our own needs get through: asked with
 * arguments that name nothing, a kernel that has them and a seccomp filter
 * that lets them pass answer EINVAL and EBADF, without a descriptor made.
 * Docker's default profile refuses pidfd_getfd but not close_range: there
 * a thread of ours in a table of its own could not reach the program's
 * stderr, nor tell its stdout from a file of ours. */
static int usable(void)
{
	return syscall(SYS_pidfd_open, -1, 0u) < 0 && errno == EINVAL &&
	       syscall(SYS_pidfd_getfd, -1, -1, 0u) < 0 && errno == EBADF;
}

int hp_fdtab_unshare(void)
{
	int e = errno;
	/* The whole range: the kernel then copies none of the program's
	 * descriptors into the new table, only to close them. */
	if (ft.own || !usable() || syscall(SYS_close_range, 0u, ~0u, CLOSE_RANGE_UNSHARE) != 0) {
		errno = e;
		return ft.own;
	}
	ft.own = 1;
	ft.pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0u);
	unsigned slot = __atomic_fetch_add(&ours.next, 1, __ATOMIC_RELAXED) % 8;
	__atomic_store_n(&ours.tid[slot], (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
	errno = e;
	return 1;
}

static int is_ours(long tid)
{
	for (int i = 0; i < 8; i++)
		if (__atomic_load_n(&ours.tid[i], __ATOMIC_ACQUIRE) == tid)
			return 1;
	return 0;
}

/* The program's descriptor n as its thread tid sees it (a thread pidfd,
 * Linux 6.9), or -errno. */
static int fetch_from_thread(long tid, int n)
{
	int tfd = (int)syscall(SYS_pidfd_open, (int)tid, PIDFD_THREAD);
	if (tfd < 0)
		return -errno;
	int fd = (int)syscall(SYS_pidfd_getfd, tfd, n, 0u);
	fd = fd < 0 ? -errno : fd;
	close(tfd);
	return fd;
}

/* Main has gone: any thread of the program still in the program's table
 * (ours passed over).  EBADF from one is the table's answer; any other
 * failure leaves the next thread to ask.  Raw getdents64: no allocation.
 * Cost: two system calls a thread until one answers. */
static int fetch_from_threads(int n)
{
	int dfd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -ESRCH;
	char buf[4096] __attribute__((aligned(8)));
	long leader = getpid();
	int fd = -ESRCH;
	for (long got; fd < 0 && fd != -EBADF && (got = syscall(SYS_getdents64, dfd, buf, sizeof buf)) > 0;) {
		for (long off = 0; off < got && fd < 0 && fd != -EBADF;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			off += d->d_reclen;
			long tid = strtol(d->d_name, NULL, 10);
			if (tid > 0 && tid != leader && !is_ours(tid))
				fd = fetch_from_thread(tid, n);
		}
	}
	close(dfd);
	return fd;
}

int hp_fdtab_program(int n)
{
	if (!ft.own)
		return n;
	if (ft.pidfd < 0)
		return -ENOSYS;
	int e = errno;
	int fd = (int)syscall(SYS_pidfd_getfd, ft.pidfd, n, 0u);
	fd = fd < 0 ? -errno : fd;
	/* ESRCH: main has gone, its table with it (EBADF: n is closed) */
	if (fd == -ESRCH)
		fd = fetch_from_threads(n);
	errno = e;
	return fd;
}

void hp_fdtab_release(int fd, int n)
{
	if (fd >= 0 && fd != n) {
		int e = errno;
		close(fd);
		errno = e;
	}
}

/* Near the top of the program's first 1024 descriptors, out of the
 * numbers its open() hands out first: a descriptor taken lowest stayed
 * fd 3 for as long as we held it, where a program that closed every
 * descriptor above 2 and opened a file of its own found it gone, and then
 * ours named the program's file.  Not above 1024 - 32: the kernel's fd
 * table grows to the highest number, and fork copies it (a limit of
 * 1048576, common in containers, made that 8 MiB a process).  In a table
 * of our own there is nobody to keep out of the way.  errno is kept. */
int hp_fd_high(int fd)
{
	struct rlimit rl;
	int e = errno;
	if (fd < 0 || ft.own || getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < 64)
		return fd;
	rlim_t top = rl.rlim_cur < 1024 ? rl.rlim_cur : 1024;
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, (int)(top - 32));
	if (hi < 0)
		hi = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (hi >= 0) {
		close(fd);
		fd = hi;
	}
	errno = e;
	return fd;
}

int hp_open_high(const char *path, int flags, unsigned mode)
{
	return hp_fd_high(open(path, flags, mode));
}
