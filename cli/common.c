/*
 * common.c - what every heapprof command needs: error lines in the house
 * format ("heapprof: cannot open 'x': ..."), loading a profile, choosing the
 * sample type, printing values in human units, naming frames, and a small
 * string hash map used for interning frame names and grouping functions.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- errors and usage ---- */

static void vmsg(const char *fmt, va_list ap, const char *tail)
{
	char line[1024];
	int n = snprintf(line, sizeof line, "heapprof: ");
	n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	if (n > (int)sizeof line - 2 - (int)strlen(tail))
		n = (int)sizeof line - 2 - (int)strlen(tail);
	n += snprintf(line + n, sizeof line - (size_t)n, "%s\n", tail);
	/* One write, so lines from several processes do not interleave. */
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}

void cli_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap, "");
	va_end(ap);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	char tail[128];
	va_list ap;
	snprintf(tail, sizeof tail, " (see 'heapprof %s --help')", cmd);
	va_start(ap, fmt);
	vmsg(fmt, ap, tail);
	va_end(ap);
	return EXIT_USAGE;
}

int cli_bad_option(const char *cmd, char **argv, int c)
{
	/* With opterr = 0 and a leading ':' in optstring, getopt_long returns
	 * ':' for a missing value and '?' otherwise; optopt is the short
	 * option, or 0 for an unknown long one. */
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	int n = (int)strcspn(arg, "=");
	if (c == ':')
		return cli_usage(cmd, "option '%.*s' needs a value", n, arg);
	if (arg[0] == '-' && arg[1] == '-' && optopt)
		return cli_usage(cmd, "option '%.*s' takes no value", n, arg);
	if (optopt)
		return cli_usage(cmd, "unknown option '-%c'", optopt);
	return cli_usage(cmd, "unknown option '%.*s'", n, arg);
}

int cli_help(const char *text)
{
	fputs(text, stdout);
	return EXIT_OK;
}

/* ---- loading and sample types ---- */

static void clean(char *s);

/* The names of what a profile measures are printed as they are, in headers
 * and errors: control characters in them (a newline, a terminal escape
 * sequence from a hostile file) are shown as '?', as in frame names.  The
 * reader's strings are its own heap copies. */
static void clean_types(struct pprof_profile *p)
{
	for (size_t i = 0; i < p->nsample_type; i++) {
		clean((char *)p->sample_type[i].type);
		clean((char *)p->sample_type[i].unit);
	}
	clean((char *)p->period_type.type);
	clean((char *)p->period_type.unit);
	clean((char *)p->default_sample_type);
}

int cli_load(const char *path, struct pprof_profile *p)
{
	char err[512];
	if (pprof_read_file(path, p, err, sizeof err) != PPROF_OK) {
		cli_err("%s", err);
		return -1;
	}
	clean_types(p);
	return 0;
}

static int is_heap_type(const char *t)
{
	static const char *const names[] = { "inuse_space", "inuse_objects", "alloc_space", "alloc_objects",
					     "space", "objects" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(t, names[i]) == 0)
			return 1;
	return 0;
}

int cli_sample_index(const char *path, const struct pprof_profile *p, const char *want)
{
	int i = -1;
	if (want) {
		long long k;
		i = pprof_find_sample_type(p, want);
		if (i < 0 && cli_parse_int(want, 0, (long long)p->nsample_type - 1, &k) == 0)
			i = (int)k;
	} else {
		/* go tool pprof's choice: default_sample_type, else the last
		 * type; then, for a profile where that is no heap type, the
		 * heap type it has */
		const char *d = p->default_sample_type;
		if (d[0] && is_heap_type(d))
			i = pprof_find_sample_type(p, d);
		if (i < 0 && !d[0] && p->nsample_type && is_heap_type(p->sample_type[p->nsample_type - 1].type))
			i = (int)p->nsample_type - 1;
		if (i < 0)
			i = pprof_find_sample_type(p, "inuse_space");
		if (i < 0)
			i = pprof_find_sample_type(p, "space");
	}
	if (i >= 0)
		return i;

	char have[512];
	size_t n = 0;
	have[0] = '\0';
	for (size_t j = 0; j < p->nsample_type && n < sizeof have; j++)
		n += (size_t)snprintf(have + n, sizeof have - n, "%s%s/%s", j ? ", " : "", p->sample_type[j].type,
				      p->sample_type[j].unit);
	cli_err("'%s' has no sample type %s (has: %s)", path, want ? want : "inuse_space",
		p->nsample_type ? have : "none");
	return -1;
}

