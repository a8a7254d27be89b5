/*
 * cfi.c - our own stack walk, from the .eh_frame unwind rules every
 * x86-64 module carries, with one cached rule per return address.
 *
 * libunwind's unw_backtrace costs about 100 instructions a frame even on
 * its cached path; a sample 30 frames deep spent 60 % of its time there.
 * Almost every frame of compiled code follows one rule shape:
 *
 *   CFA = rsp + N  or  rbp + N;   return address at CFA - 8k;
 *   rbp unchanged, or saved at CFA - 8j
 *
 * so a frame is a cache probe, an add and one or two loads.  The rule for a
 * return address is found once (the module's .eh_frame_hdr search table,
 * then the CIE and FDE instructions run up to that address) and kept in a
 * direct-mapped table of 64-bit words, read and written without a lock.
 *
 * Anything else (signal frames, CFA expressions, rules that use other
 * registers, code without unwind tables) makes hp_cfi_walk return -1 and
 * the caller takes the stack from libunwind instead, so we are never less
 * complete than before, only faster on the common shape.
 *
 * Memory safety: every stack read lies in [sp, CFA) with CFA strictly
 * growing and at most the top of this thread's stack, so a wrong rule can
 * only end a walk early, never fault.  Unwind tables are read from mapped
 * modules, as libunwind does, except for the large ones of modules loaded
 * at startup, which are read through a private mapping of their file that
 * we empty every few lookups (see "views" below): each page of the
 * program's own mapping we touched stayed in its RSS, 64 KiB at a time
 * (the kernel maps that much around a fault), and random lookups over
 * gcc's 2.4 MiB .eh_frame had made 2.0 MiB of it resident.  A module unloaded with dlclose leaves stale
 * rules; the first miss after dl_iterate_phdr reports an unload clears the
 * table (see docs/design.md for the remaining window).
 */
#include "hp.h"

#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CACHE_BITS 15
#define NCACHE (1u << CACHE_BITS)

/* One cache word: key (pc >> CACHE_BITS, 32 bits) in the high half, the
 * rule in the low half.  0 is an empty slot (kind 0). */
enum { K_EMPTY, K_STEP, K_END, K_BAD };
#define R_KIND(r)   ((unsigned)(r) & 3)
#define R_BPBASE(r) (((r) >> 2) & 1)            /* CFA = rbp + off, else rsp + off */
#define R_CFA(r)    ((((r) >> 3) & 0x1ffff) << 3)       /* 17 bits of 8-byte units */
#define R_BP(r)     (((unsigned)((r) >> 20) & 0xff) << 3)   /* rbp at CFA - this; 0 = kept */
/* bits 28..31: return address at CFA - 8 * this; always 1 (else K_BAD) */
#define MAX_PC      ((uintptr_t)1 << (32 + CACHE_BITS))

static struct {
	uint64_t *cache;                /* NCACHE words, hp_ialloc'd at init */
	unsigned long long subs;        /* dlpi_subs when the cache was last valid (atomic) */
} cf;

/* The rule of a function with a frame pointer, past its prologue:
 * CFA = rbp + 16, return address at CFA - 8, caller's rbp at CFA - 16. */
#define FP_RULE (K_STEP | 1u << 2 | (16u >> 3) << 3 | 2u << 20 | 1u << 28)

/* The slot is a bijection of the low bits given the key, so a matching key
 * in a slot means the same pc.  Cheap on purpose: it is on the walk's
 * critical path (pc -> slot -> rule -> CFA -> next pc). */
static inline uint32_t slot_of(uintptr_t pc)
{
	return (uint32_t)(pc ^ (pc >> CACHE_BITS)) & (NCACHE - 1);
}

/* Where find_rule reads a module's unwind tables: bytes at p stand for
 * the program's address p + delta, and every read stays in [lo, hi).  The
 * program's own mapping is the view with delta 0 and no bounds (lo NULL). */
struct view {
	intptr_t delta;
	const uint8_t *lo, *hi;
	/* Every SPARSE-th start address of the search table (datarel), kept
	 * in our memory, so a lookup touches one page of the table, not the
	 * dozen its first probes would fault in again after every emptying. */
	const int32_t *sparse;
	uint32_t nsparse;
};
#define SPARSE_SHIFT 8

