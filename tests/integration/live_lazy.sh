#!/bin/sh
# live_lazy.sh - when the dumper thread starts.
#
# A second thread makes glibc's malloc leave its single-threaded paths, so
# heapprof starts its dumper thread only when that costs nothing or is
# needed (libheapprof/dumper.c):
#   * a single-threaded program has no extra thread at the default settings;
#   * blocked in read(), it still answers the dump signal at once: the
#     handler starts the thread itself;
#   * signalled while computing in its own code, it dumps at its next
#     allocation (the handler may not start a thread there);
#   * the program's first pthread_create brings the dumper thread along;
#   * HEAPPROF_INTERVAL needs the thread from the start;
#   * a signal that lands while libc writes under malloc's lock
#     (malloc_stats into a full pipe) does not deadlock the program;
#   * a program that chains to our handler as old.sa_handler(sig) does not
#     crash it.
# The program's output and exit status stay its own throughout.  Driven by
# tests/progs/live_ctl.c ("threads" counts /proc/self/task without
# allocating).
. "$(dirname "$0")/live_common.sh"
need_lib
need_progs live_ctl statsblock
CTL=$PROGS/live_ctl

# ask TAG FD COMMAND REPLY_REGEX: send a command, wait for the reply line
# (the Nth reply of its kind is found by counting, so callers pass regexes
# that match only the new line).
ask() {
	echo "$3" >&"$2"
	wait_line "$T/$1.out" "$4" 10
}

# nthreads TAG: what the program said in its last "threads N" line.
nthreads() { sed -n 's/^threads //p' "$T/$1.out" | tail -n 1; }

# ---- idle in read(): no thread until the signal, then at once ----
d=$T/idle
mkdir -p "$d"
bg idle 60 3 HEAPPROF_OUT="$d/i.%p.%n.pb.gz" "$CTL"
wait_line "$T/idle.out" '^ready$' 10
pid=$(bg_pid idle)
ask idle 3 threads '^threads ' >/dev/null
check "a single-threaded program has no dumper thread at the default settings (threads: $(nthreads idle))" \
	[ "$(nthreads idle)" = 1 ]
sleep 0.1       # back in read(): the signal lands in the system call
kill -USR2 "$pid"
if wait_files "$d" "i.$pid.1.pb.gz" 1 10; then
	ok "blocked in read(), it answers SIGUSR2 with a profile"
	check "go tool pprof reads that profile as a heap profile" $PP check "$d/i.$pid.1.pb.gz"
else
	not_ok "blocked in read(), it answers SIGUSR2 with a profile" "$(ls "$d")" "$(show idle)"
fi
echo threads >&3
sleep 0.3
check "after the signal the dumper thread exists (threads: $(nthreads idle))" [ "$(nthreads idle)" = 2 ]
kill -USR2 "$pid"
check "a second signal: a second profile" wait_files "$d" "i.$pid.2.pb.gz" 1 10
echo exit >&3
exec 3>&-
bg_wait idle 20
own=1
[ "$(cat "$T/idle.rc")" = 0 ] && ! grep -q EINTR "$T/idle.out" && grep -q '^bye$' "$T/idle.out" && own=0
check "its output and exit status are its own" [ "$own" = 0 ]

# ---- computing in its own code: the profile comes with the next allocation ----
d=$T/busy
mkdir -p "$d"
bg busy 60 4 HEAPPROF_OUT="$d/b.%p.%n.pb.gz" "$CTL"
wait_line "$T/busy.out" '^ready$' 10
pid=$(bg_pid busy)
echo "spin 1500" >&4
sleep 0.5
kill -USR2 "$pid"
wait_line "$T/busy.out" '^spun$' 10
ask busy 4 threads '^threads ' >/dev/null
nfiles=$(ls "$d" | wc -l)
check "signalled while computing: no thread and no file before it allocates (threads: $(nthreads busy), files: $nfiles)" \
	[ "$(nthreads busy)-$nfiles" = 1-0 ]
