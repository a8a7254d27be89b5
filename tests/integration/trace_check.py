#!/usr/bin/env python3
"""trace_check.py - checks HEAPTRACE lines and HEAPPROF_LEAKS reports for the trace_*.sh tests.

Usage (each prints "ok - ..." / "not ok - ..." lines, exit 1 on any failure):
  trace_check.py lines STDERR GROWTH MIN_MIB TOTAL_MIB
        every line of STDERR is a heaptrace line matching REGEX below (the
        one documented in docs/heaptrace.md); sequence numbers 1..n; each
        line's "A->" is the previous line's "->B"; counters never go back;
        `next` = max(B x (1 + GROWTH/100), MIN); growth lines come exactly
        where the goals are: each growth line's in-use is at or above the
        previous line's `next` and at most BATCH above it, and for a
        program that grows to TOTAL_MIB every goal up to it is reported;
        the last line is the exit line, and no other line says exit.
  trace_check.py leaks STDERR SRC TOP [EXTRA]
        the leak report at HEAPPROF_RATE=1 of tests/progs/trace_leaks.c:
        its three sites with exact bytes/objects, names and file:line,
        largest first, the header total, the note, the TOP limit.
"""

import re
import sys

# The documented regular expression (docs/heaptrace.md), Python syntax.
REGEX = re.compile(
    r"^heaptrace (\d+) @(\d+)\.(\d{3})s: (\d+\.\d)->(\d+\.\d) MB inuse, (\d+\.\d) MB peak, "
    r"(\d+\.\d) MB alloc, (\d+) allocs, (\d+) frees, (\d+\.\d) MB/s, (\d+\.\d) MB rss, "
    r"(\d+) threads, (\d+) samples, (\d+) dropped, (\d+\.\d) MB prof, (\d+\.\d) MB next "
    r"\((growth|tick|dump|exit)(?: (.+))?\)$")

# Per-thread counters are folded in batches of 64 calls or 256 KiB of net
# change; one thread growing in 64 KiB blocks lags by less than 256 KiB +
# one block.  Printed MB are truncated to 0.1.
BATCH_MB = 0.25 + 0.0625
TRUNC = 0.1

failed = False


def ok(msg):
    print("ok - " + msg)


def not_ok(msg, *details):
    global failed
    failed = True
    print("not ok - " + msg)
    for d in details:
        for line in str(d).splitlines():
            print("#   " + line)


def parse(path):
    out, bad = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\n")
            m = REGEX.match(line)
            if not m:
                bad.append(line)
                continue
            g = m.groups()
            out.append({
                "seq": int(g[0]), "t": int(g[1]) + int(g[2]) / 1000.0,
                "a": float(g[3]), "b": float(g[4]), "peak": float(g[5]),
                "alloc": float(g[6]), "allocs": int(g[7]), "frees": int(g[8]),
                "rate": float(g[9]), "rss": float(g[10]), "threads": int(g[11]),
                "samples": int(g[12]), "dropped": int(g[13]), "prof": float(g[14]),
                "next": float(g[15]), "reason": g[16], "path": g[17], "line": line,
            })
    return out, bad


