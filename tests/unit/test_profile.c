/*
 * test_profile.c - unit tests for profile.c and symbolize.c: the pprof
 * builder and the symbolizer, checked with go tool pprof as the
 * independent reader.
 *
 * The samples' stacks are real return addresses in this very binary, taken
 * with __builtin_return_address inside noinline functions: a global one, a
 * static one (only in .symtab: the binary is not linked with -rdynamic), one
 * whose symbol is a mangled C++ name (an asm label), and a call made from
 * code inlined into another function.  Plus odd addresses that must not
 * break anything: libc, an anonymous executable mapping, the vDSO, a
 * dlopen'ed library whose file was deleted, and an address in no mapping.
 * The profiles are read with `go tool pprof -symbolize=none` (names must
 * come from the file) and without it (pprof must not re-symbolize mappings
 * we marked), and the values compared with the formula.  Finally 100k
 * distinct stacks are built against the clock.
 *
 * This file must be compiled with -g (the Makefile's flags have it).
 * Prints "ok - ..." / "not ok - ..." per check; exits 1 if any failed.
 * HP_TEST_KEEP=1 keeps the temporary directory and prints pprof's output.
 */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hp.h"
#include "profile.h"

HP_TLS struct hp_thread hp_self;       /* ialloc counts its lock in held */

static int failed;
static int keep;
static char tmpdir[64];

static void check(int cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s - ", cond ? "ok" : "not ok");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	if (!cond)
		failed = 1;
}

/* ---- the call sites whose return addresses make the stacks ---- */

volatile uintptr_t tp_sink;
/* source lines of the calls, set on the same line as the call */
static int ln_static, ln_global, ln_cxx, ln_inlined, ln_outer, ln_main;

/* Not inlined, not cloned (a clone would be named foo.constprop.0). */
#ifdef __clang__
#define TP_NOINLINE __attribute__((noinline))
#else
#define TP_NOINLINE __attribute__((noinline, noclone))
#endif

/* Returns its own return address: a point just after a call in the caller. */
TP_NOINLINE static uintptr_t tp_grab(void)
{
	uintptr_t r = (uintptr_t)__builtin_return_address(0);
	__asm__ volatile("" : : "r"(r) : "memory");
	return r;
}

/* Static: named only by .symtab. */
TP_NOINLINE static uintptr_t tp_static_site(void)
{
	uintptr_t r = tp_grab(); ln_static = __LINE__;
	tp_sink = r;            /* after the call: no tail call */
	return r;
}

TP_NOINLINE uintptr_t tp_global_site(void)
{
	uintptr_t r = tp_grab(); ln_global = __LINE__;
	tp_sink = r;
	return r;
}

/* A C function under a C++ symbol: heapprof::tests::cxxsite(). */
uintptr_t tp_cxx_site(void) __asm__("_ZN8heapprof5tests7cxxsiteEv");
TP_NOINLINE uintptr_t tp_cxx_site(void)
{
	uintptr_t r = tp_grab(); ln_cxx = __LINE__;
	tp_sink = r;
	return r;
}

/* Inlined into tp_outer_site: the call to tp_grab is inside the inlined
 * code, so its return address has two frames, this one and the outer. */
static inline __attribute__((always_inline)) uintptr_t tp_inlined(void)
{
	uintptr_t r = tp_grab(); ln_inlined = __LINE__;
	tp_sink = r + 1;
	return r;
}

TP_NOINLINE uintptr_t tp_outer_site(void)
{
	uintptr_t r = tp_inlined(); ln_outer = __LINE__;
	tp_sink = r + 2;
	return r;
}

#define CXX_MANGLED "_ZN8heapprof5tests7cxxsiteEv"
#define CXX_NAME "heapprof::tests::cxxsite()"

/* ---- helpers ---- */

/* Runs a shell command; returns its stdout+stderr (malloc'd, never NULL)
 * and its exit status in *status. */
