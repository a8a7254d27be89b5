/*
 * main.c - the `heapprof` command: a table of subcommands and the dispatch.
 *
 * Each row names a command, the function that runs it and a one-line
 * summary for `heapprof --help`; the commands print their own detailed help
 * for `heapprof CMD --help` (or `heapprof help CMD`).  Exit codes: 0
 * success, 1 failure, 2 usage error; `run` and `leaks -- CMD` pass on the
 * program's own status.
 */
#include "cli.h"

#include <errno.h>

#include <string.h>

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "run", cmd_run, "run a program under the profiler and write its heap profile(s)" },
	{ "top", cmd_top, "the heaviest allocation sites of a profile, like pprof -top" },
	{ "folded", cmd_folded, "print stacks in folded format (flamegraph.pl, inferno, speedscope)" },
	{ "flame", cmd_flame, "write an interactive SVG flame graph (or a differential one)" },
	{ "diff", cmd_diff, "what changed between two profiles, by function" },
	{ "leaks", cmd_leaks, "in-use stacks of a profile, or run a program and report its leaks" },
	{ "dump", cmd_dump, "take a profile of a running process that has the library loaded" },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static int usage(void)
{
	FILE *f = stdout;
	fprintf(f, "usage: heapprof COMMAND [OPTIONS] [ARGS]\n\n"
		   "A heap profiler for native Linux programs; profiles are pprof files\n"
		   "(gzipped profile.proto) that `go tool pprof` reads too.\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'heapprof COMMAND --help' describes a command's options.\n"
		   "'heapprof --version' prints the version.  See heapprof(1) and docs/cli.md.\n");
	return EXIT_OK;
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int run(int argc, char **argv);

/* What a command printed on stdout must have got there: a failed write
 * (a full disk, a closed pipe's EPIPE) is an error even when the command
 * did its work, or a script would go on with half an answer. */
int main(int argc, char **argv)
{
	int rc = run(argc, argv);
	errno = 0;
	if ((fflush(stdout) != 0 || ferror(stdout)) && rc == EXIT_OK) {
		cli_err("cannot write to stdout: %s", strerror(errno ? errno : EIO));
		rc = EXIT_FAIL;
	}
	return rc;
}

static int run(int argc, char **argv)
{
	if (argc < 2) {
		cli_err("no command given (see 'heapprof --help')");
		return EXIT_USAGE;
	}
	const char *a = argv[1];
	if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
		return usage();
	if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0 || strcmp(a, "version") == 0) {
		printf("heapprof %s\n", HP_VERSION);
		return EXIT_OK;
	}
	if (strcmp(a, "help") == 0) {
		if (argc < 3)
			return usage();
		const struct command *c = find(argv[2]);
		if (!c) {
			cli_err("unknown command '%s' (see 'heapprof --help')", argv[2]);
			return EXIT_USAGE;
		}
		char *hargv[] = { argv[2], "--help", NULL };
		return c->fn(2, hargv);
	}
	const struct command *c = find(a);
	if (!c) {
		cli_err("unknown command '%s' (see 'heapprof --help')", a);
		return EXIT_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
