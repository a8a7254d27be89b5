#!/bin/sh
# lib_exact.sh - at HEAPPROF_RATE=1 the profile must equal the truth exactly.
#
# Runs the programs whose allocations are known (tests/progs/known.c,
# threads.c, cxx.cc, dl.c, deep.c, frames.c) with every allocation sampled,
# walked by the default unwinder, and checks
# each leaf function's alloc_objects, alloc_space, inuse_objects and
# inuse_space, the bytes label, file:line of the allocation and the stack
# shape, as read by `go tool pprof` (lib_pprof.py exact).  known also runs
# from a copy that is deleted before the profile is read, with pprof's own
# symbolization left on: function names, files and lines can then only come
# from the profile.  deep also runs with HEAPPROF_DEPTH=256.
. "$(dirname "$0")/lib_common.sh"

need_lib
need_progs known threads cxx dl deep frames

# profile_of TAG: the one profile file TAG's run wrote in $T/TAG.d.
profile_of() {
	f=$(only_file "$T/$1.d")
	if [ -z "$f" ]; then
		not_ok "$1 writes one profile" "files: $(ls "$T/$1.d" | tr '\n' ' ')" "$(show "$1")"
		return 1
	fi
	echo "$f"
}

for prog in known threads cxx dl deep frames; do
	case $prog in cxx) src=$SRC/cxx.cc ;; dl) src=$SRC/dlplugin.c ;; *) src=$SRC/$prog.c ;; esac
	mkdir -p "$T/$prog.d"
	preload "$prog" 120 HEAPPROF_RATE=1 HEAPPROF_OUT="$T/$prog.d/p.%p.pb.gz" "$PROGS/$prog"
	f=$(profile_of "$prog") || continue
	$CHECK exact "$prog" "$f" "$src"
	[ "$prog" = deep ] && $CHECK depth "$f"
done

# deep with a larger depth limit
mkdir -p "$T/deep256.d"
preload deep256 120 HEAPPROF_RATE=1 HEAPPROF_DEPTH=256 HEAPPROF_OUT="$T/deep256.d/p.pb.gz" "$PROGS/deep"
f=$(profile_of deep256) && $CHECK depth "$f" 256

# known from a binary that is gone when pprof reads the profile
mkdir -p "$T/moved" "$T/moved.d"
cp "$PROGS/known" "$T/moved/known"
preload moved 120 HEAPPROF_RATE=1 HEAPPROF_OUT="$T/moved.d/p.pb.gz" "$T/moved/known"
rm -f "$T/moved/known"
f=$(profile_of moved) && $CHECK exact known "$f" "$SRC/known.c" --moved
