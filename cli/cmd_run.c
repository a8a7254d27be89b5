/*
 * cmd_run.c - `heapprof run`: profile a program from start to exit.
 *
 * Sets the library's environment (HEAPPROF_OUT and friends), runs the
 * program through launch.c and passes its exit status on.  Profiles are
 * written by the library in each profiled process (children that fork or
 * exec included), named by the HEAPPROF_OUT pattern with %p = pid, so that
 * processes never overwrite each other's file.  When -o names a plain file,
 * the pattern becomes FILE with ".%p" before the extension and the top
 * process's profile is renamed to FILE afterwards: the common case gets
 * exactly the name asked for, and child processes still get their own
 * files (FILE with ".PID" inserted).  Afterwards the files that appeared are
 * listed, found by comparing directory snapshots taken before and after.
 */
#include "cli.h"
#include "../libheapprof/hp_env.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char run_help[] =
	"usage: heapprof run [OPTIONS] [--] CMD [ARGS...]\n"
	"\n"
	"Runs CMD with libheapprof preloaded and writes a heap profile when each\n"
	"process of it exits; then lists the files written.  The exit status is\n"
	"CMD's (128 + N if signal N killed it, reported on stderr).  Options end at\n"
	"CMD or at '--'.\n"
	"\n"
	"  -o, --output FILE    where the profile goes (default heapprof.%p.pb.gz).\n"
	"                       %p is replaced by the process id, %n by the dump\n"
	"                       number.  Without %p, FILE is the program's profile\n"
	"                       and child processes write FILE with .PID inserted\n"
	"                       before the extension (app.pb.gz -> app.4242.pb.gz)\n"
	"      --rate N         sample every N bytes on average (HEAPPROF_RATE;\n"
	"                       default 524288; 1 records every allocation exactly)\n"
	"      --trace          print a line on stderr as the heap grows (HEAPTRACE=1)\n"
	"      --leaks          print a leak report on stderr at exit (HEAPPROF_LEAKS=1)\n"
	"      --peak           also write the profile of the in-use peak\n"
	"                       (HEAPPROF_PEAK=1)\n"
	"      --interval S     also write a profile every S seconds\n"
	"                       (HEAPPROF_INTERVAL; adds .%n to the name if needed)\n"
	"  -h, --help           this text\n"
	"\n"
	"The library is looked for next to this program (build tree) and in ../lib\n"
	"(installed); HEAPPROF_LIB=PATH overrides both.  Other HEAPPROF_* variables\n"
	"in the environment pass through to the program.\n";

/* An absolute version of pattern pat, relative to the current directory,
 * whose own % signs are not the pattern's. */
static char *absolute(const char *pat)
{
	char cwd[PATH_MAX];
	if (pat[0] == '/' || !getcwd(cwd, sizeof cwd))
		return strdup(pat);
	return outpat_join(cwd, pat);
}

/* path as the user would write it: relative to the current directory when
 * it is below it. */
