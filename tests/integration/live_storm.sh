#!/bin/sh
# live_storm.sh - 200 dump signals while 4 threads allocate (issue 3).
#
# tests/progs/live_storm.c sends itself 200 SIGUSR2 (one every 2 ms) while 4
# threads malloc/calloc/realloc/free.  Signals that arrive while a dump is
# running are merged into the next one, so there are fewer files than
# signals.  Checks, at HEAPPROF_RATE=4096 (many samples, much locking) and
# at the default rate:
#   - no crash and no deadlock: the run ends within its bound, exit 0, and
#     stdout is the same as a run without the profiler;
#   - every file written is a complete profile (whole gzip, pprof reads
#     it), the names are %n = 1..N with no gaps, and no temporary
#     (*.tmp.*) file is left behind;
#   - at least two signal dumps happened besides the exit dump.
. "$(dirname "$0")/live_common.sh"

need_lib
need_progs live_storm

run plain 60 "$PROGS/live_storm" 0
if [ "$(rc plain)" != 0 ]; then
	not_ok "live_storm runs without the profiler" "$(show plain)"
	exit 1
fi

for mode in rate4096 default; do
	d=$T/$mode.d
	mkdir -p "$d"
	case $mode in
	rate4096) set -- HEAPPROF_RATE=4096 ;;
	default) set -- ;;
	esac
	preload "$mode" 90 "$@" HEAPPROF_OUT="$d/s.%p.%n.pb.gz" "$PROGS/live_storm" 200 2000
	r=$(rc "$mode")
	if [ "$r" = 0 ] && cmp -s "$T/plain.out" "$T/$mode.out"; then
		ok "storm ($mode): no crash, no hang, exit 0, stdout unchanged"
	elif [ "$r" = 124 ] || [ "$r" = 137 ]; then
		not_ok "storm ($mode): no crash, no hang, exit 0, stdout unchanged" "hung: killed after 90 s"
	else
		not_ok "storm ($mode): no crash, no hang, exit 0, stdout unchanged" "$(show "$mode")"
	fi
	tmps=$(ls "$d" | grep -c '\.tmp')
	n=$(ls "$d" | grep -c '^s\.[0-9]*\.[0-9]*\.pb\.gz$')
	seqs=$(ls "$d" | sed -n 's/^s\.[0-9]*\.\([0-9]*\)\.pb\.gz$/\1/p' | sort -n | tr '\n' ' ')
	want=$(seq 1 "$n" | tr '\n' ' ')
	pids=$(ls "$d" | sed -n 's/^s\.\([0-9]*\)\..*/\1/p' | sort -u | wc -l)
	if [ "$tmps" = 0 ] && [ "$n" -ge 3 ] && [ "$seqs" = "$want" ] && [ "$pids" = 1 ] &&
		[ "$(ls "$d" | wc -l)" = "$n" ]; then
		ok "storm ($mode): $n files numbered 1..$n, no temporary files left"
	else
		not_ok "storm ($mode): files numbered 1..N (N >= 3), no temporary files left" \
			"files: $(ls "$d" | tr '\n' ' ')"
	fi
	if bad=$($PP check "$d"/*); then
		ok "storm ($mode): all $n files are complete profiles pprof reads"
	else
		not_ok "storm ($mode): every file is a complete profile pprof reads" "$bad"
	fi
	if [ -s "$T/$mode.err" ]; then
		not_ok "storm ($mode): nothing on stderr" "$(head -c 600 "$T/$mode.err")"
	else
		ok "storm ($mode): nothing on stderr"
	fi
done

exit $FAILED
