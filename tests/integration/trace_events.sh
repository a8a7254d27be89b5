#!/bin/sh
# trace_events.sh - tick, dump and exit lines (issue 4).
#
# tests/progs/live_ctl.c under HEAPTRACE=1 HEAPTRACE_INTERVAL=1, driven
# through a FIFO: it grows 64 KiB every 0.2 s for 1.6 s (with one SIGUSR2
# in the middle), then stays idle 2.6 s, then exits.  Checks:
#   - every line matches the documented regex (trace_check.py's REGEX);
#   - tick lines appear (one a second while the heap changes) and only
#     when something changed since the previous line: never during the
#     idle time, so at most 2 ticks, each with new alloc/free counts;
#   - the SIGUSR2 dump gives a "dump PATH" line naming the file written;
#   - the last line is the exit line;
#   - a single-threaded program is left single-threaded (sigmalloc.c).
. "$(dirname "$0")/live_common.sh"

need_lib
need_progs live_ctl

d=$T/out
mkdir -p "$d"
bg ev 60 3 HEAPTRACE=1 HEAPTRACE_INTERVAL=1 HEAPPROF_OUT="$d/t.%p.%n.pb.gz" "$PROGS/live_ctl"
wait_line "$T/ev.out" '^ready$' 10
pid=$(bg_pid ev)
for i in 1 2 3 4 5 6 7 8; do
	echo "grow 64" >&3
	[ "$i" = 4 ] && kill -USR2 "$pid"
	sleep 0.2
done
sleep 2.6
exec 3>&-
bg_wait ev 20
if [ "$(rc ev)" = 0 ]; then
	ok "live_ctl under HEAPTRACE=1 HEAPTRACE_INTERVAL=1 exits 0"
else
	not_ok "live_ctl under HEAPTRACE=1 HEAPTRACE_INTERVAL=1 exits 0" "$(show ev)"
fi

python3 - "$T/ev.err" "$d" "$ROOT/tests/integration" <<'PY'
import os, sys
sys.path.insert(0, sys.argv[3])
import trace_check as tc
lines, bad = tc.parse(sys.argv[1])
if bad or not lines:
    tc.not_ok("every line matches the documented regex", *(bad[:5] or ["no lines"]))
    sys.exit(1)
tc.ok("all %d lines match the documented regex" % len(lines))
ticks = [(i, l) for i, l in enumerate(lines) if l["reason"] == "tick"]
changed = all(i > 0 and (l["allocs"], l["frees"]) != (lines[i - 1]["allocs"], lines[i - 1]["frees"])
              for i, l in ticks)
if 1 <= len(ticks) <= 2 and changed:
    tc.ok("%d tick lines, each after a change, none in the idle 2.6 s" % len(ticks))
else:
    tc.not_ok("1 or 2 tick lines, each after a change, none while idle",
              *[l["line"] for l in lines])
dumps = [l for l in lines if l["reason"] == "dump"]
files = sorted(os.listdir(sys.argv[2]))
sig = [l for l in dumps if l["path"] and os.path.basename(l["path"]) == (files[0] if files else None)]
if len(dumps) == 2 and sig and dumps[0]["path"].startswith(sys.argv[2]) and \
        all(os.path.basename(l["path"]) in files for l in dumps):
    tc.ok("a dump line with the path of each file written (SIGUSR2 and exit): %s"
          % ", ".join(os.path.basename(l["path"]) for l in dumps))
else:
    tc.not_ok("a dump line with the path of each file written", "files: %s" % files,
              *[l["line"] for l in dumps])
if lines[-1]["reason"] == "exit" and sum(l["reason"] == "exit" for l in lines) == 1:
    tc.ok("the exit line comes last")
else:
    tc.not_ok("the exit line comes last", lines[-1]["line"])
sys.exit(1 if tc.failed else 0)
PY
[ $? = 0 ] || FAILED=1

# A single-threaded program stays single-threaded under HEAPTRACE=1: its
# tick comes from the allocation path, not from a thread of ours.  With
# that thread, glibc took its arena lock, and sigmalloc's handler, whose
# malloc interrupted one, waited on it for ever (20 of 20 runs).
need_progs sigmalloc
run smplain 30 "$PROGS/sigmalloc"
preload smtrace 30 HEAPTRACE=1 HEAPTRACE_INTERVAL=1 HEAPPROF_RATE=1 "$PROGS/sigmalloc"
same=no
[ "$(rc smtrace)" = 0 ] && [ -s "$T/smplain.out" ] && cmp -s "$T/smplain.out" "$T/smtrace.out" && same=yes
check "sigmalloc (a handler that allocates) under HEAPTRACE=1: same stdout and exit code as plain" [ $same = yes ]
check "... and a single-threaded program's trace says 1 thread" grep -q ' 1 threads' "$T/smtrace.err"

# A handler that frees and allocates 20 000 times a second (sigfree.c)
# while the program allocates: its counts land in the middle of the
# thread's own.  As a load, add and store, the handler's update was lost:
# 0.8 MB "in use" at exit after everything was freed.  Now 0.0.
need_progs sigfree
preload sftrace 60 HEAPTRACE=1 "$PROGS/sigfree"
check "sigfree under HEAPTRACE=1: the exit line has 0.0 MB in use, all freed ($(grep -o '[0-9.]*->[0-9.]* MB inuse' "$T/sftrace.err" | tail -n 1))" \
	grep -q -- '->0\.0 MB inuse.*(exit)$' "$T/sftrace.err"

exit $FAILED