static const struct view prog_view = { 0, NULL, NULL, NULL, 0 };

/* ---- reading .eh_frame ---- */

static uint64_t uleb(const uint8_t **pp, const uint8_t *end)
{
	uint64_t v = 0;
	unsigned shift = 0;
	const uint8_t *p = *pp;
	while (p < end) {
		uint8_t b = *p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	*pp = p;
	return v;
}

static int64_t sleb(const uint8_t **pp, const uint8_t *end)
{
	int64_t v = 0;
	unsigned shift = 0;
	uint8_t b = 0;
	const uint8_t *p = *pp;
	while (p < end) {
		b = *p++;
		if (shift < 64)
			v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	if (shift < 64 && (b & 0x40))
		v |= -((int64_t)1 << shift);
	*pp = p;
	return v;
}

/* A DW_EH_PE-encoded pointer read through view v.  datarel is the base
 * for DW_EH_PE_datarel (the start of .eh_frame_hdr, a program address).
 * Returns 0 and sets *ok = 0 on an encoding we do not read. */
static uintptr_t enc_ptr(const uint8_t **pp, const uint8_t *end, uint8_t enc, uintptr_t datarel,
			 const struct view *in, int *ok)
{
	const uint8_t *p = *pp;
	uintptr_t base = 0, v = 0;
	if (enc == 0xff)                /* DW_EH_PE_omit */
		return 0;
	if (p > end) {
		*ok = 0;
		return 0;
	}
	switch (enc & 0x70) {
	case 0x00: break;
	case 0x10: base = (uintptr_t)p + (uintptr_t)in->delta; break;
	case 0x30: base = datarel; break;
	default: *ok = 0; return 0;
	}
	size_t need = 0;
	switch (enc & 0x0f) {
	case 0x00: case 0x04: case 0x0c: need = 8; break;
	case 0x02: case 0x0a: need = 2; break;
	case 0x03: case 0x0b: need = 4; break;
	case 0x01: v = (uintptr_t)uleb(&p, end); break;
	case 0x09: v = (uintptr_t)sleb(&p, end); break;
	default: *ok = 0; return 0;
	}
	if (need) {
		if ((size_t)(end - p) < need) {
			*ok = 0;
			return 0;
		}
		switch (enc & 0x0f) {
		case 0x00: case 0x04: { uint64_t x; memcpy(&x, p, 8); v = (uintptr_t)x; break; }
		case 0x0c: { int64_t x; memcpy(&x, p, 8); v = (uintptr_t)x; break; }
		case 0x02: { uint16_t x; memcpy(&x, p, 2); v = x; break; }
		case 0x0a: { int16_t x; memcpy(&x, p, 2); v = (uintptr_t)(intptr_t)x; break; }
		case 0x03: { uint32_t x; memcpy(&x, p, 4); v = x; break; }
		case 0x0b: { int32_t x; memcpy(&x, p, 4); v = (uintptr_t)(intptr_t)x; break; }
		}
		p += need;
	}
	*pp = p;
	if (enc & 0x80) {               /* DW_EH_PE_indirect: only personalities, never read */
		*ok = 0;
		return 0;
	}
	return v + base;
}

struct where {
	uintptr_t pc;
	const uint8_t *hdr;             /* the module's .eh_frame_hdr, or NULL */
	unsigned long long subs;
};

static int find_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct where *w = arg;
	const ElfW(Phdr) *eh = NULL;
	int hit = 0;
	(void)size;
	w->subs = info->dlpi_subs;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_GNU_EH_FRAME)
			eh = ph;
		else if (ph->p_type == PT_LOAD && w->pc - (info->dlpi_addr + ph->p_vaddr) < ph->p_memsz)
			hit = 1;
	}
	if (!hit)
		return 0;
	w->hdr = eh ? (const uint8_t *)(info->dlpi_addr + eh->p_vaddr) : NULL;
	return 1;
}

/* The register state the CFA program tracks: just what a K_STEP rule can
 * express, plus a flag for anything it cannot. */
