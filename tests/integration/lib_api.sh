#!/bin/sh
# lib_api.sh - include/heapprof.h used from inside a program, with the
# library preloaded and with the program linked against it (-lheapprof):
#  - heapprof_dump(path) writes a profile now, %p expanded, returns 0, keeps
#    errno; at rate 1 it holds exactly what api.c documents (read with go
#    tool pprof);
#  - it returns -EINVAL when profiling is off (HEAPPROF_RATE=0);
#  - heapprof_stats() counts exactly 100 allocs/frees and their usable
#    bytes around a known loop when HEAPPROF_STATS=1, and says it is not
#    counting otherwise.
. "$(dirname "$0")/lib_common.sh"

need_lib
need_progs api

# The linked build: the way a program uses -lheapprof (pkg-config heapprof).
if ! cc -O0 -g -I"$ROOT/include" -o "$T/api_linked" "$SRC/api.c" -L"$B" -lheapprof -Wl,-rpath,"$B" -ldl \
	2>"$T/cc.err"; then
	not_ok "api.c links with -lheapprof" "$(cat "$T/cc.err")"
	exit 1
fi
ok "api.c links with -lheapprof"

# check_dump FILE WHAT: the dump holds api.c's truth, read by go tool pprof.
check_dump() {
	python3 - "$1" "$2" <<'PY'
import sys
sys.path.insert(0, sys.argv[0] and __import__("os").path.dirname(__import__("os").path.abspath("tests/integration/lib_pprof.py")))
import lib_pprof as L
path, what = sys.argv[1], sys.argv[2]
prof = L.load(path)
for fn, want in (("api_keep", (10, 10000, 10, 10000)), ("api_drop", (5, 1500, 0, 0))):
    got, n = L.values_for(prof, lambda s, fn=fn: L.name_is(prof.leaf(s).func, fn))
    L.check(got == want, "%s: %s alloc/inuse objects and bytes = %s" % (what, fn, want), "got %s" % (got,))
sys.exit(1 if L.failures else 0)
PY
}

cd "$ROOT" || exit 1
for how in preloaded linked; do
	if [ $how = preloaded ]; then
		prog=$PROGS/api
		set -- env LD_PRELOAD="$LIB"
	else
		prog=$T/api_linked
		set -- env
	fi
	run $how 60 "$@" HEAPPROF_RATE=1 "$prog" "$T/$how.%p.pb.gz"
	f=$(ls "$T"/$how.*.pb.gz 2>/dev/null | head -1)
	if grep -q '^heapprof_dump = 0, errno kept = 1$' "$T/$how.out" && [ -n "$f" ] && [ "$(rc $how)" = 0 ]; then
		ok "$how: heapprof_dump returns 0, keeps errno, writes $(basename "$f")"
		check_dump "$f" "$how"
	else
		not_ok "$how: heapprof_dump returns 0, keeps errno, writes the %p file" "$(cat "$T/$how.out")" "$(show $how)"
	fi
	if grep -q '^counting = 0, allocs +0, frees +0' "$T/$how.out"; then
		ok "$how: without HEAPPROF_STATS, heapprof_stats says it is not counting"
	else
		not_ok "$how: without HEAPPROF_STATS, heapprof_stats says it is not counting" "$(cat "$T/$how.out")"
	fi
	run $how.stats 60 "$@" HEAPPROF_STATS=1 "$prog" "$T/$how.s.pb.gz"
	line=$(grep '^counting' "$T/$how.stats.out")
	usable=$(echo "$line" | sed -n 's/.*bytes +\([0-9]*\) of \([0-9]*\),.*/\1 \2/p')
	if echo "$line" | grep -q '^counting = 1, allocs +100, frees +100, .* inuse change 0$' &&
		[ "$(echo "$usable" | cut -d' ' -f1)" = "$(echo "$usable" | cut -d' ' -f2)" ]; then
		ok "$how: HEAPPROF_STATS=1 counts exactly 100 allocs, 100 frees, their usable bytes, in-use back to start"
	else
		not_ok "$how: HEAPPROF_STATS=1 counts exactly 100 allocs, 100 frees, their usable bytes" "$line"
	fi
	if grep -q '^stats(NULL) = -22, rate = 524288, samples > 0: ' "$T/$how.stats.out"; then
		ok "$how: heapprof_stats(NULL) is -EINVAL; the rate is reported"
	else
		not_ok "$how: heapprof_stats(NULL) is -EINVAL; the rate is reported" "$(cat "$T/$how.stats.out")"
	fi
	run $how.off 60 "$@" HEAPPROF_RATE=0 "$prog" "$T/$how.off.pb.gz"
	if grep -q '^heapprof_dump = -22, errno kept = 1$' "$T/$how.off.out" && ! ls "$T"/$how.off.*.pb.gz >/dev/null 2>&1; then
		ok "$how: HEAPPROF_RATE=0: heapprof_dump returns -EINVAL and writes nothing"
	else
		not_ok "$how: HEAPPROF_RATE=0: heapprof_dump returns -EINVAL and writes nothing" "$(cat "$T/$how.off.out")"
	fi
done

run plain 60 "$PROGS/api"
if [ "$(cat "$T/plain.out")" = "no heapprof API in this process" ]; then
	ok "without the library the program runs and finds no API"
else
	not_ok "without the library the program runs and finds no API" "$(show plain)"
fi

# What the library exports: the allocator names, the public API, and the
# few calls it wraps for the program's sake (libheapprof/heapprof.map says
# why each); anything else would interpose on the program by accident.
want="aligned_alloc calloc free heapprof_dump heapprof_stats malloc malloc_usable_size memalign pipe2 posix_memalign pthread_create pthread_getattr_np pvalloc realloc reallocarray setns sigaction signal unshare valloc"
got=$(nm -D --defined-only "$B/libheapprof.so" | awk '$2 != "A" { print $3 }' | sed 's/@.*//' | sort -u | tr '\n' ' ' | sed 's/ $//')
if [ "$got" = "$want" ]; then
	ok "libheapprof.so exports only the allocator names, heapprof_* and the wrapped thread calls"
else
	not_ok "libheapprof.so exports only the allocator names, heapprof_* and the wrapped thread calls" \
		"want: $want" "got:  $got"
fi
