/*
 * profile.c - builds a gzipped pprof profile.proto from heap samples.
 *
 * The middle and top layers of the writer (pb.c is the wire encoding
 * below; symbolize.c names the addresses), in the shape of Go's
 * runtime/pprof: a builder that owns the string table and de-duplicates
 * functions and locations, writing each Location and Function message the
 * first time it is met and the mappings and string table at the end; and
 * the heap-specific part, one Sample per (stack, object size) with the
 * four value types in Go's order, scaled by the inverse inclusion
 * probability of each sample so the values are unbiased estimates.
 *
 * What pprof needs from us: string table entry 0 is "", every id is
 * nonzero and defined, time_nanos appears once, and a mapping carries
 * has_functions only when every location in it was named - pprof skips
 * re-symbolizing a mapping that has any has_* flag, so an unnamed mapping
 * gets none and pprof may still try the binary (prof_write_map).
 *
 * Also here: the small open-addressing hash index (hp_htab) used by this
 * file and by symbolize.c.  It runs off the hot path with the recursion
 * guard set: malloc, stdio and libelf are fine.  Cost is linear in the
 * samples and frames, plus one symbolization per distinct address.
 */
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dwlib.h"        /* before hp.h (profile.h): its libelf part */
#include "hp.h"

#define PROF_MAX_LINES 32       /* Lines (inline depth) kept per location */

#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif

/* ---- hash index ---- */

/* Hashes n bytes eight at a time (C++ names run to hundreds of bytes),
 * then a finalizer so the low bits (the slot) mix well.  O(n). */
