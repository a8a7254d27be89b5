/*
 * http.c - the pprof HTTP endpoint: HEAPPROF_HTTP=ADDR:PORT serves Go's
 * net/http/pprof heap URLs from inside any preloaded process, so that
 * `go tool pprof http://127.0.0.1:6060/debug/pprof/heap` and fleet
 * profilers (Pyroscope via Alloy, Parca) work against C and C++ programs.
 *
 *   /debug/pprof/                 a small HTML index
 *   /debug/pprof/heap             gzipped profile.proto, in-use view
 *   /debug/pprof/allocs           the same with default_sample_type alloc_space
 *        ?seconds=N               the delta over the next N seconds, as Go does
 *        ?debug=1                 the legacy text format pprof also reads
 *   /debug/pprof/cmdline          the arguments joined by NUL bytes
 *
 * One thread, created with every signal blocked and its recursion guard set
 * for life (its own mallocs reach the real allocator untracked), runs a
 * poll loop over the listening socket and at most HTTP_MAX_CONNS
 * connections.  Each connection is a small state machine: read the request
 * (size-limited, with an absolute deadline so a slow client cannot hold a
 * slot), optionally wait out a ?seconds window without blocking anyone,
 * write the response (MSG_NOSIGNAL: a vanished client is an error return,
 * never SIGPIPE), then half-close and drain briefly so the client reads the
 * whole response before the socket goes.  Profiles are built one at a time
 * on this thread.  When the slots are full, a new connection evicts the
 * oldest one that has not finished sending its request.
 *
 * At exit an atexit hook only raises a flag so no new profile is started;
 * the dump code takes the table locks just to copy counters, so an
 * in-progress response cannot hold up the exit hook.  The thread is joined
 * only when the program's last thread ends without exit() (hp_http_retire).
 * A forked child has no server thread and does not serve: it closes its
 * copy of the listening socket (connection sockets are half-closed by the
 * parent with shutdown(2), so a copy left in the child delays nothing).
 *
 * The thread keeps its descriptors in a table of its own (fdtab.c), the
 * listening socket with them: hp_http_start waits until it has moved, so a
 * program that closes every descriptor first thing cannot take the socket
 * from it before then.
 */
#include "hp.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <linux/futex.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HTTP_MAX_CONNS          16
#define HTTP_MAX_REQUEST        8192            /* request line + headers */
#define HTTP_MAX_BODY           (1 << 20)       /* POST /debug/pprof/symbol */
#define HTTP_READ_NS            5000000000LL    /* whole request must arrive within */
#define HTTP_WRITE_IDLE_NS      5000000000LL    /* a response must progress within */
#define HTTP_WRITE_MAX_NS       60000000000LL   /* and be sent within */
#define HTTP_DRAIN_NS           1000000000LL    /* lingering close after the response */
#define HTTP_ACCEPT_PAUSE_NS    100000000LL     /* after EMFILE and the like */
#define HTTP_STOP_LOOK_NS       1000000000LL    /* hs.stopping looked at, at least */
#define HTTP_MAX_SECONDS        300             /* longest ?seconds= window */
/* Open ?seconds= windows at once: half the slots, so the other half serve
 * immediate requests (16 windows held every slot, and GET / waited out the
 * windows: "other requests are served while the window is open") */
#define HTTP_MAX_WINDOWS        (HTTP_MAX_CONNS / 2)

enum http_state { C_FREE, C_READ, C_WAIT, C_WRITE, C_DRAIN };

struct http_conn {
	int fd;
	enum http_state state;
	int64_t start;          /* CLOCK_MONOTONIC ns when accepted */
	int64_t deadline;       /* the state's timeout */
	int64_t write_end;      /* absolute limit for writing */
	char *req;              /* cap + 1 bytes, while reading */
	size_t rlen, cap;
	size_t hdr_end;         /* past the header block, once it has arrived */
	size_t body;            /* Content-Length of a symbol POST */
	int head;               /* HEAD: headers only */
	struct hp_buf out;      /* the whole response */
	size_t off;             /* bytes of out already sent */
	/* ?seconds=N: the first snapshot, kept until the window closes */
	struct hp_prof_sample *snap;
	size_t snap_bytes;
	long nsnap;
	int64_t t0;             /* CLOCK_REALTIME ns of the first snapshot */
	int alloc_default;
	const char *name;       /* "heap" or "allocs" */
};

static struct {
	int lfd;                /* listening socket; set once before the thread starts */
	int afd;                /* the same as the thread has it: in its own fd table, a copy */
	int running;            /* the thread was started (in this process) */
	int stopping;           /* exiting, or the socket is gone: no more work (atomic) */
	uint32_t moved;         /* the thread is in its own fd table, or never will be (futex) */
	pthread_t thread;       /* the server, joinable (hp_http_retire) */
	int64_t accept_pause;   /* don't poll the listener before this (mono ns) */
	struct sockaddr_storage bound;  /* what getsockname(lfd) must keep saying */
	socklen_t bound_len;
	char addr[80];          /* "127.0.0.1:6060" or "[::1]:6060" */
	struct http_conn conn[HTTP_MAX_CONNS];
} hs = { .lfd = -1, .afd = -1 };

/* ---- small helpers ---- */

/* Writes "heapprof: <formatted>\n" to stderr in one write(2); keeps errno. */
static void http_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void http_say(const char *fmt, ...)
{
	int e = errno;
	char buf[600];
	int n = snprintf(buf, sizeof buf, "heapprof: ");
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof buf - 2)
		n = (int)sizeof buf - 2;
	buf[n++] = '\n';
	hp_write_stderr(buf, (size_t)n, 1);
	errno = e;
}

/* Appends formatted text to b (b->err set on failure).  Cost: one
 * vsnprintf, two for lines over 256 bytes. */
