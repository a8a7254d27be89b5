#!/bin/sh
# cli_run.sh - `heapprof run` and `heapprof leaks -- CMD`.
#
# With a stand-in library (an empty libheapprof.so, via HEAPPROF_LIB), the
# command's own job: exit codes and death by signal passed on, programs that
# cannot start, the environment the program gets, the library looked up next
# to the binary or in ../lib, signals forwarded, the profile files found and
# named.  With the real library (when built), real profiles: one per process
# across fork and exec, and the exact leak report of tests/progs/known.
. "$(dirname "$0")/cli_common.sh"
need_cli
fake_lib
ulimit -c 0 2>/dev/null

export HEAPPROF_LIB="$FAKE_LIB"
mkdir -p "$T/w"
cd "$T/w" || exit 1

# ---- exit status ----
run e7 20 "$HP" run -- sh -c 'exit 7'
check "$([ "$(rc e7)" = 7 ]; echo $?)" "run passes on exit status 7" "$(show e7)"
run e0 20 "$HP" run sh -c 'echo out; echo err >&2'
check "$([ "$(rc e0)" = 0 ] && [ "$(cat "$T/e0.out")" = out ] && grep -qx err "$T/e0.err"; echo $?)" \
	"run without --: the program's stdout and stderr pass through" "$(show e0)"
run term 20 "$HP" run -- sh -c 'kill -TERM $$'
check "$([ "$(rc term)" = 143 ] && one_line term && grep -qx "heapprof: 'sh' was killed by signal 15 (SIGTERM)" "$T/term.err"; echo $?)" \
	"run reports death by SIGTERM in one line (not also 'no profile was written') and exits 143" "$(show term)"
run lterm 20 "$HP" leaks -- sh -c 'kill -TERM $$'
check "$([ "$(rc lterm)" = 143 ] && one_line lterm && grep -qx "heapprof: 'sh' was killed by signal 15 (SIGTERM)" "$T/lterm.err"; echo $?)" \
	"leaks too: death by SIGTERM in one line, exit 143" "$(show lterm)"
