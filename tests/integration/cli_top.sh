#!/bin/sh
# cli_top.sh - `heapprof top` and `heapprof folded` against the independent
# reader, `go tool pprof`, on the same files: Go heap profiles with a known
# pattern (heapgen.go, every allocation recorded) and, when the library is
# built, a heapprof profile of tests/progs/known.
#   - top: the first rows' function names, flat and cum values equal
#     `pprof -top` (also with --cum and --lines) for every sample type;
#   - folded: for every sample type the lines sum to the profile's total,
#     taken from `pprof -raw`, and the known stacks are there.
. "$(dirname "$0")/cli_common.sh"
need_cli
go_profiles

N=12
TYPES="alloc_objects alloc_space inuse_objects inuse_space"

# Our rows as "flat cum name" (inline labels dropped: pprof shows them only
# for edges that survive its trimming).
ours() {
	"$HP" top --exact -n "$N" "$@" | awk '
		started { name = $6; for (i = 7; i <= NF; i++) name = name " " $i
			  sub(/ \((partial-)?inline\)$/, "", name); print $1, $4, name }
		$1 == "flat" { started = 1 }'
}
theirs() {
	pprof -top -unit="${UNIT:-B}" -nodefraction=0 -edgefraction=0 -nodecount="$N" "$@" | awk '
		started { f = $1; c = $4; sub(/[a-zA-Z]+$/, "", f); sub(/[a-zA-Z]+$/, "", c)
			  name = $6; for (i = 7; i <= NF; i++) name = name " " $i
			  sub(/ \((partial-)?inline\)$/, "", name); print f, c, name }
		$1 == "flat" { started = 1 }'
}

# compare WHAT OUR_ARGS -- PPROF_ARGS
compare() {
	_what=$1
	shift
	_o="" _p=""
	while [ "$1" != "--" ]; do _o="$_o $1"; shift; done
	shift
	# shellcheck disable=SC2086
	ours $_o >"$T/ours" 2>"$T/ours.err"
	# shellcheck disable=SC2086
	theirs "$@" >"$T/theirs"
	if [ ! -s "$T/theirs" ] && [ ! -s "$T/ours" ]; then
		ok "$_what: no rows, as in pprof -top (no samples)"
	elif [ ! -s "$T/theirs" ]; then
		not_ok "$_what: go tool pprof -top printed rows" "$(go tool pprof -top "$@" 2>&1 | head -5)"
	elif cmp -s "$T/ours" "$T/theirs"; then
		ok "$_what: $(wc -l <"$T/ours") rows equal pprof -top (first: $(head -1 "$T/ours"))"
	else
		not_ok "$_what: rows equal pprof -top" "$(diff "$T/ours" "$T/theirs" | head -20)" "$(cat "$T/ours.err")"
	fi
}

for t in $TYPES; do
	compare "top -s $t (Go heap)" -s "$t" "$T/after.pb.gz" -- -sample_index="$t" "$T/after.pb.gz"
done
compare "top --cum (Go heap)" --cum "$T/after.pb.gz" -- -cum "$T/after.pb.gz"
compare "top --lines -s alloc_space (Go heap)" --lines -s alloc_space "$T/after.pb.gz" \
	-- -lines -sample_index=alloc_space "$T/after.pb.gz"
compare "top, default type of an allocs profile is alloc_space" "$T/allocs.pb.gz" -- "$T/allocs.pb.gz"
UNIT=ns compare "top --sample cpu on a CPU profile" -s cpu "$T/cpu.pb.gz" -- -sample_index=cpu "$T/cpu.pb.gz"

# The known truth, not just agreement: main.grow holds 200 x 4096 bytes.
run g 20 "$HP" top --exact -s inuse_space "$T/after.pb.gz"
check "$(awk '$NF == "main.grow" && $1 == 819200 { f = 1 } END { exit !f }' "$T/g.out"; echo $?)" \
	"main.grow holds exactly 819200 bytes in use" "$(cat "$T/g.out")"
# Recursion: main.rec appears 4 times per stack but its cum is counted once.
check "$(awk '$NF == "main.rec" && $1 == 10240 && $4 == 10240 { f = 1 } END { exit !f }' "$T/g.out"; echo $?)" \
	"recursive main.rec: cum counted once per stack (10240)" "$(grep main.rec "$T/g.out")"
check "$(grep -q 'main.small (inline)$' "$T/g.out"; echo $?)" "inlined main.small is marked (inline)"

