#!/bin/sh
# cli_dump.sh - `heapprof dump PID`: refuses a pid that does not exist or
# has no libheapprof loaded; against a stand-in target (gen/fake_dumper.c
# with an empty libheapprof.so preloaded) it follows the target's
# HEAPPROF_OUT and HEAPPROF_SIGNAL, waits for the new file, validates it,
# copies it with -o and times out cleanly; with the real library (when
# built) it takes live dumps of a running program, finding the settings in
# the library's beacon when the program wrote over its environment.
. "$(dirname "$0")/cli_common.sh"
need_cli
go_profiles
fake_lib

FAKE=$T/fake_dumper
if ! ${CC:-cc} -O1 -D_GNU_SOURCE -pthread -o "$FAKE" "$GEN/fake_dumper.c"; then
	not_ok "cc builds tests/integration/gen/fake_dumper.c"
	exit 1
fi

# A pid that is not in use: the highest one the kernel could give.
max=$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 32768)
pid=$((max - 1))
while [ -e "/proc/$pid" ]; do pid=$((pid - 1)); done
run n 20 "$HP" dump "$pid"
check "$([ "$(rc n)" = 1 ] && one_line n && grep -qx "heapprof: no process with pid $pid" "$T/n.err"; echo $?)" \
	"dump of a pid that does not exist: one-line error" "$(show n)"

sleep 30 &
spid=$!
run s 20 "$HP" dump "$spid"
check "$([ "$(rc s)" = 1 ] && one_line s && grep -qx "heapprof: process $spid does not have libheapprof loaded" "$T/s.err"; echo $?)" \
	"dump of a process without the library: one-line error" "$(show s)"
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null

# The library is a mapped file named libheapprof.so, not any path with the
# word in it: refused at once, not after waiting for a handler.
mkdir -p "$T/libheapprof-x"
cp "$(command -v sleep)" "$T/libheapprof-x/sleep"
"$T/libheapprof-x/sleep" 30 &
spid=$!
wait_exec_done() { for _i in $(seq 100); do grep -q 'libheapprof-x/sleep' "/proc/$1/maps" 2>/dev/null && return; sleep 0.05; done; }
wait_exec_done "$spid"
run sx 20 "$HP" dump --timeout 5 "$spid"
check "$([ "$(rc sx)" = 1 ] && one_line sx && grep -qx "heapprof: process $spid does not have libheapprof loaded" "$T/sx.err"; echo $?)" \
	"dump of a program in a directory named libheapprof-x: no library, at once" "$(show sx)"
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null

# Another user's process: as root, look at our own sleep as "nobody".
sleep 30 &
spid=$!
if [ "$(id -u)" = 0 ]; then
	as_other="setpriv --reuid=65534 --regid=65534 --clear-groups"
else
	as_other=""
	kill "$spid"
	spid=1
fi
if [ -n "$as_other" ] && ! $as_other test -x "$HP" 2>/dev/null; then
	skip "dump of another user's process is refused" "cannot run $HP as another user here"
else
	run p 20 $as_other "$HP" dump "$spid"
	check "$([ "$(rc p)" = 1 ] && one_line p && grep -q "process $spid: Permission denied (it belongs to another user?)" "$T/p.err"; echo $?)" \
		"dump of another user's process: one-line permission error" "$(show p)"
fi
if [ "$spid" != 1 ]; then
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
fi

