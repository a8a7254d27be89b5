/*
 * test_pprof_read.c - the CLI's profile reader (cli/pprof_read.c) on
 * hand-made buffers, valid and invalid, and on files: the seed corpus of
 * real profiles (tests/fuzz/seed, written by Go's runtime/pprof) must parse,
 * and every input the fuzzer ever crashed on (tests/fuzz/regress) must be
 * read without crashing, accepted or refused with a message.
 *
 * The buffers are built with a tiny protobuf encoder below, so each case
 * states exactly which bytes are wrong.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check.h"
#include "pprof_read.h"

/* ---- a minimal protobuf writer ---- */

struct buf {
	uint8_t d[16384];
	size_t n;
};

static void put_raw(struct buf *b, const void *p, size_t n)
{
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void put_varint(struct buf *b, uint64_t v)
{
	while (v >= 0x80) {
		b->d[b->n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b->d[b->n++] = (uint8_t)v;
}

static void put_key(struct buf *b, unsigned field, unsigned wt)
{
	put_varint(b, (uint64_t)field << 3 | wt);
}

static void put_uint(struct buf *b, unsigned field, uint64_t v)
{
	put_key(b, field, 0);
	put_varint(b, v);
}

static void put_bytes(struct buf *b, unsigned field, const void *p, size_t n)
{
	put_key(b, field, 2);
	put_varint(b, n);
	put_raw(b, p, n);
}

static void put_msg(struct buf *b, unsigned field, const struct buf *m)
{
	put_bytes(b, field, m->d, m->n);
}

static void put_str(struct buf *b, const char *s)
{
	put_bytes(b, 6, s, strlen(s));
}

/* Strings 0..5 of every hand-made profile. */
static const char *const strings[] = { "", "inuse_space", "bytes", "main", "leaf", "x.c" };

static void put_strings(struct buf *b)
{
	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
		put_str(b, strings[i]);
}

/*
 * A valid profile: one sample type (inuse_space/bytes), functions 1 "main"
 * and 2 "leaf", location 10 with leaf inlined into main, location 20 in
 * main, one mapping, and one sample leaf-first [10, 20] with value 42.
 * packed: repeated scalars packed; strings_last: the string table at the
 * end, as Go writes it.
 */
static void build_valid(struct buf *out, int packed, int strings_last)
{
	struct buf m;
	out->n = 0;
	if (!strings_last)
		put_strings(out);
	m.n = 0;
	put_uint(&m, 1, 1);
	put_uint(&m, 2, 2);
	put_msg(out, 1, &m);

	struct buf s = { .n = 0 };
	if (packed) {
		struct buf ids = { .n = 0 }, vals = { .n = 0 };
		put_varint(&ids, 10);
		put_varint(&ids, 20);
		put_varint(&vals, 42);
		put_msg(&s, 1, &ids);
		put_msg(&s, 2, &vals);
	} else {
		put_uint(&s, 1, 10);
		put_uint(&s, 1, 20);
		put_uint(&s, 2, 42);
	}
	put_msg(out, 2, &s);

	m.n = 0;
	put_uint(&m, 1, 7);
	put_uint(&m, 2, 0x400000);
	put_uint(&m, 3, 0x500000);
	put_msg(out, 3, &m);

	struct buf l = { .n = 0 }, ln = { .n = 0 };
	put_uint(&l, 1, 10);
	put_uint(&l, 2, 7);
	put_uint(&l, 3, 0x401000);
	put_uint(&ln, 1, 2);
	put_uint(&ln, 2, 12);
	put_msg(&l, 4, &ln);
	ln.n = 0;
	put_uint(&ln, 1, 1);
	put_uint(&ln, 2, 30);
	put_msg(&l, 4, &ln);
	put_msg(out, 4, &l);
	l.n = 0;
	put_uint(&l, 1, 20);
	put_uint(&l, 3, 0x402000);
	ln.n = 0;
	put_uint(&ln, 1, 1);
	put_uint(&ln, 2, 40);
	put_msg(&l, 4, &ln);
	put_msg(out, 4, &l);

	m.n = 0;
	put_uint(&m, 1, 1);
	put_uint(&m, 2, 3);
	put_uint(&m, 4, 5);
	put_msg(out, 5, &m);
	m.n = 0;
	put_uint(&m, 1, 2);
	put_uint(&m, 2, 4);
	put_uint(&m, 4, 5);
	put_msg(out, 5, &m);
	put_uint(out, 9, 1700000000000000000ull);
	if (strings_last)
		put_strings(out);
}

/* Every index the reader hands out is in range (what the commands rely on). */
static int invariants(const struct pprof_profile *p)
{
	for (size_t i = 0; i < p->nsample; i++) {
		if (p->sample[i].nvalue != p->nsample_type)
			return 0;
		for (size_t j = 0; j < p->sample[i].nloc; j++)
			if (p->sample[i].loc[j] >= p->nlocation)
				return 0;
	}
	for (size_t i = 0; i < p->nlocation; i++) {
		const struct pprof_location *l = &p->location[i];
		if (l->mapping >= (int64_t)p->nmapping || l->mapping < -1)
			return 0;
		for (size_t j = 0; j < l->nline; j++)
			if (l->line[j].func >= (int64_t)p->nfunction || l->line[j].func < -1)
				return 0;
	}
	for (size_t i = 0; i < p->nfunction; i++)
		if (!p->function[i].name || !p->function[i].file)
			return 0;
	return p->nstring > 0 && p->string[0][0] == '\0';
}

static int gzip_buf(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	int rc = deflate(&z, Z_FINISH);
	*outlen = cap - z.avail_out;
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}

/* Parses b and checks the result code and that the message contains want. */
static void expect_fail(const char *what, const void *data, size_t len, int code, const char *want)
{
	struct pprof_profile p;
	char err[256] = "unset";
	int rc = pprof_parse(data, len, 0, &p, err, sizeof err);
	CHECK(rc == code && strstr(err, want) && p.nsample == 0 && p.arena == NULL,
	      "%s is refused: %s", what, err);
	if (rc == PPROF_OK)
		pprof_free(&p);
}

static uint64_t get_varint(const uint8_t **p)
{
	uint64_t v = 0;
	int shift = 0;
	do
		v |= (uint64_t)(**p & 0x7f) << shift, shift += 7;
	while (*(*p)++ & 0x80);
	return v;
}

/* Where the first field of an encoded message ends. */
static size_t first_field_end(const uint8_t *d)
{
	const uint8_t *p = d;
	uint64_t key = get_varint(&p);
	uint64_t n = (key & 7) == 2 ? get_varint(&p) : (key & 7) == 0 ? (get_varint(&p), 0) : (key & 7) == 1 ? 8 : 4;
	return (size_t)(p - d) + (size_t)n;
}

static void test_valid(void)
{
	static struct buf b;
	struct pprof_profile p;
	char err[256];
	for (int variant = 0; variant < 4; variant++) {
		int packed = variant & 1, last = variant >> 1;
		build_valid(&b, packed, last);
		int rc = pprof_parse(b.d, b.n, 0, &p, err, sizeof err);
		CHECK(rc == PPROF_OK, "valid profile (%s, string table %s) parses%s%s", packed ? "packed" : "unpacked",
		      last ? "last" : "first", rc ? ": " : "", rc ? err : "");
		if (rc)
			continue;
		CHECK(p.nsample_type == 1 && strcmp(p.sample_type[0].type, "inuse_space") == 0 &&
			      strcmp(p.sample_type[0].unit, "bytes") == 0,
		      "sample type inuse_space/bytes");
		CHECK(p.nsample == 1 && p.sample[0].nloc == 2 && p.sample[0].value[0] == 42, "one sample, value 42");
		const struct pprof_location *l0 = &p.location[p.sample[0].loc[0]];
		CHECK(l0->id == 10 && l0->nline == 2 &&
			      strcmp(p.function[l0->line[0].func].name, "leaf") == 0 &&
			      strcmp(p.function[l0->line[1].func].name, "main") == 0 && l0->line[0].line == 12,
		      "leaf location 10 has the inlined leaf first, then main");
		CHECK(l0->mapping >= 0 && p.mapping[l0->mapping].id == 7 && p.mapping[l0->mapping].start == 0x400000,
		      "location 10 names mapping 7");
		CHECK(p.location[p.sample[0].loc[1]].mapping == -1, "mapping id 0 means none");
		CHECK(p.time_nanos == 1700000000000000000ll && p.default_sample_type[0] == '\0' &&
			      p.period_type.type[0] == '\0',
		      "scalars read, unset strings are \"\"");
		CHECK(invariants(&p), "indexes in range");
		pprof_free(&p);
		CHECK(p.arena == NULL && p.nsample == 0, "pprof_free clears the profile");
	}

	/* gzip, and two gzip members one after the other (Go reads those). */
	static uint8_t gz[2 * sizeof b.d];
	size_t gl, gl2;
	build_valid(&b, 1, 1);
	if (gzip_buf(b.d, b.n, gz, sizeof gz, &gl) == 0) {
		int rc = pprof_parse(gz, gl, 0, &p, err, sizeof err);
		CHECK(rc == PPROF_OK && p.compressed && p.nsample == 1, "gzipped profile parses%s%s", rc ? ": " : "", rc ? err : "");
		if (rc == PPROF_OK)
			pprof_free(&p);
		/* A second member holding more string entries: one profile. */
		struct buf more = { .n = 0 };
		put_str(&more, "extra");
		if (gzip_buf(more.d, more.n, gz + gl, sizeof gz - gl, &gl2) == 0) {
			rc = pprof_parse(gz, gl + gl2, 0, &p, err, sizeof err);
			CHECK(rc == PPROF_OK && p.nstring == 7, "concatenated gzip members are read as one%s%s",
			      rc ? ": " : "", rc ? err : "");
			if (rc == PPROF_OK)
				pprof_free(&p);
		}
		expect_fail("truncated gzip", gz, gl / 2, PPROF_EGZIP, "truncated gzip stream");
		gz[gl] = 'x';
		expect_fail("gzip followed by garbage", gz, gl + 1, PPROF_EGZIP, "garbage after");
		gz[gl / 2] ^= 0xff;
		gz[gl / 2 + 1] ^= 0x55;
		expect_fail("corrupt gzip", gz, gl, PPROF_EGZIP, "gzip");
	}

	/* Unknown fields of every wire type are skipped; ids need not be 1..n. */
	build_valid(&b, 0, 0);
	put_uint(&b, 99, 5);
	put_key(&b, 98, 1);
	put_raw(&b, "12345678", 8);
	put_key(&b, 97, 5);
	put_raw(&b, "1234", 4);
	put_bytes(&b, 96, "abc", 3);
	int rc = pprof_parse(b.d, b.n, 0, &p, err, sizeof err);
	CHECK(rc == PPROF_OK, "unknown fields of wire types 0, 1, 2 and 5 are skipped%s%s", rc ? ": " : "",
	      rc ? err : "");
	if (rc == PPROF_OK)
		pprof_free(&p);

	/* Runs of unknown fields before, between and after the known ones:
	 * the passes after the first read only the stretch from the first
	 * known field to the last, which must still hold all of them. */
	static struct buf mixed, body;
	for (int last = 0; last < 2; last++) {
		build_valid(&body, 1, last);
		mixed.n = 0;
		for (int i = 0; i < 300; i++)
			put_uint(&mixed, 15 + i % 200, (uint64_t)i << 20);      /* keys of 1 and 2 bytes */
		size_t cut = first_field_end(body.d);
		put_raw(&mixed, body.d, cut);
		for (int i = 0; i < 50; i++)
			put_bytes(&mixed, 300 + i, "unknown", 7);
		put_raw(&mixed, body.d + cut, body.n - cut);
		for (int i = 0; i < 300; i++)
			put_uint(&mixed, 20, 1);
		rc = pprof_parse(mixed.d, mixed.n, 0, &p, err, sizeof err);
		CHECK(rc == PPROF_OK && p.nsample == 1 && p.sample[0].value[0] == 42 && p.nsample_type == 1 &&
			      p.time_nanos == 1700000000000000000ll &&
			      invariants(&p),
		      "unknown fields before, inside and after the profile (string table %s): the same profile%s%s",
		      last ? "last" : "first", rc ? ": " : "", rc ? err : "");
		if (rc == PPROF_OK)
			pprof_free(&p);
	}
}

static void test_invalid(void)
{
	static struct buf b, m;
	static const uint8_t overlong[] = { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
	static const uint8_t eleven[] = { 0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
	static const uint8_t trunc_varint[] = { 0x08, 0x80 };
	static const uint8_t past_end[] = { 0x32, 0x10, 'a' };
	static const uint8_t group[] = { 0x33 };
	static const uint8_t field0[] = { 0x00, 0x01 };

	expect_fail("an empty buffer", "", 0, PPROF_EEMPTY, "empty");
	expect_fail("a 10-byte varint over 64 bits", overlong, sizeof overlong, PPROF_EWIRE, "overlong varint");
	expect_fail("an 11-byte varint", eleven, sizeof eleven, PPROF_EWIRE, "overlong varint");
	expect_fail("a truncated varint", trunc_varint, sizeof trunc_varint, PPROF_EWIRE, "truncated varint");
	expect_fail("a length past the end", past_end, sizeof past_end, PPROF_EWIRE, "past the end");
	expect_fail("wire type 3 (group)", group, sizeof group, PPROF_EWIRE, "unknown wire type 3");
	expect_fail("field number 0", field0, sizeof field0, PPROF_EWIRE, "bad field number");
	expect_fail("legacy text", "heap profile: 1: 2 [3: 4] @ heap/1048576\n", 40, PPROF_ETEXT, "legacy text");

	b.n = 0;
	put_uint(&b, 1, 5);     /* sample_type as a varint */
	put_strings(&b);
	expect_fail("sample_type with the wrong wire type", b.d, b.n, PPROF_EWIRE, "wire type 0, expected 2");

	b.n = 0;
	put_uint(&b, 12, 1);
	expect_fail("no string table", b.d, b.n, PPROF_EWIRE, "no string table");

	b.n = 0;
	put_str(&b, "x");
	expect_fail("string_table[0] not empty", b.d, b.n, PPROF_EINVALID, "does not start with");

	b.n = 0;
	put_strings(&b);
	m.n = 0;
	put_uint(&m, 1, 1);
	put_uint(&m, 2, 6);     /* one past the table */
	put_msg(&b, 1, &m);
	expect_fail("a string index out of range", b.d, b.n, PPROF_EINVALID, "string index 6 out of range");

	build_valid(&b, 0, 0);
	put_uint(&b, 7, (uint64_t)-1);  /* drop_frames = -1 */
	expect_fail("a negative string index", b.d, b.n, PPROF_EINVALID, "out of range");

	/* A sample with two values for one sample type. */
	build_valid(&b, 0, 0);
	m.n = 0;
	put_uint(&m, 1, 10);
	put_uint(&m, 2, 1);
	put_uint(&m, 2, 2);
	put_msg(&b, 2, &m);
	expect_fail("a sample with the wrong number of values", b.d, b.n, PPROF_EINVALID, "2 values for 1");

	b.n = 0;
	put_strings(&b);
	m.n = 0;
	put_uint(&m, 2, 1);
	put_msg(&b, 2, &m);
	expect_fail("samples without sample types", b.d, b.n, PPROF_EINVALID, "no sample types");

	build_valid(&b, 0, 0);
	m.n = 0;
	put_uint(&m, 3, 0x1234);        /* location without id */
	put_msg(&b, 4, &m);
	expect_fail("a location with id 0", b.d, b.n, PPROF_EINVALID, "has id 0");

	build_valid(&b, 0, 0);
	m.n = 0;
	put_uint(&m, 1, 2);
	put_uint(&m, 2, 3);
	put_msg(&b, 5, &m);
	expect_fail("two functions with one id", b.d, b.n, PPROF_EINVALID, "two functions have id 2");

	build_valid(&b, 0, 0);
	m.n = 0;
	put_uint(&m, 1, 99);
	put_uint(&m, 2, 1);
	put_msg(&b, 2, &m);
	expect_fail("a sample naming a missing location", b.d, b.n, PPROF_EINVALID,
		    "names location 99, which does not exist");

	build_valid(&b, 0, 0);
	struct buf ln = { .n = 0 };
	m.n = 0;
	put_uint(&m, 1, 30);
	put_uint(&ln, 1, 55);
	put_msg(&m, 4, &ln);
	put_msg(&b, 4, &m);
	expect_fail("a line naming a missing function", b.d, b.n, PPROF_EINVALID, "names function 55");

	/* go tool pprof refuses it too: "a line with nil function" */
	build_valid(&b, 0, 0);
	ln.n = 0;
	m.n = 0;
	put_uint(&m, 1, 30);
	put_uint(&ln, 2, 5);
	put_msg(&m, 4, &ln);
	put_msg(&b, 4, &m);
	expect_fail("a line without a function", b.d, b.n, PPROF_EINVALID, "location 30 has a line without a function");

	build_valid(&b, 0, 0);
	m.n = 0;
	put_uint(&m, 1, 31);
	put_uint(&m, 2, 8);
	put_msg(&b, 4, &m);
	expect_fail("a location naming a missing mapping", b.d, b.n, PPROF_EINVALID, "names mapping 8");

	build_valid(&b, 0, 0);
	put_uint(&b, 9, 5);
	expect_fail("time_nanos twice (concatenated profiles)", b.d, b.n, PPROF_EINVALID, "concatenated");

	/* A nested message whose own length is fine but whose content runs over. */
	build_valid(&b, 0, 0);
	static const uint8_t bad_sample[] = { 0x12, 0x02, 0x0a, 0x05 };
	put_raw(&b, bad_sample, sizeof bad_sample);
	expect_fail("a packed field past the end of its sample", b.d, b.n, PPROF_EWIRE, "past the end");

	/* A gzip bomb: far more output than the cap allows. */
	size_t big = 4 << 20, gl;
	uint8_t *zeros = calloc(1, big), *gz = malloc(big);
	if (zeros && gz && gzip_buf(zeros, big, gz, big, &gl) == 0) {
		struct pprof_profile p;
		char err[256];
		int rc = pprof_parse(gz, gl, 1 << 20, &p, err, sizeof err);
		CHECK(rc == PPROF_EGZIP && strstr(err, "over 1 MiB"), "%zu-byte gzip of 4 MiB is refused at a 1 MiB cap: %s",
		      gl, err);
	}
	free(zeros);
	free(gz);
}

static void test_files(void)
{
	struct pprof_profile p;
	char err[512];
	int rc = pprof_read_file("/nonexistent/x.pb.gz", &p, err, sizeof err);
	CHECK(rc == PPROF_EIO && strcmp(err, "cannot open '/nonexistent/x.pb.gz': No such file or directory") == 0,
	      "a missing file: %s", err);

	/* Directories relative to the repository root (tests/run.sh runs
	 * from there), or set by the environment. */
	const char *seed = getenv("HP_FUZZ_SEED") ? getenv("HP_FUZZ_SEED") : "tests/fuzz/seed";
	const char *regress = getenv("HP_FUZZ_REGRESS") ? getenv("HP_FUZZ_REGRESS") : "tests/fuzz/regress";

	DIR *d = opendir(seed);
	int n = 0, good = 0;
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", seed, de->d_name);
			n++;
			rc = pprof_read_file(path, &p, err, sizeof err);
			if (rc == PPROF_OK && invariants(&p) && p.nsample_type > 0)
				good++;
			else
				printf("#   %s: %s\n", path, err);
			if (rc == PPROF_OK)
				pprof_free(&p);
		}
		closedir(d);
	}
	CHECK(n > 0 && good == n, "all %d real profiles in %s parse", n, seed);

	d = opendir(regress);
	n = 0;
	int accepted = 0, sane = 1;
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", regress, de->d_name);
			n++;
			err[0] = '\0';
			rc = pprof_read_file(path, &p, err, sizeof err);
			if (rc == PPROF_OK) {
				accepted++;
				sane &= invariants(&p);
				pprof_free(&p);
			} else if (!err[0]) {
				sane = 0;
				printf("#   %s refused without a message\n", path);
			}
		}
		closedir(d);
	}
	CHECK(d != NULL || n == 0, "the regression inputs directory %s is readable", regress);
	CHECK(sane, "%d fuzz regression inputs in %s read without a crash (%d accepted, all with valid indexes)", n,
	      regress, accepted);
}

int main(void)
{
	test_valid();
	test_invalid();
	test_files();
	return check_done();
}
