/*
 * symbolize.c - addresses in this process -> function names, file:line and
 * inlined frames, through elfutils (libdwfl/libdw).
 *
 * Why not dladdr: it only sees .dynsym, so executables linked without
 * -rdynamic and every static function would be nameless.  libdwfl reads
 * each module's .symtab (or .dynsym, or the separate debug file) and its
 * DWARF.  A session reports this process's modules from /proc/PID/maps
 * once; each distinct address is then resolved once and cached.
 *
 * Names: a module's ELF symbol table is read with pread in 64 KiB pieces,
 * two passes, for all the addresses of a dump at once (hp_sym_prefetch):
 * mapped whole, as libdwfl maps it, the table and its strings stayed
 * resident until the session ended - 2 MiB for gcc's cc1 (.dynsym and
 * .dynstr), 0.5 MiB for libc6-dbg's symbol table - and the sorted copy of
 * every function symbol we kept cost as much again.  Now the cost is a
 * few words per address.  Where the file cannot be read that way (a
 * deleted file, the vdso, MiniDebugInfo) the table comes from libdwfl,
 * sorted once, O(log n) per name (libdwfl's own dwfl_module_addrsym scans
 * the whole table on every call, too slow for big C++ programs).  DWARF, where
 * present, gives the line table and the chain of concrete DIEs containing
 * the address; each DW_TAG_inlined_subroutine in that chain is one extra
 * frame whose caller's file:line is its DW_AT_call_file/DW_AT_call_line.
 * (dwarf_getscopes is not used: past an inlined instance it follows the
 * abstract origin's lexical parents, not the concrete callers.)  Each
 * compile unit's functions are indexed by PC range on first use, so a
 * lookup walks only the DIEs of one function, not a C++ CU's thousands of
 * declarations; and because libdw 0.188 finds no CU for an address in a
 * module without .debug_aranges (clang emits none), modules get a CU index
 * of their own when libdw's lookup fails.  Checked against binutils
 * addr2line (gcc) and llvm-symbolizer (clang) on a 4096-address C++
 * program: the same frames, file:line and inline depth.
 *
 * C++ names are demangled with __cxa_demangle found at run time through
 * dlsym, so the library does not link libstdc++; in a C program that does
 * not load libstdc++ names stay mangled and pprof demangles them itself.
 *
 * Separate debug files are searched only locally, by build ID under
 * /usr/lib/debug/.build-id: libdwfl's standard callback would also ask
 * debuginfod servers (network, from inside the profiled program).  A
 * library whose file was deleted is read from memory (dynamic symbols).
 *
 * Everything here runs off the hot path with the recursion guard set, so
 * malloc is fine.  A session is not thread-safe; use one per thread.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dwlib.h"        /* before profile.h: its libelf part */
#include "profile.h"

#define SYM_MAX_FRAMES 32       /* inline depth kept per address */
#define SYM_MAX_SCOPES 64       /* DWARF nesting followed per address */

typedef char *(*sym_demangle_fn)(const char *mangled, char *buf, size_t *len, int *status);

/* One function symbol of a module, absolute address. */
struct sym_func {
	uintptr_t start;
	uint64_t size;
	const char *name;       /* owned by libdwfl; lives as long as the session */
	int rank;               /* among aliases: 0 global, 1 weak, 2 local */
};

/* One compile unit's PC range. */
struct sym_curange {
	Dwarf_Addr lo, hi;      /* [lo, hi), DWARF addresses */
	Dwarf_Die *cu;          /* owned by libdwfl */
};

/* A symbol table read from its file with pread (see the top of the file). */
struct sym_src {
	int fd;                 /* -1: none; names come from libdwfl (sym_mod.fn) */
	int is64;               /* Elf64_Sym entries, else Elf32_Sym */
	uint64_t symoff, nsym;  /* the table: file offset, entries */
	uint64_t stroff, strsize;       /* its string table */
	Dwarf_Addr bias;        /* added to st_value */
};

/* What we keep per module, hung on its libdwfl user-data slot and built
 * on first use. */
struct sym_mod {
	struct sym_src src;     /* fd >= 0: names by hp_sym_prefetch, fn unused */
	struct sym_func *fn;    /* ELF function symbols, sorted by start */
	size_t nfn;
	/* CUs by PC range, for modules without .debug_aranges (clang does not
	 * emit them, and libdw 0.188 finds no CU without them); built the first
	 * time libdw's own lookup fails */
	int cus_built;
	struct sym_curange *cu;
	size_t ncu;
	Dwarf_Addr bias;
	int own_dwarf;          /* the module's own file carries .debug_info */
};

/* One PC range of a function (DW_TAG_subprogram) with code. */
struct sym_fnrange {
	Dwarf_Addr lo, hi;      /* [lo, hi), DWARF addresses (no bias) */
	Dwarf_Die die;          /* a Dwarf_Die is a plain value, valid while the session lives */
};

/* A compile unit's functions sorted by lo: built on the CU's first lookup
 * so later lookups binary-search instead of walking the CU's DIE tree
 * (which, for C++, holds thousands of declarations). */
struct sym_cuidx {
	const void *key;        /* the CU DIE's address in the debug data: unique */
	size_t n, cap;
	struct sym_fnrange *f;
};

/* An interned string. */
struct sym_str {
	char *s;
	const char *demangled; /* NULL until sym_demangle asked; may be s itself */
};

/* One resolved address. */
struct sym_entry {
	uintptr_t addr;
	int n;
	struct hp_symframe f[];
};

struct hp_sym {
	Dwfl *dwfl;
	int attached;           /* sym_attach done */
	sym_demangle_fn demangle;       /* NULL when libstdc++ is not loaded */
	/* addr -> entry cache */
	struct sym_entry **ent;
	size_t nent, capent;
	struct hp_htab enttab;
	/* interned strings (copies that outlive libdw calls), each with its
	 * demangled form once asked for: a C++ name recurs in many addresses */
	struct sym_str *str;
	size_t nstr, capstr;
	struct hp_htab strtab;
	/* every module's state, for close */
	struct sym_mod **mods;
	size_t nmods, capmods;
	/* per-CU function indexes */
	struct sym_cuidx **cus;
	size_t ncus, capcus;
	struct hp_htab cutab;
	/* addr -> ELF function name (interned, or NULL), found by
	 * hp_sym_prefetch for modules with a sym_src */
	struct sym_name *names;
	size_t nnames, capnames;
	struct hp_htab nametab;
};

/* An address's ELF function name, as hp_sym_prefetch found it. */
struct sym_name {
	uintptr_t addr;
	const char *name;       /* session-owned; NULL: no symbol contains addr */
};

/* The state of a module we ran out of memory for: no symbols, no CUs, and
 * nothing to build (so it is never written). */
static struct sym_mod sym_nomod = { .src.fd = -1, .cus_built = 1 };

/* ---- the libdwfl callbacks ---- */

/* The local path of the separate debug file for build ID id[0..n) (n >= 1):
 * /usr/lib/debug/.build-id/xx/yyyy....debug. */
