/*
 * flame.c - the interactive SVG flame graph behind `heapprof flame`.
 *
 * Stacks are sorted root first, frame by frame, so stacks that share a
 * prefix end up next to each other; one left-to-right pass then merges them
 * into a call tree in which every node covers one contiguous range
 * [x0, x0 + v) of the value axis (the scheme of flamegraph.pl, written anew).
 * Nodes are kept in preorder together with the index just past their
 * subtree, so dropping a frame too narrow to see drops its subtree in one
 * jump.  The SVG holds one <g> per frame (a <title> tooltip, a <rect>, a
 * label) and a static script for hover, click-to-zoom and regex search.
 * The script reads its geometry back from the rects and the frame names
 * from the titles, so no profile data is ever written into JavaScript and
 * C and the script cannot disagree about where a frame is.
 *
 * There is no static state: each call works on its own fg_ctx, so the
 * function is reentrant.
 */
#include "flame.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Geometry, in px.  These are flamegraph.pl's defaults, which users know. */
#define FG_WIDTH	1200
#define FG_XPAD		10
#define FG_FONTSIZE	12
#define FG_FRAMEH	16	/* one row; the rect is 1 px shorter */
#define FG_MINWIDTH	0.1	/* narrower frames are not drawn */
#define FG_CHARW	(FG_FONTSIZE * 0.59)	/* average glyph width */
#define FG_FULLW	(FG_WIDTH - 2 * FG_XPAD)
#define FG_BOTPAD	(2 * FG_FONTSIZE + 10)	/* the details line */
#define FG_MATCH	"rgb(230,0,230)"	/* search hits */

/* One merged call-tree node. */
struct fg_node {
	const char *name;
	size_t end;		/* index just past this node's subtree */
	int depth;		/* 0 = the "all" root */
	double x0, v, self;	/* value axis: [x0, x0 + v); own value */
	double bself;		/* own value in the base profile (diff) */
};

struct fg_ctx {
	FILE *out;
	struct flame_opts o;
	int bytes;		/* unit is "bytes": print B/KiB/MiB/GiB */
	struct fg_node *nodes;
	size_t nnodes, cap;
	double total, btotal;	/* sum of value / base over all stacks */
	double scale;		/* px per value unit */
	double maxdelta;	/* largest |self change| of a drawn frame */
	int maxdepth;		/* deepest drawn frame */
	int toppad, height;
};

/* Frame name as drawn; NULL frames get a stable placeholder. */
static const char *fg_name(const char *s)
{
	return s ? s : "[unknown]";
}

/* Value as counted: negative, NaN and infinite values count as 0. */
static double fg_val(double v)
{
	return isfinite(v) && v > 0 ? v : 0;
}

static int fg_nframes(const struct flame_stack *s)
{
	return s->frames && s->nframes > 0 ? s->nframes : 0;
}

/* qsort order of stacks: frame by frame (byte order), a prefix first. */
static int fg_cmp_stack(const void *pa, const void *pb)
{
	const struct flame_stack *a = *(const struct flame_stack *const *)pa;
	const struct flame_stack *b = *(const struct flame_stack *const *)pb;
	int na = fg_nframes(a), nb = fg_nframes(b), n = na < nb ? na : nb;

	for (int i = 0; i < n; i++) {
		if (a->frames[i] == b->frames[i])
			continue;	/* interned names: no strcmp */
		int c = strcmp(fg_name(a->frames[i]), fg_name(b->frames[i]));
		if (c)
			return c;
	}
	return (na > nb) - (na < nb);
}

/* Number of leading frames a and b share. */
static int fg_common(const struct flame_stack *a, const struct flame_stack *b)
{
	int na = fg_nframes(a), nb = fg_nframes(b), n = na < nb ? na : nb, i;

	for (i = 0; i < n; i++)
		if (a->frames[i] != b->frames[i] &&
		    strcmp(fg_name(a->frames[i]), fg_name(b->frames[i])))
			break;
	return i;
}

