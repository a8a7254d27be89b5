/*
 * beacon.c - a mapping whose name tells `heapprof dump` which signal asks
 * this process for a profile and where the profile goes.
 *
 * The tool read HEAPPROF_SIGNAL and HEAPPROF_OUT from /proc/PID/environ,
 * the memory of the environment the process started with.  A program that
 * sets its process title (nginx, redis, sshd: tests/progs/proctitle.c)
 * writes over that memory, and the tool then looked for the default file
 * name, in the wrong directory, and timed out, while the library had
 * written the profile where it should.  A relative HEAPPROF_OUT was a guess
 * too: the library resolves it against the directory it started in, which
 * the tool could only take from the shell's PWD or the current directory.
 *
 * So at start-up the library makes an empty memfd named after its settings
 * (hp_env.h, HP_ENV_BEACON), maps one page of it PROT_NONE and closes the
 * descriptor.  /proc/PID/maps, which the tool reads anyway to see that the
 * library is loaded, shows the name to whoever may read the environment;
 * the page is never touched, so it costs an entry in the memory map and no
 * memory.  A fork's child keeps it (its settings are the same); exec
 * drops it with the rest of the image.
 *
 * Not made, and the tool reads the environment as before, when: the
 * process runs under a seccomp filter (one that kills at a system call it
 * does not expect would kill it at memfd_create), the pattern is relative
 * (getcwd failed at start) or holds a newline or a backslash (the kernel
 * escapes a newline in the map as \012), or the name would pass the
 * kernel's 249 bytes.
 */
#include "hp.h"
#include "hp_env.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* 1 when /proc/self/status says no seccomp filter is on (Seccomp: 0). */
static int no_seccomp(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);     /* closed at once: not moved high */
	if (fd < 0)
		return 0;
	ssize_t n, len = 0;
	while (len < (ssize_t)sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - (size_t)len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = 0;
	const char *s = strstr(buf, "\nSeccomp:");
	return s && strtol(s + 9, NULL, 10) == 0;
}

void hp_beacon_publish(void)
{
	char name[HP_ENV_BEACON_MAX + 1];
	const char *pat = hp_dump_live_pattern();
	int n;
	if (!hp_cfg.rate)
		n = snprintf(name, sizeof name, HP_ENV_BEACON "off");
	else
		n = snprintf(name, sizeof name, HP_ENV_BEACON "sig=%d out=%s", hp_cfg.signal, pat);
	if (n < 0 || n >= (int)sizeof name || (hp_cfg.rate && (pat[0] != '/' || strpbrk(pat, "\n\\"))))
		return;
	int e = errno;
	if (!no_seccomp()) {
		errno = e;
		return;
	}
	int fd = (int)syscall(SYS_memfd_create, name, 1u /* MFD_CLOEXEC */);
	if (fd >= 0) {
		void *p = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_NONE, MAP_SHARED, fd, 0);
		(void)p;        /* MAP_FAILED: no beacon; the tool reads the environment */
		close(fd);
	}
	errno = e;
}
