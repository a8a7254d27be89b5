/*
 * stacks.c - two views of a profile's samples that several commands share.
 *
 * Stacks: each sample becomes one root-first list of frame names, with
 * inlined frames expanded (a Location's Line entries are innermost first, so
 * they are walked last to first).  Names are interned, so equal frames are
 * pointer-equal; `folded` prints the stacks, `flame` hands them to the SVG
 * renderer, and `flame --base` fills value and base from two profiles.
 *
 * Function totals: the numbers `pprof -top` prints, computed the same way
 * (vendored pprof internal/graph newGraph): a sample's value is added to the
 * flat total of its leaf frame and to the cum total of every distinct frame
 * in its stack once, however often recursion repeats it.  `top`, `diff` and
 * the fuzz target use them.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- stacks ---- */

/* Interned names of the frames of each location, root-first (outer
 * function first, then what was inlined into it). */
struct locframes {
	const char **names;     /* all locations' names back to back */
	size_t *first;          /* location i's names are names[first[i] .. first[i+1]) */
};

static int locframes_build(struct locframes *lf, struct strmap *names, const struct pprof_profile *p)
{
	size_t total = 0;
	char buf[CLI_NAME_MAX];
	for (size_t i = 0; i < p->nlocation; i++)
		total += p->location[i].nline ? p->location[i].nline : 1;
	lf->names = malloc((total ? total : 1) * sizeof *lf->names);
	lf->first = malloc((p->nlocation + 1) * sizeof *lf->first);
	if (!lf->names || !lf->first)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < p->nlocation; i++) {
		const struct pprof_location *l = &p->location[i];
		lf->first[i] = k;
		size_t n = l->nline ? l->nline : 1;
		for (size_t j = n; j-- > 0;) {
			int64_t id = strmap_put(names, cli_frame_name(p, l, j, buf, sizeof buf), NULL);
			if (id < 0)
				return -1;
			lf->names[k++] = names->keys[id];
		}
	}
	lf->first[p->nlocation] = k;
	return 0;
}

static void locframes_free(struct locframes *lf)
{
	free(lf->names);
	free(lf->first);
}

/* How many frames sample sm expands to, location i's being
 * first[i] .. first[i + 1] (locframes and fnodes_build index them alike). */
static size_t sample_nframes(const size_t *first, const struct pprof_sample *sm)
{
	size_t nf = 0;
	for (size_t j = 0; j < sm->nloc; j++)
		nf += first[sm->loc[j] + 1] - first[sm->loc[j]];
	return nf;
}

/* The nf frames of sample sm into fr, root first, cut to CLI_MAX_FRAMES:
 * the leaf side is kept, the root side is one frame naming how many went.
 * Returns 0, or -1 when out of memory. */
static int sample_frames(struct stackset *s, const struct locframes *lf, const struct pprof_sample *sm,
			 size_t nf, const char **fr)
{
	size_t skip = nf > CLI_MAX_FRAMES ? nf - (CLI_MAX_FRAMES - 1) : 0, k = 0;
	if (skip) {
		char name[64];
		snprintf(name, sizeof name, "[%zu frames cut]", skip);
		int64_t id = strmap_put(&s->names, name, NULL);
		if (id < 0)
			return -1;
		fr[k++] = s->names.keys[id];
	}
	for (size_t j = sm->nloc; j-- > 0;)
		for (size_t x = lf->first[sm->loc[j]]; x < lf->first[sm->loc[j] + 1]; x++)
			if (skip)
				skip--;
			else
				fr[k++] = lf->names[x];
	return 0;
}

int stacks_add(struct stackset *s, const struct pprof_profile *p, int si, int as_base)
{
	struct locframes lf = { 0 };
	int rc = -1;
	if (locframes_build(&lf, &s->names, p))
		goto nomem;
	for (size_t i = 0; i < p->nsample; i++) {
		const struct pprof_sample *sm = &p->sample[i];
		int64_t v = sm->value[si];
		if (v == 0)
			continue;
		size_t all = sample_nframes(lf.first, sm);
		int nf = all > CLI_MAX_FRAMES ? CLI_MAX_FRAMES : (int)all;
		s->nframes += (size_t)nf;
		if (s->nframes > CLI_MAX_ALL_FRAMES) {
			cli_err("the profile's stacks come to more than %zu frames", CLI_MAX_ALL_FRAMES);
			goto out;
		}
		const char **fr = malloc((nf ? (size_t)nf : 1) * sizeof *fr);
		if (!fr || sample_frames(s, &lf, sm, all, fr)) {
			free(fr);
			goto nomem;
		}
		if (s->n == s->cap) {
			size_t nc = s->cap ? s->cap * 2 : 256;
			struct stack *nv = realloc(s->v, nc * sizeof *nv);
			if (!nv) {
				free(fr);
				goto nomem;
			}
			s->v = nv;
			s->cap = nc;
		}
		s->v[s->n++] = (struct stack){ fr, nf, as_base ? 0 : v, as_base ? v : 0 };
		/* Sums of magnitudes, as pprof computes a total. */
		if (as_base)
			s->base_total = sat_add(s->base_total, sat_abs(v));
		else
			s->total = sat_add(s->total, sat_abs(v));
	}
	rc = 0;
	goto out;
nomem:
	cli_err("out of memory");
out:
	locframes_free(&lf);
	return rc;
}