#define SYM_DEBUG_PATH_MAX (64 + 2 * 64 + 16)
static void sym_debug_path(char path[SYM_DEBUG_PATH_MAX], const unsigned char *id, int n)
{
	int k = snprintf(path, SYM_DEBUG_PATH_MAX, "/usr/lib/debug/.build-id/%02x/", id[0]);
	for (int i = 1; i < n; i++)
		k += snprintf(path + k, SYM_DEBUG_PATH_MAX - (size_t)k, "%02x", id[i]);
	snprintf(path + k, SYM_DEBUG_PATH_MAX - (size_t)k, ".debug");
}

/* Finds a module's separate debug file by build ID, locally only.  Returns
 * an open fd (and the path in *debuginfo_file_name, freed by libdwfl) or -1. */
static int sym_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			      Dwarf_Addr base, const char *file_name,
			      const char *debuglink_file, GElf_Word debuglink_crc,
			      char **debuginfo_file_name)
{
	(void)userdata; (void)modname; (void)base; (void)file_name;
	(void)debuglink_file; (void)debuglink_crc;
	const unsigned char *id;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(mod, &id, &vaddr);
	if (n < 2 || n > 64)
		return -1;
	char path[SYM_DEBUG_PATH_MAX];
	sym_debug_path(path, id, n);
	int fd = hp_open_high(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	*debuginfo_file_name = strdup(path);
	return fd;
}

/* libdwfl keeps the file it opens until the session ends: kept high
 * (hp_fd_high), like every descriptor of ours. */
static int sym_find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base, char **file_name,
			Elf **elfp)
{
	return hp_fd_high(dwfl_linux_proc_find_elf(mod, userdata, modname, base, file_name, elfp));
}

static const Dwfl_Callbacks sym_callbacks = {
	.find_elf = sym_find_elf,
	.find_debuginfo = sym_find_debuginfo,
};

/* ---- sessions ---- */

/* Opens a session over the modules mapped in this process now.  Returns
 * NULL on failure (then nothing can be named; callers still write
 * addresses).  Cost: reads /proc/self/maps and opens each module's ELF
 * file; symbol tables and DWARF are read lazily, per module, on first use. */
struct hp_sym *hp_sym_open(void)
{
	if (hp_dwlib_load() != 0)
		return NULL;
	struct hp_sym *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->dwfl = dwfl_begin(&sym_callbacks);
	if (!s->dwfl) {
		free(s);
		return NULL;
	}
	dwfl_report_begin(s->dwfl);
	/* > 0: /proc/PID/maps unreadable (an errno).  -1: a module could not
	 * be reported; the ones before it still are, so go on with those. */
	int rc = dwfl_linux_proc_report(s->dwfl, getpid());
	if (dwfl_report_end(s->dwfl, NULL, NULL) != 0 || rc > 0) {
		dwfl_end(s->dwfl);
		free(s);
		return NULL;
	}
	s->demangle = (sym_demangle_fn)dlsym(RTLD_DEFAULT, "__cxa_demangle");
	return s;
}

/* Adds a module that is no longer mapped (a dlclose'd library, see
 * modtab.c), to be read from its file at load bias base.  Returns 0, or -1
 * when libdwfl refuses it (e.g. another module now covers its range). */
int hp_sym_add_module(struct hp_sym *s, const char *path, uintptr_t base)
{
	dwfl_report_begin_add(s->dwfl);
	Dwfl_Module *m = dwfl_report_elf(s->dwfl, path, path, -1, base, false);
	dwfl_report_end(s->dwfl, NULL, NULL);
	return m ? 0 : -1;
}

/* Frees the session and every string it handed out. */
void hp_sym_close(struct hp_sym *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nent; i++)
		free(s->ent[i]);
	free(s->ent);
	hp_htab_free(&s->enttab);
	for (size_t i = 0; i < s->nstr; i++)
		free(s->str[i].s);
	free(s->str);
	hp_htab_free(&s->strtab);
	free(s->names);
	hp_htab_free(&s->nametab);
	for (size_t i = 0; i < s->nmods; i++) {
		if (s->mods[i]->src.fd >= 0)
			close(s->mods[i]->src.fd);
		free(s->mods[i]->fn);
		free(s->mods[i]->cu);
		free(s->mods[i]);
	}
	free(s->mods);
	for (size_t i = 0; i < s->ncus; i++) {
		free(s->cus[i]->f);
		free(s->cus[i]);
	}
	free(s->cus);
	hp_htab_free(&s->cutab);
	dwfl_end(s->dwfl);
	free(s);
}

/* ---- strings ---- */

struct sym_strkey {
	const struct hp_sym *s;
	const char *str;
};

static int sym_str_eq(const void *ctx, uint32_t v)
{
	const struct sym_strkey *k = ctx;
	return strcmp(k->s->str[v].s, k->str) == 0;
}

/* The index of the session's copy of str (one copy per distinct string),
 * or -1 when memory ran out.  O(length) expected. */
static int64_t sym_intern_idx(struct hp_sym *s, const char *str)
{
	uint64_t h = hp_hash_bytes(str, strlen(str));
	struct sym_strkey k = { s, str };
	int64_t v = hp_htab_find(&s->strtab, h, sym_str_eq, &k);
	if (v >= 0)
		return v;
	if (s->nstr >= UINT32_MAX - 1)
		return -1;
	if (hp_grow(&s->str, sizeof *s->str, s->nstr, &s->capstr))
		return -1;
	char *c = strdup(str);
	if (!c)
		return -1;
	if (hp_htab_add(&s->strtab, h, (uint32_t)s->nstr)) {
		free(c);
		return -1;
	}
	s->str[s->nstr].s = c;
	s->str[s->nstr].demangled = NULL;
	return (int64_t)s->nstr++;
}

/* The session's copy of str, or NULL for NULL or when memory ran out. */
static const char *sym_intern(struct hp_sym *s, const char *str)
{
	int64_t i = str ? sym_intern_idx(s, str) : -1;
	return i >= 0 ? s->str[i].s : NULL;
}

static int sym_is_mangled(const char *n)
{
	return n && n[0] == '_' && n[1] == 'Z';
}

/* The display form of an ELF/linkage name: demangled when it is a C++
 * name and libstdc++'s demangler is present, else the name itself.
 * Session-owned; each distinct name is demangled once. */
static const char *sym_demangle(struct hp_sym *s, const char *mangled)
{
	if (!sym_is_mangled(mangled) || !s->demangle)
		return sym_intern(s, mangled);
	int64_t i = sym_intern_idx(s, mangled);
	if (i < 0)
		return NULL;
	if (!s->str[i].demangled) {
		int status = -1;
		char *d = s->demangle(mangled, NULL, NULL, &status);
		const char *r = status == 0 && d ? sym_intern(s, d) : NULL;
		free(d);
		/* (sym_intern may have moved s->str) */
		s->str[i].demangled = r ? r : s->str[i].s;
	}
	return s->str[i].demangled;
}