static char *run(int *status, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	FILE *f = popen(cmd, "r");
	size_t len = 0, cap = 1 << 16;
	char *out = malloc(cap);
	if (f) {
		size_t n;
		while ((n = fread(out + len, 1, cap - len - 1, f)) > 0) {
			len += n;
			if (cap - len < 4096)
				out = realloc(out, cap *= 2);
		}
	}
	out[len] = 0;
	int st = f ? pclose(f) : -1;
	if (status)
		*status = st;
	if (keep)
		printf("# $ %s\n%s", cmd, out);
	return out;
}

/* The line of text containing needle (copied into buf), or NULL. */
static const char *line_with(const char *text, const char *needle, char *buf, size_t cap)
{
	const char *p = strstr(text, needle);
	if (!p)
		return NULL;
	const char *b = p, *e = p;
	while (b > text && b[-1] != '\n')
		b--;
	while (*e && *e != '\n')
		e++;
	size_t n = (size_t)(e - b) < cap - 1 ? (size_t)(e - b) : cap - 1;
	memcpy(buf, b, n);
	buf[n] = 0;
	return e;       /* the rest, from the newline */
}

/* Does a line of text contain both a and b? */
static int line_has(const char *text, const char *a, const char *b)
{
	for (const char *p = text; (p = strstr(p, a)) != NULL; p++) {
		const char *s = p, *e = p;
		while (s > text && s[-1] != '\n')
			s--;
		while (*e && *e != '\n')
			e++;
		const char *q = strstr(s, b);
		if (q && q < e)
			return 1;
	}
	return 0;
}

static int write_file(const char *path, const struct hp_buf *b)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	size_t n = fwrite(b->data, 1, b->len, f);
	return (fclose(f) == 0 && n == b->len) ? 0 : -1;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double clock_s(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The main program's GNU build ID, read from its note segment in memory
 * (independently of profile.c, which reads the file). */
static int self_build_id_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	char *hex = data;
	if (info->dlpi_name && info->dlpi_name[0])
		return 0;       /* not the main program */
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		const uint8_t *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			const uint8_t *name = p + sizeof *nh;
			const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    memcmp(name, "GNU", 4) == 0) {
				for (unsigned k = 0; k < nh->n_descsz && k < 64; k++)
					sprintf(hex + 2 * k, "%02x", desc[k]);
				return 1;
			}
			p = desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
	return 0;
}

/* ---- the expected values ---- */

/* The unbiasing weight, written independently of profile.c. */
static void expect(uint64_t size, uint64_t n, uint64_t rate, long long *objs, long long *bytes)
{
	if (rate <= 1) {
		*objs = (long long)n;
		*bytes = (long long)(n * size);
		return;
	}
	double w = 1.0 / (1.0 - exp(-(double)size / (double)rate));
	*objs = llround((double)n * w);
	*bytes = llround((double)n * w * (double)size);
}

/* ---- the tests ---- */

static uintptr_t pc_static, pc_global, pc_cxx, pc_outer, pc_main;
static uintptr_t pc_libc, pc_anon, pc_vdso, pc_deleted, pc_nowhere;
static int have_vdso_fn;        /* pc_vdso is in a vDSO function (not under valgrind) */

/* Sets up the odd addresses. */
static void setup_odd_addresses(void)
{
	/* libc's own qsort (under a sanitizer &qsort is the interceptor) */
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	void *q = libc ? dlsym(libc, "qsort") : NULL;
	pc_libc = (uintptr_t)(q ? q : (void *)&qsort) + 2;     /* addr = pc - 1, inside qsort */
	pc_nowhere = 0x11;
	void *anon = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pc_anon = anon == MAP_FAILED ? 0x21 : (uintptr_t)anon + 0x101;
	/* glibc lists the vDSO as a loaded object: find a real function in it */
	void *v = dlopen("linux-vdso.so.1", RTLD_NOW | RTLD_NOLOAD);
	void *vf = v ? dlsym(v, "__vdso_clock_gettime") : NULL;
	uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	pc_vdso = vf ? (uintptr_t)vf + 2 : vdso ? vdso + 0x801 : 0x31;
	have_vdso_fn = vf != NULL;

	/* a copy of libz, loaded and then deleted: "/tmp/.../libzcopy.so (deleted)" */
	char src[] = "/lib/x86_64-linux-gnu/libz.so.1", dst[128];
	snprintf(dst, sizeof dst, "%s/libzcopy.so", tmpdir);
	int st;
	free(run(&st, "cp %s %s 2>/dev/null || cp $(ldconfig -p | awk '/libz.so.1 /{print $NF; exit}') %s",
		 src, dst, dst));
	void *h = dlopen(dst, RTLD_NOW | RTLD_LOCAL);
	void *fn = h ? dlsym(h, "zlibVersion") : NULL;
	pc_deleted = fn ? (uintptr_t)fn + 2 : 0x41;
	unlink(dst);
	check(fn != NULL, "set-up: dlopen'ed a copy of libz and deleted its file");
}

