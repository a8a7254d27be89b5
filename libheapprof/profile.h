/*
 * profile.h - building pprof profiles and symbolizing addresses.
 *
 * Three layers, as in Go's runtime/pprof:
 *   pb.c         bare protobuf wire encoding into a growable buffer;
 *   profile.c    the profile.proto builder: string table, functions,
 *                locations, mappings from /proc/self/maps, heap samples
 *                with unbiased scaling, gzip;
 *   symbolize.c  addresses -> function names, file:line, inlined frames
 *                (ELF symbol tables and DWARF through elfutils libdw).
 *
 * Everything here runs off the hot path, on a thread whose recursion guard
 * is set, so it may call malloc (it reaches the real allocator untracked).
 * Nothing here writes to stderr or aborts: failures are return values.
 */
#ifndef HP_PROFILE_H
#define HP_PROFILE_H

#include <stddef.h>
#include <stdint.h>

/* fdtab.c: fd moved near the top of the program's first 1024 descriptors
 * when it is in the program's table (a thread of ours has one of its own),
 * for every descriptor a dump or the HTTP server holds (-1 stays -1); and
 * open(2), then that. */
int hp_fd_high(int fd);
int hp_open_high(const char *path, int flags, unsigned mode);

/* ---- pb.c: protobuf wire encoding ----
 * A zeroed struct hp_buf is an empty buffer.  It grows with realloc; after a
 * failed allocation err stays set and every later write is a no-op, so a
 * writer checks err once at the end.  Free with hp_buf_free. */
struct hp_buf {
	uint8_t *data;
	size_t len, cap;
	int err;                /* sticky: set once an allocation failed */
};
void hp_buf_free(struct hp_buf *b);     /* frees data and resets b to empty */
void hp_buf_put(struct hp_buf *b, const void *p, size_t n);
void hp_pb_varint(struct hp_buf *b, uint64_t v);                 /* 1..10 bytes */
void hp_pb_key(struct hp_buf *b, unsigned field, unsigned wiretype);
void hp_pb_uint(struct hp_buf *b, unsigned field, uint64_t v);   /* omitted when 0 */
void hp_pb_int(struct hp_buf *b, unsigned field, int64_t v);     /* omitted when 0; < 0 takes 10 bytes */
void hp_pb_bytes(struct hp_buf *b, unsigned field, const void *p, size_t n); /* always written */
/* Repeated scalar: packed when n > 2 (as Go), else one field per element;
 * nothing when n == 0. */
void hp_pb_packed(struct hp_buf *b, unsigned field, const uint64_t *v, size_t n);
/* Embedded messages: begin writes the key and returns a mark; end rotates
 * the payload's length in front of it (one memmove of the payload).  Nest
 * freely; end the innermost first. */
size_t hp_pb_begin(struct hp_buf *b, unsigned field);
void hp_pb_end(struct hp_buf *b, size_t mark);
/* gzip (RFC 1952) of in[0..n), appended to out.  0, or -1 (out->err set). */
int hp_gzip(const uint8_t *in, size_t n, struct hp_buf *out);
/* The same in pieces: open with the expected total input (it sizes zlib's
 * state; NULL when out of memory), put each piece (the last with finish
 * set; 0, or -1 with out->err set), close (also after a failure). */
struct hp_gz;
struct hp_gz *hp_gz_open(size_t expect);
int hp_gz_put(struct hp_gz *g, const uint8_t *in, size_t n, int finish, struct hp_buf *out);
void hp_gz_close(struct hp_gz *g);

/* ---- symbolize.c: addresses -> functions, via elfutils ---- */
struct hp_symframe {
	const char *name;         /* demangled when possible; never NULL when found */
	const char *system_name;  /* symbol as in the ELF file (mangled); never NULL */
	const char *file;         /* NULL when no debug info */
	int64_t line;             /* 0 when unknown */
};
struct hp_sym;                /* opaque: a session over this process's modules */
/* Opens a session over the modules mapped now (a module loaded later is not
 * seen: open a new session).  NULL on failure.  Not thread-safe: one
 * session per thread.  Cheap to open; each module's symbols and DWARF are
 * read on first use. */
struct hp_sym *hp_sym_open(void);
/* Frames at addr (a call-site address: return address - 1), innermost
 * (inlined) first, outer function last, at most max (the innermost kept).
 * Returns the count written, 0 if addr is in no known module or nothing
 * names it (e.g. an anonymous mapping, a stripped module without
 * symbols).  Cached per address.  Strings live until hp_sym_close. */
