/*
 * outpat.c - HEAPPROF_OUT file-name patterns, seen from outside the process.
 *
 * The library expands "%p" to the process id and "%n" to a dump sequence
 * number ("%%" is a percent sign).  `run` must find the files its program
 * and the program's children wrote, and `dump` the file a signal produced,
 * without knowing the pids or numbers in advance, so these helpers match a
 * name against a pattern with %p/%n as digit wildcards, and take directory
 * snapshots whose difference is "what was written meanwhile".
 */
#include "outpat.h"
#include "../libheapprof/hp_env.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int digits(const char *s)
{
	return *s >= '0' && *s <= '9';
}

/* The matcher proper.  A wildcard tries every split of the digits that
 * follow; seen[] remembers the (pattern, name) positions already known not
 * to match, so that a pattern of many wildcards against a long run of
 * digits takes time in proportion to their product, not exponential time
 * (a pattern of twelve %n against sixty digits never finished). */
struct match {
	const char *pat0, *name0;
	size_t nlen;
	long pid;
	unsigned char *seen;
};

static int match_from(struct match *m, const char *pat, const char *name)
{
	while (*pat) {
		if (pat[0] == '%' && pat[1] == '%') {
			if (*name != '%')
				return 0;
			pat += 2;
			name++;
		} else if (pat[0] == '%' && pat[1] == 'p' && m->pid >= 0) {
			char buf[32];
			int n = snprintf(buf, sizeof buf, "%ld", m->pid);
			if (strncmp(name, buf, (size_t)n) != 0)
				return 0;
			pat += 2;
			name += n;
		} else if (pat[0] == '%' && (pat[1] == 'p' || pat[1] == 'n')) {
			/* One or more digits; try every split. */
			if (!digits(name))
				return 0;
			pat += 2;
			for (name++;; name++) {
				size_t k = (size_t)(pat - m->pat0) * (m->nlen + 1) + (size_t)(name - m->name0);
				if (!m->seen || !m->seen[k]) {
					if (match_from(m, pat, name))
						return 1;
					if (m->seen)
						m->seen[k] = 1;
				}
				if (!digits(name))
					return 0;
			}
		} else {
			if (*pat != *name)
				return 0;
			pat++;
			name++;
		}
	}
	return *name == '\0';
}

int outpat_match(const char *pat, const char *name, long pid)
{
	struct match m = { pat, name, strlen(name), pid, NULL };
	const char *w = strstr(pat, "%n");
	if (w && strstr(w + 2, "%n") && strlen(pat) <= 4096)    /* two wildcards or more */
		m.seen = calloc((strlen(pat) + 1) * (m.nlen + 1), 1);   /* NULL: unmemoized */
	int r = match_from(&m, pat, name);
	free(m.seen);
	return r;
}

int outpat_has(const char *pat, char c)
{
	return hp_env_pattern_has(pat, c);
}

char *outpat_expand(const char *pat, long pid, long n)
{
	size_t cap = strlen(pat) * 2 + 64, len = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	for (; *pat; pat++) {
		if (len + 32 >= cap) {
			char *o = realloc(out, cap * 2);
			if (!o) {
				free(out);
				return NULL;
			}
			out = o;
			cap *= 2;
		}
		if (pat[0] == '%' && pat[1] == 'p') {
			len += (size_t)snprintf(out + len, cap - len, "%ld", pid);
			pat++;
		} else if (pat[0] == '%' && pat[1] == 'n' && n >= 0) {
			len += (size_t)snprintf(out + len, cap - len, "%ld", n);
			pat++;
		} else if (pat[0] == '%' && pat[1] == '%' && n >= 0) {
			out[len++] = '%';
			pat++;
		} else {
			out[len++] = *pat;
		}
	}
	out[len] = '\0';
	return out;
}