static void test_symbolizer(void)
{
	struct hp_symframe fr[8];
	char what[128];

	struct hp_sym *s = hp_sym_open();
	check(s != NULL, "hp_sym_open on this process");
	if (!s)
		return;

	int n = hp_sym_lookup(s, pc_static - 1, fr, 8);
	check(n == 1 && strcmp(fr[0].name, "tp_static_site") == 0 &&
	      strcmp(fr[0].system_name, "tp_static_site") == 0,
	      "a static function (only in .symtab) is named");
	check(n == 1 && fr[0].file && strstr(fr[0].file, "test_profile.c") && fr[0].line == ln_static,
	      "its file:line is test_profile.c:%d (got %s:%lld)", ln_static,
	      n ? fr[0].file : "-", n ? (long long)fr[0].line : 0LL);

	n = hp_sym_lookup(s, pc_global - 1, fr, 8);
	check(n == 1 && strcmp(fr[0].name, "tp_global_site") == 0 && fr[0].line == ln_global,
	      "a global function (not exported: no -rdynamic) is named, with its line");

	n = hp_sym_lookup(s, pc_outer - 1, fr, 8);
	check(n == 2 && strcmp(fr[0].name, "tp_inlined") == 0 && fr[0].line == ln_inlined &&
	      strcmp(fr[1].name, "tp_outer_site") == 0 && fr[1].line == ln_outer &&
	      fr[1].file && strstr(fr[1].file, "test_profile.c"),
	      "inlined call: 2 frames, tp_inlined:%d then tp_outer_site:%d (got %d: %s:%lld, %s:%lld)",
	      ln_inlined, ln_outer, n, n > 0 ? fr[0].name : "-", n > 0 ? (long long)fr[0].line : 0LL,
	      n > 1 ? fr[1].name : "-", n > 1 ? (long long)fr[1].line : 0LL);
	n = hp_sym_lookup(s, pc_outer - 1, fr, 1);
	check(n == 1 && strcmp(fr[0].name, "tp_inlined") == 0, "max = 1 keeps the innermost frame");

	/* Nothing in this process has loaded libstdc++ yet: no demangler. */
	int have_cxx = dlsym(RTLD_DEFAULT, "__cxa_demangle") != NULL;
	n = hp_sym_lookup(s, pc_cxx - 1, fr, 8);
	if (!have_cxx)
		check(n == 1 && strcmp(fr[0].name, CXX_MANGLED) == 0 &&
		      strcmp(fr[0].system_name, CXX_MANGLED) == 0,
		      "without libstdc++ a C++ name stays mangled in both fields (pprof demangles it)");
	n = hp_sym_lookup(s, pc_main - 1, fr, 8);
	check(n == 1 && strcmp(fr[0].name, "main") == 0 && fr[0].line == ln_main, "main is named, with its line");

	n = hp_sym_lookup(s, pc_libc - 1, fr, 8);
	check(n >= 1 && strcmp(fr[n - 1].name, "qsort") == 0, "libc's qsort is named (got %s)",
	      n ? fr[n - 1].name : "nothing");

	n = hp_sym_lookup(s, pc_nowhere - 1, fr, 8);
	check(n == 0, "an address in no mapping: 0 frames");
	n = hp_sym_lookup(s, pc_anon - 1, fr, 8);
	check(n == 0, "an anonymous executable mapping: 0 frames");
	n = hp_sym_lookup(s, pc_vdso - 1, fr, 8);
	if (!have_vdso_fn)
		printf("ok - # SKIP the vDSO: no __vdso_clock_gettime here (%d frames)\n", n);
	else
		check(n == 1 && strstr(fr[0].name, "clock_gettime") && !fr[0].file,
		      "the vDSO's clock_gettime is named, without a file (got %s)", n ? fr[0].name : "nothing");
	n = hp_sym_lookup(s, pc_deleted - 1, fr, 8);
	check(n == 1 && strcmp(fr[0].name, "zlibVersion") == 0,
	      "a library whose file was deleted is named from memory (got %s)", n ? fr[0].name : "nothing");
	n = hp_sym_lookup(s, 0, fr, 8);
	n += hp_sym_lookup(s, UINTPTR_MAX, fr, 8);
	check(n == 0, "addresses 0 and UINTPTR_MAX: 0 frames");

	struct hp_symframe a, b;
	hp_sym_lookup(s, pc_static - 1, &a, 1);
	hp_sym_lookup(s, pc_static - 1, &b, 1);
	check(a.name == b.name && a.file == b.file, "a second lookup answers from the cache");
	check(hp_sym_lookup(NULL, pc_static - 1, fr, 8) == 0 && hp_sym_lookup(s, pc_static - 1, fr, 0) == 0,
	      "NULL session or max 0: 0 frames");
	hp_sym_close(s);
	hp_sym_close(NULL);

	/* With libstdc++ loaded, a new session demangles. */
	void *h = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_GLOBAL);
	s = hp_sym_open();
	n = hp_sym_lookup(s, pc_cxx - 1, fr, 8);
	snprintf(what, sizeof what, "with libstdc++ loaded: name %s, system_name %s", CXX_NAME, CXX_MANGLED);
	if (h || have_cxx)
		check(n == 1 && strcmp(fr[0].name, CXX_NAME) == 0 && strcmp(fr[0].system_name, CXX_MANGLED) == 0 &&
		      fr[0].line == ln_cxx, "%s (got %s)", what, n ? fr[0].name : "nothing");
	else
		printf("ok - # SKIP %s: libstdc++.so.6 not found\n", what);
	hp_sym_close(s);
}