int cli_open(const char *path, const char *sample, struct pprof_profile *p)
{
	if (cli_load(path, p))
		return -1;
	int si = cli_sample_index(path, p, sample);
	if (si < 0)
		pprof_free(p);
	return si;
}

/* ---- numbers ---- */

char *cli_fmt(char *buf, size_t len, int64_t v, const char *unit, int exact, int sign)
{
	const char *plus = sign && v > 0 ? "+" : "";
	if (exact || !unit) {
		snprintf(buf, len, "%s%lld", plus, (long long)v);
		return buf;
	}
	double a = fabs((double)v);
	const char *neg = v < 0 ? "-" : plus;
	if (strcmp(unit, "bytes") == 0) {
		static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
		int k = 0;
		if (a < 1024) {
			snprintf(buf, len, "%s%.0f B", neg, a);
			return buf;
		}
		while (a >= 1024 && k < 6) {
			a /= 1024;
			k++;
		}
		snprintf(buf, len, "%s%.2f %s", neg, a, u[k]);
		return buf;
	}
	if (strcmp(unit, "nanoseconds") == 0) {
		static const char *const u[] = { "ns", "us", "ms", "s" };
		int k = 0;
		while (a >= 1000 && k < 3) {
			a /= 1000;
			k++;
		}
		snprintf(buf, len, k ? "%s%.2f %s" : "%s%.0f %s", neg, a, u[k]);
		return buf;
	}
	snprintf(buf, len, "%s%lld", plus, (long long)v);
	return buf;
}

char *cli_pct(char *buf, size_t len, int64_t part, int64_t total)
{
	if (total == 0)
		snprintf(buf, len, "-");
	else    /* the size of the share, as pprof prints it: a negative change is no negative share */
		snprintf(buf, len, "%.2f%%", fabs(100.0 * (double)part / (double)total));
	return buf;
}

