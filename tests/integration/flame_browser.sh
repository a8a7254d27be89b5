#!/bin/sh
# flame_browser.sh - the flame graph SVG tested in a real browser.
#
# Builds tests/integration/flame_gen.c against cli/flame.c, renders the sample
# stacks in flame_sample.folded, and has flame_browser.py open the SVGs in
# headless Chromium (Debian's `chromium`, driven over the DevTools protocol
# with the Python standard library): frames render, a click zooms, Reset Zoom
# and search work (script call, Ctrl-F, Search button), diff colours, and a
# screenshot is taken.  Chromium is installed with apt-get when missing and
# we are root; otherwise the test is skipped.
#
#   [SHOT_HEIGHT=N] sh tests/integration/flame_browser.sh [--screenshot OUT.png [FILE.svg]]
#   (SHOT_HEIGHT keeps only the bottom N pixels of a tall graph)
#
# The screenshot goes to a temporary directory unless --screenshot names a
# file, so a test run never modifies the tree.  It shows the sample stacks,
# or FILE.svg when given (e.g. from `heapprof flame`); docs/flamegraph.png
# is made this way.  Bounded: the browser part
# stops itself after 120 s, and `timeout` backs that up.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
chromium=${CHROMIUM:-/usr/bin/chromium}
shot=""
shot_svg=""
if [ "${1:-}" = "--screenshot" ] && [ -n "${2:-}" ]; then
	case $2 in /*) shot=$2 ;; *) shot=$(pwd)/$2 ;; esac
	if [ -n "${3:-}" ]; then
		case $3 in /*) shot_svg=$3 ;; *) shot_svg=$(pwd)/$3 ;; esac
	fi
fi

if [ ! -x "$chromium" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "# flame_browser: installing chromium"
	export DEBIAN_FRONTEND=noninteractive
	timeout 120 apt-get update -qq >/dev/null 2>&1
	timeout 150 apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1
fi
if [ ! -x "$chromium" ]; then
	echo "ok - # skip chromium not available"
	exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "ok - # skip python3 not available"
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
if ! ${CC:-cc} -O2 -Wall -Wextra -std=gnu11 -D_GNU_SOURCE -I"$root/cli" -o "$tmp/flame_gen" \
	"$here/flame_gen.c" "$root/cli/flame.c" -lm; then
	echo "not ok - browser: build flame_gen"
	exit 1
fi
start=$(date +%s)
timeout -k 5 150 python3 "$here/flame_browser.py" --chromium "$chromium" --gen "$tmp/flame_gen" \
	--folded "$here/flame_sample.folded" --workdir "$tmp" ${shot:+--screenshot "$shot"} \
	${shot_svg:+--shot-svg "$shot_svg"} ${SHOT_HEIGHT:+--shot-height "$SHOT_HEIGHT"}
rc=$?
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	echo "not ok - browser: timed out"
fi
echo "# flame_browser: $(( $(date +%s) - start )) s"
exit $rc