/* ---- ELF symbol tables ---- */

static int sym_func_cmp(const void *a, const void *b)
{
	const struct sym_func *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	/* among aliases: sized first (the search needs them), then the usual
	 * name - global before weak before local, then the one with fewer
	 * leading underscores (malloc, not __libc_malloc) - then by name for
	 * a stable answer */
	if ((x->size == 0) != (y->size == 0))
		return x->size == 0 ? 1 : -1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	size_t ux = strspn(x->name, "_"), uy = strspn(y->name, "_");
	if (ux != uy)
		return ux < uy ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* mod's state, built on first use: its function symbols, sorted.
 * Returns &sym_nomod when memory ran out.  Cost: one pass over the symbol
 * table and a sort, once per module. */
/* Whether the module's own ELF file has DWARF.  File and line are read
 * only from such modules: a separate debug file (libc6-dbg's, say) has its
 * sections compressed, and inflating them cost 0.1 s and ~20 MiB at every
 * dump for file:line inside system libraries (docs/performance.md).  Their
 * symbol tables are still used for names. */
static int sym_has_own_dwarf(Dwfl_Module *mod)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	size_t shstrndx;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return 0;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn)) != NULL;) {
		GElf_Shdr sh;
		const char *name;
		if (gelf_getshdr(scn, &sh) && (name = elf_strptr(elf, shstrndx, sh.sh_name)) &&
		    (!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info")))
			return 1;
	}
	return 0;
}

static int sym_src_open(Dwfl_Module *mod, struct sym_src *src);
static int sym_src_files(const char *mainfile, const unsigned char *want, int nid, GElf_Addr bias,
			 struct sym_src *src, int light);

/* Attached, libdwfl reads a module whose file was deleted (or the vDSO)
 * from our own memory through /proc/self/mem, so its dynamic symbols
 * still name it.  Done only when such a module is first looked at: the
 * attach state costs 100 KiB of RSS at a dump that needs none.
 * assume_ptrace_stopped: no ptrace (nothing here asks for threads).
 * Optional: failure only costs that. */
static void sym_attach(struct hp_sym *s, const char *modname)
{
	if (s->attached || (modname && modname[0] == '/' && access(modname, R_OK) == 0))
		return;
	s->attached = 1;
	dwfl_linux_proc_attach(s->dwfl, getpid(), true);
}

/* The loaded object covering address lo, as dl_iterate_phdr reports it. */
struct sym_dlhit {
	uintptr_t lo;
	uintptr_t bias;
	unsigned char id[64];
	size_t nid;             /* 0: not found, or no build ID */
};

static int sym_dl_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct sym_dlhit *h = arg;
	int hit = 0;
	for (int i = 0; i < info->dlpi_phnum && !hit; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + (ph->p_vaddr & ~(uintptr_t)4095);
		hit = ph->p_type == PT_LOAD && h->lo >= start && h->lo < info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	if (!hit)
		return 0;
	h->bias = info->dlpi_addr;
	h->nid = hp_mem_build_id(info, h->id);
	return 1;
}

/* Names for a module without libdwfl: when its file (modname, the path
 * in /proc/self/maps) has the build ID of the loaded image and neither
 * DWARF nor MiniDebugInfo, the symbol table is chosen as sym_src_open
 * would, with the load bias and build ID taken from our own memory.  Then
 * libdwfl never maps the file (for libc, the pages it touched and its
 * state were about 0.2 MiB at a dump).  Returns 0, or -1 (src->fd = -1):
 * libdwfl must open it. */
static int sym_mod_light(const char *modname, Dwfl_Module *mod, struct sym_src *src)
{
	struct sym_dlhit h = { 0 };
	src->fd = -1;
	if (!modname || modname[0] != '/')
		return -1;
	dwfl_module_info(mod, NULL, &h.lo, NULL, NULL, NULL, NULL, NULL);
	dl_iterate_phdr(sym_dl_cb, &h);
	if (!h.nid)
		return -1;
	return sym_src_files(modname, h.id, (int)h.nid, h.bias, src, 1);
}

int hp_sym_test_tables;

static struct sym_mod *sym_mod_get(struct hp_sym *s, Dwfl_Module *mod)
{
	void **ud = NULL;
	const char *modname = dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
	if (!ud)
		return &sym_nomod;
	if (*ud)
		return *ud;
	sym_attach(s, modname);
	struct sym_mod *m = calloc(1, sizeof *m);
	if (!m || hp_grow(&s->mods, sizeof *s->mods, s->nmods, &s->capmods)) {
		free(m);
		return *ud = &sym_nomod;
	}
	s->mods[s->nmods++] = m;
	*ud = m;
	m->src.fd = -1;
	if (!hp_sym_test_tables && sym_mod_light(modname, mod, &m->src) == 0)
		return m;       /* own_dwarf 0: names only, libdwfl never opens it */
	m->own_dwarf = sym_has_own_dwarf(mod);
	if (!hp_sym_test_tables && sym_src_open(mod, &m->src) == 0)
		return m;
	int nsym = dwfl_module_getsymtab(mod);
	if (nsym <= 1 || !(m->fn = malloc((size_t)nsym * sizeof m->fn[0])))
		return m;
	size_t n = 0;
	for (int i = 1; i < nsym; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);
		if (!name || !name[0] || sym.st_shndx == SHN_UNDEF || addr == 0)
			continue;
		/* as the pread path does (sym_iter_next): no function is 4 GiB */
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_size >= ((uint64_t)1 << 32))
			continue;
		int bind = GELF_ST_BIND(sym.st_info);
		m->fn[n].start = (uintptr_t)addr;
		m->fn[n].size = sym.st_size;
		m->fn[n].name = name;
		m->fn[n].rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
		n++;
	}
	if (n)
		qsort(m->fn, n, sizeof m->fn[0], sym_func_cmp);
	m->nfn = n;
	return m;
}