char *outpat_join(const char *dir, const char *pat)
{
	size_t n = strlen(dir), cap = 2 * n + strlen(pat) + 3;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	size_t o = hp_env_escape(out, cap, dir);        /* as the library joins its start directory */
	if (!n || dir[n - 1] != '/')
		out[o++] = '/';
	strcpy(out + o, pat);
	return out;
}

int outpat_split(const char *pat, long pid, char **dir, char **base)
{
	const char *slash = strrchr(pat, '/');
	char *d = slash ? strndup(pat, (size_t)(slash - pat)) : strdup(".");
	*dir = *base = NULL;
	if (!d)
		return -1;
	if (outpat_has(d, 'n') || (pid < 0 && outpat_has(d, 'p'))) {
		free(d);
		errno = EINVAL;
		return -1;
	}
	*dir = outpat_expand(*d ? d : "/", pid, 0);   /* no %n left: only %p and %% */
	free(d);
	*base = strdup(slash ? slash + 1 : pat);
	if (!*dir || !*base) {
		free(*dir);
		free(*base);
		*dir = *base = NULL;
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* The loose form: the literal text before the first %p or %n and after the
 * last, so names the library derives from the pattern (a "peak" dump, say)
 * are found too.  "%%" is a literal percent sign, and so is a % before any
 * other character, as the library has it. */
static int loose_match(const char *pat, const char *name)
{
	const char *first = NULL, *last = NULL;
	for (const char *c = pat; *c; c++) {
		if (c[0] == '%' && c[1] == '%')
			c++;
		else if (c[0] == '%' && (c[1] == 'p' || c[1] == 'n')) {
			if (!first)
				first = c;
			last = c++;
		}
	}
	if (!first)
		return outpat_match(pat, name, -1);
	/* the literal text around the wildcards, "%%" read as "%" */
	char *p0 = strndup(pat, (size_t)(first - pat));
	char *pre = p0 ? outpat_expand(p0, 0, 0) : NULL, *suf = outpat_expand(last + 2, 0, 0);
	size_t n = strlen(name);
	int r = pre && suf && n > strlen(pre) + strlen(suf) && !strncmp(name, pre, strlen(pre)) &&
		!strcmp(name + n - strlen(suf), suf);
	free(p0);
	free(pre);
	free(suf);
	return r;
}

int snap_take(struct snap *s, const char *dir, const char *pat, long pid, int loose)
{
	memset(s, 0, sizeof *s);
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *de;
	size_t cap = 0;
	while ((de = readdir(d))) {
		if (!(loose ? loose_match(pat, de->d_name) : outpat_match(pat, de->d_name, pid)))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, 0) || !S_ISREG(st.st_mode))
			continue;
		if (s->n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct snap_entry *nv = realloc(s->v, nc * sizeof *nv);
			if (!nv)
				goto fail;
			s->v = nv;
			cap = nc;
		}
		char *name = strdup(de->d_name);
		if (!name)
			goto fail;
		s->v[s->n++] = (struct snap_entry){ name, st.st_ino, st.st_mtim, st.st_size };
	}
	closedir(d);
	return 0;
fail:
	closedir(d);
	snap_free(s);
	errno = ENOMEM;
	return -1;
}

int snap_has(const struct snap *s, const struct snap_entry *e)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct snap_entry *x = &s->v[i];
		if (strcmp(x->name, e->name) == 0 && x->ino == e->ino && x->mtime.tv_sec == e->mtime.tv_sec &&
		    x->mtime.tv_nsec == e->mtime.tv_nsec && x->size == e->size)
			return 1;
	}
	return 0;
}

void snap_free(struct snap *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].name);
	free(s->v);
	memset(s, 0, sizeof *s);
}

char *outpat_insert(const char *file, const char *what)
{
	size_t n = strlen(file), at = hp_env_ext_at(file);
	char *out = malloc(n + strlen(what) + 1);
	if (out)
		sprintf(out, "%.*s%s%s", (int)at, file, what, file + at);
	return out;
}
