#!/bin/sh
# bench/deps.sh - the Debian packages the benchmarks use: `deps.sh core` for
# make bench, `deps.sh peers` for make bench-peers (the other profilers and
# the real programs).  Missing ones are installed as root; as another user
# the harness goes on and skips what is not there.
pkgs="python3 valgrind gcc sqlite3"
[ "$1" = peers ] && pkgs="$pkgs perl golang-go heaptrack google-perftools libgoogle-perftools4 libjemalloc2"
exec sh "$(dirname "$0")/../scripts/deps.sh" --optional $pkgs
