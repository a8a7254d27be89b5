/*
 * dlexit.c - a SIGALRM handler calls exit(0) while the program loops over
 * dlopen and dlclose, so the exit lands inside the dynamic linker.
 * heapprof's exit profile then loaded libdw inside the interrupted dlopen
 * (ld.so stopped the process: "Inconsistency detected by ld.so", exit code
 * 127) and read the headers of an object half unmapped by the interrupted
 * dlclose (SIGSEGV).  Now it does neither: exit code 0, a profile.
 *
 * usage: dlexit LIBRARY; exit code 0.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/time.h>

static void leave(int sig)
{
	(void)sig;
	exit(0);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	for (int i = 0; i < 2000; i++) {
		void *volatile p = malloc(4000);
		(void)p;
	}
	signal(SIGALRM, leave);
	struct itimerval it = { { 0, 0 }, { 0, 50000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	for (;;) {
		void *h = dlopen(argv[1], RTLD_NOW);
		if (h)
			dlclose(h);
	}
}
