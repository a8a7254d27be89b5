#!/bin/sh
# live_exec.sh - exec'd programs and HEAPPROF_FOLLOW (issue 3).
#
# tests/progs/live_exec.c starts itself again as "live_exec child", by
# fork + execv and by posix_spawn (which runs no fork handlers).  With
# LD_PRELOAD="$LIB $OTHER" (OTHER: a second preload, libz, that must
# survive) and HEAPPROF_OUT=DIR/e.%p.pb.gz:
#   - by default the exec'd program is profiled on its own: it writes
#     e.CHILDPID.pb.gz, holding exec_child_keep (3 x 3000 B at rate 1) and
#     no parent_keep, and the parent writes e.PARENTPID.pb.gz;
#   - with HEAPPROF_FOLLOW=0 the child writes nothing, its LD_PRELOAD no
#     longer names libheapprof but still holds the other preload, and the
#     parent still writes its own profile.
. "$(dirname "$0")/live_common.sh"

need_lib
need_progs live_exec

OTHER=$(ls /lib/x86_64-linux-gnu/libz.so.1 /usr/lib/x86_64-linux-gnu/libz.so.1 /lib64/libz.so.1 2>/dev/null | head -n 1)

for how in fork spawn; do
	for follow in 1 0; do
		tag=$how-$follow
		d=$T/$tag.d
		mkdir -p "$d"
		run "$tag" 60 env LD_PRELOAD="$LIB${OTHER:+ $OTHER}" HEAPPROF_RATE=1 HEAPPROF_FOLLOW=$follow \
			HEAPPROF_OUT="$d/e.%p.pb.gz" "$PROGS/live_exec" "$how"
		parent=$(sed -n 's/^parent \([0-9]*\)$/\1/p' "$T/$tag.out")
		child=$(sed -n 's/^child \([0-9]*\) .*/\1/p' "$T/$tag.out")
		pre=$(sed -n 's/^child [0-9]* LD_PRELOAD=//p' "$T/$tag.out")
		if [ "$(rc "$tag")" != 0 ] || ! grep -qx 'child exit 0' "$T/$tag.out" || [ -z "$parent" ] || [ -z "$child" ]; then
			not_ok "exec ($how, HEAPPROF_FOLLOW=$follow): parent and child run and exit 0" "$(show "$tag")"
			continue
		fi
		got=$(ls "$d" | tr '\n' ' ')
		if [ "$follow" = 1 ]; then
			want=$(printf 'e.%s.pb.gz\ne.%s.pb.gz\n' "$parent" "$child" | sort | tr '\n' ' ')
			if [ "$got" = "$want" ]; then
				ok "exec ($how): the exec'd program writes its own profile e.$child.pb.gz"
			else
				not_ok "exec ($how): the exec'd program writes its own profile" "want: $want" "got:  $got"
				continue
			fi
			$PP funcs "$d/e.$child.pb.gz" >"$T/cfuncs"
			if grep -qx exec_child_keep "$T/cfuncs" && ! grep -qx parent_keep "$T/cfuncs"; then
				ok "exec ($how): the child's profile holds exec_child_keep, not parent_keep"
			else
				not_ok "exec ($how): the child's profile holds exec_child_keep, not parent_keep" "$(cat "$T/cfuncs")"
			fi
			case $pre in
			*libheapprof*) ok "exec ($how): the child inherits LD_PRELOAD with libheapprof" ;;
			*) not_ok "exec ($how): the child inherits LD_PRELOAD with libheapprof" "LD_PRELOAD=$pre" ;;
			esac
		else
			if [ "$got" = "e.$parent.pb.gz " ]; then
				ok "exec ($how, HEAPPROF_FOLLOW=0): only the parent writes a profile"
			else
				not_ok "exec ($how, HEAPPROF_FOLLOW=0): only the parent writes a profile" "got: $got"
			fi
			case $pre in
			*libheapprof*)
				not_ok "exec ($how, HEAPPROF_FOLLOW=0): libheapprof gone from the child's LD_PRELOAD" "LD_PRELOAD=$pre" ;;
			"${OTHER:--}")
				ok "exec ($how, HEAPPROF_FOLLOW=0): libheapprof gone from the child's LD_PRELOAD, other preloads kept" ;;
			*)
				not_ok "exec ($how, HEAPPROF_FOLLOW=0): the child's LD_PRELOAD keeps the other preload" \
					"want: ${OTHER:--}" "got:  $pre" ;;
			esac
		fi
		if bad=$($PP check "$d"/*); then
			ok "exec ($how, HEAPPROF_FOLLOW=$follow): every file is a complete profile"
		else
			not_ok "exec ($how, HEAPPROF_FOLLOW=$follow): every file is a complete profile" "$bad"
		fi
	done
done

exit $FAILED
