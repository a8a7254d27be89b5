/*
 * sigblock.c - a program that blocks SIGUSR2 in every thread, as programs
 * that take it with sigwait or a signalfd do: the kernel holds heapprof's
 * dump signal for good.  `heapprof dump` must refuse at once rather than
 * wait out its timeout and blame the program's handler
 * (tests/integration/cli_dump.sh).
 *
 * usage: sigblock: prints "ready", sleeps 20 s, prints "bye"; exit code 0.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	sigprocmask(SIG_BLOCK, &s, NULL);
	printf("ready\n");
	fflush(stdout);
	sleep(20);
	printf("bye\n");
	return 0;
}
