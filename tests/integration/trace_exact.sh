#!/bin/sh
# trace_exact.sh - exact totals (issue 4), measured from inside the program.
#
# tests/progs/trace_exact.c reads heapprof_stats() (found with dlsym)
# before and after a known series of malloc/calloc/realloc/memalign/strdup
# calls and frees, and prints "NAME MEASURED EXPECTED" lines.  Under
# HEAPTRACE=1 and under HEAPPROF_STATS=1:
#   - allocs and frees equal the calls made, exactly;
#   - alloc and free bytes equal the sum of malloc_usable_size() of the
#     blocks (the documented byte rule), and in-use returns to its start;
#   - frees made by a thread that never allocates are counted once it has
#     exited.
# Without a counting variable the program sees counting == 0.
. "$(dirname "$0")/live_common.sh"

need_lib
need_progs trace_exact

for v in HEAPTRACE=1 HEAPPROF_STATS=1; do
	preload ex 60 "$v" "$PROGS/trace_exact"
	if [ "$(rc ex)" != 0 ]; then
		not_ok "trace_exact ($v) runs" "$(show ex)"
		continue
	fi
	while read -r name measured expected; do
		case $name in
		allocs|frees) what="$name: exactly the calls made" ;;
		alloc_bytes|free_bytes) what="$name: sum of malloc_usable_size of the blocks" ;;
		inuse_delta) what="in-use back to its starting level" ;;
		thread_frees) what="frees by a thread that never allocates, counted after it exits" ;;
		thread_free_bytes) what="bytes freed by a thread that never allocates" ;;
		*) what=$name ;;
		esac
		if [ "$measured" = "$expected" ]; then
			ok "$v: $what ($measured)"
		else
			not_ok "$v: $what" "measured $measured, expected $expected"
		fi
	done <"$T/ex.out"
done

preload nocount 60 "$PROGS/trace_exact"
if [ "$(cat "$T/nocount.out")" = "counting 0" ]; then
	ok "without HEAPTRACE or HEAPPROF_STATS, heapprof_stats says counting 0"
else
	not_ok "without HEAPTRACE or HEAPPROF_STATS, heapprof_stats says counting 0" "$(show nocount)"
fi

exit $FAILED
