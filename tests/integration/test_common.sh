# tests/integration/test_common.sh - the part of lib_common.sh, live_common.sh
# and cli_common.sh that is the same in all three (tests/run.sh does not run
# *_common.sh files itself).  Set TEST_KIND (a word in the scratch
# directory's name) before sourcing it.
#
# Sets ROOT, B, LIB, PROGS, SRC and a scratch directory T removed at exit by
# `cleanup`, which a caller may redefine to stop its own processes first (the
# traps look the function up when they fire).  Clears every HEAPPROF_* /
# HEAPTRACE* variable and LD_PRELOAD so the caller's environment cannot change
# a test.  Helpers:
#   ok WHAT / not_ok WHAT [DETAIL...]   one result line (details as "#" lines);
#                                       not_ok sets FAILED=1
#   run TAG SECONDS CMD...              stdout/stderr/status in $T/TAG.{out,err,rc}
#   preload TAG SECONDS [VAR=VALUE...] PROG [ARGS...]   run under LD_PRELOAD=$LIB
#   rc TAG                              the status of a run
#   go_caches DIR                       when HOME is missing or read-only (CI),
#                                       gives `go` its caches under DIR
#   need_lib / need_progs NAME...       fail early when something is not built

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
LIB=$B/libheapprof.so
PROGS=$B/tests/progs
SRC=$ROOT/tests/progs

T=$(mktemp -d "${TMPDIR:-/tmp}/heapprof-${TEST_KIND:-test}.XXXXXX") || exit 1
cleanup() { rm -rf "$T"; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

for v in $(env | sed -n 's/^\(HEAPPROF_[A-Za-z0-9_]*\)=.*/\1/p; s/^\(HEAPTRACE[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done
unset LD_PRELOAD

go_caches() {
	if [ -z "$HOME" ] || [ ! -w "$HOME" ]; then
		export GOCACHE="$1/gocache" GOPATH="$1/gopath"
	fi
}

FAILED=0
ok() { echo "ok - $*"; }

not_ok() {
	FAILED=1
	echo "not ok - $1"
	shift
	for _d in "$@"; do
		printf '%s\n' "$_d" | sed 's/^/#   /'
	done
}

run() {
	_tag=$1 _secs=$2
	shift 2
	timeout -k 5 "$_secs" "$@" >"$T/$_tag.out" 2>"$T/$_tag.err" </dev/null
	echo $? >"$T/$_tag.rc"
}

preload() {
	_tag=$1 _secs=$2
	shift 2
	run "$_tag" "$_secs" env LD_PRELOAD="$LIB" "$@"
}

rc() { cat "$T/$1.rc"; }

need_lib() {
	if [ ! -f "$LIB" ]; then
		not_ok "$LIB is built (run make)"
		exit 1
	fi
}

need_progs() {
	for _p in "$@"; do
		if [ ! -x "$PROGS/$_p" ]; then
			not_ok "$PROGS/$_p is built (run make test-progs)"
			exit 1
		fi
	done
}
