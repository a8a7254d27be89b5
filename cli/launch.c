/*
 * launch.c - running a program under libheapprof, for `run` and `leaks`.
 *
 * Finds the library relative to this executable (build/heapprof sits next
 * to build/libheapprof.so; an installed PREFIX/bin/heapprof finds
 * PREFIX/lib/libheapprof.so), puts it first in LD_PRELOAD so its malloc is
 * the one the program calls (any preload the user had stays, after it), and
 * runs the program as a child, the way a shell would: exit status passed on,
 * 127/126 when it cannot be started, 128 + N when signal N killed it.  While
 * it waits, SIGINT and SIGQUIT are ignored (the terminal delivers them to the
 * program too, and we must live to report its status) and SIGTERM/SIGHUP
 * sent to us are forwarded to the program.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct {
	volatile sig_atomic_t child;    /* pid to forward signals to, 0 = none */
	int killed;                     /* the last program run was killed by a signal */
} launch;

int launch_killed(void)
{
	return launch.killed;
}

static void forward(int sig)
{
	int e = errno;
	if (launch.child > 0)
		kill((pid_t)launch.child, sig);
	errno = e;
}

static char *try_lib(const char *dir, const char *rel)
{
	char path[PATH_MAX], real[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path)
		return NULL;
	if (access(path, R_OK) != 0 || !realpath(path, real))
		return NULL;
	return strdup(real);
}

char *launch_find_library(void)
{
	const char *env = getenv("HEAPPROF_LIB");
	char real[PATH_MAX];
	if (env && *env) {
		if (access(env, R_OK) != 0 || !realpath(env, real)) {
			cli_err("cannot use HEAPPROF_LIB='%s': %s", env, strerror(errno));
			return NULL;
		}
		return strdup(real);
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0) {
		cli_err("cannot find libheapprof.so: cannot read '/proc/self/exe': %s (set HEAPPROF_LIB)",
			strerror(errno));
		return NULL;
	}
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	char *lib = try_lib(exe, "libheapprof.so");
	if (!lib)
		lib = try_lib(exe, "../lib/libheapprof.so");
	if (!lib)
		cli_err("cannot find libheapprof.so (looked in '%s' and '%s/../lib'; "
			"build it with 'make' or set HEAPPROF_LIB)", exe, exe);
	return lib;
}

/* lib first, then the user's preloads, without listing lib twice. */
static char *preload_value(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *v;
	if (!old || !*old)
		return strdup(lib);
	/* Already there (heapprof run inside heapprof run): leave it as is. */
	const char *p = old;
	size_t n = strlen(lib);
	while ((p = strstr(p, lib))) {
		if ((p == old || p[-1] == ':' || p[-1] == ' ') && (p[n] == '\0' || p[n] == ':' || p[n] == ' '))
			return strdup(old);
		p += n;
	}
	if (asprintf(&v, "%s:%s", lib, old) < 0)
		return NULL;
	return v;
}

int launch_run(char **argv, const char *lib, char **env_set, pid_t *pidp)
{
	char *preload = preload_value(lib);
	int pfd[2];
	if (!preload) {
		cli_err("out of memory");
		return EXIT_FAIL;
	}
	if (pipe2(pfd, O_CLOEXEC)) {
		cli_err("cannot run '%s': %s", argv[0], strerror(errno));
		free(preload);
		return EXIT_FAIL;
	}

	struct sigaction ign = { .sa_handler = SIG_IGN }, fwd = { .sa_handler = forward }, old_int, old_quit,
			 old_term, old_hup;
	sigset_t block, oldmask;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	/* Blocked across fork, so a forwarded signal cannot arrive before we
	 * know whom to forward it to. */
	sigprocmask(SIG_BLOCK, &block, &oldmask);
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	sigaction(SIGTERM, &fwd, &old_term);
	sigaction(SIGHUP, &fwd, &old_hup);
	fflush(NULL);

	pid_t pid = fork();
	if (pid == 0) {
		/* Ignored signals stay ignored across exec: give the program
		 * the dispositions we got. */
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGHUP, &old_hup, NULL);
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
		close(pfd[0]);
		for (char **e = env_set; e && *e; e++)
			putenv(*e);
		setenv("LD_PRELOAD", preload, 1);
		unsetenv("HEAPPROF_LIB");
		execvp(argv[0], argv);
		int err = errno;
		ssize_t w = write(pfd[1], &err, sizeof err);
		(void)w;
		_exit(127);
	}
	int saved = errno;
	if (pid > 0)
		launch.child = pid;
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	close(pfd[1]);
	free(preload);
	int rc = EXIT_FAIL;
	if (pid < 0) {
		cli_err("cannot run '%s': %s", argv[0], strerror(saved));
		close(pfd[0]);
		goto out;
	}
	/* The pipe closes on a successful exec, or carries execvp's errno. */
	int err = 0;
	ssize_t r;
	do
		r = read(pfd[0], &err, sizeof err);
	while (r < 0 && errno == EINTR);
	close(pfd[0]);

	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			cli_err("cannot wait for '%s': %s", argv[0], strerror(errno));
			goto out;
		}
	}
	if (r == (ssize_t)sizeof err) {
		cli_err("cannot run '%s': %s", argv[0], strerror(err));
		rc = err == ENOENT ? 127 : 126;
		goto out;
	}
	if (pidp)
		*pidp = pid;
	if (WIFEXITED(status)) {
		rc = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		launch.killed = 1;
		const char *abbr = sigabbrev_np(sig);
		cli_err("'%s' was killed by signal %d (%s%s)%s", argv[0], sig, abbr ? "SIG" : "", abbr ? abbr : "unknown",
			WCOREDUMP(status) ? ", core dumped" : "");
		rc = 128 + sig;
	}
out:
	launch.child = 0;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	return rc;
}
