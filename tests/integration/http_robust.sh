#!/bin/sh
# http_robust.sh - the HEAPPROF_HTTP server under bad and busy clients.
#
# Against tests/progs/httpserve.c (see http_check.py proto): 404, 405, 400,
# 505, 411, 413, 431; random garbage; idle and half-sent requests while
# others are served and their timeout; more idle connections than the
# server keeps; clients that reset the connection mid-response (no SIGPIPE:
# the program lives on and keeps serving); the listening socket on
# 127.0.0.1 only.  Then the process lifecycle: exit is not held up by
# busy clients; a forked child does not keep the port; a taken port, a bad
# HEAPPROF_HTTP and HEAPPROF_RATE=0 each give one warning and leave the
# program running normally.  And the program's descriptors: the socket is
# kept at the top of the fd range, so the program's open() numbers are
# unchanged and a program started with stderr closed is not killed by
# SIGPIPE when it writes there (tests/progs/fds.c).
. "$(dirname "$0")/http_common.sh"

need_lib
need_progs httpserve fds closerange pexit

http_start main HEAPPROF_RATE=1 big
if [ -z "$ADDR" ]; then
	not_ok "the server started" "$(cat "$T/main.err")"
	exit 1
fi
$HTTP_CHECK listen "$ADDR"
$HTTP_CHECK proto "$ADDR" "$PROGS/httpserve" big
if kill -0 "$PID" 2>/dev/null; then
	ok "the program is alive after all of that"
else
	not_ok "the program is alive after all of that" "$(cat "$T/main.err")"
fi

# A second program asking for the same port: a warning, and it runs normally.
main_addr=$ADDR
http_start taken HEAPPROF_HTTP="$main_addr"
if grep -q "^heapprof: cannot listen on '$main_addr': Address already in use" "$T/taken.err" &&
	grep -q '^ready$' "$T/taken.out"; then
	ok "a taken port: one warning, the program runs"
else
	not_ok "a taken port: one warning, the program runs" "$(cat "$T/taken.err")"
fi
kill -HUP "$PID"
http_wait_exit "$PID" 5

# Exit with busy clients: at once, status 0.
http_start busy HEAPPROF_RATE=1 big
$HTTP_CHECK exit "$ADDR" "$PID" 2
http_wait_exit "$PID" 5
if [ "$RC" = 0 ]; then ok "exit status 0 with busy clients"; else not_ok "exit status 0 with busy clients" "exit $RC"; fi

# A forked child does not serve and does not keep the port when its parent
# exits (the default rate this time).
http_start fork fork
child=$(sed -n 's/^child //p' "$T/fork.out")
HTTP_PIDS="$HTTP_PIDS $child"
kill -HUP "$PID"
http_wait_exit "$PID" 5
if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
	$HTTP_CHECK refused "$ADDR"
else
	not_ok "a forked child lives on without the server" "$(cat "$T/fork.out" "$T/fork.err")"
fi
[ -n "$child" ] && kill "$child" 2>/dev/null

# Bad values: one warning each, the program's exit status kept.
for v in "HEAPPROF_HTTP=nonsense" "HEAPPROF_HTTP=127.0.0.1:99999" "HEAPPROF_HTTP=[::1" \
	"HEAPPROF_HTTP=127.0.0.1:0 HEAPPROF_RATE=0"; do
	# shellcheck disable=SC2086
	preload bad 10 $v sh -c 'exit 3'
	case $v in
	*RATE=0) want="heapprof: profiling is off: HEAPPROF_HTTP is ignored" ;;
	*) want="heapprof: bad HEAPPROF_HTTP '${v#HEAPPROF_HTTP=}': want [HOST]:PORT, HOST an IP address or localhost; the pprof endpoint is off" ;;
	esac
	if [ "$(rc bad)" = 3 ] && [ "$(cat "$T/bad.err")" = "$want" ]; then
		ok "$v: one warning, exit status kept"
	else
		not_ok "$v: one warning, exit status kept" "$(show bad)"
	fi
done