# folded: sums equal the totals of pprof -raw, for every type of each profile.
raw_totals() {
	pprof -raw "$1" | awk '
		/^Samples:/ { s = 1; next }
		s == 1 { n = NF; for (i = 1; i <= NF; i++) { split($i, a, "/"); name[i] = a[1] } s = 2; next }
		s == 2 && /^ *-?[0-9]+( +-?[0-9]+)*:/ { sub(/:.*/, ""); for (i = 1; i <= n; i++) tot[i] += $i }
		/^(Locations|Mappings)/ { s = 0 }
		END { for (i = 1; i <= n; i++) print name[i], tot[i] + 0 }'
}
folded_ok=0
for f in after.pb.gz before.pb.gz allocs.pb.gz cpu.pb.gz; do
	raw_totals "$T/$f" >"$T/raw"
	if [ ! -s "$T/raw" ]; then
		not_ok "pprof -raw gives the totals of $f"
		continue
	fi
	while read -r type total; do
		"$HP" folded -s "$type" "$T/$f" >"$T/folded" 2>"$T/folded.err"
		sum=$(awk '{ s += $NF } END { printf "%d", s }' "$T/folded")
		bad=$(awk '!/^[^ ].* [0-9]+$/ || $NF <= 0' "$T/folded" | head -3)
		if [ "$sum" = "$total" ] && [ -z "$bad" ]; then
			folded_ok=$((folded_ok + 1))
		else
			not_ok "folded -s $type $f sums to the pprof total" "folded $sum, pprof $total" "$bad" \
				"$(cat "$T/folded.err")"
		fi
	done <"$T/raw"
done
check "$([ "$folded_ok" -ge 14 ]; echo $?)" "folded sums equal the pprof -raw totals ($folded_ok profile/type pairs)"

"$HP" folded -s inuse_space "$T/after.pb.gz" >"$T/f"
check "$(grep -qx 'runtime.main;main.main;main.grow 819200' "$T/f"; echo $?)" \
	"folded: root-first stack of main.grow with its exact value" "$(head -5 "$T/f")"
check "$(grep -qx 'runtime.main;main.main;main.useSmall;main.small 10240' "$T/f"; echo $?)" \
	"folded: the inlined frame main.small follows the function it was inlined into" "$(grep small "$T/f")"
check "$(grep -qx 'runtime.main;main.main;main.rec;main.rec;main.rec;main.rec 10240' "$T/f"; echo $?)" \
	"folded: recursion keeps every frame" "$(grep rec "$T/f")"
check "$(sort -c "$T/f" 2>/dev/null; [ "$(cut -d' ' -f1 "$T/f" | sort | uniq -d | wc -l)" = 0 ]; echo $?)" \
	"folded: one line per distinct stack"

# A heapprof profile of a C program, when the library is built.
if [ -f "$LIB" ] && [ -x "$B/tests/progs/known" ]; then
	(cd "$T" && "$HP" run -o "$T/known.pb.gz" --rate 1 -- "$B/tests/progs/known" >/dev/null 2>"$T/run.err")
	if [ -f "$T/known.pb.gz" ]; then
		for t in $TYPES; do
			compare "top -s $t (heapprof profile of known)" -s "$t" "$T/known.pb.gz" \
				-- -symbolize=none -sample_index="$t" "$T/known.pb.gz"
		done
		raw_totals "$T/known.pb.gz" >"$T/raw"
		bad=""
		while read -r type total; do
			sum=$("$HP" folded -s "$type" "$T/known.pb.gz" | awk '{ s += $NF } END { printf "%d", s }')
			[ "$sum" = "$total" ] || bad="$bad $type:$sum!=$total"
		done <"$T/raw"
		check "$([ -z "$bad" ] && [ -s "$T/raw" ]; echo $?)" \
			"folded sums equal the pprof totals for every type (heapprof profile of known)" "$bad"
		"$HP" folded -s inuse_space "$T/known.pb.gz" >"$T/kf"
		check "$(awk '$0 ~ /;leaf_a [0-9]+$/ { s += $NF } END { exit s != 19200 }' "$T/kf"; echo $?)" \
			"folded: leaf_a holds 19200 bytes in use, as known.c says" "$(grep leaf_a "$T/kf")"
		# A profile whose stack table overflowed: top and leaks say how many
		# samples went to the overflow stack (what pprof counts for
		# hp_stacktab_overflow_frame at rate 1), and nothing when none did.
		(cd "$T" && HEAPPROF_MAX_STACKS=16 "$HP" run -o "$T/ov.pb.gz" --rate 1 -- "$B/tests/progs/known" \
			>/dev/null 2>&1)
		n=$(pprof -top -sample_index=alloc_objects "$T/ov.pb.gz" | awk '$NF == "hp_stacktab_overflow_frame" { print $1 }')
		line="Overflow: $n samples past HEAPPROF_MAX_STACKS, counted under one stack, hp_stacktab_overflow_frame"
		"$HP" top "$T/ov.pb.gz" >"$T/ov.top"
		"$HP" leaks "$T/ov.pb.gz" >"$T/ov.leaks" 2>&1
		check "$([ -n "$n" ] && [ "$n" -gt 0 ] && grep -qxF "$line" "$T/ov.top" && grep -qxF "$line" "$T/ov.leaks" &&
			! "$HP" top "$T/known.pb.gz" | grep -q '^Overflow:'; echo $?)" \
			"HEAPPROF_MAX_STACKS=16: top and leaks say $n samples went to the overflow stack, as pprof counts" \
			"$(head -5 "$T/ov.top")"
	else
		not_ok "heapprof run writes a profile of known" "$(cat "$T/run.err")"
	fi