/* The samples of the main profile: one per call site, known values. */
struct tp_case {
	const char *what;
	uintptr_t *leaf;
	uint64_t size, allocs, frees;
	const char *name;       /* the leaf's function as pprof must show it, or NULL */
	int *line;              /* its line, or NULL */
};
static uintptr_t stacks[16][2];
static struct tp_case cases[] = {
	{ "static function", &pc_static, 37, 4, 2, "tp_static_site", &ln_static },
	{ "C++ function", &pc_cxx, 1000, 5, 5, CXX_NAME, &ln_cxx },
	{ "inlined call", &pc_outer, 1 << 20, 3, 1, "tp_inlined", &ln_inlined },
	{ "global function, 3 GB objects", &pc_global, 3000000000ull, 11, 4, "tp_global_site", &ln_global },
	{ "libc", &pc_libc, 40, 2, 0, "qsort", NULL },
	{ "no mapping", &pc_nowhere, 13, 2, 2, NULL, NULL },
	{ "anonymous mapping", &pc_anon, 4090, 9, 3, NULL, NULL },
	{ "vDSO", &pc_vdso, 72, 1, 0, NULL, NULL },
	{ "deleted library", &pc_deleted, 333, 4, 4, "zlibVersion", NULL },
};
#define NCASES (sizeof cases / sizeof cases[0])

/* Builds the profile of the cases at rate into path.  0 or -1. */
static int build_cases(const char *path, uint64_t rate, int alloc_default, const char *comment)
{
	struct hp_prof_sample smp[NCASES];
	for (size_t i = 0; i < NCASES; i++) {
		stacks[i][0] = *cases[i].leaf;
		stacks[i][1] = pc_main;
		smp[i].pcs = stacks[i];
		smp[i].npcs = 2;
		smp[i].size = cases[i].size;
		smp[i].allocs = cases[i].allocs;
		smp[i].frees = cases[i].frees;
	}
	struct hp_prof_input in = {
		.samples = smp, .n = NCASES, .rate = rate,
		.time_nanos = now_ns(), .duration_nanos = 1500000000,
		.alloc_default = alloc_default, .comment = comment,
	};
	struct hp_buf out = { 0 };
	int rc = hp_profile_build(&in, &out);
	if (rc == 0)
		rc = write_file(path, &out);
	hp_buf_free(&out);
	return rc;
}

