/*
 * cmd_leaks.c - `heapprof leaks`: what is still allocated, by stack.
 *
 * `leaks FILE` groups the in-use values of a profile (inuse_space and
 * inuse_objects) by call stack, largest first, each with its frames and
 * source positions, like a leak checker's report.  For a profile written at
 * exit with HEAPPROF_RATE=1 that is exactly the memory never freed.
 * `leaks -- CMD` produces such a profile: it runs CMD under the library at
 * rate 1 with the output in a private temporary directory, then prints the
 * report on stderr (CMD's stdout stays CMD's) and passes on CMD's status.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char leaks_help[] =
	"usage: heapprof leaks [OPTIONS] FILE\n"
	"       heapprof leaks [OPTIONS] -- CMD [ARGS...]\n"
	"\n"
	"With FILE: lists the stacks that hold in-use memory in the profile, largest\n"
	"first, with bytes, objects and each frame's file:line.  A profile written at\n"
	"exit shows what the program never freed; with HEAPPROF_RATE=1 exactly.\n"
	"\n"
	"With -- CMD: runs CMD with every allocation recorded (HEAPPROF_RATE=1),\n"
	"then prints the report for CMD's own process on stderr.  The exit status\n"
	"is CMD's.\n"
	"\n"
	"  -n, --top N          show N stacks (default 10; 0 shows all)\n"
	"  -h, --help           this text\n";

struct group {
	size_t first;           /* a sample with this stack */
	int64_t bytes, objects;
};

static const struct pprof_profile *sort_prof;
static const uint32_t *sort_canon;

/* Orders sample indexes by their stack as printed: locations that print
 * the same frames (canon) count as one, so the return addresses of a loop
 * gcc unrolled, all on one source line, make one entry, not five. */
static int sample_stack_cmp(const void *a, const void *b)
{
	const struct pprof_sample *x = &sort_prof->sample[*(const size_t *)a];
	const struct pprof_sample *y = &sort_prof->sample[*(const size_t *)b];
	size_t n = x->nloc < y->nloc ? x->nloc : y->nloc;
	for (size_t i = 0; i < n; i++) {
		uint32_t cx = sort_canon[x->loc[i]], cy = sort_canon[y->loc[i]];
		if (cx != cy)
			return cx < cy ? -1 : 1;
	}
	return (x->nloc > y->nloc) - (x->nloc < y->nloc);
}

/* Each location's printed frames, "name  file:line" per line, inlined ones
 * first: the report's text for it. */
static void location_text(const struct pprof_profile *p, const struct pprof_location *l, char *out, size_t len)
{
	size_t nl = l->nline ? l->nline : 1, o = 0;
	out[0] = 0;
	for (size_t k = 0; k < nl && o < len; k++) {
		char name[CLI_NAME_MAX], pos[CLI_NAME_MAX];
		cli_frame_name(p, l, k, name, sizeof name);
		cli_frame_pos(p, l, k, pos, sizeof pos);
		int w = snprintf(out + o, len - o, "%s%s%s%s\n", name, pos[0] ? "  " : "", pos,
				 k + 1 < nl ? "  (inlined)" : "");
		o += w > 0 ? (size_t)w : 0;
	}
}

/* canon[i]: the first location index that prints as location i does.  NULL
 * when out of memory (printed). */
static uint32_t *canonical_locations(const struct pprof_profile *p)
{
	uint32_t *canon = malloc((p->nlocation + 1) * sizeof *canon);
	uint32_t *first = malloc((p->nlocation + 1) * sizeof *first);
	struct strmap texts = { 0 };
	size_t len = 4 * CLI_NAME_MAX;
	char *buf = malloc(len);
	int ok = canon && first && buf;
	for (size_t i = 0; ok && i < p->nlocation; i++) {
		location_text(p, &p->location[i], buf, len);
		int added;
		int64_t k = strmap_put(&texts, buf, &added);
		if (k < 0) {
			ok = 0;
			break;
		}
		if (added)
			first[k] = (uint32_t)i;
		canon[i] = first[k];
	}
	strmap_free(&texts);
	free(first);
	free(buf);
	if (!ok) {
		free(canon);
		cli_err("out of memory");
		return NULL;
	}
	return canon;
}

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->objects != y->objects)
		return x->objects > y->objects ? -1 : 1;
	return (x->first > y->first) - (x->first < y->first);
}

/* Prints the report for p (read from path; label names it in the header, or
 * NULL) to out.  Returns 0, or -1 (message printed). */
