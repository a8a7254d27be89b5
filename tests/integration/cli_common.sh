# tests/integration/cli_common.sh - sourced by the cli_*.sh integration tests
# of the `heapprof` command (tests/run.sh does not run *_common.sh itself).
#
# Everything in test_common.sh (ROOT, B, LIB (the real library, which may not
# exist), the scratch directory T, a clean environment, ok/not_ok, run, rc),
# plus HP (the CLI); gives `go` writable caches in the build tree when HOME is
# missing (CI).  Helpers:
#   skip WHAT REASON          a skipped result line
#   check COND_STATUS WHAT [DETAIL...]  ok or not_ok from an exit status
#   show TAG                  status, start of stderr and stdout
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
#   wait_mapped PID           until PID has libheapprof mapped (at most 2 s); not
#                             until it has started: dump must wait for that itself
#   finish                    exit 1 if any check failed, else 0 (scripts end with it)

TEST_KIND=cli
. "$(dirname "$0")/test_common.sh"
HP=$B/heapprof
GEN=$ROOT/tests/integration/gen
# In the build tree rather than T, so go_profiles builds heapgen once.
go_caches "$B/tests"
export GOFLAGS= GO111MODULE=auto

skip() { echo "ok - $1 # skip $2"; }
check() {
	_st=$1
	shift
	if [ "$_st" = 0 ]; then ok "$1"; else not_ok "$@"; fi
}
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
wait_mapped() {
	for _i in $(seq 100); do
		grep -q libheapprof "/proc/$1/maps" 2>/dev/null && return 0
		sleep 0.02
	done
	return 1
}

# one_line TAG: stderr of a run is exactly one line starting "heapprof: ".
one_line() {
	[ "$(wc -l <"$T/$1.err")" = 1 ] && grep -q '^heapprof: ' "$T/$1.err"
}