int cli_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	/* strtoll would take " 3" and "+3" too */
	if (!s || !((*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' && s[1] <= '9')))
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int cli_parse_seconds(const char *s, double *out)
{
	char *end;
	if (!s || !*s)
		return -1;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !(v > 0) || !isfinite(v) || v > 1e9)
		return -1;
	*out = v;
	return 0;
}

const char *cli_flame_unit(const char *type, const char *unit)
{
	if (strcmp(unit, "count") && unit[0])
		return unit;
	/* A count of what the type names: heap objects, or a CPU profile's
	 * "samples" (which "objects" would misname). */
	size_t n = strlen(type);
	return n >= 7 && strcmp(type + n - 7, "objects") == 0 ? "objects" : type[0] ? type : "objects";
}

/* ---- frame names ---- */

static void clean(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}


char *cli_frame_name(const struct pprof_profile *p, const struct pprof_location *l, size_t j, char *buf,
		     size_t len)
{
	if (j < l->nline && l->line[j].func >= 0) {
		const struct pprof_function *f = &p->function[l->line[j].func];
		const char *name = f->name[0] ? f->name : f->system_name;
		if (name[0]) {
			snprintf(buf, len, "%s", name);
			clean(buf);
			return buf;
		}
	}
	/* No name: a stable, unique stand-in, as flamegraph tools expect. */
	if (l->mapping >= 0 && p->mapping[l->mapping].file[0] && l->address >= p->mapping[l->mapping].start) {
		const struct pprof_mapping *m = &p->mapping[l->mapping];
		const char *base = strrchr(m->file, '/');
		base = base ? base + 1 : m->file;
		snprintf(buf, len, "%s+0x%llx", base, (unsigned long long)(l->address - m->start + m->offset));
	} else {
		snprintf(buf, len, "0x%llx", (unsigned long long)l->address);
	}
	clean(buf);
	return buf;
}

char *cli_node_name(const struct pprof_profile *p, const struct pprof_location *l, size_t j, char *buf,
		    size_t len)
{
	if (j < l->nline && l->line[j].func >= 0) {
		const struct pprof_function *f = &p->function[l->line[j].func];
		if (f->name[0] || f->system_name[0])
			return cli_frame_name(p, l, j, buf, len);
	}
	if (l->mapping >= 0 && p->mapping[l->mapping].file[0]) {
		const char *file = p->mapping[l->mapping].file, *base = strrchr(file, '/');
		snprintf(buf, len, "[%s]", base ? base + 1 : file);
		clean(buf);
	} else {
		snprintf(buf, len, "<unknown>");
	}
	return buf;
}

char *cli_frame_pos(const struct pprof_profile *p, const struct pprof_location *l, size_t j, char *buf,
		    size_t len)
{
	buf[0] = '\0';
	if (j < l->nline && l->line[j].func >= 0) {
		const char *file = p->function[l->line[j].func].file;
		if (file[0] && l->line[j].line > 0)
			snprintf(buf, len, "%s:%lld", file, (long long)l->line[j].line);
		else if (file[0])
			snprintf(buf, len, "%s", file);
	}
	clean(buf);
	return buf;
}

/* ---- strmap ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static int strmap_grow(struct strmap *m)
{
	size_t ns = m->nslots ? m->nslots * 2 : 256;
	uint32_t *slots = calloc(ns, sizeof *slots);
	if (!slots)
		return -1;
	for (size_t i = 0; i < m->n; i++) {
		size_t k = hash_str(m->keys[i]) & (ns - 1);
		while (slots[k])
			k = (k + 1) & (ns - 1);
		slots[k] = (uint32_t)i + 1;
	}
	free(m->slots);
	m->slots = slots;
	m->nslots = ns;
	return 0;
}

int64_t strmap_get(const struct strmap *m, const char *key)
{
	if (!m->nslots)
		return -1;
	for (size_t k = hash_str(key) & (m->nslots - 1); m->slots[k]; k = (k + 1) & (m->nslots - 1))
		if (strcmp(m->keys[m->slots[k] - 1], key) == 0)
			return m->slots[k] - 1;
	return -1;
}

int64_t strmap_put(struct strmap *m, const char *key, int *added)
{
	int64_t i = strmap_get(m, key);
	if (added)
		*added = i < 0;
	if (i >= 0)
		return i;
	if (m->n >= UINT32_MAX - 1)
		return -1;
	if ((m->n + 1) * 2 > m->nslots && strmap_grow(m))
		return -1;
	if (m->n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 64;
		char **nk = realloc(m->keys, nc * sizeof *nk);
		if (!nk)
			return -1;
		m->keys = nk;
		m->cap = nc;
	}
	char *copy = strdup(key);
	if (!copy)
		return -1;
	size_t k = hash_str(key) & (m->nslots - 1);
	while (m->slots[k])
		k = (k + 1) & (m->nslots - 1);
	m->keys[m->n] = copy;
	m->slots[k] = (uint32_t)m->n + 1;
	return (int64_t)m->n++;
}

void strmap_free(struct strmap *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->slots);
	memset(m, 0, sizeof *m);
}

/* The temporary file being written, removed if a signal ends us first:
 * `flame` stopped by timeout(1) left 'a.svg.tmp.PID' behind.  One at a
 * time; the handler only unlinks and dies of the signal as it would have
 * (SA_RESETHAND has put the default action back by then). */
static const char *volatile out_tmp;
static const int out_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
static struct sigaction out_old[sizeof out_sigs / sizeof out_sigs[0]];

static void out_on_signal(int sig)
{
	const char *t = out_tmp;
	if (t)
		unlink(t);
	raise(sig);
}

/* tmp: handlers on (a signal ignored, under nohup say, stays ignored);
 * NULL: the old ones back. */
static void out_guard(const char *tmp)
{
	for (size_t i = 0; i < sizeof out_sigs / sizeof out_sigs[0]; i++) {
		if (!tmp) {
			sigaction(out_sigs[i], &out_old[i], NULL);
			continue;
		}
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = out_on_signal;
		sa.sa_flags = SA_RESETHAND;
		sigemptyset(&sa.sa_mask);
		if (sigaction(out_sigs[i], NULL, &out_old[i]) == 0 && out_old[i].sa_handler != SIG_IGN)
			sigaction(out_sigs[i], &sa, NULL);
	}
	out_tmp = tmp;
}

int cli_out_open(struct cli_out *o, const char *path)
{
	struct stat sb;
	o->path = path;
	o->tmp = NULL;
	if (lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		if (S_ISDIR(sb.st_mode)) {
			cli_err("cannot write '%s': Is a directory", path);
			return -1;
		}
		/* /dev/stdout into a file (a >> one, say) is added to, not
		 * truncated: the file is our own stdout or stderr */
		struct stat tb, fb;
		int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
		if (stat(path, &tb) == 0 && S_ISREG(tb.st_mode))
			for (int fd = 1; fd <= 2; fd++)
				if (fstat(fd, &fb) == 0 && fb.st_dev == tb.st_dev && fb.st_ino == tb.st_ino)
					flags = O_WRONLY | O_APPEND | O_CLOEXEC;
		o->fd = open(path, flags, 0644);
	} else {
		if (asprintf(&o->tmp, "%s.tmp.%ld", path, (long)getpid()) < 0) {
			o->tmp = NULL;
			cli_err("out of memory");
			return -1;
		}
		out_guard(o->tmp);
		o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	}
	if (o->fd < 0) {
		cli_err("cannot create '%s': %s", path, strerror(errno));
		if (o->tmp)
			out_guard(NULL);
		free(o->tmp);
		o->tmp = NULL;
		return -1;
	}
	return 0;
}

int cli_out_close(struct cli_out *o, int err)
{
	if (o->fd >= 0 && close(o->fd) != 0 && !err)
		err = errno ? errno : EIO;
	o->fd = -1;
	if (!err && o->tmp && rename(o->tmp, o->path) != 0)
		err = errno;
	if (err) {
		if (err > 0)
			cli_err("cannot write '%s': %s", o->path, strerror(err));
		if (o->tmp)
			unlink(o->tmp);
	}
	if (o->tmp)
		out_guard(NULL);
	free(o->tmp);
	o->tmp = NULL;
	return err ? -1 : 0;
}

/* Copies the open file in to fd out: 0, or an errno value (-1 printed). */
static int copy_fd(int in, int out, const char *src)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cli_err("cannot read '%s': %s", src, strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return errno;
			off += w;
		}
	}
}

