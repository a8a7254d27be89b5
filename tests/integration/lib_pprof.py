#!/usr/bin/env python3
"""lib_pprof.py - checks heapprof profiles with `go tool pprof`, the independent reader.

The integration scripts (tests/integration/lib_*.sh) run the programs in
tests/progs/ and call this file to check the profiles they wrote.  Nothing
here decodes profile.proto itself: every number comes from the text that
`go tool pprof -raw` (and -top / -traces) prints, so our own decoder cannot
hide a bug in our own encoder.

Usage: lib_pprof.py CHECK [ARGS...]; each check prints "ok - ..." or
"not ok - ..." lines (TAP style, details on "#" lines) and exits 1 if any
check failed.  Checks:

  exact PROGRAM PROFILE SRC [--moved]   rate-1 truth for known, threads, cxx, dl, deep, exitthread, frames
  same PROFILE_A PROFILE_B              the two profiles hold the same stacks (by name) with the same values
  fork-child PROFILE SRC                rate-1 truth in one forkmt child's profile
  absent PROFILE FUNC...                no sample mentions FUNC (e.g. child code in the parent)
  format PROFILE RATE BINARY            sample types, period, times, gzip, mappings, build ID
  rate PROFILE RATE SCALE               estimates at a sampling rate within exact binomial bounds
  depth PROFILE DEPTH                   stacks of deep.c are cut to at most DEPTH frames

The truth tables below repeat the ones documented at the top of each
program in tests/progs/.
"""

import collections
import gzip
import math
import os
import re
import subprocess
import sys
import tempfile

# ---------------------------------------------------------------------------
# Truth tables: leaf function -> (alloc_objects, alloc_space, inuse_objects, inuse_space)

PAGE = os.sysconf("SC_PAGE_SIZE")
PVALLOC_ROUNDED = (6000 + PAGE - 1) // PAGE * PAGE

KNOWN = {
    "leaf_a": (1000, 64000, 300, 19200),
    "leaf_b": (50, 204800, 0, 0),
    "leaf_c": (10, 10000, 4, 4000),
    "realloc_chain": (10, 5500, 1, 1000),
    "realloc_zero": (1, 77, 0, 0),
    "reallocarray_site": (2, 480, 1, 320),
    "pm_site": (1, 1000, 1, 1000),
    "aa_site": (1, 2048, 1, 2048),
    "ma_site": (1, 3000, 1, 3000),
    "va_site": (1, 5000, 1, 5000),
    # pvalloc(6000): the block is page-rounded; either the request or the
    # rounded size is a defensible "requested size" (see check_exact).
    "pva_site": [(1, 6000, 1, 6000), (1, PVALLOC_ROUNDED, 1, PVALLOC_ROUNDED)],
    "static_leaf": (7, 2331, 7, 2331),
    "chain_leaf": (5, 640, 5, 640),
    "mixed_leaf": (5, 2097200, 3, 48),
    "shared_leaf": (30, 960, 30, 960),
    "zero_site": (3, 0, 2, 0),
    "pva0_site": (1, 0, 1, 0),
}

THREADS = {"produce": (160000, 9600000, 800, 48000)}

CXX = {
    "new_site": (100, 4800, 40, 1920),
    "newarr_site": (10, 10000, 0, 0),
    "newarr_dtor_site": (3, 504, 3, 504),
    "aligned_new_site": (5, 320, 5, 320),
    "nothrow_new_site": (2, 96, 2, 96),
}

DL = {
    "plugin_alloc": (100, 10000, 20, 2000),
    "plugin_ctor": (20, 1000, 0, 0),
}

DEEP = {"bottom_alloc": (100, 5000, 100, 5000)}

EXITTHREAD = {"exit_alloc": (3, 6666, 3, 6666)}

FRAMES = {
    "fp_site": (11, 11 * 111, 0, 0),
    "nofp_site": (12, 12 * 222, 0, 0),
    "vla_site": (13, 13 * 333, 0, 0),
    "sig_site": (14, 14 * 444, 0, 0),
    "alt_site": (15, 15 * 555, 0, 0),
    "rec_site": (16, 16 * 666, 0, 0),
}

# frames.c: the callers each leaf's stack must show, in order from the leaf;
# "..." skips any frames (raise and the signal trampoline).
FRAMES_PATHS = {
    "fp_site": ["fp_site", "fp_mid", "run_all", "main"],
    "nofp_site": ["nofp_site", "nofp_big", "nofp_small", "run_all", "main"],
    "vla_site": ["vla_site", "vla_mid", "run_all", "main"],
    "sig_site": ["sig_site", "on_usr1", "...", "sig_mid", "run_all", "main"],
    "alt_site": ["alt_site", "on_usr2", "...", "alt_mid", "run_all", "main"],
    "rec_site": ["rec_site"] + ["recurse_nofp"] * 41 + ["run_all", "main"],
}

