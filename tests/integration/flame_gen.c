/*
 * flame_gen.c - test driver: folded stacks on stdin -> flame graph SVG on
 * stdout, through flame_write_svg() alone.  It lets the browser test (and a
 * person) exercise the renderer without a profile or the rest of the CLI.
 *
 *   flame_gen [-t TITLE] [-s SUBTITLE] [-u UNIT] [-i] [-d] < in.folded > out.svg
 *
 * Input lines are `frame0;frame1;...;frameN VALUE`, root first, split at the
 * last run of blanks as flamegraph.pl does.  With -d each line ends in two
 * numbers, `BASE NEW` (the format of difffolded.pl), and the graph is
 * differential.  Exit status: 0, 1 on a bad line or write error, 2 usage.
 */
#include "flame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Cuts the last blank-separated number off line; returns 0 or -1. */
static int cut_number(char *line, double *v)
{
	char *end = line + strlen(line), *p, *e;

	while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = 0;
	p = end;
	while (p > line && p[-1] != ' ' && p[-1] != '\t')
		p--;
	if (p == line || p == end)
		return -1;
	errno = 0;
	*v = strtod(p, &e);
	if (errno || *e || *v < 0)
		return -1;
	while (p > line && (p[-1] == ' ' || p[-1] == '\t'))
		p--;
	*p = 0;
	return 0;
}

int main(int argc, char **argv)
{
	struct flame_opts o = { .unit = "bytes" };
	struct flame_stack *st = NULL;
	size_t n = 0, cap = 0, len = 0, lineno = 0;
	char *line = NULL;
	ssize_t got;
	int c;

	while ((c = getopt(argc, argv, "t:s:u:id")) != -1) {
		switch (c) {
		case 't': o.title = optarg; break;
		case 's': o.subtitle = optarg; break;
		case 'u': o.unit = *optarg ? optarg : NULL; break;
		case 'i': o.inverted = 1; break;
		case 'd': o.diff = 1; break;
		default:
			fprintf(stderr, "usage: flame_gen [-t TITLE] [-s SUBTITLE] [-u UNIT] [-i] [-d] < folded > svg\n");
			return 2;
		}
	}
	while ((got = getline(&line, &len, stdin)) > 0) {
		struct flame_stack s = { 0 };
		char *body, *tok, *save;
		int fcap = 0;

		lineno++;
		line[strcspn(line, "\r\n")] = 0;
		if (!line[0])
			continue;
		if (cut_number(line, &s.value) < 0 || (o.diff && cut_number(line, &s.base) < 0)) {
			fprintf(stderr, "flame_gen: bad line %zu\n", lineno);
			return 1;
		}
		/* The frames keep pointers into this copy; it lives until exit. */
		if (!(body = strdup(line)))
			return 1;
		for (tok = strtok_r(body, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
			if (s.nframes == fcap) {
				fcap = fcap ? fcap * 2 : 16;
				if (!(s.frames = realloc(s.frames, fcap * sizeof(*s.frames))))
					return 1;
			}
			s.frames[s.nframes++] = tok;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			if (!(st = realloc(st, cap * sizeof(*st))))
				return 1;
		}
		st[n++] = s;
	}
	if (flame_write_svg(stdout, st, n, &o) < 0) {
		perror("flame_gen: write");
		return 1;
	}
	return 0;
}