/* Copies src to dst (through a temporary name when dst is a regular file:
 * cli_out_open), or to stdout for "-".  Returns 0 or -1 (printed). */
int cli_copy_file(const char *src, const char *dst)
{
	struct cli_out o;
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		cli_err("cannot open '%s': %s", src, strerror(errno));
		return -1;
	}
	if (!strcmp(dst, "-")) {
		/* fd 1 as it is: opening /dev/stdout would truncate a >> file */
		int err = copy_fd(in, STDOUT_FILENO, src);
		close(in);
		if (err > 0)
			cli_err("cannot write to stdout: %s", strerror(err));
		return err ? -1 : 0;
	}
	if (cli_out_open(&o, dst)) {
		close(in);
		return -1;
	}
	int err = copy_fd(in, o.fd, src);
	close(in);
	return cli_out_close(&o, err);
}

void cli_losses(const struct pprof_profile *p, unsigned long long *dropped, unsigned long long *overflow)
{
	*dropped = *overflow = 0;
	for (size_t i = 0; i < p->ncomment; i++) {
		const char *c = strstr(p->comment[i], ": rate ");
		unsigned long long rate, d, o;
		if (!strncmp(p->comment[i], "heapprof ", 9) && c &&
		    sscanf(c, ": rate %llu, %llu samples dropped, %llu in the overflow bucket", &rate, &d, &o) == 3) {
			*dropped = d;
			*overflow = o;
		}
	}
}

const char *cli_how(const struct pprof_profile *p, char *buf, size_t len, int sampled_every)
{
	unsigned long long dropped, overflow;
	char b[64];
	if (strcmp(p->period_type.unit, "bytes") != 0)
		return "";
	cli_losses(p, &dropped, &overflow);
	if (p->period > 1)
		snprintf(buf, len, sampled_every ? " (sampled every %s on average: estimates)" : " (sampled: estimates)",
			 cli_fmt(b, sizeof b, p->period, "bytes", 0, 0));
	else if (dropped)
		snprintf(buf, len, " (every allocation recorded, but %llu dropped: totals short)", dropped);
	else
		snprintf(buf, len, " (every allocation recorded: exact)");
	return buf;
}

void cli_print_losses(FILE *f, const struct pprof_profile *p)
{
	unsigned long long dropped, overflow;
	cli_losses(p, &dropped, &overflow);
	if (dropped)
		fprintf(f, "Dropped: %llu samples the library could not record (out of memory, or a signal "
			"handler's allocation inside the profiler); they are in no total\n", dropped);
	if (overflow)
		fprintf(f, "Overflow: %llu samples past HEAPPROF_MAX_STACKS, counted under one stack, "
			"hp_stacktab_overflow_frame\n", overflow);
}

const char *cli_tmpdir(void)
{
	const char *t = getenv("TMPDIR");
	struct stat st;
	if (t && *t && stat(t, &st) == 0 && S_ISDIR(st.st_mode) && access(t, W_OK | X_OK) == 0)
		return t;
	return "/tmp";
}
