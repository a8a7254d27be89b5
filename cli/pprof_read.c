/*
 * pprof_read.c - a validating reader for pprof profile.proto files.
 *
 * Profiles come from anywhere (other tools, old versions, damaged disks,
 * fuzzers), so nothing in the input is trusted: every length is checked
 * against its buffer, varints longer than 10 bytes or overflowing 64 bits are
 * refused, as are the obsolete group wire types, known fields with the wrong
 * wire type, string indexes out of range, zero or duplicate ids and
 * references to mappings, locations or functions that do not exist.  The
 * checks follow what pprof's own decoder refuses (see
 * /work/shared/reference/pprof-format.md section 4), plus the wire-level
 * ones it is lax about.
 *
 * The decoder makes a few cheap passes over the top-level message (count,
 * then the string table, then everything else), so that arrays are sized
 * once and string indexes can be resolved as fields are decoded even though
 * writers (Go among them) put the string table last.  All memory comes from
 * one arena that pprof_free releases in one go.
 */
#include "pprof_read.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---- arena: bump allocation in large zeroed chunks ---- */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct arena_chunk *head;
	size_t total, limit;    /* bytes handed out; at most limit (0: no limit) */
	int over;               /* a request went past limit */
};

/* What every empty array points at: zero bytes cost nothing, so a file of
 * millions of empty messages or strings costs only their count. */
static max_align_t arena_empty[1];

/* Returns n zeroed bytes (16-aligned) owned by a, or NULL when out of memory,
 * past the limit or n is absurd.  Cost: O(1) amortized, a calloc per 64 KiB. */
