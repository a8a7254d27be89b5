/*
 * flame.h - interactive SVG flame graphs for `heapprof flame`.
 *
 * The caller turns a profile into a flat list of stacks (one per sample, or
 * already merged) and hands them over; flame_write_svg() merges them into a
 * call tree and writes one self-contained SVG file: no network, no external
 * script or font, so it opens from file:// and works as a mail attachment.
 * Hover, click-to-zoom and regex search run from a small script inside it.
 */
#ifndef HEAPPROF_FLAME_H
#define HEAPPROF_FLAME_H

#include <stdio.h>
#include <stddef.h>

/*
 * One stack and its value.  frames[0] is the outermost caller (root first),
 * frames[nframes-1] the function that allocated.  Frames are compared with
 * strcmp, so equal names merge; pointer-equal names (interned strings) are
 * merged without a compare, which makes large inputs cheaper.  A NULL frame
 * is drawn as "[unknown]".  Stacks need not be sorted or distinct: equal
 * stacks add up.  Negative or non-finite values count as 0.
 */
struct flame_stack {
	const char **frames;
	int nframes;		/* root first */
	double value;
	double base;		/* base used only when diff != 0 */
};

/*
 * title:    first line; the renderer appends the total ("<title> - total
 *           12.3 MiB"), so pass the sample type here (NULL: "Flame Graph",
 *           or "Icicle Graph" when inverted).
 * subtitle: second line, e.g. the sampling rate and dump time (NULL: none).
 * unit:     "bytes" (shown as B/KiB/MiB/GiB) or "objects"; any other string
 *           is printed after the number as is; NULL prints bare numbers.
 * inverted: icicle graph, root at the top.
 * diff:     differential graph: widths from value (the new profile), colour
 *           from the change of each frame's own (self) value against base:
 *           red grew, blue shrank, white unchanged.
 */
struct flame_opts {
	const char *title;
	const char *subtitle;
	const char *unit;	/* "bytes" or "objects" */
	int inverted;
	int diff;
};

/*
 * Writes a self-contained interactive SVG to out; returns 0 or -1 (errno set).
 *
 * opts may be NULL (defaults above).  Frames narrower than 0.1 px are left
 * out of the drawing but still counted in every total.  A zero total gives a
 * small SVG that says "no data".  Errors: EINVAL (NULL out, or NULL stacks
 * with n > 0), ENOMEM, or the errno of the failed write; out is flushed but
 * not closed, and may hold a partial file after an error.
 * Cost: O(F log n) string compares to sort (F = frames per stack), then one
 * pass over the stacks; memory is one small node per distinct tree node.
 */
int flame_write_svg(FILE *out, const struct flame_stack *stacks, size_t n, const struct flame_opts *opts);

#endif
