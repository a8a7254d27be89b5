/*
 * test_pb.c - unit tests for pb.c, the protobuf wire encoding and gzip.
 *
 * Encodings are checked byte for byte against known-good bytes: the
 * protobuf documentation's examples (150 -> 96 01) and the worked pprof
 * messages in the project's pprof reference, which were confirmed by
 * loading them with go tool pprof.  gzip is checked by inflating with zlib.
 * Prints "ok - ..." / "not ok - ..." per check; exits 1 if any failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profile.h"

static int failed;

static void check(int cond, const char *what)
{
	printf("%s - %s\n", cond ? "ok" : "not ok", what);
	if (!cond)
		failed = 1;
}

/* Compares b's contents with the expected bytes; prints both on mismatch. */
static void check_bytes(const struct hp_buf *b, const uint8_t *want, size_t n, const char *what)
{
	int same = !b->err && b->len == n && memcmp(b->data, want, n) == 0;
	check(same, what);
	if (!same) {
		printf("#   got ");
		for (size_t i = 0; i < b->len; i++)
			printf(" %02x", b->data[i]);
		printf("%s\n#  want ", b->err ? " (error set)" : "");
		for (size_t i = 0; i < n; i++)
			printf(" %02x", want[i]);
		printf("\n");
	}
}

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static void test_varint(void)
{
	static const struct { uint64_t v; uint8_t enc[10]; size_t n; } cases[] = {
		{ 0, { 0x00 }, 1 },
		{ 1, { 0x01 }, 1 },
		{ 127, { 0x7f }, 1 },
		{ 128, { 0x80, 0x01 }, 2 },
		{ 150, { 0x96, 0x01 }, 2 },
		{ 300, { 0xac, 0x02 }, 2 },
		{ 5120, { 0x80, 0x28 }, 2 },
		{ 16383, { 0xff, 0x7f }, 2 },
		{ 16384, { 0x80, 0x80, 0x01 }, 3 },
		{ 524288, { 0x80, 0x80, 0x20 }, 3 },
		{ UINT64_MAX, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, 10 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hp_buf b = { 0 };
		char what[80];
		hp_pb_varint(&b, cases[i].v);
		snprintf(what, sizeof what, "varint %llu", (unsigned long long)cases[i].v);
		check_bytes(&b, cases[i].enc, cases[i].n, what);
		hp_buf_free(&b);
	}
}

static void test_fields(void)
{
	struct hp_buf b = { 0 };

	hp_pb_key(&b, 1, 0);
	hp_pb_key(&b, 11, 2);
	hp_pb_key(&b, 16, 0);   /* first two-byte key */
	check_bytes(&b, BYTES(0x08, 0x5a, 0x80, 0x01), "keys (1,varint) (11,len) (16,varint)");
	hp_buf_free(&b);

	hp_pb_int(&b, 12, 524288);
	check_bytes(&b, BYTES(0x60, 0x80, 0x80, 0x20), "period 524288 = 60 80 80 20");
	hp_buf_free(&b);

	hp_pb_int(&b, 2, -1);
	check_bytes(&b, BYTES(0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
		    "int64 -1 takes 10 bytes (no zig-zag)");
	hp_buf_free(&b);

	hp_pb_uint(&b, 1, 0);
	hp_pb_int(&b, 2, 0);
	check(b.len == 0 && !b.err, "zero uint/int fields are omitted");
	hp_buf_free(&b);

	hp_pb_bytes(&b, 6, "", 0);
	hp_pb_bytes(&b, 6, "space", 5);
	check_bytes(&b, BYTES(0x32, 0x00, 0x32, 0x05, 0x73, 0x70, 0x61, 0x63, 0x65),
		    "string_table \"\" then \"space\" = 32 00 32 05 73 70 61 63 65");
	hp_buf_free(&b);
}

static void test_nested(void)
{
	struct hp_buf b = { 0 };

	size_t m = hp_pb_begin(&b, 11);
	hp_pb_uint(&b, 1, 1);
	hp_pb_uint(&b, 2, 2);
	hp_pb_end(&b, m);
	check_bytes(&b, BYTES(0x5a, 0x04, 0x08, 0x01, 0x10, 0x02),
		    "period_type {type:1 unit:2} = 5a 04 08 01 10 02");
	hp_buf_free(&b);

	m = hp_pb_begin(&b, 1);
	hp_pb_uint(&b, 1, 3);
	hp_pb_uint(&b, 2, 4);
	hp_pb_end(&b, m);
	check_bytes(&b, BYTES(0x0a, 0x04, 0x08, 0x03, 0x10, 0x04),
		    "sample_type {type:3 unit:4} = 0a 04 08 03 10 04");
	hp_buf_free(&b);

	static const uint64_t locs[] = { 1, 2, 3 }, vals[] = { 5, 5120, 0, 0 };
	m = hp_pb_begin(&b, 2);
	hp_pb_packed(&b, 1, locs, 3);
	hp_pb_packed(&b, 2, vals, 4);
	hp_pb_end(&b, m);
	check_bytes(&b, BYTES(0x12, 0x0c, 0x0a, 0x03, 0x01, 0x02, 0x03, 0x12, 0x05, 0x05, 0x80, 0x28,
			      0x00, 0x00),
		    "sample {location_id:[1,2,3] value:[5,5120,0,0]} packed");
	hp_buf_free(&b);

	/* one or two elements go unpacked, as Go writes them */
	static const uint64_t two[] = { 7, 300 };
	hp_pb_packed(&b, 1, two, 2);
	hp_pb_packed(&b, 2, two, 0);
	check_bytes(&b, BYTES(0x08, 0x07, 0x08, 0xac, 0x02), "repeated with 2 elements unpacked, 0 = nothing");
	hp_buf_free(&b);

	/* a message in a message: Location { id:1 line { function_id:2 line:10 } } */
	m = hp_pb_begin(&b, 4);
	hp_pb_uint(&b, 1, 1);
	size_t l = hp_pb_begin(&b, 4);
	hp_pb_uint(&b, 1, 2);
	hp_pb_int(&b, 2, 10);
	hp_pb_end(&b, l);
	hp_pb_end(&b, m);
	check_bytes(&b, BYTES(0x22, 0x08, 0x08, 0x01, 0x22, 0x04, 0x08, 0x02, 0x10, 0x0a),
		    "nested Location{id:1 line{function_id:2 line:10}}");
	hp_buf_free(&b);

	/* an empty message still has its key and a zero length */
	m = hp_pb_begin(&b, 3);
	hp_pb_end(&b, m);
	check_bytes(&b, BYTES(0x1a, 0x00), "empty embedded message = 1a 00");
	hp_buf_free(&b);
}

/* Payloads whose length needs 2 and 3 varint bytes: the rotation must move
 * the whole payload intact behind the longer prefix. */
static void test_long_payloads(void)
{
	static const size_t sizes[] = { 127, 128, 16383, 16384, 100000 };
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		size_t n = sizes[k];
		struct hp_buf b = { 0 };
		hp_pb_uint(&b, 1, 42);                  /* something before */
		size_t m = hp_pb_begin(&b, 2);
		for (size_t i = 0; i < n; i++) {
			uint8_t c = (uint8_t)(i * 7 + 1);
			hp_buf_put(&b, &c, 1);
		}
		hp_pb_end(&b, m);
		hp_pb_uint(&b, 3, 1);                   /* something after */

		struct hp_buf want = { 0 };
		hp_pb_uint(&want, 1, 42);
		hp_pb_key(&want, 2, 2);
		hp_pb_varint(&want, n);
		for (size_t i = 0; i < n; i++) {
			uint8_t c = (uint8_t)(i * 7 + 1);
			hp_buf_put(&want, &c, 1);
		}
		hp_pb_uint(&want, 3, 1);
		char what[80];
		snprintf(what, sizeof what, "embedded payload of %zu bytes (length prefix rotated in)", n);
		check(!b.err && b.len == want.len && memcmp(b.data, want.data, b.len) == 0, what);
		hp_buf_free(&b);
		hp_buf_free(&want);
	}

	/* deep nesting: 50 levels, each with one byte of its own */
	struct hp_buf b = { 0 };
	size_t marks[50];
	for (int i = 0; i < 50; i++) {
		marks[i] = hp_pb_begin(&b, 1);
		hp_pb_uint(&b, 2, 1);
	}
	for (int i = 49; i >= 0; i--)
		hp_pb_end(&b, marks[i]);
	/* walk it back: key 0a, length, then 10 01, then the next level */
	size_t pos = 0;
	int ok = 1;
	for (int i = 0; i < 50 && ok; i++) {
		uint64_t len = 0;
		int shift = 0;
		ok = pos < b.len && b.data[pos++] == 0x0a;
		while (ok && pos < b.len) {
			uint8_t c = b.data[pos++];
			len |= (uint64_t)(c & 0x7f) << shift;
			shift += 7;
			if (!(c & 0x80))
				break;
		}
		ok = ok && len == b.len - pos && pos + 2 <= b.len &&
		     b.data[pos] == 0x10 && b.data[pos + 1] == 0x01;
		pos += 2;
	}
	check(ok && pos == b.len, "50 nested messages decode with exact lengths");
	hp_buf_free(&b);
}

static void test_sticky_error(void)
{
	struct hp_buf b = { 0 };
	hp_pb_uint(&b, 1, 1);
	b.err = 1;
	size_t len = b.len;
	size_t m = hp_pb_begin(&b, 2);
	hp_pb_varint(&b, 300);
	hp_pb_bytes(&b, 6, "abc", 3);
	hp_pb_end(&b, m);
	check(b.len == len && b.err, "after an error every write is a no-op");
	struct hp_buf z = { 0 };
	z.err = 1;
	check(hp_gzip((const uint8_t *)"x", 1, &z) == -1 && z.len == 0, "gzip into a failed buffer fails");
	hp_buf_free(&b);
	check(b.data == NULL && b.len == 0 && b.cap == 0 && b.err == 0, "hp_buf_free resets the buffer");

	/* an impossible size sets the error instead of wrapping around */
	hp_pb_uint(&b, 1, 1);
	hp_buf_put(&b, b.data, SIZE_MAX - 8);
	check(b.err && b.len == 2, "an overflowing size sets the error");
	hp_buf_free(&b);
}

/* Inflates a gzip stream with zlib; returns 0 and the bytes in out. */
static int gunzip(const uint8_t *in, size_t n, struct hp_buf *out)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return -1;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	int rc;
	do {
		uint8_t tmp[65536];
		z.next_out = tmp;
		z.avail_out = sizeof tmp;
		rc = inflate(&z, Z_NO_FLUSH);
		hp_buf_put(out, tmp, sizeof tmp - z.avail_out);
	} while (rc == Z_OK);
	int left = z.avail_in;
	inflateEnd(&z);
	return rc == Z_STREAM_END && left == 0 && !out->err ? 0 : -1;
}

