/*
 * sigdfl.c - a program that puts SIGUSR2, the profiler's dump signal, back
 * to its default action and then sends it to itself, as a handler that
 * cleans up and re-raises does (and CPython's signal.signal(s, SIG_DFL);
 * os.kill(os.getpid(), s)).  Without the profiler that ends the process,
 * killed by SIGUSR2; the profiler had taken the signal for a dump request
 * and the program went on ("not reached", exit 0).
 *
 * First it sets SIG_DFL with flags and a mask of its own and reads the
 * action back: the flags and the mask are what it gave (they read back as
 * 0 and empty).
 *
 * All of it in a child, whose end the parent reports: "killed by signal
 * 12".
 *
 * usage: sigdfl; prints the read-back, "cleanup" and how the child ended;
 * exit 0.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void cleanup_and_die(int sig)
{
	static const char msg[] = "cleanup\n";
	(void)!write(1, msg, sizeof msg - 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int child(void)
{
	struct sigaction sa, back;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_RESTART | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGKILL);        /* the kernel drops it */
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGUSR2, NULL, &back);
	printf("read back: %s, flags %#x, a restorer %d, SIGINT in the mask %d, SIGKILL %d\n",
	       back.sa_handler == SIG_DFL ? "SIG_DFL" : "another", (unsigned)back.sa_flags,
	       back.sa_restorer != NULL, sigismember(&back.sa_mask, SIGINT), sigismember(&back.sa_mask, SIGKILL));
	fflush(stdout);
	signal(SIGUSR2, cleanup_and_die);
	raise(SIGUSR2);
	printf("not reached\n");
	return 0;
}

int main(void)
{
	fflush(stdout);
	pid_t p = fork();
	if (p == 0)
		_exit(child());
	int st;
	if (p < 0 || waitpid(p, &st, 0) != p)
		return 1;
	if (WIFSIGNALED(st))
		printf("the child was killed by signal %d\n", WTERMSIG(st));
	else
		printf("the child exited with %d\n", WEXITSTATUS(st));
	return 0;
}