int hp_sym_lookup(struct hp_sym *s, uintptr_t addr, struct hp_symframe *out, int max);
void hp_sym_close(struct hp_sym *s);
/* Reads the ELF function names of n addresses (call-site addresses, as
 * for hp_sym_lookup) in one pass per module, ahead of their lookups; an
 * optional speed-up for many addresses.  NULL s is fine. */
void hp_sym_prefetch(struct hp_sym *s, const uintptr_t *addrs, size_t n);
/* Tests only: when set before hp_sym_open, names come from libdwfl's
 * sorted symbol tables for every module, not from the pread passes, so the
 * two can be compared (tests/unit/test_symnames.c). */
extern int hp_sym_test_tables;
/* Adds an unmapped module (a dlclose'd library) read from path at load bias
 * base.  0, or -1 if it cannot be added. */
int hp_sym_add_module(struct hp_sym *s, const char *path, uintptr_t base);  /* NULL is fine */

/* ---- profile.c: a small open-addressing hash index, shared with symbolize.c ----
 * Maps a 64-bit hash to uint32 values (indexes into the caller's own arrays);
 * the caller's eq callback settles collisions.  Load factor <= 1/2, linear
 * probing, O(1) expected per call.  Memory from malloc. */
struct hp_htab {
	uint64_t *slots;          /* 0 = empty, else (uint32 hash) << 32 | (value + 1) */
	size_t mask;              /* number of slots - 1 */
	size_t count;
};
typedef int (*hp_htab_eq)(const void *ctx, uint32_t value);
/* The value under hash h that eq(ctx, value) accepts, or -1 if none. */
int64_t hp_htab_find(const struct hp_htab *t, uint64_t h, hp_htab_eq eq, const void *ctx);
/* Adds value (< UINT32_MAX) under h; does not check for duplicates.
 * Returns 0, or -1 when memory ran out (the table is unchanged). */
int hp_htab_add(struct hp_htab *t, uint64_t h, uint32_t value);
void hp_htab_free(struct hp_htab *t);
uint64_t hp_hash_bytes(const void *p, size_t n);
/* Makes room for element n of the malloc'd array whose pointer is at arrp
 * (any T **), elements of size elem, doubling *cap.  0, or -1 with the
 * array unchanged. */
int hp_grow(void *arrp, size_t elem, size_t n, size_t *cap);

/* The GNU build ID of a loaded object, read in place from its PT_NOTE
 * segments (only those a readable PT_LOAD maps from the file, so the
 * reads cannot fault): its length, copied to id (at most 64 bytes), or 0. */
struct dl_phdr_info;
size_t hp_mem_build_id(const struct dl_phdr_info *info, unsigned char id[64]);

#ifdef _LIBELF_H        /* for the files that use libelf */
/* The GNU build-id note in one block of notes (a note section or segment):
 * its length, the bytes at *id inside d; 0 if there is none. */
size_t hp_note_build_id(Elf_Data *d, const unsigned char **id);
#endif
static inline uint64_t hp_hash_u64(uint64_t x)
{
	/* splitmix64's finalizer: every input bit reaches every output bit */
	x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27; x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* ---- profile.c: the heap profile ---- */
struct hp_prof_sample {
	/* Return addresses, leaf first, as captured; each Location gets pc - 1
	 * (inside the call).  To name a function itself, pass its address + 1. */
	const uintptr_t *pcs;
	uint32_t npcs;
	uint64_t size;            /* object size in bytes (one size per sample) */
	/* Raw sampled counts.  In-use is allocs - frees, signed: in a delta
	 * profile frees may exceed allocs and in-use values are negative. */
	uint64_t allocs, frees;
};
struct hp_prof_input {
	const struct hp_prof_sample *samples;
	size_t n;
	uint64_t rate;            /* the period; 1 = every allocation */
	int64_t time_nanos;       /* when the profile was taken */
	int64_t duration_nanos;   /* since the process started profiling */
	int alloc_default;        /* set default_sample_type = "alloc_space" */
	const char *comment;      /* optional, e.g. "dropped 3 samples"; NULL = none */
};
/* Builds the gzipped profile.proto into out (appended; caller frees with
 * hp_buf_free): one Sample per input sample, values [alloc_objects,
 * alloc_space, inuse_objects, inuse_space] scaled per sample by
 * w = 1/(1-exp(-size/rate)) (w = 1 at rate <= 1 and for size 0), rounded
 * to the nearest integer, with the numeric label bytes = size.  Locations
 * are symbolized through a fresh hp_sym session; mappings come from
 * /proc/self/maps.  Returns 0, or -1 when memory ran out.  Cost: linear in
 * samples x frames, plus one symbolization per distinct address and one
 * gzip pass; about 0.3 s of CPU for 100k distinct 12-frame stacks. */
int hp_profile_build(const struct hp_prof_input *in, struct hp_buf *out);

#endif