uint64_t hp_hash_bytes(const void *p, size_t n)
{
	const uint8_t *c = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	for (; n >= 8; n -= 8, c += 8) {
		uint64_t w;
		memcpy(&w, c, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	uint64_t w = 0;
	memcpy(&w, c, n);
	return hp_hash_u64(h ^ w);
}

int64_t hp_htab_find(const struct hp_htab *t, uint64_t h, hp_htab_eq eq, const void *ctx)
{
	if (!t->slots)
		return -1;
	uint32_t h32 = (uint32_t)h;
	for (size_t i = h32 & t->mask;; i = (i + 1) & t->mask) {
		uint64_t sl = t->slots[i];
		if (sl == 0)
			return -1;
		if ((uint32_t)(sl >> 32) == h32 && eq(ctx, (uint32_t)sl - 1))
			return (uint32_t)sl - 1;
	}
}

/* Puts a slot word into slots (a power of two, mask = size - 1). */
static void htab_place(uint64_t *slots, size_t mask, uint64_t sl)
{
	size_t i = (uint32_t)(sl >> 32) & mask;
	while (slots[i])
		i = (i + 1) & mask;
	slots[i] = sl;
}

int hp_htab_add(struct hp_htab *t, uint64_t h, uint32_t value)
{
	if (value >= UINT32_MAX)
		return -1;
	if (!t->slots || (t->count + 1) * 2 > t->mask + 1) {
		size_t n = t->slots ? (t->mask + 1) * 2 : 64;
		if (n > ((size_t)1 << 32))
			return -1;
		uint64_t *s = calloc(n, sizeof *s);
		if (!s)
			return -1;
		for (size_t i = 0; t->slots && i <= t->mask; i++)
			if (t->slots[i])
				htab_place(s, n - 1, t->slots[i]);
		free(t->slots);
		t->slots = s;
		t->mask = n - 1;
	}
	htab_place(t->slots, t->mask, (uint64_t)(uint32_t)h << 32 | (value + 1));
	t->count++;
	return 0;
}

void hp_htab_free(struct hp_htab *t)
{
	free(t->slots);
	t->slots = NULL;
	t->mask = t->count = 0;
}

/* ---- the builder ---- */

/* One executable mapping of /proc/self/maps; its id is its index + 1. */
struct prof_map {
	uint64_t start, limit, offset;
	int64_t file, build_id;         /* string indexes */
	uint64_t nlocs;                 /* locations that fell in it */
	int no_fn;                      /* some location lacked a function name */
	int some_file, some_line;       /* some location had a file name / a line */
};

struct prof_str {
	char *s;                        /* owned copy, NUL-terminated */
	size_t len;
};

struct prof {
	struct hp_buf out;              /* encoded messages not yet handed to gzip */
	struct hp_buf *dst;             /* the gzipped profile */
	struct hp_gz *gz;               /* NULL until the first piece goes out */
	size_t expect;                  /* the uncompressed size, roughly (prof_estimate) */
	struct hp_sym *sym;             /* NULL: nothing can be named */
	struct prof_str *str;           /* the string table, by index */
	size_t nstr, capstr;
	struct hp_htab strtab;
	int64_t (*fn)[3];               /* function id - 1 -> (name, system_name, filename) */
	size_t nfn, capfn;
	struct hp_htab fntab;
	uint64_t *loc;                  /* location id - 1 -> address */
	size_t nloc, caploc;
	struct hp_htab loctab;
	struct prof_map *map;           /* sorted by start, as the kernel lists them */
	size_t nmap, capmap;
	struct prof_map *gone;          /* modules no longer mapped (modtab.c); ids follow map's */
	size_t ngone, capgone;
	uint64_t *ids;                  /* scratch: one sample's location ids */
	size_t capids;
	int err;                        /* sticky: out of memory */
};

/* Makes room for element n (so n + 1 elements) of size elem in the array
 * whose pointer is at arrp (any T **: read and written with memcpy, which
 * may touch any object).  Doubles.  Returns 0, or -1 with the array
 * unchanged. */
int hp_grow(void *arrp, size_t elem, size_t n, size_t *cap)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 64;
	while (nc <= n)
		nc *= 2;
	if (nc > SIZE_MAX / elem)
		return -1;
	void *old;
	memcpy(&old, arrp, sizeof old);
	void *q = realloc(old, nc * elem);
	if (!q)
		return -1;
	memcpy(arrp, &q, sizeof q);
	*cap = nc;
	return 0;
}

struct prof_strkey {
	const struct prof *p;
	const char *s;
	size_t len;
};

static int prof_str_eq(const void *ctx, uint32_t v)
{
	const struct prof_strkey *k = ctx;
	const struct prof_str *e = &k->p->str[v];
	return e->len == k->len && memcmp(e->s, k->s, k->len) == 0;
}

/* The string-table index of s[0..len), adding a copy if new.  Returns 0
 * (the empty string) and sets the sticky error when memory runs out.
 * O(len) expected. */
static int64_t prof_strn(struct prof *p, const char *s, size_t len)
{
	uint64_t h = hp_hash_bytes(s, len);
	struct prof_strkey k = { p, s, len };
	int64_t v = hp_htab_find(&p->strtab, h, prof_str_eq, &k);
	if (v >= 0)
		return v;
	if (p->err || hp_grow(&p->str, sizeof *p->str, p->nstr, &p->capstr))
		goto oom;
	char *c = malloc(len + 1);
	if (!c)
		goto oom;
	memcpy(c, s, len);
	c[len] = 0;
	if (hp_htab_add(&p->strtab, h, (uint32_t)p->nstr)) {
		free(c);
		goto oom;
	}
	p->str[p->nstr].s = c;
	p->str[p->nstr].len = len;
	return (int64_t)p->nstr++;
oom:
	p->err = 1;
	return 0;
}

/* prof_strn for a C string; NULL is the empty string. */
static int64_t prof_str(struct prof *p, const char *s)
{
	return s ? prof_strn(p, s, strlen(s)) : 0;
}

struct prof_fnkey {
	const struct prof *p;
	const int64_t *k;
};

static int prof_fn_eq(const void *ctx, uint32_t v)
{
	const struct prof_fnkey *k = ctx;
	return memcmp(k->p->fn[v], k->k, 3 * sizeof(int64_t)) == 0;
}

/* The id of the Function for frame f, writing the Function message the
 * first time.  Functions are one per (name, system_name, file).  Returns
 * 0 when memory ran out. */
static uint64_t prof_function(struct prof *p, const struct hp_symframe *f)
{
	int64_t key[3];
	key[0] = prof_str(p, f->name);
	key[1] = prof_str(p, f->system_name ? f->system_name : f->name);
	key[2] = prof_str(p, f->file);
	uint64_t h = hp_hash_bytes(key, sizeof key);
	struct prof_fnkey k = { p, key };
	int64_t v = hp_htab_find(&p->fntab, h, prof_fn_eq, &k);
	if (v >= 0)
		return (uint64_t)v + 1;
	if (p->err || hp_grow(&p->fn, sizeof *p->fn, p->nfn, &p->capfn) ||
	    hp_htab_add(&p->fntab, h, (uint32_t)p->nfn)) {
		p->err = 1;
		return 0;
	}
	memcpy(p->fn[p->nfn], key, sizeof key);
	uint64_t id = ++p->nfn;
	size_t m = hp_pb_begin(&p->out, 5);     /* Profile.function */
	hp_pb_uint(&p->out, 1, id);             /* id */
	hp_pb_int(&p->out, 2, key[0]);          /* name */
	hp_pb_int(&p->out, 3, key[1]);          /* system_name */
	hp_pb_int(&p->out, 4, key[2]);          /* filename */
	hp_pb_end(&p->out, m);
	return id;
}

/* The mapping containing addr, or NULL.  O(log mappings). */
static struct prof_map *prof_findmap(struct prof *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nmap;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->map[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || addr >= p->map[lo - 1].limit)
		return NULL;
	return &p->map[lo - 1];
}

static int prof_build_id(const char *path, char *hex, size_t cap);

/* For an address no current mapping covers: the module modtab.c saw there
 * when a stack was taken (a library since dlclose'd), added to the
 * symbolizer and given a Mapping of its own.  NULL if unknown. */
static struct prof_map *prof_gone_map(struct prof *p, uint64_t addr)
{
	for (size_t i = 0; i < p->ngone; i++)
		if (addr >= p->gone[i].start && addr < p->gone[i].limit)
			return &p->gone[i];
	struct hp_modinfo mi;
	if (!hp_modtab_find((uintptr_t)addr, &mi) || hp_grow(&p->gone, sizeof *p->gone, p->ngone, &p->capgone))
		return NULL;
	struct prof_map *m = &p->gone[p->ngone++];
	memset(m, 0, sizeof *m);
	m->start = mi.lo;
	m->limit = mi.hi;
	m->offset = mi.offset;
	m->file = prof_str(p, mi.path);
	char hex[2 * 64 + 1];
	if (prof_build_id(mi.path, hex, sizeof hex) == 0)
		m->build_id = prof_str(p, hex);
	if (p->sym)
		hp_sym_add_module(p->sym, mi.path, mi.base);
	return m;
}

struct prof_lockey {
	const struct prof *p;
	uint64_t addr;
};

static int prof_loc_eq(const void *ctx, uint32_t v)
{
	const struct prof_lockey *k = ctx;
	return k->p->loc[v] == k->addr;
}

/* The id of the Location for addr (a call-site address), creating it -
 * symbolizing addr and writing the Location message - the first time.
 * An address nothing can name still gets a Location, without Lines.
 * Returns 0 when memory ran out.  O(1) expected once addr is known. */
static uint64_t prof_location(struct prof *p, uint64_t addr)
{
	uint64_t h = hp_hash_u64(addr);
	struct prof_lockey k = { p, addr };
	int64_t v = hp_htab_find(&p->loctab, h, prof_loc_eq, &k);
	if (v >= 0)
		return (uint64_t)v + 1;
	if (p->err || hp_grow(&p->loc, sizeof *p->loc, p->nloc, &p->caploc) ||
	    hp_htab_add(&p->loctab, h, (uint32_t)p->nloc)) {
		p->err = 1;
		return 0;
	}
	p->loc[p->nloc] = addr;
	uint64_t id = ++p->nloc;

	uint64_t mapid = 0;
	struct prof_map *m = prof_findmap(p, addr);
	if (m)
		mapid = (uint64_t)(m - p->map) + 1;
	else if ((m = prof_gone_map(p, addr)))
		mapid = p->nmap + (uint64_t)(m - p->gone) + 1;
	struct hp_symframe fr[PROF_MAX_LINES];
	int n = p->sym ? hp_sym_lookup(p->sym, (uintptr_t)addr, fr, PROF_MAX_LINES) : 0;
	uint64_t fid[PROF_MAX_LINES];
	/* Functions first: their messages must not land inside this one. */
	for (int i = 0; i < n; i++)
		fid[i] = prof_function(p, &fr[i]);

	size_t mk = hp_pb_begin(&p->out, 4);    /* Profile.location */
	hp_pb_uint(&p->out, 1, id);             /* id */
	hp_pb_uint(&p->out, 2, mapid);          /* mapping_id */
	hp_pb_uint(&p->out, 3, addr);           /* address */
	for (int i = 0; i < n; i++) {
		size_t ml = hp_pb_begin(&p->out, 4);    /* Location.line */
		hp_pb_uint(&p->out, 1, fid[i]);         /* function_id */
		hp_pb_int(&p->out, 2, fr[i].line);      /* line */
		hp_pb_end(&p->out, ml);
	}
	hp_pb_end(&p->out, mk);

	if (m) {
		m->nlocs++;
		if (n == 0)
			m->no_fn = 1;
		for (int i = 0; i < n; i++) {
			if (fr[i].file && fr[i].file[0])
				m->some_file = 1;
			if (fr[i].line > 0)
				m->some_line = 1;
		}
	}
	return id;
}

/* ---- compression ---- */

#define PROF_PIECE (16u << 10)  /* uncompressed bytes handed to gzip at a time */

/* Hands the complete messages written so far to gzip once there are
 * PROF_PIECE bytes of them (or all, to finish), so the uncompressed
 * profile is never held whole: the loop benchmark's was 57 KB, a
 * 100k-stack one tens of MB.  Call only between top-level messages. */
static void prof_flush(struct prof *p, int finish)
{
	if (p->err || p->out.err || (!finish && p->out.len < PROF_PIECE))
		return;
	if (!p->gz && !(p->gz = hp_gz_open(p->expect)))
		p->err = 1;
	else if (hp_gz_put(p->gz, p->out.data, p->out.len, finish, p->dst) != 0)
		p->err = 1;
	p->out.len = 0;
}

/* The uncompressed size, from the samples and the distinct addresses, to
 * size zlib's state (hp_gz_open): a Sample takes about 25 bytes and 2 a
 * frame, a Location with its Function and strings about 60.  Within a
 * factor of 2 of the truth on the benchmarks; only the side of 1 MiB
 * matters. */
static size_t prof_estimate(const struct hp_prof_input *in, size_t naddrs)
{
	size_t e = naddrs * 60;
	for (size_t i = 0; i < in->n; i++)
		e += 25 + 2 * (size_t)in->samples[i].npcs;
	return e;
}

/* ---- mappings ---- */

size_t hp_note_build_id(Elf_Data *d, const unsigned char **id)
{
	size_t off = 0, next, noff, doff;
	GElf_Nhdr nh;
	while (d && (next = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    memcmp((const char *)d->d_buf + noff, "GNU", 4) == 0 && nh.n_descsz > 0) {
			*id = (const unsigned char *)d->d_buf + doff;
			return nh.n_descsz;
		}
		off = next;
	}
	return 0;
}

/* n bytes as lowercase hex into hex (cap bytes, NUL included), as Go and
 * pprof write build IDs.  0, or -1 when they do not fit. */
static int prof_hex(const unsigned char *b, size_t n, char *hex, size_t cap)
{
	static const char digits[] = "0123456789abcdef";
	if (!n || 2 * n >= cap)
		return -1;
	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[b[i] >> 4];
		hex[2 * i + 1] = digits[b[i] & 15];
	}
	hex[2 * n] = 0;
	return 0;
}