/* Appends a node opened at cursor x0; returns its index or -1 (ENOMEM). */
static long fg_open(struct fg_ctx *c, const char *name, int depth, double x0)
{
	if (c->nnodes == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		struct fg_node *p;

		if (cap > SIZE_MAX / sizeof(*p) || !(p = realloc(c->nodes, cap * sizeof(*p)))) {
			errno = ENOMEM;
			return -1;
		}
		c->nodes = p;
		c->cap = cap;
	}
	c->nodes[c->nnodes] = (struct fg_node){ .name = name, .depth = depth, .x0 = x0 };
	return (long)c->nnodes++;
}

/* Ends node i at cursor x: its width covers every stack since it opened. */
static void fg_close(struct fg_ctx *c, size_t i, double x)
{
	c->nodes[i].v = x - c->nodes[i].x0;
	c->nodes[i].end = c->nnodes;
}

/*
 * Merges the stacks into c->nodes (preorder) and sets the totals.
 * Returns 0 or -1 with errno = ENOMEM.  Cost: the sort, plus O(frames).
 */
static int fg_build(struct fg_ctx *c, const struct flame_stack *stacks, size_t n)
{
	const struct flame_stack **order = NULL, *prev = NULL;
	size_t m = 0, *path = NULL, plen = 0;
	int maxf = 0, rc = -1;
	double x = 0, b = 0;

	if (n && !(order = malloc(n * sizeof(*order))))
		goto nomem;
	/* Stacks with nothing to show would only make zero-width nodes. */
	for (size_t i = 0; i < n; i++) {
		if (fg_val(stacks[i].value) == 0 && !(c->o.diff && fg_val(stacks[i].base) > 0))
			continue;
		order[m++] = &stacks[i];
		if (fg_nframes(&stacks[i]) > maxf)
			maxf = fg_nframes(&stacks[i]);
	}
	if (m > 1)
		qsort(order, m, sizeof(*order), fg_cmp_stack);
	if (!(path = malloc(((size_t)maxf + 1) * sizeof(*path))))
		goto nomem;
	if (fg_open(c, "all", 0, 0) < 0)
		goto out;
	path[plen++] = 0;

	for (size_t k = 0; k < m; k++) {
		const struct flame_stack *s = order[k];
		int nf = fg_nframes(s), common = prev ? fg_common(prev, s) : 0;
		double v = fg_val(s->value), bv = c->o.diff ? fg_val(s->base) : 0;

		/* Close the previous stack's nodes deeper than the shared prefix. */
		while (plen > (size_t)common + 1)
			fg_close(c, path[--plen], x);
		for (int i = common; i < nf; i++) {
			long id = fg_open(c, fg_name(s->frames[i]), i + 1, x);
			if (id < 0)
				goto out;
			path[plen++] = (size_t)id;
		}
		c->nodes[path[plen - 1]].self += v;
		c->nodes[path[plen - 1]].bself += bv;
		x += v;
		b += bv;
		prev = s;
	}
	while (plen)
		fg_close(c, path[--plen], x);
	c->total = x;
	c->btotal = b;
	rc = 0;
	goto out;
nomem:
	errno = ENOMEM;
out:
	free(order);
	free(path);
	return rc;
}

/* A frame's own change; float noise of equal inputs counts as none. */
static double fg_delta(const struct fg_node *d)
{
	double delta = d->self - d->bself;

	return fabs(delta) <= 1e-9 * fmax(d->self, d->bself) ? 0 : delta;
}

/* Finds the deepest drawn frame and the largest drawn change.  O(nodes). */
static void fg_measure(struct fg_ctx *c)
{
	for (size_t i = 0; i < c->nnodes;) {
		const struct fg_node *d = &c->nodes[i];

		if (d->v * c->scale < FG_MINWIDTH) {
			i = d->end;	/* its children are narrower still */
			continue;
		}
		if (d->depth > c->maxdepth)
			c->maxdepth = d->depth;
		if (c->o.diff && fabs(fg_delta(d)) > c->maxdelta)
			c->maxdelta = fabs(fg_delta(d));
		i++;
	}
}