run segv 20 "$HP" run -- sh -c 'kill -SEGV $$'
check "$([ "$(rc segv)" = 139 ] && grep -q "^heapprof: 'sh' was killed by signal 11 (SIGSEGV" "$T/segv.err"; echo $?)" \
	"run reports death by SIGSEGV and exits 139" "$(show segv)"
run nf 20 "$HP" run -- ./no-such-program
check "$([ "$(rc nf)" = 127 ] && one_line nf && grep -q "cannot run './no-such-program': No such file or directory" "$T/nf.err"; echo $?)" \
	"a program that does not exist: one line, exit 127" "$(show nf)"
printf 'echo hi\n' >"$T/w/noexec"
run nx 20 "$HP" run -- ./noexec
check "$([ "$(rc nx)" = 126 ] && one_line nx && grep -q "cannot run './noexec': Permission denied" "$T/nx.err"; echo $?)" \
	"a file that is not executable: one line, exit 126" "$(show nx)"

# SIGTERM sent to heapprof reaches the program; heapprof reports and exits 143.
"$HP" run -- sleep 30 >/dev/null 2>"$T/fw.err" &
hpid=$!
sleep 0.5
kill -TERM "$hpid"
wait "$hpid"
st=$?
check "$([ "$st" = 143 ] && grep -q "'sleep' was killed by signal 15" "$T/fw.err"; echo $?)" \
	"SIGTERM to heapprof run is forwarded to the program" "exit $st: $(cat "$T/fw.err")"

# ---- the environment ----
run env1 20 env LD_PRELOAD=/usr/lib/other.so "$HP" run -- env
out=$T/env1.out
if grep -qx "LD_PRELOAD=$FAKE_LIB:/usr/lib/other.so" "$out" && grep -qx "HEAPPROF_OUT=$T/w/heapprof.%p.pb.gz" "$out" &&
	! grep -q '^HEAPPROF_LIB=' "$out" && ! grep -q '^HEAPPROF_RATE=' "$out"; then
	ok "run: library first in LD_PRELOAD, default HEAPPROF_OUT in the current directory"
else
	not_ok "run: library first in LD_PRELOAD, default HEAPPROF_OUT in the current directory" "$(grep 'HEAPPROF\|PRELOAD' "$out")"
fi
run env2 20 "$HP" run -o sub.pb.gz --rate 4096 --trace --leaks --peak -- env
out=$T/env2.out
if grep -qx "HEAPPROF_OUT=$T/w/sub.%p.pb.gz" "$out" && grep -qx HEAPPROF_RATE=4096 "$out" &&
	grep -qx HEAPTRACE=1 "$out" && grep -qx HEAPPROF_LEAKS=1 "$out" && grep -qx HEAPPROF_PEAK=1 "$out"; then
	ok "run -o FILE --rate --trace --leaks --peak set the library's variables"
else
	not_ok "run -o FILE --rate --trace --leaks --peak set the library's variables" "$(grep 'HEAPPROF\|HEAPTRACE' "$out")"
fi
# The library numbers interval dumps itself (.%n before the extension of a
# pattern without %n) and keeps the pattern's own name for the exit profile.
run env3 20 "$HP" run --interval 5 -o "$T/w/p.%p.pb.gz" -- env
check "$(grep -qx "HEAPPROF_OUT=$T/w/p.%p.pb.gz" "$T/env3.out" && grep -qx HEAPPROF_INTERVAL=5 "$T/env3.out"; echo $?)" \
	"run --interval passes the pattern as it is" "$(grep HEAPPROF "$T/env3.out")"
run env4 20 "$HP" run -o "/tmp/x.%p.%n.pb.gz" -- env
check "$(grep -qx "HEAPPROF_OUT=/tmp/x.%p.%n.pb.gz" "$T/env4.out"; echo $?)" "run -o with %p and %n is passed as is"
run env5 20 "$HP" run -o "$T/nodir/x.pb.gz" -- true
check "$([ "$(rc env5)" = 1 ] && one_line env5 && grep -q "cannot write profiles to '$T/nodir': No such file or directory" "$T/env5.err"; echo $?)" \
	"run -o into a missing directory: one-line error before running" "$(show env5)"

# ---- finding the library ----
mkdir -p "$T/p/bin" "$T/p/lib" "$T/q"
cp "$HP" "$T/p/bin/heapprof"
cp "$FAKE_LIB" "$T/p/lib/libheapprof.so"
cp "$HP" "$T/q/heapprof"
run inst 20 env -u HEAPPROF_LIB "$T/p/bin/heapprof" run -- env
check "$(grep -qx "LD_PRELOAD=$T/p/lib/libheapprof.so" "$T/inst.out"; echo $?)" \
	"an installed heapprof finds ../lib/libheapprof.so" "$(show inst)"
run nolib 20 env -u HEAPPROF_LIB "$T/q/heapprof" run -- true
check "$([ "$(rc nolib)" = 1 ] && one_line nolib && grep -q 'cannot find libheapprof.so' "$T/nolib.err"; echo $?)" \
	"no library next to heapprof or in ../lib: one-line error" "$(show nolib)"
run badlib 20 env HEAPPROF_LIB=/nonexistent/libheapprof.so "$HP" run -- true
check "$([ "$(rc badlib)" = 1 ] && one_line badlib; echo $?)" "HEAPPROF_LIB naming no file: one-line error" "$(show badlib)"

# ---- the files written ----
# The stand-in library writes nothing, so the program writes "profiles"
# itself, named the way the library would: the top process and a child.
# shellcheck disable=SC2016
prog='f() { echo "$HEAPPROF_OUT" | sed "s/%p/$1/"; }; echo top >"$(f $$)"; sh -c "echo child >\"\$(echo \"\$HEAPPROF_OUT\" | sed s/%p/\$\$/)\""'
run files 20 "$HP" run -o "$T/w/app.pb.gz" -- sh -c "$prog"
n_child=$(ls "$T/w" | grep -c '^app\.[0-9]*\.pb\.gz$')
if [ "$(rc files)" = 0 ] && [ "$(cat "$T/w/app.pb.gz" 2>/dev/null)" = top ] && [ "$n_child" = 1 ] &&
	grep -qx "heapprof: wrote '$T/w/app.pb.gz'" "$T/files.err" &&
	grep -q "^heapprof: wrote 'app\.[0-9]*\.pb\.gz'$" "$T/files.err"; then
	ok "run -o FILE: the program's profile is FILE, a child's is FILE with its pid; both listed"
else
	not_ok "run -o FILE: the program's profile is FILE, a child's is FILE with its pid; both listed" \
		"$(show files)" "$(ls "$T/w")"
fi
run none 20 "$HP" run -- true
check "$(grep -q '^heapprof: no profile was written' "$T/none.err"; echo $?)" \
	"run says so when no profile was written" "$(show none)"

# ---- the real library ----
unset HEAPPROF_LIB
if [ ! -f "$LIB" ] || [ ! -x "$B/tests/progs/known" ]; then
	skip "run and leaks -- with the real library" "build/libheapprof.so or tests/progs/known not built"
	finish
fi
KNOWN=$B/tests/progs/known
"$KNOWN" >"$T/known.plain" 2>/dev/null
mkdir -p "$T/r"
run k 60 "$HP" run -o "$T/r/known.pb.gz" --rate 1 -- "$KNOWN"
if [ "$(rc k)" = 0 ] && cmp -s "$T/k.out" "$T/known.plain" && pprof -raw "$T/r/known.pb.gz" | grep -q '^Samples:' &&
	grep -qx "heapprof: wrote '$T/r/known.pb.gz'" "$T/k.err"; then
	ok "run with the library: same stdout and status, a profile pprof reads"
else
	not_ok "run with the library: same stdout and status, a profile pprof reads" "$(show k)"
fi
run k0 60 "$HP" run -o "$T/r/zero.pb.gz" --rate 0 -- "$KNOWN"
check "$([ "$(rc k0)" = 0 ] && grep -qx "heapprof: no profile was written: --rate 0 turns profiling off" "$T/k0.err"; echo $?)" \
	"run --rate 0: says --rate 0 turned profiling off, not asks whether it did" "$(show k0)"
run k1t 60 "$HP" run -o "$T/r/t.pb.gz" --rate 1T -- "$KNOWN"
check "$([ "$(rc k1t)" = 0 ] && [ -f "$T/r/t.pb.gz" ]; echo $?)" "run --rate 1T: the largest rate its message names is taken" "$(show k1t)"
# bash, not sh: dash leaves through _exit(), which runs no exit handlers,
# so it never writes a profile at exit.
run k3 60 "$HP" run -o "$T/r/e.pb.gz" -- bash -c 'exit 3'
check "$([ "$(rc k3)" = 3 ] && [ -f "$T/r/e.pb.gz" ]; echo $?)" "run with the library passes on exit status 3" "$(show k3)"

# -o that is not a regular file: written through, never replaced by a
# rename (as root that made /dev/null a regular file).  "-" is stdout, after
# the program's own output; /dev/stdout into a file adds to it.
run kdash 60 "$HP" run -o - --rate 1 -- "$KNOWN"
n=$(wc -c <"$T/known.plain")
head -c "$n" "$T/kdash.out" >"$T/r/dash.prog"
tail -c +"$((n + 1))" "$T/kdash.out" >"$T/r/dash.pb.gz"
check "$([ "$(rc kdash)" = 0 ] && cmp -s "$T/r/dash.prog" "$T/known.plain" && [ ! -e "$T/w/-" ] &&
	pprof -raw "$T/r/dash.pb.gz" | grep -q '^Samples:' && grep -qx "heapprof: wrote '(stdout)'" "$T/kdash.err"; echo $?)" \
	"run -o -: the program's stdout, then the profile; no file named '-'" "$(show kdash)"
