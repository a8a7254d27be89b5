#!/bin/sh
# lib_unwind.sh - the three unwinders of HEAPPROF_UNWIND.
#
# cfi (the default, libheapprof/cfi.c) is checked against the truth in
# lib_exact.sh.  Here:
#  - libunwind, which cfi hands the stacks it cannot walk (signal frames),
#    meets the same exact truth on its own;
#  - cfi and libunwind, two independent walkers, give the same profile
#    (every stack, by function name, with the same values) on the test
#    programs, frames.c included: frames without frame pointers, a 6 KB
#    frame, a variable-length array, a signal frame, a sigaltstack;
#  - fp, on programs built with frame pointers, meets the exact truth;
#    on cxx.cc, where libstdc++'s operator new breaks the chain, it loses
#    no allocation (its totals are cfi's).
#    One check cannot hold and is reported as a skip: known.c's strdup_site
#    calls glibc's strdup, which has no frame pointer, so the walk goes from
#    strdup straight to strdup_site's caller and strdup_site is lost - the
#    documented limit of this mode (README, docs/design.md).
#  - with 4 or 6 KiB of a thread's stack left (tests/progs/tinystack.c),
#    where glibc's malloc needs 3.3, each unwinder runs as without us: the
#    sample is dropped where its walk would overflow the stack (libunwind
#    needs about 8 KiB and died of SIGSEGV there).
#  - a stack through code without unwind tables (tests/progs/unwpipe.c)
#    goes to libunwind, whose pipe for checking addresses stays out of the
#    program's descriptors: the program's files are copied intact;
#  - the first thread, with a 300 KB environment, allocating and exiting a
#    few KiB above its stack's limit (tests/progs/stacklimit.c): as
#    without us with every unwinder (the bottom of that stack was taken
#    300 KB too low, and a sample there walked off it).
# A bad value of HEAPPROF_UNWIND is one warning and the default unwinder.
. "$(dirname "$0")/lib_common.sh"

need_lib
need_progs known threads deep cxx frames tinystack unwpipe stacklimit

for u in cfi libunwind fp; do
	for left in 4096 6144; do
		preload "ts$u$left" 30 HEAPPROF_UNWIND=$u HEAPPROF_RATE=1 "$PROGS/tinystack" "$left"
		what="$u: $left bytes of a thread's stack left, malloc sampled at rate 1: no overflow, exit 0"
		if [ "$(rc "ts$u$left")" = 0 ] && [ "$(cat "$T/ts$u$left.out")" = done ]; then
			ok "$what"
		else
			not_ok "$what" "$(show "ts$u$left")"
		fi
	done
done

