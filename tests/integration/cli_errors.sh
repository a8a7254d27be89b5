#!/bin/sh
# cli_errors.sh - bad input and bad usage never crash or hang the heapprof
# command: each is one line on stderr naming the file and the problem, exit 1
# (2 for usage errors).  Also --help and --version.
. "$(dirname "$0")/cli_common.sh"
need_cli
go_profiles

# Inputs: missing, empty, truncated gzip, random bytes (a piece of an ELF
# file, deterministic), a directory, a legacy text profile, a valid profile
# of another kind (CPU), and a gzip of random bytes.
: >"$T/empty.pb.gz"
head -c 700 "$T/after.pb.gz" >"$T/trunc.pb.gz"
# an uncompressed profile.proto cut in half
gzip -dc "$T/after.pb.gz" >"$T/plain.pb"
head -c "$(($(wc -c <"$T/plain.pb") / 2))" "$T/plain.pb" >"$T/plaintrunc.pb"
head -c 6000 "$HP" | tail -c 4000 >"$T/random.bin"
gzip -c "$T/random.bin" >"$T/randomgz.pb.gz"
printf 'heap profile: 1: 2 [3: 4] @ heap/1048576\n' >"$T/legacy.txt"
mkdir "$T/dir.pb.gz"

# expect TAG FILE STATUS TEXT: every profile-reading command on FILE exits
# STATUS with one stderr line containing TEXT and nothing on stdout.
expect() {
	_what=$1 _file=$2 _st=$3 _text=$4
	for _cmd in top folded flame leaks diff diff2; do
		case $_cmd in
		diff) set -- diff "$_file" "$T/after.pb.gz" ;;
		diff2) set -- diff "$T/before.pb.gz" "$_file" ;;
		flame) set -- flame -o "$T/x.svg" "$_file" ;;
		*) set -- "$_cmd" "$_file" ;;
		esac
		run e 20 "$HP" "$@"
		if [ "$(rc e)" != "$_st" ] || ! one_line e || ! grep -qF -- "$_text" "$T/e.err" || [ -s "$T/e.out" ]; then
			not_ok "$_what: heapprof $* exits $_st with one line containing \"$_text\"" "$(show e)"
			return
		fi
	done
	ok "$_what: every command exits $_st with \"$(cat "$T/e.err")\""
}

expect "missing file" "$T/missing.pb.gz" 1 "cannot open '$T/missing.pb.gz': No such file or directory"
expect "empty file" "$T/empty.pb.gz" 1 "'$T/empty.pb.gz' is empty"
expect "truncated gzip" "$T/trunc.pb.gz" 1 "cannot read '$T/trunc.pb.gz': truncated gzip stream"
expect "plain profile.proto cut in half" "$T/plaintrunc.pb" 1 "'$T/plaintrunc.pb' is not a profile (random bytes, or a profile cut short?)"
expect "random bytes" "$T/random.bin" 1 "'$T/random.bin' is not a profile (random bytes, or a profile cut short?)"
expect "gzipped random bytes" "$T/randomgz.pb.gz" 1 "'$T/randomgz.pb.gz' is not a valid profile"
expect "a directory" "$T/dir.pb.gz" 1 "cannot read '$T/dir.pb.gz': Is a directory"
expect "legacy text profile" "$T/legacy.txt" 1 "is a legacy text profile"
expect "CPU profile" "$T/cpu.pb.gz" 1 \
	"'$T/cpu.pb.gz' has no sample type inuse_space (has: samples/count, cpu/nanoseconds)"

# A small file that describes a huge profile: 20 million empty samples,
# 2 bytes each, 40 MB uncompressed in a 40 KB gzip.  Read naively, each
# cost over a hundred bytes (the 1 GiB limit on the uncompressed size
# allowed 14 GB and more); now it is refused at once, in bounded memory.
python3 - "$T/bomb.pb.gz" <<'PY'
import gzip, sys
st = b"\x0a\x04\x08\x01\x10\x02"               # sample_type {type: 1, unit: 2}
strings = b"\x32\x00\x32\x01x\x32\x01y"        # string_table "", "x", "y"
with open(sys.argv[1], "wb") as f:
    f.write(gzip.compress(st + b"\x12\x00" * 20000000 + strings, 9))
