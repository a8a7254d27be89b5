/*
 * cmd_flame.c - `heapprof flame`: an interactive SVG flame graph.
 *
 * Builds the stacks (stacks.c) and hands them to the renderer in flame.c,
 * which draws, merges and scripts the SVG.  With --base both profiles are
 * folded with the same sample type into one set of stacks carrying both
 * values, and the renderer colours each frame by the change of its own
 * value.  The SVG goes to a temporary file renamed into place, so a browser
 * reloading it never sees half a file.
 *
 * flame_write_svg is referenced weakly: while cli/flame.c is not part of
 * the build, the rest of the command line tool still links and `flame`
 * says the renderer is missing instead of the whole build failing.
 */
#include "cli.h"
#include "flame.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#pragma weak flame_write_svg

static const char flame_help[] =
	"usage: heapprof flame [OPTIONS] FILE\n"
	"\n"
	"Writes an interactive flame graph of FILE as one self-contained SVG file:\n"
	"open it in a browser, hover for values, click a frame to zoom, Ctrl-F to\n"
	"search.  Frame width is the frame's value, the root is at the bottom.\n"
	"\n"
	"  -o, --output OUT.svg where to write (default: FILE's name with .svg in\n"
	"                       the current directory, and the name is printed;\n"
	"                       '-' writes to standard output)\n"
	"      --base BASE      differential graph: widths from FILE, each frame red\n"
	"                       where its own value grew since BASE, blue where it\n"
	"                       shrank, white where unchanged\n"
	"      --title TEXT     the title (default: what the sample type measures)\n"
	"      --inverted       icicle graph: root at the top\n"
	"  -s, --sample TYPE    inuse_space, inuse_objects, alloc_space or\n"
	"                       alloc_objects (default: the profile's default type,\n"
	"                       else inuse_space)\n"
	"  -h, --help           this text\n";

static const char *default_title(const char *type, int diff)
{
	static const struct {
		const char *type, *title, *diff;
	} t[] = {
		{ "inuse_space", "In-use heap bytes", "Change in in-use heap bytes" },
		{ "inuse_objects", "In-use heap objects", "Change in in-use heap objects" },
		{ "alloc_space", "Allocated bytes", "Change in allocated bytes" },
		{ "alloc_objects", "Allocated objects", "Change in allocated objects" },
		{ "space", "In-use heap bytes", "Change in in-use heap bytes" },
		{ "objects", "In-use heap objects", "Change in in-use heap objects" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(type, t[i].type) == 0)
			return diff ? t[i].diff : t[i].title;
	return type;
}

/* "app.pb.gz" -> "app.svg" in the current directory. */
static char *default_output(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strcmp(path, "-") == 0 || !*base)
		base = "heapprof";
	size_t n = strlen(base);
	static const char *const ext[] = { ".gz", ".pb", ".pprof", ".prof", ".proto" };
	for (int again = 1; again;) {
		again = 0;
		for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
			size_t e = strlen(ext[i]);
			if (n > e && memcmp(base + n - e, ext[i], e) == 0) {
				n -= e;
				again = 1;
			}
		}
	}
	char *out = malloc(n + 5);
	if (out)
		snprintf(out, n + 5, "%.*s.svg", (int)n, base);
	return out;
}

/* Where the values come from: rate and time, for the subtitle. */
static void describe(char *buf, size_t len, const char *path, const struct pprof_profile *p)
{
	char r[64], t[64] = "";
	if (strcmp(p->period_type.unit, "bytes") == 0 && p->period > 1)
		snprintf(r, sizeof r, ", sampled every %s (estimates)", cli_fmt(t, sizeof t, p->period, "bytes", 0, 0));
	else if (strcmp(p->period_type.unit, "bytes") == 0)
		snprintf(r, sizeof r, ", every allocation (exact)");
	else
		r[0] = '\0';
	t[0] = '\0';
	if (p->time_nanos > 0) {
		time_t s = (time_t)(p->time_nanos / 1000000000);
		struct tm tm;
		if (gmtime_r(&s, &tm))
			strftime(t, sizeof t, ", %Y-%m-%d %H:%M:%S UTC", &tm);
	}
	snprintf(buf, len, "%s%s%s", path, r, t);
}