static void http_printf(struct hp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void http_printf(struct hp_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = 1;
		return;
	}
	if ((size_t)n < sizeof tmp) {
		hp_buf_put(b, tmp, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		b->err = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	hp_buf_put(b, big, (size_t)n);
	free(big);
}

/* Appends the whole file at path to b.  0 or -errno. */
static int http_slurp(struct hp_buf *b, const char *path)
{
	int fd = hp_open_high(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	char tmp[4096];
	int r = 0;
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		if (n <= 0)
			break;
		hp_buf_put(b, tmp, (size_t)n);
	}
	close(fd);
	return r;
}

/* ---- connections ---- */

static void http_close(struct http_conn *c)
{
	if (c->fd >= 0) {
		/* shutdown acts on the socket, not this descriptor: the client
		 * sees the end even if a forked child holds a copy */
		shutdown(c->fd, SHUT_RDWR);
		close(c->fd);
	}
	free(c->req);
	hp_buf_free(&c->out);
	if (c->snap)
		hp_ifree(c->snap, c->snap_bytes);
	memset(c, 0, sizeof *c);
	c->fd = -1;
	c->state = C_FREE;
}

/* Sends what the socket takes now; moves to C_DRAIN when all is sent and
 * closes the connection on an error (a client gone mid-body included). */
static void http_write(struct http_conn *c)
{
	while (c->off < c->out.len) {
		ssize_t w = send(c->fd, c->out.data + c->off, c->out.len - c->off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			http_close(c);
			return;
		}
		c->off += (size_t)w;
		int64_t now = hp_mono_ns();
		c->deadline = now + HTTP_WRITE_IDLE_NS < c->write_end ? now + HTTP_WRITE_IDLE_NS : c->write_end;
	}
	/* Half-close, then read until the client closes (briefly): closing
	 * with unread request bytes would send a reset that can destroy the
	 * response before the client has read it. */
	hp_buf_free(&c->out);
	shutdown(c->fd, SHUT_WR);
	c->state = C_DRAIN;
	c->deadline = hp_mono_ns() + HTTP_DRAIN_NS;
}

static const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 301: return "Moved Permanently";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default:  return "Internal Server Error";
	}
}

/* Queues a complete response (status line, headers, body unless HEAD) and
 * starts sending it.  extra: more header lines, each ending in \r\n. */
static void http_respond(struct http_conn *c, int status, const char *ctype, const char *extra,
			 const void *body, size_t len)
{
	free(c->req);
	c->req = NULL;
	hp_buf_free(&c->out);
	http_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		    "X-Content-Type-Options: nosniff\r\nConnection: close\r\n%s\r\n",
		    status, http_reason(status), ctype, len, extra ? extra : "");
	if (!c->head && len)
		hp_buf_put(&c->out, body, len);
	if (c->out.err) {
		http_close(c);
		return;
	}
	int64_t now = hp_mono_ns();
	c->state = C_WRITE;
	c->off = 0;
	c->write_end = now + HTTP_WRITE_MAX_NS;
	c->deadline = now + HTTP_WRITE_IDLE_NS;
	http_write(c);
}

static void http_error(struct http_conn *c, int status, const char *text, const char *extra)
{
	char body[200];
	int n = snprintf(body, sizeof body, "%s\n", text);
	http_respond(c, status, "text/plain; charset=utf-8", extra, body, (size_t)n);
}

/* ---- profiles ---- */

static void http_comment(char *buf, size_t len)
{
	snprintf(buf, len, "heapprof %s: rate %llu, %llu samples dropped, %llu in the overflow bucket",
		 HP_VERSION, (unsigned long long)hp_cfg.rate,
		 (unsigned long long)__atomic_load_n(&hp_g.dropped, __ATOMIC_RELAXED),
		 (unsigned long long)__atomic_load_n(&hp_g.overflowed, __ATOMIC_RELAXED));
}

struct delta_key {
	const struct hp_prof_sample *base;
	const uintptr_t *pcs;
	uint64_t size;
};

static int delta_eq(const void *ctx, uint32_t v)
{
	const struct delta_key *k = ctx;
	return k->base[v].pcs == k->pcs && k->base[v].size == k->size;
}

/* Stacks are interned and never freed, so (pcs pointer, size) names a
 * bucket for the life of the process. */
static uint64_t delta_hash(const uintptr_t *pcs, uint64_t size)
{
	return hp_hash_u64((uint64_t)(uintptr_t)pcs ^ hp_hash_u64(size));
}

/* The ?seconds=N window closed: takes the second snapshot and builds the
 * profile of the difference into out.  allocs and frees are the counts
 * made during the window, so frees may exceed allocs (blocks allocated
 * before the window, freed in it): in-use values are then negative, as in
 * Go's delta.  Buckets that did not change are left out, as Go's merge
 * drops all-zero samples.  0 or -ENOMEM.  Cost: linear in the buckets. */