static const char *shown(const char *path)
{
	static char cwd[PATH_MAX];
	if (!cwd[0] && !getcwd(cwd, sizeof cwd))
		return path;
	size_t n = strlen(cwd);
	if (strncmp(path, cwd, n) == 0 && path[n] == '/' && n > 1)
		return path + n + 1;
	return path;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "rate", required_argument, NULL, 'r' },
		{ "trace", no_argument, NULL, 't' },
		{ "leaks", no_argument, NULL, 'l' },
		{ "peak", no_argument, NULL, 'p' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *out = NULL, *rate = NULL, *interval = NULL;
	int trace = 0, leaks = 0, peak = 0, c;
	uint64_t v;

	opterr = 0;
	/* '+': options stop at the command, whose own options are its own. */
	while ((c = getopt_long(argc, argv, "+:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'r':
			/* what the library takes, no more (hp_env.h) */
			if (hp_env_u64(optarg, &v) || v > HP_ENV_RATE_MAX)
				return cli_usage(argv[0], "--rate wants a number of bytes up to 1T (512k, 1), not '%s'",
						 optarg);
			rate = optarg;
			break;
		case 't': trace = 1; break;
		case 'l': leaks = 1; break;
		case 'p': peak = 1; break;
		case 'i':
			if (hp_env_u64(optarg, &v) || v < 1 || v > HP_ENV_SECONDS_MAX)
				return cli_usage(argv[0], "--interval wants whole seconds up to a year, not '%s'",
						 optarg);
			interval = optarg;
			break;
		case 'h': return cli_help(run_help);
		default: return cli_bad_option(argv[0], argv, c);
		}
	}
	if (optind >= argc)
		return cli_usage(argv[0], "run needs a command to run");
	if (out && !*out)
		return cli_usage(argv[0], "-o wants a file name");
	struct stat ost;
	if (out && (out[strlen(out) - 1] == '/' || (stat(out, &ost) == 0 && S_ISDIR(ost.st_mode))))
		return cli_usage(argv[0], "-o wants a file name, not the directory '%s'", out);
	char **cmd = argv + optind;

	char *lib = launch_find_library();
	if (!lib)
		return EXIT_FAIL;

	int rc = EXIT_FAIL;
	char *pat = NULL, *abspat = NULL, *final = NULL, *absfinal = NULL, *dir = NULL, *base = NULL;
	char *env[8] = { 0 };
	int nenv = 0;
	struct snap before = { 0 }, after = { 0 };
	const char *given = out ? out : getenv("HEAPPROF_OUT");
	if (given && !*given)
		given = NULL;

	/* Dumps taken while the program runs (--interval, heapprof dump) are
	 * numbered by the library itself, ".%n" before the extension of a
	 * pattern without %n, and the exit profile keeps the plain name. */
	struct stat lst;
	if (out && (!strcmp(out, "-") || (lstat(out, &lst) == 0 && !S_ISREG(lst.st_mode)))) {
		/* stdout, /dev/null, a FIFO, a link: the files are made in
		 * TMPDIR, where they can be (not in /dev), and the program's
		 * is copied through at the end */
		if (asprintf(&pat, "%s/heapprof-run.%%p.pb.gz", cli_tmpdir()) < 0)
			pat = NULL;
		if (!pat || !(final = strdup(out)))
			goto nomem;
	} else if (out && !outpat_has(out, 'p') && !outpat_has(out, 'n')) {
		pat = outpat_insert(out, ".%p");
		final = outpat_expand(out, 0, 0);       /* the name itself: %% is % */
		if (!final)
			goto nomem;
	} else {
		pat = strdup(given ? given : "heapprof.%p.pb.gz");
	}
	if (!pat)
		goto nomem;
	/* Absolute, so a program that changes directory still writes here. */
	abspat = absolute(pat);
	if (!abspat)
		goto nomem;
	int listable = outpat_split(abspat, -1, &dir, &base) == 0;
	if (!listable && errno == ENOMEM)
		goto nomem;
	if (listable) {
		/* A directory named with %p is made by someone else for each
		 * process; only a single one can be checked and listed. */
		struct stat st;
		int serr = stat(dir, &st) ? errno : !S_ISDIR(st.st_mode) ? ENOTDIR : 0;
		if (serr) {
			cli_err("cannot write profiles to '%s': %s", shown(dir), strerror(serr));
			goto out;
		}
		listable = snap_take(&before, dir, base, -1, 1) == 0;
	}

	if (asprintf(&env[nenv++], "HEAPPROF_OUT=%s", abspat) < 0)
		goto nomem;
	if (rate && asprintf(&env[nenv++], "HEAPPROF_RATE=%s", rate) < 0)
		goto nomem;
	if (trace && !(env[nenv++] = strdup("HEAPTRACE=1")))
		goto nomem;
	if (leaks && !(env[nenv++] = strdup("HEAPPROF_LEAKS=1")))
		goto nomem;
	if (peak && !(env[nenv++] = strdup("HEAPPROF_PEAK=1")))
		goto nomem;
	if (interval && asprintf(&env[nenv++], "HEAPPROF_INTERVAL=%s", interval) < 0)
		goto nomem;

	pid_t pid = 0;
	rc = launch_run(cmd, lib, env, &pid);
	if (pid <= 0)
		goto out;

	/* The top process's file gets the exact name asked for; only a file
	 * this run wrote is claimed, not one left from an earlier run. */
	int renamed = 0;
	if (final) {
		char *topfile = outpat_expand(abspat, pid, 0);  /* no %n in it */
		struct stat fst;
		if (topfile && access(topfile, F_OK) == 0) {
			if (!strcmp(final, "-") || (lstat(final, &fst) == 0 && !S_ISREG(fst.st_mode))) {
				/* written through, where rename would put a regular
				 * file in its place (as root, /dev/null's) */
				if (cli_copy_file(topfile, final) == 0) {
					renamed = 1;
					unlink(topfile);
				}
			} else if (rename(topfile, final) == 0) {
				renamed = 1;
			} else {
				cli_err("cannot rename '%s' to '%s': %s", shown(topfile), final, strerror(errno));
			}
			/* Not delivered where asked: the profile stays under the
			 * name the library gave it, listed below, and run fails
			 * (with -o /dev/full it was deleted and run exited 0). */
			if (!renamed && rc == 0)
				rc = EXIT_FAIL;
		}
		free(topfile);
		if (renamed && final[0] != '/') {
			char cwd[PATH_MAX];
			if (getcwd(cwd, sizeof cwd) && asprintf(&absfinal, "%s/%s", cwd, final) < 0)
				absfinal = NULL;
		}
	}
	char **names = NULL;
	size_t nnames = 0;
	if (listable && snap_take(&after, dir, base, -1, 1) == 0) {
		names = calloc(after.n + 1, sizeof *names);
		for (size_t i = 0; names && i < after.n; i++) {
			if (snap_has(&before, &after.v[i]))
				continue;
			/* the renamed file, already listed, may match the pattern too */
			char *p;
			int same = 0;
			if (renamed && asprintf(&p, "%s/%s", strcmp(dir, "/") ? dir : "", after.v[i].name) >= 0) {
				same = !strcmp(p, absfinal ? absfinal : final);
				free(p);
			}
			if (!same)
				names[nnames++] = after.v[i].name;
		}
		if (names)
			qsort(names, nnames, sizeof *names, cmp_str);
	}
	int any = 0;
	if (renamed) {
		cli_err("wrote '%s'", strcmp(final, "-") ? final : "(stdout)");
		any = 1;
	}
	for (size_t i = 0; i < nnames; i++) {
		char *p;
		if (asprintf(&p, "%s/%s", strcmp(dir, "/") ? dir : "", names[i]) < 0)
			continue;
		cli_err("wrote '%s'", shown(p));
		free(p);
		any = 1;
	}
	free(names);
	if (!any && rate && !strcmp(rate, "0"))
		cli_err("no profile was written: --rate 0 turns profiling off");
	else if (!any && !launch_killed())      /* that it was killed, launch_run said */
		cli_err("no profile was written (did '%s' exit normally? is HEAPPROF_RATE=0?)", cmd[0]);
	goto out;
nomem:
	cli_err("out of memory");
	rc = EXIT_FAIL;
out:
	for (int i = 0; i < nenv; i++)
		free(env[i]);
	snap_free(&before);
	snap_free(&after);
	free(base);
	free(absfinal);
	free(dir);
	free(abspat);
	free(final);
	free(pat);
	free(lib);
	return rc;
}