if mknod "$T/r/null" c 1 3 2>/dev/null; then
	run kdev 60 "$HP" run -o "$T/r/null" -- "$KNOWN"
	check "$([ "$(rc kdev)" = 0 ] && [ -c "$T/r/null" ] && [ -z "$(ls "$T/r" | grep 'null\.')" ]; echo $?)" \
		"run -o DEVICE: still a device, no file left beside it" "$(show kdev)" "$(ls -l "$T/r")"
else
	skip "run -o DEVICE" "mknod not permitted"
fi
# -o a device that refuses the bytes: run fails, and the profile is kept
# where the library wrote it and listed (it was deleted, and run exited 0).
if [ -c /dev/full ]; then
	run kfull 60 "$HP" run -o /dev/full -- "$KNOWN"
	kept=$(sed -n "s/^heapprof: wrote '\(.*\)'$/\1/p" "$T/kfull.err")
	check "$([ "$(rc kfull)" = 1 ] && grep -q "^heapprof: cannot write '/dev/full': No space left on device$" "$T/kfull.err" &&
		[ -f "$kept" ] && pprof -raw "$kept" | grep -q '^Samples:'; echo $?)" \
		"run -o /dev/full: exit 1, the profile kept and listed" "$(show kfull)"
	[ -n "$kept" ] && rm -f "$kept"