FORK_CHILD = {
    "child_alloc": (10, 10000, 10, 10000),
    "child_thread_alloc": (20, 2000, 0, 0),
}

# rate.c: site -> (object size, number of allocations at SCALE 1, kept live?)
RATE_SITES = {
    "small_site": (256, 4194304, False),
    "live_site": (4096, 65536, True),
    "big_site": (1 << 20, 1000, False),
}

SAMPLE_TYPES = [("alloc_objects", "count"), ("alloc_space", "bytes"),
                ("inuse_objects", "count"), ("inuse_space", "bytes")]

# Functions that must never be the leaf: the profiler and the allocator
# entry points are cut from every stack.
ALLOCATOR_NAMES = {"malloc", "calloc", "realloc", "free", "reallocarray", "posix_memalign",
                   "aligned_alloc", "memalign", "valloc", "pvalloc", "__libc_malloc",
                   "__libc_calloc", "__libc_realloc", "__libc_memalign"}

# ---------------------------------------------------------------------------
# Output

failures = 0


def ok(what):
    print("ok - " + what)


def not_ok(what, *details):
    global failures
    failures += 1
    print("not ok - " + what)
    for d in details:
        for line in str(d).splitlines():
            print("#   " + line)


def check(cond, what, *details):
    if cond:
        ok(what)
    else:
        not_ok(what, *details)
    return cond


# ---------------------------------------------------------------------------
# Running go tool pprof

def go_env():
    """Environment for `go`: writable caches even without HOME (CI), and no
    place where pprof could find binaries by build ID."""
    env = dict(os.environ)
    home = env.get("HOME")
    if not home or not os.access(home, os.W_OK):
        tmp = env.get("TMPDIR", "/tmp")
        env.setdefault("GOCACHE", os.path.join(tmp, "heapprof-gocache"))
        env.setdefault("GOPATH", os.path.join(tmp, "heapprof-gopath"))
    scratch = env.get("HP_TEST_TMP") or tempfile.gettempdir()
    env["PPROF_TMPDIR"] = scratch
    env["PPROF_BINARY_PATH"] = os.path.join(scratch, "no-binaries-here")
    return env


def pprof(path, *args, symbolize_none=True):
    """Runs go tool pprof ARGS PATH; returns stdout, or raises RuntimeError
    with pprof's stderr."""
    cmd = ["go", "tool", "pprof"]
    if symbolize_none:
        cmd.append("-symbolize=none")
    cmd += list(args) + [path]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=go_env(),
                       timeout=120, universal_newlines=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return r.stdout


# ---------------------------------------------------------------------------
# Parsing `go tool pprof -raw` (Profile.String() in pprof's profile package)

Frame = collections.namedtuple("Frame", "func file line sysname")
Sample = collections.namedtuple("Sample", "values locs labels numlabels")
Location = collections.namedtuple("Location", "id addr mapping frames")
Mapping = collections.namedtuple("Mapping", "id start limit offset file buildid flags")

LINE_RE = re.compile(r"^(.*) (\S*):(-?\d+) s=(-?\d+)(?:\((.*)\))?$")
LOC_RE = re.compile(r"^\s*(\d+): (0x[0-9a-f]+) (?:M=(\d+) )?(?:\[F\] )?(.*)$")
SAMPLE_RE = re.compile(r"^((?:\s+-?\d+)+): ((?:\d+ )*)$")
MAP_RE = re.compile(r"^(\d+): (0x[0-9a-f]+)/(0x[0-9a-f]+)/(0x[0-9a-f]+) (.*)$")
LABEL_RE = re.compile(r"([^\s:\[\]]+):\[([^\]]*)\]")


def parse_frame(text):
    text = text.strip()
    if text == "??":
        return Frame("??", "", 0, "")
    m = LINE_RE.match(text)
    if not m:
        return Frame(text, "", 0, "")
    name = m.group(1)
    return Frame(name, m.group(2), int(m.group(3)), m.group(5) or name)


