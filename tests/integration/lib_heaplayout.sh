#!/bin/sh
# lib_heaplayout.sh - what the profiler allocates from the program's heap
# must not depend on when it samples.
#
# tests/progs/heaplayout prints a digest of where malloc put each block of a
# fixed sequence, as offsets from its first block (so ASLR does not matter).
# Plain runs always print the same digest.  Under the profiler every run draws
# fresh sampling intervals, so its samples fall at other allocations each
# time; if anything the profiler allocates from the program's heap happened
# at a sample, the layout, and the digest, would change from run to run.  It
# did: the first sample's pthread_getattr_np (stack bounds) once allocated at
# a random step and, in about one run in eight, left glibc's heap working 25 %
# harder to the end; and libunwind's thread-local block was malloc'ed at the
# first walk (HEAPPROF_UNWIND=libunwind) or at the first stack cfi.c hands
# to libunwind (the "signal" runs allocate in a signal handler one time in
# eight, so those stacks cross a signal frame).  Each unwinder is run.
# "c11" runs the sequence in a thrd_create thread whose first allocation is
# made inside pthread_getattr_np: its stack bounds, which must wait, once
# waited for its first sample.
# The profiler's own allocations at start-up (dlopen of libunwind, a
# thread's first-allocation stack bounds) are allowed: they are the same
# every run, so profiled runs agree with each other, not with plain.
. "$(dirname "$0")/lib_common.sh"

need_lib
need_progs heaplayout

run plain 60 "$PROGS/heaplayout"
run plain2 60 "$PROGS/heaplayout"
if [ "$(rc plain)" = 0 ] && cmp -s "$T/plain.out" "$T/plain2.out"; then
	ok "heaplayout: two plain runs give the same digest ($(cat "$T/plain.out"))"
else
	not_ok "heaplayout: two plain runs give the same digest" "$(cat "$T/plain.out" "$T/plain2.out")"
fi

for mode in default rate-65536 libunwind-65536 fp-65536 signal signal-65536 c11-65536; do
	args=
	case $mode in
	default) set -- ;;
	rate-65536) set -- HEAPPROF_RATE=65536 ;;
	libunwind-65536) set -- HEAPPROF_RATE=65536 HEAPPROF_UNWIND=libunwind ;;
	fp-65536) set -- HEAPPROF_RATE=65536 HEAPPROF_UNWIND=fp ;;
	signal) set -- ; args="300000 signal" ;;
	signal-65536) set -- HEAPPROF_RATE=65536; args="300000 signal" ;;
	c11-65536) set -- HEAPPROF_RATE=65536; args="300000 c11" ;;
	esac
	digests=""
	for i in 1 2 3 4 5 6; do
		preload "$mode.$i" 60 "$@" "$PROGS/heaplayout" $args
		digests="$digests$(cat "$T/$mode.$i.out")
"
	done
	n=$(printf '%s' "$digests" | sort -u | wc -l)
	what="heaplayout, $mode: 6 profiled runs, different sampling seeds, one heap layout"
	if [ "$n" = 1 ]; then
		ok "$what"
	else
		not_ok "$what" "$n different digests:" "$(printf '%s' "$digests" | sort | uniq -c)"
	fi
done
