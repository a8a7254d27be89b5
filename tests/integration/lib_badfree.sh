#!/bin/sh
# lib_badfree.sh - a program that frees a block twice, or frees what
# malloc never gave out (tests/progs/badfree.c), dies under the profiler as
# it does without it: the same exit code and glibc's own message from its
# check in free().  With HEAPTRACE or HEAPPROF_STATS heapprof asks for the
# size of every block freed; glibc's malloc_usable_size on a block already
# merged into the top chunk read past the heap and the program died of
# SIGSEGV in our call, without glibc's message.
. "$(dirname "$0")/lib_common.sh"

need_lib
need_progs badfree

for mode in tcache top stack memalign; do
	run "$mode.plain" 30 "$PROGS/badfree" $mode
	want_rc=$(rc "$mode.plain")
	want_msg=$(grep -v '^heap' "$T/$mode.plain.err" | head -1)
	for pm in default rate1 trace stats; do
		case $pm in
		default) set -- ;;
		rate1) set -- HEAPPROF_RATE=1 ;;
		trace) set -- HEAPTRACE=1 ;;
		stats) set -- HEAPPROF_STATS=1 ;;
		esac
		tag=$mode.$pm
		preload "$tag" 30 "$@" "$PROGS/badfree" $mode
		got_msg=$(grep -v '^heap' "$T/$tag.err" | head -1)
		what="badfree $mode ($pm): exit $want_rc and glibc's '$want_msg', as without heapprof"
		if [ "$(rc "$tag")" = "$want_rc" ] && [ "$got_msg" = "$want_msg" ] && [ -n "$want_msg" ] &&
			cmp -s "$T/$mode.plain.out" "$T/$tag.out"; then
			ok "$what"
		else
			not_ok "$what" "$(show "$tag")"
		fi
	done
done

exit $FAILED