# The program's descriptors (tests/progs/fds.c): the same fds open, the
# same numbers from open(), its files untouched after it closed every fd
# above 2; and with stderr closed the socket does not become fd 2.
for mode in plain stderr; do
	arg=; [ $mode = stderr ] && arg=stderr
	run "fdsplain.$mode" 30 sh -c '"$0" $1 2>&-' "$PROGS/fds" "$arg"
	preload "fds.$mode" 30 HEAPPROF_HTTP=127.0.0.1:0 sh -c '"$0" $1 2>&-' "$PROGS/fds" "$arg"
	what="HEAPPROF_HTTP, fds $mode with stderr closed: same stdout and exit code as without heapprof"
	if [ "$(rc "fds.$mode")" = "$(rc "fdsplain.$mode")" ] && [ "$(rc "fds.$mode")" = 0 ] &&
		cmp -s "$T/fdsplain.$mode.out" "$T/fds.$mode.out"; then
		ok "$what"
	else
		not_ok "$what" "$(show "fds.$mode")" "$(diff "$T/fdsplain.$mode.out" "$T/fds.$mode.out" | head -8)"
	fi
done

# A program that closes every descriptor above 2 again and again and opens a
# file of its own, which gets fd 3 (tests/progs/closerange.c), while
# profiles are fetched: the server's descriptors (the listening socket,
# connections, the ELF files a profile reads) live in a table of its own
# (libheapprof/fdtab.c), so the program's file is never touched and the
# endpoint keeps serving after the program closed its copy of the socket.
d=$T/cr
mkdir -p "$d"
(
	export HEAPPROF_HTTP=127.0.0.1:0 HEAPPROF_HTTP_FILE="$T/cr.addr" LD_PRELOAD="$LIB"
	exec "$PROGS/closerange" 3 "$d/data"
) >"$T/cr.out" 2>"$T/cr.err" </dev/null &
crpid=$!
HTTP_PIDS="$HTTP_PIDS $crpid"
_i=0
while [ ! -s "$T/cr.addr" ] && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
$HTTP_CHECK served "$(cat "$T/cr.addr")" "$crpid" 5
wait "$crpid"
crrc=$?
if [ "$crrc" = 0 ] && [ "$(cat "$T/cr.out")" = "bad 0" ] && ! grep -v '^heapprof: serving pprof on ' "$T/cr.err"; then
	ok "close_range and a file of its own at fd 3 while profiles are served: the program's file untouched"
else
	not_ok "close_range and a file of its own at fd 3 while profiles are served: the program's file untouched" \
		"exit $crrc; stdout: $(cat "$T/cr.out")" "stderr: $(head -c 300 "$T/cr.err")"
fi

# Main has gone (pthread_exit) and a dump signal comes while clients sit
# idle: its HEAPTRACE line goes to the program's stderr, fetched from a
# thread of the program, never to a connection of the server's thread.
rm -f "$T/px.in"
mkfifo "$T/px.in"
exec 9<>"$T/px.in"
(
	export HEAPPROF_HTTP=127.0.0.1:0 HEAPPROF_HTTP_FILE="$T/px.addr" HEAPTRACE=1 \
		HEAPPROF_OUT="$T/px.%n.pb.gz" LD_PRELOAD="$LIB"
	exec "$PROGS/pexit" stdin 9>&-
) <"$T/px.in" >"$T/px.out" 2>"$T/px.err" &
pxpid=$!
HTTP_PIDS="$HTTP_PIDS $pxpid"
_i=0
while ! grep -q '^allocating worker done$' "$T/px.out" 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
$HTTP_CHECK quiet "$(cat "$T/px.addr")" "$pxpid" "$T/px.1.pb.gz"
exec 9>&-
wait "$pxpid"
pxrc=$?
if [ "$pxrc" = 0 ] && grep -q "(dump $T/px\.1\.pb\.gz)" "$T/px.err"; then
	ok "main gone: the dump's HEAPTRACE line is on stderr, exit 0"
else
	not_ok "main gone: the dump's HEAPTRACE line is on stderr, exit 0" "exit $pxrc; stderr: $(head -c 400 "$T/px.err")"
fi