static int http_delta_build(struct http_conn *c, struct hp_buf *out)
{
	struct hp_prof_sample *s1;
	size_t bytes1;
	long n1 = hp_dump_snapshot(&s1, &bytes1);
	if (n1 < 0)
		return -ENOMEM;
	int64_t t1 = hp_now_ns();
	int r = -ENOMEM;
	struct hp_htab idx = { 0 };
	struct hp_prof_sample *d = malloc((size_t)(n1 ? n1 : 1) * sizeof *d);
	if (!d)
		goto out;
	for (long i = 0; i < c->nsnap; i++)
		if (hp_htab_add(&idx, delta_hash(c->snap[i].pcs, c->snap[i].size), (uint32_t)i) != 0)
			goto out;
	size_t k = 0;
	for (long i = 0; i < n1; i++) {
		struct delta_key key = { c->snap, s1[i].pcs, s1[i].size };
		int64_t j = hp_htab_find(&idx, delta_hash(key.pcs, key.size), delta_eq, &key);
		d[k] = s1[i];
		if (j >= 0) {
			d[k].allocs -= c->snap[j].allocs;
			d[k].frees -= c->snap[j].frees;
		}
		if (d[k].allocs || d[k].frees)
			k++;
	}
	char comment[160];
	http_comment(comment, sizeof comment);
	struct hp_prof_input in = {
		.samples = d,
		.n = k,
		.rate = hp_cfg.rate,
		.time_nanos = t1,
		.duration_nanos = t1 - c->t0,
		.alloc_default = c->alloc_default,
		.comment = comment,
	};
	r = hp_profile_build(&in, out) == 0 ? 0 : -ENOMEM;
out:
	free(d);
	hp_htab_free(&idx);
	hp_ifree(s1, bytes1);
	return r;
}

/* The legacy text heap profile (Go's ?debug=1, pprof's parseHeap):
 * raw sampled counts, which pprof scales itself ("heap/<2*rate>", Go's
 * convention: pprof halves the number), return addresses leaf first,
 * symbolized frames as # comments for people, and /proc/self/maps after
 * MAPPED_LIBRARIES: so pprof can map addresses to binaries.  0 or -ENOMEM. */
static int http_legacy_build(struct hp_buf *b)
{
	struct hp_prof_sample *s;
	size_t bytes;
	long n = hp_dump_snapshot(&s, &bytes);
	if (n < 0)
		return -ENOMEM;
	unsigned long long ia = 0, ib = 0, aa = 0, ab = 0;
	for (long i = 0; i < n; i++) {
		uint64_t live = s[i].allocs > s[i].frees ? s[i].allocs - s[i].frees : 0;
		ia += live;
		ib += live * s[i].size;
		aa += s[i].allocs;
		ab += s[i].allocs * s[i].size;
	}
	http_printf(b, "heap profile: %llu: %llu [%llu: %llu] @ heap/%llu\n", ia, ib, aa, ab,
		    2ull * (unsigned long long)hp_cfg.rate);
	struct hp_sym *sym = hp_sym_open();
	size_t na = 0;
	for (long i = 0; i < n; i++)
		na += s[i].npcs;
	uintptr_t *a = sym && na ? malloc(na * sizeof *a) : NULL;
	if (a) {                /* one pass per symbol table for all of them */
		na = 0;
		for (long i = 0; i < n; i++)
			for (uint32_t j = 0; j < s[i].npcs; j++)
				a[na++] = s[i].pcs[j] ? s[i].pcs[j] - 1 : 0;
		hp_sym_prefetch(sym, a, na);
		free(a);
	}
	for (long i = 0; i < n && !b->err; i++) {
		uint64_t live = s[i].allocs > s[i].frees ? s[i].allocs - s[i].frees : 0;
		http_printf(b, "%llu: %llu [%llu: %llu] @", (unsigned long long)live,
			    (unsigned long long)(live * s[i].size), (unsigned long long)s[i].allocs,
			    (unsigned long long)(s[i].allocs * s[i].size));
		for (uint32_t j = 0; j < s[i].npcs; j++)
			http_printf(b, " %#lx", (unsigned long)s[i].pcs[j]);
		http_printf(b, "\n");
		for (uint32_t j = 0; sym && j < s[i].npcs; j++) {
			struct hp_symframe f[8];
			uintptr_t pc = s[i].pcs[j] ? s[i].pcs[j] - 1 : 0;
			int k = hp_sym_lookup(sym, pc, f, 8);
			for (int m = 0; m < k; m++) {
				if (f[m].file)
					http_printf(b, "#\t%#lx\t%s\t%s:%lld\n", (unsigned long)pc, f[m].name,
						    f[m].file, (long long)f[m].line);
				else
					http_printf(b, "#\t%#lx\t%s\n", (unsigned long)pc, f[m].name);
			}
		}
	}
	if (sym)
		hp_sym_close(sym);
	char comment[160];
	http_comment(comment, sizeof comment);
	http_printf(b, "\n# %s\n\nMAPPED_LIBRARIES:\n", comment);
	http_slurp(b, "/proc/self/maps");
	hp_ifree(s, bytes);
	return b->err ? -ENOMEM : 0;
}

/* Value of key in a query string (first occurrence, %XX and + decoded) into
 * val.  Returns 1 if the key is present, 0 if not. */
static int http_query(const char *q, const char *key, char *val, size_t len)
{
	size_t kl = strlen(key);
	while (q && *q) {
		const char *end = strchr(q, '&');
		size_t l = end ? (size_t)(end - q) : strlen(q);
		if (l >= kl && !strncmp(q, key, kl) && (l == kl || q[kl] == '=')) {
			size_t o = 0;
			for (size_t i = kl + 1; i < l && o + 1 < len; i++) {
				char ch = q[i];
				if (ch == '+') {
					ch = ' ';
				} else if (ch == '%' && i + 2 < l && isxdigit((unsigned char)q[i + 1]) &&
					   isxdigit((unsigned char)q[i + 2])) {
					char hex[3] = { q[i + 1], q[i + 2], 0 };
					ch = (char)strtol(hex, NULL, 16);
					i += 2;
				}
				val[o++] = ch;
			}
			val[o] = 0;
			return 1;
		}
		q = end ? end + 1 : NULL;
	}
	val[0] = 0;
	return 0;
}

/* strconv.Atoi as Go's handler uses it: garbage reads as 0. */
static long long http_atoi(const char *s, int *ok)
{
	char *e;
	errno = 0;
	long long v = strtoll(s, &e, 10);
	*ok = s[0] && *e == 0 && errno == 0;
	return *ok ? v : 0;
}