static int stack_cmp(const void *a, const void *b)
{
	const struct stack *x = a, *y = b;
	int n = x->nframes < y->nframes ? x->nframes : y->nframes;
	for (int i = 0; i < n; i++) {
		if (x->frames[i] == y->frames[i])
			continue;
		int c = strcmp(x->frames[i], y->frames[i]);
		if (c)
			return c;
	}
	return (x->nframes > y->nframes) - (x->nframes < y->nframes);
}

void stacks_merge(struct stackset *s)
{
	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof *s->v, stack_cmp);
	size_t out = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (out && stack_cmp(&s->v[out - 1], &s->v[i]) == 0) {
			s->v[out - 1].value = sat_add(s->v[out - 1].value, s->v[i].value);
			s->v[out - 1].base = sat_add(s->v[out - 1].base, s->v[i].base);
			free(s->v[i].frames);
			continue;
		}
		s->v[out++] = s->v[i];
	}
	s->n = out;
	/* Stacks whose values cancelled out carry nothing. */
	out = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].value == 0 && s->v[i].base == 0) {
			free(s->v[i].frames);
			continue;
		}
		s->v[out++] = s->v[i];
	}
	s->n = out;
}

void stacks_free(struct stackset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].frames);
	free(s->v);
	strmap_free(&s->names);
	memset(s, 0, sizeof *s);
}

/* ---- function totals ---- */

/* Node index of every (location, line) pair, looked up once per location. */
static int64_t fnode_of(struct fnodeset *fs, const struct pprof_profile *p, const struct pprof_location *l,
			size_t j, int lines)
{
	char name[CLI_NAME_MAX], pos[CLI_NAME_MAX], key[2 * CLI_NAME_MAX + 2];
	cli_node_name(p, l, j, name, sizeof name);
	const char *k = name;
	if (lines) {
		/* pprof's -lines node name: "func file:line" */
		cli_frame_pos(p, l, j, pos, sizeof pos);
		if (pos[0]) {
			snprintf(key, sizeof key, "%s %s", name, pos);
			k = key;
		}
	}
	int added;
	int64_t id = strmap_put(&fs->keys, k, &added);
	if (id < 0)
		return -1;
	if (added) {
		if (fs->n == fs->cap) {
			size_t nc = fs->cap ? fs->cap * 2 : 256;
			struct fnode *nv = realloc(fs->v, nc * sizeof *nv);
			if (!nv)
				return -1;
			fs->v = nv;
			fs->cap = nc;
		}
		fs->v[fs->n++] = (struct fnode){ .name = fs->keys.keys[id] };
	}
	return id;
}

/* Edges (caller node, callee node) seen so far, and whether every one of
 * their occurrences was an inlined call: pprof labels a node "(inline)" from
 * these. */
struct edges {
	uint64_t *keys;         /* (from + 1) << 32 | (to + 1); 0 = empty */
	uint8_t *inl;
	size_t n, nslots;
};

static int edge_note(struct edges *e, uint32_t from, uint32_t to, int inl)
{
	if ((e->n + 1) * 2 > e->nslots) {
		size_t ns = e->nslots ? e->nslots * 2 : 1024;
		uint64_t *keys = calloc(ns, sizeof *keys);
		uint8_t *fl = calloc(ns, 1);
		if (!keys || !fl) {
			free(keys);
			free(fl);
			return -1;
		}
		for (size_t i = 0; i < e->nslots; i++) {
			if (!e->keys[i])
				continue;
			size_t k = (e->keys[i] * 0x9e3779b97f4a7c15ull >> 20) & (ns - 1);
			while (keys[k])
				k = (k + 1) & (ns - 1);
			keys[k] = e->keys[i];
			fl[k] = e->inl[i];
		}
		free(e->keys);
		free(e->inl);
		e->keys = keys;
		e->inl = fl;
		e->nslots = ns;
	}
	uint64_t key = (uint64_t)(from + 1) << 32 | (to + 1);
	size_t k = (key * 0x9e3779b97f4a7c15ull >> 20) & (e->nslots - 1);
	while (e->keys[k] && e->keys[k] != key)
		k = (k + 1) & (e->nslots - 1);
	if (!e->keys[k]) {
		e->keys[k] = key;
		e->inl[k] = (uint8_t)inl;
		e->n++;
	} else if (!inl) {
		e->inl[k] = 0;
	}
	return 0;
}

