/*
 * rawexit.c - threads that end without running their pthread key
 * destructors, the profiler's only way of seeing a thread go.
 *
 *   rawexit sysexit   a thread allocates, then ends with a raw SYS_exit;
 *                     main has already left with pthread_exit: exit 0
 *   rawexit seccomp   a joined thread allocated; then a seccomp filter
 *                     kills main alone (SECCOMP_RET_KILL_THREAD) at its
 *                     getppid(): the process dies of SIGSYS
 *   rawexit nofile    the same after RLIMIT_NOFILE 0, as sshd's sandboxed
 *                     child sets it: no open() succeeds any more
 *
 * Plain, both end at once.  The profiler's dumper thread, which the
 * program's thread started, must not keep the process alive after the
 * program's last thread (tests/integration/lib_exit.sh).
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *churn(void *arg)
{
	for (int i = 0; i < 1000; i++)
		free(malloc(64 + i));
	if (arg) {
		usleep(100000);         /* main is gone by now */
		syscall(SYS_exit, 0);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	if (argc > 1 && !strcmp(argv[1], "sysexit")) {
		pthread_create(&t, NULL, churn, (void *)1);
		puts("main leaves");
		fflush(stdout);
		pthread_exit(NULL);
	}
	if (argc > 1 && (!strcmp(argv[1], "seccomp") || !strcmp(argv[1], "nofile"))) {
		pthread_create(&t, NULL, churn, NULL);
		pthread_join(t, NULL);
		if (!strcmp(argv[1], "nofile")) {
			usleep(100000);         /* sandboxed a while after start-up */
			struct rlimit none = { 0, 0 };
			if (setrlimit(RLIMIT_NOFILE, &none) != 0) {
				perror("setrlimit");
				return 2;
			}
		}
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_THREAD),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { sizeof f / sizeof f[0], f };
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
			perror("seccomp");
			return 2;
		}
		puts("main dies");
		fflush(stdout);
		syscall(SYS_getppid);
		return 0;
	}
	fprintf(stderr, "usage: rawexit sysexit|seccomp|nofile\n");
	return 2;
}