static int report(FILE *out, const char *path, const char *label, const struct pprof_profile *p,
		  long long top)
{
	/* "space"/"objects": old profiles pprof converted from text. */
	int bi = pprof_find_sample_type(p, "inuse_space"), oi = pprof_find_sample_type(p, "inuse_objects");
	if (bi < 0) {
		bi = pprof_find_sample_type(p, "space");
		oi = pprof_find_sample_type(p, "objects");
	}
	if (bi < 0 && cli_sample_index(path, p, "inuse_space") < 0)
		return -1;
	size_t *idx = malloc((p->nsample + 1) * sizeof *idx);
	struct group *g = malloc((p->nsample + 1) * sizeof *g);
	uint32_t *canon = idx && g ? canonical_locations(p) : NULL;
	if (!idx || !g || !canon) {
		free(idx);
		free(g);
		free(canon);
		if (!idx || !g)
			cli_err("out of memory");
		return -1;
	}
	size_t n = 0;
	for (size_t i = 0; i < p->nsample; i++)
		if (p->sample[i].value[bi] != 0 || (oi >= 0 && p->sample[i].value[oi] != 0))
			idx[n++] = i;
	sort_prof = p;
	sort_canon = canon;
	qsort(idx, n, sizeof *idx, sample_stack_cmp);
	size_t ng = 0;
	int64_t tb = 0, to = 0;
	for (size_t i = 0; i < n; i++) {
		const struct pprof_sample *s = &p->sample[idx[i]];
		if (!ng || sample_stack_cmp(&idx[i], &g[ng - 1].first) != 0)
			g[ng++] = (struct group){ idx[i], 0, 0 };
		int64_t ob = oi >= 0 ? s->value[oi] : 0;
		g[ng - 1].bytes = sat_add(g[ng - 1].bytes, s->value[bi]);
		g[ng - 1].objects = sat_add(g[ng - 1].objects, ob);
		tb = sat_add(tb, s->value[bi]);
		to = sat_add(to, ob);
	}
	qsort(g, ng, sizeof *g, group_cmp);
	free(canon);

	char a[64], b[64], hb[160];
	const char *how = cli_how(p, hb, sizeof hb, 0);
	if (ng == 0) {
		fprintf(out, "no memory in use%s%s%s%s\n", label ? " in '" : "", label ? label : "",
			label ? "'" : "", how);
		cli_print_losses(out, p);
		free(idx);
		free(g);
		return 0;
	}
	fprintf(out, "%s in %lld objects in use from %zu stacks%s%s%s%s\n", cli_fmt(a, sizeof a, tb, "bytes", 0, 0),
		(long long)to, ng, label ? " in '" : "", label ? label : "", label ? "'" : "", how);
	cli_print_losses(out, p);
	for (size_t i = 0; i < n; i++)
		if (p->sample[idx[i]].value[bi] < 0) {
			fprintf(out, "Negative values: a pprof -diff_base profile? What it holds is the change in use, "
				"not memory still held\n");
			break;
		}
	size_t shown = top == 0 || (size_t)top > ng ? ng : (size_t)top;
	for (size_t i = 0; i < shown; i++) {
		const struct pprof_sample *s = &p->sample[g[i].first];
		fprintf(out, "\n%s in %lld objects (%s) allocated at:\n",
			cli_fmt(a, sizeof a, g[i].bytes, "bytes", 0, 0), (long long)g[i].objects,
			cli_pct(b, sizeof b, g[i].bytes, tb));
		if (s->nloc == 0)
			fprintf(out, "    [no stack]\n");
		/* Leaf first, like a backtrace; inlined frames before their host;
		 * at most CLI_MAX_FRAMES lines, as the other commands. */
		size_t printed = 0, left = 0;
		for (size_t j = 0; j < s->nloc; j++) {
			const struct pprof_location *l = &p->location[s->loc[j]];
			size_t nl = l->nline ? l->nline : 1;
			for (size_t k = 0; k < nl; k++) {
				if (printed == CLI_MAX_FRAMES - 1) {
					left++;
					continue;
				}
				printed++;
				char name[CLI_NAME_MAX], pos[CLI_NAME_MAX];
				cli_frame_name(p, l, k, name, sizeof name);
				cli_frame_pos(p, l, k, pos, sizeof pos);
				fprintf(out, "    %s%s%s%s\n", name, pos[0] ? "  " : "", pos,
					k + 1 < nl ? "  (inlined)" : "");
			}
		}
		if (left)
			fprintf(out, "    [%zu frames cut]\n", left);
	}
	if (shown < ng) {
		int64_t rb = 0, ro = 0;
		for (size_t i = shown; i < ng; i++) {
			rb = sat_add(rb, g[i].bytes);
			ro = sat_add(ro, g[i].objects);
		}
		fprintf(out, "\n... and %zu more stacks with %s in %lld objects (--top 0 shows all)\n", ng - shown,
			cli_fmt(a, sizeof a, rb, "bytes", 0, 0), (long long)ro);
	}
	free(idx);
	free(g);
	return 0;
}