/* The GNU build-id note in one note block, as lowercase hex in hex.
 * Returns 0 if found, else -1. */
static int prof_note_build_id(Elf_Data *d, char *hex, size_t cap)
{
	const unsigned char *b;
	size_t n = hp_note_build_id(d, &b);
	return prof_hex(b, n, hex, cap);
}

/* [vaddr, vaddr + len) lies in a readable PT_LOAD of the object, so that
 * reading it from memory cannot fault (an odd ELF may have a PT_NOTE
 * outside every mapped segment). */
static int prof_in_readable_load(const struct dl_phdr_info *info, ElfW(Addr) vaddr, ElfW(Xword) len)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_R) && vaddr >= ph->p_vaddr &&
		    len <= ph->p_filesz && vaddr - ph->p_vaddr <= ph->p_filesz - len)
			return 1;
	}
	return 0;
}

size_t hp_mem_build_id(const struct dl_phdr_info *info, unsigned char id[64])
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE || !prof_in_readable_load(info, ph->p_vaddr, ph->p_filesz))
			continue;
		size_t al = ph->p_align == 8 ? 8 : 4;
		const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
		size_t off = 0, len = ph->p_filesz;
		while (len - off >= sizeof(ElfW(Nhdr))) {
			ElfW(Nhdr) nh;
			memcpy(&nh, p + off, sizeof nh);
			/* the name after the header, the description and the next
			 * note at the next multiples of the alignment (glibc's
			 * ELF_NOTE_DESC_OFFSET, ELF_NOTE_NEXT_OFFSET) */
			size_t name = off + sizeof nh;
			size_t desc = (name + nh.n_namesz + al - 1) & ~(al - 1);
			size_t next = (desc + nh.n_descsz + al - 1) & ~(al - 1);
			if (nh.n_namesz > len || nh.n_descsz > len || desc > len || next > len || next <= off)
				break;
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && !memcmp(p + name, "GNU", 4) &&
			    nh.n_descsz > 0 && nh.n_descsz <= 64) {
				memcpy(id, p + desc, nh.n_descsz);
				return nh.n_descsz;
			}
			off = next;
		}
	}
	return 0;
}