ask busy 4 "grow 64" '^grown 64$' >/dev/null
if wait_files "$d" "b.$pid.1.pb.gz" 1 10; then
	ok "its next allocation starts the thread, which writes the profile"
else
	not_ok "its next allocation starts the thread, which writes the profile" "$(show busy)"
fi
echo exit >&4
exec 4>&-
bg_wait busy 20
own=1
[ "$(cat "$T/busy.rc")" = 0 ] && grep -q '^bye$' "$T/busy.out" && own=0
check "its output and exit status are its own" [ "$own" = 0 ]

# ---- the program's first thread brings the dumper thread ----
bg mt 60 5 "$CTL"
wait_line "$T/mt.out" '^ready$' 10
ask mt 5 thread '^thread$' >/dev/null
echo threads >&5
sleep 0.3
check "after the program's pthread_create: its 2 threads and the dumper (threads: $(nthreads mt))" \
	[ "$(nthreads mt)" = 3 ]
echo exit >&5
exec 5>&-
bg_wait mt 20

# ---- periodic dumps need the thread from the start; rate 0 never has one ----
for cfg in "HEAPPROF_INTERVAL=60 2" "HEAPPROF_RATE=0 1"; do
	set -- $cfg
	tag=cfg$2
	bg "$tag" 60 6 HEAPPROF_OUT="$T/$tag.%p.%n.pb.gz" "$1" "$CTL"
	wait_line "$T/$tag.out" '^ready$' 10
	ask "$tag" 6 threads '^threads ' >/dev/null
	check "$1: $2 thread(s) at start (threads: $(nthreads "$tag"))" [ "$(nthreads "$tag")" = "$2" ]
	echo exit >&6
	exec 6>&-
	bg_wait "$tag" 20
done

# ---- a signal while malloc_stats() is blocked writing under malloc's lock ----
mkfifo "$T/stats.err"
exec 7<>"$T/stats.err"          # held open, never read until below: the pipe fills
timeout -k 2 60 env LD_PRELOAD="$LIB" HEAPPROF_OUT="$T/stats.%n.pb.gz" "$PROGS/statsblock" >"$T/stats.out" 2>"$T/stats.err" &
spid_t=$!
wait_line "$T/stats.out" '^pid ' 10
spid=$(sed -n 's/^pid //p' "$T/stats.out")
sleep 0.5                       # 64 KiB of statistics: blocked in write()
kill -USR2 "$spid"
sleep 0.3
timeout 30 cat <&7 >/dev/null &
cpid=$!
wait "$spid_t"
src=$?
kill "$cpid" 2>/dev/null
exec 7>&-
check "a signal while malloc_stats() waits on a full pipe: no deadlock, exit 0, output intact (exit $src)" \
	[ "$src-$(tail -n 1 "$T/stats.out")" = "0-done" ]

# ---- a program that calls our handler as sa_handler(sig) ----
d=$T/chain
mkdir -p "$d"
bg chain 60 8 HEAPPROF_OUT="$d/c.%p.%n.pb.gz" "$CTL"
wait_line "$T/chain.out" '^ready$' 10
pid=$(bg_pid chain)
ask chain 8 "chain 12" '^chain 12$' >/dev/null
for k in 1 2 3; do
	kill -USR2 "$pid"
	sleep 0.1
done
ask chain 8 "grow 64" '^grown 64$' >/dev/null
ask chain 8 count '^caught ' >/dev/null
got=$(wait_files "$d" "c.$pid.*.pb.gz" 1 10 && echo yes)
echo exit >&8
exec 8>&-
bg_wait chain 20
check "chained as sa_handler(sig): the program lives, sees its 3 signals and a profile is written ($(sed -n 's/^caught //p' "$T/chain.out"), $got)" \
	[ "$(cat "$T/chain.rc")-$(sed -n 's/^caught //p' "$T/chain.out")-$got" = "0-3-yes" ]

exit $FAILED