static void *arena_alloc(struct arena *a, size_t n)
{
	if (n == 0)
		return arena_empty;
	if (n > SIZE_MAX / 2)
		return NULL;
	n = (n + 15) & ~(size_t)15;
	if (a->limit && (n > a->limit || a->total > a->limit - n)) {
		a->over = 1;
		return NULL;
	}
	a->total += n;
	struct arena_chunk *c = a->head;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		c = calloc(1, sizeof *c + cap);
		if (!c)
			return NULL;
		c->cap = cap;
		/* A big one-off block goes behind the current chunk so the
		 * current chunk's free space is not wasted. */
		if (a->head && cap == n) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

/* n elements of size each, with the multiplication checked. */
static void *arena_array(struct arena *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return arena_alloc(a, n * size);
}

static void arena_release(struct arena *a)
{
	struct arena_chunk *c = a->head;
	while (c) {
		struct arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
}

/* ---- reader state and errors ---- */

struct rd {
	struct arena *arena;
	struct pprof_profile *p;
	const uint8_t *base;    /* start of the protobuf, for byte offsets in messages */
	int code;               /* first error, PPROF_OK until then */
	char *err;
	size_t errlen;
	int time_seen;
	size_t nsample_type;    /* counted before the samples are read */
};

/* Records the first error (later ones are consequences) and returns -1. */
__attribute__((format(printf, 3, 4)))
static int fail(struct rd *r, int code, const char *fmt, ...)
{
	if (r->code == PPROF_OK) {
		r->code = code;
		if (r->err && r->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(r->err, r->errlen, fmt, ap);
			va_end(ap);
		}
	}
	return -1;
}

static void *rd_array(struct rd *r, size_t n, size_t size)
{
	void *p = arena_array(r->arena, n, size);
	if (!p && r->arena->over)
		fail(r, PPROF_ENOMEM, "it needs more than %zu MiB to read (a damaged file?)", r->arena->limit >> 20);
	else if (!p)
		fail(r, PPROF_ENOMEM, "out of memory");
	return p;
}

/* ---- protobuf wire decoding ---- */

struct pb {
	const uint8_t *p, *end;
};

struct field {
	uint32_t num;
	int wt;
	uint64_t v;             /* wire types 0, 1, 5 */
	const uint8_t *data;    /* wire type 2 */
	size_t len;
	size_t off;             /* byte offset of the key */
};

static __attribute__((noinline)) int pb_varint_long(struct rd *r, struct pb *b, uint64_t *out)
{
	uint64_t v = 0;
	size_t off = (size_t)(b->p - r->base);
	for (int i = 0; i < 10; i++) {
		if (b->p >= b->end)
			return fail(r, PPROF_EWIRE, "truncated varint at byte %zu", off);
		uint8_t c = *b->p++;
		/* The tenth byte holds bit 63 only; anything more overflows. */
		if (i == 9 && c > 1)
			return fail(r, PPROF_EWIRE, "overlong varint at byte %zu", off);
		v |= (uint64_t)(c & 0x7f) << (7 * i);
		if (!(c & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return fail(r, PPROF_EWIRE, "overlong varint at byte %zu", off);
}

/* Inline for the one-byte case, most keys, lengths and values: a 1 GiB
 * run of unknown fields took 7.0 s to skip with every varint a call, 5.9 s
 * without. */
static inline int pb_varint(struct rd *r, struct pb *b, uint64_t *out)
{
	if (__builtin_expect(b->p < b->end && *b->p < 0x80, 1)) {
		*out = *b->p++;
		return 0;
	}
	return pb_varint_long(r, b, out);
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Reads the next field of the message in b.  Returns 1 with *f filled, 0 at
 * the end of the message, -1 on a malformed field. */
static int pb_next(struct rd *r, struct pb *b, struct field *f)
{
	if (b->p >= b->end)
		return 0;
	uint64_t key, n;
	f->off = (size_t)(b->p - r->base);
	if (pb_varint(r, b, &key))
		return -1;
	if (key >> 32 || key >> 3 == 0)
		return fail(r, PPROF_EWIRE, "bad field number at byte %zu", f->off);
	f->num = (uint32_t)(key >> 3);
	f->wt = (int)(key & 7);
	f->data = NULL;
	f->len = 0;
	f->v = 0;
	switch (f->wt) {
	case 0:
		return pb_varint(r, b, &f->v) ? -1 : 1;
	case 1:
	case 5:
		n = f->wt == 1 ? 8 : 4;
		if ((uint64_t)(b->end - b->p) < n)
			return fail(r, PPROF_EWIRE, "truncated field at byte %zu", f->off);
		f->v = le(b->p, (int)n);
		b->p += n;
		return 1;
	case 2:
		if (pb_varint(r, b, &n))
			return -1;
		if (n > (uint64_t)(b->end - b->p))
			return fail(r, PPROF_EWIRE,
				    "field at byte %zu is %llu bytes long, past the end of its message",
				    f->off, (unsigned long long)n);
		f->data = b->p;
		f->len = (size_t)n;
		b->p += n;
		return 1;
	default:
		return fail(r, PPROF_EWIRE, "unknown wire type %d at byte %zu", f->wt, f->off);
	}
}

static int want(struct rd *r, const struct field *f, int wt, const char *msg)
{
	if (f->wt != wt)
		return fail(r, PPROF_EWIRE, "field %u of %s at byte %zu has wire type %d, expected %d",
			    f->num, msg, f->off, f->wt, wt);
	return 0;
}

/* A repeated scalar: one varint (wire type 0) or a packed run (wire type 2).
 * Counts its elements into *n; with out, also stores them at out[*n...]. */
static int pb_scalars(struct rd *r, const struct field *f, const char *msg, uint64_t *out, size_t *n)
{
	if (f->wt == 0) {
		if (out)
			out[*n] = f->v;
		(*n)++;
		return 0;
	}
	if (f->wt != 2)
		return want(r, f, 0, msg);
	struct pb b = { f->data, f->data + f->len };
	while (b.p < b.end) {
		uint64_t v;
		if (pb_varint(r, &b, &v))
			return -1;
		if (out)
			out[*n] = v;
		(*n)++;
	}
	return 0;
}

#define NO_INDEX ((size_t)-1)

/* Resolves string index v of something described by what/i (i = NO_INDEX
 * for a field of the profile itself) into *out. */
static int str_at(struct rd *r, uint64_t v, const char **out, const char *what, size_t i)
{
	if (v >= r->p->nstring && i == NO_INDEX)
		return fail(r, PPROF_EINVALID, "%s: string index %lld out of range (table has %zu)", what,
			    (long long)v, r->p->nstring);
	if (v >= r->p->nstring)
		return fail(r, PPROF_EINVALID, "%s %zu: string index %lld out of range (table has %zu)",
			    what, i, (long long)v, r->p->nstring);
	*out = r->p->string[v];
	return 0;
}

/* ---- messages ---- */

static int dec_valuetype(struct rd *r, const struct field *f, struct pprof_valuetype *vt,
			 const char *what, size_t i)
{
	struct pb b = { f->data, f->data + f->len };
	struct field g;
	int k;
	uint64_t type = 0, unit = 0;
	while ((k = pb_next(r, &b, &g)) > 0) {
		if (g.num == 1 || g.num == 2) {
			if (want(r, &g, 0, what))
				return -1;
			*(g.num == 1 ? &type : &unit) = g.v;
		}
	}
	if (k < 0)
		return -1;
	if (str_at(r, type, &vt->type, what, i) || str_at(r, unit, &vt->unit, what, i))
		return -1;
	return 0;
}

static int dec_label(struct rd *r, const struct field *f, struct pprof_label *l, size_t si)
{
	struct pb b = { f->data, f->data + f->len };
	struct field g;
	int k;
	uint64_t key = 0, str = 0, unit = 0;
	while ((k = pb_next(r, &b, &g)) > 0) {
		if (g.num < 1 || g.num > 4)
			continue;
		if (want(r, &g, 0, "label"))
			return -1;
		switch (g.num) {
		case 1: key = g.v; break;
		case 2: str = g.v; break;
		case 3: l->num = (int64_t)g.v; break;
		case 4: unit = g.v; break;
		}
	}
	if (k < 0)
		return -1;
	if (str_at(r, key, &l->key, "label of sample", si) ||
	    str_at(r, str, &l->str, "label of sample", si) ||
	    str_at(r, unit, &l->num_unit, "label of sample", si))
		return -1;
	return 0;
}

static int dec_sample(struct rd *r, const struct field *f, struct pprof_sample *s, size_t si)
{
	struct pb b;
	struct field g;
	int k;
	size_t nloc = 0, nval = 0, nlab = 0;

	/* Pass 1: count. */
	b = (struct pb){ f->data, f->data + f->len };
	while ((k = pb_next(r, &b, &g)) > 0) {
		if (g.num == 1 && pb_scalars(r, &g, "sample", NULL, &nloc))
			return -1;
		if (g.num == 2 && pb_scalars(r, &g, "sample", NULL, &nval))
			return -1;
		if (g.num == 3) {
			if (want(r, &g, 2, "sample"))
				return -1;
			nlab++;
		}
	}
	if (k < 0)
		return -1;
	/* Checked before anything is allocated: a file of empty samples
	 * would otherwise cost memory many times its size. */
	if (!r->nsample_type)
		return fail(r, PPROF_EINVALID, "it has samples but no sample types");
	if (nval != r->nsample_type)
		return fail(r, PPROF_EINVALID, "sample %zu has %zu values for %zu sample types", si, nval,
			    r->nsample_type);

	uint64_t *ids = rd_array(r, nloc, sizeof *ids);
	uint32_t *loc = rd_array(r, nloc, sizeof *loc);
	uint64_t *val = rd_array(r, nval, sizeof *val);
	struct pprof_label *lab = rd_array(r, nlab, sizeof *lab);
	if (!ids || !loc || !val || !lab)
		return -1;

	/* Pass 2: fill. */
	size_t il = 0, iv = 0, ib = 0;
	b = (struct pb){ f->data, f->data + f->len };
	while ((k = pb_next(r, &b, &g)) > 0) {
		if (g.num == 1 && pb_scalars(r, &g, "sample", ids, &il))
			return -1;
		if (g.num == 2 && pb_scalars(r, &g, "sample", val, &iv))
			return -1;
		if (g.num == 3 && dec_label(r, &g, &lab[ib++], si))
			return -1;
	}
	if (k < 0)
		return -1;
	s->location_id = ids;
	s->loc = loc;
	s->nloc = nloc;
	s->value = (const int64_t *)val;
	s->nvalue = nval;
	s->label = lab;
	s->nlabel = nlab;
	return 0;
}

static int dec_mapping(struct rd *r, const struct field *f, struct pprof_mapping *m, size_t i)
{
	struct pb b = { f->data, f->data + f->len };
	struct field g;
	int k;
	uint64_t file = 0, build_id = 0;
	while ((k = pb_next(r, &b, &g)) > 0) {
		if (g.num < 1 || g.num > 10)
			continue;
		if (want(r, &g, 0, "mapping"))
			return -1;
		switch (g.num) {
		case 1: m->id = g.v; break;
		case 2: m->start = g.v; break;
		case 3: m->limit = g.v; break;
		case 4: m->offset = g.v; break;
		case 5: file = g.v; break;
		case 6: build_id = g.v; break;
		case 7: m->has_functions = g.v != 0; break;
		case 8: m->has_filenames = g.v != 0; break;
		case 9: m->has_line_numbers = g.v != 0; break;
		case 10: m->has_inline_frames = g.v != 0; break;
		}
	}
	if (k < 0)
		return -1;
	if (str_at(r, file, &m->file, "mapping", i) || str_at(r, build_id, &m->build_id, "mapping", i))
		return -1;
	return 0;
}

static int dec_line(struct rd *r, const struct field *f, struct pprof_line *l, uint64_t *func_id)
{
	struct pb b = { f->data, f->data + f->len };
	struct field g;
	int k;
	while ((k = pb_next(r, &b, &g)) > 0) {
		if (g.num < 1 || g.num > 3)
			continue;
		if (want(r, &g, 0, "line"))
			return -1;
		switch (g.num) {
		case 1: *func_id = g.v; break;
		case 2: l->line = (int64_t)g.v; break;
		case 3: l->column = (int64_t)g.v; break;
		}
	}
	return k < 0 ? -1 : 0;
}

/* Location decoding keeps raw ids aside for resolve(). */
struct loc_raw {
	uint64_t mapping_id;
	uint64_t *func_id;      /* one per line */
};

static int dec_location(struct rd *r, const struct field *f, struct pprof_location *l, struct loc_raw *raw)
{
	struct pb b;
	struct field g;
	int k;
	size_t nline = 0;
	b = (struct pb){ f->data, f->data + f->len };
	while ((k = pb_next(r, &b, &g)) > 0) {
		if (g.num == 4) {
			if (want(r, &g, 2, "location"))
				return -1;
			nline++;
		} else if (g.num == 1 || g.num == 2 || g.num == 3 || g.num == 5) {
			if (want(r, &g, 0, "location"))
				return -1;
			switch (g.num) {
			case 1: l->id = g.v; break;
			case 2: raw->mapping_id = g.v; break;
			case 3: l->address = g.v; break;
			case 5: l->is_folded = g.v != 0; break;
			}
		}
	}
	if (k < 0)
		return -1;
	struct pprof_line *lines = rd_array(r, nline, sizeof *lines);
	raw->func_id = rd_array(r, nline, sizeof *raw->func_id);
	if (!lines || !raw->func_id)
		return -1;
	size_t i = 0;
	b = (struct pb){ f->data, f->data + f->len };
	while ((k = pb_next(r, &b, &g)) > 0) {
		if (g.num != 4)
			continue;
		if (dec_line(r, &g, &lines[i], &raw->func_id[i]))
			return -1;
		i++;
	}
	if (k < 0)
		return -1;
	l->line = lines;
	l->nline = nline;
	return 0;
}

static int dec_function(struct rd *r, const struct field *f, struct pprof_function *fn, size_t i)
{
	struct pb b = { f->data, f->data + f->len };
	struct field g;
	int k;
	uint64_t name = 0, sys = 0, file = 0;
	while ((k = pb_next(r, &b, &g)) > 0) {
		if (g.num < 1 || g.num > 5)
			continue;
		if (want(r, &g, 0, "function"))
			return -1;
		switch (g.num) {
		case 1: fn->id = g.v; break;
		case 2: name = g.v; break;
		case 3: sys = g.v; break;
		case 4: file = g.v; break;
		case 5: fn->start_line = (int64_t)g.v; break;
		}
	}
	if (k < 0)
		return -1;
	if (str_at(r, name, &fn->name, "function", i) || str_at(r, sys, &fn->system_name, "function", i) ||
	    str_at(r, file, &fn->file, "function", i))
		return -1;
	return 0;
}

/* ---- id lookup ---- */

struct id_index {
	uint64_t id;
	uint32_t i;
};

static int cmp_id(const void *a, const void *b)
{
	uint64_t x = ((const struct id_index *)a)->id, y = ((const struct id_index *)b)->id;
	return x < y ? -1 : x > y;
}

/* Sorts ix[0..n) by id and checks the ids are nonzero and distinct. */
static int index_check(struct rd *r, struct id_index *ix, size_t n, const char *what)
{
	qsort(ix, n, sizeof *ix, cmp_id);
	for (size_t i = 0; i < n; i++) {
		if (ix[i].id == 0)
			return fail(r, PPROF_EINVALID, "%s number %u (in file order) has id 0", what, ix[i].i + 1);
		if (i && ix[i].id == ix[i - 1].id)
			return fail(r, PPROF_EINVALID, "two %ss have id %llu", what,
				    (unsigned long long)ix[i].id);
	}
	return 0;
}

/* Index of the element with this id, or -1.  Writers usually number ids
 * 1, 2, 3..., which the first test answers without a search. */
static int64_t index_find(const struct id_index *ix, size_t n, uint64_t id)
{
	if (id - 1 < n && ix[id - 1].id == id)
		return ix[id - 1].i;
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && ix[lo].id == id ? (int64_t)ix[lo].i : -1;
}

static int resolve(struct rd *r, struct loc_raw *lraw)
{
	struct pprof_profile *p = r->p;
	struct id_index *mx = rd_array(r, p->nmapping, sizeof *mx);
	struct id_index *fx = rd_array(r, p->nfunction, sizeof *fx);
	struct id_index *lx = rd_array(r, p->nlocation, sizeof *lx);
	if (!mx || !fx || !lx)
		return -1;
	for (size_t i = 0; i < p->nmapping; i++)
		mx[i] = (struct id_index){ p->mapping[i].id, (uint32_t)i };
	for (size_t i = 0; i < p->nfunction; i++)
		fx[i] = (struct id_index){ p->function[i].id, (uint32_t)i };
	for (size_t i = 0; i < p->nlocation; i++)
		lx[i] = (struct id_index){ p->location[i].id, (uint32_t)i };
	if (index_check(r, mx, p->nmapping, "mapping") || index_check(r, fx, p->nfunction, "function") ||
	    index_check(r, lx, p->nlocation, "location"))
		return -1;

	for (size_t i = 0; i < p->nlocation; i++) {
		struct pprof_location *l = &p->location[i];
		l->mapping = -1;
		if (lraw[i].mapping_id) {
			int64_t m = index_find(mx, p->nmapping, lraw[i].mapping_id);
			if (m < 0)
				return fail(r, PPROF_EINVALID, "location %llu names mapping %llu, which does not exist",
					    (unsigned long long)l->id, (unsigned long long)lraw[i].mapping_id);
			l->mapping = (int32_t)m;
		}
		struct pprof_line *lines = (struct pprof_line *)l->line;
		for (size_t j = 0; j < l->nline; j++) {
			if (!lraw[i].func_id[j])        /* as go tool pprof: "a line with nil function" */
				return fail(r, PPROF_EINVALID, "location %llu has a line without a function",
					    (unsigned long long)l->id);
			int64_t fn = index_find(fx, p->nfunction, lraw[i].func_id[j]);
			if (fn < 0)
				return fail(r, PPROF_EINVALID, "location %llu names function %llu, which does not exist",
					    (unsigned long long)l->id, (unsigned long long)lraw[i].func_id[j]);
			lines[j].func = (int32_t)fn;
		}
	}

	for (size_t i = 0; i < p->nsample; i++) {
		struct pprof_sample *s = &p->sample[i];
		uint32_t *loc = (uint32_t *)s->loc;
		for (size_t j = 0; j < s->nloc; j++) {
			int64_t li = index_find(lx, p->nlocation, s->location_id[j]);
			if (li < 0)
				return fail(r, PPROF_EINVALID, "sample %zu names location %llu, which does not exist",
					    i, (unsigned long long)s->location_id[j]);
			loc[j] = (uint32_t)li;
		}
	}
	return 0;
}

/* ---- the Profile message ---- */

static int parse_proto(struct rd *r, const uint8_t *buf, size_t len)
{
	struct pprof_profile *p = r->p;
	struct pb b;
	struct field f;
	int k;
	size_t nst = 0, ns = 0, nm = 0, nl = 0, nf = 0, nstr = 0, ncom = 0, strbytes = 0;

	r->base = buf;

	/* Pass 1: check the top level, count the repeated fields and find
	 * the stretch [lo, hi) that holds every field we read, so that the
	 * passes after it skip unknown fields before and after it (a 1 MB
	 * file of zeros' field 15 inflates to 1 GiB: three passes over it
	 * took 21.7 s, one 9.2 s). */
	size_t lo = len, hi = 0;
	b = (struct pb){ buf, buf + len };
	while ((k = pb_next(r, &b, &f)) > 0) {
		if (f.num <= 14) {
			lo = lo < f.off ? lo : f.off;
			hi = (size_t)(b.p - buf);
		}
		switch (f.num) {
		case 1: case 2: case 3: case 4: case 5: case 6: case 11:
			if (want(r, &f, 2, "profile"))
				return -1;
			nst += f.num == 1;
			ns += f.num == 2;
			nm += f.num == 3;
			nl += f.num == 4;
			nf += f.num == 5;
			nstr += f.num == 6;
			if (f.num == 6 && f.len)
				strbytes += f.len + 1;
			break;
		case 7: case 8: case 9: case 10: case 12: case 14:
			if (want(r, &f, 0, "profile"))
				return -1;
			break;
		case 13:
			if (pb_scalars(r, &f, "profile", NULL, &ncom))
				return -1;
			break;
		}
	}
	if (k < 0)
		return -1;
	if (nstr == 0)
		return fail(r, PPROF_EWIRE, "no string table");
	r->nsample_type = nst;

	p->sample_type = rd_array(r, nst, sizeof *p->sample_type);
	p->sample = rd_array(r, ns, sizeof *p->sample);
	p->mapping = rd_array(r, nm, sizeof *p->mapping);
	p->location = rd_array(r, nl, sizeof *p->location);
	p->function = rd_array(r, nf, sizeof *p->function);
	p->string = rd_array(r, nstr, sizeof *p->string);
	uint64_t *com = rd_array(r, ncom, sizeof *com);
	struct loc_raw *lraw = rd_array(r, nl, sizeof *lraw);
	char *chars = rd_array(r, strbytes, 1);
	if (!p->sample_type || !p->sample || !p->mapping || !p->location || !p->function || !p->string ||
	    !com || !lraw || !chars)
		return -1;

	/* Pass 2: the string table, which everything else refers to, in one
	 * block; empty strings share one "". */
	b = (struct pb){ buf + lo, buf + hi };
	while ((k = pb_next(r, &b, &f)) > 0) {
		if (f.num != 6)
			continue;
		if (!f.len) {
			p->string[p->nstring++] = "";
			continue;
		}
		memcpy(chars, f.data, f.len);
		chars[f.len] = '\0';
		p->string[p->nstring++] = chars;
		chars += f.len + 1;
	}
	if (k < 0)
		return -1;
	if (p->string[0][0] != '\0')
		return fail(r, PPROF_EINVALID, "the string table does not start with \"\"");

	/* Pass 3: the rest. */
	uint64_t drop = 0, keepf = 0, dst = 0;
	struct field pt = { 0 };
	b = (struct pb){ buf + lo, buf + hi };
	while ((k = pb_next(r, &b, &f)) > 0) {
		switch (f.num) {
		case 1:
			if (dec_valuetype(r, &f, &p->sample_type[p->nsample_type], "sample type", p->nsample_type))
				return -1;
			p->nsample_type++;
			break;
		case 2:
			if (dec_sample(r, &f, &p->sample[p->nsample], p->nsample))
				return -1;
			p->nsample++;
			break;
		case 3:
			if (dec_mapping(r, &f, &p->mapping[p->nmapping], p->nmapping))
				return -1;
			p->nmapping++;
			break;
		case 4:
			if (dec_location(r, &f, &p->location[p->nlocation], &lraw[p->nlocation]))
				return -1;
			p->nlocation++;
			break;
		case 5:
			if (dec_function(r, &f, &p->function[p->nfunction], p->nfunction))
				return -1;
			p->nfunction++;
			break;
		case 7: drop = f.v; break;
		case 8: keepf = f.v; break;
		case 9:
			/* pprof refuses a second time_nanos: it means two
			 * profiles were concatenated into one file. */
			if (r->time_seen++)
				return fail(r, PPROF_EINVALID, "concatenated profiles (time_nanos appears twice)");
			p->time_nanos = (int64_t)f.v;
			break;
		case 10: p->duration_nanos = (int64_t)f.v; break;
		case 11: pt = f; break;
		case 12: p->period = (int64_t)f.v; break;
		case 13:
			if (pb_scalars(r, &f, "profile", com, &p->ncomment))
				return -1;
			break;
		case 14: dst = f.v; break;
		}
	}
	if (k < 0)
		return -1;

	if (str_at(r, drop, &p->drop_frames, "drop_frames", NO_INDEX) ||
	    str_at(r, keepf, &p->keep_frames, "keep_frames", NO_INDEX) ||
	    str_at(r, dst, &p->default_sample_type, "default_sample_type", NO_INDEX))
		return -1;
	p->period_type = (struct pprof_valuetype){ p->string[0], p->string[0] };
	if (pt.data && dec_valuetype(r, &pt, &p->period_type, "period type", NO_INDEX))
		return -1;
	p->comment = rd_array(r, p->ncomment, sizeof *p->comment);
	if (!p->comment)
		return -1;
	for (size_t i = 0; i < p->ncomment; i++)
		if (str_at(r, com[i], &p->comment[i], "comment", i))
			return -1;

	return resolve(r, lraw);
}

/* ---- gzip ---- */

/* Inflates in[0..len) (gzip; windowBits 15+32 also takes zlib) into a
 * malloc'd buffer of at most max bytes.  Concatenated gzip members are
 * read one after the other, as Go's gzip reader does.  Returns 0 with *out
 * (caller frees) and *outlen, or -1. */
static int gunzip(struct rd *r, const uint8_t *in, size_t len, size_t max, uint8_t **out, size_t *outlen)
{
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, 15 + 32) != Z_OK)
		return fail(r, PPROF_ENOMEM, "out of memory");
	size_t cap = len > max / 4 ? max : len * 4;
	if (cap < 65536)
		cap = max < 65536 ? max : 65536;
	uint8_t *buf = malloc(cap ? cap : 1);
	size_t used = 0, fed = 0;
	int rc = -1;
	if (!buf) {
		fail(r, PPROF_ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		if (zs.avail_in == 0 && fed < len) {
			size_t n = len - fed > UINT_MAX ? UINT_MAX : len - fed;
			zs.next_in = (Bytef *)in + fed;
			zs.avail_in = (uInt)n;
			fed += n;
		}
		if (used == cap) {
			if (cap >= max) {
				fail(r, PPROF_EGZIP, "uncompressed size is over %zu MiB", max >> 20);
				goto out;
			}
			size_t ncap = cap > max / 2 ? max : cap * 2;
			uint8_t *nb = realloc(buf, ncap);
			if (!nb) {
				fail(r, PPROF_ENOMEM, "out of memory");
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		size_t room = cap - used > UINT_MAX ? UINT_MAX : cap - used;
		zs.next_out = buf + used;
		zs.avail_out = (uInt)room;
		int z = inflate(&zs, Z_NO_FLUSH);
		used += room - zs.avail_out;
		if (z == Z_STREAM_END) {
			size_t left = zs.avail_in + (len - fed);
			if (left == 0)
				break;
			const uint8_t *next = in + (len - left);
			if (left >= 2 && next[0] == 0x1f && next[1] == 0x8b) {
				inflateReset(&zs);
				continue;
			}
			fail(r, PPROF_EGZIP, "garbage after the gzip stream");
			goto out;
		}
		if (z == Z_OK)
			continue;
		if (z == Z_BUF_ERROR) {
			if (zs.avail_out == 0)
				continue;       /* needs more room: grown above */
			if (zs.avail_in == 0 && fed == len) {
				fail(r, PPROF_EGZIP, "truncated gzip stream");
				goto out;
			}
		}
		if (z == Z_MEM_ERROR) {
			fail(r, PPROF_ENOMEM, "out of memory");
			goto out;
		}
		fail(r, PPROF_EGZIP, "corrupt gzip stream (%s)", zs.msg ? zs.msg : "bad data");
		goto out;
	}
	*out = buf;
	*outlen = used;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	inflateEnd(&zs);
	return rc;
}

/* ---- public entry points ---- */

static int is_gzip(const uint8_t *b, size_t len)
{
	return len >= 2 && b[0] == 0x1f && b[1] == 0x8b;
}

int pprof_parse(const void *data, size_t len, size_t max_size, struct pprof_profile *prof, char *err,
		size_t errlen)
{
	const uint8_t *buf = data;
	uint8_t *plain = NULL;
	size_t plen = len;
	struct arena *arena = calloc(1, sizeof *arena);
	struct rd r = { .arena = arena, .p = prof, .err = err, .errlen = errlen };

	memset(prof, 0, sizeof *prof);
	if (err && errlen)
		err[0] = '\0';
	if (!arena)
		return fail(&r, PPROF_ENOMEM, "out of memory"), r.code;
	if (max_size == 0)
		max_size = PPROF_MAX_SIZE;
	if (len == 0) {
		fail(&r, PPROF_EEMPTY, "empty input");
		goto out;
	}
	if (is_gzip(buf, len)) {
		prof->compressed = 1;
		if (gunzip(&r, buf, len, max_size, &plain, &plen))
			goto out;
		buf = plain;
		if (plen == 0) {
			fail(&r, PPROF_EEMPTY, "empty after decompression");
			goto out;
		}
	} else if (len > max_size) {
		fail(&r, PPROF_EGZIP, "larger than %zu MiB", max_size >> 20);
		goto out;
	}
	static const char text[] = "heap profile:";
	if (plen >= sizeof text - 1 && memcmp(buf, text, sizeof text - 1) == 0) {
		fail(&r, PPROF_ETEXT, "a legacy text heap profile, not profile.proto");
		goto out;
	}
	/* A valid profile decodes to about 5 times its size (a sample of ten
	 * frames: 52 bytes in the file, 208 decoded); a small file can
	 * describe far more (2 bytes an empty string, 8 decoded), and a
	 * 1 GiB one then cost tens of GiB before anything was refused. */
	arena->limit = plen > (PPROF_MAX_MEMORY - (64u << 20)) / 8 ? PPROF_MAX_MEMORY : 8 * plen + (64u << 20);
	parse_proto(&r, buf, plen);
out:
	free(plain);
	if (r.code != PPROF_OK) {
		arena_release(arena);
		free(arena);
		int compressed = prof->compressed;
		memset(prof, 0, sizeof *prof);
		prof->compressed = compressed;
		return r.code;
	}
	prof->arena = arena;
	return PPROF_OK;
}

/* Reads all of fd into a malloc'd buffer of at most max bytes.  Returns 0,
 * or -1 with errno set (EFBIG when larger than max). */
static int read_all(int fd, size_t max, uint8_t **out, size_t *outlen)
{
	size_t cap = 65536, len = 0;
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		cap = (uint64_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return -1;
	for (;;) {
		if (len == cap) {
			if (cap > max) {
				free(buf);
				errno = EFBIG;
				return -1;
			}
			size_t ncap = cap > max / 2 ? max + 1 : cap * 2;
			uint8_t *nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				return -1;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		free(buf);
		errno = EFBIG;
		return -1;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

int pprof_read_file(const char *path, struct pprof_profile *prof, char *err, size_t errlen)
{
	char detail[256];
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd, rc;

	memset(prof, 0, sizeof *prof);
	if (!err || !errlen) {
		err = detail;
		errlen = sizeof detail;
	}
	/* "-" is standard input, so profiles can be piped in. */
	fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return PPROF_EIO;
	}
	rc = read_all(fd, PPROF_MAX_SIZE, &buf, &len);
	int e = errno;
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc) {
		if (e == EFBIG)
			snprintf(err, errlen, "cannot read '%s': larger than %zu MiB", path, PPROF_MAX_SIZE >> 20);
		else
			snprintf(err, errlen, "cannot read '%s': %s", path, strerror(e));
		return e == ENOMEM ? PPROF_ENOMEM : PPROF_EIO;
	}
	rc = pprof_parse(buf, len, PPROF_MAX_SIZE, prof, detail, sizeof detail);
	free(buf);
	switch (rc) {
	case PPROF_OK:
		break;
	case PPROF_EEMPTY:
		snprintf(err, errlen, "'%s' is empty%s", path, prof->compressed ? " after decompression" : "");
		break;
	case PPROF_EGZIP:
	case PPROF_ENOMEM:
		snprintf(err, errlen, "cannot read '%s': %s", path, detail);
		break;
	case PPROF_ETEXT:
		snprintf(err, errlen, "'%s' is a legacy text profile, not profile.proto "
			 "(convert it with 'go tool pprof -proto')", path);
		break;
	case PPROF_EWIRE:
		/* Plain bytes that are not even protobuf: not a profile at
		 * all, or one cut short (a field running past the end looks
		 * the same).  Inside gzip, say what is wrong. */
		if (!prof->compressed)
			snprintf(err, errlen, "'%s' is not a profile (random bytes, or a profile cut short?)", path);
		else
			snprintf(err, errlen, "'%s' is not a valid profile: %s", path, detail);
		break;
	default:
		snprintf(err, errlen, "'%s' is not a valid profile: %s", path, detail);
		break;
	}
	return rc;
}

void pprof_free(struct pprof_profile *prof)
{
	if (prof->arena) {
		arena_release(prof->arena);
		free(prof->arena);
	}
	memset(prof, 0, sizeof *prof);
}

int pprof_find_sample_type(const struct pprof_profile *prof, const char *type)
{
	for (size_t i = 0; i < prof->nsample_type; i++)
		if (strcmp(prof->sample_type[i].type, type) == 0)
			return (int)i;
	return -1;
}