class Profile:
    def __init__(self, raw):
        self.raw = raw
        self.header = {}
        self.sample_types = []
        self.samples = []
        self.locations = {}
        self.mappings = []
        section = "header"
        last_loc = None
        lines = raw.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            i += 1
            if section == "header":
                if line == "Samples:":
                    section = "types"
                elif ": " in line:
                    k, v = line.split(": ", 1)
                    self.header[k] = v
            elif section == "types":
                for t in line.split():
                    t = t.replace("[dflt]", "")
                    ty, _, unit = t.partition("/")
                    self.sample_types.append((ty, unit))
                section = "samples"
            elif section == "samples":
                if line == "Locations":
                    section = "locations"
                    continue
                m = SAMPLE_RE.match(line)
                if m:
                    vals = [int(x) for x in m.group(1).split()]
                    locs = [int(x) for x in m.group(2).split()]
                    self.samples.append(Sample(vals, locs, {}, {}))
                elif line.startswith(" ") and self.samples:
                    for k, v in LABEL_RE.findall(line):
                        parts = v.split()
                        nums = [p for p in parts if re.fullmatch(r"-?\d+", p)]
                        if nums and len(nums) * 2 >= len(parts):
                            self.samples[-1].numlabels[k] = [int(x) for x in nums]
                        else:
                            self.samples[-1].labels[k] = parts
            elif section == "locations":
                if line == "Mappings":
                    section = "mappings"
                    continue
                m = LOC_RE.match(line)
                if m:
                    lid = int(m.group(1))
                    rest = m.group(4)
                    frames = [parse_frame(rest)] if rest.strip() else []
                    last_loc = Location(lid, int(m.group(2), 16),
                                        int(m.group(3)) if m.group(3) else 0, frames)
                    self.locations[lid] = last_loc
                elif last_loc is not None and line.strip():
                    last_loc.frames.append(parse_frame(line))
            elif section == "mappings":
                m = MAP_RE.match(line)
                if m:
                    rest = m.group(5).rsplit(" ", 2)
                    while len(rest) < 3:
                        rest.append("")
                    self.mappings.append(Mapping(int(m.group(1)), int(m.group(2), 16),
                                                 int(m.group(3), 16), int(m.group(4), 16),
                                                 rest[0], rest[1], rest[2]))

    def stack(self, s):
        """Frames of sample s, innermost first, inlined frames expanded."""
        out = []
        for lid in s.locs:
            loc = self.locations.get(lid)
            if loc is None or not loc.frames:
                out.append(Frame("?", "", 0, ""))
            else:
                out.extend(loc.frames)
        return out

    def leaf(self, s):
        st = self.stack(s)
        return st[0] if st else Frame("?", "", 0, "")


def base_name(name):
    """'ns::f(int) const' -> 'ns::f' -> compare the last component too."""
    n = name.split("(", 1)[0].strip()
    return n


def name_is(name, want):
    b = base_name(name)
    return b == want or b.endswith("::" + want)


def load(path, moved=False):
    """Reads path with go tool pprof -raw.  moved: let pprof use its default
    symbolization (the binary is gone, so names can only come from the file)."""
    return Profile(pprof(path, "-raw", symbolize_none=not moved))


def values_for(prof, pred):
    tot = [0, 0, 0, 0]
    n = 0
    for s in prof.samples:
        if pred(s):
            n += 1
            for i in range(4):
                tot[i] += s.values[i]
    return tuple(tot), n


def leaf_summary(prof, limit=25):
    agg = collections.defaultdict(lambda: [0, 0, 0, 0])
    for s in prof.samples:
        f = prof.leaf(s).func
        for i in range(4):
            agg[f][i] += s.values[i]
    rows = sorted(agg.items(), key=lambda kv: -kv[1][1])[:limit]
    return "leaf functions seen (alloc_objects alloc_space inuse_objects inuse_space):\n" + \
        "\n".join("  %-50s %s" % (k[:50], " ".join(str(x) for x in v)) for k, v in rows)


def tag_line(src, tag):
    """Line number of the source line carrying the comment tag '@tag'."""
    with open(src) as f:
        for n, line in enumerate(f, 1):
            if re.search(r"@%s\b" % re.escape(tag), line):
                return n
    return None


# ---------------------------------------------------------------------------
# Checks