/* Reads the GNU build ID of the ELF file at path into hex (lowercase, as
 * Go and pprof write it).  Returns 0, or -1 when the file cannot be read
 * or has none.  Cost: reads the program headers and note segments. */
static int prof_build_id(const char *path, char *hex, size_t cap)
{
	/* only regular files: opening a device node can have side effects */
	struct stat st;
	if (hp_dwlib_load() != 0 || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return -1;
	int fd = hp_open_high(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	int rc = -1;
	elf_version(EV_CURRENT);
	/* ELF_C_READ, not _MMAP: a file truncated under us must not SIGBUS */
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	size_t nph = 0;
	if (e && elf_kind(e) == ELF_K_ELF && elf_getphdrnum(e, &nph) == 0) {
		for (size_t i = 0; i < nph && rc < 0; i++) {
			GElf_Phdr ph;
			if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_NOTE)
				continue;
			Elf_Data *d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz,
					ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
			rc = prof_note_build_id(d, hex, cap);
		}
		for (Elf_Scn *scn = NULL; rc < 0 && (scn = elf_nextscn(e, scn)) != NULL;) {
			GElf_Shdr sh;
			if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_NOTE)
				rc = prof_note_build_id(elf_getdata(scn, NULL), hex, cap);
		}
	}
	elf_end(e);
	close(fd);
	return rc;
}

