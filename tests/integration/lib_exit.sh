#!/bin/sh
# lib_exit.sh - the ways a program ends.
#
#  - exit() from a thread while two other threads allocate
#    (tests/progs/exitthread.c): the process exits 42 and the profile is
#    written, complete, with exit_alloc's 3 blocks in use (rate 1);
#  - _exit() (tests/progs/exit_.c): no atexit handler or destructor runs, so
#    no profile is expected; the process must end promptly with code 3 and
#    leave no file (not even a temporary one);
#  - main leaving with pthread_exit while its two threads run on
#    (tests/progs/pexit.c): the process ends when they are done, exit 0,
#    with its exit profile, also when heapprof's dumper thread runs from
#    the start (HEAPPROF_INTERVAL) or its HTTP server does; those threads
#    used to keep the process alive for ever; also with a second preload
#    that wraps pthread_create and allocates on every new thread before its
#    start routine (tests/progs/wrapplugin.c), heapprof's own threads
#    included;
#  - exit() from a thread with a 32 KiB stack, and from main under
#    `ulimit -s 128` (tests/progs/smallstack.c), after a heapprof_dump()
#    there: exit code 5 and both profiles written; building them on that
#    stack died of SIGSEGV (libdw takes about 150 KiB);
#  - exit() from a handler on a sigaltstack while a timer's handler keeps
#    running on it (tests/progs/altexit.c): exit code 3 and the profile;
#    the exit profile's own stack once let the kernel put that handler's
#    frames over exit()'s, SIGSEGV;
#  - threads cancelled asynchronously inside malloc and free, at rate 1
#    (tests/progs/acancel.c): not allowed by POSIX, done by programs; one
#    could die holding a heapprof lock, and the exit profile waited for it
#    for ever: now the program ends, exit 0, its stdout as without heapprof
#    (the profile may be given up, with a warning);
#  - exit() from a signal handler that interrupted malloc or free
#    (tests/progs/exitsig.c), single- and multi-threaded, at the default
#    rate and rate 1, 10 runs each: exit code 3, same stdout, and either a
#    complete profile or (the handler interrupted the profiler itself) one
#    warning and none.  Built on glibc's heap, the profile waited for ever
#    on the arena lock the interrupted call held, or ran on the half-changed
#    heap and crashed.  Also with a one-shot handler (SA_RESETHAND) and no
#    other handler installed (HEAPPROF_SIGNAL=0), and while HEAPTRACE
#    prints a line for every growth of the heap (its line lock held by the
#    interrupted code: the exit line waited for it for ever);
#  - threads that end without their key destructors, after main's
#    pthread_exit (tests/progs/rawexit.c): a raw SYS_exit, exit 0, and
#    seccomp's SECCOMP_RET_KILL_THREAD, death by SIGSYS: the dumper thread
#    the program's thread started kept the process alive for ever, deaf to
#    SIGTERM; now it ends within a second or two, with plain's status;
#  - return from main is covered by every other test.
. "$(dirname "$0")/lib_common.sh"

need_lib
need_progs exitthread exit_ pexit smallstack acancel altexit exitsig rawexit ctorexit dlexit

for i in 1 2 3; do
	mkdir -p "$T/et$i.d"
	preload "et$i" 60 HEAPPROF_RATE=1 HEAPPROF_OUT="$T/et$i.d/p.pb.gz" "$PROGS/exitthread"
	if [ "$(rc "et$i")" = 42 ] && [ -f "$T/et$i.d/p.pb.gz" ] && [ "$(ls -A "$T/et$i.d" | wc -l)" = 1 ]; then
		ok "exit(42) from a thread (run $i): exit code 42, one profile written"
	else
		not_ok "exit(42) from a thread (run $i): exit code 42, one profile written" \
			"files: $(ls -A "$T/et$i.d" | tr '\n' ' ')" "$(show "et$i")"
	fi
done
[ -f "$T/et1.d/p.pb.gz" ] && $CHECK exact exitthread "$T/et1.d/p.pb.gz" "$SRC/exitthread.c"

mkdir -p "$T/ex.d"
start=$(date +%s)
preload ex 30 HEAPPROF_RATE=1 HEAPPROF_OUT="$T/ex.d/p.pb.gz" "$PROGS/exit_"
end=$(date +%s)
if [ "$(rc ex)" = 3 ] && [ $((end - start)) -lt 10 ]; then
	ok "_exit(3): exit code 3 within 10 s"
else
	not_ok "_exit(3): exit code 3 within 10 s" "took $((end - start)) s" "$(show ex)"
fi
if [ -z "$(ls -A "$T/ex.d")" ]; then
	ok "_exit(3): no profile and no temporary file written"
