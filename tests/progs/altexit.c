/*
 * altexit.c - exit() from a signal handler on an alternate signal stack,
 * while a timer's signals keep arriving on that stack.
 *
 * heapprof builds the exit profile on a mapping of its own when the stack
 * it is called on is not the thread's (hp_stack_run_big).  Off the
 * alternate stack, the kernel takes the thread as no longer on it and
 * delivers the next SA_ONSTACK signal at its top, over the frames of the
 * handler and of exit(): the program died of SIGSEGV in exit().
 *
 * usage: altexit; prints one line from the handler, exit code 3.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static void on_alarm(int sig)
{
	(void)sig;
	volatile char scratch[32 << 10];        /* a handler that uses its stack */
	memset((char *)scratch, 0x5a, sizeof scratch);
}

static void on_usr1(int sig)
{
	(void)sig;
	printf("exiting from the handler\n");
	exit(3);
}

int main(void)
{
	stack_t ss = { .ss_sp = malloc(1 << 20), .ss_size = 1 << 20 };
	if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0)
		return 1;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_flags = SA_ONSTACK | SA_RESTART;
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	for (int i = 0; i < 20000; i++)
		free(malloc(16 + (size_t)i));
	struct itimerval it = { { 0, 100 }, { 0, 100 } };
	setitimer(ITIMER_REAL, &it, NULL);
	raise(SIGUSR1);
	return 0;
}
