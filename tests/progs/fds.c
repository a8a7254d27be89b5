/*
 * fds.c - the profiler must not take file descriptors from the program.
 *
 * Programs count on the numbers open() returns: a shell's `exec 3<file`
 * replaces fd 3 with dup2, a daemon closes every fd above 2 and expects its
 * next open() to be 3.  A profiler that kept, say, a wake-up pipe in the
 * program's table would show up here three ways, each visible on stdout:
 *   - an extra fd open at start, and a first free fd other than the plain
 *     run's;
 *   - after the program closed everything above 2 and reopened its own
 *     files at the same numbers, a profiler that still polled "its" fd
 *     would read the program's data from under it (the read below comes
 *     up short);
 *   - with `fds signal` (only run preloaded: SIGUSR2's default action kills
 *     the process), a dump-signal handler that wrote to "its" fd would
 *     write into the program's output file;
 *   - with `fds stderr`, run with stderr closed: the program also writes a
 *     line to stderr, which fails quietly without the profiler; had the
 *     profiler's socket (HEAPPROF_HTTP) taken fd 2, SIGPIPE would kill it.
 * Only fds below 256 are listed: where a profiler keeps a descriptor it
 * must (HEAPPROF_HTTP's socket), it keeps it at the top of the range.
 * A thread is started and joined after the reopen, since that is when a
 * profiler's background thread would start, and the program then waits a
 * little so that such a thread has time to do its damage.
 *
 * usage: fds [signal|stderr]; exit code 0 when every check holds.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { DATA = 4096 };

static int failures;

static void check(int cond, const char *what)
{
	printf("%s: %s\n", cond ? "yes" : "FAIL", what);
	if (!cond)
		failures++;
}

/* The open fds, in ascending order, without the one reading the list. */
static void print_open_fds(const char *when)
{
	DIR *d = opendir("/proc/self/fd");
	char seen[256] = { 0 };
	if (!d) {
		printf("%s: /proc/self/fd unreadable\n", when);
		return;
	}
	int self = dirfd(d);
	for (struct dirent *e; (e = readdir(d));) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] != '.' && fd != self && fd < (int)sizeof seen)
			seen[fd] = 1;
	}
	closedir(d);
	printf("%s:", when);
	for (int fd = 0; fd < (int)sizeof seen; fd++)
		if (seen[fd])
			printf(" %d", fd);
	printf("\n");
}

static void close_above_stderr(void)
{
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
}

static void *worker(void *arg)
{
	free(malloc((size_t)(uintptr_t)arg));
	return NULL;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) != 0)
		;
}

int main(int argc, char **argv)
{
	int do_signal = argc > 1 && !strcmp(argv[1], "signal");
	int do_stderr = argc > 1 && !strcmp(argv[1], "stderr");
	char in_path[] = "/tmp/heapprof-fds-in-XXXXXX", out_path[] = "/tmp/heapprof-fds-out-XXXXXX";
	unsigned char data[DATA], back[DATA + 64];

	setvbuf(stdout, NULL, _IONBF, 0);
	print_open_fds("open at start");
	int fd = open("/dev/null", O_RDONLY);
	printf("first free fd: %d\n", fd);
	if (fd >= 0)
		close(fd);

	int in = mkstemp(in_path), out = mkstemp(out_path);
	if (in < 0 || out < 0) {
		printf("cannot create the temporary files\n");
		return 2;
	}
	for (int i = 0; i < DATA; i++)
		data[i] = (unsigned char)(i * 7 + 1);
	check(write(in, data, DATA) == DATA, "the input file is written");

	/* What a daemon does: everything above stderr goes, then its own
	 * files come back at the lowest numbers. */
	close_above_stderr();
	in = open(in_path, O_RDONLY);
	out = open(out_path, O_WRONLY | O_TRUNC);
	check(in == 3 && out == 4, "the program's files are reopened at fds 3 and 4");

	pthread_t t;
	if (pthread_create(&t, NULL, worker, (void *)(uintptr_t)100) == 0)
		pthread_join(t, NULL);
	if (do_signal)
		raise(SIGUSR2);
	pause_ms(200);

	ssize_t got = 0, n;
	while ((n = read(in, back + got, sizeof back - (size_t)got)) > 0)
		got += n;
	check(got == DATA && !memcmp(back, data, DATA), "fd 3 reads the whole input file, unchanged");
	static const char msg[] = "written by the program\n";
	check(write(out, msg, sizeof msg - 1) == (ssize_t)(sizeof msg - 1), "fd 4 takes the program's output");
	pause_ms(50);
	struct stat sb;
	check(stat(out_path, &sb) == 0 && sb.st_size == (off_t)(sizeof msg - 1),
	      "the output file holds the program's bytes and nothing else");
	if (do_stderr) {
		fprintf(stderr, "fds: a line for stderr\n");
		fflush(stderr);
	}
	print_open_fds("open at end");

	unlink(in_path);
	unlink(out_path);
	return failures ? 1 : 0;
}
