#!/bin/sh
# lib_getattr.sh - threads whose first allocation is made inside
# pthread_getattr_np (tests/progs/getattr.c), which holds the thread's lock
# while it allocates: heapprof must not ask for the thread's stack bounds
# there.  lib_transparency.sh runs the program alone; here with a second
# preload that wraps pthread_getattr_np (tests/progs/getattrplugin.c),
# before and after heapprof, in each unwinder mode at rate 1.  A hang is
# a failure (time limit).  And the rule's other side: a thread that
# allocates only through libc (tests/progs/libconly.c) has its samples
# recorded, none dropped, even under HEAPPROF_UNWIND=fp (a first version
# of the rule left such a thread without stack bounds).
. "$(dirname "$0")/lib_common.sh"

need_lib
need_progs getattr libconly
[ -f "$PROGS/getattrplugin.so" ] || { not_ok "tests/progs/getattrplugin.so is built"; exit 1; }

run plain 30 "$PROGS/getattr"
for order in before after; do
	case $order in
	before) pre="$PROGS/getattrplugin.so $LIB" ;;
	after) pre="$LIB $PROGS/getattrplugin.so" ;;
	esac
	for unw in cfi fp libunwind; do
		tag=$order.$unw
		run "$tag" 30 env LD_PRELOAD="$pre" HEAPPROF_RATE=1 HEAPPROF_UNWIND=$unw "$PROGS/getattr"
		what="pthread_getattr_np wrapped $order heapprof, $unw, rate 1: ends, same stdout and exit code"
		if [ "$(rc "$tag")" = 0 ] && [ "$(rc plain)" = 0 ] && cmp -s "$T/plain.out" "$T/$tag.out"; then
			ok "$what"
		else
			not_ok "$what" "$(show "$tag")"
		fi
	done
done

preload libconly 30 HEAPTRACE=1 HEAPPROF_UNWIND=fp "$PROGS/libconly"
last=$(grep '(exit)$' "$T/libconly.err")
samples=$(printf '%s' "$last" | sed -n 's/.* \([0-9]*\) samples, \([0-9]*\) dropped.*/\1 \2/p')
what="a thread allocating only through strdup, fp unwinder: samples recorded, none dropped ($samples)"
if [ "$(rc libconly)" = 0 ] && [ "${samples% *}" -gt 0 ] 2>/dev/null && [ "${samples#* }" = 0 ]; then
	ok "$what"
else
	not_ok "$what" "$(show libconly)"
fi

exit $FAILED
