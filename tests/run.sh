#!/bin/sh
# tests/run.sh - runs heapprof's unit test binaries and integration scripts and
# sums up their results.
#
# Usage: sh tests/run.sh [--unit | --integration] [PATTERN...]
#   PATTERN  run only the tests whose name contains one of the patterns
#            (e.g. `sh tests/run.sh lib_` or `sh tests/run.sh test_pb lib_exact`)
# Environment: B (build directory, default build), TEST_TIMEOUT (seconds per
# test, default 300).
#
# Every test prints one line per check, "ok - WHAT" or "not ok - WHAT"
# ("ok - WHAT # skip REASON" counts as skipped).  A test that exits non-zero
# without printing "not ok", prints no result at all, or runs past the
# timeout (it is then killed) counts as one failure under its own name.
# Each test's output is echoed when it ends, with its elapsed time; the
# last line is exactly "N passed, M failed" (", K skipped" added when K > 0)
# and the exit status is 1 when M > 0.
#
# Integration scripts are tests/integration/*.sh except *_common.sh, which
# are helpers sourced by the scripts.

cd "$(dirname "$0")/.." || exit 2
B=${B:-build}
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
export B

want_unit=1
want_integ=1
case "$1" in
--unit) want_integ=0; shift ;;
--integration) want_unit=0; shift ;;
-h|--help) sed -n '2,20p' "$0"; exit 0 ;;
esac
patterns="$*"

matches() {
	[ -z "$patterns" ] && return 0
	for p in $patterns; do
		case "$1" in *"$p"*) return 0 ;; esac
	done
	return 1
}

now() { date +%s.%N; }

passed=0
failed=0
skipped=0
failed_names=""
out=$(mktemp "${TMPDIR:-/tmp}/heapprof-run.XXXXXX") || exit 2
trap 'rm -f "$out"' EXIT
trap 'rm -f "$out"; exit 130' INT TERM

# run_one NAME COMMAND...: runs one test under the timeout and counts its lines.
run_one() {
	name=$1
	shift
	echo "# $name"
	t0=$(now)
	# timeout runs the test in its own process group and kills all of it.
	timeout -k 10 "$TEST_TIMEOUT" "$@" >"$out" 2>&1 </dev/null
	rc=$?
	t1=$(now)
	cat "$out"
	p=$(grep -c '^ok ' "$out")
	s=$(grep -c '^ok .*# *[Ss][Kk][Ii][Pp]' "$out")
	f=$(grep -c '^not ok' "$out")
	p=$((p - s))
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "not ok - $name timed out after $TEST_TIMEOUT s and was killed"
		f=$((f + 1))
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $name exited with status $rc"
		f=1
	elif [ "$((p + s + f))" = 0 ]; then
		echo "not ok - $name reported no results"
		f=1
	fi
	passed=$((passed + p))
	skipped=$((skipped + s))
	failed=$((failed + f))
	[ "$f" -gt 0 ] && failed_names="$failed_names $name"
	echo "# $name: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
}

if [ "$want_unit" = 1 ]; then
	for t in "$B"/tests/unit/test_*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		case "$t" in *.o|*.d|*.c) continue ;; esac
		name=$(basename "$t")
		matches "$name" || continue
		run_one "$name" "$t"
	done
fi

if [ "$want_integ" = 1 ]; then
	for t in tests/integration/*.sh; do
		[ -f "$t" ] || continue
		case "$t" in *_common.sh) continue ;; esac
		name=$(basename "$t" .sh)
		matches "$name" || continue
		run_one "$name" sh "$t"
	done
fi

[ -n "$failed_names" ] && echo "# failed:$failed_names"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" = 0 ]
