/*
 * refuse.c - runs a program with one system call refused, as container
 * runtimes do: Docker's default seccomp profile makes pidfd_getfd fail
 * with EPERM, and a profiler thread that counted on it could not tell the
 * program's stdout from a file of its own (tests/integration/live_signal.sh).
 *
 * usage: refuse NR PROGRAM [ARG...]: system call number NR fails with
 * EPERM in PROGRAM and everything it starts; exit code 1 when the filter
 * cannot be set, 127 when PROGRAM cannot be run.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)atoi(argv[1]), 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof f / sizeof f[0], f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		perror("refuse: seccomp");
		return 1;
	}
	execvp(argv[2], argv + 2);
	perror("refuse: exec");
	return 127;
}