/* The ELF function symbol containing addr, or NULL.  O(log n). */
static const char *sym_elf_name(const struct sym_mod *m, uintptr_t addr)
{
	/* last symbol with start <= addr */
	size_t lo = 0, hi = m->nfn;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->fn[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	size_t i = lo - 1;
	/* A sized symbol must contain addr; step back over a few small ones
	 * nested in a bigger function (e.g. local labels typed as functions).
	 * A sizeless symbol (hand-written assembly) counts only if it is the
	 * nearest: past a sized function's end is padding, not _init. */
	for (size_t back = 0; back < 8; back++, i--) {
		const struct sym_func *f = &m->fn[i];
		if ((f->size == 0 && back == 0) || (f->size && addr - f->start < f->size)) {
			/* first among equal starts: the sized one sorted first */
			while (i > 0 && m->fn[i - 1].start == f->start)
				f = &m->fn[--i];
			return f->name;
		}
		if (i == 0)
			break;
	}
	return NULL;
}


static int sym_addr_cmp(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

/* ---- ELF symbol tables read with pread ---- */

#define SYM_CHUNK (16u << 10)   /* bytes of symbol table read at a time */

/* The GNU build ID among e's note sections or segments: its length (the
 * bytes at *id, inside e's data), or 0. */
static size_t sym_elf_build_id(Elf *e, const unsigned char **id)
{
	size_t nph = 0;
	for (int pass = 0; pass < 2; pass++) {
		Elf_Scn *scn = NULL;
		size_t i = 0;
		if (pass == 1 && elf_getphdrnum(e, &nph) != 0)
			break;
		for (;;) {
			Elf_Data *d = NULL;
			if (pass == 0) {
				GElf_Shdr sh;
				if (!(scn = elf_nextscn(e, scn)))
					break;
				if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
					continue;
				d = elf_getdata(scn, NULL);
			} else {
				GElf_Phdr ph;
				if (i >= nph)
					break;
				if (!gelf_getphdr(e, (int)i++, &ph) || ph.p_type != PT_NOTE || !ph.p_filesz)
					continue;
				d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz,
							 ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
			}
			size_t n = hp_note_build_id(d, id);
			if (n)
				return n;
		}
	}
	return 0;
}

/* The lowest PT_LOAD address of e (0 if none): a debug file's addresses
 * are the main file's shifted by the difference. */
static GElf_Addr sym_elf_lowest_load(Elf *e)
{
	size_t nph = 0;
	GElf_Addr lo = 0;
	int any = 0;
	if (elf_getphdrnum(e, &nph) != 0)
		return 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && (!any || ph.p_vaddr < lo)) {
			lo = ph.p_vaddr;
			any = 1;
		}
	}
	return lo;
}

/* Whether e has a section named name. */
static int sym_elf_has(Elf *e, const char *name)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(e, &shstrndx) != 0)
		return 0;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn)) != NULL;) {
		GElf_Shdr sh;
		const char *n;
		if (gelf_getshdr(scn, &sh) && (n = elf_strptr(e, shstrndx, sh.sh_name)) && !strcmp(n, name))
			return 1;
	}
	return 0;
}

/* Finds e's symbol table of the given type (SHT_SYMTAB or SHT_DYNSYM)
 * and its string table, inside a file of size bytes.  0, or -1. */
static int sym_elf_table(Elf *e, unsigned type, uint64_t size, struct sym_src *src)
{
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn)) != NULL;) {
		GElf_Shdr sh, st;
		Elf_Scn *ss;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type)
			continue;
		uint64_t ent = src->is64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym);
		if (sh.sh_entsize != ent || sh.sh_offset > size || sh.sh_size > size - sh.sh_offset ||
		    !(ss = elf_getscn(e, sh.sh_link)) || !gelf_getshdr(ss, &st) ||
		    st.sh_type != SHT_STRTAB || st.sh_offset > size || st.sh_size > size - st.sh_offset)
			return -1;
		src->symoff = sh.sh_offset;
		src->nsym = sh.sh_size / ent;
		src->stroff = st.sh_offset;
		src->strsize = st.sh_size;
		return 0;
	}
	return -1;
}

/* Opens path as a native-endian ELF file whose build ID is want[0..n).
 * Returns the fd with *e set (free with elf_end, close), or -1. */
static int sym_elf_open(const char *path, const unsigned char *want, size_t n, Elf **e, uint64_t *size,
			int *is64)
{
	int fd = hp_open_high(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct stat stb;
	/* ELF_C_READ: headers and notes by read(), never the whole file */
	*e = fstat(fd, &stb) == 0 && S_ISREG(stb.st_mode) ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
	const unsigned char *id = NULL;
	size_t k = 0;
	const char *ident = *e && elf_kind(*e) == ELF_K_ELF ? elf_getident(*e, NULL) : NULL;
	GElf_Ehdr eh;
	if (ident && ident[EI_DATA] == (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB) &&
	    gelf_getehdr(*e, &eh) && eh.e_type != ET_REL && (k = sym_elf_build_id(*e, &id)) == n &&
	    memcmp(id, want, n) == 0) {
		*size = (uint64_t)stb.st_size;
		*is64 = ident[EI_CLASS] == ELFCLASS64;
		return fd;
	}
	elf_end(*e);
	*e = NULL;
	close(fd);
	return -1;
}

/* Chooses where mod's function names come from, as libdwfl would: the
 * file's .symtab, else the separate debug file's, else .dynsym; opens it
 * for pread into src.  Returns 0, or -1 (src->fd = -1) when libdwfl
 * should read the table instead: no file with the module's build ID
 * (deleted, the vdso), MiniDebugInfo (.gnu_debugdata), no table.  Cost:
 * reads the ELF and section headers of one or two files. */
static int sym_src_files(const char *mainfile, const unsigned char *want, int nid, GElf_Addr bias,
			 struct sym_src *src, int light);

static int sym_src_open(Dwfl_Module *mod, struct sym_src *src)
{
	GElf_Addr bias;
	const char *mainfile = NULL;
	const unsigned char *want;
	GElf_Addr idaddr;
	src->fd = -1;
	Elf *me = dwfl_module_getelf(mod, &bias);
	if (!me || sym_elf_has(me, ".gnu_debugdata"))
		return -1;
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile, NULL);
	int nid = dwfl_module_build_id(mod, &want, &idaddr);
	if (!mainfile || mainfile[0] != '/' || nid <= 0 || nid > 64)
		return -1;
	return sym_src_files(mainfile, want, nid, bias, src, 0);
}

/* sym_src_open's choice of table once the module's file, build ID and
 * load bias are known.  light: the caller has not opened the module with
 * libdwfl and wants it only if it carries no DWARF and no MiniDebugInfo;
 * returns -1 then, without opening anything more, when it does. */
static int sym_src_files(const char *mainfile, const unsigned char *want, int nid, GElf_Addr bias,
			 struct sym_src *src, int light)
{
	Elf *e;
	uint64_t size;
	src->fd = -1;
	int fd = sym_elf_open(mainfile, want, (size_t)nid, &e, &size, &src->is64);
	if (fd < 0)
		return -1;
	if (light && (sym_elf_has(e, ".debug_info") || sym_elf_has(e, ".zdebug_info") ||
		      sym_elf_has(e, ".gnu_debugdata"))) {
		elf_end(e);
		close(fd);
		return -1;
	}
	src->bias = bias;
	if (sym_elf_table(e, SHT_SYMTAB, size, src) == 0) {
		elf_end(e);
		src->fd = fd;
		return 0;
	}
	char path[SYM_DEBUG_PATH_MAX];
	sym_debug_path(path, want, nid);
	Elf *de;
	uint64_t dsize;
	struct sym_src d = *src;
	int dfd = sym_elf_open(path, want, (size_t)nid, &de, &dsize, &d.is64);
	if (dfd >= 0) {
		if (sym_elf_table(de, SHT_SYMTAB, dsize, &d) == 0) {
			d.bias = bias + sym_elf_lowest_load(e) - sym_elf_lowest_load(de);
			d.fd = dfd;
			*src = d;
			elf_end(de);
			elf_end(e);
			close(fd);
			return 0;
		}
		elf_end(de);
		close(dfd);
	}
	int rc = sym_elf_table(e, SHT_DYNSYM, size, src);
	elf_end(e);
	if (rc == 0)
		src->fd = fd;
	else
		close(fd);
	return rc;
}