def check_lines(path, growth, min_mib, total_mib):
    lines, bad = parse(path)
    if bad or not lines:
        not_ok("every stderr line matches the documented regex (%d lines)" % len(lines),
               "\n".join(bad[:5]) or "no lines")
        return
    ok("all %d stderr lines match the documented regex" % len(lines))
    seqs = [l["seq"] for l in lines]
    if seqs == list(range(1, len(lines) + 1)):
        ok("sequence numbers 1..%d" % len(lines))
    else:
        not_ok("sequence numbers 1..n", seqs)
    why = []
    prev = None
    for l in lines:
        if prev is None:
            if l["a"] != 0.0:
                why.append("first line does not start from 0.0: " + l["line"])
        else:
            if l["a"] != prev["b"]:
                why.append("A is not the previous B: " + l["line"])
            for k in ("allocs", "frees", "alloc", "samples", "peak"):
                if l[k] < prev[k]:
                    why.append("%s went back: %s" % (k, l["line"]))
            if l["t"] < prev["t"]:
                why.append("time went back: " + l["line"])
        want_next = max(l["b"] * (1 + growth / 100.0), min_mib)
        if abs(l["next"] - want_next) > TRUNC * (1 + growth / 100.0) + 0.001:
            why.append("next %.1f, want max(B x %.2f, %g) = %.2f: %s"
                       % (l["next"], 1 + growth / 100.0, min_mib, want_next, l["line"]))
        if l["peak"] + TRUNC < l["b"] - BATCH_MB:
            why.append("peak below in-use: " + l["line"])
        prev = l
    if why:
        not_ok("A->B chains, counters never go back, next = max(B x (1+GROWTH/100), MIN)", *why[:6])
    else:
        ok("A->B chains, counters never go back, next = max(B x %.2f, %g MB)" % (1 + growth / 100.0, min_mib))

    # growth lines at the goals
    why = []
    goal = float(min_mib)
    reached = []
    for i, l in enumerate(lines):
        if l["reason"] == "growth":
            if not (goal - TRUNC <= l["b"] <= goal + BATCH_MB + TRUNC):
                why.append("growth line at %.1f MB, goal %.1f MB (allowed %.1f..%.1f): %s"
                           % (l["b"], goal, goal - TRUNC, goal + BATCH_MB + TRUNC, l["line"]))
            reached.append(l["b"])
        goal = l["next"]
    want = []
    g = float(min_mib)
    while g <= total_mib - 1:
        want.append(g)
        g *= 1 + growth / 100.0
    if len(reached) != len(want):
        why.append("%d growth lines, want %d (goals %s)" % (len(reached), len(want),
                                                          ", ".join("%.1f" % x for x in want)))
    if why:
        not_ok("growth lines exactly at the goals", *why)
    else:
        ok("growth lines exactly at the goals: %s MB" % ", ".join("%.1f" % x for x in reached))

    exits = [l for l in lines if l["reason"] == "exit"]
    if len(exits) == 1 and lines[-1]["reason"] == "exit":
        ok("one exit line, and it is the last")
    else:
        not_ok("one exit line, and it is the last", lines[-1]["line"])


