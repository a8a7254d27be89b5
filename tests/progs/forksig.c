/*
 * forksig.c - forks from a signal handler while the program allocates, as
 * crash handlers and supervisors do: a 1 ms interval timer's SIGALRM
 * handler forks, the child leaves at once with status 7 and the handler
 * waits for it.  The handler interrupts malloc and free, and with the
 * profiler loaded it interrupts the profiler's own critical sections too:
 * there the fork must not wait for locks the interrupted thread holds.
 * Single-threaded, so glibc's fork takes none of its malloc locks.
 *
 * usage: forksig [_exit|exit]    (how the child leaves; default _exit)
 * Prints one line, the same with and without the profiler.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static int child_exit;
static volatile int forks, bad;

static void on_alarm(int sig)
{
	(void)sig;
	pid_t p = fork();
	if (p == 0) {
		/* exit() runs atexit handlers, the profiler's among them.  The
		 * child does not allocate: its heap may be the copy of one that
		 * the handler caught halfway through malloc, which plain glibc
		 * does not survive either. */
		if (child_exit)
			exit(7);
		_exit(7);
	}
	int st;
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
		bad++;
	forks++;
}

int main(int argc, char **argv)
{
	child_exit = argc > 1 && strcmp(argv[1], "exit") == 0;
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	void *keep[64] = { 0 };
	for (long i = 0; i < 20000000 && forks < 200; i++) {
		int k = (int)(i & 63);
		free(keep[k]);
		keep[k] = malloc(16 + (size_t)(i % 200));
	}
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	for (int k = 0; k < 64; k++)
		free(keep[k]);
	printf("forks from the handler: %s\n", forks >= 200 && !bad ? "200, every child exited 7" : "FAILED");
	return 0;
}
