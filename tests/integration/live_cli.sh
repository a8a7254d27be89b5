#!/bin/sh
# live_cli.sh - `heapprof dump PID [-o FILE]` on running processes (issue 3).
#
# With tests/progs/live_ctl.c running under the library (it blocks in
# read(2) between commands):
#   - `heapprof dump PID` prints the path of a new, complete profile (the
#     program's HEAPPROF_OUT with %n = 1) and exits 0;
#   - after the program grows by 4 MiB, `heapprof dump PID -o FILE` puts the
#     new profile at FILE; `go tool pprof -top -base FIRST FILE` (the recipe
#     in docs/live.md) shows the growth in grow_block;
#   - with HEAPPROF_OUT unset the dump lands in the program's working
#     directory as heapprof.PID.1.pb.gz, and no profile is written at exit;
#   - on a process without the library, and on a pid that does not exist:
#     exit status 1, exactly one line on stderr, nothing on stdout, and the
#     process is not signalled (it keeps running).
# Skipped when the CLI ($B/heapprof) is not built.
. "$(dirname "$0")/live_common.sh"

need_lib
need_progs live_ctl

if [ ! -x "$CLI" ]; then
	ok "# skip $CLI is not built"
	exit 0
fi

real() { readlink -f "$1" 2>/dev/null; }

d=$T/out
mkdir -p "$d"
bg ctl 60 3 HEAPPROF_OUT="$d/c.%p.%n.pb.gz" "$PROGS/live_ctl"
wait_line "$T/ctl.out" '^ready$' 10
pid=$(bg_pid ctl)
echo "grow 1024" >&3
wait_line "$T/ctl.out" '^grown 1024$' 10

run dump1 30 "$CLI" dump "$pid"
p1=$(cat "$T/dump1.out")
if [ "$(rc dump1)" = 0 ] && [ "$(wc -l <"$T/dump1.out")" = 1 ] &&
	[ "$(real "$p1")" = "$(real "$d/c.$pid.1.pb.gz")" ] && $PP check "$p1" >"$T/why"; then
	ok "heapprof dump PID: prints the path of the new complete profile c.$pid.1.pb.gz"
else
	not_ok "heapprof dump PID: prints the path of the new complete profile" \
		"$(show dump1)" "files: $(ls "$d")" "$(cat "$T/why" 2>/dev/null)"
fi

echo "grow 4096" >&3
wait_line "$T/ctl.out" '^grown 5120$' 10
run dump2 30 "$CLI" dump "$pid" -o "$T/later.pb.gz"
if [ "$(rc dump2)" = 0 ] && [ -f "$T/later.pb.gz" ] && $PP check "$T/later.pb.gz" >"$T/why" &&
	[ "$(real "$(cat "$T/dump2.out")")" = "$(real "$T/later.pb.gz")" ]; then
	ok "heapprof dump PID -o FILE: the new profile is at FILE, FILE printed"
else
	not_ok "heapprof dump PID -o FILE: the new profile is at FILE, FILE printed" \
		"$(show dump2)" "$(cat "$T/why" 2>/dev/null)"
fi
if [ -f "$T/later.pb.gz" ] && [ -f "$d/c.$pid.1.pb.gz" ]; then
	run base 30 go tool pprof -top -sample_index=inuse_space -base "$d/c.$pid.1.pb.gz" "$T/later.pb.gz"
	if [ "$(rc base)" = 0 ] && grep -q 'grow_block$' "$T/base.out"; then
		ok "go tool pprof -top -base FIRST LATER shows what grew (grow_block)"
	else
		not_ok "go tool pprof -top -base FIRST LATER shows what grew (grow_block)" "$(show base)"
	fi
fi
exec 3>&-
bg_wait ctl 20

# ---- default pattern: heapprof.%p.%n.pb.gz in the working directory ----
mkdir -p "$T/cwd"
cd "$T/cwd" || exit 1
bg def 60 4 "$PROGS/live_ctl"
wait_line "$T/def.out" '^ready$' 10
pid=$(bg_pid def)
run dump3 30 "$CLI" dump "$pid"
if [ "$(rc dump3)" = 0 ] && [ "$(real "$(cat "$T/dump3.out")")" = "$(real "$T/cwd/heapprof.$pid.1.pb.gz")" ]; then
	ok "HEAPPROF_OUT unset: heapprof dump finds heapprof.$pid.1.pb.gz in the program's directory"
else
	not_ok "HEAPPROF_OUT unset: heapprof dump finds heapprof.PID.1.pb.gz in the program's directory" \
		"$(show dump3)" "files: $(ls "$T/cwd")"
fi
exec 4>&-
bg_wait def 20
if [ "$(ls "$T/cwd" | tr '\n' ' ')" = "heapprof.$pid.1.pb.gz " ]; then
	ok "HEAPPROF_OUT unset: no profile written at exit"
else
	not_ok "HEAPPROF_OUT unset: no profile written at exit" "files: $(ls "$T/cwd")"
fi
cd "$ROOT" || exit 1

# ---- processes without the library ----
sleep 30 &
spid=$!
run nolib 30 "$CLI" dump "$spid"
if [ "$(rc nolib)" = 1 ] && [ "$(wc -l <"$T/nolib.err")" = 1 ] && [ ! -s "$T/nolib.out" ] &&
	grep -q '^heapprof: ' "$T/nolib.err" && kill -0 "$spid" 2>/dev/null; then
	ok "heapprof dump on a pid without the library: exit 1, one line: $(cat "$T/nolib.err")"
else
	not_ok "heapprof dump on a pid without the library: exit 1, one line on stderr, process untouched" \
		"$(show nolib)"
fi
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null

# a pid that is not running: the largest pid the kernel can hand out, plus one
nopid=$(( $(cat /proc/sys/kernel/pid_max) + 1 ))
run nopid 30 "$CLI" dump "$nopid"
if [ "$(rc nopid)" = 1 ] && [ "$(wc -l <"$T/nopid.err")" = 1 ] && [ ! -s "$T/nopid.out" ]; then
	ok "heapprof dump on a pid that does not exist: exit 1, one line: $(cat "$T/nopid.err")"
else
	not_ok "heapprof dump on a pid that does not exist: exit 1, one line on stderr" "$(show nopid)"
fi

exit $FAILED