/* Build IDs of the loaded objects, read from their note segments in
 * memory rather than from their files: a profile no longer opens every
 * module's file with libelf (which, loaded for that alone, made writing
 * the profile of a process with no samples take about 0.5 ms more).  One
 * entry per object: the address range of its loadable segments. */
struct prof_memid {
	uintptr_t lo, hi;
	char hex[2 * 64 + 1];
};
struct prof_memids {
	struct prof_memid *v;
	size_t n, cap;
};

/* dl_iterate_phdr: an object's load range and build ID. */
static int prof_memid_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct prof_memids *ids = arg;
	struct prof_memid e = { UINTPTR_MAX, 0, "" };
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD) {
			if (info->dlpi_addr + ph->p_vaddr < e.lo)
				e.lo = info->dlpi_addr + ph->p_vaddr;
			if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > e.hi)
				e.hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		}
	}
	unsigned char id[64];
	if (e.lo < e.hi && prof_hex(id, hp_mem_build_id(info, id), e.hex, sizeof e.hex) == 0 &&
	    !hp_grow(&ids->v, sizeof *ids->v, ids->n, &ids->cap))
		ids->v[ids->n++] = e;
	return 0;
}

static const char *prof_memid_find(const struct prof_memids *ids, uintptr_t lo, uintptr_t hi)
{
	for (size_t i = 0; i < ids->n; i++)
		if (lo >= ids->v[i].lo && hi <= ids->v[i].hi)
			return ids->v[i].hex;
	return NULL;
}

/* Reads the executable mappings of /proc/self/maps (as Go does), with file
 * name (" (deleted)" removed) and build ID (from memory for a loaded
 * object, else from its file).  Leaves none when the file cannot be read;
 * locations then have mapping_id 0. */
