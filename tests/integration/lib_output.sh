#!/bin/sh
# lib_output.sh - the profile file: its name, its atomic creation, its format.
#
#  - HEAPPROF_OUT with %p names the file after the pid, and the directory
#    holds exactly that file afterwards (no temporary file left behind);
#  - %n expands to a number;
#  - the file is a complete gzip stream that go tool pprof reads, with the
#    four sample types in order, period type space/bytes, the period equal
#    to the rate, time and duration, the program's mapping with its build ID
#    and has_functions/filenames/line_numbers, every program location named;
#  - without HEAPPROF_OUT nothing is written at exit;
#  - an unwritable HEAPPROF_OUT costs one warning line on stderr and nothing
#    else: same stdout, same exit code, no file;
#  - a relative HEAPPROF_OUT is taken from the directory the program started
#    in, even after it chdir()s elsewhere (tests/progs/chdir.c), also when
#    that directory's name holds a % sign.
. "$(dirname "$0")/lib_common.sh"

need_lib
need_progs known threads chdir

# The pid of a process that runs `env ... known` through exec is $$ of the shell.
mkdir -p "$T/pid.d"
run pid 60 sh -c 'echo $$ >"$1"; exec env LD_PRELOAD="$2" HEAPPROF_RATE=1 HEAPPROF_OUT="$3" "$4"' \
	sh "$T/pid" "$LIB" "$T/pid.d/known.%p.pb.gz" "$PROGS/known"
pid=$(cat "$T/pid")
files=$(ls -A "$T/pid.d" | tr '\n' ' ')
if [ "$files" = "known.$pid.pb.gz " ]; then
	ok "HEAPPROF_OUT known.%p.pb.gz gives known.$pid.pb.gz and nothing else"
else
	not_ok "HEAPPROF_OUT known.%p.pb.gz gives known.$pid.pb.gz and nothing else" "files: $files" "$(show pid)"
fi
if [ -f "$T/pid.d/known.$pid.pb.gz" ]; then
	$CHECK format "$T/pid.d/known.$pid.pb.gz" 1 "$PROGS/known"
fi

# At the default rate the format checks need samples in the program's own
# code: `known` allocates 2.4 MB, which leaves no sample at all with
# probability exp(-2.4 MB / 512 KiB), about 1 % (it happened in CI);
# `threads` allocates 9.6 MB: exp(-18.3), about 1e-8.
mkdir -p "$T/def.d"
preload def 60 HEAPPROF_OUT="$T/def.d/threads.pb.gz" "$PROGS/threads"
if [ -f "$T/def.d/threads.pb.gz" ]; then
	$CHECK format "$T/def.d/threads.pb.gz" 524288 "$PROGS/threads"
else
	not_ok "a profile at the default rate" "$(show def)"
fi

mkdir -p "$T/n.d"
preload n 60 HEAPPROF_OUT="$T/n.d/k.%p.%n.pb.gz" "$PROGS/known"
files=$(ls -A "$T/n.d" | tr '\n' ' ')
if echo "$files" | grep -Eq '^k\.[0-9]+\.[0-9]+\.pb\.gz $'; then
	ok "%p.%n expand to numbers ($files)"
else
	not_ok "%p.%n expand to numbers" "files: $files" "$(show n)"
fi

# Every %n of one name is that dump's number (each took the next one: the
# exit profile was k.1-2, and a second dump's name began with 3).
mkdir -p "$T/nn.d"
preload nn 60 HEAPPROF_OUT="$T/nn.d/k.%n-%n.pb.gz" "$PROGS/known"
files=$(ls -A "$T/nn.d" | tr '\n' ' ')
if [ "$files" = "k.1-1.pb.gz " ]; then
	ok "two %n in one pattern: the same number ($files)"
else
	not_ok "two %n in one pattern: the same number" "files: $files" "$(show nn)"
fi

