#!/bin/sh
# cli_output.sh - where the CLI writes, and what it refuses, found by review:
#  - flame -o onto something that is not a regular file (a device node, a
#    symlink) writes through it; it used to rename a temporary file over
#    it, turning the device node or the link into a file (as root,
#    `-o /dev/null` replaced /dev/null);
#  - run -o a directory is a usage error, before anything runs; run -o a
#    file left from an earlier run, by a program that writes no profile,
#    does not claim to have written it;
#  - run --rate and --interval take exactly what the library takes (512k
#    yes; +1, ' 1', -0, 2^40+1 no): the library ignored those, and a user
#    asking for --rate +1 got estimates;
#  - leaks FILE -- CMD is a usage error (CMD is not run, nor FILE);
#  - a write to stdout that fails is an error, with a message;
#  - dump reads HEAPPROF_SIGNAL as the library does: for TERM, which the
#    library refuses (it keeps SIGUSR2), dump sends SIGUSR2, not SIGTERM,
#    and the program lives on;
#  - dump -o - writes the profile itself to stdout (as flame -o - does),
#    appending to a >> file rather than truncating it.
. "$(dirname "$0")/cli_common.sh"
need_cli
go_profiles

P=$T/before.pb.gz
mkdir -p "$T/o"

if [ "$(id -u)" = 0 ] && mknod "$T/o/null" c 1 3 2>/dev/null; then
	run fdev 30 "$HP" flame -o "$T/o/null" "$P"
	check "$([ "$(rc fdev)" = 0 ] && [ -c "$T/o/null" ]; echo $?)" \
		"flame -o a device node writes through it: still a device" "$(show fdev)"
else
	skip "flame -o a device node writes through it" "needs root for mknod"
fi
ln -s target.svg "$T/o/link.svg"
run flink 30 "$HP" flame -o "$T/o/link.svg" "$P"
check "$([ "$(rc flink)" = 0 ] && [ -L "$T/o/link.svg" ] && grep -q '<svg' "$T/o/target.svg"; echo $?)" \
	"flame -o a symlink writes its target and keeps the link" "$(show flink)"
mkdir -p "$T/o/dir"
run fdir 30 "$HP" flame -o "$T/o/dir" "$P"
check "$([ "$(rc fdir)" = 1 ] && one_line fdir && [ -d "$T/o/dir" ]; echo $?)" \
	"flame -o a directory: one-line error" "$(show fdir)"

run rdir 30 "$HP" run -o "$T/o/dir" -- sh -c 'echo ran'
check "$([ "$(rc rdir)" = 2 ] && ! grep -q ran "$T/rdir.out" && grep -q "not the directory" "$T/rdir.err"; echo $?)" \
	"run -o a directory: usage error, nothing run" "$(show rdir)"
cp "$P" "$T/o/stale.pb.gz"
run rstale 30 "$HP" run -o "$T/o/stale.pb.gz" -- sh -c 'kill -KILL $$'
check "$([ "$(rc rstale)" = 137 ] && ! grep -q "wrote" "$T/rstale.err" && cmp -s "$P" "$T/o/stale.pb.gz"; echo $?)" \
	"run -o a stale file, no profile written: the old file is not claimed" "$(show rstale)"

for r in +1 " 1" -0 1099511627777 1x; do
	run rate 20 "$HP" run --rate "$r" -- true
	check "$([ "$(rc rate)" = 2 ] && grep -q -- "--rate wants" "$T/rate.err"; echo $?)" \
		"run --rate '$r': usage error (the library would ignore it)" "$(show rate)"
done
run iv 20 "$HP" run --interval 40000000 -- true
check "$([ "$(rc iv)" = 2 ]; echo $?)" "run --interval beyond a year: usage error" "$(show iv)"
if [ -f "$LIB" ]; then
	run r512 30 "$HP" run --rate 512k -o "$T/o/r.pb.gz" -- true
	check "$([ "$(rc r512)" = 0 ] && ! grep -q ignoring "$T/r512.err"; echo $?)" \
		"run --rate 512k: accepted, as the library accepts it" "$(show r512)"
fi

run lk 20 "$HP" leaks "$P" -- sh -c 'echo ran'
check "$([ "$(rc lk)" = 2 ] && ! grep -q ran "$T/lk.out" && grep -q "not both" "$T/lk.err"; echo $?)" \
	"leaks FILE -- CMD: usage error, nothing run" "$(show lk)"

if [ -w /dev/full ]; then
	run full 20 sh -c '"$0" top "$1" >/dev/full' "$HP" "$P"
	check "$([ "$(rc full)" = 1 ] && one_line full; echo $?)" "top > /dev/full: one-line error, exit 1" "$(show full)"
	run fullv 20 sh -c '"$0" --version >/dev/full' "$HP"
	check "$([ "$(rc fullv)" = 1 ] && grep -q "cannot write to stdout" "$T/fullv.err"; echo $?)" \
		"--version > /dev/full: error, exit 1" "$(show fullv)"
fi

if [ -f "$LIB" ]; then
	mkdir -p "$T/o/live"
	env LD_PRELOAD="$LIB" HEAPPROF_SIGNAL=TERM HEAPPROF_OUT="$T/o/live/t.%p.%n.pb.gz" sh -c \
		'trap "echo term; exit 9" TERM; i=0; while [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done' \
		>"$T/o/live.out" 2>&1 &
	tpid=$!
	wait_mapped "$tpid"
	run dterm 20 "$HP" dump "$tpid"
	check "$([ "$(rc dterm)" = 0 ] && kill -0 "$tpid" 2>/dev/null && ! grep -q term "$T/o/live.out"; echo $?)" \
		"dump of a process with HEAPPROF_SIGNAL=TERM (refused by the library): SIGUSR2 sent, the program lives on" \
		"$(show dterm)" "program: $(cat "$T/o/live.out")"
	echo first >"$T/o/piped"
	run dpipe 20 sh -c '"$0" dump -o - "$1" >>"$2"' "$HP" "$tpid" "$T/o/piped"
	tail -c +7 "$T/o/piped" >"$T/o/piped.pb.gz"
	check "$([ "$(rc dpipe)" = 0 ] && [ "$(head -n 1 "$T/o/piped")" = first ] &&
		pprof -raw "$T/o/piped.pb.gz" | grep -q '^Samples:'; echo $?)" \
		"dump -o - appends the profile itself to stdout" "$(show dpipe)"
	kill -KILL "$tpid" 2>/dev/null
	wait "$tpid" 2>/dev/null
fi
# Stopped by a signal while it writes (timeout(1), ^C): the temporary file
# beside the output goes too; it was left behind.  strace holds each write
# for 3 s, so the signal lands while the file is open.
if command -v strace >/dev/null 2>&1 &&
	strace -o /dev/null -e inject=write:delay_enter=1 true 2>/dev/null; then
	mkdir -p "$T/sig"
	(strace -f -o /dev/null -e inject=write:delay_enter=3000000 "$HP" flame -o "$T/sig/f.svg" "$T/after.pb.gz" \
		>/dev/null 2>&1; exit 0) &
	spid=$!
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		[ -n "$(ls "$T/sig")" ] && break
		sleep 0.2
	done
	left_before=$(ls "$T/sig")
	pkill -TERM -f "^$HP flame -o $T/sig/f.svg"
	wait "$spid"
	check "$([ -n "$left_before" ] && [ -z "$(ls "$T/sig")" ]; echo $?)" \
		"flame -o ended by SIGTERM while writing: no temporary file left" "before: $left_before; after: $(ls "$T/sig")"
else
	skip "flame -o ended by SIGTERM while writing" "no strace with fault injection"
fi

finish