static void prof_read_maps(struct prof *p)
{
	int fd = hp_open_high("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct prof_memids ids = { NULL, 0, 0 };
	/* Not in exit work after exit() from a signal handler: the handler may
	 * have interrupted a dlclose on this thread, whose loader lock it
	 * takes again, and an object half unmapped is listed (21 of 100 such
	 * exits died reading its headers).  The files are read then. */
	if (!hp_self.on_exitheap)
		dl_iterate_phdr(prof_memid_cb, &ids);
	char *line = NULL, *prev = NULL;
	size_t cap = 0;
	int64_t prev_id = 0;
	while (getline(&line, &cap, f) > 0) {
		unsigned long long lo, hi, off;
		char perm[8];
		int pos = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &lo, &hi, perm, &off, &pos) < 4 ||
		    pos == 0 || !strchr(perm, 'x'))
			continue;
		char *path = line + pos;
		size_t len = strlen(path);
		while (len > 0 && (path[len - 1] == '\n' || path[len - 1] == ' '))
			path[--len] = 0;
		int deleted = 0;
		static const char del[] = " (deleted)";
		if (len >= sizeof del - 1 && strcmp(path + len - (sizeof del - 1), del) == 0) {
			len -= sizeof del - 1;
			path[len] = 0;
			deleted = 1;
		}
		if (hp_grow(&p->map, sizeof *p->map, p->nmap, &p->capmap)) {
			p->err = 1;
			break;
		}
		struct prof_map *m = &p->map[p->nmap++];
		memset(m, 0, sizeof *m);
		m->start = lo;
		m->limit = hi;
		m->offset = off;
		m->file = prof_strn(p, path, len);
		/* A file's mappings are adjacent: read its build ID once.  A
		 * deleted file's path may now name another file: no ID then. */
		const char *mem = path[0] == '/' ? prof_memid_find(&ids, lo, hi) : NULL;
		if (mem) {
			m->build_id = prof_str(p, mem);
		} else if (prev && strcmp(prev, path) == 0) {
			m->build_id = prev_id;
		} else {
			char hex[2 * 64 + 1];
			m->build_id = 0;
			if (path[0] == '/' && !deleted && prof_build_id(path, hex, sizeof hex) == 0)
				m->build_id = prof_str(p, hex);
			free(prev);
			prev = strdup(path);
			prev_id = m->build_id;
		}
	}
	free(prev);
	free(line);
	free(ids.v);
	fclose(f);
}

/* Writes one Mapping message.  has_functions only when every location in
 * it was named; has_filenames / has_line_numbers / has_inline_frames when,
 * besides, its debug info gave file and line (pprof re-symbolizes a mapping
 * with no flag at all, from the binary, so an unnamed one keeps none).
 * A code address without DWARF (_start, PLT stubs) does not unset them. */
static void prof_write_map(struct prof *p, const struct prof_map *m, uint64_t id)
{
	int fn = m->nlocs > 0 && !m->no_fn;
	int fl = fn && m->some_file;
	int ln = fn && m->some_line;
	size_t mk = hp_pb_begin(&p->out, 3);    /* Profile.mapping */
	hp_pb_uint(&p->out, 1, id);             /* id */
	hp_pb_uint(&p->out, 2, m->start);       /* memory_start */
	hp_pb_uint(&p->out, 3, m->limit);       /* memory_limit */
	hp_pb_uint(&p->out, 4, m->offset);      /* file_offset */
	hp_pb_int(&p->out, 5, m->file);         /* filename */
	hp_pb_int(&p->out, 6, m->build_id);     /* build_id */
	hp_pb_uint(&p->out, 7, fn);             /* has_functions */
	hp_pb_uint(&p->out, 8, fl);             /* has_filenames */
	hp_pb_uint(&p->out, 9, ln);             /* has_line_numbers */
	/* DWARF (file and line) is where inlining was looked at */
	hp_pb_uint(&p->out, 10, fl && ln);      /* has_inline_frames */
	hp_pb_end(&p->out, mk);
}

static void prof_write_maps(struct prof *p)
{
	for (size_t i = 0; i < p->nmap; i++) {
		prof_write_map(p, &p->map[i], i + 1);
		prof_flush(p, 0);
	}
	for (size_t i = 0; i < p->ngone; i++) {
		prof_write_map(p, &p->gone[i], p->nmap + i + 1);
		prof_flush(p, 0);
	}
}

/* ---- heap samples ---- */

/* round(x) as an int64, saturating. */
static int64_t prof_round(double x)
{
	if (!(x > 0))
		return 0;
	if (x >= 9.2e18)
		return INT64_MAX;
	return (int64_t)(x + 0.5);      /* x > 0: llround without libm */
}

/* The estimated (objects, bytes) for n sampled objects of size bytes,
 * weight w: round(n*w) and round(n*w*size), saturating.  A negative n (a
 * delta profile's in-use) gives the negated values.  At w == 1 computed in
 * integers so large exact counts stay exact. */