def check_leaks(path, src, top, extra):
    text = open(path, encoding="utf-8", errors="replace").read()
    srclines = open(src, encoding="utf-8").read().splitlines()
    marks = {}
    for i, s in enumerate(srclines):
        for tag in ("LEAK_SMALL", "LEAK_PAGES", "LEAK_BIG"):
            if "/* " + tag + " */" in s:
                marks[tag] = i + 1
    sites = [("leak_big", "LEAK_BIG", 1048576, 1), ("leak_pages", "LEAK_PAGES", 20480, 5),
             ("leak_small", "LEAK_SMALL", 1000, 10)]
    m = re.search(r"^heapprof: leak report: (\d+) bytes in (\d+) objects from (\d+) stacks in use at exit "
                  r"\(exact, HEAPPROF_RATE=1\)$", text, re.M)
    if not m:
        not_ok("report header: total bytes, objects, stacks, 'in use at exit', exact at rate 1", text[:800])
        return
    total_b, total_o, nstacks = int(m.group(1)), int(m.group(2)), int(m.group(3))
    ok("report header: %d bytes in %d objects from %d stacks, exact" % (total_b, total_o, nstacks))
    if re.search(r"^heapprof: in use at exit is not reachability", text, re.M):
        ok("the report says it lists blocks in use at exit, not unreachable ones")
    else:
        not_ok("the report says it lists blocks in use at exit, not unreachable ones")
    # entries: "#K BYTES bytes in OBJECTS objects" then indented frames
    entries = []
    for em in re.finditer(r"^#(\d+) (\d+) bytes in (\d+) objects?\n((?:        .*\n)*)", text, re.M):
        frames = [f.strip() for f in em.group(4).splitlines()]
        entries.append((int(em.group(1)), int(em.group(2)), int(em.group(3)), frames))
    shown = min(nstacks, top)
    if [e[0] for e in entries] == list(range(1, shown + 1)):
        ok("%d entries shown (HEAPPROF_LEAKS_TOP=%d, %d stacks)" % (shown, top, nstacks))
    else:
        not_ok("%d entries shown (HEAPPROF_LEAKS_TOP=%d)" % (shown, top), [e[0] for e in entries])
    if all(entries[i][1] >= entries[i + 1][1] for i in range(len(entries) - 1)):
        ok("entries largest first")
    else:
        not_ok("entries largest first", [e[1] for e in entries])
    # each site: exactly one entry whose leaf is the site function at the marked line
    found = {}
    for fn, tag, b, o in sites:
        want_leaf = "%s tests/progs/trace_leaks.c:%d" % (fn, marks.get(tag, -1))
        hits = [e for e in entries if e[3] and e[3][0].startswith(fn + " ") and e[3][0].endswith("trace_leaks.c:%d" % marks.get(tag, -1))]
        if len(hits) == 1 and hits[0][1] == b and hits[0][2] == o and len(hits[0][3]) > 1 and \
                hits[0][3][1].startswith("main "):
            ok("%s: %d bytes in %d objects at %s, called from main" % (fn, b, o, want_leaf))
            found[fn] = hits[0][0]
        elif shown < 4 and fn != "leak_big" and not hits:
            found[fn] = None        # may be cut by the limit; checked below
        else:
            not_ok("%s: exactly one entry of %d bytes in %d objects at %s" % (fn, b, o, want_leaf),
                   *["#%d %d bytes in %d objects: %s" % (e[0], e[1], e[2], " <- ".join(e[3][:3])) for e in hits or entries])
    # nothing from churn, or from our own frames; other entries must be libc's (or extra_leak)
    others = [e for e in entries if not any(e[3] and e[3][0].startswith(s[0] + " ") for s in sites)]
    bad = [e for e in others if not e[3] or e[3][0].startswith("churn ") or
           not (e[3][0].startswith("extra_leak ") or any(fr.startswith("_IO_") or "libc" in fr or fr.startswith("__")
                                                         or "./" in fr for fr in e[3]))]
    if bad:
        not_ok("no other entries than the sites, extra_leak and libc's own",
               *["#%d %d: %s" % (e[0], e[1], " <- ".join(e[3][:4])) for e in bad])
    else:
        ok("no other entries than the three sites, extra_leak and libc's own (%d)" % len(others))
    if top >= nstacks:
        s = sum(e[1] for e in entries)
        so = sum(e[2] for e in entries)
        if s == total_b and so == total_o and not re.search(r"more stacks", text):
            ok("the entries add up to the header total, no '... more stacks' line")
        else:
            not_ok("the entries add up to the header total", "entries %d B / %d objects" % (s, so))
        ours = 1048576 + 20480 + 1000 + 64 * extra
        if ours <= total_b <= ours + 65536:
            ok("total = the known leaks + %d B of libc's own" % (total_b - ours))
        else:
            not_ok("total = the known leaks + at most 64 KiB of libc's own", "total %d, known %d" % (total_b, ours))
    else:
        mm = re.search(r"^heapprof: \.\.\. and (\d+) more stacks holding (\d+) bytes \(HEAPPROF_LEAKS_TOP=(\d+)\)$",
                       text, re.M)
        s = sum(e[1] for e in entries)
        if mm and int(mm.group(1)) == nstacks - top and int(mm.group(2)) == total_b - s and int(mm.group(3)) == top:
            ok("'... and %s more stacks holding %s bytes (HEAPPROF_LEAKS_TOP=%d)'" % (mm.group(1), mm.group(2), top))
        else:
            not_ok("'... and N more stacks holding B bytes' with N = stacks - TOP, B = the rest",
                   mm.group(0) if mm else "no such line", "stacks %d, shown bytes %d, total %d" % (nstacks, s, total_b))


def main(argv):
    if len(argv) >= 6 and argv[1] == "lines":
        check_lines(argv[2], float(argv[3]), float(argv[4]), float(argv[5]))
    elif len(argv) >= 5 and argv[1] == "leaks":
        check_leaks(argv[2], argv[3], int(argv[4]), int(argv[5]) if len(argv) > 5 else 0)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
