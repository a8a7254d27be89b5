/*
 * smallstack.c - profiles written from a thread with a small stack.
 *
 * The exit profile, the leak report and heapprof_dump() are built on the
 * thread that asks for them, and symbolizing takes about 150 KiB of stack
 * (libdw).  exit() from a thread started with a 32 KiB stack, or from main
 * under `ulimit -s 128`, died of SIGSEGV inside exit().
 *
 * usage: smallstack [main] [DUMPFILE]
 *   default: a 32 KiB thread allocates and calls exit(5); with DUMPFILE it
 *   first writes a profile there with heapprof_dump(), when heapprof is
 *   loaded (found with dlsym, so the program also runs without it);
 *   main: the same from the main thread (run it under a small ulimit -s).
 * Prints a line before exiting; exit code 5.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dumpfile;

static void *finish(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++)
		free(malloc(64 + i));
	void *keep = malloc(1000);      /* in use at exit */
	if (dumpfile) {
		int (*dump)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapprof_dump");
		if (dump && dump(dumpfile) != 0)
			printf("heapprof_dump failed\n");
	}
	printf("exiting with %s kept\n", keep ? "a block" : "nothing");
	fflush(stdout);
	exit(5);
}

int main(int argc, char **argv)
{
	int on_main = argc > 1 && !strcmp(argv[1], "main");
	if (argc > 1 + on_main)
		dumpfile = argv[1 + on_main];
	if (on_main)
		finish(NULL);
	pthread_attr_t a;
	pthread_t t;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 32 << 10);
	if (pthread_create(&t, &a, finish, NULL) != 0)
		return 1;
	pthread_join(t, NULL);
	return 1;       /* not reached: the thread exits */
}
