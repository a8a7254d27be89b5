/*
 * exitsig.c - exit() from a signal handler that lands while the program
 * allocates, as a SIGTERM handler that calls exit() does: a one-shot 20 ms
 * timer's SIGALRM handler calls exit(3) while main mallocs and frees in a
 * loop, so the handler most often interrupts malloc or free.  glibc lives
 * with that (exit does not allocate); the profile written at exit must not
 * use that half-changed heap, nor wait for its lock.  With "thread", an idle
 * second thread (SIGALRM blocked) makes the process multi-threaded, so
 * glibc's arena lock is taken and held by the interrupted call.  With
 * "reset", the handler is installed with SA_RESETHAND, so that by the time
 * it runs the signal table no longer shows it.  With "grow", every other
 * block is kept, so the heap grows all the time and HEAPTRACE prints line
 * after line (under its own lock) when the handler lands.
 *
 * usage: exitsig [thread] [reset] [grow]   prints "start", exits 3 from the handler
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static void on_alarm(int sig)
{
	(void)sig;
	exit(3);
}

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	printf("start\n");
	fflush(stdout);
	int thread = 0, reset = 0, grow = 0;
	for (int i = 1; i < argc; i++) {
		thread |= strcmp(argv[i], "thread") == 0;
		reset |= strcmp(argv[i], "reset") == 0;
		grow |= strcmp(argv[i], "grow") == 0;
	}
	if (thread) {
		sigset_t set, old;
		pthread_t t;
		sigemptyset(&set);
		sigaddset(&set, SIGALRM);
		pthread_sigmask(SIG_BLOCK, &set, &old);
		if (pthread_create(&t, NULL, idle, NULL) != 0)
			return 1;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = reset ? SA_RESETHAND : 0 };
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 20000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	void *keep[64] = { 0 };
	for (unsigned long i = 0;; i++) {
		unsigned k = (unsigned)(i & 63);
		if (!grow || (i & 1))
			free(keep[k]);
		keep[k] = malloc(16 + i % 200);
	}
}
