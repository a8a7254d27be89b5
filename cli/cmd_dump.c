/*
 * cmd_dump.c - `heapprof dump PID`: a profile of a running process, now.
 *
 * The library in the target dumps a profile when it receives its dump
 * signal (HEAPPROF_SIGNAL, default SIGUSR2), to its HEAPPROF_OUT pattern
 * with %n counting dumps (default heapprof.%p.%n.pb.gz in its working
 * directory).  So: check the process exists and has the library mapped
 * (/proc/PID/maps), read its settings from /proc/PID/environ (the
 * environment it started with, which is what the library read), note the
 * matching files already there, send the signal and wait, bounded, for a
 * new one.  The library writes a temporary file and renames it, so a new
 * name means a complete file; it is still read back with the validating
 * reader before its path is printed.
 */
#include "cli.h"
#include "../libheapprof/hp_env.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char dump_help[] =
	"usage: heapprof dump [OPTIONS] PID\n"
	"\n"
	"Takes a heap profile of running process PID, which must have libheapprof\n"
	"loaded (started with heapprof run, or with LD_PRELOAD=libheapprof.so).\n"
	"Sends it its dump signal (its HEAPPROF_SIGNAL, default SIGUSR2), waits for\n"
	"the new profile (named by its HEAPPROF_OUT, default heapprof.%p.%n.pb.gz in\n"
	"the directory it started in) and prints the file's path.\n"
	"\n"
	"  -o, --output FILE    copy the profile to FILE and print FILE instead\n"
	"                       (- writes the profile itself to stdout)\n"
	"      --timeout S      give up after S seconds (default 10)\n"
	"  -h, --help           this text\n"
	"\n"
	"Compare two dumps with: heapprof diff FIRST SECOND\n";

/* Reads /proc/PID/what into a malloc'd, NUL-terminated buffer.  Returns 0,
 * or an errno value. */
static int read_proc(long pid, const char *what, char **out, size_t *outlen)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/%s", pid, what);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	size_t cap = 8192, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			close(fd);
			return ENOMEM;
		}
		if (len + 1 >= cap) {
			char *nb = cap < ((size_t)64 << 20) ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				free(buf);
				close(fd);
				return cap < ((size_t)64 << 20) ? ENOMEM : EFBIG;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			close(fd);
			return e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	if (outlen)
		*outlen = len;
	return 0;
}

/* The state letter of /proc/PID/stat ('R', 'S', 'Z', ...), or 0 when the
 * process is gone. */
static char proc_state(long pid)
{
	char *s;
	if (read_proc(pid, "stat", &s, NULL))
		return 0;
	char *p = strrchr(s, ')');
	char st = p && p[1] == ' ' ? p[2] : '?';
	free(s);
	return st;
}

/* How process pid treats signal sig, from the SigCgt and SigIgn masks of
 * /proc/PID/status: 'c' caught (a handler is installed), 'i' ignored,
 * 'd' default action, 0 when the file cannot be read. */
static char sig_disposition(long pid, int sig)
{
	char *s;
	if (read_proc(pid, "status", &s, NULL))
		return 0;
	char r = 0;
	const char *cgt = strstr(s, "\nSigCgt:"), *ign = strstr(s, "\nSigIgn:");
	if (cgt && ign) {
		unsigned long long c = strtoull(cgt + 9, NULL, 16), i = strtoull(ign + 9, NULL, 16);
		unsigned long long bit = 1ull << (sig - 1);
		r = c & bit ? 'c' : i & bit ? 'i' : 'd';
	}
	free(s);
	return r;
}

static const char *sig_name(int sig, char *buf, size_t len)
{
	if (sigabbrev_np(sig))
		snprintf(buf, len, "SIG%s", sigabbrev_np(sig));
	else
		snprintf(buf, len, "signal %d", sig);
	return buf;
}

/* 1 when every thread of process pid blocks sig (SigBlk of each
 * /proc/PID/task/TID/status): the kernel then holds the signal for good,
 * and a dump never comes. */
static int sig_blocked_everywhere(long pid, int sig)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	int threads = 0, blocking = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char what[300], *s;
		snprintf(what, sizeof what, "task/%.280s/status", de->d_name);
		if (read_proc(pid, what, &s, NULL))
			continue;
		const char *blk = strstr(s, "\nSigBlk:");
		threads++;
		blocking += blk && (strtoull(blk + 9, NULL, 16) >> (sig - 1) & 1);
		free(s);
	}
	closedir(d);
	return threads > 0 && blocking == threads;
}

