/*
 * pb.c - protobuf wire encoding into a growable buffer, and gzip.
 *
 * The bottom layer of the profile writer (see profile.h): just enough of
 * the protobuf wire format for profile.proto - varints (wire type 0) and
 * length-delimited fields (wire type 2), including packed repeated scalars
 * and embedded messages.  An embedded message is written in place: begin
 * emits the key and remembers where the payload starts, end appends the
 * payload length and rotates it in front of the payload (Go's trick), so
 * no scratch buffer is needed and nesting is free.
 *
 * Errors are sticky (as in jemalloc's dump): after the first failed
 * allocation every call is a no-op and the caller checks b->err once at
 * the end.  Memory comes from malloc; this runs with the profiler's
 * recursion guard set, so malloc reaches the real allocator untracked.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profile.h"

/* Makes room for n more bytes.  Returns 0, or -1 (and sets the sticky
 * error) when the size overflows or realloc fails.  Amortised O(1). */
static int buf_reserve(struct hp_buf *b, size_t n)
{
	if (b->err)
		return -1;
	if (n <= b->cap - b->len)
		return 0;
	if (n > SIZE_MAX / 2 - b->len) {
		b->err = 1;
		return -1;
	}
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < n)
		cap *= 2;
	uint8_t *p = realloc(b->data, cap);
	if (!p) {
		b->err = 1;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

/* Frees the buffer's memory and resets it to empty (error cleared). */
void hp_buf_free(struct hp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}

/* Appends n bytes from p. */
void hp_buf_put(struct hp_buf *b, const void *p, size_t n)
{
	if (n == 0 || buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* Encodes v as a varint into out (at least 10 bytes); returns its length. */
static size_t varint_enc(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

/* Appends v as a base-128 varint, 1 to 10 bytes. */
void hp_pb_varint(struct hp_buf *b, uint64_t v)
{
	if (buf_reserve(b, 10))
		return;
	b->len += varint_enc(b->data + b->len, v);
}

/* Appends a field key: (field << 3) | wiretype, as a varint. */
void hp_pb_key(struct hp_buf *b, unsigned field, unsigned wiretype)
{
	hp_pb_varint(b, (uint64_t)field << 3 | (wiretype & 7));
}

/* A uint64 (or bool, or id) field; proto3 omits zero, and so do we. */
void hp_pb_uint(struct hp_buf *b, unsigned field, uint64_t v)
{
	if (v == 0)
		return;
	hp_pb_key(b, field, 0);
	hp_pb_varint(b, v);
}

/* An int64 field (not sint64: a negative value takes 10 bytes); omitted
 * when zero. */
void hp_pb_int(struct hp_buf *b, unsigned field, int64_t v)
{
	hp_pb_uint(b, field, (uint64_t)v);
}

/* A string/bytes field: key, length, bytes.  Always written, even when
 * empty, because string_table[0] must be the empty string. */
void hp_pb_bytes(struct hp_buf *b, unsigned field, const void *p, size_t n)
{
	hp_pb_key(b, field, 2);
	hp_pb_varint(b, n);
	hp_buf_put(b, p, n);
}

/* A repeated scalar field.  Like Go's writer it packs (one length-delimited
 * field holding the varints back to back) only when there are more than
 * two elements; one or two are smaller written as separate fields.  pprof
 * reads both forms.  Nothing is written for n == 0. */
void hp_pb_packed(struct hp_buf *b, unsigned field, const uint64_t *v, size_t n)
{
	if (n <= 2) {
		for (size_t i = 0; i < n; i++) {
			hp_pb_key(b, field, 0);
			hp_pb_varint(b, v[i]);
		}
		return;
	}
	size_t mark = hp_pb_begin(b, field);
	for (size_t i = 0; i < n; i++)
		hp_pb_varint(b, v[i]);
	hp_pb_end(b, mark);
}

/* Starts an embedded message (or any length-delimited field written piece
 * by piece): writes the key and returns the offset where the payload
 * starts, to be passed to hp_pb_end.  Messages may nest. */
size_t hp_pb_begin(struct hp_buf *b, unsigned field)
{
	hp_pb_key(b, field, 2);
	return b->len;
}

/* Ends the message begun at mark: the payload is everything appended since.
 * Its length varint is appended, then rotated in front of the payload.
 * Cost: one memmove of the payload, so keep big payloads (the whole
 * profile) at the top level, as profile.proto does. */
void hp_pb_end(struct hp_buf *b, size_t mark)
{
	if (b->err || mark > b->len)
		return;
	size_t plen = b->len - mark;
	uint8_t tmp[10];
	size_t k = varint_enc(tmp, plen);
	if (buf_reserve(b, k))
		return;
	memmove(b->data + mark + k, b->data + mark, plen);
	memcpy(b->data + mark, tmp, k);
	b->len += k;
}

/* A gzip (RFC 1952) stream at zlib's fastest level (as Go's writer:
 * profiles are large and written at exit), fed in pieces so that a writer
 * need not hold the whole uncompressed profile.  Z_NO_FLUSH between the
 * pieces: the output is the same as compressing them in one call. */
struct hp_gz {
	z_stream z;
};

/* zlib allocates its state with malloc, sized here to the expected input,
 * since it is part of what a dump adds to the program's peak memory.  Its
 * bytes are 2^(windowBits+2) + 2^(memLevel+9):
 *  - from 1 MiB, windowBits 13 and memLevel 8, 160 KiB: an 8 KiB window
 *    instead of 32 KiB grows files by 0-2 % (a 100k-stack profile 0.0 %,
 *    cc1 at rate 1 1.9 %), but memLevel 7 grew the 100k-stack profile by
 *    19 %;
 *  - below, windowBits 12 and memLevel 5, 32 KiB: the loop benchmark's
 *    57 KB profile comes out 3.5 % larger (20.9 -> 21.6 KB), for 128 KiB
 *    less at the dump's peak. */
struct hp_gz *hp_gz_open(size_t expect)
{
	struct hp_gz *g = calloc(1, sizeof *g);
	int small = expect < (1u << 20);
	if (g && deflateInit2(&g->z, Z_BEST_SPEED, Z_DEFLATED, (small ? 12 : 13) + 16, small ? 5 : 8,
			      Z_DEFAULT_STRATEGY) != Z_OK) {
		free(g);
		g = NULL;
	}
	return g;
}

/* Compresses in[0..n) onto out; finish ends the stream.  Returns 0, or -1
 * with out->err set (out keeps what earlier pieces wrote). */
int hp_gz_put(struct hp_gz *g, const uint8_t *in, size_t n, int finish, struct hp_buf *out)
{
	enum { CHUNK = 16u << 10 };
	g->z.next_in = (Bytef *)in;
	g->z.avail_in = 0;
	for (;;) {
		if (g->z.avail_in == 0 && n > 0) {
			/* avail_in is 32 bits: feed huge inputs in slices */
			uInt take = n > (1u << 30) ? (1u << 30) : (uInt)n;
			g->z.avail_in = take;
			n -= take;
		}
		int flush = finish && n == 0 ? Z_FINISH : Z_NO_FLUSH;
		if (buf_reserve(out, CHUNK))
			return -1;
		g->z.next_out = out->data + out->len;
		g->z.avail_out = CHUNK;
		int rc = deflate(&g->z, flush);
		out->len += CHUNK - g->z.avail_out;
		if (rc == Z_STREAM_END)
			return 0;
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			out->err = 1;
			return -1;
		}
		/* Room left over: deflate has taken all it was given and holds
		 * nothing more back, so this piece is done. */
		if (g->z.avail_out != 0 && g->z.avail_in == 0 && n == 0 && flush == Z_NO_FLUSH)
			return 0;
	}
}

void hp_gz_close(struct hp_gz *g)
{
	if (g) {
		deflateEnd(&g->z);
		free(g);
	}
}

/* gzip of in[0..n) appended to out, in one piece.  Returns 0, or -1 with
 * out->err set when memory ran out (out keeps its old length). */
int hp_gzip(const uint8_t *in, size_t n, struct hp_buf *out)
{
	if (out->err)
		return -1;
	size_t start = out->len;
	struct hp_gz *g = hp_gz_open(n);
	int rc = g ? hp_gz_put(g, in, n, 1, out) : -1;
	hp_gz_close(g);
	if (rc != 0) {
		out->len = start;
		out->err = 1;
	}
	return rc;
}
