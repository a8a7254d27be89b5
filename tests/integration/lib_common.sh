# tests/integration/lib_common.sh - sourced by the lib_*.sh integration tests
# (tests/run.sh does not run *_common.sh files itself).
#
# Sets ROOT, B, LIB, PROGS, SRC, CHECK (the pprof checker) and a scratch
# directory T removed at exit; clears every HEAPPROF_* / HEAPTRACE* variable
# so the caller's environment cannot change a test; gives `go` writable caches
# when HOME is missing (CI).  Helpers:
#   ok WHAT / not_ok WHAT [DETAIL...]   one TAP-style result line
#   run TAG SECONDS CMD...              CMD's stdout, stderr and exit status in
#                                       $T/TAG.out, $T/TAG.err, $T/TAG.rc
#   preload TAG SECONDS [VAR=VALUE...] PROG [ARGS...]
#                                       run with LD_PRELOAD=$LIB and the variables
#   need_lib / need_progs NAME...       fail the script early when something is not built

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
LIB=$B/libheapprof.so
PROGS=$B/tests/progs
SRC=$ROOT/tests/progs
CHECK="python3 $ROOT/tests/integration/lib_pprof.py"

T=$(mktemp -d "${TMPDIR:-/tmp}/heapprof-test.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'rm -rf "$T"; exit 130' INT TERM

for v in $(env | sed -n 's/^\(HEAPPROF_[A-Za-z0-9_]*\)=.*/\1/p; s/^\(HEAPTRACE[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done
unset LD_PRELOAD
export HP_TEST_TMP="$T"

if [ -z "$HOME" ] || [ ! -w "$HOME" ]; then
	export GOCACHE="$T/gocache" GOPATH="$T/gopath"
fi

ok() { echo "ok - $*"; }

not_ok() {
	echo "not ok - $1"
	shift
	for d in "$@"; do
		printf '%s\n' "$d" | sed 's/^/#   /'
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

# show TAG: the first lines of a run's stderr, for failure details.
show() { echo "exit $(rc "$1"); stderr: $(head -c 600 "$T/$1.err")"; }

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

# only_file DIR: the single file in DIR, or nothing if there are none or several.
only_file() {
	[ "$(ls -A "$1" | wc -l)" = 1 ] && echo "$1/$(ls -A "$1")"
}
