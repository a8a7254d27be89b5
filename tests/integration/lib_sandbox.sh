#!/bin/sh
# lib_sandbox.sh - a program that forbids itself open() before its first
# malloc (tests/progs/sandbox.c, a seccomp filter) runs under the profiler
# exactly as without it:
#  - with a filter that kills the process on open/openat: at the default
#    rate, at rate 1 and with each unwinder, the program prints "done" and
#    exits 0, so the profiler opened nothing after main began (the main
#    thread's stack bounds, which read /proc/self/maps, are taken at init);
#  - with a filter that makes open fail with EPERM and HEAPPROF_OUT set: the
#    exit dump cannot be written; the program still exits 0 with its
#    output, and stderr holds one line saying the profile was not written.
# (Under a killing filter, HEAPPROF_OUT cannot work: writing the file needs
# an open.  docs/design.md says so.)
. "$(dirname "$0")/lib_common.sh"

need_lib
need_progs sandbox

run plain 60 "$PROGS/sandbox" kill
if [ "$(rc plain)" != 0 ] || [ "$(cat "$T/plain.out")" != done ]; then
	not_ok "sandbox runs plainly" "$(show plain)"
	exit 1
fi
for mode in default rate1 rate65536-libunwind rate65536-fp; do
	case $mode in
	default) set -- ;;
	rate1) set -- HEAPPROF_RATE=1 ;;
	rate65536-libunwind) set -- HEAPPROF_RATE=65536 HEAPPROF_UNWIND=libunwind ;;
	rate65536-fp) set -- HEAPPROF_RATE=65536 HEAPPROF_UNWIND=fp ;;
	esac
	preload "k.$mode" 60 "$@" "$PROGS/sandbox" kill
	what="seccomp filter killing on open, set before the first malloc ($mode): exit 0, same stdout, empty stderr"
	if [ "$(rc "k.$mode")" = 0 ] && cmp -s "$T/plain.out" "$T/k.$mode.out" && [ ! -s "$T/k.$mode.err" ]; then
		ok "$what"
	else
		not_ok "$what" "$(show "k.$mode")"
	fi
done

mkdir -p "$T/out"
preload e 60 HEAPPROF_OUT="$T/out/p.pb.gz" "$PROGS/sandbox" errno
what="open fails with EPERM, HEAPPROF_OUT set: exit 0, same stdout, one warning line, no file"
if [ "$(rc e)" = 0 ] && cmp -s "$T/plain.out" "$T/e.out" && [ "$(wc -l <"$T/e.err")" = 1 ] &&
	grep -q '^heapprof: ' "$T/e.err" && [ -z "$(ls -A "$T/out")" ]; then
	ok "$what: $(cat "$T/e.err")"
else
	not_ok "$what" "$(show e)" "files: $(ls -A "$T/out")"
fi

exit $FAILED
