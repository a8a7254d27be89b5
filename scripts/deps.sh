#!/bin/sh
# Installs Debian packages that are missing: with no arguments, the ones
# heapprof builds and tests with (make test / make demo call this on a fresh
# machine as root); with arguments, those packages.  As another user it only
# says what to install: that is an error (exit 1), or with --optional a
# note, and the caller goes on without them (bench/deps.sh).
set -e
optional=0
if [ "${1:-}" = --optional ]; then
	optional=1
	shift
fi
pkgs="$*"
[ -n "$pkgs" ] || pkgs="gcc make libunwind-dev zlib1g-dev libdw-dev libelf-dev golang-go
	clang libclang-rt-14-dev g++ pkg-config python3 valgrind chromium"
need=""
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for p in $pkgs; do
	have_pkg "$p" || need="$need $p"
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	if [ $optional = 1 ]; then
		echo "heapprof: missing Debian packages:$need (as root: apt-get install$need); going on without them" >&2
		exit 0
	fi
	echo "heapprof: missing Debian packages:$need (run as root: apt-get install$need)" >&2
	exit 1
fi
echo "heapprof: installing$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends $need >/dev/null