mkdir -p "$T/none.d"
(cd "$T/none.d" && timeout 60 env LD_PRELOAD="$LIB" "$PROGS/known" >/dev/null 2>&1)
if [ -z "$(ls -A "$T/none.d")" ]; then
	ok "without HEAPPROF_OUT no file is written at exit"
else
	not_ok "without HEAPPROF_OUT no file is written at exit" "files: $(ls -A "$T/none.d" | tr '\n' ' ')"
fi

run plain 60 "$PROGS/known"
preload bad 60 HEAPPROF_OUT="$T/no/such/dir/k.pb.gz" "$PROGS/known"
if cmp -s "$T/plain.out" "$T/bad.out" && [ "$(rc bad)" = "$(rc plain)" ]; then
	ok "unwritable HEAPPROF_OUT: same stdout and exit code"
else
	not_ok "unwritable HEAPPROF_OUT: same stdout and exit code" "$(show bad)"
fi
if [ "$(wc -l <"$T/bad.err")" = 1 ] && grep -q '^heapprof: ' "$T/bad.err"; then
	ok "unwritable HEAPPROF_OUT: one warning line on stderr ($(cat "$T/bad.err"))"
else
	not_ok "unwritable HEAPPROF_OUT: one warning line on stderr, starting 'heapprof: '" "stderr: $(head -c 600 "$T/bad.err")"
fi
if [ ! -e "$T/no" ]; then
	ok "unwritable HEAPPROF_OUT: nothing created"
else
	not_ok "unwritable HEAPPROF_OUT: nothing created" "$(find "$T/no")"
fi

mkdir -p "$T/cw%n/start" "$T/cw%n/data"
(cd "$T/cw%n/start" && env LD_PRELOAD="$LIB" HEAPPROF_OUT=p.%p.pb.gz "$PROGS/chdir" "$T/cw%n/data" >"$T/cw.out" 2>"$T/cw.err")
got_start=$(ls -A "$T/cw%n/start" | sed 's/[0-9][0-9]*/N/')
got_data=$(ls -A "$T/cw%n/data")
if [ "$got_start" = p.N.pb.gz ] && [ -z "$got_data" ] && [ ! -s "$T/cw.err" ]; then
	ok "relative HEAPPROF_OUT after chdir: the profile is in the starting directory"
else
	not_ok "relative HEAPPROF_OUT after chdir: the profile is in the starting directory" \
		"start: $got_start; data: $got_data; stderr: $(cat "$T/cw.err")"
fi

# A HEAPPROF_OUT that exists and is not a regular file is written through:
# a rename would put a regular file in its place (as root, /dev/null
# itself).  A private device node stands in for /dev/null.
wt_same() {        # wt_same TAG WHAT: same stdout and exit code as plain
	if cmp -s "$T/plain.out" "$T/$1.out" && [ "$(rc "$1")" = "$(rc plain)" ]; then
		ok "$2: same stdout and exit code"
	else
		not_ok "$2: same stdout and exit code" "$(show "$1")"
	fi
}
mkdir -p "$T/wt"
if mknod "$T/wt/null" c 1 3 2>/dev/null; then
	preload dev 60 HEAPPROF_RATE=1 HEAPPROF_OUT="$T/wt/null" "$PROGS/known"
	if [ -c "$T/wt/null" ] && [ ! -s "$T/dev.err" ]; then
		ok "HEAPPROF_OUT a character device (1,3): written to, still a device, nothing on stderr"
	else
		not_ok "HEAPPROF_OUT a character device (1,3): written to, still a device" \
			"$(ls -l "$T/wt/null")" "$(show dev)"
	fi
	wt_same dev "HEAPPROF_OUT a device"
else
	echo "ok - HEAPPROF_OUT a character device # skip mknod not permitted"
fi

mkfifo "$T/wt/fifo"
timeout 60 cat "$T/wt/fifo" >"$T/wt/fifo.got" &
reader=$!
preload fifo 60 HEAPPROF_RATE=1 HEAPPROF_OUT="$T/wt/fifo" "$PROGS/known"
wait $reader
if [ -p "$T/wt/fifo" ]; then
	ok "HEAPPROF_OUT a FIFO with a reader: still a FIFO"
