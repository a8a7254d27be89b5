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
# harder to the end.  The profiler's own allocations at start-up (dlopen of
# libunwind, a thread's first-allocation stack bounds) are allowed: they are
# the same every run, so profiled runs agree with each other, not with plain.
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

for rate in default 65536; do
	set --
	[ "$rate" = default ] || set -- HEAPPROF_RATE="$rate"
	digests=""
	for i in 1 2 3 4 5 6; do
		preload "$rate.$i" 60 "$@" "$PROGS/heaplayout"
		digests="$digests$(cat "$T/$rate.$i.out")
"
	done
	n=$(printf '%s' "$digests" | sort -u | wc -l)
	if [ "$n" = 1 ]; then
		ok "heaplayout at rate $rate: 6 profiled runs, different sampling seeds, one heap layout"
	else
		not_ok "heaplayout at rate $rate: 6 profiled runs, different sampling seeds, one heap layout" \
			"$n different digests:" "$(printf '%s' "$digests" | sort | uniq -c)"
	fi
done
