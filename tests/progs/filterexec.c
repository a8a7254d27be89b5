/*
 * filterexec.c - runs a command under a seccomp filter that kills the
 * process at memfd_create, as an allow-list sandbox that never heard of
 * that call would (systemd's SystemCallFilter=, a container's profile).
 *
 * The filter is inherited across exec, so the command's own copy of the
 * library starts under it: heapprof makes its beacon for `heapprof dump`
 * (libheapprof/beacon.c) with memfd_create, and must not try when a
 * filter is on.  Killed, the command exits 159 (128 + SIGSYS).
 *
 * usage: filterexec COMMAND [ARG...]; exit code 1 when the filter cannot
 * be set, 127 when the command cannot be run, else the command's.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_memfd_create, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof f / sizeof f[0], f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		perror("filterexec: seccomp");
		return 1;
	}
	execvp(argv[1], argv + 1);
	perror("filterexec: exec");
	return 127;
}