PY
expect "a small file describing 20 million samples" "$T/bomb.pb.gz" 1 "needs more than 369 MiB to read"
python3 - "$HP" "$T/bomb.pb.gz" >"$T/bomb.rss" <<'PY'
import resource, subprocess, sys
subprocess.run([sys.argv[1], "top", sys.argv[2]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
PY
check "$([ "$(cat "$T/bomb.rss")" -lt 200 ]; echo $?)" \
	"that file is refused in under 200 MiB (peak RSS $(cat "$T/bomb.rss") MiB)"

# A 2 KB file whose one sample names a location of 1000 inlined lines
# 20 000 times: 20 million frames.  `flame` ran out of memory drawing it
# and `leaks` printed 340 MB; every command now cuts a stack at 4096
# frames, the root side becoming one frame "[N frames cut]".
python3 - "$T/amp.pb.gz" <<'PY'
import gzip, sys
def v(n):
    b = bytearray()
    while True:
        b.append((n & 0x7f) | (0x80 if n > 0x7f else 0))
        n >>= 7
        if not b[-1] & 0x80:
            return bytes(b)
def fv(k, n): return v(k << 3) + v(n)
def fb(k, d): return v(k << 3 | 2) + v(len(d)) + d
pb = fb(1, fv(1, 1) + fv(2, 2))                                # sample_type inuse_space/bytes
pb += fb(2, fb(1, v(1) * 20000) + fb(2, v(4096)))              # location 1, 20 000 times; 4096 B
pb += fb(4, fv(1, 1) + b"".join(fb(4, fv(1, 1) + fv(2, i)) for i in range(1000)))
pb += fb(5, fv(1, 1) + fv(2, 3))                                # function 1 "f"
for s in (b"", b"inuse_space", b"bytes", b"f"):
    pb += fb(6, s)
open(sys.argv[1], "wb").write(gzip.compress(pb, 9))
PY
run amp.folded 20 "$HP" folded "$T/amp.pb.gz"
check "$([ "$(rc amp.folded)" = 0 ] && [ "$(grep -c . "$T/amp.folded.out")" = 1 ] &&
	[ "$(tr ';' '\n' <"$T/amp.folded.out" | grep -c '^f')" = 4095 ] &&
	grep -q '^\[19995905 frames cut\];f;f;.* 4096$' "$T/amp.folded.out"; echo $?)" \
	"a stack of 20 million frames: folded keeps its 4095 leaf frames and one '[19995905 frames cut]'" "$(show amp.folded)"
run amp.leaks 20 "$HP" leaks "$T/amp.pb.gz"
check "$([ "$(rc amp.leaks)" = 0 ] && [ "$(grep -c '^    f' "$T/amp.leaks.out")" = 4095 ] &&
	grep -q '^    \[19995905 frames cut\]$' "$T/amp.leaks.out"; echo $?)" \
	"... leaks prints 4095 of its frames and how many it cut" "$(show amp.leaks)"
run amp.flame 20 "$HP" flame -o "$T/amp.svg" "$T/amp.pb.gz"
check "$([ "$(rc amp.flame)" = 0 ] && [ "$(wc -c <"$T/amp.svg")" -lt 5000000 ] &&
	grep -q '19995905 frames cut' "$T/amp.svg"; echo $?)" \
	"... flame draws it in under 20 s, an SVG under 5 MB with the cut frame" "$(show amp.flame)"

# A profile followed by a long run of a field unknown to the format (a
# 1 MB file can inflate to 1 GiB of it): read as the profile alone.  The
# passes after the first skip the run; on 1 GiB, 21.7 s before, 5.9 s
# after (docs/cli.md).
python3 - "$T/after.pb.gz" "$T/unk.pb.gz" <<'PY'
import gzip, sys
body = gzip.open(sys.argv[1]).read()
with gzip.open(sys.argv[2], "wb", 6) as f:
    f.write(body)
    chunk = b"\x78\x00" * (1 << 20)                            # field 15, varint 0
    for _ in range(32):
        f.write(chunk)
PY
run unk 60 "$HP" top --exact "$T/unk.pb.gz"
run unkref 20 "$HP" top --exact "$T/after.pb.gz"
check "$([ "$(rc unk)" = 0 ] && [ "$(sed 1d "$T/unk.out")" = "$(sed 1d "$T/unkref.out")" ] &&
	[ "$(pprof -top "$T/unk.pb.gz" | sed 1d)" = "$(pprof -top "$T/after.pb.gz" | sed 1d)" ]; echo $?)" \
	"a profile followed by 64 MiB of an unknown field reads as the profile, to us as to go tool pprof" "$(show unk)"

# A type that is not there, asked for by name.
run st 20 "$HP" top --sample bogus "$T/after.pb.gz"
if [ "$(rc st)" = 1 ] && one_line st && grep -q "has no sample type bogus (has: alloc_objects/count, alloc_space/bytes, inuse_objects/count, inuse_space/bytes)" "$T/st.err"; then
	ok "--sample with an unknown type names the types the profile has"
else
	not_ok "--sample with an unknown type names the types the profile has" "$(show st)"
fi

