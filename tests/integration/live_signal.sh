#!/bin/sh
# live_signal.sh - signal dumps of a running program (issue 3).
#
# tests/progs/live_ctl.c stands for a server: it blocks in read(2) on a FIFO
# and grows only when told to.  Checks:
#   - three SIGUSR2 dumps of a growing program are complete (whole gzip,
#     `go tool pprof` reads them), distinct (%n = 1, 2, 3, then 4 at exit)
#     and non-decreasing in inuse_space; at HEAPPROF_RATE=1 each holds
#     exactly the blocks grown so far (plus at most 64 KiB of libc's own);
#   - the signals landed while the program was blocked in read(): SA_RESTART
#     kept read() from failing with EINTR, stdout and exit status are as
#     without the profiler;
#   - HEAPPROF_SIGNAL=USR1, =SIGUSR1 and =10 dump on SIGUSR1 and leave
#     SIGUSR2 alone (its disposition stays default, checked in /proc);
#   - HEAPPROF_SIGNAL=11, 9, 17, 19, 32 are refused with one warning;
#   - a program that installs its own SIGUSR2 handler keeps it: its handler
#     sees every signal and no profile is written;
#   - a program started with SIGUSR2 ignored keeps ignoring it;
#   - with a pattern without %n, signal dumps get .1, .2 before the
#     extension and the exit profile the pattern's own name;
#   - after main left with pthread_exit, with only a thread left that has
#     not allocated (tests/progs/pexit.c stdin), a signal still dumps, and
#     the process ends when that thread does;
#   - a program that closed every fd above 2 and reopened its own files
#     at 3 and 4 (tests/progs/fds.c) still gets its signal dump, and the
#     profiler neither reads from nor writes to those files;
#   - a program that keeps closing every fd above 2 (close_range) and
#     opening its own file at 3 while signal dumps run
#     (tests/progs/closerange.c): its file is never written to or closed by
#     a dump, whose descriptors are kept high;
#   - a program that exits right after the signal, before the dump was
#     written (tests/progs/sigexit.c, single- and multi-threaded), gets it
#     at exit: the user's heapprof dump is waiting for the file.
# Every wait is bounded; a hang is a failure.
. "$(dirname "$0")/live_common.sh"

need_lib
need_progs live_ctl fds pexit sigexit closerange refuse proctitle

CTL=$PROGS/live_ctl
SIGUSR1=10
SIGUSR2=12

# sig_bit PID FIELD SIGNO: 1 if SIGNO is set in /proc/PID/status FIELD (SigCgt, SigIgn).
sig_bit() {
	_mask=$(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null)
	[ -n "$_mask" ] || { echo "?"; return; }
	echo $(( (0x$_mask >> ($3 - 1)) & 1 ))
}

# ---- three dumps of a growing program, exact at rate 1 ----
d=$T/grow
mkdir -p "$d"
bg grow 60 3 HEAPPROF_RATE=1 HEAPPROF_OUT="$d/g.%p.%n.pb.gz" "$CTL"
wait_line "$T/grow.out" '^ready$' 10
pid=$(bg_pid grow)
step_ok=1
for k in 1 2 3; do
	echo "grow 2048" >&3
	if ! wait_line "$T/grow.out" "^grown $((k * 2048))\$" 10; then
		step_ok=0
		break
	fi
	# The program is back in read(): the signal lands in the system call.
	sleep 0.1
	kill -USR2 "$pid"
	if ! wait_files "$d" "g.$pid.$k.pb.gz" 1 10; then
		step_ok=0
		break
	fi
done
echo pid >&3
wait_line "$T/grow.out" "^pid $pid\$" 10 || step_ok=0
exec 3>&-
bg_wait grow 20
if [ "$step_ok" = 1 ] && [ "$(rc grow)" = 0 ]; then
	ok "three SIGUSR2 dumps written while the program runs, exit 0"
else
	not_ok "three SIGUSR2 dumps written while the program runs, exit 0" "$(show grow)" "files: $(ls "$d")"