# run_with TAG UNWINDER PROG: a rate-1 run; sets f to the profile's path.
run_with() {
	mkdir -p "$T/$1.d"
	preload "$1" 120 HEAPPROF_UNWIND="$2" HEAPPROF_RATE=1 HEAPPROF_OUT="$T/$1.d/p.%p.pb.gz" "$PROGS/$3"
	f=$(ls "$T/$1.d"/*.pb.gz 2>/dev/null | head -1)
	if [ -z "$f" ]; then
		not_ok "$2: $3 writes a profile" "$(show "$1")"
		return 1
	fi
}

for prog in known threads deep cxx frames; do
	case $prog in cxx) src=$SRC/cxx.cc ;; *) src=$SRC/$prog.c ;; esac
	run_with "$prog.libunwind" libunwind "$prog" || continue
	lu=$f
	$CHECK exact "$prog" "$lu" "$src" | sed 's/^\(not \)\{0,1\}ok - /&libunwind: /'
	run_with "$prog.cfi" cfi "$prog" || continue
	# threads interleave differently from run to run, but each stack's totals do not
	$CHECK same "$f" "$lu"
done

for prog in known threads deep; do
	run_with "$prog.fp" fp "$prog" || continue
	$CHECK exact "$prog" "$f" "$SRC/$prog.c" | sed 's/^\(not \)\{0,1\}ok - /&fp: /' |
		sed "s/^not ok - fp: known: strdup_site's strdup\(.*\)/ok - fp: known: strdup_site's strdup\1 # skip frames below code without frame pointers lose a caller/" |
		grep -v '^#   got (0, 0, 0, 0), stacks \[\]$'
done

# C++ under fp: libstdc++'s operator new has no frame pointer, so the
# function that called new is lost (the limit above).  Its aligned new also
# uses rbp for data, so the chain gave no frame at all there and the sample
# was dropped; such a stack now goes to libunwind, and nothing is lost.
if run_with cxx.fp fp cxx; then
	if go tool pprof -comments "$f" 2>/dev/null | grep -q "rate 1, 0 samples dropped"; then
		ok "fp: cxx: no sample dropped"
	else
		not_ok "fp: cxx: no sample dropped" "$(go tool pprof -comments "$f" 2>&1)"
	fi
	$CHECK totals "$f" "$(ls "$T/cxx.cfi.d"/*.pb.gz | head -1)" "fp: cxx against cfi"
fi

preload bad 60 HEAPPROF_UNWIND=frames HEAPPROF_RATE=1 HEAPPROF_OUT="$T/bad.pb.gz" "$PROGS/known"
if [ "$(cat "$T/bad.err")" = "heapprof: ignoring bad value of 'HEAPPROF_UNWIND'" ] && [ -f "$T/bad.pb.gz" ]; then
	ok "HEAPPROF_UNWIND=frames: one warning, the default unwinder, a profile"
else
	not_ok "HEAPPROF_UNWIND=frames: one warning, the default unwinder, a profile" "$(show bad)"
fi

# Large unwind tables (256 KiB or more: python3's 480 KiB, not the test
# programs') are read through a private mapping of the module's file, made
# at init (cfi.c, views).  Run as "ld.so prog", /proc/self/exe is the
# loader, not the program: the view must not map it in the program's
# place (it did, past the loader's end, and the first read was a SIGBUS).
py=$(readlink -f /usr/bin/python3 2>/dev/null)   # the ELF file, not a wrapper script
ldso=$(ls /lib64/ld-linux-x86-64.so.2 2>/dev/null)
if [ -x "$py" ] && [ -n "$ldso" ]; then
	preload ldso 60 HEAPPROF_OUT="$T/ldso.pb.gz" "$ldso" "$py" -c 'print(sum(len(str(i)) for i in range(300000)))'
	run ldso_plain 60 "$ldso" "$py" -c 'print(sum(len(str(i)) for i in range(300000)))'
	if [ "$(rc ldso)" = 0 ] && cmp -s "$T/ldso.out" "$T/ldso_plain.out" && [ -f "$T/ldso.pb.gz" ]; then
		ok "run through the loader (ld.so $py): same stdout and exit code, a profile"
	else
		not_ok "run through the loader (ld.so $py): same stdout and exit code, a profile" "$(show ldso)"
	fi
	preload pyview 60 HEAPPROF_RATE=4096 HEAPPROF_OUT="$T/pyview.pb.gz" "$py" -c 'print(sum(len(str(i)) for i in range(300000)))'
	if [ "$(rc pyview)" = 0 ] && cmp -s "$T/pyview.out" "$T/ldso_plain.out" &&
		go tool pprof -traces "$T/pyview.pb.gz" 2>/dev/null | grep -q 'Py_BytesMain'; then
		ok "python3 (tables read through a view): same stdout, and stacks walked up to Py_BytesMain"
	else
		not_ok "python3 (tables read through a view): same stdout, and stacks walked up to Py_BytesMain" "$(show pyview)"
	fi
fi

# libunwind's address-checking pipe (made at its first walk through a frame
# without unwind tables) was at the program's lowest free descriptors: its
# next open() was 5, and after the program closed 3..63 and opened its
# files there, libunwind read the input and wrote into the output.
head -c 3000 /dev/urandom | od -An -tx1 >"$T/unw.in"
run unwplain 60 "$PROGS/unwpipe" "$T/unw.in" "$T/unw.plain.out"
for mode in cfi libunwind; do
	preload "unw.$mode" 60 HEAPPROF_RATE=1 HEAPPROF_UNWIND=$mode "$PROGS/unwpipe" "$T/unw.in" "$T/unw.$mode.copy"
	what="code without unwind tables, $mode: libunwind's pipe stays out of the program's descriptors"
	if [ "$(rc "unw.$mode")" = 0 ] && cmp -s "$T/unwplain.out" "$T/unw.$mode.out" && cmp -s "$T/unw.in" "$T/unw.$mode.copy"; then
		ok "$what"
	else
		not_ok "$what" "$(show "unw.$mode")" "stdout: $(cat "$T/unw.$mode.out")" "plain: $(cat "$T/unwplain.out")" \
			"copy: $(cmp "$T/unw.in" "$T/unw.$mode.copy" 2>&1)"
	fi
done

big=$(head -c 100000 /dev/zero | tr '\0' x)
for room in 3072 20000; do
	run "sl.plain.$room" 60 env A="$big" B="$big" C="$big" "$PROGS/stacklimit" "$room"
	for mode in default rate1 libunwind fp; do
		case $mode in
		default) set -- ;;
		rate1) set -- HEAPPROF_RATE=1 ;;
		libunwind) set -- HEAPPROF_RATE=1 HEAPPROF_UNWIND=libunwind ;;
		fp) set -- HEAPPROF_RATE=1 HEAPPROF_UNWIND=fp ;;
		esac
		run "sl.$mode.$room" 60 env A="$big" B="$big" C="$big" LD_PRELOAD="$LIB" "$@" "$PROGS/stacklimit" "$room"
		what="allocating $room bytes above the first stack's limit, a 300 KB environment, $mode: as without us"
		if [ "$(rc "sl.$mode.$room")" = "$(rc "sl.plain.$room")" ] && cmp -s "$T/sl.plain.$room.out" "$T/sl.$mode.$room.out"; then
			ok "$what"
		else
			not_ok "$what" "$(show "sl.$mode.$room")" "plain: exit $(rc "sl.plain.$room")"
		fi
	done
done
run sl.plain.exit 60 env A="$big" B="$big" C="$big" "$PROGS/stacklimit" 65536 exit
run sl.exit 60 env A="$big" B="$big" C="$big" LD_PRELOAD="$LIB" HEAPPROF_OUT="$T/sl.exit.pb.gz" "$PROGS/stacklimit" 65536 exit
if [ "$(rc sl.exit)" = 0 ] && cmp -s "$T/sl.plain.exit.out" "$T/sl.exit.out" && [ -s "$T/sl.exit.pb.gz" ]; then
	ok "exit() 64 KiB above the first stack's limit, a 300 KB environment: exit 0 and a profile"
else
	not_ok "exit() 64 KiB above the first stack's limit, a 300 KB environment: exit 0 and a profile" "$(show sl.exit)"
fi
