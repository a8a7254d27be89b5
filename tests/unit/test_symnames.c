/*
 * test_symnames.c - the symbolizer's two ways of naming an address agree.
 *
 * Since session 6 the ELF function names of a dump come from two pread
 * passes over each module's symbol table (hp_sym_prefetch), not from
 * libdwfl's sorted copy of it.  Both must pick the same symbol: the one
 * containing the address, the nearest sizeless one, the first of several
 * aliases (global before weak before local).  This names an address every
 * 13 bytes of the executable segments of every module in this process (the
 * test itself, libc, libdw, libelf, libz, ld.so, ...) both ways and
 * compares every frame: name, system name, file and line.
 *
 * libdwfl reads the symbol tables with elfutils' own ELF code, so it is an
 * independent reader of the tables for this comparison.
 * Links: symbolize.o profile.o ialloc.o and the library's dependencies.
 */
#include "check.h"
#include "hp.h"
#include "profile.h"

#include <link.h>
#include <stdlib.h>
#include <string.h>

HP_TLS struct hp_thread hp_self;       /* ialloc counts its lock in held */

enum { STEP = 13, MAX_PER_MODULE = 150000, MAX_ADDRS = 600000 };

static struct {
	uintptr_t *a;
	size_t n;
	int modules;
	size_t nmain;           /* the first addresses are the test program's own */
} t;

static int collect(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		size_t k = 0;
		for (uintptr_t a = lo + 1; a < hi && k < MAX_PER_MODULE && t.n < MAX_ADDRS; a += STEP, k++)
			t.a[t.n++] = a;
		t.modules += k > 0;
	}
	if (!t.nmain)
		t.nmain = t.n;  /* dl_iterate_phdr reports the program first */
	return 0;
}

/* FNV-1a over every frame's strings and line, so each address keeps 8 bytes. */
static uint64_t mix(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return (h ^ 0xff) * 0x100000001b3ull;
}

static uint64_t frames_hash(struct hp_sym *s, uintptr_t a, int *named)
{
	struct hp_symframe f[8];
	int n = hp_sym_lookup(s, a, f, 8);
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)n;
	for (int i = 0; i < n; i++) {
		h = mix(mix(mix(h, f[i].name), f[i].system_name), f[i].file);
		h = (h ^ (uint64_t)f[i].line) * 0x100000001b3ull;
	}
	*named = n > 0;
	return h;
}

int main(void)
{
	t.a = calloc(MAX_ADDRS, sizeof *t.a);
	uint64_t *ha = calloc(MAX_ADDRS, sizeof *ha);
	if (!t.a || !ha)
		return 1;
	dl_iterate_phdr(collect, NULL);

	/* dl_iterate_phdr lists modules in load order, not address order;
	 * the prefetch wants each module's addresses, in any order */
	struct hp_sym *s = hp_sym_open();
	CHECK(s != NULL, "a symbolizer session over this process");
	if (!s)
		return check_done();
	hp_sym_prefetch(s, t.a, t.n);
	size_t named = 0, named_main = 0;
	for (size_t i = 0; i < t.n; i++) {
		int ok;
		ha[i] = frames_hash(s, t.a[i], &ok);
		named += ok;
		named_main += ok && i < t.nmain;
	}
	hp_sym_close(s);

	hp_sym_test_tables = 1;
	s = hp_sym_open();
	size_t differ = 0, named_b = 0, first = SIZE_MAX;
	for (size_t i = 0; s && i < t.n; i++) {
		int ok;
		if (frames_hash(s, t.a[i], &ok) != ha[i] && differ++ == 0)
			first = i;
		named_b += ok;
	}
	if (first != SIZE_MAX) {
		struct hp_symframe f[8];
		int n = hp_sym_lookup(s, t.a[first], f, 8);
		printf("# first difference at %#lx: tables say %s\n", (unsigned long)t.a[first],
		       n > 0 ? f[n - 1].system_name : "(nothing)");
	}
	if (s)
		hp_sym_close(s);
	hp_sym_test_tables = 0;

	CHECK(t.modules >= 4 && t.n > 50000, "%zu addresses in %d modules to name", t.n, t.modules);
	/* How many of the libraries' addresses have a name depends on the
	 * machine (libc6-dbg gives libc all its local symbols); the program's
	 * own .symtab names nearly all of its code everywhere. */
	CHECK(named_main > t.nmain / 2, "most of the test program's own %zu addresses are named (%zu)", t.nmain,
	      named_main);
	CHECK(named == named_b, "both ways name the same number of addresses (%zu by pread, %zu by libdwfl's tables)",
	      named, named_b);
	CHECK(differ == 0, "the pread passes and libdwfl's tables give the same frames for every one (%zu differ)",
	      differ);
	free(ha);
	free(t.a);
	return check_done();
}