struct regs {
	int cfa_reg;                    /* 6 rbp, 7 rsp, -1 anything else */
	int64_t cfa_off;
	int bp_how, ra_how;             /* 0 kept/undefined, 1 at CFA+off, 2 undefined, 3 unsupported */
	int64_t bp_off, ra_off;
};

enum { DW_RBP = 6, DW_RSP = 7, DW_RA = 16 };

static void set_rule(struct regs *s, uint64_t reg, int how, int64_t off)
{
	if (reg == DW_RBP) {
		s->bp_how = how == 2 ? 0 : how;
		s->bp_off = off;
	} else if (reg == DW_RA) {
		s->ra_how = how;
		s->ra_off = off;
	}
}

/* DW_CFA_restore: back to the rule the CIE set (none inside the CIE). */
static void restore_rule(struct regs *s, uint64_t reg, const struct regs *init)
{
	if (init)
		set_rule(s, reg, reg == DW_RBP ? init->bp_how : init->ra_how,
			 reg == DW_RBP ? init->bp_off : init->ra_off);
}

static int cfa_reg_of(uint64_t reg)
{
	return reg == DW_RBP || reg == DW_RSP ? (int)reg : -1;
}

/* Runs CFA instructions [p, end) until the location passes pc.  init is
 * the state after the CIE's instructions (for DW_CFA_restore).  Returns 0,
 * or -1 on anything it does not understand. */
static int run_cfa(const uint8_t *p, const uint8_t *end, uintptr_t loc, uintptr_t pc,
		   uint64_t caf, int64_t daf, struct regs *s, const struct regs *init)
{
	struct regs stack[8];
	int depth = 0, ok = 1;
	while (p < end) {
		uint8_t op = *p++;
		uint64_t reg, a;
		int64_t off;
		switch (op >> 6) {
		case 1:                 /* DW_CFA_advance_loc */
			loc += (op & 0x3f) * caf;
			if (loc > pc)
				return 0;
			continue;
		case 2:                 /* DW_CFA_offset */
			off = (int64_t)uleb(&p, end) * daf;
			set_rule(s, op & 0x3f, 1, off);
			continue;
		case 3:                 /* DW_CFA_restore */
			restore_rule(s, op & 0x3f, init);
			continue;
		}
		switch (op) {
		case 0x00: break;                                       /* nop */
		case 0x01:                                              /* set_loc */
			return -1;
		case 0x02: if (p + 1 > end) return -1; loc += p[0] * caf; p += 1; if (loc > pc) return 0; break;
		case 0x03: { uint16_t d; if (p + 2 > end) return -1; memcpy(&d, p, 2); p += 2;
			loc += d * caf; if (loc > pc) return 0; break; }
		case 0x04: { uint32_t d; if (p + 4 > end) return -1; memcpy(&d, p, 4); p += 4;
			loc += d * caf; if (loc > pc) return 0; break; }
		case 0x05:                                              /* offset_extended */
			reg = uleb(&p, end);
			set_rule(s, reg, 1, (int64_t)uleb(&p, end) * daf);
			break;
		case 0x06:                                              /* restore_extended */
			restore_rule(s, uleb(&p, end), init);
			break;
		case 0x07:                                              /* undefined */
			set_rule(s, uleb(&p, end), 2, 0);
			break;
		case 0x08:                                              /* same_value */
			set_rule(s, uleb(&p, end), 0, 0);
			break;
		case 0x09:                                              /* register */
			reg = uleb(&p, end);
			(void)uleb(&p, end);
			set_rule(s, reg, 3, 0);
			break;
		case 0x0a:                                              /* remember_state */
			if (depth == 8)
				return -1;
			stack[depth++] = *s;
			break;
		case 0x0b:                                              /* restore_state */
			if (depth == 0)
				return -1;
			*s = stack[--depth];
			break;
		case 0x0c:                                              /* def_cfa */
			reg = uleb(&p, end);
			s->cfa_reg = cfa_reg_of(reg);
			s->cfa_off = (int64_t)uleb(&p, end);
			break;
		case 0x0d:                                              /* def_cfa_register */
			reg = uleb(&p, end);
			s->cfa_reg = cfa_reg_of(reg);
			break;
		case 0x0e:                                              /* def_cfa_offset */
			s->cfa_off = (int64_t)uleb(&p, end);
			break;
		case 0x0f:                                              /* def_cfa_expression */
			a = uleb(&p, end);
			if (a > (uint64_t)(end - p))
				return -1;
			p += a;
			s->cfa_reg = -1;
			break;
		case 0x10:                                              /* expression */
		case 0x16:                                              /* val_expression */
			reg = uleb(&p, end);
			a = uleb(&p, end);
			if (a > (uint64_t)(end - p))
				return -1;
			p += a;
			set_rule(s, reg, 3, 0);
			break;
		case 0x11:                                              /* offset_extended_sf */
			reg = uleb(&p, end);
			set_rule(s, reg, 1, sleb(&p, end) * daf);
			break;
		case 0x12:                                              /* def_cfa_sf */
			reg = uleb(&p, end);
			s->cfa_reg = cfa_reg_of(reg);
			s->cfa_off = sleb(&p, end) * daf;
			break;
		case 0x13:                                              /* def_cfa_offset_sf */
			s->cfa_off = sleb(&p, end) * daf;
			break;
		case 0x14:                                              /* val_offset */
			reg = uleb(&p, end);
			(void)uleb(&p, end);
			set_rule(s, reg, 3, 0);
			break;
		case 0x15:                                              /* val_offset_sf */
			reg = uleb(&p, end);
			(void)sleb(&p, end);
			set_rule(s, reg, 3, 0);
			break;
		case 0x2e:                                              /* GNU_args_size */
			(void)uleb(&p, end);
			break;
		case 0x2f:                                              /* GNU_negative_offset_extended */
			reg = uleb(&p, end);
			set_rule(s, reg, 1, -(int64_t)uleb(&p, end) * daf);
			break;
		default:
			ok = 0;
			break;
		}
		if (!ok || p > end)
			return -1;
	}
	return 0;
}

