/*
 * clonemt.c - children made by a raw clone() while other threads allocate.
 *
 * clone() without CLONE_VM copies the process as fork() does but runs no
 * pthread_atfork handler, so the child has the profiler's tables as the
 * parent's other threads left them at that instant, locks included, and
 * the parent's pid.  Two threads here malloc and free without pause while
 * main clones children that allocate and call exit(9).  With heapprof,
 * about half of such children at rate 1 waited for ever in their exit
 * profile, on a lock a parent thread had held, and the others wrote their
 * profile under the parent's pid.  A child that has not exited after 3 s
 * counts as hung (and is killed).
 *
 * usage: clonemt [children]; prints the tally, exit code 0.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int stop;
static char child_stack[1 << 20] __attribute__((aligned(16)));

static void *churn(void *arg)
{
	(void)arg;
	while (!stop) {
		void *p[16];
		for (int i = 0; i < 16; i++)
			p[i] = malloc(16 + 100 * (size_t)i);
		for (int i = 0; i < 16; i++)
			free(p[i]);
	}
	return NULL;
}

/* No allocation of its own: one could wait on a lock that a churning
 * thread held at the clone (design.md, "Fork"); exit() alone used to. */
static int child(void *arg)
{
	(void)arg;
	exit(9);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20, exited = 0, hung = 0, other = 0;
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, churn, NULL) != 0)
			return 1;
	for (int i = 0; i < n; i++) {
		pid_t pid = clone(child, child_stack + sizeof child_stack, SIGCHLD, NULL);
		if (pid < 0)
			return 1;
		int st, done = 0;
		for (int k = 0; k < 300 && !done; k++) {
			done = waitpid(pid, &st, WNOHANG) == pid;
			if (!done)
				usleep(10000);
		}
		if (!done) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			hung++;
		} else if (WIFEXITED(st) && WEXITSTATUS(st) == 9) {
			exited++;
		} else {
			other++;
		}
	}
	stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("%d children: %d exited 9, %d hung, %d otherwise\n", n, exited, hung, other);
	return 0;
}
