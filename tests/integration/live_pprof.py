#!/usr/bin/env python3
"""live_pprof.py - reads heapprof profiles for the live_*.sh and trace_*.sh tests.

Every number comes from `go tool pprof -raw`, the independent reader; this
file only checks the gzip container itself (CRC and length, so a truncated
or half-written file is caught) and sums the columns pprof prints.

Usage:
  live_pprof.py check FILE...   each file: a whole gzip stream that pprof reads
                                as a heap profile (sample types, period type);
                                prints "FILE: error" lines for bad files, exit 1
  live_pprof.py inuse FILE...   prints "FILE INUSE_SPACE INUSE_OBJECTS ALLOC_SPACE"
                                (sums over all samples), exit 1 if one is unreadable
  live_pprof.py funcs FILE      prints the function names pprof resolved, one a line
"""

import gzip
import os
import re
import subprocess
import sys
import tempfile

TYPES = "alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes"


def pprof_raw(path):
    """Returns (ok, text) from `go tool pprof -raw path`."""
    env = dict(os.environ)
    if not env.get("HOME") or not os.access(env["HOME"], os.W_OK):
        tmp = tempfile.mkdtemp(prefix="heapprof-go.")
        env["HOME"] = tmp
        env.setdefault("GOCACHE", os.path.join(tmp, "cache"))
    try:
        r = subprocess.run(["go", "tool", "pprof", "-raw", path], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    return r.returncode == 0, r.stdout.decode("utf-8", "replace")


def gzip_whole(path):
    """None if path is one complete gzip stream, else the reason."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        return "not a complete gzip file: %s" % e
    if not data:
        return "empty profile"
    return None


def check(path):
    """None if path is a complete heap profile pprof reads, else the reason."""
    why = gzip_whole(path)
    if why:
        return why
    ok, text = pprof_raw(path)
    if not ok:
        return "go tool pprof failed: %s" % text.strip().splitlines()[-1:]
    if "PeriodType: space bytes" not in text or TYPES not in text:
        return "not a heap profile (sample or period types missing)"
    return None


def sums(text):
    """(alloc_objects, alloc_space, inuse_objects, inuse_space) summed over samples."""
    tot = [0, 0, 0, 0]
    in_samples = False
    for line in text.splitlines():
        if line.startswith(TYPES):
            in_samples = True
            continue
        if in_samples:
            m = re.match(r"^\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+):", line)
            if m:
                for i in range(4):
                    tot[i] += int(m.group(i + 1))
            elif line.startswith("Locations"):
                break
    return tot


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    cmd, files = argv[1], argv[2:]
    bad = 0
    if cmd == "check":
        for f in files:
            why = check(f)
            if why:
                print("%s: %s" % (f, why))
                bad += 1
    elif cmd == "inuse":
        for f in files:
            ok, text = pprof_raw(f)
            if not ok:
                print("%s: go tool pprof failed" % f)
                bad += 1
                continue
            t = sums(text)
            print("%s %d %d %d" % (f, t[3], t[2], t[1]))
    elif cmd == "funcs":
        ok, text = pprof_raw(files[0])
        if not ok:
            return 1
        names = set()
        section = None
        for line in text.splitlines():
            if line.startswith("Locations"):
                section = "loc"
                continue
            if line.startswith("Mappings"):
                break
            if section == "loc":
                m = re.match(r"^\s+\d+: 0x[0-9a-f]+ M=\d+ (\S+)", line)
                if m:
                    names.add(m.group(1))
        for n in sorted(names):
            print(n)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