/* /debug/pprof/heap and /allocs, with ?seconds= and ?debug=. */
static void http_profile(struct http_conn *c, const char *name, int alloc_default, const char *query)
{
	char sec[32], dbg[32];
	int ok;
	http_query(query, "seconds", sec, sizeof sec);
	http_query(query, "debug", dbg, sizeof dbg);
	long long debug = http_atoi(dbg, &ok);
	if (sec[0]) {
		long long n = http_atoi(sec, &ok);
		if (!ok || n <= 0) {
			http_error(c, 400, "invalid value for \"seconds\" - must be a positive integer", NULL);
			return;
		}
		if (n > HTTP_MAX_SECONDS) {
			http_error(c, 400, "profile duration exceeds the limit of 300 seconds", NULL);
			return;
		}
		if (debug) {
			http_error(c, 400, "seconds and debug params are incompatible", NULL);
			return;
		}
		int open_windows = 0;
		for (int i = 0; i < HTTP_MAX_CONNS; i++)
			open_windows += hs.conn[i].state == C_WAIT;
		if (open_windows >= HTTP_MAX_WINDOWS) {
			http_error(c, 503, "too many profiles with seconds= being collected at once; try again later",
				   "Retry-After: 10\r\n");
			return;
		}
		c->nsnap = hp_dump_snapshot(&c->snap, &c->snap_bytes);
		if (c->nsnap < 0) {
			c->snap = NULL;
			http_error(c, 500, "failed to collect profile", NULL);
			return;
		}
		c->t0 = hp_now_ns();
		c->name = name;
		c->alloc_default = alloc_default;
		free(c->req);
		c->req = NULL;
		c->state = C_WAIT;
		c->deadline = hp_mono_ns() + n * 1000000000LL;
		return;
	}
	struct hp_buf body = { 0 };
	if (debug) {
		if (http_legacy_build(&body) == 0)
			http_respond(c, 200, "text/plain; charset=utf-8", NULL, body.data, body.len);
		else
			http_error(c, 500, "failed to collect profile", NULL);
	} else {
		char extra[80];
		snprintf(extra, sizeof extra, "Content-Disposition: attachment; filename=\"%s\"\r\n", name);
		if (hp_dump_build(&body, alloc_default) == 0)
			http_respond(c, 200, "application/octet-stream", extra, body.data, body.len);
		else
			http_error(c, 500, "failed to collect profile", NULL);
	}
	hp_buf_free(&body);
}

static void http_delta_finish(struct http_conn *c)
{
	struct hp_buf body = { 0 };
	char extra[80];
	snprintf(extra, sizeof extra, "Content-Disposition: attachment; filename=\"%s-delta\"\r\n", c->name);
	if (http_delta_build(c, &body) == 0)
		http_respond(c, 200, "application/octet-stream", extra, body.data, body.len);
	else
		http_error(c, 500, "failed to compute delta", NULL);
	hp_buf_free(&body);
	hp_ifree(c->snap, c->snap_bytes);
	c->snap = NULL;
}

static void http_index(struct http_conn *c)
{
	struct hp_buf b = { 0 };
	http_printf(&b, "<html>\n<head><title>/debug/pprof/</title></head>\n<body>\n"
		    "/debug/pprof/ &mdash; heapprof %s, pid %d, sampling rate %llu<br>\n<ul>\n"
		    "<li><a href=\"allocs\">allocs</a>: a sampling of all past memory allocations\n"
		    "<li><a href=\"heap\">heap</a>: a sampling of the memory allocations of live objects"
		    " (<a href=\"heap?debug=1\">text</a>)\n"
		    "<li><a href=\"cmdline\">cmdline</a>: the command line of this program\n</ul>\n"
		    "<p>Add <code>?seconds=N</code> to heap or allocs for the allocations of the next N seconds.\n"
		    "<p><code>go tool pprof http://%s/debug/pprof/heap</code>\n</body>\n</html>\n",
		    HP_VERSION, (int)getpid(), (unsigned long long)hp_cfg.rate, hs.addr);
	if (b.err)
		http_error(c, 500, "out of memory", NULL);
	else
		http_respond(c, 200, "text/html; charset=utf-8", NULL, b.data, b.len);
	hp_buf_free(&b);
}

static void http_cmdline(struct http_conn *c)
{
	struct hp_buf b = { 0 };
	http_slurp(&b, "/proc/self/cmdline");
	if (b.len && b.data[b.len - 1] == 0)
		b.len--;        /* args joined by NUL, as Go does: no trailing NUL */
	if (b.err)
		http_error(c, 500, "out of memory", NULL);
	else
		http_respond(c, 200, "text/plain; charset=utf-8", NULL, b.data, b.len);
	hp_buf_free(&b);
}

/* /debug/pprof/symbol, the protocol pprof's symbolz client speaks: the
 * addresses come '+'-separated in the POST body (or the query of a GET);
 * the answer is "num_symbols: 1" and one "0xADDR NAME" line per address we
 * can name (the innermost function when calls were inlined, as Go does).
 * pprof asks for addresses in mappings a profile did not name, e.g. the
 * ?debug=1 text format, and stops with an error when this is missing. */
