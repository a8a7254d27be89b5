/*
 * altstack.c - a signal handler on a small alternate stack that allocates.
 *
 * The alternate stack is 8 KiB (the traditional SIGSTKSZ), with an
 * inaccessible page below it, so running off its end is a SIGSEGV rather
 * than a silent write into other memory.  The handler mallocs and frees 50
 * blocks per signal; the program raises the signal 40 times.  The
 * handler's own use of the stack is a few KiB, so the program runs
 * plainly; a profiler that took a sample there with a deep walk and large
 * frame buffers ran off the end (tests/integration/lib_transparency.sh
 * runs this at rate 1, where every malloc is a sample).
 * Output: "handled 40 signals"; exit code 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { ALT = 8192 };

static void *volatile sink;
static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void)sig;
	for (int i = 0; i < 50; i++) {
		sink = malloc(64 + (size_t)i);
		free(sink);
	}
	handled++;
}

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *m = mmap(NULL, (size_t)page + ALT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mprotect(m, (size_t)page, PROT_NONE) != 0) {
		perror("altstack: mmap");
		return 1;
	}
	stack_t ss = { .ss_sp = m + page, .ss_size = ALT, .ss_flags = 0 };
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_ONSTACK;
	if (sigaltstack(&ss, NULL) != 0 || sigaction(SIGUSR1, &sa, NULL) != 0) {
		perror("altstack: sigaltstack");
		return 1;
	}
	for (int k = 0; k < 40; k++)
		raise(SIGUSR1);
	printf("handled %d signals\n", (int)handled);
	return 0;
}