/* Checks pprof -raw's Samples section against the cases at rate. */
static void check_raw_values(const char *raw, uint64_t rate)
{
	const char *p = strstr(raw, "inuse_space/bytes");
	p = p ? strchr(p, '\n') : NULL;
	size_t i = 0;
	int all = p != NULL, labels = p != NULL;
	for (; p && i < NCASES; i++) {
		long long got[4], want[4];
		int used = 0;
		if (sscanf(p, " %lld %lld %lld %lld:%n", &got[0], &got[1], &got[2], &got[3], &used) != 4) {
			all = 0;
			break;
		}
		expect(cases[i].size, cases[i].allocs, rate, &want[0], &want[1]);
		expect(cases[i].size, cases[i].allocs - cases[i].frees, rate, &want[2], &want[3]);
		int same = memcmp(got, want, sizeof got) == 0;
		if (!same || keep)
			printf("#   %s: got %lld %lld %lld %lld want %lld %lld %lld %lld\n", cases[i].what,
			       got[0], got[1], got[2], got[3], want[0], want[1], want[2], want[3]);
		all &= same;
		/* next line: the label */
		p = strchr(p + 1, '\n');
		char lab[64];
		snprintf(lab, sizeof lab, "bytes:[%llu]", (unsigned long long)cases[i].size);
		const char *e = p ? strchr(p + 1, '\n') : NULL;
		const char *l = p ? strstr(p, lab) : NULL;
		labels &= l && e && l < e;
		p = e;
	}
	check(all && i == NCASES, "rate %llu: all %zu samples' 4 values equal the formula (pprof -raw)",
	      (unsigned long long)rate, (size_t)NCASES);
	check(labels && i == NCASES, "rate %llu: every sample has the numeric label bytes = its size",
	      (unsigned long long)rate);
}