/* One function symbol as read from a sym_src. */
struct sym_one {
	uintptr_t start;
	uint64_t size;
	uint32_t name;          /* offset in the string table */
	int rank;               /* 0 global, 1 weak, 2 local */
};

/* Reads src's symbols in SYM_CHUNK pieces. */
struct sym_iter {
	const struct sym_src *src;
	unsigned char *buf;     /* SYM_CHUNK bytes */
	uint64_t i;             /* next symbol */
	size_t have, pos;       /* bytes in buf, next one */
};

/* The next function symbol (as sym_mod_get keeps them): 1, 0 at the end,
 * -1 on a read error. */
static int sym_iter_next(struct sym_iter *it, struct sym_one *o)
{
	const struct sym_src *src = it->src;
	size_t ent = src->is64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym);
	for (;;) {
		if (it->pos + ent > it->have) {
			if (it->i >= src->nsym)
				return 0;
			uint64_t left = (src->nsym - it->i) * ent;
			size_t want = left < SYM_CHUNK ? (size_t)left : SYM_CHUNK / ent * ent;
			ssize_t r = pread(src->fd, it->buf, want, (off_t)(src->symoff + it->i * ent));
			if (r < (ssize_t)ent)
				return -1;
			it->have = (size_t)r / ent * ent;
			it->pos = 0;
		}
		uint64_t idx = it->i++;
		const unsigned char *p = it->buf + it->pos;
		it->pos += ent;
		uint32_t name;
		unsigned char info;
		uint16_t shndx;
		uint64_t value, size;
		if (src->is64) {
			Elf64_Sym y;
			memcpy(&y, p, sizeof y);
			name = y.st_name, info = y.st_info, shndx = y.st_shndx;
			value = y.st_value, size = y.st_size;
		} else {
			Elf32_Sym y;
			memcpy(&y, p, sizeof y);
			name = y.st_name, info = y.st_info, shndx = y.st_shndx;
			value = y.st_value, size = y.st_size;
		}
		int type = GELF_ST_TYPE(info), bind = GELF_ST_BIND(info);
		/* No function is 4 GiB long: such a size is a corrupt file, and
		 * would make pass 1 walk every later address for the symbol. */
		if (idx == 0 || name == 0 || name >= src->strsize || shndx == SHN_UNDEF ||
		    (type != STT_FUNC && type != STT_GNU_IFUNC) || size >= ((uint64_t)1 << 32))
			continue;
		o->start = (uintptr_t)(shndx == SHN_ABS ? value : value + src->bias);
		if (o->start == 0)
			continue;
		o->size = size;
		o->name = name;
		o->rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
		return 1;
	}
}

/* The NUL-terminated name at offset off of src's string table, malloc'd;
 * NULL on a read error or when memory ran out. */
static char *sym_src_str(const struct sym_src *src, uint32_t off)
{
	size_t cap = 256, len = 0;
	char *b = malloc(cap);
	while (b) {
		uint64_t at = src->stroff + off + len;
		uint64_t left = src->strsize - off - len;
		size_t want = cap - len - 1 < left ? cap - len - 1 : (size_t)left;
		ssize_t r = want ? pread(src->fd, b + len, want, (off_t)at) : 0;
		if (r <= 0) {
			free(b);
			return NULL;
		}
		char *z = memchr(b + len, 0, (size_t)r);
		len += (size_t)r;
		if (z)
			return b;
		if (len == src->strsize - off) {
			b[len] = 0;
			return b;
		}
		char *nb = realloc(b, cap * 2);
		if (!nb)
			free(b);
		b = nb;
		cap *= 2;
	}
	return NULL;
}

/* Whether symbol a sorts before b at the same start, as sym_func_cmp
 * orders aliases: sized, then global/weak/local, then fewer leading
 * underscores, then by name. */
static int sym_one_before(const struct sym_src *src, const struct sym_one *a, const struct sym_one *b)
{
	if ((a->size == 0) != (b->size == 0))
		return a->size != 0;
	if (a->rank != b->rank)
		return a->rank < b->rank;
	char *x = sym_src_str(src, a->name), *y = sym_src_str(src, b->name);
	int r = 0;
	if (x && y) {
		size_t ux = strspn(x, "_"), uy = strspn(y, "_");
		r = ux != uy ? ux < uy : strcmp(x, y) < 0;
	}
	free(x);
	free(y);
	return r;
}

/* The first index in a[0..n) (sorted) with a[i] >= v. */
static size_t sym_lower(const uintptr_t *a, size_t n, uintptr_t v)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct sym_nkey {
	const struct hp_sym *s;
	uintptr_t addr;
};

static int sym_name_eq(const void *ctx, uint32_t v)
{
	const struct sym_nkey *k = ctx;
	return k->s->names[v].addr == k->addr;
}

/* The entry of addr in the names table, or NULL. */
static const struct sym_name *sym_name_find(const struct hp_sym *s, uintptr_t addr)
{
	struct sym_nkey k = { s, addr };
	int64_t v = hp_htab_find(&s->nametab, hp_hash_u64(addr), sym_name_eq, &k);
	return v >= 0 ? &s->names[v] : NULL;
}

/* Per address of a sym_src_names batch. */
struct sym_want {
	uintptr_t max;          /* largest start <= addr (of symbols whose first address is this one) */
	uintptr_t cont;         /* largest start of a sized symbol containing addr */
	unsigned char has_max, sizeless, has_cont;
	uintptr_t target;       /* the start whose best alias names addr */
	int has_target;
};

/* Names the sorted, distinct addresses a[0..n) of module m from its
 * sym_src and records them in s's names table - the same names
 * sym_elf_name gives from a sorted table: the symbols at the largest start
 * <= addr when one of them is sizeless, else those at the largest start of
 * a sized symbol containing addr; the first of them in sym_func_cmp order.
 * (sym_elf_name looks back at most 8 symbols for a containing one; this
 * looks at all.)  Two passes over the table with pread; memory O(n). */
