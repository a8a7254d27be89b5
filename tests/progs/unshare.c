/*
 * unshare.c - namespace calls that the kernel allows only to a process
 * with one thread.
 *
 * unshare(CLONE_NEWUSER) and setns() into a mount namespace fail with
 * EINVAL while a second thread shares the process (its memory, its
 * filesystem context).  Sandboxes make these calls, and some make them
 * after threads of their own have come and gone.  The profiler's dumper
 * thread, started with the program's first thread, made them fail where
 * they worked without it.
 *
 * In order: a thread that allocates is created and joined; setns() into
 * the process's own mount namespace; another thread, and setns() again,
 * which must leave errno as it was; unshare(CLONE_NEWUSER); then, with a
 * second thread alive, unshare(CLONE_NEWUSER) again, which must fail with
 * EINVAL as it does without the profiler, ten times more, leaving the
 * process's threads as they were (the profiler's retry stopped its thread
 * and started a new one at each refusal, 15 ms a call); then one more thread, which
 * allocates; last, a thread with a cancel pending calls unshare, which
 * fails (main is there) and, not being a cancellation point, returns: the
 * profiler's wrapper, which joins its thread and sleeps on the way, is
 * no cancellation point either (a cancel there once stopped the dumper
 * for good).  Each result is printed ("ok" or the error), so a machine
 * that forbids user namespaces prints its own error, the same with and
 * without the profiler.  The calls "alone" are tried again for a while on
 * EINVAL: a joined thread is still leaving the process for a moment after
 * pthread_join returns (it holds the memory until the kernel releases it),
 * and on a busy machine even the plain run saw EINVAL there.
 *
 * usage: unshare; exit 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int gate[2];

static void *work(void *arg)
{
	char *p = malloc(4096);
	memset(p, 1, 4096);
	free(p);
	return arg;
}

static void *waiter(void *arg)
{
	char c;
	(void)!read(gate[0], &c, 1);    /* until main has tried */
	return work(arg);
}

static void say(const char *what, int r)
{
	printf("%s: %s\n", what, r == 0 ? "ok" : strerror(errno));
}

/* 0, or -1 with errno once EINVAL has lasted about a second.  errno is
 * ENOTTY before each try, so after a success it shows whether the call
 * touched it. */
static int alone(int (*call)(void))
{
	int r;
	for (int i = 0; (errno = ENOTTY, r = call()) != 0 && errno == EINVAL && i < 100; i++)
		usleep(10000);
	return r;
}

static int setns_own_mnt(void)
{
	int fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = setns(fd, CLONE_NEWNS), e = errno;
	close(fd);
	errno = e;
	return r;
}

static int unshare_user(void)
{
	return unshare(CLONE_NEWUSER);
}

/* The sum and xor of the process's thread ids: which threads it has. */
static unsigned long long tasks(void)
{
	unsigned long long sum = 0, x = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			sum += strtoull(e->d_name, NULL, 10);
			x ^= strtoull(e->d_name, NULL, 10) << 20;
		}
	if (d)
		closedir(d);
	return sum ^ x;
}

static void *cancelled(void *arg)
{
	pthread_cancel(pthread_self());
	int r = unshare(CLONE_NEWUSER);
	say("unshare(CLONE_NEWUSER), cancel pending, main alive", r);
	fflush(stdout);
	pthread_testcancel();
	return arg;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, work, NULL);
	pthread_join(t, NULL);

	say("setns to our own mount namespace, alone", alone(setns_own_mnt));
	/* A call that succeeds leaves errno as it was, as glibc's wrapper
	 * does: the profiler's retry once left its first try's EINVAL.  The
	 * new thread starts the profiler's again. */
	pthread_create(&t, NULL, work, NULL);
	pthread_join(t, NULL);
	int r = alone(setns_own_mnt);
	printf("setns to our own mount namespace after a thread: %s, errno %s\n", r == 0 ? "ok" : "failed",
	       r != 0 ? strerror(errno) : errno == ENOTTY ? "untouched" : strerror(errno));
	say("unshare(CLONE_NEWUSER), alone", alone(unshare_user));

	if (pipe(gate) != 0)
		return 1;
	pthread_create(&t, NULL, waiter, NULL);
	say("unshare(CLONE_NEWUSER), with a thread", unshare(CLONE_NEWUSER));
	unsigned long long before = tasks();
	int refused = 0;
	for (int i = 0; i < 10; i++)
		refused += unshare(CLONE_NEWUSER) != 0 && errno == EINVAL;
	printf("10 more with the thread: %d refused, the same threads after: %s\n", refused,
	       tasks() == before ? "yes" : "no");
	(void)!write(gate[1], "x", 1);
	pthread_join(t, NULL);

	pthread_create(&t, NULL, work, NULL);
	pthread_join(t, NULL);
	say("threads after", 0);

	void *ret;
	pthread_create(&t, NULL, cancelled, NULL);
	pthread_join(t, &ret);
	say(ret == PTHREAD_CANCELED ? "cancelled after it, not in it" : "not cancelled", 0);
	return 0;
}
