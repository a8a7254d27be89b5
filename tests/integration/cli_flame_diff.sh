#!/bin/sh
# cli_flame_diff.sh - `heapprof flame`, `flame --base`, `diff` and `leaks
# FILE` on two heap profiles of one Go program at two points (heapgen.go:
# between them main.grow adds exactly 200 x 4096 bytes), checked against the
# known change and against `go tool pprof -top -diff_base`.
. "$(dirname "$0")/cli_common.sh"
need_cli
go_profiles

# well_formed FILE: the SVG parses as XML (python3 is a build dependency).
well_formed() {
	python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$1" 2>"$T/xml.err"
}

# ---- flame ----
run f 30 "$HP" flame -o "$T/after.svg" "$T/after.pb.gz"
if [ "$(rc f)" = 0 ] && [ -s "$T/after.svg" ] && well_formed "$T/after.svg"; then
	ok "flame writes a well-formed SVG"
else
	not_ok "flame writes a well-formed SVG" "$(show f)" "$(cat "$T/xml.err" 2>/dev/null)"
fi
missing=""
for fn in main.grow main.allocA main.rec main.small main.useSmall runtime.main; do
	grep -q "$fn" "$T/after.svg" || missing="$missing $fn"
done
check "$([ -z "$missing" ]; echo $?)" "the SVG has the program's functions" "missing:$missing"
check "$(grep -q 'In-use heap bytes' "$T/after.svg"; echo $?)" "the default title names the sample type"
check "$([ ! -s "$T/f.out" ] && [ ! -s "$T/f.err" ]; echo $?)" "flame -o prints nothing" "$(show f)"

run fi 30 "$HP" flame --inverted --title 'Icicle <&> test' -s alloc_objects -o "$T/inv.svg" "$T/after.pb.gz"
check "$([ "$(rc fi)" = 0 ] && well_formed "$T/inv.svg" && grep -q 'Icicle &lt;&amp;&gt; test' "$T/inv.svg"; echo $?)" \
	"flame --inverted --title (escaped) -s alloc_objects" "$(show fi)"
run ft 30 "$HP" flame --title '' -o "$T/notitle.svg" "$T/after.pb.gz"
check "$([ "$(rc ft)" = 0 ] && grep -q '<text id="title" [^>]*>total ' "$T/notitle.svg"; echo $?)" \
	"flame --title '': the total alone, no dangling ' - '" "$(grep -o '<text id="title"[^<]*' "$T/notitle.svg")"

# Counts are named by what they count: heap objects, a CPU profile's samples.
run fo 30 "$HP" flame -s alloc_objects -o "$T/obj.svg" "$T/after.pb.gz"
run fp 30 "$HP" flame -s samples -o "$T/cpu.svg" "$T/cpu.pb.gz"
check "$([ "$(rc fo)" = 0 ] && grep -q 'total [0-9]* objects' "$T/obj.svg" && [ "$(rc fp)" = 0 ] &&
	grep -q 'total [0-9]* samples' "$T/cpu.svg" && ! grep -q ' objects' "$T/cpu.svg"; echo $?)" \
	"flame names a count by its type: objects for a heap profile, samples for a CPU profile" "$(show fp)"

run fs 30 "$HP" flame -o - "$T/after.pb.gz"
check "$([ "$(rc fs)" = 0 ] && cp "$T/fs.out" "$T/stdout.svg" && well_formed "$T/stdout.svg"; echo $?)" \
	"flame -o - writes the SVG to standard output" "$(show fs)"

mkdir "$T/cwd"
(cd "$T/cwd" && "$HP" flame "$T/after.pb.gz" >"$T/fd.out" 2>"$T/fd.err")
check "$([ "$(cat "$T/fd.out")" = after.svg ] && well_formed "$T/cwd/after.svg"; echo $?)" \
	"flame without -o writes NAME.svg in the current directory and prints the name" \
	"$(cat "$T/fd.out" "$T/fd.err")"
check "$(ls "$T/cwd" | grep -c tmp | grep -qx 0; echo $?)" "no temporary file is left behind"

run fo 30 "$HP" flame -o "$T/nodir/x.svg" "$T/after.pb.gz"
check "$([ "$(rc fo)" = 1 ] && one_line fo && grep -q "cannot create '$T/nodir/x.svg'" "$T/fo.err"; echo $?)" \
	"flame into a missing directory: one-line error" "$(show fo)"

# ---- flame --base ----
run fb 30 "$HP" flame --base "$T/before.pb.gz" -o "$T/diff.svg" "$T/after.pb.gz"
if [ "$(rc fb)" = 0 ] && well_formed "$T/diff.svg" && grep -q main.grow "$T/diff.svg" &&
	grep -q 'Change in in-use heap bytes' "$T/diff.svg"; then
	ok "flame --base writes a well-formed differential SVG with main.grow"
else
	not_ok "flame --base writes a well-formed differential SVG with main.grow" "$(show fb)"