static void sym_src_names(struct hp_sym *s, struct sym_mod *m, const uintptr_t *a, size_t n)
{
	struct sym_want *w = calloc(n, sizeof *w);
	struct sym_one *best = calloc(n, sizeof *best);
	uintptr_t *tg = malloc(n * sizeof *tg);
	unsigned char *buf = malloc(SYM_CHUNK);
	size_t nt = 0;
	int ok = w && best && tg && buf;
	struct sym_one o;
	/* pass 1: the largest start at or before each address, and the
	 * largest start of a sized symbol containing it */
	struct sym_iter it = { &m->src, buf, 0, 0, 0 };
	int r;
	while (ok && (r = sym_iter_next(&it, &o)) != 0) {
		if (r < 0) {
			ok = 0;
			break;
		}
		size_t j = sym_lower(a, n, o.start);
		if (j == n)
			continue;
		if (!w[j].has_max || o.start > w[j].max) {
			w[j].max = o.start;
			w[j].has_max = 1;
			w[j].sizeless = 0;
		}
		if (o.start == w[j].max && o.size == 0)
			w[j].sizeless = 1;
		for (size_t t = j; o.size && t < n && a[t] - o.start < o.size; t++)
			if (!w[t].has_cont || o.start > w[t].cont) {
				w[t].cont = o.start;
				w[t].has_cont = 1;
			}
	}
	/* the target start of each address, and the distinct targets */
	uintptr_t max = 0;
	int has = 0, sizeless = 0;
	for (size_t t = 0; ok && t < n; t++) {
		if (w[t].has_max && (!has || w[t].max > max)) {
			max = w[t].max;
			sizeless = w[t].sizeless;
			has = 1;
		} else if (w[t].has_max && w[t].max == max) {
			sizeless |= w[t].sizeless;
		}
		if (has && sizeless) {
			w[t].target = max;
			w[t].has_target = 1;
		} else if (w[t].has_cont) {
			w[t].target = w[t].cont;
			w[t].has_target = 1;
		}
		if (w[t].has_target)
			tg[nt++] = w[t].target;
	}
	if (ok && nt) {
		qsort(tg, nt, sizeof *tg, sym_addr_cmp);
		size_t u = 1;
		for (size_t i = 1; i < nt; i++)
			if (tg[i] != tg[u - 1])
				tg[u++] = tg[i];
		nt = u;
	}
	/* pass 2: the first alias in sym_func_cmp order at each target */
	it = (struct sym_iter){ &m->src, buf, 0, 0, 0 };
	while (ok && nt && (r = sym_iter_next(&it, &o)) != 0) {
		if (r < 0) {
			ok = 0;
			break;
		}
		size_t j = sym_lower(tg, nt, o.start);
		if (j < nt && tg[j] == o.start && (best[j].start == 0 || sym_one_before(&m->src, &o, &best[j])))
			best[j] = o;
	}
	for (size_t t = 0; ok && t < n; t++) {
		const char *name = NULL;
		if (w[t].has_target) {
			size_t j = sym_lower(tg, nt, w[t].target);
			char *str = best[j].start ? sym_src_str(&m->src, best[j].name) : NULL;
			name = str ? sym_intern(s, str) : NULL;
			free(str);
		}
		if (hp_grow(&s->names, sizeof *s->names, s->nnames, &s->capnames) ||
		    hp_htab_add(&s->nametab, hp_hash_u64(a[t]), (uint32_t)s->nnames))
			break;
		s->names[s->nnames].addr = a[t];
		s->names[s->nnames].name = name;
		s->nnames++;
	}
	free(buf);
	free(tg);
	free(best);
	free(w);
}

/* addr's ELF function name in module m, or NULL: from the names table
 * for a module read by pread (one table pass for an address not
 * prefetched), else from the sorted table. */
static const char *sym_mod_name(struct hp_sym *s, struct sym_mod *m, uintptr_t addr)
{
	if (m->src.fd < 0)
		return sym_elf_name(m, addr);
	const struct sym_name *e = sym_name_find(s, addr);
	if (!e) {
		sym_src_names(s, m, &addr, 1);
		e = sym_name_find(s, addr);
	}
	return e ? e->name : NULL;
}

/* ---- DWARF ---- */

/* Collects into chain[] (from depth on, outermost first) the inlined
 * subroutines (and GNU C nested functions) under parent that contain pc,
 * descending through lexical blocks.  Returns the new depth.  Cost: one
 * pass over the children at each level on the way down - within one
 * function, so small. */