int cmd_flame(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "base", required_argument, NULL, 'b' },
		{ "title", required_argument, NULL, 't' },
		{ "inverted", no_argument, NULL, 'i' },
		{ "sample", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *out = NULL, *basepath = NULL, *title = NULL, *sample = NULL;
	int inverted = 0, c, rc = EXIT_FAIL;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'b': basepath = optarg; break;
		case 't': title = optarg; break;
		case 'i': inverted = 1; break;
		case 's': sample = optarg; break;
		case 'h': return cli_help(flame_help);
		default: return cli_bad_option(argv[0], argv, c);
		}
	}
	if (argc - optind != 1)
		return cli_usage(argv[0], argc == optind ? "flame needs a profile file" : "flame takes one profile file");
	const char *path = argv[optind];

	struct pprof_profile p = { 0 }, bp = { 0 };
	struct stackset s = { 0 };
	struct flame_stack *fs = NULL;
	char *outpath = NULL;
	FILE *f = NULL;

	int si = cli_open(path, sample, &p);
	if (si < 0)
		goto out;
	const char *type = p.sample_type[si].type, *unit = p.sample_type[si].unit;
	if (basepath) {
		int bsi = cli_open(basepath, type, &bp);
		if (bsi < 0)
			goto out;
		if (strcmp(bp.sample_type[bsi].unit, unit) != 0) {
			cli_err("'%s' measures %s in %s but '%s' in %s", basepath, type, bp.sample_type[bsi].unit,
				path, unit);
			goto out;
		}
		if (stacks_add(&s, &bp, bsi, 1))
			goto out;       /* it said why */
	}
	if (stacks_add(&s, &p, si, 0))
		goto out;
	stacks_merge(&s);

	if (!flame_write_svg) {
		cli_err("this heapprof was built without the flame graph renderer (cli/flame.c); "
			"use 'heapprof folded' with flamegraph.pl instead");
		goto out;
	}
	fs = calloc(s.n + 1, sizeof *fs);
	if (!fs)
		goto nomem;
	for (size_t i = 0; i < s.n; i++)
		fs[i] = (struct flame_stack){ s.v[i].frames, s.v[i].nframes, (double)s.v[i].value,
					      (double)s.v[i].base };

	/* Widths are the positive values; a pprof -diff_base profile whose
	 * changes are all negative draws nothing, and says why. */
	int negative = 0, positive = 0;
	for (size_t i = 0; i < s.n; i++) {
		negative |= s.v[i].value < 0;
		positive |= s.v[i].value > 0;
	}
	if (negative && !positive && !basepath)
		cli_err("warning: '%s' has only negative values (a pprof -diff_base profile?): the graph is empty; "
			"flame --base BASE FILE draws a change", path);

	char sub[1200], d1[512], d2[512];
	describe(d1, sizeof d1, path, &p);
	if (basepath) {
		describe(d2, sizeof d2, basepath, &bp);
		snprintf(sub, sizeof sub, "%s: %s compared with %s (red grew, blue shrank)", type, d1, d2);
	} else {
		snprintf(sub, sizeof sub, "%s: %s", type, d1);
	}
	struct flame_opts fo = {
		.title = title ? title : default_title(type, basepath != NULL),
		.subtitle = sub,
		.unit = cli_flame_unit(type, unit),
		.inverted = inverted,
		.diff = basepath != NULL,
	};

	if (out && strcmp(out, "-") == 0) {
		if (flame_write_svg(stdout, fs, s.n, &fo) || fflush(stdout)) {
			cli_err("cannot write the flame graph: %s", strerror(errno));
			goto out;
		}
		rc = EXIT_OK;
		goto out;
	}
	outpath = out ? strdup(out) : default_output(path);
	if (!outpath)
		goto nomem;
	struct cli_out o;
	if (cli_out_open(&o, outpath))
		goto out;
	f = fdopen(o.fd, "w");
	if (!f) {
		cli_out_close(&o, errno);
		goto out;
	}
	int werr = flame_write_svg(f, fs, s.n, &fo) ? (errno ? errno : EIO) : 0;
	if (fclose(f) && !werr)
		werr = errno ? errno : EIO;
	f = NULL;
	o.fd = -1;              /* closed with f */
	if (cli_out_close(&o, werr))
		goto out;
	if (!out && (printf("%s\n", outpath) < 0 || fflush(stdout))) {
		cli_err("cannot write to stdout: %s", strerror(errno));
		goto out;
	}
	rc = EXIT_OK;
	goto out;
nomem:
	cli_err("out of memory");
out:
	if (f)
		fclose(f);
	free(outpath);
	free(fs);
	stacks_free(&s);
	pprof_free(&p);
	pprof_free(&bp);
	return rc;
}
