/*
 * fake_dumper.c - stands in for a process with libheapprof loaded, so the
 * `heapprof dump` tests can check the command's side of the protocol
 * without the real library (tests/integration/cli_dump.sh preloads an empty
 * libheapprof.so into it, so /proc/PID/maps names the library).
 *
 *   fake_dumper MODE SIGNAL PROFILE
 *
 * On SIGNAL (a name such as USR2) it "dumps" the way the library does: to
 * HEAPPROF_OUT (default heapprof.%p.%n.pb.gz) with %p = pid and %n = 1, 2,
 * ..., written to a temporary name and renamed into place.  MODE copy writes
 * PROFILE; garbage writes bytes that are not a profile; ignore writes
 * nothing; thread also starts a second thread, which blocks SIGNAL, and
 * writes its thread id after "ready".  It writes "ready" on stdout once the
 * handler is installed and exits on SIGTERM or after 60 s.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static volatile long worker_tid;

static void *worker(void *arg)
{
	(void)arg;
	worker_tid = syscall(SYS_gettid);
	for (;;)
		pause();
}

static void on_signal(int sig)
{
	(void)sig;
	got = 1;
}

static void expand(const char *pat, int n, char *out, size_t len)
{
	size_t k = 0;
	for (; *pat && k + 24 < len; pat++) {
		if (pat[0] == '%' && pat[1] == 'p') {
			k += (size_t)snprintf(out + k, len - k, "%d", (int)getpid());
			pat++;
		} else if (pat[0] == '%' && pat[1] == 'n') {
			k += (size_t)snprintf(out + k, len - k, "%d", n);
			pat++;
		} else {
			out[k++] = *pat;
		}
	}
	out[k] = '\0';
}

static void dump(const char *mode, const char *profile, int n)
{
	const char *pat = getenv("HEAPPROF_OUT");
	char path[4096], tmp[4200], buf[65536];
	expand(pat && *pat ? pat : "heapprof.%p.%n.pb.gz", n, path, sizeof path);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0)
		return;
	if (strcmp(mode, "garbage") == 0) {
		if (write(out, "not a profile at all", 20) != 20)
			return;
	} else {
		int in = open(profile, O_RDONLY);
		ssize_t r;
		while (in >= 0 && (r = read(in, buf, sizeof buf)) > 0)
			if (write(out, buf, (size_t)r) != r)
				break;
		if (in >= 0)
			close(in);
	}
	close(out);
	rename(tmp, path);
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	int sig = 0;
	for (int i = 1; i < NSIG; i++) {
		const char *a = sigabbrev_np(i);
		if (a && strcmp(a, argv[2]) == 0)
			sig = i;
	}
	if (!sig)
		return 2;
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(sig, &sa, NULL);
	alarm(60);
	if (strcmp(argv[1], "thread") == 0) {
		/* the worker blocks the signal, so main's pause() sees it */
		sigset_t set, old;
		pthread_t t;
		sigemptyset(&set);
		sigaddset(&set, sig);
		pthread_sigmask(SIG_BLOCK, &set, &old);
		if (pthread_create(&t, NULL, worker, NULL) != 0)
			return 1;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		while (!worker_tid)
			usleep(1000);
		printf("ready %ld\n", worker_tid);
	} else {
		printf("ready\n");
	}
	fflush(stdout);
	int n = 0;
	for (;;) {
		pause();
		if (got) {
			got = 0;
			if (strcmp(argv[1], "ignore") != 0)
				dump(strcmp(argv[1], "thread") ? argv[1] : "copy", argv[3], ++n);
		}
	}
}
