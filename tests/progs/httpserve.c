/*
 * httpserve.c - a long-running program with known allocations, for the
 * pprof HTTP endpoint tests (tests/integration/http_*.sh).
 *
 * It allocates, prints "ready" and then waits for signals:
 *   SIGUSR1  the "window": free temp_leaf's blocks, allocate window_leaf's,
 *            then print "window done";
 *   SIGHUP   exit(0) at once (a normal exit: atexit hooks run);
 *   SIGTERM  default action.
 * Arguments: "fork" first forks a child that only waits (until killed) and
 * prints "child PID" before "ready"; "big" makes size_leaf allocate 6000
 * sizes instead of 500 (16..6015 B), for a ?debug=1 response of several
 * MiB, more than the kernel buffers for a client that stops reading.
 *
 * Truth at rate 1 (requested sizes; leaf = the function calling malloc):
 *
 *   leaf          alloc_objects alloc_space inuse_objects inuse_space
 *   keep_leaf          100         100000        100         100000
 *   temp_leaf           50         100000         50         100000  before SIGUSR1
 *                       50         100000          0              0  after
 *   window_leaf        200         102400        200         102400  after SIGUSR1
 *   size_leaf          500         132750        500         132750  sizes 16..515 B
 *
 * size_leaf runs 20 calls deep (deep()) and allocates one block of each of
 * 500 sizes: 500 samples of 25 frames, so the ?debug=1 text is large.
 * A ?seconds=N delta covering SIGUSR1 holds window_leaf 200/102400 allocated
 * and in use, temp_leaf 0 allocated and -50/-100000 in use, no keep_leaf.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *keep[100];
static void *temp[50];
static void *win[200];
static void *sized[6000];
static int nsized = 500;
static volatile sig_atomic_t want_window, want_exit;

void keep_leaf(void)
{
	for (int i = 0; i < 100; i++) {
		keep[i] = malloc(1000);
		memset(keep[i], 'k', 1000);
	}
}

void temp_leaf(void)
{
	for (int i = 0; i < 50; i++) {
		temp[i] = malloc(2000);
		memset(temp[i], 't', 2000);
	}
}

void window_leaf(void)
{
	for (int i = 0; i < 200; i++) {
		win[i] = malloc(512);
		memset(win[i], 'w', 512);
	}
}

void size_leaf(void)
{
	for (int i = 0; i < nsized; i++) {
		sized[i] = malloc(16 + (size_t)i);
		memset(sized[i], 's', 16 + (size_t)i);
	}
}

void deep(int n)
{
	if (n == 0)
		size_leaf();
	else
		deep(n - 1);
}

static void on_usr1(int sig)
{
	(void)sig;
	want_window = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	want_exit = 1;
}

int main(int argc, char **argv)
{
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	signal(SIGUSR1, on_usr1);
	signal(SIGHUP, on_hup);
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "big"))
			nsized = 6000;
	if (argc > 1 && !strcmp(argv[1], "fork")) {
		pid_t pid = fork();
		if (pid == 0) {
			sigprocmask(SIG_SETMASK, &old, NULL);
			for (;;)
				pause();
		}
		printf("child %d\n", (int)pid);
	}
	keep_leaf();
	temp_leaf();
	deep(20);
	printf("ready\n");
	for (;;) {
		/* signals are blocked except inside sigsuspend: no lost wakeups */
		while (!want_window && !want_exit)
			sigsuspend(&old);
		if (want_exit)
			exit(0);
		want_window = 0;
		for (int i = 0; i < 50; i++) {
			free(temp[i]);
			temp[i] = NULL;
		}
		window_leaf();
		printf("window done\n");
	}
}