# start_fake NAME MODE SIGNAL [VAR=VALUE...]: runs the stand-in in $T/NAME,
# waits until its handler is installed; sets FPID.
start_fake() {
	_dir=$T/$1 _mode=$2 _sig=$3
	shift 3
	mkdir -p "$_dir"
	# "-u NAME" last among the arguments unsets NAME in the target's environment
	_unset=
	case "$*" in *" -u "*) _unset=${*##* -u }; _rest=${*% -u *}; set -- $_rest ;; esac
	(cd "$_dir" && exec env ${_unset:+-u "$_unset"} LD_PRELOAD="$FAKE_LIB" "$@" "$FAKE" "$_mode" "$_sig" \
		"$T/after.pb.gz" >"$_dir/ready") &
	FPID=$!
	for _i in $(seq 100); do
		grep -q ready "$_dir/ready" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
stop_fake() {
	kill "$FPID" 2>/dev/null
	wait "$FPID" 2>/dev/null
}

start_fake d copy USR2 HEAPPROF_OUT="$T/d/srv.%p.%n.pb.gz"
run d1 20 "$HP" dump "$FPID"
check "$([ "$(rc d1)" = 0 ] && [ "$(cat "$T/d1.out")" = "$T/d/srv.$FPID.1.pb.gz" ] && [ ! -s "$T/d1.err" ]; echo $?)" \
	"dump follows HEAPPROF_OUT and prints the new file" "$(show d1)"
run d2 20 "$HP" dump "$FPID"
check "$([ "$(rc d2)" = 0 ] && [ "$(cat "$T/d2.out")" = "$T/d/srv.$FPID.2.pb.gz" ]; echo $?)" \
	"a second dump finds the next file, not the old one" "$(show d2)"
run d3 20 "$HP" dump -o "$T/copy.pb.gz" "$FPID"
check "$([ "$(rc d3)" = 0 ] && [ "$(cat "$T/d3.out")" = "$T/copy.pb.gz" ] && cmp -s "$T/copy.pb.gz" "$T/after.pb.gz"; echo $?)" \
	"dump -o copies the profile and prints the copy's name" "$(show d3)"
run d4 20 "$HP" dump "$FPID" -o "$T/nodir/copy.pb.gz"
check "$([ "$(rc d4)" = 1 ] && one_line d4 && grep -q "cannot create '$T/nodir/copy.pb.gz'" "$T/d4.err"; echo $?)" \
	"dump -o into a missing directory: one-line error" "$(show d4)"
stop_fake

start_fake u copy USR1 HEAPPROF_SIGNAL=SIGUSR1
run u 20 "$HP" dump "$FPID"
check "$([ "$(rc u)" = 0 ] && [ "$(cat "$T/u.out")" = "$T/u/heapprof.$FPID.1.pb.gz" ]; echo $?)" \
	"HEAPPROF_SIGNAL=SIGUSR1 is used; default HEAPPROF_OUT is relative to the target's directory" "$(show u)"
stop_fake

# A relative HEAPPROF_OUT without PWD in the target's environment (a
# supervisor, not a shell, started it): where the library started is not
# known here, and the error says so instead of blaming the signal.
start_fake np ignore USR2 HEAPPROF_OUT=rel.%p.%n.pb.gz -u PWD
run np 20 "$HP" dump --timeout 1 "$FPID"
check "$([ "$(rc np)" = 1 ] && one_line np &&
	grep -q "its HEAPPROF_OUT 'rel.%p.%n.pb.gz' is relative to the directory it started in, which is unknown here (no PWD in its environment); give HEAPPROF_OUT an absolute path" "$T/np.err" &&
	grep -q "in '$T/np/rel.$FPID.\*.pb.gz'" "$T/np.err"; echo $?)" \
	"relative HEAPPROF_OUT, no PWD: the error says the start directory is unknown, the pattern expanded" "$(show np)"
stop_fake

start_fake i ignore USR2 HEAPPROF_OUT="$T/i/x.%p.%n.pb.gz"
t0=$(date +%s)
run i 20 "$HP" dump --timeout 0.5 "$FPID"
t1=$(date +%s)
check "$([ "$(rc i)" = 1 ] && one_line i && grep -q "no new profile from process $FPID after 0.5 s" "$T/i.err" &&
	[ $((t1 - t0)) -le 3 ]; echo $?)" "no profile within --timeout: one-line error, on time" "$(show i)"
stop_fake

start_fake g garbage USR2 HEAPPROF_OUT="$T/g/x.%p.%n.pb.gz"
run g 20 "$HP" dump --timeout 1 "$FPID"
check "$([ "$(rc g)" = 1 ] && one_line g && grep -q "is not a profile" "$T/g.err"; echo $?)" \
	"a new file that is not a profile is reported, not printed" "$(show g)"
stop_fake

# A thread id (as top -H shows) stands for its process: the process takes
# the signal and names the file with its own pid.
start_fake th thread USR2 HEAPPROF_OUT="$T/th/t.%p.%n.pb.gz"
tid=$(awk '{ print $2 }' "$T/th/ready")
run th 20 "$HP" dump --timeout 5 "$tid"
check "$([ "$(rc th)" = 0 ] && [ "$(cat "$T/th.out")" = "$T/th/t.$FPID.1.pb.gz" ] &&
	grep -qx "heapprof: $tid is a thread of process $FPID: dumping process $FPID" "$T/th.err"; echo $?)" \
	"dump of a thread id dumps its process" "$(show th)"
