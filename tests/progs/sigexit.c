/*
 * sigexit.c - asks for a dump and exits at once: raises the dump signal
 * (SIGUSR2) and returns from main without allocating again, as a program
 * does whose sleep() the signal cut short.  With "thread", a second thread
 * (SIGUSR2 blocked, allocating nothing) makes the process multi-threaded,
 * so the library's dumper thread is running and races the exit.
 *
 * Only for runs under the library: without it, SIGUSR2 ends the program.
 * usage: sigexit [thread]
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "thread") == 0) {
		sigset_t set, old;
		pthread_t t;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR2);
		pthread_sigmask(SIG_BLOCK, &set, &old);
		if (pthread_create(&t, NULL, idle, NULL) != 0)
			return 1;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	raise(SIGUSR2);
	return 0;
}