/*
 * Length of the valid UTF-8 sequence at p that XML 1.0 accepts (1-4), or 0
 * for a byte that must be replaced (control characters, stray or overlong
 * bytes, surrogates, U+FFFE/U+FFFF).  Stops at the NUL terminator because
 * every check of a later byte comes after the check that it is a
 * continuation byte.
 */
static int fg_u8len(const unsigned char *p)
{
	unsigned c = p[0];

	if (c < 0x80)
		return c >= 0x20 ? 1 : 0;
	if (c < 0xc2)
		return 0;
	if ((p[1] & 0xc0) != 0x80)
		return 0;
	if (c < 0xe0)
		return 2;
	if ((p[2] & 0xc0) != 0x80)
		return 0;
	if (c < 0xf0) {
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0) ||
		    (c == 0xef && p[1] == 0xbf && p[2] >= 0xbe))
			return 0;
		return 3;
	}
	if (c > 0xf4 || (p[3] & 0xc0) != 0x80 || (c == 0xf0 && p[1] < 0x90) ||
	    (c == 0xf4 && p[1] >= 0x90))
		return 0;
	return 4;
}

/* Number of characters s shows as (each bad byte is one '?'). */
static size_t fg_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	while (*p) {
		int l = fg_u8len(p);
		p += l ? l : 1;
		n++;
	}
	return n;
}

/* Writes at most max characters of s as XML text: escaped, valid UTF-8. */
static void fg_put_text(FILE *f, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t n = 0; *p && n < max; n++) {
		int l = fg_u8len(p);

		switch (l ? *p : 0) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case 0: putc('?', f); l = 1; break;
		default: fwrite(p, 1, (size_t)l, f); break;
		}
		p += l;
	}
}

/* v rounded to a whole number with thousands separators: "1,572,864". */
static void fg_commas(char *buf, size_t sz, double v)
{
	char tmp[48];
	int len, j = 0, neg = v <= -0.5;

	if (fabs(v) >= 1e21) {	/* no one reads 22 digits; keep it short */
		snprintf(buf, sz, "%.3g", v);
		return;
	}
	len = snprintf(tmp, sizeof(tmp), "%.0f", fabs(v));
	if (neg && (size_t)j + 1 < sz)
		buf[j++] = '-';
	for (int i = 0; i < len && (size_t)j + 1 < sz; i++) {
		if (i && (len - i) % 3 == 0 && (size_t)j + 2 < sz)
			buf[j++] = ',';
		buf[j++] = tmp[i];
	}
	buf[j] = 0;
}

/* v >= 0 bytes in binary units: "512 B", "1.50 KiB", "12.3 MiB", "512 GiB". */
static void fg_human(char *buf, size_t sz, double v)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	int i = 0;

	while (v >= 1024 && i < 6) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, sz, "%.0f B", v);
	else
		snprintf(buf, sz, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, unit[i]);
}

/* The unit after a plain number (escaped: it comes from the caller). */
static void fg_put_unit(const struct fg_ctx *c)
{
	if (c->o.unit) {
		putc(' ', c->out);
		fg_put_text(c->out, c->o.unit, SIZE_MAX);
	}
}

/* Short amount for titles: "12.3 MiB", "1,234 objects", "1,234". */
static void fg_put_short(const struct fg_ctx *c, double v)
{
	char num[48];

	if (c->bytes) {
		fg_human(num, sizeof(num), fabs(v));
		fputs(num, c->out);
	} else {
		fg_commas(num, sizeof(num), fabs(v));
		fputs(num, c->out);
		fg_put_unit(c);
	}
}

/* Exact amount for tooltips: "1.50 MiB, 1,572,864 bytes", "512 bytes". */
static void fg_put_exact(const struct fg_ctx *c, double v)
{
	char num[48], h[32];

	fg_commas(num, sizeof(num), v);
	if (c->bytes && v >= 1024) {
		fg_human(h, sizeof(h), v);
		fprintf(c->out, "%s, %s", h, num);
	} else {
		fputs(num, c->out);
	}
	fg_put_unit(c);
}