else
	skip "run -o /dev/full" "no /dev/full"
fi
echo first >"$T/r/app.txt"
ln -s /proc/self/fd/1 "$T/r/stdout-link"       # stands in for /dev/stdout (see lib_output.sh)
(timeout 60 "$HP" run -o "$T/r/stdout-link" -- "$KNOWN" >>"$T/r/app.txt" 2>"$T/kso.err")
{ echo first; cat "$T/known.plain"; } >"$T/r/app.want"
m=$(wc -c <"$T/r/app.want")
head -c "$m" "$T/r/app.txt" >"$T/r/app.head"
tail -c +"$((m + 1))" "$T/r/app.txt" >"$T/r/app.pb.gz"
check "$(cmp -s "$T/r/app.head" "$T/r/app.want" && [ -L "$T/r/stdout-link" ] && pprof -raw "$T/r/app.pb.gz" | grep -q '^Samples:'; echo $?)" \
	"run -o a link to /proc/self/fd/1 (/dev/stdout) >>FILE: FILE keeps what it had and the program's output, then the profile" "$(cat "$T/kso.err")"

# %% in -o is a percent sign, as the library has it, in the file name and
# in the directory; a lone % is one too; each file is listed once.
mkdir -p "$T/pc" "$T/pc/d%x"
(cd "$T/pc" && "$HP" run -o 'x%%y.pb.gz' -- bash -c 'exit 0') >"$T/pc1.out" 2>"$T/pc1.err"
(cd "$T/pc" && "$HP" run -o 'd%%x/app.pb.gz' -- bash -c 'exit 0') >"$T/pc2.out" 2>"$T/pc2.err"
(cd "$T/pc" && "$HP" run -o 'mem-50%.pb.gz' -- bash -c 'exit 0') >"$T/pc3.out" 2>"$T/pc3.err"
if [ -f "$T/pc/x%y.pb.gz" ] && [ "$(cat "$T/pc1.err")" = "heapprof: wrote 'x%y.pb.gz'" ] &&
	[ -f "$T/pc/d%x/app.pb.gz" ] && [ "$(cat "$T/pc2.err")" = "heapprof: wrote 'd%x/app.pb.gz'" ] &&
	[ -f "$T/pc/mem-50%.pb.gz" ] && [ "$(cat "$T/pc3.err")" = "heapprof: wrote 'mem-50%.pb.gz'" ] &&
	[ "$(ls "$T/pc" | grep -c pb.gz)" = 2 ]; then
	ok "run -o with %% and a lone %: the file named, listed once"
else
	not_ok "run -o with %% and a lone %: the file named, listed once" "$(cat "$T"/pc?.err)" "$(ls -R "$T/pc")"
fi

# --interval with -o FILE: numbered dumps while it runs, then FILE at exit.
mkdir -p "$T/iv"
run iv 60 "$HP" run -o "$T/iv/app.pb.gz" --interval 1 -- bash -c 'sleep 2.5'
nnum=$(ls "$T/iv" | grep -c '^app\.[0-9]*\.[0-9]*\.pb\.gz$')
check "$([ "$(rc iv)" = 0 ] && [ -f "$T/iv/app.pb.gz" ] && [ "$nnum" -ge 1 ] &&
	grep -qx "heapprof: wrote '$T/iv/app.pb.gz'" "$T/iv.err"; echo $?)" \
	"run -o FILE --interval 1: numbered dumps, then FILE itself at exit" "$(show iv)" "$(ls "$T/iv")"