static void test_profile_pprof(void)
{
	char path1[128], path2[128], buf[1200], exe[512];
	snprintf(path1, sizeof path1, "%s/rate1.pb.gz", tmpdir);
	snprintf(path2, sizeof path2, "%s/rate524288.pb.gz", tmpdir);
	ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[el > 0 ? el : 0] = 0;

	check(build_cases(path1, 1, 0, NULL) == 0, "build a rate-1 profile");
	check(build_cases(path2, 524288, 1, "dropped 3 samples") == 0,
	      "build a rate-524288 profile (alloc default, comment)");

	int st;
	char *ver = run(&st, "go version 2>&1");
	if (st != 0) {
		check(0, "go tool pprof is available (install golang-go)");
		free(ver);
		return;
	}
	free(ver);

	/* Names must come from the file: pprof reads no binary. */
	char *raw = run(&st, "PPROF_BINARY_PATH=/nonexistent go tool pprof -symbolize=none -raw %s 2>&1", path1);
	check(st == 0 && strstr(raw, "Samples:"), "pprof -raw reads the rate-1 profile");
	check(strstr(raw, "PeriodType: space bytes") && strstr(raw, "Period: 1\n"),
	      "period_type space/bytes, period 1");
	check(strstr(raw, "alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes\n") != NULL,
	      "sample types in Go's order, no default set");
	check(strstr(raw, "Time: ") && strstr(raw, "Duration: 1.5s"), "time_nanos and duration_nanos present");
	for (size_t i = 0; i < NCASES; i++) {
		if (!cases[i].name)
			continue;
		char name[128], fl[64];
		snprintf(name, sizeof name, " %s ", cases[i].name);
		if (cases[i].line) {
			snprintf(fl, sizeof fl, "test_profile.c:%d ", *cases[i].line);
			check(line_has(raw, name, fl), "%s: location shows%s%s", cases[i].what, name, fl);
		} else {
			check(strstr(raw, name) != NULL, "%s: location shows%s", cases[i].what, name);
		}
	}
	check(line_has(raw, " " CXX_NAME " ", "(" CXX_MANGLED ")"),
	      "C++ function: demangled name with the mangled system_name");
	/* the inlined location: tp_inlined line, then tp_outer_site on the next */
	snprintf(buf, sizeof buf, " tp_inlined ");
	char l1[512], l2[512];
	const char *rest = line_with(raw, buf, l1, sizeof l1);
	int inl = rest && *rest == '\n' && line_with(rest + 1, "", l2, sizeof l2) != NULL;
	char w1[64], w2[64];
	snprintf(w1, sizeof w1, "test_profile.c:%d ", ln_inlined);
	snprintf(w2, sizeof w2, "test_profile.c:%d ", ln_outer);
	check(inl && strstr(l1, w1) && strstr(l2, " tp_outer_site ") && strstr(l2, w2) && !strstr(l2, "M="),
	      "inlined frames: one location, tp_inlined:%d then tp_outer_site:%d", ln_inlined, ln_outer);
	snprintf(buf, sizeof buf, "test_profile.c:%d ", ln_main);
	check(line_has(raw, " main ", buf), "the caller frame: main at test_profile.c:%d", ln_main);
	check_raw_values(raw, 1);

	/* mappings: ours fully symbolized with its build ID; the anonymous one bare */
	char bid[129] = "";
	dl_iterate_phdr(self_build_id_cb, bid);
	snprintf(buf, sizeof buf, " %s %s [FN][FL][LN][IN]", exe, bid);
	check(bid[0] && strstr(raw, buf), "this binary's mapping: file, build ID %s, [FN][FL][LN][IN]", bid);
	snprintf(buf, sizeof buf, ": %#lx/", (unsigned long)(pc_anon & ~(uintptr_t)4095));
	check(line_with(raw, buf, l1, sizeof l1) && !strstr(l1, "[FN]"),
	      "the anonymous executable mapping has no has_* flags");
	snprintf(buf, sizeof buf, "%s/libzcopy.so ", tmpdir);
	check(line_with(raw, buf, l1, sizeof l1) != NULL, "the deleted library's mapping is named without \" (deleted)\"");
	snprintf(buf, sizeof buf, ": %#lx M=", (unsigned long)(pc_nowhere - 1));
	check(line_with(raw, ": 0x10 ", l1, sizeof l1) && !strstr(l1, "M="),
	      "an address in no mapping: location without mapping or lines");
	free(raw);

	/* Default symbolization: pprof must keep our names, not redo them
	 * from the binary (which would give "cxx_site"-style DWARF names). */
	raw = run(&st, "PPROF_BINARY_PATH=/nonexistent go tool pprof -raw %s 2>&1", path1);
	check(st == 0 && line_has(raw, " " CXX_NAME " ", "(" CXX_MANGLED ")") &&
	      line_has(raw, " tp_static_site ", "test_profile.c"),
	      "with symbolization on, pprof keeps the names of marked mappings");
	free(raw);

	/* The sampled profile. */
	raw = run(&st, "PPROF_BINARY_PATH=/nonexistent go tool pprof -symbolize=none -raw %s 2>&1", path2);
	check(st == 0 && strstr(raw, "Period: 524288\n") &&
	      strstr(raw, "alloc_objects/count alloc_space/bytes[dflt] inuse_objects/count inuse_space/bytes\n") &&
	      strstr(raw, "Comment: dropped 3 samples\n"),
	      "rate 524288: period, default_sample_type alloc_space, comment");
	check_raw_values(raw, 524288);
	free(raw);

	/* -top per sample index, in bytes/objects */
	static const char *const idx[4] = { "alloc_objects", "alloc_space", "inuse_objects", "inuse_space" };
	for (int k = 0; k < 4; k++) {
		/* bytes in plain B (counts are printed plainly already); every
		 * node, however small */
		char *top = run(&st, "go tool pprof -symbolize=none %s -top -nodefraction=0 -nodecount=1000 "
				"-sample_index=%s %s 2>&1", (k & 1) ? "-unit=B" : "", idx[k], path2);
		int ok = st == 0;
		for (size_t i = 0; i < NCASES && ok; i++) {
			if (!cases[i].name)
				continue;
			long long v[4];
			expect(cases[i].size, cases[i].allocs, 524288, &v[0], &v[1]);
			expect(cases[i].size, cases[i].allocs - cases[i].frees, 524288, &v[2], &v[3]);
			char want[160], nm[128];
			/* flat column first: "<value>B <pct>% ..." or a bare count */
			snprintf(nm, sizeof nm, " %s\n", cases[i].name);
			const char *l = strstr(top, nm);
			if (v[k] == 0) {
				ok = l == NULL;         /* zero-valued nodes are not shown */
				continue;
			}
			snprintf(want, sizeof want, (k & 1) ? "%lldB " : "%lld ", v[k]);
			if (!l) {
				ok = 0;
				break;
			}
			const char *b = l;
			while (b > top && b[-1] != '\n')
				b--;
			while (*b == ' ')
				b++;
			ok = strncmp(b, want, strlen(want)) == 0;
			if (!ok)
				printf("#   %s: %s: want flat %s\n", idx[k], cases[i].name, want);
		}
		check(ok, "pprof -top -sample_index=%s: each named site's flat value equals the formula", idx[k]);
		free(top);
	}
}