static void http_symbol(struct http_conn *c, const char *args, size_t len)
{
	struct hp_buf b = { 0 };
	http_printf(&b, "num_symbols: 1\n");
	/* All the addresses first, so that the symbolizer reads each module's
	 * table once for them (hp_sym_prefetch), not once per address. */
	uintptr_t *pcs = NULL;
	size_t npcs = 0, cap = 0;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && args[j] != '+')
			j++;
		char word[32];
		if (j - i < sizeof word) {
			memcpy(word, args + i, j - i);
			word[j - i] = 0;
			char *e;
			unsigned long long pc = strtoull(word, &e, 0);
			if (pc && *e == 0 && hp_grow(&pcs, sizeof *pcs, npcs, &cap) == 0)
				pcs[npcs++] = (uintptr_t)pc;
		}
		i = j + 1;
	}
	struct hp_sym *sym = npcs ? hp_sym_open() : NULL;
	if (sym)
		hp_sym_prefetch(sym, pcs, npcs);
	for (size_t i = 0; sym && i < npcs; i++) {
		struct hp_symframe f[8];
		if (hp_sym_lookup(sym, pcs[i], f, 8) > 0)
			http_printf(&b, "%#llx %s\n", (unsigned long long)pcs[i], f[0].name);
	}
	free(pcs);
	if (sym)
		hp_sym_close(sym);
	if (b.err)
		http_error(c, 500, "out of memory", NULL);
	else
		http_respond(c, 200, "text/plain; charset=utf-8", NULL, b.data, b.len);
	hp_buf_free(&b);
}

/* ---- requests ---- */

static int http_tchar(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Skips the empty lines a client may send before a request (RFC 9112 2.2). */
static size_t http_skip_crlf(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && (p[i] == '\r' || p[i] == '\n'))
		i++;
	return i;
}

/* Checks the request line p[0..n) ("METHOD SP TARGET SP HTTP/x.y", no
 * line end).  Returns 0, or the status to answer with. */
static int http_check_line(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && http_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i == n || p[i] != ' ')
		return 400;
	size_t t = ++i;
	while (i < n && (unsigned char)p[i] > ' ' && (unsigned char)p[i] != 0x7f)
		i++;
	if (i == t || i == n || p[i] != ' ')
		return 400;
	i++;
	if (n - i != 8 || memcmp(p + i, "HTTP/", 5) || p[i + 5] < '0' || p[i + 5] > '9' ||
	    p[i + 6] != '.' || p[i + 7] < '0' || p[i + 7] > '9')
		return 400;
	if (p[i + 5] != '1')
		return 505;
	return 0;
}

/* Bytes received so far are not a request and cannot become one: a control
 * byte, or a first line that is already wrong.  Returns 0 or a status. */
static int http_early_check(const char *p, size_t n)
{
	size_t s = http_skip_crlf(p, n);
	for (size_t i = s; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if ((ch < ' ' && ch != '\r' && ch != '\n' && ch != '\t') || ch == 0x7f)
			return 400;
	}
	const char *nl = memchr(p + s, '\n', n - s);
	if (!nl) {
		/* the method, at least, must be a token followed by a space */
		size_t i = s;
		while (i < n && http_tchar((unsigned char)p[i]))
			i++;
		return i < n && p[i] != ' ' ? 400 : 0;
	}
	size_t l = (size_t)(nl - (p + s));
	if (l && p[s + l - 1] == '\r')
		l--;
	return http_check_line(p + s, l);
}

/* Where the header block ends (just past the empty line), or 0 if it has
 * not arrived yet. */
