#!/bin/sh
# lib_fork.sh - fork from a multithreaded program while other threads allocate.
#
# tests/progs/forkmt.c forks 6 children while 3 threads malloc and free; each
# child allocates (also from a new thread) and leaves with exit(0).  With
# HEAPPROF_OUT=f.%p.pb.gz every process must write its own complete profile:
# the parent's and each child's file, named by pid, no temporary files left.
# At rate 1 each child's profile holds exactly the child's allocations
# (child_alloc, child_thread_alloc), and the parent's holds none of them.
# A deadlock in a child shows as "child N: hung" in stdout (forkmt waits
# 20 s per child) and the whole run is bounded too.
#
# tests/progs/forksig.c forks from a signal handler (a 1 ms timer) while it
# allocates, so the fork lands inside malloc, free and the profiler's own
# critical sections: no hang, the same line as without the profiler, at
# rate 1 and the default, with children that leave by _exit() and by exit()
# (a child forked inside a critical section profiles nothing and writes no
# profile).
#
# tests/progs/dlfork.c loads a library whose constructor forks, over and
# over, while periodic dumps run: a dump waits for the dynamic linker's
# lock that dlopen holds, and the fork waited for the dump; both hung for
# good.  The fork now goes ahead after a bounded wait: "done", exit 0.
. "$(dirname "$0")/lib_common.sh"

need_lib
need_progs forkmt forksig dlfork

mkdir -p "$T/dlfork"
preload dlfork 60 HEAPPROF_INTERVAL=1 HEAPPROF_OUT="$T/dlfork/d.%p.%n.pb.gz" "$PROGS/dlfork" "$PROGS/forkctorplugin.so" 4
if [ "$(rc dlfork)" = 0 ] && [ "$(cat "$T/dlfork.out")" = done ]; then
	ok "a constructor that forks, loaded again and again while periodic dumps run: no hang ($(ls "$T/dlfork" | wc -l) files)"
else
	not_ok "a constructor that forks, loaded again and again while periodic dumps run: no hang" "$(show dlfork)"
fi

"$PROGS/forksig" >"$T/forksig.plain" 2>&1
for rate in 1 524288; do
	for how in _exit exit; do
		preload "fs$rate$how" 60 HEAPPROF_RATE=$rate "$PROGS/forksig" "$how"
		if [ "$(rc "fs$rate$how")" = 0 ] && cmp -s "$T/fs$rate$how.out" "$T/forksig.plain"; then
			ok "fork from a signal handler, rate $rate, children leave by $how: no hang, output as without us"
		else
			not_ok "fork from a signal handler, rate $rate, children leave by $how: no hang, output as without us" \
				"$(show "fs$rate$how")"
		fi
	done
done

for mode in rate1 default; do
	d=$T/$mode.d
	mkdir -p "$d"
	case $mode in
	rate1) set -- HEAPPROF_RATE=1 ;;
	default) set -- ;;
	esac
	preload "$mode" 200 "$@" HEAPPROF_OUT="$d/f.%p.pb.gz" "$PROGS/forkmt" "$T/$mode.pids"
	if [ "$(rc "$mode")" = 0 ] && ! grep -q hung "$T/$mode.out"; then
		ok "forkmt ($mode): all children exit 0, none hangs"
	else
		not_ok "forkmt ($mode): all children exit 0, none hangs" "$(cat "$T/$mode.out")" "$(show "$mode")"
	fi
	want=$(awk '{ print "f." $2 ".pb.gz" }' "$T/$mode.pids" | sort | tr '\n' ' ')
	got=$(ls -A "$d" | sort | tr '\n' ' ')
	if [ "$want" = "$got" ] && [ "$(wc -l <"$T/$mode.pids")" = 7 ]; then
		ok "forkmt ($mode): parent and 6 children each wrote f.PID.pb.gz, nothing else"
	else
		not_ok "forkmt ($mode): parent and 6 children each wrote f.PID.pb.gz, nothing else" \
			"want: $want" "got:  $got"
	fi
	[ "$mode" = rate1 ] || continue
	parent=$(awk '$1 == "parent" { print $2 }' "$T/$mode.pids")
	[ -f "$d/f.$parent.pb.gz" ] && $CHECK absent "$d/f.$parent.pb.gz" child_alloc child_thread_alloc
	for child in $(awk '$1 == "child" { print $2 }' "$T/$mode.pids"); do
		[ -f "$d/f.$child.pb.gz" ] && $CHECK fork-child "$d/f.$child.pb.gz" "$SRC/forkmt.c"
	done
done