/* The root under which process pid's absolute paths lie, as we see them:
 * "" when it has ours (and our mount namespace), else /proc/PID/root (a
 * chroot, a container): the profile was written there. */
static const char *proc_root(long pid, char *buf, size_t len)
{
	char ns[64];
	struct stat a, b;
	snprintf(buf, len, "/proc/%ld/root", pid);
	snprintf(ns, sizeof ns, "/proc/%ld/ns/mnt", pid);
	if (stat(buf, &a) == 0 && stat("/", &b) == 0 && (a.st_dev != b.st_dev || a.st_ino != b.st_ino))
		return buf;
	if (stat(ns, &a) == 0 && stat("/proc/self/ns/mnt", &b) == 0 && (a.st_dev != b.st_dev || a.st_ino != b.st_ino))
		return buf;
	return "";
}

static const char *env_get(const char *env, size_t len, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = env; p < env + len; p += strlen(p) + 1)
		if (strncmp(p, name, n) == 0 && p[n] == '=')
			return p + n + 1;
	return NULL;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The process (thread group) of thread tid, from /proc/TID/status: tid
 * itself for a process, 0 when it cannot be read. */
static long tgid_of(long tid)
{
	char *s;
	if (read_proc(tid, "status", &s, NULL))
		return 0;
	const char *t = strstr(s, "\nTgid:");
	long g = t ? strtol(t + 6, NULL, 10) : 0;
	free(s);
	return g;
}

/* Whether a line of /proc/PID/maps maps the library: a file whose name is
 * libheapprof.so or a versioned libheapprof.so.N, not any path that
 * happens to hold the word. */
static int maps_library(const char *maps)
{
	for (const char *line = maps; *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		const char *slash = memrchr(line, '/', n);
		if (slash) {
			size_t k = n - (size_t)(slash + 1 - line);
			const char *base = slash + 1;
			static const char lib[] = "libheapprof.so";
			if (k >= sizeof lib - 1 && !memcmp(base, lib, sizeof lib - 1) &&
			    (k == sizeof lib - 1 || base[sizeof lib - 1] == '.' || !strncmp(base + sizeof lib - 1, " (deleted)", 10)))
				return 1;
		}
		line += n + (end ? 1 : 0);
	}
	return 0;
}

/* The library's beacon (libheapprof/beacon.c): the settings it started
 * with, which a program that sets its process title cannot overwrite as it
 * does its environment.  Returns 1 and sets *off (HEAPPROF_RATE=0), *sig and
 * *out (the live-dump pattern, absolute; malloc'd) when maps has one, else 0
 * (an older library, or one that could not make it: read the environment). */
static int maps_beacon(const char *maps, int *off, int *sig, char **out)
{
	static const char tag[] = "/memfd:" HP_ENV_BEACON, gone[] = " (deleted)";
	const char *found = NULL;
	size_t flen = 0;
	for (const char *line = maps; *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		const char *t = memmem(line, n, tag, sizeof tag - 1);
		if (t && t > line && t[-1] == ' ') {    /* the path column; the last such line */
			found = t + sizeof tag - 1;
			flen = n - (size_t)(found - line);
		}
		line += n + (end ? 1 : 0);
	}
	if (!found)
		return 0;
	if (flen >= sizeof gone - 1 && !memcmp(found + flen - (sizeof gone - 1), gone, sizeof gone - 1))
		flen -= sizeof gone - 1;
	*off = flen == 3 && !memcmp(found, "off", 3);
	*sig = 0;
	*out = NULL;
	if (*off)
		return 1;
	char *v = strndup(found, flen), *o;
	if (!v)
		return 0;
	long s;
	if (sscanf(v, "sig=%ld", &s) != 1 || s < 0 || s >= 65 || !(o = strstr(v, " out=/"))) {
		free(v);
		return 0;
	}
	*sig = (int)s;
	*out = strdup(o + 5);
	free(v);
	return *out != NULL;
}

static const char *why(int e)
{
	return e == EACCES || e == EPERM ? " (it belongs to another user?)" : "";
}

int cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *out = NULL;
	double timeout = 10;
	int c, e, rc = EXIT_FAIL;
	long long pidll;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 't':
			if (cli_parse_seconds(optarg, &timeout))
				return cli_usage(argv[0], "--timeout wants seconds, not '%s'", optarg);
			break;
		case 'h': return cli_help(dump_help);
		default: return cli_bad_option(argv[0], argv, c);
		}
	}
	if (argc - optind != 1)
		return cli_usage(argv[0], argc == optind ? "dump needs a process id" : "dump takes one process id");
	if (cli_parse_int(argv[optind], 1, INT_MAX, &pidll))
		return cli_usage(argv[0], "'%s' is not a process id", argv[optind]);
	long pid = (long)pidll;
	/* A thread id (from top -H, say): its process takes the signal, and
	 * names its files with the process id. */
	long tgid = tgid_of(pid);
	if (tgid > 0 && tgid != pid) {
		cli_err("%ld is a thread of process %ld: dumping process %ld", pid, tgid, tgid);
		pid = tgid;
	}

	char *maps = NULL, *env = NULL, *pat = NULL, *found = NULL;
	char *abspat[2] = { NULL, NULL }, *basepat[2] = { NULL, NULL };
	const char *dir[2], *base = NULL;
	int ndir = 0;
	size_t envlen = 0;
	struct snap before[2] = { { 0 } }, now_[2] = { { 0 } };
	char path[64];

	snprintf(path, sizeof path, "/proc/%ld", pid);
	char st0 = proc_state(pid);
	if (access(path, F_OK) != 0 || st0 == 0) {
		cli_err("no process with pid %ld", pid);
		return EXIT_FAIL;
	}
	if (st0 == 'Z' || st0 == 'X') {
		cli_err("process %ld has exited", pid);
		return EXIT_FAIL;
	}
	if (st0 == 'T' || st0 == 't') {
		/* the dump would come only after a SIGCONT, unasked for then */
		cli_err("process %ld is stopped%s: no dump taken (send it SIGCONT first)", pid,
			st0 == 't' ? " by a debugger" : "");
		return EXIT_FAIL;
	}
	if ((e = read_proc(pid, "maps", &maps, NULL))) {
		cli_err("cannot read the memory map of process %ld: %s%s", pid, strerror(e), why(e));
		goto out;
	}
	if (!maps_library(maps)) {
		cli_err("process %ld does not have libheapprof loaded", pid);
		goto out;
	}
	int sig = SIGUSR2, off;
	const char *ov;
	if (maps_beacon(maps, &off, &sig, &pat)) {
		if (off) {
			cli_err("process %ld has the profiler turned off (HEAPPROF_RATE=0)", pid);
			goto out;
		}
		if (sig == 0) {
			cli_err("process %ld has signal dumps turned off (HEAPPROF_SIGNAL=0)", pid);
			goto out;
		}
		ov = pat;       /* absolute, and the live pattern already */
	} else {
		if ((e = read_proc(pid, "environ", &env, &envlen))) {
			cli_err("cannot read the environment of process %ld: %s%s", pid, strerror(e), why(e));
			goto out;
		}

		/* The library's reading of HEAPPROF_SIGNAL, its own code: a bad value
		 * means the default, 0 means no signal dumps. */
		const char *sv = env_get(env, envlen, "HEAPPROF_SIGNAL");
		if (sv && *sv) {
			int s = hp_env_signal(sv);
			if (s == 0) {
				cli_err("process %ld has signal dumps turned off (HEAPPROF_SIGNAL=%s)", pid, sv);
				goto out;
			}
			if (s > 0)
				sig = s;
		}
		const char *rate = env_get(env, envlen, "HEAPPROF_RATE");
		uint64_t rv;
		if (rate && hp_env_u64(rate, &rv) == 0 && rv == 0) {       /* as the library reads it */
			cli_err("process %ld has the profiler turned off (HEAPPROF_RATE=0)", pid);
			goto out;
		}
		ov = env_get(env, envlen, "HEAPPROF_OUT");
		if (!ov || !*ov)
			ov = "heapprof.%p.%n.pb.gz";
		/* Dumps taken while the program runs get ".%n" before the extension
		 * when the pattern has no %n (the exit profile keeps the plain name):
		 * libheapprof/dump.c live_init. */
		if (!outpat_has(ov, 'n')) {
			if (!(pat = outpat_insert(ov, ".%n")))
				goto nomem;
			ov = pat;
		}
	}
	/* A relative HEAPPROF_OUT is the library's starting directory's (it
	 * resolves it at start-up), which /proc does not keep: the program may
	 * have moved since.  The shell's PWD in its environment names it when
	 * a shell started it; its working directory when it never moved.  Both
	 * are watched when they differ. */
	char link[4096], rootbuf[64];
	const char *roots[2] = { NULL, NULL };
	int nroots = 0, relative_unsure = 0;
	if (ov[0] != '/') {
		const char *pwd = env_get(env, envlen, "PWD");
		struct stat sb;
		if (pwd && pwd[0] == '/' && stat(pwd, &sb) == 0 && S_ISDIR(sb.st_mode))
			roots[nroots++] = pwd;
		else
			relative_unsure = 1;
		snprintf(path, sizeof path, "/proc/%ld/cwd", pid);
		ssize_t n = readlink(path, link, sizeof link - 1);
		if (n < 0 && !nroots) {
			e = errno;
			cli_err("cannot read the working directory of process %ld: %s%s", pid, strerror(e), why(e));
			goto out;
		}
		if (n >= 0) {
			link[n] = '\0';
			if (!nroots || strcmp(roots[0], link))
				roots[nroots++] = link;
		}
	} else {
		roots[nroots++] = proc_root(pid, rootbuf, sizeof rootbuf);
	}
	/* A root whose directory cannot be read (a stale PWD without the
	 * pattern's subdirectory) is left out; only when none can be read is
	 * that an error. */
	for (int i = 0; i < nroots; i++) {
		char *full = NULL;
		if (!*roots[i])
			full = strdup(ov);
		else if (ov[0] == '/' && asprintf(&full, "%s%s", roots[i], ov) < 0)
			full = NULL;    /* under the process's root: no '%' in /proc/PID/root */
		else if (ov[0] != '/')
			full = outpat_join(roots[i], ov);
		int d = ndir;
		if (!full)
			goto nomem;
		/* the directory as a path (%p and %% expanded), the file name a pattern */
		e = outpat_split(full, pid, &abspat[d], &basepat[d]);
		free(full);
		if (e && errno == EINVAL) {
			cli_err("cannot follow process %ld's HEAPPROF_OUT='%s': %%n in a directory name", pid, ov);
			goto out;
		}
		if (e)
			goto nomem;
		dir[d] = abspat[d];
		if (snap_take(&before[d], dir[d], basepat[d], pid, 0)) {
			e = errno;
			if (i + 1 < nroots || ndir) {
				free(abspat[d]);
				free(basepat[d]);
				abspat[d] = basepat[d] = NULL;
				continue;
			}
			cli_err("cannot read the directory '%s': %s", dir[d], strerror(e));
			goto out;
		}
		ndir = d + 1;
	}
	base = basepat[0];      /* the same in each directory */

	/* Never send a signal nobody catches: its default action would end
	 * the program.  Right after start-up the library may be mapped and
	 * not yet have installed its handler, so wait for it a little. */
	double deadline = now() + timeout, nap = 0.005;
	char disp;
	while ((disp = sig_disposition(pid, sig)) == 'd' && now() < deadline) {
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	if (disp != 'c') {
		char name[32];
		sig_name(sig, name, sizeof name);
		if (disp == 0)
			cli_err("no process with pid %ld", pid);
		else if (disp == 'i')
			cli_err("process %ld ignores %s, heapprof's dump signal: no dump taken", pid, name);
		else
			cli_err("process %ld does not catch %s after %g s (the library has not started?): "
				"not sent, it would end the program", pid, name, timeout);
		goto out;
	}

	if (sig_blocked_everywhere(pid, sig)) {
		char name[32];
		cli_err("every thread of process %ld blocks %s, heapprof's dump signal: no dump taken", pid,
			sig_name(sig, name, sizeof name));
		goto out;
	}
	if (kill((pid_t)pid, sig)) {
		e = errno;
		if (e == ESRCH)
			cli_err("no process with pid %ld", pid);
		else
			cli_err("cannot signal process %ld: %s%s", pid, strerror(e), why(e));
		goto out;
	}

	char lasterr[512] = "";
	deadline = now() + timeout;
	for (;;) {
		for (int d = 0; d < ndir && !found; d++) {
			snap_free(&now_[d]);
			if (snap_take(&now_[d], dir[d], base, pid, 0) != 0)
				continue;
			/* The newest of the new files. */
			const struct snap_entry *best = NULL;
			for (size_t i = 0; i < now_[d].n; i++) {
				const struct snap_entry *x = &now_[d].v[i];
				if (snap_has(&before[d], x))
					continue;
				if (!best || x->mtime.tv_sec > best->mtime.tv_sec ||
				    (x->mtime.tv_sec == best->mtime.tv_sec && x->mtime.tv_nsec > best->mtime.tv_nsec))
					best = x;
			}
			if (best) {
				char *p;
				struct pprof_profile prof;
				if (asprintf(&p, "%s/%s", strcmp(dir[d], "/") ? dir[d] : "", best->name) < 0)
					goto nomem;
				if (pprof_read_file(p, &prof, lasterr, sizeof lasterr) == PPROF_OK) {
					pprof_free(&prof);
					found = p;
					break;
				}
				free(p);
			}
		}
		if (found)
			break;
		char st = proc_state(pid);
		if (st == 0 || st == 'Z' || st == 'X') {
			if (relative_unsure)
				cli_err("process %ld exited, no new profile in '%s': its HEAPPROF_OUT '%s' is "
					"relative to the directory it started in, which is unknown here (no PWD in "
					"its environment); give HEAPPROF_OUT an absolute path", pid, dir[0], ov);
			else
				cli_err("process %ld exited before writing a profile", pid);
			goto out;
		}
		if (now() >= deadline) {
			if (lasterr[0])
				cli_err("%s", lasterr);
			else {
				/* the file name as a glob: %n is the number to come */
				char shownbase[4200], where[8600];
				size_t o = 0;
				for (const char *c = base; *c && o + 24 < sizeof shownbase; c++) {
					if (c[0] == '%' && c[1] == 'p') {
						o += (size_t)snprintf(shownbase + o, sizeof shownbase - o, "%ld", pid);
						c++;
					} else if (c[0] == '%' && c[1] == 'n') {
						shownbase[o++] = '*';
						c++;
					} else if (c[0] == '%' && c[1] == '%') {
						shownbase[o++] = '%';
						c++;
					} else {
						shownbase[o++] = *c;
					}
				}
				shownbase[o] = '\0';
				int w = snprintf(where, sizeof where, "'%s/%s'", strcmp(dir[0], "/") ? dir[0] : "",
						 shownbase);
				if (ndir > 1 && w > 0 && (size_t)w < sizeof where)
					snprintf(where + w, sizeof where - (size_t)w, " and '%s/%s'",
						 strcmp(dir[1], "/") ? dir[1] : "", shownbase);
				if (relative_unsure)
					/* a relative pattern, no PWD: where the library
					 * started is not known here */
					cli_err("no new profile from process %ld after %g s in %s: its HEAPPROF_OUT "
						"'%s' is relative to the directory it started in, which is unknown "
						"here (no PWD in its environment); give HEAPPROF_OUT an absolute path",
						pid, timeout, where, ov);
				else
					cli_err("no new profile from process %ld after %g s (looked for %s; "
						"does the program handle %s%s itself?)",
						pid, timeout, where, sigabbrev_np(sig) ? "SIG" : "",
						sigabbrev_np(sig) ? sigabbrev_np(sig) : "the signal");
			}
			goto out;
		}
		struct timespec ts = { 0, (long)(nap * 1e9) };
		nanosleep(&ts, NULL);
		if (nap < 0.05)
			nap *= 2;
	}

	if (out && !strcmp(out, "-")) {
		/* as flame -o -: the profile itself, for a pipe */
		if (cli_copy_file(found, "-"))
			goto out;
	} else if (out) {
		if (cli_copy_file(found, out))
			goto out;
		printf("%s\n", out);
	} else {
		printf("%s\n", found);
	}
	rc = EXIT_OK;           /* main() reports a failed write to stdout */
	goto out;
nomem:
	cli_err("out of memory");
out:
	for (int i = 0; i < 2; i++) {
		snap_free(&before[i]);
		snap_free(&now_[i]);
		free(abspat[i]);
		free(basepat[i]);
	}
	free(found);
	free(pat);
	free(env);
	free(maps);
	return rc;
}