else
	not_ok "_exit(3): no profile and no temporary file written" "files: $(ls -A "$T/ex.d" | tr '\n' ' ')"
fi

for pm in interval http trace; do
	case $pm in
	interval) set -- HEAPPROF_INTERVAL=60 ;;
	http) set -- HEAPPROF_HTTP=127.0.0.1:0 ;;
	trace) set -- HEAPTRACE=1 HEAPTRACE_INTERVAL=1 ;;
	esac
	mkdir -p "$T/pe.$pm"
	preload "pe.$pm" 30 "$@" HEAPPROF_OUT="$T/pe.$pm/p.pb.gz" "$PROGS/pexit"
	what="main leaves with pthread_exit ($pm): the process ends when its threads do, exit 0, one profile"
	if [ "$(rc "pe.$pm")" = 0 ] && [ "$(sed -n 3p "$T/pe.$pm.out")" = "quiet worker done" ] &&
		[ "$(ls -A "$T/pe.$pm")" = p.pb.gz ]; then
		ok "$what"
	else
		not_ok "$what" "files: $(ls -A "$T/pe.$pm" | tr '\n' ' ')" "$(show "pe.$pm")"
	fi
done

for pm in default interval; do
	case $pm in
	default) set -- ;;
	interval) set -- HEAPPROF_INTERVAL=1 ;;
	esac
	mkdir -p "$T/pw.$pm"
	run "pw.$pm" 30 env LD_PRELOAD="$LIB $PROGS/wrapplugin.so" "$@" HEAPPROF_OUT="$T/pw.$pm/p.%p.pb.gz" "$PROGS/pexit"
	what="pthread_exit from main, another preload wrapping pthread_create ($pm): the process ends, exit 0"
	if [ "$(rc "pw.$pm")" = 0 ] && [ "$(sed -n 3p "$T/pw.$pm.out")" = "quiet worker done" ]; then
		ok "$what"
	else
		not_ok "$what" "$(show "pw.$pm")"
	fi
done

run ss.plain 30 "$PROGS/smallstack"
for where in thread main; do
	d=$T/ss.$where.d
	mkdir -p "$d"
	arg=; [ $where = main ] && arg=main
	preload "ss.$where" 60 HEAPPROF_RATE=1 HEAPPROF_OUT="$d/exit.pb.gz" \
		sh -c 'ulimit -s 128 && exec "$0" $1 "$2"' "$PROGS/smallstack" "$arg" "$d/api.pb.gz"
	what="exit(5) after heapprof_dump() on a small stack ($where): exit code 5, same stdout, both profiles"
	if [ "$(rc "ss.$where")" = 5 ] && [ "$(rc ss.plain)" = 5 ] && cmp -s "$T/ss.plain.out" "$T/ss.$where.out" &&
		gzip -t "$d/exit.pb.gz" 2>/dev/null && gzip -t "$d/api.pb.gz" 2>/dev/null; then
		ok "$what"
	else
		not_ok "$what" "$(show "ss.$where")" "files: $(ls -A "$d" | tr '\n' ' ')"
	fi
done

run ac.plain 60 "$PROGS/acancel"
for i in 1 2 3; do
	preload "ac$i" 60 HEAPPROF_RATE=1 HEAPPROF_OUT="$T/ac$i.pb.gz" "$PROGS/acancel"
	what="threads cancelled asynchronously in malloc (run $i): the program ends, exit 0, same stdout"
	if [ "$(rc "ac$i")" = 0 ] && [ "$(rc ac.plain)" = 0 ] && cmp -s "$T/ac.plain.out" "$T/ac$i.out"; then
		ok "$what"
	else
		not_ok "$what" "$(show "ac$i")"
	fi
done

run ae.plain 30 "$PROGS/altexit"
for i in 1 2 3; do
	preload "ae$i" 30 HEAPPROF_RATE=1 HEAPPROF_OUT="$T/ae$i.pb.gz" "$PROGS/altexit"
	what="exit(3) from a handler on a sigaltstack, signals arriving (run $i): exit code 3, same stdout, a profile"
	if [ "$(rc "ae$i")" = 3 ] && [ "$(rc ae.plain)" = 3 ] && cmp -s "$T/ae.plain.out" "$T/ae$i.out" &&
		gzip -t "$T/ae$i.pb.gz" 2>/dev/null; then
		ok "$what"
	else
		not_ok "$what" "$(show "ae$i")"
	fi
done

bad=""
for i in 1 2 3 4 5 6 7 8 9 10; do
	preload xg 30 HEAPTRACE=1 HEAPTRACE_GROWTH=1 HEAPTRACE_MIN=0 "$PROGS/exitsig" grow
	[ "$(rc xg)" = 3 ] || bad="$bad [run $i: exit $(rc xg)]"
