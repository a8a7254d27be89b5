#!/bin/sh
# lib_mdebug.sh - glibc's malloc debugging (libc_malloc_debug.so:
# MALLOC_CHECK_, mtrace) works the same with heapprof preloaded before or
# after it (tests/progs/mdebug.c).  That library defines malloc only under
# hidden symbol versions; heapprof first in LD_PRELOAD once resolved past
# it to libc's malloc, and the program's checks went silently off.  And
# the fix must not mistake another allocator for it: tcmalloc, which also
# defines __libc_malloc, was once replaced by glibc's malloc that way.
# (jemalloc and tcmalloc are checked when installed: make bench-peers
# installs them.)
. "$(dirname "$0")/lib_common.sh"

need_lib
need_progs mdebug

DBG=
for d in /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu /usr/lib64 /lib64; do
	[ -f "$d/libc_malloc_debug.so.0" ] && DBG=$d/libc_malloc_debug.so.0 && break
done
if [ -z "$DBG" ]; then
	echo "ok - glibc malloc debugging under heapprof # skip no libc_malloc_debug.so.0 (glibc < 2.34?)"
	exit 0
fi

run base.over 30 env MALLOC_CHECK_=3 LD_PRELOAD="$DBG" "$PROGS/mdebug" overrun
run base.trace 30 env MALLOC_TRACE="$T/base.mt" LD_PRELOAD="$DBG" "$PROGS/mdebug" trace
for order in first second; do
	case $order in
	first) pre="$LIB $DBG" ;;
	second) pre="$DBG $LIB" ;;
	esac
	for rate in 524288 1; do
		tag=$order.$rate
		run "$tag.over" 30 env HEAPPROF_RATE=$rate MALLOC_CHECK_=3 LD_PRELOAD="$pre" "$PROGS/mdebug" overrun
		what="MALLOC_CHECK_=3, heapprof $order in LD_PRELOAD, rate $rate: the overrun aborts in free as without heapprof (exit $(rc base.over))"
		if [ "$(rc "$tag.over")" = "$(rc base.over)" ] && [ "$(rc base.over)" = 134 ] &&
			cmp -s "$T/base.over.out" "$T/$tag.over.out"; then
			ok "$what"
		else
			not_ok "$what" "$(show "$tag.over"); stdout: $(cat "$T/$tag.over.out")"
		fi
	done
	run "$order.trace" 30 env MALLOC_TRACE="$T/$order.mt" LD_PRELOAD="$pre" "$PROGS/mdebug" trace
	what="mtrace, heapprof $order in LD_PRELOAD: $(cat "$T/base.trace.out")"
	if [ "$(rc "$order.trace")" = 0 ] && cmp -s "$T/base.trace.out" "$T/$order.trace.out" &&
		[ "$(cat "$T/base.trace.out")" = "traced: 2 allocations, 1 frees" ]; then
		ok "$what"
	else
		not_ok "$what" "got: $(cat "$T/$order.trace.out")" "$(show "$order.trace")"
	fi
done

for alloc in libtcmalloc_minimal.so.4 libtcmalloc.so.4 libjemalloc.so.2; do
	so=
	for d in /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu /usr/lib64; do
		[ -f "$d/$alloc" ] && so=$d/$alloc && break
	done
	if [ -z "$so" ]; then
		echo "ok - $alloc preloaded after heapprof stays the allocator # skip $alloc not installed"
		continue
	fi
	run "alone.$alloc" 30 env LD_PRELOAD="$so" "$PROGS/mdebug" usable
	run "after.$alloc" 30 env LD_PRELOAD="$LIB $so" "$PROGS/mdebug" usable
	what="$alloc preloaded after heapprof stays the allocator ($(cat "$T/alone.$alloc.out"))"
	if [ "$(rc "after.$alloc")" = 0 ] && cmp -s "$T/alone.$alloc.out" "$T/after.$alloc.out"; then
		ok "$what"
	else
		not_ok "$what" "got: $(cat "$T/after.$alloc.out")" "$(show "after.$alloc")"
	fi
done

exit $FAILED