static int sym_scopes(Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Die *chain, int depth, int level)
{
	Dwarf_Die child;
	if (level > SYM_MAX_SCOPES || dwarf_child(parent, &child) != 0)
		return depth;
	do {
		int tag = dwarf_tag(&child);
		switch (tag) {
		case DW_TAG_subprogram:
		case DW_TAG_inlined_subroutine:
		case DW_TAG_lexical_block:
		case DW_TAG_try_block:
		case DW_TAG_catch_block:
			if (dwarf_haspc(&child, pc) > 0) {
				if ((tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) &&
				    depth < SYM_MAX_SCOPES)
					chain[depth++] = child;
				return sym_scopes(&child, pc, chain, depth, level + 1);
			}
			break;
		default:
			break;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return depth;
}

/* Adds every code range of the functions under parent to x, descending
 * through namespaces and types (GCC nests namespace-scope definitions in
 * DW_TAG_namespace; member definitions usually sit at CU level).  0 or -1
 * when memory ran out. */
static int sym_cu_collect(Dwarf_Die *parent, struct sym_cuidx *x, int level)
{
	Dwarf_Die c;
	if (level > SYM_MAX_SCOPES || dwarf_child(parent, &c) != 0)
		return 0;
	do {
		switch (dwarf_tag(&c)) {
		case DW_TAG_subprogram: {
			Dwarf_Addr base, lo, hi;
			ptrdiff_t off = 0;
			while ((off = dwarf_ranges(&c, off, &base, &lo, &hi)) > 0) {
				if (lo >= hi)
					continue;
				if (x->n == x->cap) {
					size_t nc = x->cap ? x->cap * 2 : 64;
					struct sym_fnrange *f = realloc(x->f, nc * sizeof *f);
					if (!f)
						return -1;
					x->f = f;
					x->cap = nc;
				}
				x->f[x->n].lo = lo;
				x->f[x->n].hi = hi;
				x->f[x->n].die = c;
				x->n++;
			}
			break;
		}
		case DW_TAG_namespace:
		case DW_TAG_module:
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
			if (sym_cu_collect(&c, x, level + 1))
				return -1;
			break;
		default:
			break;
		}
	} while (dwarf_siblingof(&c, &c) == 0);
	return 0;
}

static int sym_fnrange_cmp(const void *a, const void *b)
{
	const struct sym_fnrange *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

struct sym_cukey {
	const struct hp_sym *s;
	const void *key;
};

static int sym_cu_eq(const void *ctx, uint32_t v)
{
	const struct sym_cukey *k = ctx;
	return k->s->cus[v]->key == k->key;
}

/* The function index of cu, built on first use.  NULL when memory ran
 * out.  Cost: one walk of the CU's DIE tree and a sort, once per CU. */
static struct sym_cuidx *sym_cu_index(struct hp_sym *s, Dwarf_Die *cu)
{
	uint64_t h = hp_hash_u64((uint64_t)(uintptr_t)cu->addr);
	struct sym_cukey k = { s, cu->addr };
	int64_t v = hp_htab_find(&s->cutab, h, sym_cu_eq, &k);
	if (v >= 0)
		return s->cus[v];
	if (s->ncus >= UINT32_MAX - 1 || hp_grow(&s->cus, sizeof *s->cus, s->ncus, &s->capcus))
		return NULL;
	struct sym_cuidx *x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	x->key = cu->addr;
	if (sym_cu_collect(cu, x, 0) || hp_htab_add(&s->cutab, h, (uint32_t)s->ncus)) {
		free(x->f);
		free(x);
		return NULL;
	}
	if (x->n)
		qsort(x->f, x->n, sizeof x->f[0], sym_fnrange_cmp);
	s->cus[s->ncus++] = x;
	return x;
}

/* Collects into chain[] (outermost first) the concrete function and
 * inlined-subroutine DIEs containing pc in cu.  Returns the depth, 0 when
 * no function DIE covers pc.  O(log functions) plus a walk inside the
 * function. */
static int sym_chain(struct hp_sym *s, Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die *chain)
{
	struct sym_cuidx *x = sym_cu_index(s, cu);
	if (!x)
		return 0;
	size_t lo = 0, hi = x->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (x->f[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* the last range starting at or before pc; a few earlier ones in
	 * case ranges nest (a function's cold part inside another's) */
	for (size_t i = lo, back = 0; i > 0 && back < 8; i--, back++) {
		const struct sym_fnrange *f = &x->f[i - 1];
		if (pc < f->hi) {
			chain[0] = f->die;
			return sym_scopes(&chain[0], pc, chain, 1, 1);
		}
	}
	return 0;
}

static int sym_curange_cmp(const void *a, const void *b)
{
	const struct sym_curange *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Indexes mod's CUs by their PC ranges (DW_AT_ranges or low/high pc), once.
 * Cost: one pass over the CU headers of the module. */
static void sym_mod_index_cus(struct sym_mod *m, Dwfl_Module *mod)
{
	m->cus_built = 1;
	size_t cap = 0;
	Dwarf_Addr bias = 0;
	for (Dwarf_Die *cu = NULL; (cu = dwfl_module_nextcu(mod, cu, &bias)) != NULL;) {
		m->bias = bias;
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;
		while ((off = dwarf_ranges(cu, off, &base, &lo, &hi)) > 0) {
			if (lo >= hi)
				continue;
			if (m->ncu == cap) {
				size_t nc = cap ? cap * 2 : 64;
				struct sym_curange *r = realloc(m->cu, nc * sizeof *r);
				if (!r)
					goto done;
				m->cu = r;
				cap = nc;
			}
			m->cu[m->ncu].lo = lo;
			m->cu[m->ncu].hi = hi;
			m->cu[m->ncu].cu = cu;
			m->ncu++;
		}
	}
done:
	if (m->ncu)
		qsort(m->cu, m->ncu, sizeof m->cu[0], sym_curange_cmp);
}

/* The CU containing addr in mod and its bias, or NULL (no DWARF there).
 * libdw's lookup first (it needs .debug_aranges), then our index. */
static Dwarf_Die *sym_find_cu(struct sym_mod *m, Dwfl_Module *mod, uintptr_t addr, Dwarf_Addr *bias)
{
	if (!m->own_dwarf)
		return NULL;
	Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, bias);
	if (cu)
		return cu;
	if (!m->cus_built)
		sym_mod_index_cus(m, mod);
	Dwarf_Addr pc = addr - m->bias;
	size_t lo = 0, hi = m->ncu;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->cu[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, back = 0; i > 0 && back < 8; i--, back++) {
		if (pc < m->cu[i - 1].hi) {
			*bias = m->bias;
			return m->cu[i - 1].cu;
		}
	}
	return NULL;
}

/* A DIE's string attribute, following DW_AT_abstract_origin and
 * DW_AT_specification; NULL if absent. */
static const char *sym_die_str(Dwarf_Die *die, unsigned at)
{
	Dwarf_Attribute a;
	if (!dwarf_attr_integrate(die, at, &a))
		return NULL;
	return dwarf_formstring(&a);
}

/* Fills f's names for a function DIE.  elf_name, given for the outermost
 * frame, is the ELF symbol containing the address.
 *   C++ (a mangled linkage name, from DWARF or the symbol): system name
 *   mangled, name demangled - DW_AT_name alone lacks the namespace/class.
 *   Otherwise (C): name DW_AT_name, system name the ELF symbol.  A C
 *   linkage name is an asm label (glibc's __GI_qsort for qsort) and the
 *   ELF symbol may carry a clone suffix (foo.cold, foo.constprop.0):
 *   DW_AT_name is the source's name either way.
 * Returns 0, or -1 if nothing names the DIE. */
static int sym_die_names(struct hp_sym *s, Dwarf_Die *die, const char *elf_name, struct hp_symframe *f)
{
	const char *link = sym_die_str(die, DW_AT_linkage_name);
	if (!link)
		link = sym_die_str(die, DW_AT_MIPS_linkage_name);
	const char *plain = sym_die_str(die, DW_AT_name);
	const char *mangled = sym_is_mangled(link) ? link : sym_is_mangled(elf_name) ? elf_name : NULL;
	if (mangled) {
		f->system_name = sym_intern(s, mangled);
		f->name = sym_demangle(s, mangled);
	} else {
		const char *name = plain ? plain : link;
		if (!name)
			return -1;
		f->name = sym_intern(s, name);
		f->system_name = sym_intern(s, elf_name ? elf_name : link ? link : name);
	}
	return f->name && f->system_name ? 0 : -1;
}

/* A source path as an absolute path: relative names in the line table
 * are relative to the CU's DW_AT_comp_dir, and `pprof -list` run from
 * another directory needs the whole path. */
static const char *sym_path(struct hp_sym *s, Dwarf_Die *cu, const char *name)
{
	if (!name || name[0] == '/')
		return sym_intern(s, name);
	const char *dir = sym_die_str(cu, DW_AT_comp_dir);
	char buf[4096];
	if (!dir || dir[0] != '/')
		return sym_intern(s, name);
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	if ((size_t)snprintf(buf, sizeof buf, "%s/%s", dir, name) >= sizeof buf)
		return sym_intern(s, name);
	return sym_intern(s, buf);
}

/* The file and line of the call site of an inlined-subroutine DIE, from
 * the CU's file table.  Leaves f->file NULL / f->line 0 when absent. */
static void sym_call_site(struct hp_sym *s, Dwarf_Die *cu, Dwarf_Die *inl, Dwarf_Files *files,
			  size_t nfiles, struct hp_symframe *f)
{
	Dwarf_Attribute a;
	Dwarf_Word v;
	f->file = NULL;
	f->line = 0;
	if (files && dwarf_attr(inl, DW_AT_call_file, &a) && dwarf_formudata(&a, &v) == 0 &&
	    v < nfiles)
		f->file = sym_path(s, cu, dwarf_filesrc(files, v, NULL, NULL));
	if (dwarf_attr(inl, DW_AT_call_line, &a) && dwarf_formudata(&a, &v) == 0)
		f->line = (int64_t)v;
}

/* Resolves addr from scratch into out[] (SYM_MAX_FRAMES), innermost first.
 * Returns the frame count, 0 when nothing is known. */
static int sym_resolve(struct hp_sym *s, uintptr_t addr, struct hp_symframe *out)
{
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
	if (!mod)
		return 0;
	struct sym_mod *m = sym_mod_get(s, mod);
	const char *elf_name = sym_mod_name(s, m, addr);

	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = sym_find_cu(m, mod, addr, &bias);
	const char *file = NULL;
	int64_t line = 0;
	if (cu) {
		Dwarf_Line *l = dwarf_getsrc_die(cu, addr - bias);
		int ln = 0;
		if (l) {
			file = sym_path(s, cu, dwarf_linesrc(l, NULL, NULL));
			if (dwarf_lineno(l, &ln) != 0)
				ln = 0;
		}
		line = ln > 0 ? ln : 0;
	}

	Dwarf_Die chain[SYM_MAX_SCOPES];
	int depth = cu ? sym_chain(s, cu, addr - bias, chain) : 0;
	if (depth > SYM_MAX_FRAMES - 1) {
		/* keep the innermost ones */
		memmove(chain, chain + (depth - (SYM_MAX_FRAMES - 1)),
			(SYM_MAX_FRAMES - 1) * sizeof chain[0]);
		depth = SYM_MAX_FRAMES - 1;
	}
	Dwarf_Files *files = NULL;
	size_t nfiles = 0;
	if (depth > 0 && dwarf_getsrcfiles(cu, &files, &nfiles) != 0)
		files = NULL;

	int n = 0;
	/* chain[depth-1] is the innermost; walk outward */
	for (int i = depth - 1; i >= 0; i--) {
		struct hp_symframe *f = &out[n];
		int outer = dwarf_tag(&chain[i]) == DW_TAG_subprogram;
		if (i == depth - 1) {
			f->file = file;
			f->line = line;
		} else {
			sym_call_site(s, cu, &chain[i + 1], files, nfiles, f);
		}
		if (sym_die_names(s, &chain[i], outer ? elf_name : NULL, f) != 0) {
			if (!outer || !elf_name)
				f->name = f->system_name = sym_intern(s, "??");
			else {
				f->system_name = sym_intern(s, elf_name);
				f->name = sym_demangle(s, elf_name);
			}
			if (!f->name || !f->system_name)
				return n;
		}
		n++;
		if (outer)
			return n;
	}
	/* No DWARF (or no enclosing subprogram DIE): the ELF symbol is the
	 * real function, called from the outermost inlined instance if any. */
	if (!elf_name)
		return n;
	struct hp_symframe *f = &out[n];
	if (depth == 0) {
		f->file = file;
		f->line = line;
	} else {
		sym_call_site(s, cu, &chain[0], files, nfiles, f);
	}
	f->system_name = sym_intern(s, elf_name);
	f->name = sym_demangle(s, elf_name);
	if (!f->name || !f->system_name)
		return n;
	/* a pseudo name such as "foo@@GLIBC_2.2.5" reads better without the version */
	const char *at = strchr(f->name, '@');
	if (at && at != f->name) {
		char tmp[256];
		size_t len = (size_t)(at - f->name);
		if (len < sizeof tmp) {
			memcpy(tmp, f->name, len);
			tmp[len] = 0;
			const char *c = sym_intern(s, tmp);
			if (c)
				f->name = c;
		}
	}
	return n + 1;
}

struct sym_addrkey {
	const struct hp_sym *s;
	uintptr_t addr;
};

static int sym_ent_eq(const void *ctx, uint32_t v)
{
	const struct sym_addrkey *k = ctx;
	return k->s->ent[v]->addr == k->addr;
}

/* Remembers n frames for addr (hash h).  Best effort: when memory runs
 * out the answer is simply not cached. */
static void sym_cache_add(struct hp_sym *s, uint64_t h, uintptr_t addr,
			  const struct hp_symframe *fr, int n)
{
	if (s->nent >= UINT32_MAX - 1 || hp_grow(&s->ent, sizeof *s->ent, s->nent, &s->capent))
		return;
	struct sym_entry *e = malloc(sizeof *e + (size_t)n * sizeof fr[0]);
	if (!e)
		return;
	e->addr = addr;
	e->n = n;
	memcpy(e->f, fr, (size_t)n * sizeof fr[0]);
	if (hp_htab_add(&s->enttab, h, (uint32_t)s->nent)) {
		free(e);
		return;
	}
	s->ent[s->nent++] = e;
}

/* Frames at addr (a call-site address: return address - 1), innermost
 * (inlined) first, outer function last, at most max.  Returns the count,
 * 0 when addr is in no module or nothing names it.  Results are cached:
 * the first lookup of an address costs two binary searches (symbols, the
 * CU's functions) and a walk of one function's DIEs, plus one-off work
 * per module (symbol table, DWARF) and per CU (its index, line table) -
 * about 40 us per address on a C++ program; later ones a hash probe.
 * Strings live until hp_sym_close. */
int hp_sym_lookup(struct hp_sym *s, uintptr_t addr, struct hp_symframe *out, int max)
{
	if (!s || max <= 0)
		return 0;
	uint64_t h = hp_hash_u64(addr);
	struct sym_addrkey k = { s, addr };
	int64_t v = hp_htab_find(&s->enttab, h, sym_ent_eq, &k);
	const struct hp_symframe *fr;
	struct hp_symframe tmp[SYM_MAX_FRAMES];
	int n;
	if (v >= 0) {
		fr = s->ent[v]->f;
		n = s->ent[v]->n;
	} else {
		n = sym_resolve(s, addr, tmp);
		sym_cache_add(s, h, addr, tmp, n);
		fr = tmp;
	}
	if (n > max)
		n = max;
	memcpy(out, fr, (size_t)n * sizeof fr[0]);
	return n;
}

/* Names the ELF functions of n addresses (call-site addresses, any order,
 * repeats fine) in one pass per module, so that hp_sym_lookup of each
 * later reads no symbol table.  Best effort: an address left out is named
 * on its own lookup.  Cost: two pread passes over each module's symbol
 * table touched, a sort of the addresses; memory O(n) while it runs. */
void hp_sym_prefetch(struct hp_sym *s, const uintptr_t *addrs, size_t n)
{
	if (!s || !n)
		return;
	uintptr_t *a = malloc(n * sizeof *a);
	if (!a)
		return;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!sym_name_find(s, addrs[i]))
			a[k++] = addrs[i];
	qsort(a, k, sizeof *a, sym_addr_cmp);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (u == 0 || a[i] != a[u - 1])
			a[u++] = a[i];
	for (size_t i = 0; i < u;) {
		Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, a[i]);
		Dwarf_Addr lo = 0, hi = 0;
		if (mod)
			dwfl_module_info(mod, NULL, &lo, &hi, NULL, NULL, NULL, NULL);
		size_t j = i + 1;
		while (j < u && a[j] >= lo && a[j] < hi)
			j++;
		struct sym_mod *m = mod ? sym_mod_get(s, mod) : NULL;
		if (m && m->src.fd >= 0)
			sym_src_names(s, m, a + i, j - i);
		i = j;
	}
	free(a);
}
