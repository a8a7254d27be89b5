#!/bin/sh
# lib_limits.sh - what heapprof writes on a program's thread (the exit
# profile, warnings, HEAPTRACE lines) raises no signal in the program
# (tests/progs/limits.c): past RLIMIT_FSIZE the write fails with EFBIG,
# not SIGXFSZ; on a stderr pipe nobody reads it fails with EPIPE, not
# SIGPIPE.  Both signals' default action killed the program at exit.
. "$(dirname "$0")/lib_common.sh"

need_lib
need_progs limits

run fsize.plain 30 "$PROGS/limits" fsize
mkdir -p "$T/fs"
preload fsize 30 HEAPPROF_RATE=1 HEAPPROF_OUT="$T/fs/p.pb.gz" "$PROGS/limits" fsize
what="RLIMIT_FSIZE 512 B, the exit profile larger: exit 0, same stdout, one warning, no file left"
if [ "$(rc fsize)" = 0 ] && [ "$(rc fsize.plain)" = 0 ] && cmp -s "$T/fsize.plain.out" "$T/fsize.out" &&
	[ "$(cat "$T/fsize.err")" = "heapprof: cannot write profile '$T/fs/p.pb.gz': File too large" ] && [ -z "$(ls -A "$T/fs")" ]; then
	ok "$what"
else
	not_ok "$what" "$(show fsize)" "files: $(ls -A "$T/fs")"
fi

run epipe.plain 30 "$PROGS/limits" epipe
for pm in badout trace leaks; do
	case $pm in
	badout) set -- HEAPPROF_OUT=/nonexistent/dir/p.pb.gz ;;
	trace) set -- HEAPTRACE=1 ;;
	leaks) set -- HEAPPROF_LEAKS=1 HEAPPROF_RATE=1 ;;
	esac
	preload "epipe.$pm" 30 "$@" "$PROGS/limits" epipe
	what="stderr a pipe without a reader, $pm (heapprof writes there at exit): exit 0 and stdout as without heapprof"
	if [ "$(rc "epipe.$pm")" = 0 ] && [ "$(rc epipe.plain)" = 0 ] && cmp -s "$T/epipe.plain.out" "$T/epipe.$pm.out"; then
		ok "$what"
	else
		not_ok "$what" "$(show "epipe.$pm")"
	fi
done

exit $FAILED