def check_common(prof, what):
    """Things every profile must satisfy."""
    check(prof.sample_types == SAMPLE_TYPES,
          "%s: sample types are alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes" % what,
          "got %s" % prof.sample_types)
    # The function that really holds the leaf address is the last Line of the
    # first Location (earlier Lines are inlined frames; glibc's ld.so has an
    # inline function called malloc, which is fine).
    def outer_leaf(s):
        loc = prof.locations.get(s.locs[0]) if s.locs else None
        return base_name(loc.frames[-1].func) if loc and loc.frames else "?"
    bad_leaf = [s for s in prof.samples if outer_leaf(s) in ALLOCATOR_NAMES or outer_leaf(s).startswith("hp_")]
    check(not bad_leaf, "%s: no stack has an allocator entry point or profiler function as leaf" % what,
          *["leaf %s in sample %s" % (outer_leaf(s), s.values) for s in bad_leaf[:5]])
    selfmaps = [m.id for m in prof.mappings if os.path.basename(m.file) == "libheapprof.so"]
    own = set()
    for s in prof.samples:
        for lid in s.locs:
            loc = prof.locations.get(lid)
            if loc and loc.mapping in selfmaps:
                own.add(", ".join(f.func for f in loc.frames) or hex(loc.addr))
    check(not own, "%s: no frame inside libheapprof.so in any stack" % what,
          *["frame %s" % o for o in sorted(own)[:5]])
    nolabel = [s for s in prof.samples if "bytes" not in s.numlabels]
    check(not nolabel, "%s: every sample has the numeric label 'bytes'" % what,
          "%d of %d samples lack it" % (len(nolabel), len(prof.samples)))


def check_truth(prof, table, what, src=None, rate1=True):
    for func, want in sorted(table.items()):
        got, n = values_for(prof, lambda s, f=func: name_is(prof.leaf(s).func, f))
        wants = want if isinstance(want, list) else [want]
        check(got in [tuple(w) for w in wants],
              "%s: %s alloc_objects/alloc_space/inuse_objects/inuse_space = %s" %
              (what, func, " or ".join("/".join(str(x) for x in w) for w in wants)),
              "got %s from %d samples" % ("/".join(str(x) for x in got), n),
              *([leaf_summary(prof)] if n == 0 else []))
        if n == 0:
            continue
        samples = [s for s in prof.samples if name_is(prof.leaf(s).func, func)]
        if rate1:
            bad = [s for s in samples if "bytes" not in s.numlabels or
                   s.values[1] != s.values[0] * s.numlabels["bytes"][0] or
                   s.values[3] != s.values[2] * s.numlabels["bytes"][0]]
            check(not bad, "%s: %s samples: space = objects x the bytes label" % (what, func),
                  *["values %s labels %s" % (s.values, s.numlabels) for s in bad[:5]])
        if src:
            line = tag_line(src, func)
            frames = [prof.leaf(s) for s in samples]
            files = {os.path.basename(f.file) for f in frames}
            lines = {f.line for f in frames}
            check(files == {os.path.basename(src)} and line in lines,
                  "%s: %s leaf frame at %s:%s" % (what, func, os.path.basename(src), line),
                  "got files %s lines %s" % (sorted(files), sorted(lines)))


def check_exact(prog, path, src, moved=False):
    what = prog + (" (binary moved away)" if moved else "")
    prof = load(path, moved)
    check(prof.header.get("Period") == "1", "%s: period is 1" % what, "got %s" % prof.header.get("Period"))
    check_common(prof, what)
    if prog == "known":
        check_truth(prof, KNOWN, what, src)
        check_known_extra(prof, what, path)
    elif prog == "threads":
        check_truth(prof, THREADS, what, src)
        for t in range(8):
            size = 32 + 8 * t
            got, n = values_for(prof, lambda s: name_is(prof.leaf(s).func, "produce") and
                                s.numlabels.get("bytes") == [size])
            check(got == (20000, 20000 * size, 100, 100 * size),
                  "%s: produce, bytes %d: 20000 allocated, 100 in use" % (what, size),
                  "got %s from %d samples" % (got, n))
    elif prog == "cxx":
        check_truth(prof, CXX, what, src)
        check_cxx_extra(prof, what)
    elif prog == "dl":
        check_truth(prof, DL, what, src)
    elif prog == "deep":
        check_truth(prof, DEEP, what, src)
    elif prog == "exitthread":
        check_truth(prof, EXITTHREAD, what, src)
    elif prog == "frames":
        check_truth(prof, FRAMES, what, src)
        check_frames_paths(prof, what)
    else:
        not_ok("no truth table for program %s" % prog)