static void prof_scale(int64_t n, uint64_t size, double w, int64_t *objs, int64_t *bytes)
{
	uint64_t m = n < 0 ? -(uint64_t)n : (uint64_t)n;
	int64_t o, b;
	if (w == 1.0) {
		o = m > INT64_MAX ? INT64_MAX : (int64_t)m;
		b = (size && m > (uint64_t)INT64_MAX / size) ? INT64_MAX : (int64_t)(m * size);
	} else {
		double x = (double)m * w;
		o = prof_round(x);
		b = prof_round(x * (double)size);
	}
	*objs = n < 0 ? -o : o;
	*bytes = n < 0 ? -b : b;
}

/* One ValueType message (type, unit) in field f. */
static void prof_valuetype(struct prof *p, unsigned f, const char *type, const char *unit)
{
	int64_t t = prof_str(p, type), u = prof_str(p, unit);
	size_t mk = hp_pb_begin(&p->out, f);
	hp_pb_int(&p->out, 1, t);
	hp_pb_int(&p->out, 2, u);
	hp_pb_end(&p->out, mk);
}

/* Writes one Sample (and, before it, any Location/Function it is first to
 * use). */
static void prof_sample(struct prof *p, const struct hp_prof_sample *s, uint64_t rate,
			int64_t key_bytes)
{
	if (hp_grow(&p->ids, sizeof *p->ids, s->npcs, &p->capids)) {
		p->err = 1;
		return;
	}
	for (uint32_t j = 0; j < s->npcs; j++) {
		/* return address - 1: inside the call instruction, so the
		 * line is the call's, even after a noreturn call at the end */
		uint64_t pc = s->pcs[j];
		p->ids[j] = prof_location(p, pc ? pc - 1 : 0);
	}
	double w = hp_sampler_weight(s->size, rate);
	/* Signed 64-bit counts (no real count reaches 2^63): a delta profile
	 * may free more than it allocated in its window. */
	int64_t allocs = (int64_t)s->allocs;
	int64_t inuse = (int64_t)(s->allocs - s->frees);
	int64_t v[4];
	prof_scale(allocs, s->size, w, &v[0], &v[1]);
	prof_scale(inuse, s->size, w, &v[2], &v[3]);
	uint64_t uv[4] = { (uint64_t)v[0], (uint64_t)v[1], (uint64_t)v[2], (uint64_t)v[3] };

	size_t mk = hp_pb_begin(&p->out, 2);            /* Profile.sample */
	hp_pb_packed(&p->out, 1, p->ids, s->npcs);      /* location_id, leaf first */
	hp_pb_packed(&p->out, 2, uv, 4);                /* value */
	size_t ml = hp_pb_begin(&p->out, 3);            /* label */
	hp_pb_int(&p->out, 1, key_bytes);               /* key "bytes" */
	hp_pb_int(&p->out, 3, (int64_t)s->size);        /* num: the object size */
	/* A num of 0 is not written (a proto3 default), and pprof drops a
	 * label with neither num nor num_unit: malloc(0)'s samples had no
	 * bytes label, so -tagfocus=bytes=0 found nothing.  The unit is the
	 * one pprof infers for the key "bytes" anyway. */
	if (s->size == 0)
		hp_pb_int(&p->out, 4, key_bytes);       /* num_unit "bytes" */
	hp_pb_end(&p->out, ml);
	hp_pb_end(&p->out, mk);
}

static void prof_free(struct prof *p)
{
	hp_buf_free(&p->out);
	hp_sym_close(p->sym);
	for (size_t i = 0; i < p->nstr; i++)
		free(p->str[i].s);
	free(p->str);
	hp_htab_free(&p->strtab);
	free(p->fn);
	hp_htab_free(&p->fntab);
	free(p->loc);
	hp_htab_free(&p->loctab);
	free(p->map);
	free(p->gone);
	free(p->ids);
}

static int prof_addr_eq(const void *ctx, uint32_t v)
{
	const uint64_t *k = ctx;
	return k[1 + v] == k[0];
}

/* Hands the symbolizer every distinct call-site address of the samples
 * at once, so that it reads each module's symbol table in one pass
 * instead of keeping it in memory for one address at a time.  Returns how
 * many there are.  Best effort: out of memory, the lookups find the names
 * themselves (and the count is short). */
