#!/bin/sh
# lib_transparency.sh - the profiler must not change what a program does.
#
# Each program in tests/progs/ runs once plainly and then preloaded with
# build/libheapprof.so in several modes: the default rate without
# HEAPPROF_OUT, the default rate writing a profile, HEAPPROF_RATE=1 (every
# allocation sampled) writing a profile, and HEAPPROF_RATE=0 (off).  Every
# preloaded run must print the same stdout and exit with the same code as the
# plain run, with nothing on stderr (HEAPTRACE is unset).  Every run has a
# time limit, so a hang or deadlock is a failure, not a stuck suite.
. "$(dirname "$0")/lib_common.sh"

# program, arguments, expected exit code of the plain run
CASES="known::0 edge::0 threads::0 forkmt::0 dl::0 cxx::0 exitthread::42 exit_::3 deep::0 rate:16:0 cancel::0 fds::0 pristine::0 pexit::0 altstack::0 getattr::0 clonemt::0 idlethreads::0 unshare::0 sigmalloc::0 sigquery::0 sigfree::0 sigdfl::0"

need_lib
for c in $CASES; do
	need_progs "${c%%:*}"
done

mkdir -p "$T/prof"
for c in $CASES; do
	prog=${c%%:*}
	rest=${c#*:}
	args=${rest%%:*}
	want=${rest#*:}
	run "$prog.plain" 120 "$PROGS/$prog" $args
	if [ "$(rc "$prog.plain")" = "$want" ]; then
		ok "$prog runs plainly with exit code $want"
	else
		not_ok "$prog runs plainly with exit code $want" "$(show "$prog.plain")"
	fi
	for mode in default-noout default rate1 rate0; do
		case $mode in
		default-noout) set -- ;;
		default) set -- HEAPPROF_OUT="$T/prof/$prog.default.%p.pb.gz" ;;
		rate1) set -- HEAPPROF_RATE=1 HEAPPROF_OUT="$T/prof/$prog.rate1.%p.pb.gz" ;;
		rate0) set -- HEAPPROF_RATE=0 HEAPPROF_OUT="$T/prof/$prog.rate0.%p.pb.gz" ;;
		esac
		tag=$prog.$mode
		preload "$tag" 120 "$@" "$PROGS/$prog" $args
		what="transparency: $prog preloaded ($mode): same stdout and exit code as plain, empty stderr"
		if [ "$(rc "$tag")" = 124 ] || [ "$(rc "$tag")" = 137 ]; then
			not_ok "$what" "timed out after 120 s"
		elif ! cmp -s "$T/$prog.plain.out" "$T/$tag.out"; then
			not_ok "$what" "stdout differs:" "$(diff "$T/$prog.plain.out" "$T/$tag.out" | head -20)" "$(show "$tag")"
		elif [ "$(rc "$tag")" != "$(rc "$prog.plain")" ]; then
			not_ok "$what" "exit code $(rc "$tag"), plain $(rc "$prog.plain")" "$(show "$tag")"
		elif [ -s "$T/$tag.err" ]; then
			not_ok "$what" "stderr: $(head -c 600 "$T/$tag.err")"
		else
			ok "$what"
		fi
	done
done

# sigfree: the blocks its handler freed while the thread held our locks
# waited and were freed after, once each: at rate 1 none of them is left in
# use, in pprof's reading of the exit profile.
preload sfexact 60 HEAPPROF_RATE=1 HEAPPROF_OUT="$T/prof/sigfree.pb.gz" "$PROGS/sigfree"
left=$(go tool pprof -top -sample_index=inuse_objects "$T/prof/sigfree.pb.gz" 2>/dev/null |
	awk '$NF == "pool_alloc" || $NF == "back_alloc" { n += $1 } END { print n + 0 }')
if [ "$(rc sfexact)" = 0 ] && [ -f "$T/prof/sigfree.pb.gz" ] && [ "$left" = 0 ]; then
	ok "sigfree at rate 1: the handler's waiting frees all done, none of its blocks in use at exit"
else
	not_ok "sigfree at rate 1: the handler's waiting frees all done, none of its blocks in use at exit" \
		"pool_alloc/back_alloc objects in use: $left" "$(show sfexact)"
fi

# heapprof started inside the process's first allocation, made by libc
# under one of its own locks in a constructor that runs before heapprof's
# (tests/progs/initlockplugin.c): the program runs to its end as with the
# plugin alone, and writes its profile.  heapprof's start took the same
# lock again and the program hung before main.
need_progs initlockplugin.so forkmt
for mode in atexit atfork setenv; do
	run "il.$mode.plain" 60 env INITLOCK=$mode LD_PRELOAD="$PROGS/initlockplugin.so" "$PROGS/forkmt"
	for follow in 1 0; do
		tag=il.$mode.$follow
		rm -rf "$T/il"
		mkdir -p "$T/il"
		run "$tag" 60 env INITLOCK=$mode HEAPPROF_FOLLOW=$follow LD_PRELOAD="$LIB $PROGS/initlockplugin.so" \
			HEAPPROF_OUT="$T/il/p.%p.pb.gz" "$PROGS/forkmt"
		what="first allocation under libc's $mode lock before our constructor (HEAPPROF_FOLLOW=$follow): no hang, same stdout and exit code, a profile"
		if [ "$(rc "$tag")" = "$(rc "il.$mode.plain")" ] && cmp -s "$T/il.$mode.plain.out" "$T/$tag.out" &&
			[ -n "$(ls "$T/il")" ]; then
			ok "$what"
		else
			not_ok "$what" "$(show "$tag")" "plain: $(show "il.$mode.plain")"
		fi
	done
done