def check_known_extra(prof, what, path):
    # Two object sizes at one call site: one sample each, told apart by the label.
    for size, want in ((16, (3, 48, 3, 48)), (1048576, (2, 2097152, 0, 0))):
        got, n = values_for(prof, lambda s: name_is(prof.leaf(s).func, "mixed_leaf") and
                            s.numlabels.get("bytes") == [size])
        check(got == want and n == 1, "%s: mixed_leaf has one sample with bytes=%d holding %s" %
              (what, size, "/".join(map(str, want))), "got %s from %d samples" % (got, n))
    # One leaf, two callers: two stacks.
    for caller, want in (("caller_x", (10, 320, 10, 320)), ("caller_y", (20, 640, 20, 640))):
        got, n = values_for(prof, lambda s: name_is(prof.leaf(s).func, "shared_leaf") and
                            len(prof.stack(s)) > 1 and name_is(prof.stack(s)[1].func, caller))
        check(got == want, "%s: shared_leaf called from %s: %s" % (what, caller, "/".join(map(str, want))),
              "got %s from %d samples" % (got, n))
    # The deep chain, in order, up to main.
    chain = ["chain_leaf"] + ["chain_%d" % i for i in range(8, 0, -1)] + ["main"]
    stacks = [[base_name(f.func) for f in prof.stack(s)] for s in prof.samples
              if name_is(prof.leaf(s).func, "chain_leaf")]
    check(any(st[:len(chain)] == chain for st in stacks),
          "%s: chain_leaf's stack is %s" % (what, " <- ".join(chain)),
          *["got %s" % " <- ".join(st[:12]) for st in stacks[:3]])
    # libc's strdup calls malloc: its frame is the leaf, strdup_site the caller.
    got, n = values_for(prof, lambda s: any(name_is(f.func, "strdup_site") for f in prof.stack(s)))
    st = [prof.stack(s) for s in prof.samples if any(name_is(f.func, "strdup_site") for f in prof.stack(s))]
    check(got == (1, 13, 1, 13) and st and "strdup" in st[0][0].func and name_is(st[0][1].func, "strdup_site"),
          "%s: strdup_site's strdup: 1 object / 13 B, leaf strdup, then strdup_site" % what,
          "got %s, stacks %s" % (got, [[f.func for f in x[:3]] for x in st]))
    # The same numbers through -top and -traces.
    try:
        top = pprof(path, "-top", "-nodefraction=0", "-nodecount=100000", "-sample_index=inuse_space", "-unit=B")
        row = [l for l in top.splitlines() if l.split() and l.split()[-1] == "leaf_a"]
        check(row and row[0].split()[0] == "19200B", "%s: pprof -top inuse_space shows leaf_a 19200B flat" % what,
              "row: %s" % (row[0] if row else "(missing)"))
        top = pprof(path, "-top", "-nodefraction=0", "-nodecount=100000", "-sample_index=alloc_objects")
        row = [l for l in top.splitlines() if l.split() and l.split()[-1] == "static_leaf"]
        check(row and row[0].split()[0] == "7", "%s: pprof -top alloc_objects shows static_leaf 7 flat" % what,
              "row: %s" % (row[0] if row else "(missing)"))
        tr = pprof(path, "-traces", "-sample_index=alloc_space")
        blocks = tr.split("-----------+-------------------------------------------------------")
        found = False
        for b in blocks:
            names = []
            for l in b.splitlines():
                p = l.split()
                if not p or p[0] == "bytes:" or l.startswith(("File:", "Type:", "Time:", "Duration:")):
                    continue
                names.append(p[-1])
            if names[:len(chain)] == chain:
                found = True
        check(found, "%s: pprof -traces shows the chain_leaf stack in order" % what)
    except RuntimeError as e:
        not_ok("%s: pprof -top/-traces" % what, e)


def path_matches(names, want):
    """names (leaf first) starts with want, where "..." matches any run of frames."""
    if not want:
        return True
    if want[0] == "...":
        return any(path_matches(names[i:], want[1:]) for i in range(len(names) + 1))
    return bool(names) and names[0] == want[0] and path_matches(names[1:], want[1:])


def check_frames_paths(prof, what):
    for leaf, want in sorted(FRAMES_PATHS.items()):
        stacks = [[base_name(f.func) for f in prof.stack(s)] for s in prof.samples
                  if name_is(prof.leaf(s).func, leaf)]
        check(stacks and all(path_matches(st, want) for st in stacks),
              "%s: %s's stack is %s" % (what, leaf, " <- ".join(
                  want if len(want) < 12 else want[:3] + ["(%d more)" % (len(want) - 5)] + want[-2:])),
              *["got %s" % " <- ".join(st[:50]) for st in stacks[:2]])