static size_t http_header_end(const char *p, size_t n)
{
	size_t s = http_skip_crlf(p, n);
	for (size_t i = s; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < n && p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* The body a request must be read with: only a symbol POST has one we
 * use.  Returns its length, 0 for none, or -status (411, 413) to refuse. */
static long http_body_len(const char *p, size_t end)
{
	size_t s = http_skip_crlf(p, end);
	static const char want[] = "POST /debug/pprof/symbol";
	if (end - s < sizeof want || memcmp(p + s, want, sizeof want - 1) ||
	    (p[s + sizeof want - 1] != ' ' && p[s + sizeof want - 1] != '?'))
		return 0;
	const char *h = memchr(p + s, '\n', end - s);
	long len = -411;
	while (h && h + 1 < p + end) {
		h++;
		if (!strncasecmp(h, "content-length:", 15)) {
			const char *v = h + 15;
			while (*v == ' ' || *v == '\t')
				v++;
			char *e;
			unsigned long long n = strtoull(v, &e, 10);
			if (e == v || (*e != '\r' && *e != '\n' && *e != ' ' && *e != '\t'))
				return -400;
			len = n > HTTP_MAX_BODY ? -413 : (long)n;
		} else if (!strncasecmp(h, "transfer-encoding:", 18)) {
			return -411;
		}
		h = memchr(h, '\n', (size_t)(p + end - h));
	}
	return len;
}

/* A complete request is in c->req[0..end) (and its body, if any, after
 * it): parse it and answer. */
static void http_handle(struct http_conn *c, size_t end)
{
	char *p = c->req;
	size_t s = http_skip_crlf(p, end);
	char *line = p + s;
	char *nl = memchr(line, '\n', end - s);
	size_t l = (size_t)(nl - line);
	if (l && line[l - 1] == '\r')
		l--;
	int st = http_check_line(line, l);
	if (st) {
		http_error(c, st, st == 505 ? "HTTP version not supported" : "malformed request", NULL);
		return;
	}
	line[l] = 0;
	char *method = line;
	char *target = strchr(method, ' ');
	*target++ = 0;
	char *version = strchr(target, ' ');
	*version++ = 0;
	c->head = !strcmp(method, "HEAD");

	/* header fields: "name: value", no folded lines; HTTP/1.1 needs Host */
	int host = 0;
	for (char *h = nl + 1; h < p + end;) {
		char *e = memchr(h, '\n', (size_t)(p + end - h));
		size_t hl = (size_t)(e - h);
		if (hl && h[hl - 1] == '\r')
			hl--;
		if (hl == 0)
			break;
		size_t k = 0;
		while (k < hl && http_tchar((unsigned char)h[k]))
			k++;
		if (k == 0 || k == hl || h[k] != ':') {
			http_error(c, 400, "malformed header", NULL);
			return;
		}
		if (k == 4 && !strncasecmp(h, "host", 4))
			host++;
		h = e + 1;
	}
	if (!strcmp(version, "HTTP/1.1") && host != 1) {
		http_error(c, 400, "missing required Host header", NULL);
		return;
	}

	/* absolute-form: http://host/path */
	if (!strncasecmp(target, "http://", 7)) {
		target = strchr(target + 7, '/');
		if (!target) {
			http_error(c, 400, "malformed request target", NULL);
			return;
		}
	}
	if (target[0] != '/') {
		http_error(c, 400, "malformed request target", NULL);
		return;
	}
	char *query = strchr(target, '?');
	if (query)
		*query++ = 0;

	static const char *const pages[] = { "/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/allocs",
					     "/debug/pprof/cmdline", "/debug/pprof/symbol", "/debug/pprof" };
	int page = -1;
	for (int i = 0; i < (int)(sizeof pages / sizeof pages[0]); i++)
		if (!strcmp(target, pages[i]))
			page = i;
	if (page < 0) {
		http_error(c, 404, strncmp(target, "/debug/pprof/", 13) ? "404 page not found" : "Unknown profile",
			   NULL);
		return;
	}
	int post = !strcmp(method, "POST");
	if (page == 4 && strcmp(method, "GET") && !c->head && !post) {
		http_error(c, 405, "method not allowed", "Allow: GET, HEAD, POST\r\n");
		return;
	}
	if (page != 4 && strcmp(method, "GET") && !c->head) {
		http_error(c, 405, "method not allowed", "Allow: GET, HEAD\r\n");
		return;
	}
	if (__atomic_load_n(&hs.stopping, __ATOMIC_ACQUIRE)) {
		http_close(c);  /* the program is exiting */
		return;
	}
	switch (page) {
	case 0: http_index(c); break;
	case 1: http_profile(c, "heap", 0, query); break;
	case 2: http_profile(c, "allocs", 1, query); break;
	case 3: http_cmdline(c); break;
	case 4:
		if (post)
			http_symbol(c, c->req + end, c->body);
		else
			http_symbol(c, query ? query : "", query ? strlen(query) : 0);
		break;
	default: http_error(c, 301, "/debug/pprof/", "Location: /debug/pprof/\r\n"); break;
	}
}

static void http_read(struct http_conn *c)
{
	ssize_t n = recv(c->fd, c->req + c->rlen, c->cap - c->rlen, MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		http_close(c);  /* gone before the request was complete */
		return;
	}
	c->rlen += (size_t)n;
	c->req[c->rlen] = 0;    /* the parsers may read one byte past the data */
	if (c->hdr_end) {       /* reading a symbol POST's body */
		if (c->rlen >= c->hdr_end + c->body)
			http_handle(c, c->hdr_end);
		return;
	}
	int st = http_early_check(c->req, c->rlen);
	if (st) {
		http_error(c, st, st == 505 ? "HTTP version not supported" : "malformed request", NULL);
		return;
	}
	size_t end = http_header_end(c->req, c->rlen);
	if (!end) {
		if (c->rlen == c->cap)
			http_error(c, 431, "request too large", NULL);
		return;
	}
	long body = http_body_len(c->req, end);
	if (body < 0) {
		http_error(c, (int)-body, body == -413 ? "request body too large" :
			   body == -411 ? "a body needs a Content-Length" : "malformed request", NULL);
		return;
	}
	c->body = (size_t)body;
	if (c->rlen < end + c->body) {
		char *r = realloc(c->req, end + c->body + 1);
		if (!r) {
			http_error(c, 500, "out of memory", NULL);
			return;
		}
		c->req = r;
		c->cap = end + c->body;
		c->hdr_end = end;
		return;
	}
	http_handle(c, end);
}

static void http_drain(struct http_conn *c)
{
	char tmp[1024];
	ssize_t n = recv(c->fd, tmp, sizeof tmp, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK))
		http_close(c);
}

/* The connection still reading its request that came first, or -1. */
static int http_oldest_reader(void)
{
	int best = -1;
	for (int i = 0; i < HTTP_MAX_CONNS; i++)
		if (hs.conn[i].state == C_READ && (best < 0 || hs.conn[i].start < hs.conn[best].start))
			best = i;
	return best;
}

/* The listening socket is moved high (hp_fd_high): taken lowest, it was fd
 * 3 in every program, or fd 2 in one started with stderr closed, where the
 * program's (or our) next write to stderr raised SIGPIPE. */

/* Whether fd is still our listening socket.  A program that closes
 * every descriptor it did not open (daemons do) takes it away, and the
 * number may then name one of the program's own files or sockets: never
 * accept from those. */
static int http_ours(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	return getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && len == hs.bound_len &&
	       !memcmp(&ss, &hs.bound, len);
}

static void http_accept(void)
{
	if (!http_ours(hs.afd)) {      /* only in the program's table */
		hp_warn("the pprof endpoint's socket was closed by the program: not serving any more");
		hs.afd = -1;
		__atomic_store_n(&hs.lfd, -1, __ATOMIC_RELEASE);
		__atomic_store_n(&hs.stopping, 1, __ATOMIC_RELEASE);
		for (int i = 0; i < HTTP_MAX_CONNS; i++)
			if (hs.conn[i].state != C_FREE)
				http_close(&hs.conn[i]);
		return;
	}
	int fd = hp_fd_high(accept4(hs.afd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK));  /* as every fd of ours */
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			hs.accept_pause = hp_mono_ns() + HTTP_ACCEPT_PAUSE_NS;
		return;
	}
	int slot = -1;
	for (int i = 0; i < HTTP_MAX_CONNS && slot < 0; i++)
		if (hs.conn[i].state == C_FREE)
			slot = i;
	if (slot < 0) {
		/* full: the longest-idle unfinished request makes room */
		slot = http_oldest_reader();
		if (slot < 0) {
			close(fd);
			return;
		}
		http_close(&hs.conn[slot]);
	}
	struct http_conn *c = &hs.conn[slot];
	c->req = malloc(HTTP_MAX_REQUEST + 1);
	if (!c->req) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->state = C_READ;
	c->rlen = 0;
	c->cap = HTTP_MAX_REQUEST;
	c->start = hp_mono_ns();
	c->deadline = c->start + HTTP_READ_NS;
}

