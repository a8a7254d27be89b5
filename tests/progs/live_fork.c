/*
 * live_fork.c - fork again and again while threads allocate, and take a
 * signal dump in each child.
 *
 * Four worker threads malloc and free in a loop; the main thread forks
 * NCHILD children one after the other.  Each child allocates a little
 * (child_keep: 10 blocks of 1000 B, kept), sends itself SIGUSR2 and waits
 * up to WAIT_S seconds for its own signal dump DIR/f.PID.1.pb.gz to appear (the
 * child must get a dumper thread of its own: the parent's does not exist
 * in the child), then leaves with exit(0), which writes DIR/f.PID.2.pb.gz.
 * A forked child has one thread, as any single-threaded program heapprof
 * gives it no dumper thread before it needs one, and a signal that lands
 * outside a blocking system call is answered at its next allocation: the
 * wait loop allocates a little (child_tick).
 * The parent waits at most CHILD_WAIT_S seconds for each child; a child
 * that does not finish is reported "hung" and killed, so a deadlock shows
 * in stdout instead of stopping the test.
 *
 * Usage: live_fork DIR PIDFILE [NCHILD [WAIT_S]]  (defaults 20 and 5; run with
 * HEAPPROF_OUT=DIR/f.%p.%n.pb.gz)
 * PIDFILE gets "parent PID" and "child PID" lines.
 * stdout: "N children ok" when all went well, else one line per bad child
 * ("child K: hung", "child K: no signal dump", "child K: exit S"); exit 0.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NWORKERS 4
#define CHILD_WAIT_S 20

static atomic_int stop;
static void *keep[10];

static void *worker(void *arg)
{
	unsigned x = (unsigned)(long)arg * 2654435761u + 1;
	void *ring[64] = { 0 };
	while (!atomic_load(&stop)) {
		x = x * 1103515245u + 12345u;
		int i = (int)(x >> 10) % 64;
		free(ring[i]);
		ring[i] = malloc((size_t)16 << (x >> 16) % 8);   /* 16 B .. 2 KiB */
	}
	for (int i = 0; i < 64; i++)
		free(ring[i]);
	return NULL;
}

static void child_keep(void)
{
	for (int i = 0; i < 10; i++)
		keep[i] = malloc(1000);
}

static void child_tick(void)
{
	free(malloc(8));
}

static int child_main(const char *dir, int wait_s)
{
	char path[4096];
	struct stat st;
	child_keep();
	snprintf(path, sizeof path, "%s/f.%d.1.pb.gz", dir, (int)getpid());
	kill(getpid(), SIGUSR2);
	for (int i = 0; i < wait_s * 100; i++) {
		if (stat(path, &st) == 0)
			exit(0);
		child_tick();
		usleep(10000);
	}
	exit(7);        /* no signal dump */
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: live_fork DIR PIDFILE [NCHILD [WAIT_S]]\n");
		return 2;
	}
	int nchild = argc > 3 ? atoi(argv[3]) : 20;
	int wait_s = argc > 4 ? atoi(argv[4]) : 5;
	FILE *pf = fopen(argv[2], "w");
	if (!pf)
		return 2;
	fprintf(pf, "parent %d\n", (int)getpid());
	fflush(pf);
	pthread_t th[NWORKERS];
	for (long i = 0; i < NWORKERS; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	int bad = 0;
	for (int k = 0; k < nchild; k++) {
		usleep(5000);   /* let the workers get going between forks */
		fflush(stdout);  /* or the child's exit() prints our buffer again */
		pid_t pid = fork();
		if (pid < 0) {
			printf("child %d: fork failed\n", k);
			bad++;
			continue;
		}
		if (pid == 0)
			child_main(argv[1], wait_s);
		fprintf(pf, "child %d\n", (int)pid);
		fflush(pf);
		int status = 0;
		double t0 = now();
		pid_t r;
		while ((r = waitpid(pid, &status, WNOHANG)) == 0 && now() - t0 < CHILD_WAIT_S)
			usleep(2000);
		if (r == 0) {
			printf("child %d: hung\n", k);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			bad++;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			if (WIFEXITED(status) && WEXITSTATUS(status) == 7)
				printf("child %d: no signal dump\n", k);
			else
				printf("child %d: exit %d\n", k, status);
			bad++;
		}
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(th[i], NULL);
	fclose(pf);
	if (!bad)
		printf("%d children ok\n", nchild);
	return 0;
}
