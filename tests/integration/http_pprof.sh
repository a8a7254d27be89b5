#!/bin/sh
# http_pprof.sh - go tool pprof against a live program's HEAPPROF_HTTP endpoint.
#
# tests/progs/httpserve.c allocates known blocks and waits; preloaded with
# HEAPPROF_RATE=1 and HEAPPROF_HTTP=127.0.0.1:0 it prints the chosen address
# on stderr and writes it to HEAPPROF_HTTP_FILE.  Then `go tool pprof`, fetching
# the URLs itself, must read exact values with function names from
# /debug/pprof/heap and /allocs and from the ?debug=1 text format; a
# ?seconds=2 window in which the program frees and allocates (SIGUSR1) must
# hold exactly those changes, while other requests are answered; and the
# program's own output and exit status must be untouched.  Truth table:
# the top of tests/progs/httpserve.c.
. "$(dirname "$0")/http_common.sh"

need_lib
need_progs httpserve

http_start main HEAPPROF_RATE=1
if [ -n "$ADDR" ]; then
	ok "the server started and wrote its address to HEAPPROF_HTTP_FILE ($ADDR)"
else
	not_ok "the server started and wrote its address to HEAPPROF_HTTP_FILE" "$(cat "$T/main.err")"
	exit 1
fi
if [ "$(cat "$T/main.err")" = "heapprof: serving pprof on http://$ADDR/debug/pprof/" ]; then
	ok "port 0: one line on stderr names the chosen address"
else
	not_ok "port 0: one line on stderr names the chosen address" "$(cat "$T/main.err")"
fi

$HTTP_CHECK pprof "$ADDR"
$HTTP_CHECK delta "$ADDR" "$PID"
$HTTP_CHECK after "$ADDR"

kill -HUP "$PID"
http_wait_exit "$PID" 10
if [ "$RC" = 0 ] && [ "$(cat "$T/main.out")" = "$(printf 'ready\nwindow done')" ]; then
	ok "the program's stdout and exit status are unchanged"
else
	not_ok "the program's stdout and exit status are unchanged" "exit $RC" "$(cat "$T/main.out")"
fi