static void http_event(struct http_conn *c, short rev)
{
	switch (c->state) {
	case C_READ:
		http_read(c);
		break;
	case C_WAIT:
		/* Bytes after the request are ignored; a client that leaves
		 * during the window ends it. */
		if (rev & (POLLRDHUP | POLLHUP | POLLERR))
			http_close(c);
		else
			http_drain(c);
		break;
	case C_WRITE:
		if (rev & (POLLERR | POLLHUP))
			http_close(c);
		else
			http_write(c);
		break;
	case C_DRAIN:
		http_drain(c);
		break;
	case C_FREE:
		break;
	}
}

static void http_expire(void)
{
	for (int i = 0; i < HTTP_MAX_CONNS; i++) {
		struct http_conn *c = &hs.conn[i];
		if (c->state == C_FREE || c->deadline > hp_mono_ns())
			continue;
		if (c->state == C_WAIT && !__atomic_load_n(&hs.stopping, __ATOMIC_ACQUIRE))
			http_delta_finish(c);
		else
			http_close(c);  /* too slow, done draining, or exiting */
	}
}

static void *http_main(void *arg)
{
	(void)arg;
	hp_self.guard = 1;      /* everything this thread allocates is ours */
	hp_thread_disown();
	/* Its own descriptor table, the listening socket taken over into it
	 * (fdtab.c): the connections and the files a profile reads are never
	 * the program's numbers, and the program closing its copy of the
	 * socket (a daemon's close_range) leaves the endpoint serving. */
	int own = hp_fdtab_unshare();
	hs.afd = own ? hp_fdtab_program(hs.lfd) : hs.lfd;
	if (own && hs.afd >= 0 && !http_ours(hs.afd)) {
		hp_fdtab_release(hs.afd, hs.lfd);
		hs.afd = -1;
	}
	__atomic_store_n(&hs.moved, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &hs.moved, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	if (hs.afd < 0) {
		hp_warn("the pprof endpoint's thread cannot take its socket over: not serving");
		return NULL;
	}
	struct pollfd pfd[HTTP_MAX_CONNS + 1];
	int who[HTTP_MAX_CONNS + 1];
	for (;;) {
		if (__atomic_load_n(&hs.stopping, __ATOMIC_ACQUIRE))
			return NULL;
		int64_t now = hp_mono_ns(), wake = INT64_MAX;
		int n = 0, busy = 0, reader = 0;
		for (int i = 0; i < HTTP_MAX_CONNS; i++) {
			struct http_conn *c = &hs.conn[i];
			if (c->state == C_FREE)
				continue;
			busy++;
			reader |= c->state == C_READ;
			if (c->deadline < wake)
				wake = c->deadline;
			pfd[n].fd = c->fd;
			pfd[n].events = c->state == C_WRITE ? POLLOUT : c->state == C_WAIT ? POLLRDHUP | POLLIN : POLLIN;
			pfd[n].revents = 0;
			who[n++] = i;
		}
		if (hs.accept_pause > now) {
			if (hs.accept_pause < wake)
				wake = hs.accept_pause;
		} else if (busy < HTTP_MAX_CONNS || reader) {
			pfd[n].fd = hs.afd;
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			who[n++] = -1;
		}
		/* hp_http_retire wakes the poll with shutdown(2) on the program's
		 * copy of the socket; once the program has closed that, a look
		 * at hs.stopping once a second ends the thread. */
		if (own && wake > now + HTTP_STOP_LOOK_NS)
			wake = now + HTTP_STOP_LOOK_NS;
		int timeout = -1;
		if (wake != INT64_MAX)
			timeout = wake <= now ? 0 : (int)((wake - now + 999999) / 1000000);
		int r = poll(pfd, (nfds_t)n, timeout);
		if (__atomic_load_n(&hs.stopping, __ATOMIC_ACQUIRE))
			return NULL;
		if (r < 0 && errno != EINTR) {
			hp_warn("pprof endpoint: poll failed, stopped serving");
			return NULL;
		}
		for (int k = 0; r > 0 && k < n; k++) {
			if (!pfd[k].revents)
				continue;
			if (who[k] < 0)
				http_accept();
			else
				http_event(&hs.conn[who[k]], pfd[k].revents);
		}
		http_expire();
	}
}

/* ---- start, fork, exit ---- */

/* Parses "[HOST]:PORT" (HOST empty, localhost, an IPv4 address or a
 * bracketed IPv6 address; no name lookups inside someone else's process).
 * Returns 0 or -1.  *loopback says whether HOST is a loopback address. */
static int http_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len, int *loopback)
{
	const char *colon = strrchr(spec, ':');
	const char *port = colon ? colon + 1 : spec;
	size_t hl = colon ? (size_t)(colon - spec) : 0;
	char host[64];
	if (hl >= sizeof host || !*port || strlen(port) > 5 || strspn(port, "0123456789") != strlen(port))
		return -1;
	long pn = strtol(port, NULL, 10);
	if (pn > 65535)
		return -1;
	memcpy(host, spec, hl);
	host[hl] = 0;
	memset(ss, 0, sizeof *ss);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		host[hl - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
			return -1;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)pn);
		*len = sizeof *a;
		*loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
		return 0;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)pn);
	*len = sizeof *a;
	if (hl == 0 || !strcasecmp(host, "localhost"))
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
		return -1;
	*loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	return 0;
}

