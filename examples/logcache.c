/*
 * logcache.c - the example heapprof profiles in `make demo`.
 *
 * A small log analyser: it generates synthetic access-log lines, parses
 * them into records, counts hits per path in a hash table, and keeps the
 * most recent responses in a cache.  Three allocation sites matter:
 *   - parse_line(): many short-lived strings, freed after each line;
 *   - table_add(): the per-path counters, live until the end;
 *   - cache_put(): a response cache whose eviction forgets to free the body
 *     (the leak the demo finds).
 * Deterministic: same output on every run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct record {
	char *method, *path;
	int status;
	size_t bytes;
};

struct counter {
	struct counter *next;
	char *path;
	unsigned long hits;
};

#define NBUCKETS 4096
static struct counter *table[NBUCKETS];

struct entry {
	char *key;
	char *body;
};
#define CACHE_SLOTS 256
static struct entry cache[CACHE_SLOTS];

static uint32_t rng = 2463534242u;
static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static char *dup_range(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

static void make_line(char *buf, size_t len)
{
	static const char *methods[] = { "GET", "POST", "PUT" };
	snprintf(buf, len, "%s /api/v1/item/%u %d %u", methods[next_rand() % 3], next_rand() % 20000,
		 next_rand() % 10 ? 200 : 404, 100 + next_rand() % 5000);
}

static struct record *parse_line(const char *line)
{
	struct record *r = calloc(1, sizeof *r);
	const char *sp = strchr(line, ' ');
	r->method = dup_range(line, (size_t)(sp - line));
	const char *sp2 = strchr(sp + 1, ' ');
	r->path = dup_range(sp + 1, (size_t)(sp2 - sp - 1));
	r->status = atoi(sp2 + 1);
	r->bytes = strtoul(strchr(sp2 + 1, ' ') + 1, NULL, 10);
	return r;
}

static void free_record(struct record *r)
{
	free(r->method);
	free(r->path);
	free(r);
}

static unsigned hash(const char *s)
{
	unsigned h = 5381;
	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static void table_add(const char *path)
{
	unsigned b = hash(path) % NBUCKETS;
	for (struct counter *c = table[b]; c; c = c->next)
		if (!strcmp(c->path, path)) {
			c->hits++;
			return;
		}
	struct counter *c = malloc(sizeof *c);
	c->path = strdup(path);
	c->hits = 1;
	c->next = table[b];
	table[b] = c;
}

static char *render_body(size_t bytes)
{
	char *body = malloc(bytes);
	memset(body, 'x', bytes);
	return body;
}

static void cache_put(const char *key, size_t bytes)
{
	struct entry *e = &cache[hash(key) % CACHE_SLOTS];
	if (e->key)
		free(e->key);   /* bug: e->body is not freed on eviction */
	e->key = strdup(key);
	e->body = render_body(bytes);
}

/* One line of the summary; the caller frees it. */
static char *format_row(const struct counter *c)
{
	char *row = malloc(strlen(c->path) + 32);
	sprintf(row, "%-40s %lu\n", c->path, c->hits);
	return row;
}

static unsigned long write_report(void)
{
	unsigned long paths = 0, chars = 0;
	for (int b = 0; b < NBUCKETS; b++)
		for (struct counter *c = table[b]; c; c = c->next) {
			char *row = format_row(c);
			chars += strlen(row);
			free(row);
			paths++;
		}
	(void)chars;
	return paths;
}

struct stats {
	unsigned long total_bytes, errors;
};

static void handle_line(const char *line, struct stats *st)
{
	struct record *r = parse_line(line);
	table_add(r->path);
	if (r->status == 200)
		cache_put(r->path, r->bytes);
	else
		st->errors++;
	st->total_bytes += r->bytes;
	free_record(r);
}

int main(int argc, char **argv)
{
	long lines = argc > 1 ? atol(argv[1]) : 200000;
	char buf[128];
	struct stats st = { 0, 0 };
	for (long i = 0; i < lines; i++) {
		make_line(buf, sizeof buf);
		handle_line(buf, &st);
	}
	unsigned long paths = write_report();
	printf("%ld lines, %lu distinct paths, %lu errors, %lu bytes served\n", lines, paths, st.errors,
	       st.total_bytes);
	return 0;
}