stop_fake

# HEAPPROF_RATE as the library reads it: 00 is 0, off.
start_fake r0 copy USR2 HEAPPROF_RATE=00
run r0 20 "$HP" dump --timeout 5 "$FPID"
check "$([ "$(rc r0)" = 1 ] && one_line r0 && grep -q 'has the profiler turned off' "$T/r0.err"; echo $?)" \
	"HEAPPROF_RATE=00 in the target: turned off, said at once" "$(show r0)"
stop_fake

start_fake x copy USR2 HEAPPROF_SIGNAL=0
run x 20 "$HP" dump "$FPID"
check "$([ "$(rc x)" = 1 ] && one_line x && grep -q 'signal dumps turned off' "$T/x.err"; echo $?)" \
	"HEAPPROF_SIGNAL=0 in the target: one-line error" "$(show x)"
stop_fake

# A signal nothing catches (the stand-in handles USR2 only) is never sent:
# its default action would end the target.
start_fake k copy USR2 HEAPPROF_SIGNAL=USR1 HEAPPROF_OUT="$T/k/x.%p.%n.pb.gz"
run k 20 "$HP" dump --timeout 0.5 "$FPID"
check "$([ "$(rc k)" = 1 ] && one_line k && grep -q "process $FPID does not catch SIGUSR1 after 0.5 s" "$T/k.err" &&
	kill -0 "$FPID"; echo $?)" \
	"a signal the target does not catch: one-line error, not sent, the target lives" "$(show k)"
stop_fake

# ... nor one it ignores (an ignored signal stays ignored across exec).
env LD_PRELOAD="$FAKE_LIB" sh -c 'trap "" USR2; exec sleep 30' &
ipid=$!
for _i in $(seq 100); do
	[ "$(cat "/proc/$ipid/comm" 2>/dev/null)" = sleep ] && grep -q libheapprof "/proc/$ipid/maps" && break
	sleep 0.05
done
run ig 20 "$HP" dump "$ipid"
check "$([ "$(rc ig)" = 1 ] && one_line ig && grep -q "process $ipid ignores SIGUSR2, heapprof's dump signal" "$T/ig.err" &&
	kill -0 "$ipid"; echo $?)" \
	"a target that ignores the signal: one-line error" "$(show ig)"
kill "$ipid" 2>/dev/null
wait "$ipid" 2>/dev/null