# An uncompressed profile.proto is read too.
gzip -dc "$T/after.pb.gz" >"$T/plain.pb"
run plain 20 "$HP" top --exact "$T/plain.pb"
run gz 20 "$HP" top --exact "$T/after.pb.gz"
if [ "$(rc plain)" = 0 ] && [ "$(sed 1d "$T/plain.out")" = "$(sed 1d "$T/gz.out")" ]; then
	ok "a plain (not gzipped) profile reads the same as the gzipped one"
else
	not_ok "a plain (not gzipped) profile reads the same as the gzipped one" "$(show plain)"
fi
run stdin 20 sh -c "\"$HP\" top --exact - <\"$T/after.pb.gz\""
check "$([ "$(rc stdin)" = 0 ] && [ "$(sed 1d "$T/stdin.out")" = "$(sed 1d "$T/gz.out")" ]; echo $?)" \
	"'-' reads the profile from standard input" "$(show stdin)"

# Usage errors: exit 2, one line, nothing on stdout.
usage() {
	_what=$1
	shift
	run u 20 "$HP" "$@"
	if [ "$(rc u)" = 2 ] && one_line u && [ ! -s "$T/u.out" ]; then
		ok "usage error exits 2 with one line: $_what ($(cat "$T/u.err"))"
	else
		not_ok "usage error exits 2 with one line: $_what" "$(show u)"
	fi
}
usage "no command"
usage "unknown command" frobnicate
usage "unknown option" top --bogus "$T/after.pb.gz"
usage "unknown short option" top -q "$T/after.pb.gz"
usage "option without its value" top "$T/after.pb.gz" -n
usage "bad number" top -n lots "$T/after.pb.gz"
usage "value for a flag" top --exact=1 "$T/after.pb.gz"
usage "no file" top
usage "two files" folded "$T/after.pb.gz" "$T/before.pb.gz"
usage "diff with one file" diff "$T/after.pb.gz"
usage "diff - - (stdin is read once)" diff - -
usage "run without a command" run
usage "run with a bad rate" run --rate -5 -- true
usage "leaks -- without a command" leaks --
usage "dump without a pid" dump
usage "dump with a bad pid" dump 12abc
usage "dump with a bad timeout" dump --timeout 0 1
usage "a count with a space before it" top -n ' 3' "$T/after.pb.gz"
usage "a count with a plus sign" top -n +3 "$T/after.pb.gz"
usage "a pid with a plus sign" dump +1

# A program given to leaks without --: one line that says what to do.
run lp 20 "$HP" leaks /bin/true
check "$([ "$(rc lp)" = 1 ] && one_line lp && grep -q "is a program, not a profile: to run it, put -- before it" "$T/lp.err"; echo $?)" \
	"leaks PROGRAM: one line, run it with --" "$(show lp)"

# Options before or after the file.
run a 20 "$HP" top -n 3 --exact "$T/after.pb.gz"
run b 20 "$HP" top "$T/after.pb.gz" --exact -n 3
check "$([ "$(rc a)" = 0 ] && cmp -s "$T/a.out" "$T/b.out"; echo $?)" "options may come before or after the file"

# --help for every command, and --version.
for c in run top folded flame diff leaks dump; do
	run h 20 "$HP" "$c" --help
	if [ "$(rc h)" != 0 ] || ! grep -q "^usage: heapprof $c" "$T/h.out"; then
		not_ok "heapprof $c --help prints its usage" "$(show h)"
		continue
	fi
	run h2 20 "$HP" help "$c"
	if ! cmp -s "$T/h.out" "$T/h2.out"; then
		not_ok "heapprof help $c is heapprof $c --help"
		continue
	fi
	ok "heapprof $c --help prints its usage"
done
run v 20 "$HP" --version
check "$([ "$(rc v)" = 0 ] && grep -Eq '^heapprof [0-9]+\.[0-9]+' "$T/v.out"; echo $?)" \
	"heapprof --version prints the version ($(cat "$T/v.out"))"
run hh 20 "$HP" --help
check "$([ "$(rc hh)" = 0 ] && grep -q 'leaks' "$T/hh.out" && grep -q 'dump' "$T/hh.out"; echo $?)" \
	"heapprof --help lists the commands"

# Fuzz regression inputs through the whole command, not just the reader.
n=0
bad=""
for f in "$ROOT"/tests/fuzz/regress/*; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	for c in top folded leaks; do
		run r 20 "$HP" "$c" "$f"
		case $(rc r) in 0|1) ;; *) bad="$bad $c:$(basename "$f"):$(rc r)" ;; esac
	done
done
check "$([ -z "$bad" ]; echo $?)" "$n fuzz regression inputs through top, folded and leaks exit 0 or 1" "$bad"
finish
