/*
 * forkmt.c - fork() from a multithreaded program while other threads allocate.
 *
 * Three worker threads malloc and free in a loop; the main thread forks
 * NCHILD times meanwhile.  A lock held by a worker at fork time (in glibc or
 * in the profiler) would stay locked forever in the child, so each child
 * allocates, starts a thread that allocates, and leaves with exit(0): a
 * normal exit, so a preloaded profiler writes the child's own profile.  The
 * parent waits at most CHILD_WAIT_S seconds for each child and reports a
 * child that did not finish as "hung" (then kills it), so a deadlock shows
 * up as wrong stdout instead of a stuck test.
 *
 * Usage: forkmt [PIDFILE] - PIDFILE gets "parent PID" and "child PID" lines,
 * for the test to find each process's profile.  stdout is fixed; exit code 0.
 *
 * Truth (rate 1, tests/integration/lib_pprof.py, FORK_CHILD): in each
 * child's profile, leaf child_alloc: 10 objects / 10000 B allocated and in
 * use, and child_thread_alloc: 20 objects / 2000 B allocated, all freed.
 * The parent never calls either.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NWORKERS 3
#define NCHILD 6
#define CHILD_WAIT_S 20

static atomic_int stop;
static void *child_keep[10];

static void *worker(void *arg)
{
	unsigned x = (unsigned)(long)arg * 2654435761u + 1;
	void *ring[64] = { 0 };
	long n = 0;

	while (!atomic_load(&stop)) {
		x = x * 1103515245u + 12345u;
		int i = (int)(x >> 8) % 64;
		free(ring[i]);
		size_t sz = 1 + (x >> 12) % 2000;
		ring[i] = (n % 7 == 0) ? calloc(1, sz) : malloc(sz);
		memset(ring[i], 1, sz);
		if (n % 11 == 0)
			ring[i] = realloc(ring[i], sz + 100);
		n++;
	}
	for (int i = 0; i < 64; i++)
		free(ring[i]);
	return NULL;
}

void child_alloc(void)
{
	for (int i = 0; i < 10; i++) {
		child_keep[i] = malloc(1000); /* @child_alloc */
		memset(child_keep[i], 'c', 1000);
	}
}

void child_thread_alloc(void)
{
	void *v[20];
	for (int i = 0; i < 20; i++)
		v[i] = malloc(100); /* @child_thread_alloc */
	for (int i = 0; i < 20; i++)
		free(v[i]);
}

static void *child_thread(void *arg)
{
	(void)arg;
	child_thread_alloc();
	return NULL;
}

/* The threads of this process, from /proc/self/status; -1 if unknown. */
static int thread_count(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int n = -1;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "Threads:", 8))
			n = atoi(line + 8);
	if (f)
		fclose(f);
	return n;
}

static void child_main(void)
{
	pthread_t th;
	child_alloc();
	for (int i = 0; i < 1000; i++)
		free(malloc(16 + i));
	/* The child of a multi-threaded parent has one thread, and keeps one
	 * until it starts one itself: unshare(CLONE_NEWUSER), for one, works
	 * only then.  (A profiler that started a helper thread here failed.) */
	if (thread_count() != 1)
		exit(4);
	if (pthread_create(&th, NULL, child_thread, NULL) != 0)
		exit(3);
	pthread_join(th, NULL);
	exit(0);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Waits for pid up to CHILD_WAIT_S seconds; returns its status, or -1 if hung. */
static int wait_bounded(pid_t pid)
{
	int status;
	for (int i = 0; i < CHILD_WAIT_S * 100; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0)
			return -2;
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

int main(int argc, char **argv)
{
	pthread_t th[NWORKERS];
	FILE *pidf = NULL;

	if (argc > 1 && (pidf = fopen(argv[1], "w")) == NULL) {
		perror(argv[1]);
		return 2;
	}
	if (pidf)
		fprintf(pidf, "parent %d\n", (int)getpid());
	for (int i = 0; i < NWORKERS; i++)
		pthread_create(&th[i], NULL, worker, (void *)(long)i);
	sleep_ms(20);
	int failed = 0;
	for (int c = 0; c < NCHILD; c++) {
		/* Unflushed stdio buffers would be written again by the child's exit(). */
		fflush(stdout);
		if (pidf)
			fflush(pidf);
		pid_t pid = fork();
		if (pid < 0) {
			printf("child %d: fork failed\n", c);
			failed++;
			continue;
		}
		if (pid == 0)
			child_main();
		if (pidf)
			fprintf(pidf, "child %d\n", (int)pid);
		int st = wait_bounded(pid);
		if (st == -1)
			printf("child %d: hung\n", c);
		else if (st >= 0 && WIFEXITED(st))
			printf("child %d: exit %d\n", c, WEXITSTATUS(st));
		else if (st >= 0 && WIFSIGNALED(st))
			printf("child %d: killed by signal %d\n", c, WTERMSIG(st));
		else
			printf("child %d: wait failed\n", c);
		if (!(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0))
			failed++;
		sleep_ms(5);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(th[i], NULL);
	if (pidf)
		fclose(pidf);
	printf("forkmt: %d children failed\n", failed);
	return failed ? 1 : 0;
}