/* A change with its sign: "+512.0 KiB", "-3 objects". */
static void fg_put_signed(const struct fg_ctx *c, double d)
{
	putc(d < 0 ? '-' : '+', c->out);
	fg_put_short(c, d);
}

/* Stable per-name hash (FNV-1a, then a mixer so every bit counts). */
static uint32_t fg_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/*
 * Frame colour.  Normal: the memory palette (no red, green 190-240, blue
 * 0-210) with the shade from the name, so a function keeps its colour
 * across graphs.  Diff: white, shading to pure red (grew) or pure blue
 * (shrank) as |own change| approaches the largest change in the graph.
 */
static void fg_color(const struct fg_ctx *c, const struct fg_node *d, char *buf, size_t sz)
{
	if (c->o.diff) {
		double delta = fg_delta(d);
		int k = c->maxdelta > 0 ? (int)lround(255 * (1 - fabs(delta) / c->maxdelta)) : 255;

		if (delta > 0)
			snprintf(buf, sz, "rgb(255,%d,%d)", k, k);
		else if (delta < 0)
			snprintf(buf, sz, "rgb(%d,%d,255)", k, k);
		else
			snprintf(buf, sz, "rgb(255,255,255)");
		return;
	}
	uint32_t h = fg_hash(d->name);
	snprintf(buf, sz, "rgb(0,%d,%d)", 190 + (int)((h & 0xffff) * 50 / 0xffff),
		 (int)((h >> 16) * 210 / 0xffff));
}

/*
 * The script.  Per-file numbers come first, from C; everything after is
 * static.  Frame data is read from the DOM: a frame's name is its <title>
 * up to the last " (" (the suffix C writes never contains one).
 */