/* A sample of the base profile in a profile made by go tool pprof -proto
 * -diff_base: label pprof::base = true. */
static int diff_base_sample(const struct pprof_sample *s)
{
	for (size_t i = 0; i < s->nlabel; i++)
		if (!strcmp(s->label[i].key, "pprof::base") && !strcmp(s->label[i].str, "true"))
			return 1;
	return 0;
}

int fnodes_build(struct fnodeset *fs, const struct pprof_profile *p, int si, int lines)
{
	int rc = -1;
	int64_t base_total = 0;
	struct edges e = { 0 };
	/* Node ids per location line, computed once. */
	size_t total = 0;
	for (size_t i = 0; i < p->nlocation; i++)
		total += p->location[i].nline ? p->location[i].nline : 1;
	uint32_t *ids = malloc((total ? total : 1) * sizeof *ids);
	size_t *first = malloc((p->nlocation + 1) * sizeof *first);
	if (!ids || !first)
		goto out;
	size_t k = 0;
	for (size_t i = 0; i < p->nlocation; i++) {
		const struct pprof_location *l = &p->location[i];
		size_t n = l->nline ? l->nline : 1;
		first[i] = k;
		for (size_t j = 0; j < n; j++) {
			int64_t id = fnode_of(fs, p, l, j, lines);
			if (id < 0)
				goto out;
			ids[k++] = (uint32_t)id;
		}
	}
	first[p->nlocation] = k;

	for (size_t i = 0; i < p->nsample; i++) {
		const struct pprof_sample *s = &p->sample[i];
		int64_t w = s->value[si];
		if (w == 0)
			continue;
		fs->total = sat_add(fs->total, sat_abs(w));
		if (diff_base_sample(s))
			base_total = sat_add(base_total, sat_abs(w));
		int64_t parent = -1;
		/* Only the leaf side's CLI_MAX_FRAMES frames, as stacks_add. */
		size_t nf = sample_nframes(first, s);
		size_t skip = nf > CLI_MAX_FRAMES ? nf - CLI_MAX_FRAMES : 0;
		/* Root to leaf; within a location, outer function to innermost. */
		for (size_t j = s->nloc; j-- > 0;) {
			size_t lo = first[s->loc[j]], hi = first[s->loc[j] + 1];
			for (size_t x = hi; x-- > lo;) {
				if (skip) {
					skip--;
					continue;
				}
				struct fnode *n = &fs->v[ids[x]];
				if (n->stamp != i + 1) {
					n->stamp = i + 1;
					n->cum = sat_add(n->cum, w);
				}
				if (parent >= 0 && parent != ids[x] &&
				    edge_note(&e, (uint32_t)parent, ids[x], x != hi - 1))
					goto out;
				parent = ids[x];
			}
		}
		if (parent >= 0)
			fs->v[parent].flat = sat_add(fs->v[parent].flat, w);
	}
	/* The percentages of such a diff are of the base, as pprof has them. */
	if (base_total > 0)
		fs->total = base_total;
	/* Fold the edges into the nodes' labels. */
	for (size_t i = 0; i < e.nslots; i++) {
		if (!e.keys[i])
			continue;
		struct fnode *n = &fs->v[(e.keys[i] & 0xffffffffu) - 1];
		if (e.inl[i])
			n->inline_in = 1;
		else
			n->call_in = 1;
	}
	/* pprof leaves out nodes with nothing in them. */
	size_t out = 0;
	for (size_t i = 0; i < fs->n; i++)
		if (fs->v[i].flat || fs->v[i].cum)
			fs->v[out++] = fs->v[i];
	fs->n = out;
	rc = 0;
out:
	free(ids);
	free(first);
	free(e.keys);
	free(e.inl);
	return rc;
}

static int by_cum;

static int fnode_cmp(const void *a, const void *b)
{
	const struct fnode *x = a, *y = b;
	int64_t x1 = sat_abs(by_cum ? x->cum : x->flat), y1 = sat_abs(by_cum ? y->cum : y->flat);
	if (x1 != y1)
		return x1 > y1 ? -1 : 1;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	int64_t x2 = sat_abs(by_cum ? x->flat : x->cum), y2 = sat_abs(by_cum ? y->flat : y->cum);
	return (x2 < y2) - (x2 > y2);
}

void fnodes_sort(struct fnodeset *fs, int cum)
{
	by_cum = cum;
	if (fs->n)
		qsort(fs->v, fs->n, sizeof *fs->v, fnode_cmp);
}

const char *fnode_inline_label(const struct fnode *n)
{
	if (n->inline_in)
		return n->call_in ? " (partial-inline)" : " (inline)";
	return "";
}

void fnodes_free(struct fnodeset *fs)
{
	free(fs->v);
	strmap_free(&fs->keys);
	memset(fs, 0, sizeof *fs);
}
