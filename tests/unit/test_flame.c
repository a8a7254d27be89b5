/*
 * test_flame.c - unit tests for cli/flame.c, the SVG flame graph writer.
 *
 * Each check renders stacks whose answer is known by hand and reads the SVG
 * back: frames are found by their <title> and the <rect> after it.  Whether
 * the file is well-formed XML is decided by an independent parser (python3's
 * xml.etree), not by us.  Build and run:
 *   gcc -Wall -Wextra -std=gnu11 -D_GNU_SOURCE -Icli tests/unit/test_flame.c cli/flame.c -lm
 */
#include "flame.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failed;

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!ok)
		failed++;
}

/* Renders stacks to a malloc'd string (NULL if the writer failed). */
static char *render(const struct flame_stack *s, size_t n, const struct flame_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	if (!f)
		return NULL;
	rc = flame_write_svg(f, s, n, o);
	fclose(f);
	if (rc < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* 1 if python3's XML parser accepts svg, 0 if not, -1 if it cannot run. */
static int xml_ok(const char *svg)
{
	char path[] = "/tmp/test_flame_XXXXXX";
	int fd = mkstemp(path), st;
	FILE *p;
	char cmd[256];

	if (fd < 0 || !svg)
		return 0;
	if (write(fd, svg, strlen(svg)) != (ssize_t)strlen(svg)) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "python3 -c 'import sys, xml.etree.ElementTree as E; "
		 "r = E.parse(sys.argv[1]).getroot(); sys.exit(0 if r.tag.endswith(\"svg\") else 1)' %s 2>&1", path);
	if (!(p = popen(cmd, "r")))
		st = -1;
	else {
		char line[512];

		while (fgets(line, sizeof(line), p))
			fprintf(stderr, "# xml: %s", line);
		st = pclose(p);
		st = st == -1 ? -1 : WIFEXITED(st) && WEXITSTATUS(st) == 127 ? -1 : st == 0;
	}
	unlink(path);
	return st;
}

struct rect {
	double x, w;
	int y, h;
	char fill[32];
	char label[256];
	char title[512];
};

/*
 * Finds the k-th frame (0-based) whose title starts with the escaped name
 * esc followed by " (", and parses its rect.  Returns 1 if found.
 */
static int frame(const char *svg, const char *esc, int k, struct rect *r)
{
	char key[512];
	const char *p = svg, *q, *e;

	snprintf(key, sizeof(key), "<g><title>%s (", esc);
	for (;; p++) {
		if (!svg || !(p = strstr(p, key)))
			return 0;
		if (k-- == 0)
			break;
	}
	memset(r, 0, sizeof(*r));
	q = p + strlen("<g><title>");
	e = strstr(q, "</title>");
	if (!e)
		return 0;
	snprintf(r->title, sizeof(r->title), "%.*s", (int)(e - q), q);
	if (sscanf(e, "</title><rect x=\"%lf\" y=\"%d\" width=\"%lf\" height=\"%d\" fill=\"%31[^\"]\"",
		   &r->x, &r->y, &r->w, &r->h, r->fill) != 5)
		return 0;
	if ((q = strstr(e, "<text")) && (q = strchr(q, '>')) && (e = strstr(q, "</text>")))
		snprintf(r->label, sizeof(r->label), "%.*s", (int)(e - q - 1), q + 1);
	return 1;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Builds a stack from a "a;b;c" string; the strings live until exit. */
static struct flame_stack mk(const char *folded, double value, double base)
{
	struct flame_stack s = { .value = value, .base = base };
	char *copy = strdup(folded), *save, *tok;

	s.frames = calloc(strlen(folded) + 1, sizeof(char *));
	for (tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save))
		s.frames[s.nframes++] = tok;
	return s;
}

static int rgb(const char *fill, int *r, int *g, int *b)
{
	return sscanf(fill, "rgb(%d,%d,%d)", r, g, b) == 3;
}

/* n with thousands separators, in a static buffer. */
static const char *commas(long long n)
{
	static char out[40];
	char tmp[24];
	int len = snprintf(tmp, sizeof(tmp), "%lld", n), j = 0;

	for (int i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			out[j++] = ',';
		out[j++] = tmp[i];
	}
	out[j] = 0;
	return out;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_basic(void)
{
	struct flame_stack s[] = {
		mk("main;parse;json_alloc", 3 << 20, 0),
		mk("main;read_file", 1 << 20, 0),
		mk("main;parse;json_alloc", 1 << 20, 0),	/* adds up with the first */
		mk("main;parse", 512 << 10, 0),			/* parse's own value */
		mk("main;parse;std::map<int, char*>::operator[]&", 512 << 10, 0),
	};
	struct flame_opts o = { .title = "In-use heap (inuse_space)", .subtitle = "rate 512 KiB", .unit = "bytes" };
	char *svg = render(s, 5, &o);
	struct rect all, mn, parse, json, rd, cpp;
	int r, g, b;

	check(svg != NULL, "flame_write_svg returns 0");
	int x = xml_ok(svg);
	check(x != 0, "output is well-formed XML (python3 xml.etree)%s", x < 0 ? " # skip python3 missing" : "");
	check(strstr(svg, "In-use heap (inuse_space) - total 6.00 MiB") != NULL, "title carries sample type and total");
	check(strstr(svg, ">rate 512 KiB</text>") != NULL, "subtitle drawn");
	int found = frame(svg, "all", 0, &all);
	check(found && fabs(all.w - 1180) < 0.01 && fabs(all.x - 10) < 0.01, "root spans the full width (%.2f)", all.w);
	check(frame(svg, "json_alloc", 0, &json) && !frame(svg, "json_alloc", 1, &rd),
	      "equal stacks merge into one frame");
	check(strstr(json.title, "(4.00 MiB, 4,194,304 bytes, 66.67%)") != NULL,
	      "tooltip has value in human and exact units, and percent: %s", json.title);
	found = frame(svg, "main", 0, &mn) && frame(svg, "parse", 0, &parse) && frame(svg, "read_file", 0, &rd);
	check(found && fabs(parse.w / rd.w - 5.0) < 0.001 && fabs(json.w / rd.w - 4.0) < 0.001,
	      "widths proportional to values (parse/read_file %.4f, json_alloc/read_file %.4f)",
	      parse.w / rd.w, json.w / rd.w);
	check(fabs(rd.x - (parse.x + parse.w)) < 0.011 && parse.x >= mn.x - 0.001,
	      "siblings laid out side by side, children inside their parent");
	check(all.y > mn.y && mn.y > parse.y && parse.y > json.y && mn.y - parse.y == 16,
	      "root at the bottom, one 16 px row per depth");
	check(frame(svg, "std::map&lt;int, char*&gt;::operator[]&amp;", 0, &cpp) &&
	      !strstr(svg, "std::map<int") && !strstr(svg, "[]&)"),
	      "C++ names XML-escaped");
	check(rgb(json.fill, &r, &g, &b) && r == 0 && g >= 190 && g <= 240 && b >= 0 && b <= 210,
	      "memory palette: %s", json.fill);
	check(strstr(svg, "<script") && strstr(svg, "function zoom(") && strstr(svg, "function search(") &&
	      strstr(svg, ">Reset Zoom<") && strstr(svg, ">Search<") && strstr(svg, "onload=\"init(evt)\""),
	      "interactive: script with zoom, search and their controls");
	check(!strstr(svg, "href=") && !strstr(svg, "src=") && !strstr(svg, "@import") && !strstr(svg, "url(http"),
	      "self-contained: no external references");
	free(svg);
}

static void test_inverted_and_stable_colour(void)
{
	struct flame_stack s[] = { mk("main;work;malloc_site", 100, 0), mk("other;malloc_site", 50, 0) };
	struct flame_opts o = { .unit = "objects", .inverted = 1 };
	char *svg = render(s, 2, &o);
	struct rect all, mn, w, a, b2;

	check(svg && xml_ok(svg) != 0, "inverted: well-formed XML");
	check(frame(svg, "all", 0, &all) && frame(svg, "main", 0, &mn) && frame(svg, "work", 0, &w) &&
	      all.y < mn.y && mn.y < w.y, "inverted: icicle, root at the top");
	check(strstr(svg, ">Icicle Graph - total 150 objects</text>") != NULL, "inverted: default title, objects unit");
	int found = frame(svg, "malloc_site", 0, &a) && frame(svg, "malloc_site", 1, &b2);
	check(found && !strcmp(a.fill, b2.fill), "a name has the same colour wherever it is (%s)", a.fill);
	check(found && (strstr(a.title, "(100 objects, 66.67%)") || strstr(b2.title, "(100 objects, 66.67%)")),
	      "objects tooltip: %s", found ? a.title : "");
	free(svg);
}

static void test_diff(void)
{
	/* value = new, base = old */
	struct flame_stack s[] = {
		mk("main;cache;grow", 300, 100),	/* own +200: the largest change */
		mk("main;cache;steady", 100, 100),	/* unchanged */
		mk("main;parse;shrink", 50, 150),	/* own -100 */
		mk("main;parse;tiny_up", 110, 100),	/* own +10 */
		mk("main;gone", 0, 40),			/* vanished: zero width */
	};
	struct flame_opts o = { .title = "Heap growth", .unit = "bytes", .diff = 1 };
	char *svg = render(s, 5, &o);
	struct rect grow, steady, shrink, tiny, cache, mn;
	int r, g, b;

	check(svg && xml_ok(svg) != 0, "diff: well-formed XML");
	int found = frame(svg, "grow", 0, &grow) && frame(svg, "shrink", 0, &shrink) &&
		frame(svg, "tiny_up", 0, &tiny) && frame(svg, "steady", 0, &steady);
	check(found && !strcmp(grow.fill, "rgb(255,0,0)"), "diff: largest growth is pure red (%s)", grow.fill);
	check(found && rgb(shrink.fill, &r, &g, &b) && b == 255 && r == g &&
	      r >= 125 && r <= 130, "diff: shrink by half the largest change is mid blue (%s)", shrink.fill);
	check(found && rgb(tiny.fill, &r, &g, &b) && r == 255 && g == b &&
	      g > 240 && g < 255, "diff: small growth is faint red (%s)", tiny.fill);
	check(found && !strcmp(steady.fill, "rgb(255,255,255)"),
	      "diff: unchanged frame is white");
	check(frame(svg, "cache", 0, &cache) && !strcmp(cache.fill, "rgb(255,255,255)") &&
	      frame(svg, "main", 0, &mn) && !strcmp(mn.fill, "rgb(255,255,255)"),
	      "diff: frames that changed only through children stay white");
	check(found && fabs(grow.w / steady.w - 3.0) < 0.001, "diff: widths from the new profile");
	check(!frame(svg, "gone", 0, &mn), "diff: a stack with no new value has no box");
	/* +200 of the base's 490, as heapprof diff and pprof -diff_base put it */
	check(found && strstr(grow.title, "; self +200 B, +40.82%)") && strstr(steady.title, "; self unchanged)") &&
	      strstr(shrink.title, "; self -100 B, -20.41%)"),
	      "diff: tooltip carries the change, in percent of the base's total: %s / %s", grow.title, shrink.title);
	check(strstr(svg, ">Heap growth - total 560 B, base 490 B, change +70 B</text>") != NULL,
	      "diff: title has both totals and the change");
	free(svg);

	/* an empty base: the change in bytes, no percent of nothing */
	struct flame_stack fresh = mk("main;new_site", 100, 0);
	svg = render(&fresh, 1, &o);
	check(svg && frame(svg, "new_site", 0, &grow) && strstr(grow.title, "; self +100 B)") &&
	      !strstr(svg, "nan") && !strstr(svg, "inf%"), "diff against an empty base: %s", svg ? grow.title : "");
	free(svg);
}

static void test_edges(void)
{
	struct flame_stack neg = mk("a;b", -5, 0), nan_ = mk("a;c", NAN, 0);
	struct flame_stack two[] = { neg, nan_ };
	char *svg;
	struct rect big, lab;
	FILE *full;
	int rc;

	svg = render(NULL, 0, NULL);
	check(svg && strstr(svg, ">no data</text>") && xml_ok(svg) != 0, "no stacks: an SVG saying no data");
	free(svg);
	svg = render(two, 2, NULL);
	check(svg && strstr(svg, ">no data</text>") && xml_ok(svg) != 0, "negative and NaN values count as 0");
	free(svg);

	/* Pruning: a 1-byte frame next to 1 GiB is far below 0.1 px. */
	struct flame_stack pr[] = { mk("main;huge", 1 << 30, 0), mk("main;speck", 1, 0) };
	struct flame_opts ob = { .unit = "bytes" };
	svg = render(pr, 2, &ob);
	check(svg && !strstr(svg, "speck") && frame(svg, "huge", 0, &big), "frames narrower than 0.1 px are left out");
	check(svg && strstr(svg, "(1.00 GiB, 1,073,741,825 bytes, 100.00%)"), "... but still counted in the totals");
	free(svg);

	/* Labels: cut with "..", never wider than the box. */
	struct flame_stack lb[] = {
		mk("a_rather_long_function_name_that_does_not_fit_in_its_box", 10, 0),
		mk("b", 90, 0),
	};
	svg = render(lb, 2, NULL);
	int found = svg && frame(svg, "a_rather_long_function_name_that_does_not_fit_in_its_box", 0, &lab);
	check(found && strlen(lab.label) > 3 && !strcmp(lab.label + strlen(lab.label) - 2, "..") &&
	      strlen(lab.label) * 12 * 0.59 <= lab.w - 6 + 0.01,
	      "label cut to fit with '..': '%s' in %.1f px", lab.label, lab.w);
	free(svg);

	/* Bytes that are not valid XML text must not break the file. */
	struct flame_stack bad[] = { mk("ok;bad\x01\xff\xc3(name\xed\xa0\x80\"'", 5, 0), mk("ok;caf\xc3\xa9 \xf0\x9f\x94\xa5", 5, 0) };
	svg = render(bad, 2, NULL);
	check(svg && xml_ok(svg) != 0 && strstr(svg, "caf\xc3\xa9 \xf0\x9f\x94\xa5"),
	      "control bytes and invalid UTF-8 replaced, valid UTF-8 kept");
	free(svg);

	/* NULL frames and interned vs. copied names. */
	const char *f1[] = { "main", NULL }, *f2[] = { "main", NULL };
	char main2[] = "main";
	const char *f3[] = { main2, "x" };
	struct flame_stack nf[] = { { f1, 2, 1, 0 }, { f2, 2, 1, 0 }, { f3, 2, 1, 0 } };
	svg = render(nf, 3, NULL);
	check(svg && count(svg, "<g><title>main (") == 1 && count(svg, "<g><title>[unknown] (3") == 0 &&
	      count(svg, "<g><title>[unknown] (2") == 1, "equal names merge whatever their address; NULL is [unknown]");
	free(svg);

	errno = 0;
	check(flame_write_svg(NULL, lb, 2, NULL) == -1 && errno == EINVAL, "NULL out: -1, EINVAL");
	errno = 0;
	check(flame_write_svg(stdout, NULL, 3, NULL) == -1 && errno == EINVAL, "NULL stacks: -1, EINVAL");
	if ((full = fopen("/dev/full", "w"))) {
		errno = 0;
		rc = flame_write_svg(full, lb, 2, NULL);
		check(rc == -1 && errno == ENOSPC, "write error reported: -1, errno %d (ENOSPC)", errno);
		fclose(full);
	}
}

static void test_big(void)
{
	enum { DEEP = 500, MANY = 100000 };
	static const char *deep[DEEP];
	static char names[DEEP][16];
	struct flame_stack d[2];
	char *svg;
	struct rect top;
	char expect[96];
	int found;

	for (int i = 0; i < DEEP; i++) {
		snprintf(names[i], sizeof(names[i]), "f%d", i);
		deep[i] = names[i];
	}
	d[0] = (struct flame_stack){ deep, DEEP, 10, 0 };
	d[1] = (struct flame_stack){ deep, DEEP - 1, 5, 0 };
	svg = render(d, 2, NULL);
	snprintf(expect, sizeof(expect), "height=\"%d\"", (DEEP + 1) * 16 + 36 + 34);
	found = svg && frame(svg, "f499", 0, &top);
	check(found && xml_ok(svg) != 0 && strstr(svg, expect) && top.y == 37,
	      "500-frame stack: all levels drawn, %s", expect);
	free(svg);

	/* 100k stacks over a pool of 2000 names, depth 5-40. */
	struct flame_stack *many = calloc(MANY, sizeof(*many));
	const char **fr = calloc((size_t)MANY * 40, sizeof(*fr));
	static char pool[2000][24];
	unsigned seed = 12345;
	double sum = 0, t0;

	for (int i = 0; i < 2000; i++)
		snprintf(pool[i], sizeof(pool[i]), "ns::func_%d", i);
	for (int i = 0; i < MANY; i++) {
		seed = seed * 1103515245 + 12345;
		many[i].frames = fr + (size_t)i * 40;
		many[i].nframes = 5 + (seed >> 16) % 36;
		for (int k = 0; k < many[i].nframes; k++) {
			seed = seed * 1103515245 + 12345;
			many[i].frames[k] = pool[(seed >> 16) % (unsigned)(50 * (k + 1))];
		}
		many[i].value = 1 + (seed >> 8) % 100000;
		sum += many[i].value;
	}
	t0 = now();
	svg = render(many, MANY, NULL);
	t0 = now() - t0;
	check(svg && t0 < 5.0, "100k stacks rendered in %.2f s", t0);
	snprintf(expect, sizeof(expect), "<g><title>all (%s, 100.00%%)", commas((long long)sum));
	check(svg && strstr(svg, expect), "100k stacks: root holds the exact total %s", expect + 10);
	check(svg && xml_ok(svg) != 0 && strlen(svg) < 20u << 20, "100k stacks: well-formed, %zu bytes", svg ? strlen(svg) : 0);
	free(svg);
	free(fr);
	free(many);
}

int main(void)
{
	test_basic();
	test_inverted_and_stable_colour();
	test_diff();
	test_edges();
	test_big();
	printf("# test_flame: %d failed\n", failed);
	return failed ? 1 : 0;
}
