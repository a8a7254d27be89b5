/*
 * live_ctl.c - a long-running program driven line by line from stdin, for
 * the live-profiling tests (tests/integration/live_*.sh).
 *
 * It stands for a server: it sits blocked in read(2) on stdin (a pipe or a
 * FIFO) between commands, so a signal sent to it lands while it is blocked
 * in a system call, and it only grows when told to, so the test knows what
 * each dump must show.  Commands, one per line; each is acknowledged with
 * one line on stdout (flushed at once):
 *
 *   grow KIB     allocate KIB KiB more in 64 KiB blocks (grow_block), kept
 *                -> "grown TOTAL_KIB"
 *   free         free every kept block            -> "freed"
 *   handler SIG  install the program's own handler for signal number SIG
 *                (SA_RESTART), as a program that takes SIGUSR2 for itself
 *                -> "handler SIG"
 *   chain SIG    install a handler for signal SIG that counts the signal
 *                and then calls the handler it replaced the way many
 *                programs do, as old.sa_handler(sig), even when that one was
 *                installed with SA_SIGINFO -> "chain SIG".  The old handler
 *                is read with the raw rt_sigaction system call, as runtimes
 *                that chain signals do (libc's sigaction shows heapprof's
 *                handler as SIG_DFL, tests/progs/sigquery.c)
 *   count        -> "caught N": signals the program's own handler has seen
 *   pid          -> "pid PID"
 *   threads      -> "threads N": the process's threads (/proc/self/task,
 *                read with getdents64 into a stack buffer: no allocation)
 *   spin MS      compute for MS milliseconds without a system call or an
 *                allocation, so a signal lands in the program's own code
 *                -> "spun"
 *   thread       start a thread that only waits -> "thread"
 *   close FD     close descriptor FD, as a daemon closes its stdout
 *                -> "closing FD" first (nothing more reaches a closed stdout)
 *   exit         leave main normally, blocks still kept (as does end of
 *                input) -> "bye"
 *
 * stdin is read with raw read(2), never stdio, so an EINTR caused by a
 * signal shows: the program then prints "read: EINTR" and exits 3.  Any
 * other read error exits 4; an unknown command prints "bad: LINE", exit 5.
 * Startup prints "ready".  Exit code 0 on "exit" or end of input.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (64 << 10)
#define MAX_BLOCKS 16384

static char *kept[MAX_BLOCKS];
static int nkept;
static volatile sig_atomic_t caught;

static void on_own_signal(int sig)
{
	(void)sig;
	caught++;
}

static void say(const char *fmt, long v)
{
	printf(fmt, v);
	fflush(stdout);
}

static void say_str(const char *s)
{
	fputs(s, stdout);
	fflush(stdout);
}

static void grow_block(void)
{
	char *p = malloc(BLOCK);
	if (!p) {
		say_str("malloc failed\n");
		exit(6);
	}
	memset(p, 1, BLOCK);
	kept[nkept++] = p;
}

static void grow(long kib)
{
	for (long i = 0; i < kib / 64 && nkept < MAX_BLOCKS; i++)
		grow_block();
	say("grown %ld\n", (long)nkept * 64);
}

static void free_all(void)
{
	for (int i = 0; i < nkept; i++)
		free(kept[i]);
	nkept = 0;
	say_str("freed\n");
}

/* Installs fn for sig with SA_RESTART, as a program does; the handler it
 * replaces goes to *old when old is not NULL. */
static void install(int sig, void (*fn)(int), struct sigaction *old)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, old);
}

static void own_handler(int sig)
{
	install(sig, on_own_signal, NULL);
	say("handler %ld\n", sig);
}

static void threads(void)
{
	char buf[4096];
	long n = 0;
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		say_str("threads: cannot open /proc/self/task\n");
		exit(7);
	}
	for (;;) {
		long r = syscall(SYS_getdents64, fd, buf, sizeof buf);
		if (r <= 0)
			break;
		for (long o = 0; o < r;) {
			const char *name = buf + o + 19;       /* d_ino, d_off, d_reclen, d_type */
			unsigned short reclen;
			memcpy(&reclen, buf + o + 16, sizeof reclen);
			n += name[0] != '.';
			o += reclen;
		}
	}
	close(fd);
	say("threads %ld\n", n);
}

static void spin(long ms)
{
	struct timespec t0, t;
	volatile unsigned long x = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);     /* the vDSO: no system call */
	do {
		for (int i = 0; i < 100000; i++)
			x += (unsigned long)i;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
	say_str("spun\n");
}

static void *waiter(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void thread(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, waiter, NULL) != 0) {
		say_str("thread: cannot create\n");
		exit(8);
	}
	say_str("thread\n");
}

static struct sigaction chained;

static void on_chained_signal(int sig)
{
	caught++;
	/* What a program that declares the old handler as void (*)(int) passes
	 * in the other argument registers is whatever they hold; make that
	 * garbage explicit, so the test does not depend on the compiler
	 * leaving the kernel's pointers there. */
	if (chained.sa_handler != SIG_DFL && chained.sa_handler != SIG_IGN)
		((void (*)(int, void *, void *))(void (*)(void))chained.sa_handler)(sig, (void *)8, (void *)8);
}

static void chain_handler(int sig)
{
	struct { void (*handler)(int); unsigned long flags; void (*restorer)(void); unsigned long mask; } k;
	if (syscall(SYS_rt_sigaction, sig, NULL, &k, sizeof k.mask) == 0)
		chained.sa_handler = k.handler;
	install(sig, on_chained_signal, NULL);
	say("chain %ld\n", sig);
}

/* Reads one line from fd 0 into buf with read(2).  Returns its length,
 * 0 at end of input. */
static size_t read_line(char *buf, size_t len)
{
	size_t n = 0;
	for (;;) {
		char c;
		ssize_t r = read(0, &c, 1);
		if (r < 0) {
			int e = errno;
			say_str(e == EINTR ? "read: EINTR\n" : "read: error\n");
			exit(e == EINTR ? 3 : 4);
		}
		if (r == 0 || c == '\n')
			break;
		if (n + 1 < len)
			buf[n++] = c;
	}
	buf[n] = 0;
	return n;
}

int main(void)
{
	char line[256];
	say_str("ready\n");
	for (;;) {
		size_t n = read_line(line, sizeof line);
		if (n == 0)
			break;
		if (!strncmp(line, "grow ", 5))
			grow(atol(line + 5));
		else if (!strcmp(line, "free"))
			free_all();
		else if (!strncmp(line, "handler ", 8))
			own_handler(atoi(line + 8));
		else if (!strncmp(line, "chain ", 6))
			chain_handler(atoi(line + 6));
		else if (!strcmp(line, "count"))
			say("caught %ld\n", (long)caught);
		else if (!strcmp(line, "pid"))
			say("pid %ld\n", (long)getpid());
		else if (!strcmp(line, "threads"))
			threads();
		else if (!strncmp(line, "spin ", 5))
			spin(atol(line + 5));
		else if (!strcmp(line, "thread"))
			thread();
		else if (!strncmp(line, "close ", 6)) {
			say("closing %ld\n", atol(line + 6));
			close(atoi(line + 6));
		}
		else if (!strcmp(line, "exit"))
			break;
		else {
			printf("bad: %s\n", line);
			return 5;
		}
	}
	say_str("bye\n");
	return 0;
}
