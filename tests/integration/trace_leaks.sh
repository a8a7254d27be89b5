#!/bin/sh
# trace_leaks.sh - the HEAPPROF_LEAKS=1 report at exit (issue 4).
#
# tests/progs/trace_leaks.c leaks 1 x 1 MiB (leak_big), 5 x 4096 B
# (leak_pages) and 10 x 100 B (leak_small), each from one malloc marked
# LEAK_* in its source, and frees everything else.  Checks (trace_check.py):
#   - at HEAPPROF_RATE=1 the report lists exactly those three sites with
#     function names, file:line of the malloc call and main as the caller,
#     exact bytes and objects, largest first; other entries may only be
#     libc's own (its stdout buffer) and nothing from churn(); the header
#     total equals the sum of the entries; the "in use at exit" note;
#   - HEAPPROF_LEAKS_TOP=2 with 3 more leaking stacks (trace_leaks 3): two
#     entries, then "... and N more stacks holding B bytes" with the right
#     N and B;
#   - at the default rate the report says the values are estimated and
#     names the rate, with the hint to use HEAPPROF_RATE=1;
#   - stacks that print the same frames are one entry (tests/progs/sameline.c);
#   - the report goes to stderr only: stdout is unchanged, exit code 0;
#     without HEAPPROF_LEAKS there is no report.
. "$(dirname "$0")/live_common.sh"

need_lib
need_progs trace_leaks sameline

TC="python3 $ROOT/tests/integration/trace_check.py"
SRCF=$SRC/trace_leaks.c

run plain 30 "$PROGS/trace_leaks"
preload r1 60 HEAPPROF_LEAKS=1 HEAPPROF_RATE=1 "$PROGS/trace_leaks"
if [ "$(rc r1)" = 0 ] && cmp -s "$T/plain.out" "$T/r1.out"; then
	ok "HEAPPROF_LEAKS=1: exit 0, stdout unchanged"
else
	not_ok "HEAPPROF_LEAKS=1: exit 0, stdout unchanged" "$(show r1)"
fi
echo "# HEAPPROF_RATE=1:"
$TC leaks "$T/r1.err" "$SRCF" 10 0 || FAILED=1

echo "# HEAPPROF_RATE=1 HEAPPROF_LEAKS_TOP=2, 3 extra leaking stacks:"
preload top 60 HEAPPROF_LEAKS=1 HEAPPROF_RATE=1 HEAPPROF_LEAKS_TOP=2 "$PROGS/trace_leaks" 3
$TC leaks "$T/top.err" "$SRCF" 2 3 || FAILED=1

# HEAPPROF_LEAKS_TOP=0 lists every stack, as heapprof leaks -n 0 does.
preload all 60 HEAPPROF_LEAKS=1 HEAPPROF_RATE=1 HEAPPROF_LEAKS_TOP=0 "$PROGS/trace_leaks" 3
nent=$(grep -c '^#[0-9]* ' "$T/all.err")
nstk=$(sed -n 's/^heapprof: leak report: .* from \([0-9]*\) stacks .*/\1/p' "$T/all.err")
if [ -n "$nstk" ] && [ "$nent" = "$nstk" ] && ! grep -q 'ignoring bad value' "$T/all.err" && ! grep -q '\.\.\. and' "$T/all.err"; then
	ok "HEAPPROF_LEAKS_TOP=0: all $nstk stacks listed, no warning"
else
	not_ok "HEAPPROF_LEAKS_TOP=0: all stacks listed, no warning" "entries $nent, stacks $nstk" "$(show all)"
fi

preload est 60 HEAPPROF_LEAKS=1 "$PROGS/trace_leaks"
if grep -q '^heapprof: leak report: [0-9]* bytes in [0-9]* objects from [0-9]* stacks in use at exit (estimated from samples)$' "$T/est.err" &&
	grep -q '^heapprof: sampled at HEAPPROF_RATE=524288 bytes; run with HEAPPROF_RATE=1 for exact counts$' "$T/est.err"; then
	ok "default rate: the report says it is estimated, at which rate, and how to get exact counts"
else
	not_ok "default rate: the report says it is estimated, at which rate, and how to get exact counts" "$(show est)"
fi

# Five return addresses on one source line (tests/progs/sameline.c) print
# the same frames: one entry of 5 objects, not five of one.
preload same 60 HEAPPROF_LEAKS=1 HEAPPROF_RATE=1 "$PROGS/sameline"
if grep -q '^heapprof: leak report: 5100 bytes in 6 objects from 2 stacks in use at exit' "$T/same.err" &&
	grep -qx '#1 5000 bytes in 5 objects' "$T/same.err" && grep -qx '#2 100 bytes in 1 object' "$T/same.err"; then
	ok "stacks that print the same are one entry: sameline.c's five calls on one line, 5000 bytes in 5 objects"
else
	not_ok "stacks that print the same are one entry: sameline.c's five calls on one line" "$(show same)"
fi

preload none 60 HEAPPROF_RATE=1 "$PROGS/trace_leaks"
if [ ! -s "$T/none.err" ]; then
	ok "without HEAPPROF_LEAKS: no report"
else
	not_ok "without HEAPPROF_LEAKS: no report" "$(show none)"
fi

exit $FAILED
