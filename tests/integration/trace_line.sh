#!/bin/sh
# trace_line.sh - the HEAPTRACE=1 line (issue 4).
#
# tests/progs/trace_grow.c grows its heap in 64 KiB blocks and frees it all
# at the end.  Checks (details in trace_check.py):
#   - every stderr line matches the regex documented in docs/heaptrace.md,
#     numbered 1..n, each "A->" the previous "->B", counters never go back;
#   - growth lines exactly at the goals: defaults (HEAPTRACE_MIN 4 MiB,
#     HEAPTRACE_GROWTH 100) at 4, 8, 16, 32, 64 MiB; HEAPTRACE_GROWTH=50 at
#     4, 6, 9, 13.5 ... MiB; HEAPTRACE_MIN=16m starts at 16 MiB; each line
#     within one counter batch (256 KiB + a block) above its goal;
#   - one exit line, the last, with in-use back under 1 MB;
#   - a program that never holds 4 MiB prints the exit line only;
#   - stdout is byte-identical with and without HEAPTRACE (also for the
#     threaded live_storm and for examples/logcache when it is built);
#   - with HEAPTRACE unset not one byte reaches stderr (also with
#     HEAPPROF_STATS=1, which counts without printing);
#   - HEAPTRACE=0 prints nothing either.
. "$(dirname "$0")/live_common.sh"

need_lib
need_progs trace_grow live_storm cancel

TC="python3 $ROOT/tests/integration/trace_check.py"

run plain 60 "$PROGS/trace_grow" 70
preload def 60 HEAPTRACE=1 "$PROGS/trace_grow" 70
if [ "$(rc def)" = 0 ]; then
	ok "trace_grow under HEAPTRACE=1 exits 0"
else
	not_ok "trace_grow under HEAPTRACE=1 exits 0" "$(show def)"
fi
echo "# defaults (GROWTH 100, MIN 4 MiB):"
$TC lines "$T/def.err" 100 4 70 || FAILED=1
last=$(tail -n 1 "$T/def.err")
inuse=$(echo "$last" | sed -n 's/.*->\([0-9]*\)\.[0-9] MB inuse.*/\1/p')
if [ "${inuse:-9}" -lt 1 ]; then
	ok "exit line: in-use back under 1 MB after the program freed everything"
else
	not_ok "exit line: in-use back under 1 MB after the program freed everything" "$last"
fi

preload g50 60 HEAPTRACE=1 HEAPTRACE_GROWTH=50 "$PROGS/trace_grow" 80
echo "# HEAPTRACE_GROWTH=50:"
$TC lines "$T/g50.err" 50 4 80 || FAILED=1

preload m16 60 HEAPTRACE=1 HEAPTRACE_MIN=16m "$PROGS/trace_grow" 70
echo "# HEAPTRACE_MIN=16m:"
$TC lines "$T/m16.err" 100 16 70 || FAILED=1

preload small 30 HEAPTRACE=1 "$PROGS/trace_grow" 2
if [ "$(wc -l <"$T/small.err")" = 1 ] && grep -q '(exit)$' "$T/small.err"; then
	ok "a program that never holds 4 MiB prints the exit line only"
else
	not_ok "a program that never holds 4 MiB prints the exit line only" "$(cat "$T/small.err")"
fi

# A thread with a cancel request pending prints growth lines from inside
# malloc: the line must not be a cancellation point (it takes a lock; a
# cancelled holder hung the exit).  cancel.c's alarm turns a hang into 142.
for i in 1 2 3; do
	preload cancel$i 60 HEAPTRACE=1 "$PROGS/cancel"
done
if [ "$(rc cancel1)$(rc cancel2)$(rc cancel3)" = 000 ] && grep -q '^not cancelled$' "$T/cancel1.out" &&
	grep -q 'heap' "$T/cancel1.err"; then
	ok "a thread with a pending cancel is not cancelled by the trace lines its mallocs print (3 runs)"
else
	not_ok "a thread with a pending cancel is not cancelled by the trace lines its mallocs print (3 runs)" \
		"exit codes $(rc cancel1) $(rc cancel2) $(rc cancel3)" "$(show cancel1)"
fi

# ---- stdout unchanged, stderr silent when off ----
same=1
cmp -s "$T/plain.out" "$T/def.out" || same=0
run splain 60 "$PROGS/live_storm" 0
preload strace 60 HEAPTRACE=1 "$PROGS/live_storm" 0
cmp -s "$T/splain.out" "$T/strace.out" || same=0
grep -q '(exit)$' "$T/strace.err" || same=0
lc=$B/examples/logcache
if [ -x "$lc" ]; then
	run lplain 60 "$lc"
	preload ltrace 60 HEAPTRACE=1 "$lc"
	cmp -s "$T/lplain.out" "$T/ltrace.out" && [ "$(rc ltrace)" = "$(rc lplain)" ] || same=0
fi
if [ "$same" = 1 ]; then
	ok "stdout byte-identical with and without HEAPTRACE (trace_grow, live_storm$([ -x "$lc" ] && echo ", logcache"))"
else
	not_ok "stdout byte-identical with and without HEAPTRACE" \
		"$(diff "$T/plain.out" "$T/def.out" | head -5)" "$(show strace)"
fi

quiet=1
for v in "" HEAPPROF_STATS=1 HEAPTRACE=0; do
	preload off 60 $v "$PROGS/trace_grow" 70
	if [ -s "$T/off.err" ] || [ "$(rc off)" != 0 ] || ! cmp -s "$T/plain.out" "$T/off.out"; then
		not_ok "stderr empty with ${v:-HEAPTRACE unset}" "$(show off)"
		quiet=0
	fi
done
[ "$quiet" = 1 ] && ok "not one byte on stderr with HEAPTRACE unset, HEAPTRACE=0 or HEAPPROF_STATS=1"

exit $FAILED