/* Turns the state at pc into a cache rule (without the key). */
static uint64_t encode(const struct regs *s)
{
	if (s->ra_how == 2)
		return K_END;
	if (s->cfa_reg < 0 || s->cfa_off < 8 || (s->cfa_off & 7) || (s->cfa_off >> 3) > 0x1ffff)
		return K_BAD;
	if (s->ra_how != 1 || s->ra_off != -8)  /* where call put it: anything else is odd */
		return K_BAD;
	uint64_t bp = 0;
	if (s->bp_how == 1) {
		if (s->bp_off >= 0 || (-s->bp_off & 7) || -s->bp_off > 255 * 8)
			return K_BAD;
		bp = (uint64_t)(-s->bp_off >> 3);
	} else if (s->bp_how != 0) {
		return K_BAD;
	}
	return K_STEP | (uint64_t)(s->cfa_reg == DW_RBP) << 2 | (uint64_t)(s->cfa_off >> 3) << 3 |
	       bp << 20 | (uint64_t)(-s->ra_off >> 3) << 28;
}

/* p[0..n) lies inside view v (always, for the program's mapping). */
static int in_view(const struct view *v, const uint8_t *p, uint64_t n)
{
	return !v->lo || (p >= v->lo && p <= v->hi && n <= (uint64_t)(v->hi - p));
}

/* find_rule's answer when a view does not hold what it needs to read. */
#define R_RETRY UINT64_MAX

/* The search table of .eh_frame_hdr hdr, read through view v. */
struct hdr_table {
	const int32_t *tab;     /* count pairs (start, FDE), datarel */
	uintptr_t count;
	uintptr_t eh_frame;     /* the program's address of .eh_frame */
};

/* Fills t; returns 0, K_BAD for a header find_rule does not read, or
 * R_RETRY when the header or the table lies outside the view. */