else
	not_ok "HEAPPROF_OUT a FIFO with a reader: still a FIFO" "$(ls -l "$T/wt/fifo")"
fi
[ -s "$T/wt/fifo.got" ] && $CHECK exact known "$T/wt/fifo.got" "$SRC/known.c"
wt_same fifo "HEAPPROF_OUT a FIFO with a reader"

# Nobody reads it: the exit must not wait for a reader that never comes.
preload fifo0 20 HEAPPROF_RATE=1 HEAPPROF_OUT="$T/wt/fifo" "$PROGS/known"
wt_same fifo0 "HEAPPROF_OUT a FIFO nobody reads (no hang)"
if [ "$(wc -l <"$T/fifo0.err")" = 1 ] && [ -p "$T/wt/fifo" ]; then
	ok "HEAPPROF_OUT a FIFO nobody reads: one warning ($(cat "$T/fifo0.err")), still a FIFO"
else
	not_ok "HEAPPROF_OUT a FIFO nobody reads: one warning, still a FIFO" "$(show fifo0)"
fi

# A symlink stays a link; the file it names gets the profile.
echo old >"$T/wt/target.pb.gz"
ln -s target.pb.gz "$T/wt/link.pb.gz"
preload link 60 HEAPPROF_RATE=1 HEAPPROF_OUT="$T/wt/link.pb.gz" "$PROGS/known"
if [ -L "$T/wt/link.pb.gz" ]; then
	ok "HEAPPROF_OUT a symlink: still a link"
else
	not_ok "HEAPPROF_OUT a symlink: still a link" "$(ls -l "$T/wt")"
fi
$CHECK exact known "$T/wt/target.pb.gz" "$SRC/known.c"

# /dev/stdout with stdout redirected to a file: nothing is written there.
# (A link of our own to /proc/self/fd/1 stands in for /dev/stdout, which a
# broken library would replace with a regular file, as root.)
ln -s /proc/self/fd/1 "$T/wt/stdout-link"
# The exit dump runs before stdio's last flush, which would write the
# program's buffered output over the profile; the program's output file
# must come out as it would without us.
timeout 60 env LD_PRELOAD="$LIB" HEAPPROF_RATE=1 HEAPPROF_OUT="$T/wt/stdout-link" "$PROGS/known" \
	>"$T/wt/stdout" 2>"$T/wt/stdout.err" </dev/null
if cmp -s "$T/plain.out" "$T/wt/stdout" && [ -L "$T/wt/stdout-link" ] &&
	grep -q "^heapprof: cannot write profile '$T/wt/stdout-link': the program's own stdout or stderr file$" "$T/wt/stdout.err"; then
	ok "HEAPPROF_OUT=/dev/stdout into a file: the file as without us, one warning ($(cat "$T/wt/stdout.err"))"
else
	not_ok "HEAPPROF_OUT=/dev/stdout into a file: the file as without us, one warning" \
		"stderr: $(head -c 300 "$T/wt/stdout.err")"
fi

# Into a pipe the profile goes through whole.
timeout 60 env LD_PRELOAD="$LIB" HEAPPROF_RATE=1 HEAPPROF_OUT="$T/wt/stdout-link" "$PROGS/known" 2>/dev/null </dev/null |
	cat >"$T/wt/pipe"
n=$(wc -c <"$T/plain.out")
tail -c +"$((n + 1))" "$T/wt/pipe" >"$T/wt/pipe.pb.gz"
head -c "$(($(wc -c <"$T/wt/pipe") - n))" "$T/wt/pipe" >"$T/wt/pipe.head.pb.gz"
# the profile comes first (the dump runs before stdio's flush at exit) or last
if gzip -t "$T/wt/pipe.head.pb.gz" 2>/dev/null; then
	$CHECK exact known "$T/wt/pipe.head.pb.gz" "$SRC/known.c"
else
	$CHECK exact known "$T/wt/pipe.pb.gz" "$SRC/known.c"
fi
