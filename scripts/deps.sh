#!/bin/sh
# Installs the Debian packages heapprof builds and tests with, if any is
# missing.  Runs as root on a fresh machine (make test / make demo call it);
# as another user it only says what to install.
set -e
need=""
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for p in gcc make libunwind-dev uthash-dev zlib1g-dev libdw-dev libelf-dev golang-go \
	clang libclang-rt-14-dev g++ pkg-config python3 valgrind chromium; do
	have_pkg "$p" || need="$need $p"
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "heapprof: missing Debian packages:$need (run as root: apt-get install$need)" >&2
	exit 1
fi
echo "heapprof: installing$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends $need >/dev/null