fi
cmp -s "$T/diff.svg" "$T/after.svg"
check "$([ $? = 1 ]; echo $?)" "the differential SVG differs from the plain one"
run fc 30 "$HP" flame --base "$T/cpu.pb.gz" -o "$T/bad.svg" "$T/after.pb.gz"
check "$([ "$(rc fc)" = 1 ] && one_line fc && grep -q "'$T/cpu.pb.gz' has no sample type inuse_space" "$T/fc.err"; echo $?)" \
	"flame --base with a CPU profile: one-line error" "$(show fc)"

# ---- diff ----
run d 30 "$HP" diff --exact "$T/before.pb.gz" "$T/after.pb.gz"
first=$(awk 'started { print $1, $2, $3, $4; exit } $1 == "change" { started = 1 }' "$T/d.out")
check "$([ "$first" = "+819200 0 819200 main.grow" ]; echo $?)" \
	"diff: main.grow first, +819200 bytes (200 x 4096)" "$(cat "$T/d.out")"

tot() { pprof -top -unit=B -nodefraction=0 "$@" | sed -n 's/.* of \([0-9]*\)B total.*/\1/p'; }
bt=$(tot "$T/before.pb.gz")
nt=$(tot "$T/after.pb.gz")
check "$(grep -qx "Base: $T/before.pb.gz, total $bt" "$T/d.out" && grep -qx "New:  $T/after.pb.gz, total $nt" "$T/d.out" &&
	grep -q "^Change: +$((nt - bt)) " "$T/d.out"; echo $?)" \
	"diff: totals and change equal pprof's ($bt -> $nt)" "$(head -4 "$T/d.out")"

# Against pprof -top -diff_base: the changed functions, their "(inline)"
# labels, and their flat change.
for t in inuse_space alloc_objects; do
	"$HP" diff --exact -n 0 -s "$t" "$T/before.pb.gz" "$T/after.pb.gz" |
		awk 'started { d = $1; sub(/^\+/, "", d); name = $4; for (i = 5; i <= NF; i++) name = name " " $i; print d, name }
			$1 == "change" { started = 1 }' >"$T/ours"
	pprof -top -unit=B -nodefraction=0 -edgefraction=0 -sample_index="$t" -diff_base="$T/before.pb.gz" "$T/after.pb.gz" |
		awk 'started && $1 != "0" { f = $1; sub(/B$/, "", f); name = $6; for (i = 7; i <= NF; i++) name = name " " $i
			print f, name }
			$1 == "flat" { started = 1 }' >"$T/theirs"
	if [ -s "$T/ours" ] && cmp -s "$T/ours" "$T/theirs"; then
		ok "diff -s $t: $(wc -l <"$T/ours") changed functions equal pprof -top -diff_base"
	else
		not_ok "diff -s $t: changed functions equal pprof -top -diff_base" "$(diff "$T/ours" "$T/theirs" | head)"
	fi
done

run dn 30 "$HP" diff "$T/after.pb.gz" "$T/before.pb.gz"
check "$(grep -q '^ *-800.00 KiB .*main.grow$' "$T/dn.out" && grep -q '^Change: -' "$T/dn.out"; echo $?)" \
	"diff the other way round: main.grow shrank by 800.00 KiB" "$(cat "$T/dn.out")"
run ds 30 "$HP" diff "$T/after.pb.gz" "$T/after.pb.gz"
check "$(grep -q '^Showing 0 of 0 changed' "$T/ds.out" && grep -q '^Change: 0 B' "$T/ds.out"; echo $?)" \
	"diff of a profile with itself: nothing changed" "$(cat "$T/ds.out")"
run dc 30 "$HP" diff "$T/cpu.pb.gz" "$T/after.pb.gz"
check "$([ "$(rc dc)" = 1 ] && one_line dc; echo $?)" "diff with a CPU profile as base: one-line error" "$(show dc)"

# ---- leaks FILE ----
run l 30 "$HP" leaks -n 1 "$T/after.pb.gz"
if [ "$(rc l)" = 0 ] && grep -q '^800.00 KiB in 200 objects (' "$T/l.out" &&
	grep -q '^    main.grow  .*heapgen.go:[0-9]*$' "$T/l.out" && grep -q '^\.\.\. and [0-9]* more stacks' "$T/l.out"; then
	ok "leaks FILE: largest in-use stack first (main.grow, 200 objects) with file:line"
else
	not_ok "leaks FILE: largest in-use stack first (main.grow, 200 objects) with file:line" "$(cat "$T/l.out" "$T/l.err")"
fi
tb=$(pprof -top -unit=B -nodefraction=0 -sample_index=inuse_objects "$T/after.pb.gz" | sed -n 's/.* of \([0-9]*\)B total.*/\1/p')
check "$(head -1 "$T/l.out" | grep -q " in $tb objects in use from "; echo $?)" \
	"leaks FILE: the header's object count equals pprof's inuse_objects total ($tb)" "$(head -1 "$T/l.out")"
run li 30 "$HP" leaks "$T/after.pb.gz"
check "$(grep -q '^    main.small  .*(inlined)$' "$T/li.out"; echo $?)" "leaks FILE: inlined frames are marked"
finish