/* 100k distinct stacks of depth 12 over ~2000 real code addresses in this
 * binary and libc: must build in well under a second. */
static void test_scale(void)
{
	enum { NSTACKS = 100000, DEPTH = 12 };
	uintptr_t pool[2048];
	size_t np = 0;
	/* executable mappings: this binary's and libc's text */
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512], exe[512];
	ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[el > 0 ? el : 0] = 0;
	uintptr_t ranges[8][2];
	int nr = 0;
	while (f && fgets(line, sizeof line, f) && nr < 8) {
		unsigned long lo, hi;
		char perm[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) == 3 && strchr(perm, 'x') &&
		    (strstr(line, exe) || strstr(line, "/libc.so"))) {
			ranges[nr][0] = lo;
			ranges[nr][1] = hi;
			nr++;
		}
	}
	if (f)
		fclose(f);
	for (int r = 0; r < nr; r++) {
		size_t want = 1024 / nr + 1;
		uintptr_t step = (ranges[r][1] - ranges[r][0]) / want;
		for (size_t k = 0; k < want && np < 2048; k++)
			pool[np++] = ranges[r][0] + 1 + k * step + (k * 7) % 61;
	}
	/* a few hundred of them inside functions we know, at distinct offsets */
	for (int k = 0; k < 512 && np < 2048; k++)
		pool[np++] = pc_libc - 1 + (uintptr_t)k;
	for (int k = 0; k < 256 && np < 2048; k++)
		pool[np++] = pc_static - 8 + (uintptr_t)(k % 16);

	uintptr_t *pcs = malloc(sizeof *pcs * NSTACKS * DEPTH);
	struct hp_prof_sample *smp = malloc(sizeof *smp * NSTACKS);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < NSTACKS; i++) {
		uintptr_t *s = pcs + i * DEPTH;
		/* the first two frames make every stack distinct */
		s[0] = pool[i % np];
		s[1] = pool[(i / np) % np];
		for (int d = 2; d < DEPTH; d++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			s[d] = pool[x % np];
		}
		smp[i].pcs = s;
		smp[i].npcs = DEPTH;
		smp[i].size = 16 * (1 + i % 64);
		smp[i].allocs = 1 + i % 5;
		smp[i].frees = i % 2;
	}
	struct hp_prof_input in = { .samples = smp, .n = NSTACKS, .rate = 524288, .time_nanos = now_ns() };
	struct hp_buf out = { 0 };
	/* CPU time is what the build costs; wall time also counts whatever
	 * else the (2-core, shared) machine is running */
	double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	int rc = hp_profile_build(&in, &out);
	double c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0, w = clock_s(CLOCK_MONOTONIC) - w0;
	printf("# 100000 distinct stacks x %d frames over %zu addresses: %.0f ms CPU, %.0f ms wall, "
	       "%zu bytes gzipped\n", DEPTH, np, c * 1000, w * 1000, out.len);
	check(rc == 0 && out.len > 0, "100k-stack profile built");
	check(c < 1.0, "100k-stack profile built in under 1 s of CPU (%.3f s)", c);

	/* and pprof reads it: total inuse_objects as the formula says */
	char path[128];
	snprintf(path, sizeof path, "%s/scale.pb.gz", tmpdir);
	long long total = 0;
	for (size_t i = 0; i < NSTACKS; i++) {
		long long o, b;
		expect(smp[i].size, smp[i].allocs - smp[i].frees, 524288, &o, &b);
		total += o;
	}
	if (rc == 0 && write_file(path, &out) == 0) {
		int st;
		int saved = keep;
		keep = 0;
		char *top = run(&st, "go tool pprof -symbolize=none -top -nodecount=1 -sample_index=inuse_objects %s 2>&1",
				path);
		keep = saved;
		char want[128];
		snprintf(want, sizeof want, "%% of %lld total", total);
		check(st == 0 && strstr(top, want), "pprof reads it: inuse_objects total %lld", total);
		if (keep)
			printf("%.600s\n", top);
		free(top);
	}
	hp_buf_free(&out);
	free(pcs);
	free(smp);
}

