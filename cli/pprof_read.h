/*
 * pprof_read.h - a validating reader for pprof profile.proto files.
 *
 * Reads the gzipped (or plain) protobuf that heapprof, Go's runtime/pprof and
 * other pprof writers produce, and checks everything it reads: lengths within
 * the buffer, varints, wire types, string indexes, ids nonzero and unique,
 * references to mappings, locations and functions, and the number of values
 * per sample.  After a successful read every index in the structures below
 * is in range, every string is non-NULL and NUL-terminated, so callers need
 * no further checks.  Shared by the CLI, the unit test and the fuzz target.
 */
#ifndef HEAPPROF_PPROF_READ_H
#define HEAPPROF_PPROF_READ_H

#include <stddef.h>
#include <stdint.h>

/* Largest uncompressed profile we accept; larger ones are refused. */
#define PPROF_MAX_SIZE ((size_t)1 << 30)
/* Most memory a parse may take: 8 times the uncompressed size plus 64 MiB,
 * and never more than this; a profile that needs more is refused. */
#define PPROF_MAX_MEMORY ((size_t)2 << 30)

struct pprof_valuetype {
	const char *type;           /* e.g. "inuse_space" */
	const char *unit;           /* e.g. "bytes" */
};

struct pprof_label {
	const char *key;
	const char *str;            /* "" for numeric labels */
	int64_t num;
	const char *num_unit;       /* "" when unset */
};

struct pprof_sample {
	const uint64_t *location_id;/* as in the file, leaf first */
	const uint32_t *loc;        /* the same as indexes into prof->location */
	size_t nloc;
	const int64_t *value;       /* one per sample type */
	size_t nvalue;              /* always prof->nsample_type */
	const struct pprof_label *label;
	size_t nlabel;
};

struct pprof_mapping {
	uint64_t id;
	uint64_t start, limit, offset;
	const char *file;
	const char *build_id;
	int has_functions, has_filenames, has_line_numbers, has_inline_frames;
};

struct pprof_line {
	int32_t func;               /* index into prof->function (a line without one is refused) */
	int64_t line;
	int64_t column;
};

struct pprof_location {
	uint64_t id;
	int32_t mapping;            /* index into prof->mapping, -1 when unset */
	uint64_t address;
	const struct pprof_line *line;  /* innermost (inlined) first, outer function last */
	size_t nline;
	int is_folded;
};

struct pprof_function {
	uint64_t id;
	const char *name;
	const char *system_name;
	const char *file;
	int64_t start_line;
};

struct pprof_profile {
	struct pprof_valuetype *sample_type;
	size_t nsample_type;
	struct pprof_sample *sample;
	size_t nsample;
	struct pprof_mapping *mapping;
	size_t nmapping;
	struct pprof_location *location;
	size_t nlocation;
	struct pprof_function *function;
	size_t nfunction;
	const char **string;        /* string[0] is "" */
	size_t nstring;
	const char *drop_frames, *keep_frames;  /* "" when unset */
	int64_t time_nanos, duration_nanos;
	struct pprof_valuetype period_type;     /* "" when unset */
	int64_t period;
	const char **comment;
	size_t ncomment;
	const char *default_sample_type;        /* "" when unset */
	int compressed;             /* the input was gzip */
	void *arena;                /* private: owns everything above */
};

/* What went wrong; the message in err says more. */
enum pprof_err {
	PPROF_OK = 0,
	PPROF_EIO = -1,             /* cannot open/read the file (errno in message) */
	PPROF_EEMPTY = -2,          /* zero bytes */
	PPROF_EGZIP = -3,           /* truncated or corrupt gzip stream, or too large */
	PPROF_EWIRE = -4,           /* not decodable as protobuf at all */
	PPROF_EINVALID = -5,        /* protobuf, but not a valid profile */
	PPROF_ETEXT = -6,           /* a legacy text profile */
	PPROF_ENOMEM = -7,
};

/*
 * Parses a profile held in memory: gzip when it starts with 1f 8b, plain
 * protobuf otherwise.  max_size bounds the uncompressed size (0 means
 * PPROF_MAX_SIZE).  On success fills *prof (free it with pprof_free) and
 * returns PPROF_OK; the profile does not point into buf.  On failure returns
 * a negative enum pprof_err, writes a one-line lowercase message without a
 * subject into err (e.g. "truncated gzip stream") and leaves *prof empty.
 * Cost: linear in the uncompressed size; memory a small multiple of it
 * (at most PPROF_MAX_MEMORY).
 */
int pprof_parse(const void *buf, size_t len, size_t max_size, struct pprof_profile *prof,
		char *err, size_t errlen);

/*
 * Reads and parses the file at path.  On failure err holds a complete line
 * naming the file, such as "cannot read 'x.pb.gz': truncated gzip stream" or
 * "'x' is not a profile (random bytes, or a profile cut short?)", ready to print after "heapprof: ".
 * Returns as pprof_parse.
 */
int pprof_read_file(const char *path, struct pprof_profile *prof, char *err, size_t errlen);

/* Frees everything a successful parse allocated; safe on an empty profile. */
void pprof_free(struct pprof_profile *prof);

/* Index of the sample type named type, or -1. */
int pprof_find_sample_type(const struct pprof_profile *prof, const char *type);

#endif
