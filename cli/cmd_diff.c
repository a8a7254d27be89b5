/*
 * cmd_diff.c - `heapprof diff BASE NEW`: what changed, by function.
 *
 * Both profiles are reduced to per-function totals exactly as `top` does
 * (flat by default, cum with --cum), joined by function name, and listed by
 * the size of the change, largest first, whether it grew or shrank.  This is
 * the text companion of `flame --base` and of `pprof -top -diff_base`.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char diff_help[] =
	"usage: heapprof diff [OPTIONS] BASE NEW\n"
	"\n"
	"Compares two profiles (typically two dumps of one process, or two runs of\n"
	"one program) and lists the functions whose value changed the most, grown or\n"
	"shrunk, with both totals and the change.\n"
	"\n"
	"  -n, --nodes N        show N rows (default 20; 0 shows all)\n"
	"      --cum            compare cum (function and callees) instead of flat\n"
	"      --lines          one row per source line (function file:line)\n"
	"  -s, --sample TYPE    inuse_space, inuse_objects, alloc_space or\n"
	"                       alloc_objects (default: NEW's default type, else\n"
	"                       inuse_space)\n"
	"      --exact          exact integers instead of B/KiB/MiB/GiB\n"
	"  -h, --help           this text\n";

struct change {
	const char *name;
	int64_t base, now;
	struct fnode how;       /* inline_in, call_in of both: the "(inline)" label */
};

static int change_cmp(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	int64_t dx = sat_abs(sat_sub(x->now, x->base)), dy = sat_abs(sat_sub(y->now, y->base));
	if (dx != dy)
		return dx > dy ? -1 : 1;
	return strcmp(x->name, y->name);
}

int cmd_diff(int argc, char **argv)
{
	struct top_opts o;
	int rc = top_parse_opts(argc, argv, diff_help, &o);
	if (rc >= 0)
		return rc;
	rc = EXIT_FAIL;
	if (argc - optind != 2)
		return cli_usage(argv[0], "diff needs two profile files, BASE and NEW");
	const char *bpath = argv[optind], *npath = argv[optind + 1];
	if (!strcmp(bpath, "-") && !strcmp(npath, "-"))
		return cli_usage(argv[0], "only one of BASE and NEW can be '-': stdin is read once");

	struct pprof_profile bp = { 0 }, np = { 0 };
	struct fnodeset bf = { 0 }, nf = { 0 };
	struct strmap names = { 0 };
	struct change *ch = NULL;
	if (cli_load(bpath, &bp))
		goto out;
	int nsi = cli_open(npath, o.sample, &np);
	if (nsi < 0)
		goto out;
	/* The same type in both, by name, whatever BASE's default is. */
	int bsi = cli_sample_index(bpath, &bp, np.sample_type[nsi].type);
	if (bsi < 0)
		goto out;
	const char *unit = np.sample_type[nsi].unit;
	if (strcmp(unit, bp.sample_type[bsi].unit) != 0) {
		cli_err("'%s' measures %s in %s but '%s' in %s", bpath, bp.sample_type[bsi].type,
			bp.sample_type[bsi].unit, npath, unit);
		goto out;
	}
	if (fnodes_build(&bf, &bp, bsi, o.lines) || fnodes_build(&nf, &np, nsi, o.lines))
		goto nomem;

	/* Join by name: one change row per function seen in either. */
	ch = calloc(bf.n + nf.n + 1, sizeof *ch);
	if (!ch)
		goto nomem;
	for (int side = 0; side < 2; side++) {
		struct fnodeset *fs = side ? &nf : &bf;
		for (size_t i = 0; i < fs->n; i++) {
			int added;
			int64_t k = strmap_put(&names, fs->v[i].name, &added);
			if (k < 0)
				goto nomem;
			ch[k].name = names.keys[k];
			/* pprof labels the node of the merged profiles */
			ch[k].how.inline_in |= fs->v[i].inline_in;
			ch[k].how.call_in |= fs->v[i].call_in;
			int64_t v = o.cum ? fs->v[i].cum : fs->v[i].flat;
			if (side)
				ch[k].now = v;
			else
				ch[k].base = v;
		}
	}
	size_t n = 0;
	for (size_t i = 0; i < names.n; i++)
		if (ch[i].now != ch[i].base)
			ch[n++] = ch[i];
	qsort(ch, n, sizeof *ch, change_cmp);

	char a[64], b[64], d[64];
	int64_t delta = sat_sub(nf.total, bf.total);
	printf("Type: %s\n", np.sample_type[nsi].type);
	printf("Base: %s, total %s\n", bpath, cli_fmt(a, sizeof a, bf.total, unit, o.exact, 0));
	printf("New:  %s, total %s\n", npath, cli_fmt(a, sizeof a, nf.total, unit, o.exact, 0));
	printf("Change: %s", cli_fmt(a, sizeof a, delta, unit, o.exact, 1));
	if (bf.total)
		printf(" (%+.2f%%)", 100.0 * (double)delta / (double)bf.total);
	printf("\n");
	size_t shown = o.nodes == 0 || (size_t)o.nodes > n ? n : (size_t)o.nodes;
	printf("Showing %zu of %zu changed %s, by %s value\n", shown, n, o.lines ? "lines" : "functions",
	       o.cum ? "cum" : "flat");
	printf("%12s %12s %12s  %s\n", "change", "base", "new", o.lines ? "line" : "function");
	for (size_t i = 0; i < shown; i++)
		printf("%12s %12s %12s  %s%s\n", cli_fmt(a, sizeof a, sat_sub(ch[i].now, ch[i].base), unit, o.exact, 1),
		       cli_fmt(b, sizeof b, ch[i].base, unit, o.exact, 0),
		       cli_fmt(d, sizeof d, ch[i].now, unit, o.exact, 0), ch[i].name, fnode_inline_label(&ch[i].how));
	if (fflush(stdout) || ferror(stdout)) {
		cli_err("cannot write the report: output error");
		goto out;
	}
	rc = EXIT_OK;
	goto out;
nomem:
	cli_err("out of memory");
out:
	free(ch);
	strmap_free(&names);
	fnodes_free(&bf);
	fnodes_free(&nf);
	pprof_free(&bp);
	pprof_free(&np);
	return rc;
}
