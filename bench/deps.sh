#!/bin/sh
# bench/deps.sh - installs the Debian packages the benchmarks use, if any is
# missing: `deps.sh core` for make bench, `deps.sh peers` for make
# bench-peers (the other profilers and the real programs).  As root it runs
# apt-get; as another user it says what to install and goes on, since the
# harness skips a tool or program that is not there.
set -e
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
pkgs="python3 valgrind gcc sqlite3"
[ "$1" = peers ] && pkgs="$pkgs perl golang-go heaptrack google-perftools libgoogle-perftools4 libjemalloc2"
need=""
for p in $pkgs; do
	have_pkg "$p" || need="$need $p"
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "bench: missing Debian packages:$need (as root: apt-get install$need); going on without them" >&2
	exit 0
fi
echo "bench: installing$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends $need >/dev/null
