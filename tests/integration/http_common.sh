# tests/integration/http_common.sh - sourced by the http_*.sh tests of the
# pprof HTTP endpoint (tests/run.sh does not run *_common.sh files itself).
#
# Builds on lib_common.sh (ROOT, LIB, PROGS, T, ok/not_ok, need_*).  Helpers:
#   http_start TAG [VAR=VALUE...] [ARG...]
#       starts $PROGS/httpserve ARG... in the background, preloaded, with
#       HEAPPROF_HTTP=127.0.0.1:0 and HEAPPROF_HTTP_FILE=$T/TAG.addr (VAR=VALUE
#       overrides), and waits up to 10 s for the address file and "ready".
#       Sets PID and ADDR; stdout/stderr in $T/TAG.out, $T/TAG.err.
#   http_wait_exit PID SECONDS   waits for a background PID; sets RC (124 if it
#                                did not exit in time: it is then killed)
# Every process started here is killed when the script ends.
# HTTP_CHECK runs tests/integration/http_check.py.

. "$(dirname "$0")/lib_common.sh"

HTTP_CHECK="python3 $ROOT/tests/integration/http_check.py"
HTTP_PIDS=""
cleanup() {
	for p in $HTTP_PIDS; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$T"
}

http_start() {
	_tag=$1
	shift
	_env="HEAPPROF_HTTP=127.0.0.1:0 HEAPPROF_HTTP_FILE=$T/$_tag.addr"
	_args=""
	for _a in "$@"; do
		case $_a in *=*) _env="$_env $_a" ;; *) _args="$_args $_a" ;; esac
	done
	# A subshell that execs the program: only httpserve loads the library
	# (env(1) or a shell would start a server of their own first).
	# shellcheck disable=SC2086
	(
		for _kv in $_env; do export "$_kv"; done
		export LD_PRELOAD="$LIB"
		exec "$PROGS/httpserve" $_args
	) >"$T/$_tag.out" 2>"$T/$_tag.err" </dev/null &
	PID=$!
	HTTP_PIDS="$HTTP_PIDS $PID"
	ADDR=""
	_i=0
	while [ $_i -lt 100 ]; do
		if grep -q '^ready$' "$T/$_tag.out" 2>/dev/null; then
			[ -s "$T/$_tag.addr" ] && ADDR=$(cat "$T/$_tag.addr")
			break
		fi
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
		_i=$((_i + 1))
	done
}

# http_running PID: whether PID is still running (not exited, not a zombie).
# One read of its State line: this shell reaps an exited child whenever it
# waits for any command (the grep or sleep here included), so /proc/PID can
# vanish between two looks; a missing file means it has exited.
http_running() {
	_st=$(sed -n 's/^State:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
	case $_st in "" | Z*) return 1 ;; *) return 0 ;; esac
}

http_wait_exit() {
	_i=0
	while [ $_i -lt $(($2 * 10)) ] && http_running "$1"; do
		sleep 0.1
		_i=$((_i + 1))
	done
	if http_running "$1"; then
		# A hang is a bug to diagnose: keep every thread's stack.
		if command -v gdb >/dev/null 2>&1; then
			timeout 30 gdb -p "$1" -batch -ex 'thread apply all bt' >"$T/hang.$1.txt" 2>&1
			echo "# process $1 did not exit; its threads:"
			grep -E '^(Thread|#)' "$T/hang.$1.txt" | head -60 | sed 's/^/#   /'
		fi
		kill -9 "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		RC=124
		return
	fi
	wait "$1"
	RC=$?
}