fi
want="ready
grown 2048
grown 4096
grown 6144
pid $pid
bye"
if [ "$(cat "$T/grow.out")" = "$want" ]; then
	ok "signals during a blocked read(): no EINTR, stdout unchanged"
else
	not_ok "signals during a blocked read(): no EINTR, stdout unchanged" "got: $(cat "$T/grow.out")"
fi
if [ ! -s "$T/grow.err" ]; then
	ok "stderr empty (HEAPTRACE unset)"
else
	not_ok "stderr empty (HEAPTRACE unset)" "$(head -c 600 "$T/grow.err")"
fi
got=$(cd "$d" && ls | tr '\n' ' ')
want="g.$pid.1.pb.gz g.$pid.2.pb.gz g.$pid.3.pb.gz g.$pid.4.pb.gz "
if [ "$got" = "$want" ]; then
	ok "%n increments: dumps 1, 2, 3 and the exit dump 4, no temporary files"
else
	not_ok "%n increments: dumps 1, 2, 3 and the exit dump 4, no temporary files" "want: $want" "got:  $got"
fi
if bad=$($PP check "$d"/*.pb.gz); then
	ok "every dump is a complete profile go tool pprof reads"
else
	not_ok "every dump is a complete profile go tool pprof reads" "$bad"
fi
$PP inuse "$d"/g.$pid.[1234].pb.gz >"$T/grow.inuse" 2>&1
if awk -v mib=1048576 '
	{ v[NR] = $2 }
	END {
		if (NR != 4) { print "expected 4 profiles, got " NR; exit 1 }
		for (k = 1; k <= 4; k++) {
			want = (k < 4 ? k : 3) * 2 * mib
			if (v[k] < want || v[k] > want + 65536) {
				printf "dump %d: inuse_space %d, want %d .. %d\n", k, v[k], want, want + 65536
				bad = 1
			}
			if (k > 1 && v[k] < v[k - 1]) { printf "dump %d decreased\n", k; bad = 1 }
		}
		exit bad
	}' "$T/grow.inuse" >"$T/grow.why"; then
	ok "inuse_space non-decreasing, exactly the grown blocks: $(awk '{ printf "%s ", $2 }' "$T/grow.inuse")"
else
	not_ok "inuse_space non-decreasing, exactly the grown blocks" "$(cat "$T/grow.why")" "$(cat "$T/grow.inuse")"
fi
if cmp -s "$d/g.$pid.1.pb.gz" "$d/g.$pid.2.pb.gz" || cmp -s "$d/g.$pid.2.pb.gz" "$d/g.$pid.3.pb.gz"; then
	not_ok "the three dumps are distinct files"
else
	ok "the three dumps are distinct files"
fi

# ---- a pattern without %n: dumps get .%n, the exit profile the name ----
d=$T/non
mkdir -p "$d"
bg non 30 8 HEAPPROF_OUT="$d/n.%p.pb.gz" "$CTL"
wait_line "$T/non.out" '^ready$' 10
pid=$(bg_pid non)
kill -USR2 "$pid"
wait_files "$d" "n.$pid.1.pb.gz" 1 10
kill -USR2 "$pid"
wait_files "$d" "n.$pid.2.pb.gz" 1 10
exec 8>&-
bg_wait non 20
got=$(cd "$d" && ls | tr '\n' ' ')
want="n.$pid.1.pb.gz n.$pid.2.pb.gz n.$pid.pb.gz "
if [ "$(rc non)" = 0 ] && [ "$got" = "$want" ]; then
	ok "HEAPPROF_OUT without %n: signal dumps .1 and .2, the exit profile under the plain name"
else
	not_ok "HEAPPROF_OUT without %n: signal dumps .1 and .2, the exit profile under the plain name" \
		"want: $want" "got:  $got" "$(show non)"
fi

# ---- HEAPPROF_SIGNAL by name and by number, default rate ----
for val in USR1 SIGUSR1 10; do
	d=$T/sig-$val
	mkdir -p "$d"
	bg usr1 30 4 HEAPPROF_SIGNAL=$val HEAPPROF_OUT="$d/u.%p.%n.pb.gz" "$CTL"
	wait_line "$T/usr1.out" '^ready$' 10
	pid=$(bg_pid usr1)
	echo "grow 4096" >&4
	wait_line "$T/usr1.out" '^grown 4096$' 10
	cgt1=$(sig_bit "$pid" SigCgt $SIGUSR1)
	cgt2=$(sig_bit "$pid" SigCgt $SIGUSR2)
	kill -USR1 "$pid"
	if wait_files "$d" "u.$pid.1.pb.gz" 1 10 && [ "$cgt1" = 1 ] && [ "$cgt2" = 0 ]; then
		ok "HEAPPROF_SIGNAL=$val: SIGUSR1 dumps, SIGUSR2 keeps its default action"
	else
		not_ok "HEAPPROF_SIGNAL=$val: SIGUSR1 dumps, SIGUSR2 keeps its default action" \
			"SigCgt USR1=$cgt1 USR2=$cgt2; files: $(ls "$d")" "$(show usr1)"
	fi
	exec 4>&-
	bg_wait usr1 20
	if [ "$(rc usr1)" = 0 ] && bad=$($PP check "$d"/*.pb.gz) && [ "$(ls "$d" | wc -l)" = 2 ]; then
		ok "HEAPPROF_SIGNAL=$val: signal dump and exit dump complete, exit 0"
	else
		not_ok "HEAPPROF_SIGNAL=$val: signal dump and exit dump complete, exit 0" "$bad" "$(show usr1)"
	fi
	rm -f "$T"/usr1.*
done

# Numbers of signals outside the list are refused as their names are: a
# fault signal caught by us made a crashing program spin, 9 and 19 cannot
# be caught, 17 dumped at each child's exit, 32 is glibc's own.  One
# warning; the program keeps that signal's default action and the dumps
# keep SIGUSR2.
for val in 11 9 17 19 32; do
	bg badsig 30 4 HEAPPROF_SIGNAL=$val HEAPPROF_OUT="$T/badsig.%p.%n.pb.gz" "$CTL"
	wait_line "$T/badsig.out" '^ready$' 10
	pid=$(bg_pid badsig)
	cgt=$(sig_bit "$pid" SigCgt "$val")
	cgt2=$(sig_bit "$pid" SigCgt $SIGUSR2)
	exec 4>&-
	bg_wait badsig 20
	if [ "$cgt" = 0 ] && [ "$cgt2" = 1 ] && [ "$(rc badsig)" = 0 ] &&
		[ "$(cat "$T/badsig.err")" = "heapprof: ignoring bad value of 'HEAPPROF_SIGNAL'" ]; then
		ok "HEAPPROF_SIGNAL=$val refused: one warning, signal $val not caught, SIGUSR2 kept"
	else
		not_ok "HEAPPROF_SIGNAL=$val refused: one warning, signal $val not caught, SIGUSR2 kept" \
			"SigCgt $val=$cgt USR2=$cgt2" "$(show badsig)"
	fi
	rm -f "$T"/badsig.*
done
(trap '' USR1; exec env LD_PRELOAD="$LIB" HEAPPROF_SIGNAL=USR1 true) 2>"$T/ign.err"
check_ign=$(cat "$T/ign.err")
if [ "$check_ign" = "heapprof: HEAPPROF_SIGNAL is ignored in this process (inherited): signal dumps are off" ]; then
	ok "HEAPPROF_SIGNAL=USR1 started ignored: the warning says ignored, not handled"
else
	not_ok "HEAPPROF_SIGNAL=USR1 started ignored: the warning says ignored, not handled" "stderr: $check_ign"
fi

# ---- the program installs its own SIGUSR2 handler: the program wins ----
d=$T/own
mkdir -p "$d"
bg own 30 5 HEAPPROF_OUT="$d/o.%p.%n.pb.gz" "$CTL"
wait_line "$T/own.out" '^ready$' 10
pid=$(bg_pid own)
echo "grow 1024" >&5
echo "handler $SIGUSR2" >&5
wait_line "$T/own.out" "^handler $SIGUSR2\$" 10
for i in 1 2 3; do
	kill -USR2 "$pid"
	sleep 0.1
done
echo count >&5
wait_line "$T/own.out" '^caught ' 10
caught=$(sed -n 's/^caught //p' "$T/own.out")
sleep 0.3
nfiles=$(ls "$d" | wc -l)
if [ "$caught" = 3 ] && [ "$nfiles" = 0 ]; then
	ok "own SIGUSR2 handler installed later wins: it saw 3 of 3 signals, no dump"
else
	not_ok "own SIGUSR2 handler installed later wins: it saw 3 of 3 signals, no dump" \
		"caught=$caught files=$nfiles" "$(show own)"
fi
exec 5>&-
bg_wait own 20
if [ "$(rc own)" = 0 ] && [ "$(ls "$d")" = "o.$pid.1.pb.gz" ]; then
	ok "own handler: program exits 0 and writes its exit profile"
else
	not_ok "own handler: program exits 0 and writes its exit profile" "files: $(ls "$d")" "$(show own)"
fi

# ---- SIGUSR2 ignored when the program starts: it stays ignored ----
d=$T/ign
mkdir -p "$d"
bg ign 30 6 HEAPPROF_OUT="$d/i.%p.%n.pb.gz" sh -c "trap '' USR2; exec \"\$0\"" "$CTL"
wait_line "$T/ign.out" '^ready$' 10
pid=$(bg_pid ign)
ign=$(sig_bit "$pid" SigIgn $SIGUSR2)
kill -USR2 "$pid"
sleep 0.3
echo count >&6
wait_line "$T/ign.out" '^caught ' 10
exec 6>&-
bg_wait ign 20
if [ "$ign" = 1 ] && [ "$(rc ign)" = 0 ] && [ "$(ls "$d")" = "i.$pid.1.pb.gz" ] && [ ! -s "$T/ign.err" ]; then
	ok "SIGUSR2 ignored at start stays ignored: no dump, program unharmed, nothing on stderr (default signal)"
else
	not_ok "SIGUSR2 ignored at start stays ignored: no dump, program unharmed, nothing on stderr (default signal)" \
		"SigIgn=$ign files: $(ls "$d")" "$(show ign)"
fi

# ---- main is gone, one thread that never allocated is left ----
d=$T/pexit
mkdir -p "$d"
bg pexit 30 7 HEAPPROF_OUT="$d/x.%p.%n.pb.gz" "$PROGS/pexit" stdin
wait_line "$T/pexit.out" '^allocating worker done$' 10
pid=$(bg_pid pexit)
kill -USR2 "$pid"
wait_files "$d" "x.$pid.1.pb.gz" 1 10
exec 7>&-
bg_wait pexit 20
if [ "$(rc pexit)" = 0 ] && [ "$(ls "$d" | tr '\n' ' ')" = "x.$pid.1.pb.gz x.$pid.2.pb.gz " ] &&
	[ "$(sed -n 3p "$T/pexit.out")" = "quiet worker done" ]; then
	ok "main gone, a thread that never allocated left: the signal dumps, the process ends with it, exit 0"
else
	not_ok "main gone, a thread that never allocated left: the signal dumps, the process ends with it, exit 0" \
		"files: $(ls "$d" | tr '\n' ' ')" "$(show pexit)"
fi

# ---- main is gone: the dumper thread's warnings still reach stderr ----
# The dumper thread keeps its descriptors in a table of its own
# (libheapprof/fdtab.c) and fetches the program's stderr from another of its
# threads when main's table has gone with main.
d=$T/pexitw
bg pexitw 30 7 HEAPPROF_OUT="$d/x.%n.pb.gz" "$PROGS/pexit" stdin
wait_line "$T/pexitw.out" '^allocating worker done$' 10
kill -USR2 "$(bg_pid pexitw)"
warned=0
wait_line "$T/pexitw.err" "cannot write profile '$d/x\.1\.pb\.gz'" 10 && warned=1
exec 7>&-
bg_wait pexitw 20
if [ "$warned" = 1 ] && [ "$(rc pexitw)" = 0 ] && [ "$(sed -n 3p "$T/pexitw.out")" = "quiet worker done" ]; then
	ok "main gone: the signal dump's warning (no such directory) reaches stderr, exit 0"
else
	not_ok "main gone: the signal dump's warning (no such directory) reaches stderr, exit 0" "$(show pexitw)"
fi

# ---- the dumper thread holds none of the program's files ----
# A table of its own that kept copies of the program's descriptors would
# keep a pipe the program closes open: its reader would never see the end.
d=$T/eof
mkdir -p "$d"
rm -f "$T/eof.in"
mkfifo "$T/eof.in"
exec 8<>"$T/eof.in"
(
	for _c in 3 4 5 6 7 9; do eval "exec $_c>&-"; done
	env LD_PRELOAD="$LIB" HEAPPROF_OUT="$d/e.%n.pb.gz" "$CTL" <"$T/eof.in" 2>"$T/eof.err" 8>&- |
		{ cat >"$T/eof.out"; echo eof >"$T/eof.mark"; }
) 8>&- &
eofsh=$!
echo thread >&8
echo pid >&8
wait_line "$T/eof.out" '^pid ' 10
pid=$(sed -n 's/^pid //p' "$T/eof.out")
kill -USR2 "$pid"
wait_files "$d" 'e.1.pb.gz' 1 10
echo "close 1" >&8
seen=0
wait_line "$T/eof.mark" '^eof$' 5 && kill -0 "$pid" 2>/dev/null && seen=1
exec 8>&-
wait "$eofsh"
if [ "$seen" = 1 ] && [ -s "$d/e.1.pb.gz" ] && [ -s "$d/e.2.pb.gz" ] && [ ! -s "$T/eof.err" ]; then
	ok "the program closes its stdout pipe while the dumper thread runs: the reader sees its end at once"
else
	not_ok "the program closes its stdout pipe while the dumper thread runs: the reader sees its end at once" \
		"eof seen while running: $seen; files: $(ls "$d" | tr '\n' ' ')" "stdout: $(cat "$T/eof.out")" \
		"stderr: $(head -c 300 "$T/eof.err")"
fi

# ---- a program that writes its process title over the environment ----
# (tests/progs/proctitle.c, as nginx, redis and sshd do): HEAPPROF_OUT was
# read from the environment's memory at each dump, so the title named the
# file, in the program's own directory.
d=$T/title
mkdir -p "$d" "$T/title.cwd"
bg title 30 7 HEAPPROF_OUT="$d/t.%n.pb.gz" "$PROGS/proctitle" "$T/title.cwd"
wait_line "$T/title.out" '^ready$' 10
kill -USR2 "$(bg_pid title)"
wait_files "$d" 't.1.pb.gz' 1 10
exec 7>&-
bg_wait title 20
if [ "$(rc title)" = 0 ] && [ "$(ls "$d" | tr '\n' ' ')" = "t.1.pb.gz t.2.pb.gz " ] && [ -z "$(ls -A "$T/title.cwd")" ] &&
	[ ! -s "$T/title.err" ]; then
	ok "process title over the environment: the signal and exit dumps under HEAPPROF_OUT, nothing in the program's directory"
else
	not_ok "process title over the environment: the signal and exit dumps under HEAPPROF_OUT, nothing in the program's directory" \
		"files: $(ls "$d" | tr '\n' ' '); its directory: $(ls -A "$T/title.cwd" | head -3)" "$(show title)"
fi

# ---- pidfd_getfd refused (Docker's default seccomp profile) ----
# Then the dumper thread cannot reach the program's descriptors from a table
# of its own, so it stays in the program's: a dump whose HEAPPROF_OUT is a
# link to the program's own stdout file is still refused, with the warning
# on stderr, and the program's output is untouched.
d=$T/nogetfd
mkdir -p "$d"
ln -s /proc/self/fd/1 "$d/n.1.pb.gz"
bg nogetfd 30 7 HEAPPROF_OUT="$d/n.%n.pb.gz" "$PROGS/refuse" 438 "$CTL"
echo thread >&7
echo pid >&7
wait_line "$T/nogetfd.out" '^pid ' 10
kill -USR2 "$(sed -n 's/^pid //p' "$T/nogetfd.out")"
warned=0
wait_line "$T/nogetfd.err" "cannot write profile '$d/n\.1\.pb\.gz': the program's own stdout or stderr file" 10 &&
	warned=1
echo exit >&7
exec 7>&-
bg_wait nogetfd 20
if [ "$warned" = 1 ] && [ "$(rc nogetfd)" = 0 ] && [ "$(tr '\n' ' ' <"$T/nogetfd.out")" = "ready thread pid $(sed -n 's/^pid //p' "$T/nogetfd.out") bye " ]; then
	ok "pidfd_getfd refused: a dump onto the program's own stdout file is refused with a warning, its output untouched"
else
	not_ok "pidfd_getfd refused: a dump onto the program's own stdout file is refused with a warning, its output untouched" \
		"$(show nogetfd)"
fi

# ---- a daemon that closed every fd and reopened its own ----
d=$T/fds
mkdir -p "$d"
preload fds 30 HEAPPROF_OUT="$d/f.%p.%n.pb.gz" "$PROGS/fds" signal
files=$(cd "$d" && ls | sed 's/^f\.[0-9]*\./f./' | tr '\n' ' ')
if [ "$(rc fds)" = 0 ] && ! grep -q FAIL "$T/fds.out" && [ "$files" = "f.1.pb.gz f.2.pb.gz " ] &&
	bad=$($PP check "$d"/*.pb.gz); then
	ok "after the program closed every fd and reopened its own: its files untouched, signal dump and exit dump written"
else
	not_ok "after the program closed every fd and reopened its own: its files untouched, signal dump and exit dump written" \
		"files: $files $bad" "$(show fds)"
fi

# ---- a program that closes every fd above 2 again and again ----
d=$T/cr
mkdir -p "$d"
(cd "$d" && exec env LD_PRELOAD="$LIB" "$PROGS/closerange" 2 "$d/data" >"$T/cr.out" 2>"$T/cr.err") &
pid=$!
sleep 0.2
while kill -USR2 "$pid" 2>/dev/null; do sleep 0.01; done
wait "$pid"
crrc=$?
ndumps=$(ls "$d" | grep -c '^heapprof\..*\.pb\.gz$')
if [ "$crrc" = 0 ] && [ "$(cat "$T/cr.out")" = "bad 0" ] && [ "$ndumps" -ge 10 ]; then
	ok "close_range and a file of its own at fd 3 during $ndumps signal dumps: the program's file untouched"
else
	not_ok "close_range and a file of its own at fd 3 during signal dumps: the program's file untouched" \
		"exit $crrc, $(cat "$T/cr.out"), $ndumps dumps" "$(head -c 300 "$T/cr.err")"
fi

# ---- a dump asked for just before exit ----
for mode in 1 2; do
	d=$T/se$mode
	mkdir -p "$d"
	bad=0
	for i in 1 2 3 4 5; do
		preload "se$mode" 30 HEAPPROF_OUT="$d/s$i.%p.pb.gz" "$PROGS/sigexit" $([ "$mode" = 2 ] && echo thread)
		f=$(ls "$d" | grep "^s$i\.[0-9]*\.1\.pb\.gz$")
		{ [ "$(rc "se$mode")" = 0 ] && [ -n "$f" ] && $PP check "$d/$f" >/dev/null; } || bad=$((bad + 1))
	done
	if [ "$bad" = 0 ]; then
		ok "a dump signal right before exit ($mode thread$([ "$mode" = 2 ] && echo s)): the dump is written at exit, 5 runs of 5"
	else
		not_ok "a dump signal right before exit ($mode thread$([ "$mode" = 2 ] && echo s)): the dump is written at exit" \
			"$bad of 5 runs without it; files: $(ls "$d" | tr '\n' ' ')" "$(show "se$mode")"
	fi
done

exit $FAILED