def check_same(path_a, path_b):
    """Same stacks, by function names, with the same values: two unwinders agree."""
    def stacks(path):
        prof = load(path)
        agg = collections.Counter()
        for s in prof.samples:
            key = tuple(f.func for f in prof.stack(s)), tuple(s.numlabels.get("bytes", []))
            for i, v in enumerate(s.values):
                agg[key + (i,)] += v
        return prof, agg
    pa, a = stacks(path_a)
    pb, b = stacks(path_b)
    only_a = sorted(k for k in a if a[k] != b.get(k, 0))
    only_b = sorted(k for k in b if k not in a)
    def name(path):     # the run's directory (tests name it after the run), else the file
        d = os.path.basename(os.path.dirname(os.path.abspath(path)))
        return d[:-2] if d.endswith(".d") else os.path.basename(path)
    what = "%s and %s" % (name(path_a), name(path_b))
    check(a and not only_a and not only_b,
          "%s hold the same %d stacks with the same values" % (what, len({k[0] for k in a})),
          *["differs: %s bytes=%s value %d: %s vs %s" % (" <- ".join(k[0][:12]), k[1], k[2], a.get(k, 0), b.get(k, 0))
            for k in (only_a + only_b)[:5]])


def check_totals(path_a, path_b, what):
    """The same totals of all four types, by allocation size: nothing lost
    to one of two unwinders, whatever the frames they found."""
    def totals(path):
        agg = collections.Counter()
        for s in load(path).samples:
            for i, v in enumerate(s.values):
                agg[(tuple(s.numlabels.get("bytes", [])), i)] += v
        return agg
    a, b = totals(path_a), totals(path_b)
    diff = sorted(k for k in set(a) | set(b) if a.get(k, 0) != b.get(k, 0))
    check(a and not diff, "%s: the same totals by size (%d allocated objects)" %
          (what, sum(v for k, v in a.items() if k[1] == 0)),
          *["bytes=%s value %d: %s vs %s" % (k[0], k[1], a.get(k, 0), b.get(k, 0)) for k in diff[:5]])


def check_cxx_extra(prof, what):
    for func in CXX:
        fr = [prof.leaf(s) for s in prof.samples if name_is(prof.leaf(s).func, func)]
        check(fr and all(f.sysname.startswith("_Z") and "(" in f.func for f in fr),
              "%s: %s is demangled in name, mangled in system_name" % (what, func),
              "got %s" % [(f.func, f.sysname) for f in fr[:3]])
    opnew = set()
    for s in prof.samples:
        for f in prof.stack(s):
            if "operator new" in f.func or f.sysname.startswith(("_Znw", "_Zna")):
                opnew.add(f.func)
    check(not opnew, "%s: no operator new frame in any stack" % what, "found %s" % sorted(opnew))


def check_fork_child(path, src):
    prof = load(path)
    what = "forkmt child %s" % os.path.basename(path)
    check_common(prof, what)
    check_truth(prof, FORK_CHILD, what, src)


def check_absent(path, funcs):
    prof = load(path)
    for func in funcs:
        hits = [s for s in prof.samples if any(name_is(f.func, func) for f in prof.stack(s))]
        check(not hits, "%s: no stack mentions %s" % (os.path.basename(path), func),
              "%d samples do" % len(hits))


def read_build_id(binary):
    """The GNU build ID of an ELF file, from readelf -n, or None."""
    try:
        out = subprocess.run(["readelf", "-n", binary], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, universal_newlines=True).stdout
    except OSError:
        return None
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    return m.group(1) if m else None


