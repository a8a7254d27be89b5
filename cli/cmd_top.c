/*
 * cmd_top.c - `heapprof top`: the heaviest allocation sites of a profile.
 *
 * The table has pprof's columns (flat, flat%, sum%, cum, cum%) with the
 * same meaning, order and node names as `go tool pprof -top`, so users can
 * move between the two and the tests can compare them row by row; values are
 * in human units unless --exact.  The work is in stacks.c (fnodes_build).
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char top_help[] =
	"usage: heapprof top [OPTIONS] FILE\n"
	"\n"
	"Prints the functions that hold (or allocated) the most memory, heaviest\n"
	"first, like `go tool pprof -top`.  FILE is a pprof heap profile (gzipped or\n"
	"plain profile.proto; '-' reads standard input), from heapprof or from Go.\n"
	"\n"
	"  -n, --nodes N        show N rows (default 20; 0 shows all)\n"
	"      --cum            sort by cum instead of flat\n"
	"      --lines          one row per source line (function file:line)\n"
	"  -s, --sample TYPE    inuse_space, inuse_objects, alloc_space or\n"
	"                       alloc_objects (default: the profile's default type,\n"
	"                       else inuse_space)\n"
	"      --exact          exact integers instead of B/KiB/MiB/GiB\n"
	"  -h, --help           this text\n"
	"\n"
	"Columns: flat = allocated by the function itself; flat% = its share of the\n"
	"total; sum% = running sum of flat%; cum = by the function and everything it\n"
	"calls (counted once per stack even when recursive); cum%.  \"(inline)\" marks\n"
	"functions that were inlined into their callers.\n";

/* The header lines shared with `diff`: file, type, sampling, time. */
static void print_header(const char *path, const struct pprof_profile *p, int si)
{
	char b[160];
	printf("File: %s\n", path);
	printf("Type: %s%s\n", p->sample_type[si].type, cli_how(p, b, sizeof b, 1));
	if (p->time_nanos > 0) {
		time_t t = (time_t)(p->time_nanos / 1000000000);
		struct tm tm;
		if (gmtime_r(&t, &tm) && strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S UTC", &tm))
			printf("Time: %s\n", b);
	}
	cli_print_losses(stdout, p);
}

int top_parse_opts(int argc, char **argv, const char *help, struct top_opts *o)
{
	static const struct option opts[] = {
		{ "nodes", required_argument, NULL, 'n' },
		{ "cum", no_argument, NULL, 'c' },
		{ "lines", no_argument, NULL, 'l' },
		{ "sample", required_argument, NULL, 's' },
		{ "exact", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	*o = (struct top_opts){ .nodes = 20 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (cli_parse_int(optarg, 0, 1000000000, &o->nodes))
				return cli_usage(argv[0], "-n wants a count, not '%s'", optarg);
			break;
		case 'c': o->cum = 1; break;
		case 'l': o->lines = 1; break;
		case 's': o->sample = optarg; break;
		case 'x': o->exact = 1; break;
		case 'h': return cli_help(help);
		default: return cli_bad_option(argv[0], argv, c);
		}
	}
	return -1;
}

int cmd_top(int argc, char **argv)
{
	struct top_opts o;
	int rc = top_parse_opts(argc, argv, top_help, &o);
	if (rc >= 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage(argv[0], argc == optind ? "top needs a profile file" : "top takes one profile file");
	const char *path = argv[optind];

	struct pprof_profile p;
	int si = cli_open(path, o.sample, &p);
	if (si < 0)
		return EXIT_FAIL;
	struct fnodeset fs = { 0 };
	if (fnodes_build(&fs, &p, si, o.lines)) {
		cli_err("out of memory");
		fnodes_free(&fs);
		pprof_free(&p);
		return EXIT_FAIL;
	}
	fnodes_sort(&fs, o.cum);

	const char *unit = p.sample_type[si].unit;
	size_t shown = o.nodes == 0 || (size_t)o.nodes > fs.n ? fs.n : (size_t)o.nodes;
	int64_t shown_flat = 0;
	for (size_t i = 0; i < shown; i++)
		shown_flat = sat_add(shown_flat, fs.v[i].flat);
	char a[64], b[64], d[64], e[64], f[64];

	print_header(path, &p, si);
	printf("Showing %zu of %zu %s: %s of %s total (%s)\n", shown, fs.n, o.lines ? "lines" : "functions",
	       cli_fmt(a, sizeof a, shown_flat, unit, o.exact, 0), cli_fmt(b, sizeof b, fs.total, unit, o.exact, 0),
	       cli_pct(d, sizeof d, shown_flat, fs.total));
	printf("%12s %7s %7s %12s %7s  %s\n", "flat", "flat%", "sum%", "cum", "cum%", o.lines ? "line" : "function");
	int64_t sum = 0;
	for (size_t i = 0; i < shown; i++) {
		const struct fnode *n = &fs.v[i];
		sum = sat_add(sum, n->flat);
		printf("%12s %7s %7s %12s %7s  %s%s\n", cli_fmt(a, sizeof a, n->flat, unit, o.exact, 0),
		       cli_pct(b, sizeof b, n->flat, fs.total), cli_pct(d, sizeof d, sum, fs.total),
		       cli_fmt(e, sizeof e, n->cum, unit, o.exact, 0), cli_pct(f, sizeof f, n->cum, fs.total), n->name,
		       fnode_inline_label(n));
	}
	fnodes_free(&fs);
	pprof_free(&p);
	if (fflush(stdout) || ferror(stdout)) {
		cli_err("cannot write the report: output error");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
