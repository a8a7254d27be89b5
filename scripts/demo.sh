#!/bin/sh
# make demo: profile examples/logcache under heapprof, show where its memory
# goes and write a flame graph.  Run from the repository root after `make`.
set -e
B=${B:-build}
out=${DEMO_DIR:-$B/demo}
mkdir -p "$out"
rm -f "$out"/logcache*.pb.gz
echo "== heapprof run -o $out/logcache.pb.gz -- $B/examples/logcache 200000"
"$B"/heapprof run -o "$out/logcache.pb.gz" -- "$B"/examples/logcache 200000
echo
echo "== heapprof top $out/logcache.pb.gz   (in-use bytes at exit: the cache leaks its bodies)"
"$B"/heapprof top -n 10 "$out/logcache.pb.gz"
echo
echo "== heapprof top --sample alloc_space $out/logcache.pb.gz   (everything allocated over the run)"
"$B"/heapprof top -n 10 --sample alloc_space "$out/logcache.pb.gz"
echo
"$B"/heapprof flame -o "$out/logcache.svg" "$out/logcache.pb.gz"
echo "flame graph: $out/logcache.svg  (open it in a browser; click to zoom, Ctrl-F to search)"
echo "the same file in Go's tools: go tool pprof -top $out/logcache.pb.gz"
