#!/bin/sh
# lib_lazydw.sh - elfutils (libdw, libelf) is loaded at the first profile,
# not with the library (libheapprof/dwlib.c):
#  - a profiled program that has written no profile has no libdw mapped
#    (linked, it cost every start of every profiled process 0.2-0.4 ms);
#    once a signal dump is written, libdw is there and the profile names
#    the program's functions, read by go tool pprof without the binary;
#  - where libdw cannot be loaded (here: an empty file bound over it in a
#    mount namespace of the test's own) the program runs as without us, the
#    profile still holds every sample with its addresses and mappings, and
#    stderr has one line saying the functions go unnamed.  (Linked, the
#    program did not start: the loader could not load libheapprof.so.)
. "$(dirname "$0")/lib_common.sh"

need_lib
need_progs live_ctl known

# ---- not mapped before the first profile, mapped and used after it ----
d=$T/lazy
mkdir -p "$d"
rm -f "$T/fifo"
mkfifo "$T/fifo"
env LD_PRELOAD="$LIB" HEAPPROF_RATE=1 HEAPPROF_OUT="$d/p.%n.pb.gz" "$PROGS/live_ctl" <"$T/fifo" >"$T/lazy.out" 2>"$T/lazy.err" &
lpid=$!
exec 9>"$T/fifo"
# its first answer comes from main: the library has started by then
echo pid >&9
for _i in $(seq 100); do
	grep -q '^pid ' "$T/lazy.out" 2>/dev/null && break
	sleep 0.05
done
before=$(grep -c 'libdw' "/proc/$lpid/maps")
kill -USR2 "$lpid"
for _i in $(seq 100); do
	[ -s "$d/p.1.pb.gz" ] && break
	sleep 0.05
done
after=$(grep -c 'libdw' "/proc/$lpid/maps")
exec 9>&-
wait "$lpid"
if [ "$before" = 0 ] && [ "$after" -gt 0 ] && go tool pprof -traces "$d/p.1.pb.gz" 2>/dev/null | grep -q 'main$' &&
	[ ! -s "$T/lazy.err" ]; then
	ok "libdw mapped only once a profile is written, and the profile names functions"
else
	not_ok "libdw mapped only once a profile is written, and the profile names functions" \
		"libdw lines in maps before the dump: $before, after: $after" "stderr: $(head -c 300 "$T/lazy.err")" \
		"files: $(ls "$d" | tr '\n' ' ')"
fi

# ---- libdw cannot be loaded ----
libdw=$(ldconfig -p 2>/dev/null | sed -n 's/.*libdw\.so\.1 .*=> //p' | head -1)
if [ -z "$libdw" ] || ! unshare -m true 2>/dev/null; then
	ok "no libdw: the profile keeps its samples # skip no libdw.so.1 found or no mount namespace here"
	exit $FAILED
fi
: >"$T/empty.so"
run plain 60 "$PROGS/known"
mkdir -p "$T/nodw"
run nodw 60 unshare -m sh -c "mount --bind '$T/empty.so' '$libdw' && exec env LD_PRELOAD='$LIB' HEAPPROF_RATE=1 \
HEAPPROF_OUT='$T/nodw/k.pb.gz' '$PROGS/known'"
want="heapprof: cannot load libdw.so.1 (elfutils): profiles carry addresses, no function names"
# -symbolize=none: what the file holds (pprof names them from the binary here)
raw=$(go tool pprof -symbolize=none -raw "$T/nodw/k.pb.gz" 2>/dev/null)
named=$(printf '%s\n' "$raw" | grep -c 'leaf_a\|mixed_leaf')
# the same samples as with names: known.c's exact totals at rate 1
run named 60 env LD_PRELOAD="$LIB" HEAPPROF_RATE=1 HEAPPROF_OUT="$T/nodw/named.pb.gz" "$PROGS/known"
# the four values summed over every sample, as go tool pprof -raw reads them
tot() { go tool pprof -raw "$1" 2>/dev/null | awk '/^ *[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+:/ { a += $1; b += $2; c += $3; d += $4 }
	END { print a + 0, b + 0, c + 0, d + 0 }'; }
if [ "$(rc nodw)" = "$(rc plain)" ] && cmp -s "$T/plain.out" "$T/nodw.out" && [ "$(cat "$T/nodw.err")" = "$want" ] &&
	printf '%s\n' "$raw" | grep -q '^Samples:' && [ "$named" = 0 ] &&
	[ "$(tot "$T/nodw/k.pb.gz")" != "0 0 0 0" ] && [ "$(tot "$T/nodw/k.pb.gz")" = "$(tot "$T/nodw/named.pb.gz")" ]; then
	ok "no libdw: the program runs as without us; the profile keeps its samples, unnamed, and one line says so"
else
	not_ok "no libdw: the program runs as without us; the profile keeps its samples, unnamed, and one line says so" \
		"$(show nodw)" "totals: $(tot "$T/nodw/k.pb.gz") / $(tot "$T/nodw/named.pb.gz")" \
		"$(printf '%s\n' "$raw" | head -5)"
fi
exit $FAILED