/* Edge cases of the input: no samples, an empty stack, size 0, and a delta
 * sample with more frees than allocations. */
static void test_edges(void)
{
	struct hp_buf out = { 0 };
	struct hp_prof_input in = { .rate = 524288 };
	int rc = hp_profile_build(&in, &out);
	check(rc == 0 && out.len > 20 && out.data[0] == 0x1f && out.data[1] == 0x8b,
	      "a profile with no samples is a valid gzip stream");
	char path[128];
	snprintf(path, sizeof path, "%s/empty.pb.gz", tmpdir);
	write_file(path, &out);
	hp_buf_free(&out);
	int st;
	char *raw = run(&st, "go tool pprof -symbolize=none -raw %s 2>&1", path);
	check(st == 0 && strstr(raw, "Samples:"), "pprof reads the empty profile");
	free(raw);

	struct hp_prof_sample smp[3] = {
		{ .pcs = NULL, .npcs = 0, .size = 8, .allocs = 1, .frees = 0 },
		{ .pcs = &pc_static, .npcs = 1, .size = 0, .allocs = 3, .frees = 1 },
		{ .pcs = &pc_static, .npcs = 1, .size = 16, .allocs = 2, .frees = 5 },   /* a delta */
	};
	in.samples = smp;
	in.n = 3;
	in.rate = 1;
	rc = hp_profile_build(&in, &out);
	snprintf(path, sizeof path, "%s/edges.pb.gz", tmpdir);
	write_file(path, &out);
	hp_buf_free(&out);
	raw = run(&st, "go tool pprof -symbolize=none -raw %s 2>&1", path);
	check(rc == 0 && st == 0 && strstr(raw, "Samples:"),
	      "empty stack, size 0, frees > allocs: built and read by pprof");
	check(strstr(raw, "         3          0          2          0: ") != NULL,
	      "size 0 counts its objects unscaled, 0 bytes");
	check(strstr(raw, "         2         32         -3        -48: ") != NULL,
	      "frees > allocs (a delta window): negative in-use values");
	free(raw);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	keep = getenv("HP_TEST_KEEP") != NULL;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/hp_test_profile.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		printf("not ok - cannot create a temporary directory\n");
		return 1;
	}
	pc_static = tp_static_site();
	pc_global = tp_global_site();
	pc_cxx = tp_cxx_site();
	pc_outer = tp_outer_site();
	pc_main = tp_grab(); ln_main = __LINE__;
	setup_odd_addresses();

	test_symbolizer();
	test_profile_pprof();
	test_edges();
	test_scale();

	if (!keep) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", tmpdir);
	} else {
		printf("# kept %s\n", tmpdir);
	}
	return failed;
}