static const char fg_script[] =
	"var fgFrames = [], fgZoomed = null, fgTerm = null, fgIgnoreCase = false, fgReady = false;\n"
	"var fgDetails, fgUnzoomBtn, fgSearchBtn, fgIcBtn, fgMatched;\n"
	"var FG_CHARW = FG_FONTSIZE * 0.59, FG_EPS = 0.02;\n"
	"function init(evt) {\n"
	"	fgDetails = document.getElementById(\"details\").firstChild;\n"
	"	fgUnzoomBtn = document.getElementById(\"unzoom\");\n"
	"	fgSearchBtn = document.getElementById(\"search\");\n"
	"	fgIcBtn = document.getElementById(\"ignorecase\");\n"
	"	fgMatched = document.getElementById(\"matched\");\n"
	"	var box = document.getElementById(\"frames\"), gs = box.getElementsByTagName(\"g\");\n"
	"	for (var i = 0; i < gs.length; i++) {\n"
	"		var g = gs[i], r = g.getElementsByTagName(\"rect\")[0];\n"
	"		var title = g.getElementsByTagName(\"title\")[0].textContent, cut = title.lastIndexOf(\" (\");\n"
	"		g.fgIndex = i;\n"
	"		fgFrames.push({ g: g, r: r, t: g.getElementsByTagName(\"text\")[0], title: title,\n"
	"			name: cut >= 0 ? title.slice(0, cut) : title, fill: r.getAttribute(\"fill\"),\n"
	"			x: parseFloat(r.getAttribute(\"x\")), y: parseFloat(r.getAttribute(\"y\")),\n"
	"			w: parseFloat(r.getAttribute(\"width\")) });\n"
	"	}\n"
	"	box.addEventListener(\"click\", function (e) { var f = fgFrameOf(e.target); if (f) zoom(f); });\n"
	"	box.addEventListener(\"mouseover\", function (e) {\n"
	"		var f = fgFrameOf(e.target); if (f) fgDetails.nodeValue = \"Function: \" + f.title; });\n"
	"	box.addEventListener(\"mouseout\", function (e) {\n"
	"		if (fgFrameOf(e.target)) fgDetails.nodeValue = FG_DETAILS; });\n"
	"	fgUnzoomBtn.addEventListener(\"click\", function () { unzoom(); });\n"
	"	fgSearchBtn.addEventListener(\"click\", function () {\n"
	"		if (fgTerm === null) searchPrompt(); else resetSearch(); });\n"
	"	fgIcBtn.addEventListener(\"click\", function () { toggleIgnoreCase(); });\n"
	"	document.addEventListener(\"keydown\", function (e) {\n"
	"		var k = e.key ? e.key.toLowerCase() : \"\";\n"
	"		if (e.key === \"F3\" || ((e.ctrlKey || e.metaKey) && k === \"f\")) {\n"
	"			e.preventDefault(); searchPrompt();\n"
	"		} else if ((e.ctrlKey || e.metaKey) && k === \"i\") {\n"
	"			e.preventDefault(); toggleIgnoreCase();\n"
	"		} else if (e.key === \"Escape\") {\n"
	"			unzoom();\n"
	"		}\n"
	"	});\n"
	"	fgReady = true;\n"
	"}\n"
	"function fgFrameOf(n) {\n"
	"	for (; n && n.nodeType === 1; n = n.parentNode)\n"
	"		if (n.fgIndex !== undefined) return fgFrames[n.fgIndex];\n"
	"	return null;\n"
	"}\n"
	/* Same rule as fg_label() in C: (w - 6) px of room, ".." when cut. */
	"function fgFit(name, w) {\n"
	"	var n = Math.floor((w - 6) / FG_CHARW);\n"
	"	if (n < 3) return \"\";\n"
	"	return name.length <= n ? name : name.slice(0, n - 2) + \"..\";\n"
	"}\n"
	"function fgPlace(f, x, w) {\n"
	"	f.r.setAttribute(\"x\", x.toFixed(2));\n"
	"	f.r.setAttribute(\"width\", w.toFixed(2));\n"
	"	f.t.setAttribute(\"x\", (x + 3).toFixed(2));\n"
	"	f.t.textContent = fgFit(f.name, w);\n"
	"}\n"
	/* Descendants are further from the root: above it, or below when inverted. */
	"function fgOutward(e, f) { return FG_INVERTED ? e.y > f.y : e.y < f.y; }\n"
	"function zoom(f) {\n"
	"	if (typeof f === \"number\") f = fgFrames[f];\n"
	"	else if (f && f.fgIndex !== undefined) f = fgFrames[f.fgIndex];\n"
	"	if (!f) return;\n"
	"	if (f.w >= FG_FULLW - FG_EPS) { unzoom(); return; }\n"
	"	var x0 = f.x, x1 = f.x + f.w, ratio = FG_FULLW / f.w;\n"
	"	for (var i = 0; i < fgFrames.length; i++) {\n"
	"		var e = fgFrames[i], cl = e.g.classList;\n"
	"		if (e === f || (fgOutward(e, f) && e.x >= x0 - FG_EPS && e.x + e.w <= x1 + FG_EPS)) {\n"
	"			cl.remove(\"hide\"); cl.remove(\"parent\");\n"
	"			fgPlace(e, FG_XPAD + (e.x - x0) * ratio, e.w * ratio);\n"
	"		} else if (fgOutward(f, e) && e.x <= x0 + FG_EPS && e.x + e.w >= x1 - FG_EPS) {\n"
	"			cl.remove(\"hide\"); cl.add(\"parent\");\n"
	"			fgPlace(e, FG_XPAD, FG_FULLW);\n"
	"		} else {\n"
	"			cl.add(\"hide\");\n"
	"		}\n"
	"	}\n"
	"	fgZoomed = f;\n"
	"	fgUnzoomBtn.classList.remove(\"hide\");\n"
	"}\n"
	"function unzoom() {\n"
	"	for (var i = 0; i < fgFrames.length; i++) {\n"
	"		var e = fgFrames[i];\n"
	"		e.g.classList.remove(\"hide\"); e.g.classList.remove(\"parent\");\n"
	"		if (fgZoomed) fgPlace(e, e.x, e.w);\n"
	"	}\n"
	"	fgZoomed = null;\n"
	"	fgUnzoomBtn.classList.add(\"hide\");\n"
	"}\n"
	"function searchPrompt() {\n"
	"	var t = prompt(\"Enter a search term (regexp allowed, eg: ^json_)\", fgTerm === null ? \"\" : fgTerm);\n"
	"	if (t !== null && t !== \"\") search(t);\n"
	"}\n"
	/*
	 * Matched share without double counting: hits sorted by x (wider first
	 * on ties), and a hit inside the last counted one is its descendant.
	 */
	"function search(term) {\n"
	"	var re;\n"
	"	try { re = new RegExp(term, fgIgnoreCase ? \"i\" : \"\"); }\n"
	"	catch (err) { fgShowMatched(\"Bad regexp: \" + term); return -1; }\n"
	"	fgTerm = term;\n"
	"	var hits = [], sum = 0, end = -Infinity;\n"
	"	for (var i = 0; i < fgFrames.length; i++) {\n"
	"		var f = fgFrames[i];\n"
	"		if (re.test(f.name)) { f.r.setAttribute(\"fill\", FG_MATCH); hits.push(f); }\n"
	"		else f.r.setAttribute(\"fill\", f.fill);\n"
	"	}\n"
	"	hits.sort(function (a, b) { return a.x - b.x || b.w - a.w; });\n"
	"	for (var j = 0; j < hits.length; j++) {\n"
	"		if (hits[j].x + hits[j].w <= end + FG_EPS) continue;\n"
	"		sum += hits[j].w; end = hits[j].x + hits[j].w;\n"
	"	}\n"
	"	var pct = Math.min(100, 100 * sum / FG_FULLW);\n"
	"	fgShowMatched(\"Matched: \" + pct.toFixed(1) + \"%\");\n"
	"	fgSearchBtn.firstChild.nodeValue = \"Reset Search\";\n"
	"	fgSearchBtn.classList.add(\"on\");\n"
	"	return pct;\n"
	"}\n"
	"function fgShowMatched(s) { fgMatched.firstChild.nodeValue = s; fgMatched.classList.remove(\"hide\"); }\n"
	"function resetSearch() {\n"
	"	for (var i = 0; i < fgFrames.length; i++) fgFrames[i].r.setAttribute(\"fill\", fgFrames[i].fill);\n"
	"	fgTerm = null;\n"
	"	fgMatched.classList.add(\"hide\");\n"
	"	fgSearchBtn.firstChild.nodeValue = \"Search\";\n"
	"	fgSearchBtn.classList.remove(\"on\");\n"
	"}\n"
	"function toggleIgnoreCase() {\n"
	"	fgIgnoreCase = !fgIgnoreCase;\n"
	"	fgIcBtn.classList.toggle(\"on\", fgIgnoreCase);\n"
	"	if (fgTerm !== null) search(fgTerm);\n"
	"}\n";

