#!/bin/sh
# lib_rate.sh - at a sampling rate the estimates must be unbiased and as
# precise as the sampling math says.
#
# tests/progs/rate.c allocates 1 GiB in 256-byte blocks, 256 MiB kept in
# 4 KiB blocks and 1000 MiB in 1 MiB blocks.  With the default rate
# (524288, also checked as the profile's period) and with HEAPPROF_RATE=100000
# on a quarter of the work, each site's estimates must lie in the central
# binomial interval that holds all but 2e-7 of the probability; lib_pprof.py
# (check_rate) has the arithmetic.  The bounds are tight enough to catch a
# missing 1/p weight at every site, including the 13.5 % it makes at 1 MiB.
. "$(dirname "$0")/lib_common.sh"

need_lib
need_progs rate

mkdir -p "$T/default.d" "$T/r100k.d"
preload default 180 HEAPPROF_OUT="$T/default.d/p.pb.gz" "$PROGS/rate"
if [ -f "$T/default.d/p.pb.gz" ]; then
	$CHECK rate "$T/default.d/p.pb.gz" 524288 1
else
	not_ok "rate writes a profile at the default rate" "$(show default)"
fi
preload r100k 180 HEAPPROF_RATE=100000 HEAPPROF_OUT="$T/r100k.d/p.pb.gz" "$PROGS/rate" 4
if [ -f "$T/r100k.d/p.pb.gz" ]; then
	$CHECK rate "$T/r100k.d/p.pb.gz" 100000 4
else
	not_ok "rate writes a profile at HEAPPROF_RATE=100000" "$(show r100k)"
fi