static uint64_t hdr_table(const uint8_t *hdr, const struct view *v, struct hdr_table *t)
{
	int ok = 1;
	const uintptr_t base = (uintptr_t)hdr + (uintptr_t)v->delta;   /* the program's address of hdr */
	if (!in_view(v, hdr, 4 + 16))
		return R_RETRY;
	if (hdr[0] != 1 || hdr[3] != 0x3b)      /* version 1, table: datarel sdata4 */
		return K_BAD;
	const uint8_t *p = hdr + 4, *lim = hdr + 4 + 16;
	t->eh_frame = enc_ptr(&p, lim, hdr[1], base, v, &ok);
	t->count = enc_ptr(&p, lim, hdr[2], base, v, &ok);
	if (!ok || t->count == 0)
		return K_BAD;
	t->tab = (const int32_t *)(const void *)p;
	if (!in_view(v, p, (uint64_t)t->count * 8))
		return R_RETRY;
	return 0;
}

/* The rule for code address pc (a return address minus one), reading the
 * module's tables through view v; hdr is its .eh_frame_hdr there. */
static uint64_t find_rule(const uint8_t *hdr, uintptr_t pc, const struct view *v)
{
	int ok = 1;
	const uintptr_t base = (uintptr_t)hdr + (uintptr_t)v->delta;   /* the program's address of hdr */
	struct hdr_table ht;
	if (!hdr)
		return K_BAD;
	uint64_t r = hdr_table(hdr, v, &ht);
	if (r)
		return r;
	const int32_t *tab = ht.tab;
	const uintptr_t count = ht.count;
	/* The last entry whose start is <= pc: in a view, first the block of
	 * SPARSE entries it lies in, from our own copy of their first starts. */
	uintptr_t lo = 0, hi = count;
	if (v->sparse && (uintptr_t)v->nsparse == ((count + (1u << SPARSE_SHIFT) - 1) >> SPARSE_SHIFT)) {
		uint32_t a = 0, b = v->nsparse;
		while (b - a > 1) {
			uint32_t m = a + (b - a) / 2;
			if (base + (intptr_t)v->sparse[m] <= pc)
				a = m;
			else
				b = m;
		}
		lo = (uintptr_t)a << SPARSE_SHIFT;
		hi = lo + (1u << SPARSE_SHIFT) < count ? lo + (1u << SPARSE_SHIFT) : count;
	}
	while (hi - lo > 1) {
		uintptr_t mid = lo + (hi - lo) / 2;
		if (base + (intptr_t)tab[2 * mid] <= pc)
			lo = mid;
		else
			hi = mid;
	}
	if (base + (intptr_t)tab[2 * lo] > pc)
		return K_BAD;
	const uint8_t *fde = hdr + tab[2 * lo + 1];

	uint32_t len;
	if (!in_view(v, fde, 8))
		return R_RETRY;
	memcpy(&len, fde, 4);
	if (len < 8 || len == 0xffffffffu)     /* the CIE pointer and at least a start */
		return K_BAD;
	const uint8_t *fend = fde + 4 + len;
	if (!in_view(v, fde, 4 + (uint64_t)len))
		return R_RETRY;
	int32_t cie_delta;
	memcpy(&cie_delta, fde + 4, 4);
	const uint8_t *cie = fde + 4 - cie_delta;

	/* The CIE. */
	uint32_t clen;
	if (!in_view(v, cie, 8))
		return R_RETRY;
	memcpy(&clen, cie, 4);
	if (clen < 6 || clen == 0xffffffffu)   /* id, version, at least an empty augmentation */
		return K_BAD;
	if (!in_view(v, cie, 4 + (uint64_t)clen))
		return R_RETRY;
	const uint8_t *cend = cie + 4 + clen, *c = cie + 8;
	uint8_t version = *c++;
	const char *aug = (const char *)c;
	size_t auglen = strnlen(aug, (size_t)(cend - c));
	if ((size_t)(cend - c) == auglen)
		return K_BAD;           /* unterminated */
	c += auglen + 1;
	if (aug[0] && aug[0] != 'z')
		return K_BAD;
	uint64_t caf = uleb(&c, cend);
	int64_t daf = sleb(&c, cend);
	if (c >= cend)
		return K_BAD;
	uint64_t ra_reg = version == 1 ? *c++ : uleb(&c, cend);
	if (ra_reg != DW_RA)
		return K_BAD;
	uint8_t fde_enc = 0;    /* DW_EH_PE_absptr */
	const uint8_t *cinsn = c;
	if (aug[0] == 'z') {
		uint64_t n = uleb(&c, cend);
		if (n > (uint64_t)(cend - c))
			return K_BAD;
		cinsn = c + n;
		for (size_t i = 1; i < auglen; i++) {
			if (c >= cend)
				return K_BAD;
			switch (aug[i]) {
			case 'R': fde_enc = *c++; break;
			case 'L': c++; break;
			case 'P': {
				uint8_t penc = *c++;
				int pok = 1;
				(void)enc_ptr(&c, cend, penc & 0x7f, 0, v, &pok);
				if (!pok)
					return K_BAD;
				break;
			}
			case 'S': return K_BAD;         /* a signal frame: libunwind's job */
			default: return K_BAD;
			}
		}
	}

	/* The FDE. */
	const uint8_t *f = fde + 8;
	uintptr_t start = enc_ptr(&f, fend, fde_enc, 0, v, &ok);
	uintptr_t range = enc_ptr(&f, fend, fde_enc & 0x0f, 0, v, &ok);
	if (!ok || pc < start || pc - start >= range)
		return K_BAD;
	if (aug[0] == 'z') {
		uint64_t n = uleb(&f, fend);
		if (f > fend || n > (uint64_t)(fend - f))
			return K_BAD;
		f += n;
	}

	struct regs s = { .cfa_reg = -1 }, init;
	if (run_cfa(cinsn, cend, start, pc, caf, daf, &s, NULL) != 0)
		return K_BAD;
	init = s;
	if (run_cfa(f, fend, start, pc, caf, daf, &s, &init) != 0)
		return K_BAD;
	return encode(&s);
}