static const char fg_style[] =
	"text { font-family: Verdana, \"DejaVu Sans\", sans-serif; font-size: 12px; fill: rgb(0,0,0); }\n"
	"#title { text-anchor: middle; font-size: 17px; }\n"
	"#subtitle { text-anchor: middle; fill: rgb(90,90,90); }\n"
	"#matched, #ignorecase, #search { text-anchor: end; }\n"
	"#search, #ignorecase { opacity: 0.5; cursor: pointer; }\n"
	"#search:hover, #ignorecase:hover, #search.on, #ignorecase.on { opacity: 1; }\n"
	"#unzoom { cursor: pointer; }\n"
	"#frames g { cursor: pointer; }\n"
	"#frames text { pointer-events: none; }\n"
	"#frames g:hover > rect { stroke: rgb(0,0,0); stroke-width: 0.5; }\n"
	"#frames g.parent { opacity: 0.5; }\n"
	".hide { display: none; }\n";

/* The title line: the caller's title, then the total (and the change). */
static void fg_put_title(const struct fg_ctx *c, double x)
{
	const char *t = c->o.title ? c->o.title
		: c->o.diff ? "Differential Flame Graph" : c->o.inverted ? "Icicle Graph" : "Flame Graph";

	fprintf(c->out, "<text id=\"title\" x=\"%.1f\" y=\"24\">", x);
	fg_put_text(c->out, t, SIZE_MAX);
	fputs(*t ? " - total " : "total ", c->out);     /* --title "": the total alone */
	fg_put_short(c, c->total);
	if (c->o.diff) {
		fputs(", base ", c->out);
		fg_put_short(c, c->btotal);
		fputs(", change ", c->out);
		fg_put_signed(c, c->total - c->btotal);
	}
	fputs("</text>\n", c->out);
	if (c->o.subtitle) {
		fprintf(c->out, "<text id=\"subtitle\" x=\"%.1f\" y=\"%d\">", x, 24 + FG_FONTSIZE * 3 / 2);
		fg_put_text(c->out, c->o.subtitle, SIZE_MAX);
		fputs("</text>\n", c->out);
	}
}

