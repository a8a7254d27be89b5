# tests/integration/lib_common.sh - sourced by the lib_*.sh integration tests
# (tests/run.sh does not run *_common.sh files itself).
#
# Everything in test_common.sh (ROOT, B, LIB, PROGS, SRC, the scratch
# directory T, a clean environment, ok/not_ok, run, preload, rc, need_lib,
# need_progs), plus CHECK (the pprof checker); gives `go` writable caches in T
# when HOME is missing (CI).  Helpers:
#   show TAG          exit status and the start of stderr, for failure details
#   only_file DIR     the single file in DIR, or nothing

TEST_KIND=test
. "$(dirname "$0")/test_common.sh"
CHECK="python3 $ROOT/tests/integration/lib_pprof.py"
export HP_TEST_TMP="$T"
go_caches "$T"

# show TAG: the first lines of a run's stderr, for failure details.
show() { echo "exit $(rc "$1"); stderr: $(head -c 600 "$T/$1.err")"; }

# only_file DIR: the single file in DIR, or nothing if there are none or several.
only_file() {
	[ "$(ls -A "$1" | wc -l)" = 1 ] && echo "$1/$(ls -A "$1")"
}