/* Views of our own, made at init for the modules then loaded whose tables
 * (.eh_frame_hdr to the end of its segment) are at least view_min bytes:
 * a private read-only mapping of the file, so giving its pages back
 * (MADV_DONTNEED) can never lose a byte, and a reader that races with that
 * faults the same bytes in again.  Modules loaded later, and all of them
 * once any module is unloaded (dlpi_subs moves), use the program's mapping.
 *
 * Measured on gcc's cc1 (2.7 MiB of tables, 685 rule lookups at the
 * default rate): peak RSS over glibc 3712 -> 2204 KiB with the pages given
 * back every 8 lookups (2380 every 16, at the same CPU time), for about
 * 0.5 % of CPU (interleaved A/Bs of 15 rounds: +1.3 % and +0.2 %): each
 * lookup faults in a page or two again.  Not at rate 1: lookups come 40
 * times as often (26 581), and refaulting made cc1 8.6 % slower there,
 * where the memory of the tables dominates anyway; nor at rates so low
 * that nearly every return address is seen, as at rate 1. */
enum { NVIEW = 8, VIEW_DROP_EVERY = 8, VIEW_RATE_MIN = 65536 };
static size_t view_min = 256 << 10;     /* a variable for tests/unit/test_cfi_views.c */
static struct {
	struct {
		uintptr_t hdr;          /* the program's .eh_frame_hdr */
		struct view v;
		void *map;
		size_t maplen;
	} m[NVIEW];
	int n;
	unsigned long long subs;        /* dlpi_subs when they were made */
	unsigned lookups;               /* since their pages were last given back (atomic) */
} vw;

/* Checks that view v (starting at .eh_frame_hdr) holds a search table
 * find_rule reads and the .eh_frame after it (as linkers lay them out;
 * else every lookup would fall back after touching its pages), and fills
 * its sparse index.  0, or -1: the view is not worth having. */
static int view_index(struct view *v)
{
	struct hdr_table ht;
	const uintptr_t base = (uintptr_t)v->lo + (uintptr_t)v->delta;
	if (hdr_table(v->lo, v, &ht) != 0 || ht.count > UINT32_MAX || ht.eh_frame < base ||
	    ht.eh_frame - base >= (uintptr_t)(v->hi - v->lo))
		return -1;
	const int32_t *tab = ht.tab;
	uint32_t n = (uint32_t)((ht.count + (1u << SPARSE_SHIFT) - 1) >> SPARSE_SHIFT);
	int32_t *sp = hp_ialloc((size_t)n * sizeof *sp);
	if (!sp)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		sp[i] = tab[2 * ((uintptr_t)i << SPARSE_SHIFT)];
	v->sparse = sp;
	v->nsparse = n;
	return 0;
}

