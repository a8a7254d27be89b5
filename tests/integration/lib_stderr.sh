#!/bin/sh
# lib_stderr.sh - heapprof's warnings go to the program's stderr only while
# fd 2 is still the file it was when heapprof started.  A program that
# closed stderr and opened a data file, which then got fd 2
# (tests/progs/fd2reuse.c), had the exit warning for a profile that cannot
# be written appended to its data.  A warning given while fd 2 is the
# stderr the program started with still appears (the control).
. "$(dirname "$0")/lib_common.sh"

need_lib
need_progs fd2reuse

run plain 30 "$PROGS/fd2reuse" "$T/plain.data"
preload reused 30 HEAPPROF_OUT=/nonexistent/dir/p.pb.gz "$PROGS/fd2reuse" "$T/reused.data"
what="fd 2 reused for the program's file: a warning at exit does not land in it"
if [ "$(rc reused)" = 0 ] && [ "$(rc plain)" = 0 ] && cmp -s "$T/plain.out" "$T/reused.out" &&
	cmp -s "$T/plain.data" "$T/reused.data"; then
	ok "$what"
else
	not_ok "$what" "$(show reused)" "file: $(cat "$T/reused.data")"
fi

preload kept 30 HEAPPROF_OUT=/nonexistent/dir/p.pb.gz true
what="fd 2 still the starting stderr: the same warning is given there"
if [ "$(rc kept)" = 0 ] && [ "$(cat "$T/kept.err")" = "heapprof: cannot write profile '/nonexistent/dir/p.pb.gz': No such file or directory" ]; then
	ok "$what"
else
	not_ok "$what" "$(show kept)"
fi

# A pattern too long for a file name: one warning, its subject cut so the
# reason still shows.  It used to write nothing and say nothing.
long=$(printf '%05000d' 0)
preload long 30 HEAPPROF_OUT="$long" true
what="HEAPPROF_OUT of 5000 bytes: one line, the pattern cut at 300 bytes, 'File name too long'"
if [ "$(rc long)" = 0 ] && [ "$(grep -c . "$T/long.err")" = 1 ] &&
	[ "$(cat "$T/long.err")" = "heapprof: cannot write profile '$(printf '%0300d' 0)...': File name too long" ]; then
	ok "$what"
else
	not_ok "$what" "$(show long)"
fi

# A directory (as root, rename onto / fails with EBUSY, which was said
# as "the program's own stdout or stderr file"): said as a directory, and
# no temporary file is left in it.
mkdir "$T/adir"
for d in "$T/adir" /; do
	preload dir 30 HEAPPROF_OUT="$d" true
	what="HEAPPROF_OUT=$d, a directory: 'Is a directory', nothing written into it"
	if [ "$(rc dir)" = 0 ] && [ "$(cat "$T/dir.err")" = "heapprof: cannot write profile '$d': Is a directory" ] &&
		[ -z "$(ls -A "$T/adir")" ] && [ -z "$(ls -a / | grep '^\.tmp\.')" ]; then
		ok "$what"
	else
		not_ok "$what" "$(show dir)"
	fi
done

exit $FAILED