else
	skip "top and folded on a heapprof profile" "build/libheapprof.so or tests/progs/known not built"
fi

# Frames without a name (libstdc++'s and ld.so's allocations at start-up,
# whose functions have no symbol) are one node per module, "[libstdc++.so.6]",
# and the total of a pprof -proto -diff_base profile is the base's, as pprof
# has them.
if [ -f "$LIB" ] && [ -x "$B/tests/progs/cxx" ]; then
	(cd "$T" && "$HP" run -o "$T/cxx.pb.gz" --rate 1 -- "$B/tests/progs/cxx" >/dev/null 2>"$T/cxxrun.err")
	if pprof -raw "$T/cxx.pb.gz" 2>/dev/null | grep -q '^Samples:'; then
		for t in alloc_space inuse_objects; do
			N=100 compare "top -s $t, frames without a name (heapprof profile of cxx)" -s "$t" "$T/cxx.pb.gz" \
				-- -symbolize=none -sample_index="$t" "$T/cxx.pb.gz"
		done
		check "$(ours -s alloc_space "$T/cxx.pb.gz" | grep -q ' \[libstdc++\.so[.0-9]*\]$'; echo $?)" \
			"an unnamed frame of libstdc++ is the node [libstdc++.so.N]" "$(ours -s alloc_space "$T/cxx.pb.gz")"
	else
		not_ok "heapprof run writes a profile of cxx" "$(cat "$T/cxxrun.err")"
	fi
else
	skip "nameless frames in top" "build/libheapprof.so or tests/progs/cxx not built"
fi
pprof -proto -diff_base="$T/before.pb.gz" "$T/after.pb.gz" >"$T/diffp.pb.gz" 2>/dev/null
pct() { awk '$1 == "flat" { getline; print $2; exit }'; }
ourpct=$("$HP" top --exact -s inuse_space "$T/diffp.pb.gz" | pct)
theirpct=$(pprof -top -sample_index=inuse_space "$T/diffp.pb.gz" | pct)
check "$([ -n "$ourpct" ] && [ "$ourpct" = "$theirpct" ]; echo $?)" \
	"a pprof -diff_base profile: percentages of the base's total, as pprof ($ourpct)" "ours $ourpct, pprof $theirpct"
# The other way round most changes are negative; pprof prints the size of
# each percentage, without its sign.
pprof -proto -diff_base="$T/after.pb.gz" "$T/before.pb.gz" >"$T/diffn.pb.gz" 2>/dev/null
for t in $TYPES; do
	compare "top -s $t of a pprof -diff_base profile that shrank" -s "$t" "$T/diffn.pb.gz" \
		-- -sample_index="$t" "$T/diffn.pb.gz"
done
ourpct=$("$HP" top --exact -s inuse_space "$T/diffn.pb.gz" | pct)
theirpct=$(pprof -top -sample_index=inuse_space "$T/diffn.pb.gz" | pct)
check "$([ -n "$ourpct" ] && [ "$ourpct" = "$theirpct" ]; echo $?)" \
	"a pprof -diff_base profile that shrank: percentages without their sign, as pprof ($ourpct)" \
	"ours $ourpct, pprof $theirpct"
# A -diff_base profile with only negative changes: leaks says its values
# are changes, flame says why its graph is empty (exit 0, a graph written).
pprof -proto -tagfocus=bytes=999999999999 "$T/after.pb.gz" >"$T/none.pb.gz" 2>/dev/null
pprof -proto -diff_base="$T/after.pb.gz" "$T/none.pb.gz" >"$T/neg.pb.gz" 2>/dev/null
"$HP" leaks -n 1 "$T/neg.pb.gz" >"$T/neg.leaks" 2>&1
"$HP" flame -o "$T/neg.svg" "$T/neg.pb.gz" >"$T/neg.out" 2>"$T/neg.err"
frc=$?
check "$(grep -q '^Negative values: a pprof -diff_base profile?' "$T/neg.leaks" && [ "$frc" = 0 ] && [ -s "$T/neg.svg" ] &&
	grep -q "has only negative values (a pprof -diff_base profile?)" "$T/neg.err"; echo $?)" \
	"a -diff_base profile of only losses: leaks and flame say what they show" "$(head -3 "$T/neg.leaks")" "$(cat "$T/neg.err")"
finish
