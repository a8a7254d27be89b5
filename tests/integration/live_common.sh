# tests/integration/live_common.sh - sourced by the live_*.sh and trace_*.sh
# tests (tests/run.sh does not run *_common.sh files itself).
#
# Everything in test_common.sh (ROOT, B, LIB, PROGS, SRC, the scratch
# directory T, a clean environment, ok/not_ok, run, preload, rc, need_lib,
# need_progs), plus CLI (build/heapprof) and PP (the profile reader,
# live_pprof.py over `go tool pprof`); every process started through `bg` is
# killed at exit too.  Gives `go` a writable HOME and cache when there is
# none (CI).  Helpers:
#   check WHAT CONDITION...             ok/not_ok on the exit status of CONDITION
#   show TAG                            status, start of stdout and stderr
#   bg TAG SECONDS FD [VAR=VALUE...] PROG [ARGS...]
#                                       start PROG preloaded in the background,
#                                       stdin a FIFO held open on file descriptor
#                                       FD (3..9) of this shell, pid in $T/TAG.pid;
#                                       closing FD gives it end of input
#   bg_wait TAG SECONDS                 wait for it; status in $T/TAG.rc (124 = killed)
#   wait_line FILE REGEX SECONDS        poll until a line of FILE matches (0) or time out (1)
#   wait_files DIR GLOB COUNT SECONDS   poll until COUNT files match DIR/GLOB

TEST_KIND=live
. "$(dirname "$0")/test_common.sh"
CLI=$B/heapprof
PP="python3 $ROOT/tests/integration/live_pprof.py"

# Each `bg` program runs under timeout(1), which leads its own process
# group: killing that group ends the program and nothing else.
cleanup() {
	for _f in "$T"/*.pid; do
		[ -s "$_f" ] && kill -9 -- "-$(cat "$_f")" 2>/dev/null
	done
	rm -rf "$T"
}

if [ -z "$HOME" ] || [ ! -w "$HOME" ]; then
	export HOME="$T/home"
	mkdir -p "$HOME"
fi
[ -n "$GOCACHE" ] || export GOCACHE="$T/gocache"

check() {
	_what=$1
	shift
	if "$@"; then ok "$_what"; else not_ok "$_what"; fi
}

# show TAG: status and the start of stderr, for failure details.
show() { echo "exit $(rc "$1"); stdout: $(head -c 300 "$T/$1.out"); stderr: $(head -c 600 "$T/$1.err")"; }

bg() {
	_tag=$1 _secs=$2 _fd=$3
	shift 3
	rm -f "$T/$_tag.in"
	mkfifo "$T/$_tag.in"
	# Opened read-write, the FIFO never blocks this shell, and the program
	# sees end of input only when this shell closes FD.
	eval "exec $_fd<>\"\$T/\$_tag.in\""
	(
		for _c in 3 4 5 6 7 8 9; do
			eval "exec $_c>&-"
		done
		timeout -k 5 "$_secs" env LD_PRELOAD="$LIB" "$@" <"$T/$_tag.in" >"$T/$_tag.out" 2>"$T/$_tag.err" &
		echo $! >"$T/$_tag.pid"
		wait $!
		echo $? >"$T/$_tag.rc"
	) &
	# wait for the pid file of the timeout process
	_i=0
	while [ ! -s "$T/$_tag.pid" ] && [ $_i -lt 100 ]; do
		sleep 0.02
		_i=$((_i + 1))
	done
}

# The program's own pid: the child of the timeout process.
bg_pid() {
	_tp=$(cat "$T/$1.pid" 2>/dev/null)
	[ -n "$_tp" ] || return
	# the kernel's child list, else the parent field of every process
	if [ -r "/proc/$_tp/task/$_tp/children" ]; then
		awk '{ print $1 }' "/proc/$_tp/task/$_tp/children"
	else
		awk -v p="$_tp" '{ sub(/.*\) /, ""); if ($2 == p) print FILENAME }' /proc/[0-9]*/stat 2>/dev/null |
			sed -n 's|^/proc/\([0-9]*\)/stat$|\1|p' | head -n 1
	fi
}

bg_wait() {
	_i=0
	_n=$(($2 * 20))
	while [ ! -s "$T/$1.rc" ] && [ $_i -lt $_n ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	if [ ! -s "$T/$1.rc" ]; then
		_tp=$(cat "$T/$1.pid" 2>/dev/null)
		[ -n "$_tp" ] && kill -9 -- "-$_tp" 2>/dev/null
		sleep 0.2
		[ -s "$T/$1.rc" ] || echo 124 >"$T/$1.rc"
		return 1
	fi
	return 0
}

wait_line() {
	_i=0
	_n=$(($3 * 20))
	while [ $_i -lt $_n ]; do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
		_i=$((_i + 1))
	done
	return 1
}

wait_files() {
	_i=0
	_n=$(($4 * 20))
	while [ $_i -lt $_n ]; do
		# shellcheck disable=SC2086
		[ "$(ls -d $1/$2 2>/dev/null | wc -l)" -ge "$3" ] && return 0
		sleep 0.05
		_i=$((_i + 1))
	done
	return 1
}
