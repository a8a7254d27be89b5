# tests/integration/cli_common.sh - sourced by the cli_*.sh integration tests
# of the `heapprof` command (tests/run.sh does not run *_common.sh itself).
#
# Sets ROOT, B, HP (the CLI), LIB (the real library, which may not exist),
# and a scratch directory T removed at exit; clears HEAPPROF_* / HEAPTRACE* /
# LD_PRELOAD so the caller's environment cannot change a test; gives `go`
# writable caches when HOME is missing (CI).  Helpers:
#   ok WHAT / not_ok WHAT [DETAIL...] / skip WHAT REASON   one result line
#   check COND_STATUS WHAT [DETAIL...]  ok or not_ok from an exit status
#   run TAG SECONDS CMD...    stdout, stderr, status in $T/TAG.out/.err/.rc
#   need_cli                  stop (one failure) when build/heapprof is missing
#   go_profiles               Go heap profiles with a known pattern, written
#                             by tests/integration/gen/heapgen.go with
#                             MemProfileRate=1: $T/before.pb.gz, $T/after.pb.gz
#                             (after adds 200 x 4096 B in main.grow),
#                             $T/allocs.pb.gz, $T/cpu.pb.gz
#   fake_lib                  an empty shared object named libheapprof.so in
#                             $T/fake/, so `run` and `dump` can be tested
#                             without the real library: sets FAKE_LIB
#   pprof ARGS...             go tool pprof, quietly
#   finish                    exit 1 if any check failed, else 0 (scripts end with it)

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
HP=$B/heapprof
LIB=$B/libheapprof.so
GEN=$ROOT/tests/integration/gen

T=$(mktemp -d "${TMPDIR:-/tmp}/heapprof-cli.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'rm -rf "$T"; exit 130' INT TERM

for v in $(env | sed -n 's/^\(HEAPPROF_[A-Za-z0-9_]*\)=.*/\1/p; s/^\(HEAPTRACE[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done
unset LD_PRELOAD
if [ -z "$HOME" ] || [ ! -w "$HOME" ]; then
	export GOCACHE="$B/tests/gocache" GOPATH="$B/tests/gopath"
fi
export GOFLAGS= GO111MODULE=auto

ok() { echo "ok - $*"; }
skip() { echo "ok - $1 # skip $2"; }
FAILED=0
not_ok() {
	FAILED=1
	echo "not ok - $1"
	shift
	for d in "$@"; do
		printf '%s\n' "$d" | sed 's/^/#   /'
	done
}
check() {
	_st=$1
	shift
	if [ "$_st" = 0 ]; then ok "$1"; else not_ok "$@"; fi
}

run() {
	_tag=$1 _secs=$2
	shift 2
	timeout -k 5 "$_secs" "$@" >"$T/$_tag.out" 2>"$T/$_tag.err" </dev/null
	echo $? >"$T/$_tag.rc"
}
rc() { cat "$T/$1.rc"; }
show() { echo "exit $(rc "$1"); stderr: $(head -c 600 "$T/$1.err"); stdout: $(head -c 300 "$T/$1.out")"; }

need_cli() {
	if [ ! -x "$HP" ]; then
		not_ok "$HP is built (run make cli)"
		exit 1
	fi
}

pprof() { go tool pprof "$@" 2>/dev/null; }

# Builds heapgen once per build tree (go build takes a few seconds cold),
# then writes the profiles into $T.
go_profiles() {
	_bin=$B/tests/heapgen
	if [ ! -x "$_bin" ] || [ "$GEN/heapgen.go" -nt "$_bin" ]; then
		mkdir -p "$B/tests"
		if ! (cd "$GEN" && go build -o "$_bin.tmp.$$" heapgen.go) >"$T/gobuild.err" 2>&1; then
			not_ok "go builds tests/integration/gen/heapgen.go" "$(cat "$T/gobuild.err")"
			exit 1
		fi
		mv "$_bin.tmp.$$" "$_bin"
	fi
	if ! "$_bin" heap "$T/before.pb.gz" "$T/after.pb.gz" || ! "$_bin" allocs "$T/allocs.pb.gz" ||
		! "$_bin" cpu "$T/cpu.pb.gz"; then
		not_ok "heapgen writes Go profiles"
		exit 1
	fi
}

fake_lib() {
	FAKE_LIB=$T/fake/libheapprof.so
	mkdir -p "$T/fake"
	printf 'int heapprof_fake_library;\n' >"$T/fake/fake.c"
	if ! ${CC:-cc} -shared -fPIC -o "$FAKE_LIB" "$T/fake/fake.c"; then
		not_ok "cc builds a stand-in libheapprof.so"
		exit 1
	fi
}

# finish: the script's exit status, 1 when any check failed.
finish() { exit "$FAILED"; }

# one_line TAG: stderr of a run is exactly one line starting "heapprof: ".
one_line() {
	[ "$(wc -l <"$T/$1.err")" = 1 ] && grep -q '^heapprof: ' "$T/$1.err"
}
