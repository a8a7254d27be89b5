/*
 * cmd_folded.c - `heapprof folded`: Brendan Gregg's folded stack format.
 *
 * One line per distinct stack, frames root first joined by ';', a space and
 * an integer value, which flamegraph.pl, inferno and speedscope read.  Zero
 * and negative values are left out (the format has no minus sign); ';' in a
 * name would split it, so it becomes '_'.  Lines are sorted, which is the
 * order flamegraph.pl wants anyway, and makes the output reproducible.
 */
#include "cli.h"

#include <getopt.h>
#include <string.h>

static const char folded_help[] =
	"usage: heapprof folded [OPTIONS] FILE\n"
	"\n"
	"Prints the profile's stacks in folded format: one line per distinct stack,\n"
	"frames from the root (main) to the allocating function joined by ';', then\n"
	"a space and the value.  Inlined calls appear as ordinary frames; frames\n"
	"without a name as module+0xOFFSET or 0xADDRESS.  For example:\n"
	"\n"
	"  heapprof folded app.pb.gz | flamegraph.pl --colors=mem > app.svg\n"
	"\n"
	"  -s, --sample TYPE    inuse_space, inuse_objects, alloc_space or\n"
	"                       alloc_objects (default: the profile's default type,\n"
	"                       else inuse_space)\n"
	"  -h, --help           this text\n";

static void put_frame(const char *s, FILE *out)
{
	for (; *s; s++)
		putc(*s == ';' ? '_' : *s, out);
}

int cmd_folded(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sample", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *sample = NULL;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': sample = optarg; break;
		case 'h': return cli_help(folded_help);
		default: return cli_bad_option(argv[0], argv, c);
		}
	}
	if (argc - optind != 1)
		return cli_usage(argv[0], argc == optind ? "folded needs a profile file"
							 : "folded takes one profile file");
	const char *path = argv[optind];

	struct pprof_profile p;
	int si = cli_open(path, sample, &p);
	if (si < 0)
		return EXIT_FAIL;
	struct stackset s = { 0 };
	int rc = EXIT_OK;
	if (stacks_add(&s, &p, si, 0)) {
		rc = EXIT_FAIL;
		goto out;
	}
	stacks_merge(&s);
	for (size_t i = 0; i < s.n; i++) {
		if (s.v[i].value <= 0)
			continue;
		for (int j = 0; j < s.v[i].nframes; j++) {
			if (j)
				putchar(';');
			put_frame(s.v[i].frames[j], stdout);
		}
		/* A stack without frames still counts toward the total. */
		if (s.v[i].nframes == 0)
			fputs("[no stack]", stdout);
		printf(" %lld\n", (long long)s.v[i].value);
	}
	if (fflush(stdout) || ferror(stdout)) {
		cli_err("cannot write the stacks: output error");
		rc = EXIT_FAIL;
	}
out:
	stacks_free(&s);
	pprof_free(&p);
	return rc;
}
