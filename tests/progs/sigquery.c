/*
 * sigquery.c - what a program learns about SIGUSR2's action, the
 * profiler's dump signal: it must be what it would be without the
 * profiler, the default (tests/integration/lib_transparency.sh compares
 * stdout with and without).  CPython asks at start-up and put back a
 * handler it did not know as None, which it then could not restore.
 *
 * Asks with sigaction and signal, installs its own handler with each and
 * gets the default back as the old one, restores it, is refused SIG_ERR as
 * a handler, and last takes SIGUSR2 itself with its own handler.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_usr2(int sig)
{
	(void)sig;
	got++;
}

static const char *name(void (*h)(int))
{
	return h == SIG_DFL ? "SIG_DFL" : h == SIG_IGN ? "SIG_IGN" : h == on_usr2 ? "ours" : "someone else's";
}

int main(void)
{
	struct sigaction sa, old;
	sigaction(SIGUSR2, NULL, &old);
	printf("sigaction says %s, flags %#x\n", name(old.sa_handler), (unsigned)(old.sa_flags & (SA_SIGINFO | SA_RESTART | SA_ONSTACK | SA_NODEFER | SA_RESETHAND)));

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, &old);
	printf("replaced %s\n", name(old.sa_handler));
	sigaction(SIGUSR2, &old, NULL);
	sigaction(SIGUSR2, NULL, &old);
	printf("restored: %s\n", name(old.sa_handler));

	void (*prev)(int) = signal(SIGUSR2, on_usr2);
	printf("signal replaced %s\n", name(prev));
	prev = signal(SIGUSR2, prev);
	printf("signal put back, had %s\n", name(prev));
	printf("now %s\n", name(signal(SIGUSR2, SIG_DFL)));
	/* SIG_ERR is no handler: glibc refuses it and leaves the action
	 * alone (our signal() once installed it, address -1) */
	errno = 0;
	void (*err)(int) = signal(SIGUSR2, SIG_ERR);
	int e = errno;
	sigaction(SIGUSR2, NULL, &old);
	printf("signal(SIG_ERR) gives %s, errno %s, leaves %s\n", err == SIG_ERR ? "SIG_ERR" : name(err),
	       e == EINVAL ? "EINVAL" : strerror(e), name(old.sa_handler));

	signal(SIGUSR2, on_usr2);
	kill(getpid(), SIGUSR2);
	printf("own handler ran %d time(s)\n", (int)got);
	return 0;
}