def check_format(path, rate, binary):
    what = os.path.basename(path)
    with open(path, "rb") as f:
        data = f.read()
    check(data[:2] == b"\x1f\x8b", "%s: file is gzip" % what)
    try:
        gzip.decompress(data)
        ok("%s: gzip stream is complete" % what)
    except Exception as e:  # a truncated file fails here
        not_ok("%s: gzip stream is complete" % what, e)
    prof = load(path)
    check_common(prof, what)
    check(prof.header.get("PeriodType") == "space bytes", "%s: period type space/bytes" % what,
          "got %s" % prof.header.get("PeriodType"))
    check(prof.header.get("Period") == str(rate), "%s: period %s" % (what, rate),
          "got %s" % prof.header.get("Period"))
    check("Time" in prof.header, "%s: time_nanos set" % what)
    check("Duration" in prof.header, "%s: duration_nanos set" % what)
    real = os.path.realpath(binary)
    mains = [m for m in prof.mappings if m.file and os.path.realpath(m.file) == real]
    if check(len(mains) >= 1, "%s: a mapping for %s" % (what, binary),
             "mappings: %s" % [m.file for m in prof.mappings]):
        m = mains[0]
        bid = read_build_id(binary)
        check(bid and m.buildid == bid, "%s: main mapping has the build ID %s" % (what, bid),
              "got '%s'" % m.buildid)
        check("[FN]" in m.flags and "[FL]" in m.flags and "[LN]" in m.flags,
              "%s: main mapping has_functions, has_filenames, has_line_numbers" % what,
              "flags '%s'" % m.flags)
    libc = [m for m in prof.mappings if re.search(r"/libc\.so", m.file)]
    check(libc and libc[0].buildid, "%s: libc mapping with a build ID" % what,
          "got %s" % [(m.file, m.buildid) for m in libc])
    if mains:
        ids = {m.id for m in mains}
        used = {l for s in prof.samples for l in s.locs}
        locs = [prof.locations[l] for l in used if l in prof.locations and prof.locations[l].mapping in ids]
        noname = [l for l in locs if not l.frames or l.frames[0].func in ("??", "")]
        check(locs and not noname, "%s: every location in %s has a function name" % (what, os.path.basename(binary)),
              "%d of %d unnamed, e.g. %s" % (len(noname), len(locs), [hex(l.addr) for l in noname[:5]]))


    if os.path.basename(binary) == "known" and rate == 1:
        # pprof -list finds the source from the file name in the profile; run
        # it away from the source tree, as a user on another directory would.
        # A relative name (DW_AT_name without DW_AT_comp_dir) fails here.
        src_line = "keep_a[i] = malloc(64);"
        r = subprocess.run(["go", "tool", "pprof", "-symbolize=none", "-list", "^leaf_a$", path],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=go_env(),
                           cwd=go_env()["PPROF_TMPDIR"], timeout=120, universal_newlines=True)
        files = sorted({f.file for l in prof.locations.values() for f in l.frames
                        if name_is(f.func, "leaf_a")})
        check(src_line in r.stdout, "%s: pprof -list leaf_a, run outside the source tree, shows the source" % what,
              "file names in the profile: %s" % files, r.stdout[-600:])


def binom_bounds(n, p, tail):
    """Smallest k_lo and largest k_hi with P(K < k_lo) <= tail and
    P(K > k_hi) <= tail for K ~ Binomial(n, p), summed exactly in log space
    over mean +- 40 sigma (outside that the mass is far below 1e-300)."""
    if p >= 1.0:
        return n, n
    mean = n * p
    sd = math.sqrt(n * p * (1 - p))
    lo = max(0, int(mean - 40 * sd - 2))
    hi = min(n, int(mean + 40 * sd + 2))
    lg = math.lgamma(n + 1)
    lp, lq = math.log(p), math.log1p(-p)
    pmf = [math.exp(lg - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * lp + (n - k) * lq)
           for k in range(lo, hi + 1)]
    acc, k_lo = 0.0, lo
    for i, v in enumerate(pmf):
        if acc + v > tail:
            k_lo = lo + i
            break
        acc += v
    acc, k_hi = 0.0, hi
    for i in range(len(pmf) - 1, -1, -1):
        if acc + pmf[i] > tail:
            k_hi = lo + i
            break
        acc += pmf[i]
    return k_lo, k_hi