/* leaks -- CMD: run at rate 1 into a temporary directory, report, clean up. */
static int leaks_run(char **cmd, long long top)
{
	char *lib = launch_find_library();
	if (!lib)
		return EXIT_FAIL;
	char dir[4096], *env[3] = { 0 };
	/* mkdtemp's template: the six X's are replaced by it */
	snprintf(dir, sizeof dir, "%s/heapprof-leaks.XXXXXX", cli_tmpdir());
	if (!mkdtemp(dir)) {
		cli_err("cannot create a temporary directory '%s': %s", dir, strerror(errno));
		free(lib);
		return EXIT_FAIL;
	}
	int rc = EXIT_FAIL;
	if (asprintf(&env[0], "HEAPPROF_OUT=%s/leaks.%%p.pb.gz", dir) < 0 || !(env[1] = strdup("HEAPPROF_RATE=1"))) {
		cli_err("out of memory");
		goto out;
	}
	pid_t pid = 0;
	rc = launch_run(cmd, lib, env, &pid);
	if (pid > 0) {
		char path[4200];
		snprintf(path, sizeof path, "%s/leaks.%ld.pb.gz", dir, (long)pid);
		struct pprof_profile p;
		char err[512];
		fflush(stdout);
		if (access(path, F_OK) != 0) {
			if (!launch_killed())   /* which launch_run said */
				cli_err("no profile was written by '%s' (it did not exit normally?)", cmd[0]);
		} else if (pprof_read_file(path, &p, err, sizeof err) != PPROF_OK) {
			cli_err("%s", err);
		} else {
			fprintf(stderr, "heapprof: leaks of '%s' (pid %ld): ", cmd[0], (long)pid);
			report(stderr, path, NULL, &p, top);
			pprof_free(&p);
		}
	}
out:
	/* The directory holds only our profiles: the top process's and any
	 * its children wrote. */
	{
		struct snap s;
		if (snap_take(&s, dir, "leaks.%p.pb.gz", -1, 1) == 0) {
			for (size_t i = 0; i < s.n; i++) {
				char path[4400];
				snprintf(path, sizeof path, "%s/%s", dir, s.v[i].name);
				unlink(path);
			}
			snap_free(&s);
		}
		if (rmdir(dir) != 0)
			cli_err("left temporary files in '%s'", dir);
	}
	free(env[0]);
	free(env[1]);
	free(lib);
	return rc;
}

/* Whether the file at path starts as a program does: an ELF header or #!. */
static int is_program(const char *path)
{
	unsigned char head[4] = { 0 };
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(head, 1, sizeof head, f);
	fclose(f);
	return (n == 4 && !memcmp(head, "\177ELF", 4)) || (n >= 2 && head[0] == '#' && head[1] == '!');
}

int cmd_leaks(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "top", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	long long top = 10;
	int c;

	/* A file and a command both ("leaks FILE -- CMD"): getopt would move
	 * FILE behind the "--", and FILE would be run as the command. */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		int value = i > 1 && (!strcmp(argv[i - 1], "-n") || !strcmp(argv[i - 1], "--top"));
		if ((argv[i][0] != '-' || !argv[i][1]) && !value) {      /* "-" is stdin, a file */
			for (int j = i + 1; j < argc; j++)
				if (!strcmp(argv[j], "--"))
					return cli_usage(argv[0], "leaks takes a profile file or -- and a command, not both");
			break;
		}
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (cli_parse_int(optarg, 0, 1000000000, &top))
				return cli_usage(argv[0], "--top wants a count, not '%s'", optarg);
			break;
		case 'h': return cli_help(leaks_help);
		default: return cli_bad_option(argv[0], argv, c);
		}
	}
	/* getopt_long stops at "--" and leaves it just before optind. */
	if (optind > 1 && strcmp(argv[optind - 1], "--") == 0) {
		if (optind >= argc)
			return cli_usage(argv[0], "leaks -- needs a command to run");
		return leaks_run(argv + optind, top);
	}
	if (argc - optind != 1)
		return cli_usage(argv[0], argc == optind ? "leaks needs a profile file, or -- and a command"
							 : "leaks takes one profile file (use -- before a command)");
	const char *path = argv[optind];
	struct pprof_profile p;
	struct stat st;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0 && is_program(path)) {
		cli_err("'%s' is a program, not a profile: to run it, put -- before it: heapprof leaks -- %s", path,
			path);
		return EXIT_FAIL;
	}
	if (cli_load(path, &p))
		return EXIT_FAIL;
	int rc = report(stdout, path, path, &p, top) ? EXIT_FAIL : EXIT_OK;
	pprof_free(&p);
	if (fflush(stdout) || ferror(stdout)) {
		cli_err("cannot write the report: output error");
		rc = EXIT_FAIL;
	}
	return rc;
}