# The real library: live dumps of a running program.
if [ -f "$LIB" ]; then
	mkdir -p "$T/live"
	env LD_PRELOAD="$LIB" HEAPPROF_RATE=1 HEAPPROF_OUT="$T/live/sleep.%p.%n.pb.gz" sleep 30 &
	lpid=$!
	# Only until the library is mapped, not until it has started: the
	# CLI must wait for the handler rather than kill the program.
	wait_mapped "$lpid"
	run l1 20 "$HP" dump "$lpid"
	f1=$(cat "$T/l1.out")
	run l2 20 "$HP" dump "$lpid" -o "$T/live/second.pb.gz"
	if [ "$(rc l1)" = 0 ] && [ -f "$f1" ] && pprof -raw "$f1" | grep -q '^Samples:' &&
		[ "$(rc l2)" = 0 ] && pprof -raw "$T/live/second.pb.gz" | grep -q '^Samples:'; then
		ok "live dumps of a program running with the library ($(basename "$f1"))"
	else
		not_ok "live dumps of a program running with the library" "$(show l1)" "$(show l2)"
	fi
	kill "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null

	# %% in HEAPPROF_OUT's directory is a percent sign, as the library has it.
	mkdir -p "$T/pct%dir"
	env LD_PRELOAD="$LIB" HEAPPROF_OUT="$T/pct%%dir/s.%p.%n.pb.gz" sleep 30 &
	lpid=$!
	wait_mapped "$lpid"
	run pc 20 "$HP" dump --timeout 5 "$lpid"
	check "$([ "$(rc pc)" = 0 ] && [ "$(cat "$T/pc.out")" = "$T/pct%dir/s.$lpid.1.pb.gz" ] &&
		[ -f "$T/pct%dir/s.$lpid.1.pb.gz" ]; echo $?)" \
		"%% in the directory of HEAPPROF_OUT: dump follows it to the directory with a %" "$(show pc)"
	kill "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null

	# A relative HEAPPROF_OUT, and the program moves away after start-up
	# (tests/progs/chdir.c): the dump is in the starting directory, and
	# dump finds it there through the PWD its shell gave it.
	mkdir -p "$T/cd/start" "$T/cd/data"
	(cd "$T/cd/start" && PWD=$T/cd/start exec env LD_PRELOAD="$LIB" HEAPPROF_OUT=c.%p.%n.pb.gz \
		"$B/tests/progs/chdir" "$T/cd/data" 20 >"$T/cdprog.out" 2>&1) &
	cpid=$!
	for _i in $(seq 100); do
		grep -q moved "$T/cdprog.out" 2>/dev/null && break
		sleep 0.05
	done
	run cd 20 "$HP" dump "$cpid"
	check "$([ "$(rc cd)" = 0 ] && [ "$(cat "$T/cd.out")" = "$T/cd/start/c.$cpid.1.pb.gz" ] &&
		[ -f "$T/cd/start/c.$cpid.1.pb.gz" ] && [ -z "$(ls -A "$T/cd/data")" ]; echo $?)" \
		"a program that chdir'ed: dump finds its profile in the directory it started in" "$(show cd)"
	kill "$cpid" 2>/dev/null
	wait "$cpid" 2>/dev/null

	# A program that writes its process title over its environment, as
	# nginx and redis do (tests/progs/proctitle.c), started with a relative
	# HEAPPROF_OUT and no PWD, then moved to another directory: dump read
	# the settings from the environment's memory, found the title there,
	# and waited for the default name in the wrong directory.  The
	# library's beacon in /proc/PID/maps (libheapprof/beacon.c) names the
	# signal and the pattern, made absolute where the program started.
	mkdir -p "$T/pt/start" "$T/pt/data"
	# titled VAR=VALUE: proctitle started in pt/start without PWD, moving
	# to pt/data, until fd 8 closes; its pid in ppid_, once it is ready.
	titled() {
		rm -f "$T/ptfifo"
		mkfifo "$T/ptfifo"
		(cd "$T/pt/start" && exec env -u PWD LD_PRELOAD="$LIB" "$1" \
			"$B/tests/progs/proctitle" "$T/pt/data" <"$T/ptfifo" >"$T/ptprog.out" 2>&1) &
		ppid_=$!
		exec 8>"$T/ptfifo"
		for _i in $(seq 100); do
			grep -q ready "$T/ptprog.out" 2>/dev/null && break
			sleep 0.05
		done
	}
	titled HEAPPROF_OUT=t.%p.pb.gz
	run pt 20 "$HP" dump --timeout 5 "$ppid_"
	exec 8>&-
	wait "$ppid_"
	prc=$?
	check "$([ "$(rc pt)" = 0 ] && [ "$(cat "$T/pt.out")" = "$T/pt/start/t.$ppid_.1.pb.gz" ] &&
		pprof -raw "$T/pt/start/t.$ppid_.1.pb.gz" | grep -q '^Samples:' && [ -z "$(ls -A "$T/pt/data")" ] &&
		[ "$prc" = 0 ]; echo $?)" \
		"a program that wrote its title over its environment and moved: dump finds its profile" \
		"$(show pt)" "program: exit $prc, $(head -c 200 "$T/ptprog.out")"

	# The same program with the profiler or its signal turned off: said at
	# once (the environment no longer said so: dump waited for a handler).
	for off in HEAPPROF_RATE HEAPPROF_SIGNAL; do
		titled "$off=0"
		run po 20 "$HP" dump --timeout 5 "$ppid_"
		exec 8>&-
		wait "$ppid_"
		case $off in
		HEAPPROF_RATE) want="heapprof: process $ppid_ has the profiler turned off (HEAPPROF_RATE=0)" ;;
		*) want="heapprof: process $ppid_ has signal dumps turned off (HEAPPROF_SIGNAL=0)" ;;
		esac
		check "$([ "$(rc po)" = 1 ] && one_line po && grep -qxF "$want" "$T/po.err"; echo $?)" \
			"a program that wrote its title over its environment, $off=0: refused at once, one line" "$(show po)"
	done

	# Under a seccomp filter inherited across exec (tests/progs/filterexec.c:
	# one that kills at memfd_create), the library makes no beacon, the
	# program lives, and dump reads the environment as before.
	"$B/tests/progs/filterexec" env LD_PRELOAD="$LIB" HEAPPROF_OUT="$T/live/fx.%p.%n.pb.gz" sleep 30 &
	fpid=$!
	wait_mapped "$fpid"
	run fx 20 "$HP" dump --timeout 5 "$fpid"
	check "$([ "$(rc fx)" = 0 ] && [ "$(cat "$T/fx.out")" = "$T/live/fx.$fpid.1.pb.gz" ] &&
		! grep -q memfd:heapprof "/proc/$fpid/maps" && kill -0 "$fpid"; echo $?)" \
		"under a seccomp filter: no beacon made, the program lives, dump reads its environment" "$(show fx)"
	kill "$fpid" 2>/dev/null
	wait "$fpid" 2>/dev/null

	# A stopped process would dump only once continued, unasked for by
	# then; one that blocks the signal in every thread never: both are
	# refused at once, saying why (it waited out the timeout and asked
	# whether the program handled the signal itself).
	env LD_PRELOAD="$LIB" HEAPPROF_OUT="$T/live/st.%p.%n.pb.gz" sleep 30 &
	lpid=$!
	wait_mapped "$lpid"
	kill -STOP "$lpid"
	# the stop lands a moment later: until /proc says so
	for _i in $(seq 100); do
		[ "$(sed 's/.*) \(.\).*/\1/' "/proc/$lpid/stat" 2>/dev/null)" = T ] && break
		sleep 0.05
	done
	run st 20 "$HP" dump --timeout 5 "$lpid"
	check "$([ "$(rc st)" = 1 ] && one_line st && grep -qx "heapprof: process $lpid is stopped: no dump taken (send it SIGCONT first)" "$T/st.err"; echo $?)" \
		"dump of a stopped process: refused at once, one line" "$(show st)"
	kill -CONT "$lpid"
	kill "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null
	env LD_PRELOAD="$LIB" HEAPPROF_OUT="$T/live/bl.%p.%n.pb.gz" "$B/tests/progs/sigblock" >"$T/blprog.out" &
	lpid=$!
	for _i in $(seq 100); do
		grep -q ready "$T/blprog.out" 2>/dev/null && break
		sleep 0.05
	done
	run bl 20 "$HP" dump --timeout 5 "$lpid"
	check "$([ "$(rc bl)" = 1 ] && one_line bl && grep -qx "heapprof: every thread of process $lpid blocks SIGUSR2, heapprof's dump signal: no dump taken" "$T/bl.err"; echo $?)" \
		"dump of a process blocking SIGUSR2 in every thread: refused at once, one line" "$(show bl)"
	kill "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null

	# A process in a mount namespace of its own (a container): its
	# absolute HEAPPROF_OUT names a directory we cannot see, a tmpfs
	# mounted only there.  dump finds the file through /proc/PID/root
	# (it looked in our filesystem and timed out).
	mkdir -p "$T/ns"
	if unshare -m sh -c "mount -t tmpfs tmpfs '$T/ns'" 2>/dev/null; then
		# unshare, sh and env exec in turn: one pid, sleep's in the end
		unshare -m sh -c "mount -t tmpfs tmpfs '$T/ns' && exec env LD_PRELOAD='$LIB' HEAPPROF_OUT='$T/ns/n.%p.%n.pb.gz' sleep 30" &
		upid=$!
		npid=$upid
		wait_mapped "$npid"
		run ns 20 "$HP" dump --timeout 5 "$npid"
		check "$([ "$(rc ns)" = 0 ] && [ "$(cat "$T/ns.out")" = "/proc/$npid/root$T/ns/n.$npid.1.pb.gz" ] &&
			[ -z "$(ls -A "$T/ns")" ] && pprof -raw "$(cat "$T/ns.out")" | grep -q '^Samples:'; echo $?)" \
			"dump of a process in its own mount namespace: the profile found under /proc/PID/root" "$(show ns)"
		kill "$npid" 2>/dev/null
		wait "$upid" 2>/dev/null
	else
		skip "dump of a process in its own mount namespace" "cannot unshare a mount namespace here"
	fi
else
	skip "live dumps with the real library" "build/libheapprof.so not built"
fi
finish
