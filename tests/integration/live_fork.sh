#!/bin/sh
# live_fork.sh - fork while threads allocate, and signal dumps in the
# children (issue 3).
#
# tests/progs/live_fork.c forks children one after the other while 4
# threads allocate.  Each child allocates 10 x 1000 B (child_keep), sends
# itself SIGUSR2, waits (bounded) for its own signal dump f.PID.1.pb.gz and
# exits, writing f.PID.2.pb.gz.  Checks, at HEAPPROF_RATE=1 (10 children)
# and at the default rate (4 children):
#   - no child hangs (each is waited for at most 20 s, the run is bounded)
#     and every child's signal dump appears: the child has a dumper thread
#     of its own even if it allocates little;
#   - every process wrote its own files under its own pid and nothing else:
#     the parent f.PPID.1.pb.gz, each child f.CPID.1.pb.gz and f.CPID.2.pb.gz,
#     all complete profiles pprof reads, no temporary files;
#   - at rate 1 a child's profile holds child_keep exactly (10 objects,
#     10000 B in use), and the parent's has no child_keep at all.
. "$(dirname "$0")/live_common.sh"

need_lib
need_progs live_fork

for mode in rate1 default; do
	d=$T/$mode.d
	mkdir -p "$d"
	case $mode in
	rate1) set -- HEAPPROF_RATE=1; nchild=10 ;;
	default) set -- ; nchild=4 ;;
	esac
	preload "$mode" 150 "$@" HEAPPROF_OUT="$d/f.%p.%n.pb.gz" "$PROGS/live_fork" "$d" "$T/$mode.pids" $nchild 3
	r=$(rc "$mode")
	if [ "$r" = 0 ] && [ "$(cat "$T/$mode.out")" = "$nchild children ok" ]; then
		ok "fork x $nchild ($mode): no child hangs, each child's SIGUSR2 dump appears"
	else
		not_ok "fork x $nchild ($mode): no child hangs, each child's SIGUSR2 dump appears" \
			"$(cat "$T/$mode.out")" "$(show "$mode")"
	fi
	parent=$(awk '$1 == "parent" { print $2 }' "$T/$mode.pids")
	want=$( (echo "f.$parent.1.pb.gz"
		awk '$1 == "child" { print "f." $2 ".1.pb.gz"; print "f." $2 ".2.pb.gz" }' "$T/$mode.pids") |
		sort | tr '\n' ' ')
	got=$(ls "$d" | sort | tr '\n' ' ')
	if [ "$want" = "$got" ] && [ "$(grep -c child "$T/$mode.pids")" = $nchild ]; then
		ok "fork ($mode): parent and $nchild children wrote their own files by pid, nothing else"
	else
		not_ok "fork ($mode): parent and $nchild children wrote their own files by pid, nothing else" \
			"want: $want" "got:  $got"
	fi
	if bad=$($PP check "$d"/*); then
		ok "fork ($mode): every file is a complete profile"
	else
		not_ok "fork ($mode): every file is a complete profile" "$bad"
	fi
	[ "$mode" = rate1 ] || continue
	n=0
	for child in $(awk '$1 == "child" { print $2 }' "$T/$mode.pids" | head -n 3); do
		f=$d/f.$child.1.pb.gz
		[ -f "$f" ] || continue
		go tool pprof -raw "$f" >"$T/raw" 2>&1
		# the samples whose leaf is child_keep: inuse objects and bytes
		got=$(awk '
			/^Locations/ { loc = 1; next }
			/^Mappings/ { loc = 0 }
			loc && $4 == "child_keep" { sub(":", "", $1); ck[$1] = 1 }
			/^ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+: / { n++; io[n] = $3; is[n] = $4 + 0; leaf[n] = $5 }
			END { for (i = 1; i <= n; i++) if (leaf[i] in ck) { o += io[i]; s += is[i] }
			      printf "%d %d", o, s }' "$T/raw")
		if [ "$got" = "10 10000" ]; then
			n=$((n + 1))
		else
			not_ok "fork (rate1): child $child's signal dump holds child_keep exactly" "got objects/bytes: $got"
		fi
	done
	[ "$n" = 3 ] && ok "fork (rate1): 3 children's signal dumps hold child_keep exactly (10 objects, 10000 B)"
	if [ -f "$d/f.$parent.1.pb.gz" ] && ! $PP funcs "$d/f.$parent.1.pb.gz" | grep -qx child_keep; then
		ok "fork (rate1): the parent's profile has no child_keep"
	else
		not_ok "fork (rate1): the parent's profile has no child_keep"
	fi
done

exit $FAILED
