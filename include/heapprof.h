/*
 * heapprof.h - the public API of libheapprof.
 *
 * Most programs need none of this: preload the library
 * (LD_PRELOAD=libheapprof.so) and set HEAPPROF_OUT.  Link with -lheapprof
 * (pkg-config heapprof) to take profiles or read totals from inside the
 * program.  Either way the library must be loaded at startup, not with
 * dlopen: it replaces malloc and uses initial-exec TLS.
 *
 * Every function here is thread-safe and may be called at any time after
 * main() starts.  None may be called from a signal handler.
 */
#ifndef HEAPPROF_H
#define HEAPPROF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Writes a heap profile of the current state (gzipped pprof profile.proto)
 * to path, through a temporary file renamed into place, so a reader never
 * sees a partial file.  "%p" in path is replaced by the process id and "%n"
 * by the next dump sequence number; path NULL means the HEAPPROF_OUT pattern
 * (or "heapprof.%p.%n.pb.gz" when unset), with ".%n" before its extension
 * when it has no %n, so that the dump does not take the exit profile's name;
 * a relative pattern is taken from the directory the program started in.
 *
 * Returns 0 on success or a negative errno value (-EINVAL when the profiler
 * is off, e.g. HEAPPROF_RATE=0; -EBUSY in a child forked by a signal handler
 * that caught its thread inside the profiler, which profiles nothing);
 * errno itself is left unchanged.  Cost: it
 * symbolizes every distinct address and compresses the result, typically a
 * few milliseconds to a few hundred, on the calling thread.  Allocation in
 * other threads goes on meanwhile.
 */
int heapprof_dump(const char *path);

/* Exact process-wide totals, counted for every call (not sampled). */
struct heapprof_stats {
	int counting;             /* 1 when the exact counts below are kept (HEAPTRACE=1 or
	                             HEAPPROF_STATS=1); otherwise they are all 0 */
	uint64_t allocs;          /* successful allocation calls */
	uint64_t frees;           /* free calls on non-NULL pointers, and reallocs that freed */
	uint64_t alloc_bytes;     /* usable bytes of every allocation (malloc_usable_size) */
	uint64_t free_bytes;      /* usable bytes of every freed block */
	uint64_t inuse_bytes;     /* alloc_bytes - free_bytes */
	uint64_t peak_inuse_bytes;/* highest inuse_bytes seen (may lag by a per-thread batch) */
	uint64_t samples;         /* stack samples recorded */
	uint64_t samples_dropped; /* samples that could not be recorded */
	uint64_t profiler_bytes;  /* memory the profiler itself holds */
	uint64_t rate;            /* the sampling rate in effect (HEAPPROF_RATE) */
};

/*
 * Fills *st with the totals so far.  The byte and call counts are exact but
 * per-thread counters are folded in batches (64 calls or 256 KiB), so another
 * running thread's last few calls may not show yet; the calling thread's
 * own calls always do, and a thread's counts are complete once it has
 * exited.  Counting every call costs a function call
 * per malloc and free, so it is on only with HEAPTRACE=1 or HEAPPROF_STATS=1
 * (st->counting says which); the sample and profiler fields are always kept.
 * Returns 0, or -EINVAL if st is NULL.
 */
int heapprof_stats(struct heapprof_stats *st);

#ifdef __cplusplus
}
#endif

#endif