static size_t prof_prefetch(struct prof *p, const struct hp_prof_input *in)
{
	uint64_t *k = NULL;             /* k[0]: the key being looked up; k[1..]: the addresses */
	size_t n = 0, cap = 0;
	struct hp_htab seen = { 0 };
	for (size_t i = 0; i < in->n; i++)
		for (uint32_t j = 0; j < in->samples[i].npcs; j++) {
			uint64_t pc = in->samples[i].pcs[j];
			uint64_t h = hp_hash_u64(pc ? pc - 1 : 0);
			if (hp_grow(&k, sizeof *k, n + 1, &cap))
				goto out;
			k[0] = pc ? pc - 1 : 0;
			if (hp_htab_find(&seen, h, prof_addr_eq, k) >= 0)
				continue;
			if (hp_htab_add(&seen, h, (uint32_t)n))
				goto out;
			/* a dlclose'd library joins the symbolizer now, so that
			 * its addresses are prefetched with the rest */
			if (!prof_findmap(p, k[0]))
				prof_gone_map(p, k[0]);
			k[1 + n++] = k[0];
		}
	hp_sym_prefetch(p->sym, (const uintptr_t *)(k + 1), n);
out:
	hp_htab_free(&seen);
	free(k);
	return n;
}

/* Builds the gzipped profile into out; see profile.h.  Cost: linear in
 * samples and frames (hash probes), plus one symbolization per distinct
 * address and one gzip pass.  Memory: the tables, the symbolizer's until
 * every Location is written, then zlib's state, a PROF_PIECE buffer and
 * the gzipped output. */
int hp_profile_build(const struct hp_prof_input *in, struct hp_buf *out)
{
	struct prof p;
	memset(&p, 0, sizeof p);
	p.dst = out;
	if (out->err)
		return -1;
	prof_str(&p, "");               /* string_table[0] must be "" */

	prof_valuetype(&p, 1, "alloc_objects", "count");        /* sample_type */
	prof_valuetype(&p, 1, "alloc_space", "bytes");
	prof_valuetype(&p, 1, "inuse_objects", "count");
	prof_valuetype(&p, 1, "inuse_space", "bytes");
	prof_valuetype(&p, 11, "space", "bytes");               /* period_type */
	hp_pb_int(&p.out, 12, (int64_t)in->rate);               /* period */
	/* exactly once: pprof reads two as concatenated profiles */
	hp_pb_int(&p.out, 9, in->time_nanos);                   /* time_nanos */
	hp_pb_int(&p.out, 10, in->duration_nanos);              /* duration_nanos */
	if (in->comment && in->comment[0])
		hp_pb_int(&p.out, 13, prof_str(&p, in->comment));   /* comment */
	if (in->alloc_default)
		hp_pb_int(&p.out, 14, prof_str(&p, "alloc_space")); /* default_sample_type */

	prof_read_maps(&p);
	/* Nothing to name in a profile without frames (a short process that
	 * drew no sample): then libdw is not even loaded (dwlib.c). */
	int frames = 0;
	for (size_t i = 0; i < in->n && !frames; i++)
		frames = in->samples[i].npcs > 0;
	p.sym = frames ? hp_sym_open() : NULL;
	p.expect = prof_estimate(in, prof_prefetch(&p, in));
	/* Every Location (and its Functions) first, in the samples' order:
	 * then the symbolizer's memory is freed before zlib asks for its own
	 * (a small profile sends its first piece only after that), and the
	 * samples find their locations made. */
	for (size_t i = 0; i < in->n && !p.err; i++)
		for (uint32_t j = 0; j < in->samples[i].npcs; j++) {
			uint64_t pc = in->samples[i].pcs[j];
			prof_location(&p, pc ? pc - 1 : 0);
			prof_flush(&p, 0);
		}
	hp_sym_close(p.sym);
	p.sym = NULL;
	int64_t key_bytes = prof_str(&p, "bytes");
	for (size_t i = 0; i < in->n && !p.err && !p.out.err; i++) {
		prof_sample(&p, &in->samples[i], in->rate, key_bytes);
		prof_flush(&p, 0);
	}
	prof_write_maps(&p);
	for (size_t i = 0; i < p.nstr; i++) {
		hp_pb_bytes(&p.out, 6, p.str[i].s, p.str[i].len);  /* string_table */
		prof_flush(&p, 0);
	}
	prof_flush(&p, 1);
	int rc = p.err || p.out.err ? -1 : 0;
	hp_gz_close(p.gz);
	prof_free(&p);
	return rc;
}