done
if [ -z "$bad" ]; then
	ok "exit(3) from a signal handler while HEAPTRACE prints growth lines: exit code 3, 10 runs of 10, no hang"
else
	not_ok "exit(3) from a signal handler while HEAPTRACE prints growth lines: exit code 3, no hang" "$bad"
fi

run xs.plain 30 "$PROGS/exitsig"
for mode in 1-thread 2-threads 2-threads-reset; do
	for rate in 524288 1; do
		[ "$mode" = 2-threads-reset ] && [ "$rate" = 1 ] && continue
		bad="" profiles=0
		for i in 1 2 3 4 5 6 7 8 9 10; do
			d=$T/xs$mode$rate.$i
			mkdir -p "$d"
			preload "xs" 30 HEAPPROF_RATE=$rate HEAPPROF_SIGNAL=0 HEAPPROF_OUT="$d/p.pb.gz" "$PROGS/exitsig" \
				$(case $mode in 2-threads) echo thread ;; 2-threads-reset) echo thread reset ;; esac)
			if [ "$(rc xs)" != 3 ] || ! cmp -s "$T/xs.plain.out" "$T/xs.out"; then
				bad="$bad [run $i: $(show xs)]"
			elif [ -f "$d/p.pb.gz" ] && [ ! -s "$T/xs.err" ] && gzip -t "$d/p.pb.gz" 2>/dev/null; then
				profiles=$((profiles + 1))
			elif [ -f "$d/p.pb.gz" ] || [ "$(cat "$T/xs.err")" != "heapprof: exit() from a signal handler that interrupted the profiler: no profile at exit" ]; then
				bad="$bad [run $i: files $(ls "$d"), $(show xs)]"
			fi
		done
		# At rate 1 the handler often lands in the profiler's own code,
		# where the profile is given up; at the default rate seldom.
		want=8
		[ "$rate" = 1 ] && want=1
		what="exit(3) from a signal handler inside malloc ($mode, rate $rate): exit code 3 and stdout every run, $profiles profiles of 10, no hang"
		if [ -z "$bad" ] && [ "$profiles" -ge "$want" ]; then
			ok "$what"
		else
			not_ok "$what" "$bad"
		fi
	done
done

for mode in sysexit seccomp nofile; do
	run "raw.$mode.plain" 20 "$PROGS/rawexit" "$mode"
	for rate in 524288 1; do
		tag=raw.$mode.$rate
		t0=$(date +%s)
		preload "$tag" 20 HEAPPROF_RATE=$rate "$PROGS/rawexit" "$mode"
		took=$(($(date +%s) - t0))
		if [ "$(rc "$tag")" = "$(rc "raw.$mode.plain")" ] && cmp -s "$T/raw.$mode.plain.out" "$T/$tag.out" &&
			[ "$took" -le 5 ]; then
			ok "rawexit $mode, rate $rate: ends in ${took} s with plain's status $(rc "$tag") and stdout"
		else
			not_ok "rawexit $mode, rate $rate: ends with plain's status and stdout" \
				"plain exit $(rc "raw.$mode.plain"), took ${took} s" "$(show "$tag")"
		fi
	done
done

# exit() from a library's constructor, inside dlopen, while periodic dumps
# run (tests/progs/ctorexit.c): the exit profile waited for a dump's load
# of libdw, which waited for the loader's lock the exiting thread held.
mkdir -p "$T/ce"
preload ce 60 HEAPPROF_INTERVAL=1 HEAPPROF_OUT="$T/ce/c.%n.pb.gz" "$PROGS/ctorexit" "$PROGS/ctorexitplugin.so"
if [ "$(rc ce)" = 3 ]; then
	ok "exit(3) from a constructor inside dlopen while periodic dumps run: exit code 3, no hang"
else
	not_ok "exit(3) from a constructor inside dlopen while periodic dumps run: exit code 3, no hang" "$(show ce)"
fi

# exit() from a signal handler that interrupted dlopen or dlclose
# (tests/progs/dlexit.c): no dlopen of libdw inside it, no reading an
# object half unmapped; 20 runs.
bad=0
for i in $(seq 20); do
	preload dx 30 HEAPPROF_OUT="$T/dx.pb.gz" "$PROGS/dlexit" "$PROGS/dlplugin.so"
	[ "$(rc dx)" = 0 ] || bad=$((bad + 1))
done
if [ "$bad" = 0 ] && [ -s "$T/dx.pb.gz" ]; then
	ok "exit(0) from a signal handler inside dlopen/dlclose: exit 0 and a profile, 20 runs of 20"
else
	not_ok "exit(0) from a signal handler inside dlopen/dlclose: exit 0 and a profile, 20 runs of 20" \
		"$bad failed; last: $(show dx)"
fi

exit $FAILED