static void test_gzip(void)
{
	/* 3 MB: mostly compressible text with some noise */
	size_t n = 3 << 20;
	uint8_t *data = malloc(n);
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		data[i] = (i % 64 < 48) ? (uint8_t)("heap profile "[i % 13]) : (uint8_t)x;
	}
	struct hp_buf gz = { 0 }, back = { 0 };
	int rc = hp_gzip(data, n, &gz);
	check(rc == 0 && gz.len > 18, "gzip of 3 MB succeeds");
	check(gz.len >= 2 && gz.data[0] == 0x1f && gz.data[1] == 0x8b, "output starts with the gzip magic 1f 8b");
	check(gz.len < n, "output is smaller than the input");
	rc = gunzip(gz.data, gz.len, &back);
	check(rc == 0 && back.len == n && memcmp(back.data, data, n) == 0,
	      "zlib inflates it back to the same 3 MB");
	hp_buf_free(&gz);
	hp_buf_free(&back);

	rc = hp_gzip(NULL, 0, &gz);
	rc |= gunzip(gz.data, gz.len, &back);
	check(rc == 0 && back.len == 0, "gzip of nothing is a valid empty gzip stream");
	hp_buf_free(&gz);
	hp_buf_free(&back);

	/* appends after what the buffer already holds */
	hp_buf_put(&gz, "HEAD", 4);
	rc = hp_gzip(data, 1000, &gz);
	rc |= gunzip(gz.data + 4, gz.len - 4, &back);
	check(rc == 0 && memcmp(gz.data, "HEAD", 4) == 0 && back.len == 1000 &&
	      memcmp(back.data, data, 1000) == 0, "gzip appends to a non-empty buffer");
	hp_buf_free(&gz);
	hp_buf_free(&back);

	/* In pieces of 0 bytes to 1 MB, as the profile writer feeds it: the
	 * same bytes as one call (Z_NO_FLUSH adds no block boundaries). */
	struct hp_buf one = { 0 };
	rc = hp_gzip(data, n, &one);
	struct hp_gz *g = hp_gz_open(n);
	size_t at = 0, piece = 0;
	while (rc == 0 && g && at < n) {
		size_t take = piece % 5 == 0 ? 0 : (piece * 7919) % (1u << 20);
		take = take > n - at ? n - at : take;
		rc = hp_gz_put(g, data + at, take, 0, &gz);
		at += take;
		piece++;
	}
	rc |= g ? hp_gz_put(g, NULL, 0, 1, &gz) : -1;
	hp_gz_close(g);
	char what[120];
	snprintf(what, sizeof what, "gzip in %zu pieces gives the same %zu bytes as in one", piece, one.len);
	check(rc == 0 && piece > 5 && gz.len == one.len && memcmp(gz.data, one.data, one.len) == 0, what);
	hp_buf_free(&gz);
	hp_buf_free(&one);
	free(data);
}

int main(void)
{
	test_varint();
	test_fields();
	test_nested();
	test_long_payloads();
	test_sticky_error();
	test_gzip();
	return failed;
}
