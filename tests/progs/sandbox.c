/*
 * sandbox.c - a program that sandboxes itself before its first malloc.
 *
 * At the top of main it installs a seccomp filter that forbids open,
 * openat and sigaltstack (as sandboxed servers and browser helpers do once
 * set up: sshd's pre-auth child allows neither open nor sigaltstack), then
 * allocates and frees 200 000 blocks of assorted sizes and prints "done".
 * The profiler must not open a file on the program's behalf after that
 * point: not at the thread's first allocation, not at a sample.  The
 * filter's action is the first argument:
 *   kill   - the process dies of SIGSYS at a forbidden call (what most
 *            sandboxes do); any open by the profiler shows as exit 159;
 *   errno  - the call fails with EPERM: the program survives a profile
 *            it cannot write, and only heapprof's one-line warning says so.
 * Exit code 0 when the work completes; 1 when the filter cannot be set.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *slots[1000];

static __attribute__((noinline)) void work(int n)
{
	for (int i = 0; i < n; i++) {
		int k = i % 1000;
		free(slots[k]);
		slots[k] = malloc(16 + (size_t)(i * 37) % 5000);
	}
}

int main(int argc, char **argv)
{
	unsigned action = argc > 1 && !strcmp(argv[1], "errno") ? SECCOMP_RET_ERRNO | EPERM : SECCOMP_RET_KILL_PROCESS;
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_open, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sigaltstack, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof f / sizeof f[0], f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		perror("sandbox: seccomp");
		return 1;
	}
	work(200000);
	for (int k = 0; k < 1000; k++)
		free(slots[k]);
	printf("done\n");
	return 0;
}