/* The whole file when there is nothing to draw. */
static void fg_put_empty(const struct fg_ctx *c)
{
	int h = c->toppad + 3 * FG_FONTSIZE;

	fprintf(c->out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n"
		"<style type=\"text/css\"><![CDATA[\n%s]]></style>\n"
		"<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"rgb(238,238,238)\"/>\n",
		FG_WIDTH, h, FG_WIDTH, h, fg_style);
	fg_put_title(c, FG_WIDTH / 2.0);
	fprintf(c->out, "<text id=\"nodata\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">no data</text>\n</svg>\n",
		FG_WIDTH / 2.0, c->toppad + FG_FONTSIZE);
}

static void fg_put_header(const struct fg_ctx *c)
{
	/* Memory: flamegraph.pl's green mem background; diff: grey, so white frames show. */
	const char *g0 = c->o.diff ? "#f4f4f4" : "#eef2ee", *g1 = c->o.diff ? "#d8d8d8" : "#e0ffe0";

	fprintf(c->out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" onload=\"init(evt)\" "
		"xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n"
		"<!-- heapprof flame graph: %zu tree nodes, %d levels; click to zoom, Ctrl-F to search -->\n"
		"<defs><linearGradient id=\"background\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
		"<stop stop-color=\"%s\" offset=\"5%%\"/><stop stop-color=\"%s\" offset=\"95%%\"/>"
		"</linearGradient></defs>\n"
		"<style type=\"text/css\"><![CDATA[\n%s]]></style>\n"
		"<script type=\"text/ecmascript\"><![CDATA[\n"
		"\"use strict\";\n"
		"var FG_FONTSIZE = %d, FG_XPAD = %d, FG_FULLW = %d, FG_INVERTED = %d;\n"
		"var FG_MATCH = \"%s\";\n"
		"var FG_DETAILS = \"%s\";\n"
		"%s]]></script>\n"
		"<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"url(#background)\"/>\n",
		FG_WIDTH, c->height, FG_WIDTH, c->height, c->nnodes, c->maxdepth + 1, g0, g1, fg_style,
		FG_FONTSIZE, FG_XPAD, FG_FULLW, c->o.inverted ? 1 : 0, FG_MATCH,
		c->o.diff ? "Red: own value grew, blue: shrank, white: unchanged; widths: new profile" : " ",
		fg_script, FG_WIDTH, c->height);
	fg_put_title(c, FG_WIDTH / 2.0);
	fprintf(c->out,
		"<text id=\"details\" x=\"%d\" y=\"%d\">%s</text>\n"
		"<text id=\"unzoom\" class=\"hide\" x=\"%d\" y=\"24\">Reset Zoom</text>\n"
		"<text id=\"search\" x=\"%d\" y=\"24\">Search</text>\n"
		"<text id=\"ignorecase\" x=\"%d\" y=\"24\">ic</text>\n"
		"<text id=\"matched\" class=\"hide\" x=\"%d\" y=\"%d\"> </text>\n"
		"<g id=\"frames\">\n",
		FG_XPAD, c->height - FG_BOTPAD / 2,
		c->o.diff ? "Red: own value grew, blue: shrank, white: unchanged; widths: new profile" : " ",
		FG_XPAD, FG_WIDTH - FG_XPAD - 30, FG_WIDTH - FG_XPAD, FG_WIDTH - FG_XPAD,
		c->height - FG_BOTPAD / 2);
}

/* Label text: as many characters as fit in w px, ".." where cut. */
static void fg_label(FILE *f, const char *name, double w)
{
	double room = floor((w - 6) / FG_CHARW);
	size_t n, len;

	if (room < 3)
		return;
	n = (size_t)room;
	len = fg_chars(name);
	if (len <= n) {
		fg_put_text(f, name, len);
	} else {
		fg_put_text(f, name, n - 2);
		fputs("..", f);
	}
}

static void fg_put_frame(const struct fg_ctx *c, const struct fg_node *d)
{
	double x = FG_XPAD + d->x0 * c->scale, w = d->v * c->scale;
	int y = c->o.inverted ? c->toppad + d->depth * FG_FRAMEH
		: c->height - FG_BOTPAD - (d->depth + 1) * FG_FRAMEH + 1;
	char fill[32];

	fg_color(c, d, fill, sizeof(fill));
	fputs("<g><title>", c->out);
	fg_put_text(c->out, d->name, SIZE_MAX);
	fputs(" (", c->out);
	fg_put_exact(c, d->v);
	fprintf(c->out, ", %.2f%%", 100 * d->v / c->total);
	if (c->o.diff) {
		double delta = fg_delta(d);

		if (delta == 0) {
			fputs("; self unchanged", c->out);
		} else {
			fputs("; self ", c->out);
			fg_put_signed(c, delta);
			/* of BASE's total, as heapprof diff and pprof -diff_base
			 * give a change (of FILE's, a shrink could pass -100 %) */
			if (c->btotal > 0)
				fprintf(c->out, ", %+.2f%%", 100 * delta / c->btotal);
		}
	}
	fprintf(c->out, ")</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\" rx=\"2\" ry=\"2\"/>"
		"<text x=\"%.2f\" y=\"%d\">", x, y, w, FG_FRAMEH - 1, fill, x + 3, y + 11);
	fg_label(c->out, d->name, w);
	fputs("</text></g>\n", c->out);
}

int flame_write_svg(FILE *out, const struct flame_stack *stacks, size_t n, const struct flame_opts *opts)
{
	struct fg_ctx c = { .out = out };
	int err = 0;

	if (!out || (n && !stacks)) {
		errno = EINVAL;
		return -1;
	}
	if (opts)
		c.o = *opts;
	if (c.o.unit && !*c.o.unit)
		c.o.unit = NULL;
	errno = 0;	/* so a failed write below is not blamed on an old errno */
	c.bytes = c.o.unit && !strcmp(c.o.unit, "bytes");
	c.toppad = 3 * FG_FONTSIZE + (c.o.subtitle ? FG_FONTSIZE * 3 / 2 : 0);
	if (fg_build(&c, stacks, n) < 0) {
		free(c.nodes);
		return -1;
	}
	if (!(c.total > 0)) {
		fg_put_empty(&c);
	} else {
		c.scale = FG_FULLW / c.total;
		fg_measure(&c);
		c.height = (c.maxdepth + 1) * FG_FRAMEH + c.toppad + FG_BOTPAD;
		fg_put_header(&c);
		/* Sticky error: after the first failed write, stop writing. */
		for (size_t i = 0; i < c.nnodes && !ferror(out);) {
			const struct fg_node *d = &c.nodes[i];

			if (d->v * c.scale < FG_MINWIDTH) {
				i = d->end;
				continue;
			}
			fg_put_frame(&c, d);
			i++;
		}
		fputs("</g>\n</svg>\n", out);
	}
	if (ferror(out))
		err = errno ? errno : EIO;
	if (fflush(out) != 0 && !err)
		err = errno ? errno : EIO;
	free(c.nodes);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}