/* fd is the file mapped as module info, at least size bytes long: a
 * regular file whose program headers are the module's.  (Run as
 * "ld.so ./prog", /proc/self/exe is ld.so, not the first module; a file
 * replaced on disk has another layout or length.  Mapping past the end of
 * a file would raise SIGBUS on the first read.) */
static int view_file_is(int fd, const struct dl_phdr_info *info, uint64_t size)
{
	struct stat sb;
	ElfW(Ehdr) eh;
	ElfW(Phdr) ph[32];
	size_t n = (size_t)info->dlpi_phnum;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size < size || n > 32)
		return 0;
	if (syscall(SYS_pread64, fd, &eh, sizeof eh, 0) != (long)sizeof eh || eh.e_phnum != n ||
	    eh.e_phentsize != sizeof ph[0])
		return 0;
	if (syscall(SYS_pread64, fd, ph, n * sizeof ph[0], (off_t)eh.e_phoff) != (long)(n * sizeof ph[0]))
		return 0;
	return memcmp(ph, info->dlpi_phdr, n * sizeof ph[0]) == 0;
}

static int view_add(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	int *first = arg;
	int is_main = *first;
	*first = 0;
	vw.subs = info->dlpi_subs;
	const ElfW(Phdr) *eh = NULL, *seg = NULL;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME)
			eh = &info->dlpi_phdr[i];
	for (int i = 0; eh && i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && eh->p_vaddr - ph->p_vaddr < ph->p_filesz)
			seg = ph;
	}
	const char *path = is_main ? "/proc/self/exe" : info->dlpi_name;
	if (!seg || (seg->p_flags & PF_W) || vw.n == NVIEW || !path || path[0] != '/')
		return 0;               /* no tables, relocated ones, the vdso, or full */
	size_t len = seg->p_vaddr + seg->p_filesz - eh->p_vaddr;
	if (len < view_min)
		return 0;
	uint64_t off = seg->p_offset + (eh->p_vaddr - seg->p_vaddr), skip = off & 4095;
	/* The raw system calls: open() is a cancellation point. */
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return 0;
	void *map = view_file_is(fd, info, off + len) ? mmap(NULL, len + skip, PROT_READ, MAP_PRIVATE, fd, (off_t)(off - skip))
						       : MAP_FAILED;
	syscall(SYS_close, fd);
	if (map == MAP_FAILED)
		return 0;
	const uint8_t *ours = (const uint8_t *)map + skip;
	const uint8_t *theirs = (const uint8_t *)(info->dlpi_addr + eh->p_vaddr);
	/* And the header with the start of the search table. */
	struct view v = { (intptr_t)((uintptr_t)theirs - (uintptr_t)ours), ours, ours + len, NULL, 0 };
	if (memcmp(ours, theirs, len < 4096 ? len : 4096) != 0 || view_index(&v) != 0) {
		munmap(map, len + skip);
		return 0;
	}
	vw.m[vw.n].hdr = (uintptr_t)theirs;
	vw.m[vw.n].v = v;
	vw.m[vw.n].map = map;
	vw.m[vw.n].maplen = len + skip;
	madvise(map, len + skip, MADV_DONTNEED);   /* the check's pages */
	vw.n++;
	return 0;
}

static const struct view *view_of(uintptr_t hdr, unsigned long long subs)
{
	if (subs != vw.subs)
		return NULL;
	for (int i = 0; i < vw.n; i++)
		if (vw.m[i].hdr == hdr)
			return &vw.m[i].v;
	return NULL;
}

/* After a lookup through a view: every VIEW_DROP_EVERY of them, give all
 * the views' pages back, so at most that many 64 KiB runs stay resident. */
static void view_lookup_done(void)
{
	if (__atomic_add_fetch(&vw.lookups, 1, __ATOMIC_RELAXED) % VIEW_DROP_EVERY)
		return;
	for (int i = 0; i < vw.n; i++)
		madvise(vw.m[i].map, vw.m[i].maplen, MADV_DONTNEED);
}