/* Formats the bound address as "HOST:PORT" into hs.addr. */
static void http_name(const struct sockaddr_storage *ss)
{
	char host[INET6_ADDRSTRLEN];
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
		snprintf(hs.addr, sizeof hs.addr, "[%s]:%u", host, ntohs(a->sin6_port));
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
		snprintf(hs.addr, sizeof hs.addr, "%s:%u", host, ntohs(a->sin_port));
	}
}

/* HEAPPROF_HTTP_FILE with %p replaced by the pid, written through a
 * temporary name and rename(2) so a reader sees all of it or nothing. */
static void http_write_file(const char *pattern)
{
	char path[4096], line[96];
	size_t o = 0;
	for (const char *p = pattern; *p && o + 24 < sizeof path; p++) {
		if (p[0] == '%' && p[1] == 'p') {
			o += (size_t)snprintf(path + o, sizeof path - o, "%d", (int)getpid());
			p++;
		} else {
			path[o++] = *p;
		}
	}
	path[o] = 0;
	int n = snprintf(line, sizeof line, "%s\n", hs.addr);
	int r = hp_dump_write_file(path, (const uint8_t *)line, (size_t)n);
	if (r)
		http_say("cannot write '%s': %s", path, hp_dump_write_error(r));
}

static void http_exit(void)
{
	__atomic_store_n(&hs.stopping, 1, __ATOMIC_RELEASE);
}

void hp_http_start(void)
{
	if (!hp_cfg.http || hs.running)
		return;
	if (!hp_cfg.rate) {
		hp_warn("profiling is off: HEAPPROF_HTTP is ignored");
		return;
	}
	struct sockaddr_storage ss;
	socklen_t len;
	int loopback;
	if (http_parse(hp_cfg.http, &ss, &len, &loopback) != 0) {
		http_say("bad HEAPPROF_HTTP '%s': want [HOST]:PORT, HOST an IP address or localhost; "
			 "the pprof endpoint is off", hp_cfg.http);
		return;
	}
	int want_port0 = (ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
			  : ((struct sockaddr_in *)&ss)->sin_port) == 0;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0)
		fd = hp_fd_high(fd);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
		http_say("cannot listen on '%s': %s; the pprof endpoint is off", hp_cfg.http, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	http_name(&ss);
	hs.bound = ss;
	hs.bound_len = len;
	for (int i = 0; i < HTTP_MAX_CONNS; i++)
		hs.conn[i].fd = -1;
	hs.lfd = hs.afd = fd;

	sigset_t all, old;
	pthread_attr_t attr;
	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 512 << 10);   /* joinable: hp_http_retire */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = hp_real_pthread_create(&hs.thread, &attr, http_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		hp_warn("cannot start the pprof endpoint thread");
		close(fd);
		hs.lfd = -1;
		return;
	}
	hs.running = 1;
	/* Until the thread has its own table, the socket is only in the
	 * program's.  A bound on the wait, should it never be scheduled. */
	int64_t until = hp_mono_ns() + 2000000000LL;
	for (int64_t now; !__atomic_load_n(&hs.moved, __ATOMIC_ACQUIRE) && (now = hp_mono_ns()) < until;) {
		struct timespec ts = { (until - now) / 1000000000, (until - now) % 1000000000 };
		syscall(SYS_futex, &hs.moved, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
	}
	atexit(http_exit);
	if (!loopback)
		hp_warn2("warning: heap profiles expose program internals; serving them to the network on",
			 hs.addr);
	if (want_port0)
		http_say("serving pprof on http://%s/debug/pprof/", hs.addr);
	if (hp_cfg.http_file && hp_cfg.http_file[0])
		http_write_file(hp_cfg.http_file);
}

/* The program's last thread is exiting (core.c thread_exit): stop the
 * server and wait until its thread is gone, so that glibc ends the
 * process from the program's thread.  Shutting the listening socket down
 * wakes the thread's poll(). */
void hp_http_retire(void)
{
	if (!hs.running)
		return;
	hs.running = 0;
	__atomic_store_n(&hs.stopping, 1, __ATOMIC_RELEASE);
	int fd = __atomic_load_n(&hs.lfd, __ATOMIC_ACQUIRE);
	if (fd >= 0 && http_ours(fd))
		shutdown(fd, SHUT_RDWR);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	if (pthread_timedjoin_np(hs.thread, NULL, &until) == 0 && fd >= 0 && http_ours(fd)) {
		__atomic_store_n(&hs.lfd, -1, __ATOMIC_RELEASE);
		close(fd);      /* the port is free again; a child has nothing to close */
	}
}

int hp_http_running(void)
{
	return hs.running;
}

/* The child of fork() has no server thread and does not serve: close its
 * copy of the listening socket (or the port would stay bound, unserved,
 * after the parent is gone), if the number still names it: the program
 * may have closed it and opened a file of its own there.  Connection sockets the parent was using are
 * left alone: the thread may have been changing that table at the fork, so
 * its descriptor numbers cannot be trusted here, and the parent ends each
 * connection with shutdown(2), which a copy does not delay. */
void hp_http_atfork_child(void)
{
	int fd = __atomic_load_n(&hs.lfd, __ATOMIC_ACQUIRE);
	if (!hs.running)
		return;
	hs.running = 0;
	if (fd >= 0 && http_ours(fd))
		close(fd);
	hs.lfd = -1;
	memset(hs.conn, 0, sizeof hs.conn);     /* the buffers are leaked, not freed */
}