mkdir -p "$T/fe"
run fe 60 "$HP" run -o "$T/fe/sh.pb.gz" -- bash -c "\"$KNOWN\" >/dev/null; echo done"
nfiles=$(ls "$T/fe" | grep -c '\.pb\.gz$')
good=1
for f in "$T"/fe/*.pb.gz; do pprof -raw "$f" | grep -q '^Samples:' || good=0; done
if [ "$(rc fe)" = 0 ] && [ "$nfiles" = 2 ] && [ -f "$T/fe/sh.pb.gz" ] && [ "$good" = 1 ] &&
	[ "$(grep -c "^heapprof: wrote " "$T/fe.err")" = 2 ]; then
	ok "run of a shell that forks and execs a program: one valid profile per process, both listed"
else
	not_ok "run of a shell that forks and execs a program: one valid profile per process, both listed" \
		"$(show fe)" "$(ls "$T/fe")"
fi

mkdir -p "$T/tmp"
run lk 60 env TMPDIR="$T/tmp" "$HP" leaks -n 3 -- "$KNOWN"
if [ "$(rc lk)" = 0 ] && cmp -s "$T/lk.out" "$T/known.plain" &&
	grep -q "^heapprof: leaks of '$KNOWN' (pid [0-9]*): .* in use from [0-9]* stacks (every allocation recorded: exact)" "$T/lk.err" &&
	grep -q '^18.75 KiB in 300 objects (' "$T/lk.err" && grep -q '^    leaf_a  .*known.c:[0-9]*$' "$T/lk.err"; then
	ok "leaks -- CMD: exact report on stderr (leaf_a: 300 objects, 19200 bytes), program's stdout untouched"
else
	not_ok "leaks -- CMD: exact report on stderr (leaf_a: 300 objects, 19200 bytes)" "$(show lk)" "$(cat "$T/lk.err")"
fi
check "$([ -z "$(ls -A "$T/tmp")" ]; echo $?)" "leaks -- CMD removes its temporary files" "$(ls -R "$T/tmp")"
# Five return addresses on one source line print as one stack (pprof's
# -top merges them too): one entry of 5 objects, not five of one.
if [ -x "$B/tests/progs/sameline" ]; then
	run lsl 60 "$HP" leaks -n 0 -- "$B/tests/progs/sameline"
	check "$([ "$(rc lsl)" = 0 ] && grep -q ' in 6 objects in use from 2 stacks ' "$T/lsl.err" &&
		grep -qx '4.88 KiB in 5 objects (98.04%) allocated at:' "$T/lsl.err"; echo $?)" \
		"leaks: five calls on one line (tests/progs/sameline.c) are one stack of 5 objects" "$(cat "$T/lsl.err")"
else
	not_ok "tests/progs/sameline is built"
fi
run lkt 60 env TMPDIR="$T/no-such-dir" "$HP" leaks -n 1 -- "$KNOWN"
check "$([ "$(rc lkt)" = 0 ] && grep -q '^18.75 KiB in 300 objects (' "$T/lkt.err"; echo $?)" \
	"leaks -- CMD with a TMPDIR that does not exist: falls back to /tmp" "$(show lkt)"
# Names are not cut: two leaking functions whose 1500-character names
# differ only at the end (C++ template frames run that long) stay two.
long=$(printf 'f%01500d' 0 | tr 0 A)
cat >"$T/long.c" <<EOF
#include <stdlib.h>
void *${long}_END(void) { return malloc(100); }
void *${long}_OTHER(void) { return malloc(200); }
int main(void) { return !(${long}_END() && ${long}_OTHER()); }
EOF
if cc -O0 -g -o "$T/long" "$T/long.c" 2>"$T/long.cc.err"; then
	run lkl 60 "$HP" leaks -- "$T/long"
	check "$([ "$(rc lkl)" = 0 ] && grep -q "^    ${long}_END  " "$T/lkl.err" && grep -q "^    ${long}_OTHER  " "$T/lkl.err"; echo $?)" \
		"leaks: 1500-character function names are printed whole" "$(show lkl)"
else
	not_ok "leaks: 1500-character function names are printed whole" "cc: $(cat "$T/long.cc.err")"
fi
run lk5 60 "$HP" leaks -- sh -c 'exit 5'
check "$([ "$(rc lk5)" = 5 ]; echo $?)" "leaks -- CMD passes on the exit status" "$(show lk5)"
finish