def check_rate(path, rate, scale):
    """At mean sampling interval R each allocation of s bytes is sampled on
    its own with p = 1 - exp(-s/R) (sampling.md section 1), so a site with n
    such allocations has K ~ Binomial(n, p) samples and reports K*w objects
    and K*w*s bytes, w = 1/p.  We accept K in the exact central interval
    that leaves probability <= 1e-7 in each tail.  With 3 sites, alloc and
    inuse, in two runs, a correct profiler fails this test with probability
    below 2e-6 per run.  How tight it is, for R = 524288 at scale 1:
      small_site 4194304 x 256 B:  E[K] = 2047.5, sigma 45  -> about +-12 %
      live_site    65536 x 4 KiB:  E[K] = 510,    sigma 22  -> about +-23 %
      big_site      1000 x 1 MiB:  E[K] = 864.7,  sigma 11  -> about +-6.6 %
    A missing 1/p factor is off by 2048x, 128x and 1.16x (-13.5 %, outside
    big_site's bound); a mean-size shortcut cannot arise (one size per site)."""
    prof = load(path)
    what = "rate %d: %s" % (rate, os.path.basename(path))
    check_common(prof, what)
    check(prof.header.get("Period") == str(rate), "%s: period %d" % (what, rate),
          "got %s" % prof.header.get("Period"))
    tail = 1e-7
    for site, (size, n_full, live) in sorted(RATE_SITES.items()):
        n = n_full // scale
        p = -math.expm1(-size / rate)
        w = 1.0 / p
        k_lo, k_hi = binom_bounds(n, p, tail)
        got, ns = values_for(prof, lambda s: name_is(prof.leaf(s).func, site))
        lo_o, hi_o = k_lo * w - 1, k_hi * w + 1
        lo_b, hi_b = k_lo * w * size - size, k_hi * w * size + size
        truth_b = n * size
        check(lo_o <= got[0] <= hi_o and lo_b <= got[1] <= hi_b,
              "%s: %s alloc estimate %d objects / %d B within [%.0f, %.0f] objects, truth %d / %d B" %
              (what, site, got[0], got[1], lo_o, hi_o, n, truth_b),
              "bounds in bytes [%.0f, %.0f]; %d samples; E[K] = %.1f, K in [%d, %d], w = %.4f" %
              (lo_b, hi_b, ns, n * p, k_lo, k_hi, w),
              *([leaf_summary(prof)] if ns == 0 else []))
        if live:
            check(lo_o <= got[2] <= hi_o and lo_b <= got[3] <= hi_b,
                  "%s: %s in-use estimate %d objects / %d B within bounds, truth %d / %d B" %
                  (what, site, got[2], got[3], n, truth_b), "bounds [%.0f, %.0f] B" % (lo_b, hi_b))
            check(got[2:] == got[:2], "%s: %s in use = allocated (nothing freed)" % (what, site),
                  "got %s" % (got,))
        else:
            check(got[2] == 0 and got[3] == 0, "%s: %s in use is exactly 0 (all freed)" % (what, site),
                  "got %s" % (got,))
        # Per-sample weights: a count is K*w for an integer K, bytes = count * size.
        samples = [s for s in prof.samples if name_is(prof.leaf(s).func, site)]
        bad = []
        for s in samples:
            k = round(s.values[0] / w)
            if (w >= 4 and abs(s.values[0] - k * w) > 1.0) or abs(s.values[1] - s.values[0] * size) > size:
                bad.append(s.values)
        check(ns > 0 and not bad, "%s: %s counts are whole samples times w = %.4f, bytes = count x %d" %
              (what, site, w, size), *["values %s" % b for b in bad[:5]])


def check_depth(path, depth):
    prof = load(path)
    what = "deep, HEAPPROF_DEPTH %s" % (depth or "default")
    limit = int(depth) if depth else 64
    st = [prof.stack(s) for s in prof.samples if name_is(prof.leaf(s).func, "bottom_alloc")]
    got, n = values_for(prof, lambda s: name_is(prof.leaf(s).func, "bottom_alloc"))
    check(got == DEEP["bottom_alloc"], "%s: bottom_alloc %s" % (what, DEEP["bottom_alloc"]),
          "got %s from %d samples" % (got, n))
    lens = sorted({len(x) for x in st})
    check(st and all(limit - 8 <= len(x) <= limit for x in st),
          "%s: stacks cut to between %d and %d frames" % (what, limit - 8, limit), "lengths %s" % lens)
    check(st and all(all(name_is(f.func, "recurse") for f in x[1:]) for x in st),
          "%s: every frame above bottom_alloc is recurse" % what,
          *["%s" % [f.func for f in x[:5]] for x in st[:2]])


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    try:
        if cmd == "exact":
            check_exact(args[0], args[1], args[2], moved="--moved" in args)
        elif cmd == "same":
            check_same(args[0], args[1])
        elif cmd == "totals":
            check_totals(args[0], args[1], args[2])
        elif cmd == "fork-child":
            check_fork_child(args[0], args[1])
        elif cmd == "absent":
            check_absent(args[0], args[1:])
        elif cmd == "format":
            check_format(args[0], int(args[1]), args[2])
        elif cmd == "rate":
            check_rate(args[0], int(args[1]), int(args[2]))
        elif cmd == "depth":
            check_depth(args[0], args[1] if len(args) > 1 else "")
        else:
            print("lib_pprof.py: unknown check '%s'" % cmd, file=sys.stderr)
            return 2
    except RuntimeError as e:
        not_ok("%s %s: go tool pprof could not read the profile" % (cmd, " ".join(args)), e)
    except Exception:  # a bug here, or output we could not parse: still one result line
        import traceback
        not_ok("lib_pprof.py %s %s ran to the end" % (cmd, " ".join(args)), traceback.format_exc())
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