int hp_cfi_init(void)
{
	cf.cache = hp_ialloc(NCACHE * sizeof(uint64_t));
	if (!cf.cache)
		return -1;
	int first = 1;
	if (hp_cfg.rate >= VIEW_RATE_MIN)
		dl_iterate_phdr(view_add, &first);
	return 0;
}

/* The slow half of a cache probe: find pc's rule and remember it. */
static __attribute__((noinline, cold)) uint64_t miss(uintptr_t pc)
{
	struct where w = { .pc = pc - 1 };
	if (pc >= MAX_PC || pc < 4096)
		return K_BAD;
	dl_iterate_phdr(find_module, &w);
	unsigned long long seen = __atomic_exchange_n(&cf.subs, w.subs, __ATOMIC_RELAXED);
	if (seen != w.subs && w.subs)   /* a module was unloaded: its rules may be stale */
		for (uint32_t i = 0; i < NCACHE; i++)
			__atomic_store_n(&cf.cache[i], 0, __ATOMIC_RELAXED);
	const struct view *v = view_of((uintptr_t)w.hdr, w.subs);
	uint64_t r = R_RETRY;
	if (v) {
		r = find_rule((const uint8_t *)((uintptr_t)w.hdr - (uintptr_t)v->delta), pc - 1, v);
		view_lookup_done();
	}
	if (r == R_RETRY)
		r = find_rule(w.hdr, pc - 1, &prog_view);
	__atomic_store_n(&cf.cache[slot_of(pc)], (uint64_t)(pc >> CACHE_BITS) << 32 | r, __ATOMIC_RELAXED);
	return r;
}

/* Walks from frame `from` up, at most max frames.  Writes return addresses
 * (from's first) to pcs, leaving out those in [cut_lo, cut_hi) (the
 * profiler's own code: no branch, the store is just not kept); returns how
 * many it kept, or -1 when a frame needs libunwind.  [lo, hi) is this
 * thread's stack. */
__attribute__((noinline)) int hp_cfi_walk(uintptr_t *pcs, int max, uintptr_t lo, uintptr_t hi,
					  uintptr_t cut_lo, uintptr_t cut_hi, const struct hp_frame *from)
{
	uintptr_t sp = from->sp, bp = from->bp, pc = from->pc;
	const uintptr_t cut_len = cut_hi - cut_lo;
	const uint64_t *cache = cf.cache;       /* a local: the stores to pcs cannot change it */
	int n = 0;
	if (sp < lo || sp >= hi || !cache)
		return -1;              /* on a signal stack, say */
	for (int frames = 0; frames < max; frames++) {
		pcs[n] = pc;
		n += pc - cut_lo >= cut_len;
		const uint64_t key = (uint64_t)(pc >> CACHE_BITS) << 32;
		uint64_t r = __atomic_load_n(&cache[slot_of(pc)], __ATOMIC_RELAXED);
		if (HP_LIKELY(r == (key | FP_RULE))) {
			/* A predicted branch, not a select: the loads below then
			 * depend only on bp, and run while the rule is checked. */
			if (bp < sp || bp > hi - 16)    /* no bp + 16: it may wrap */
				break;
			sp = bp + 16;
			pc = ((const uintptr_t *)bp)[1];
			bp = ((const uintptr_t *)bp)[0];
		} else {
			/* An empty slot (r == 0) matches the key of pc < 32 KiB, whose
			 * kind K_EMPTY then sends the stack to libunwind: harmless. */
			if (HP_UNLIKELY((r & ~(uint64_t)UINT32_MAX) != key))
				r = miss(pc);
			if (R_KIND(r) != K_STEP)
				return R_KIND(r) == K_END ? n : -1;
			uintptr_t cfa = (R_BPBASE(r) ? bp : sp) + R_CFA(r);
			if (cfa < sp + 8 || cfa > hi)
				break;
			pc = *(const uintptr_t *)(cfa - 8);
			if (R_BP(r)) {
				if (cfa - R_BP(r) < sp)
					break;
				bp = *(const uintptr_t *)(cfa - R_BP(r));
			}
			sp = cfa;
		}
		if (pc < 4096)
			break;
	}
	return n;
}
