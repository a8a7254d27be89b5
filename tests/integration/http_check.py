#!/usr/bin/env python3
"""http_check.py - checks heapprof's pprof HTTP endpoint (HEAPPROF_HTTP).

Used by tests/integration/http_*.sh against a running tests/progs/httpserve
started with HEAPPROF_RATE=1, so every number is exact (see the truth table
at the top of httpserve.c).  Profiles are read with `go tool pprof` fetching
the URL itself, through lib_pprof.py's -raw parser; protocol checks use raw
sockets (stdlib only).  Every network action has a timeout and talks to
127.0.0.1 only.

Usage: http_check.py CHECK ADDR [ARGS...]; prints "ok - ..." / "not ok - ..."
lines and exits 1 if any check failed.  Checks:

  pprof ADDR              heap, allocs and ?debug=1 read by go tool pprof, exact values
  delta ADDR PID          ?seconds=2 with SIGUSR1 to PID inside the window; other
                          requests are answered meanwhile
  after ADDR              heap and ?debug=1 once the window's frees happened
  proto ADDR ARGV...      status codes, headers, garbage, limits, idle and vanishing clients
  listen ADDR             the listening socket is bound to 127.0.0.1 (/proc/net/tcp)
  exit ADDR PID SECONDS   PID leaves within SECONDS of SIGHUP while clients are busy
  refused ADDR            nothing listens on ADDR any more
  quiet ADDR PID FILE     idle connections open, SIGUSR2 to PID, FILE (its dump) written:
                          the connections got no byte (a HEAPTRACE line went to stderr)
  served ADDR PID MIN     GET /debug/pprof/heap over and over until PID exits: at
                          least MIN complete gzipped profiles
"""

import os
import random
import signal
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib_pprof  # noqa: E402  (go tool pprof runner and -raw parser)
from lib_pprof import check, not_ok  # noqa: E402

# httpserve.c's truth at rate 1: leaf -> (alloc_objects, alloc_space, inuse_objects, inuse_space)
BEFORE = {
    "keep_leaf": (100, 100000, 100, 100000),
    "temp_leaf": (50, 100000, 50, 100000),
    "size_leaf": (500, 132750, 500, 132750),
}
AFTER = dict(BEFORE, temp_leaf=(50, 100000, 0, 0), window_leaf=(200, 102400, 200, 102400))
DELTA = {"window_leaf": (200, 102400, 200, 102400), "temp_leaf": (0, 0, -50, -100000)}


# ---------------------------------------------------------------------------
# Raw HTTP over sockets

def connect(addr, timeout=5.0):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=timeout)
    s.settimeout(timeout)
    return s


def read_all(s, limit=1 << 26):
    data = b""
    while len(data) < limit:
        try:
            b = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not b:
            break
        data += b
    return data


def exchange(addr, raw, timeout=5.0):
    """Sends raw bytes, reads to EOF.  Returns (status, headers, body, seconds)."""
    t0 = time.monotonic()
    s = connect(addr, timeout)
    try:
        s.sendall(raw)
        data = read_all(s)
    finally:
        s.close()
    return parse(data) + (time.monotonic() - t0,)


def parse(data):
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return 0, {}, data
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        status = 0
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def get(addr, path, version="HTTP/1.1", method="GET", extra=""):
    host = "Host: %s\r\n" % addr if version == "HTTP/1.1" else ""
    return exchange(addr, ("%s %s %s\r\n%s%s\r\n" % (method, path, version, host, extra)).encode())


# ---------------------------------------------------------------------------
# Profiles through go tool pprof

def url(addr, path):
    return "http://%s%s" % (addr, path)


def by_leaf(prof, leaves):
    """Sums of the samples whose leaf is each function of leaves."""
    out = {}
    for leaf in leaves:
        tot = None
        for s in prof.samples:
            if lib_pprof.name_is(prof.leaf(s).func, leaf):
                tot = [a + b for a, b in zip(tot or [0] * len(s.values), s.values)]
        out[leaf] = tuple(tot) if tot else None
    return out


def summary(prof):
    agg = {}
    for s in prof.samples:
        f = prof.leaf(s).func
        agg[f] = [a + b for a, b in zip(agg.get(f, [0] * len(s.values)), s.values)]
    return "leaf functions seen:\n" + "\n".join("  %-40s %s" % (k[:40], " ".join(map(str, v)))
                                                 for k, v in sorted(agg.items()))


def check_truth(prof, truth, what):
    got = by_leaf(prof, truth)
    for leaf, want in sorted(truth.items()):
        check(got[leaf] == tuple(want), "%s: %s is %s" % (what, leaf, "/".join(map(str, want))),
              "got %s" % (got[leaf],), summary(prof))


def check_pprof(addr, truth=BEFORE, label="heap"):
    prof = lib_pprof.Profile(lib_pprof.pprof(url(addr, "/debug/pprof/heap"), "-raw"))
    check(prof.sample_types == lib_pprof.SAMPLE_TYPES, "%s over HTTP: four Go heap sample types" % label,
          prof.sample_types)
    check(prof.header.get("Period") == "1", "%s over HTTP: period 1 (HEAPPROF_RATE=1)" % label,
          prof.header)
    check_truth(prof, truth, "%s over HTTP" % label)

    # What a user types: no flags, pprof's own symbolization on.
    top = lib_pprof.pprof(url(addr, "/debug/pprof/heap"), "-top", symbolize_none=False)
    check("Type: inuse_space" in top and "keep_leaf" in top and "size_leaf" in top,
          "go tool pprof -top URL/heap: inuse_space by default, function names", top[:1500])
    top = lib_pprof.pprof(url(addr, "/debug/pprof/allocs"), "-top", symbolize_none=False)
    check("Type: alloc_space" in top and "keep_leaf" in top,
          "go tool pprof -top URL/allocs: alloc_space by default, function names", top[:1500])
    prof = lib_pprof.Profile(lib_pprof.pprof(url(addr, "/debug/pprof/allocs"), "-raw"))
    check_truth(prof, truth, "allocs over HTTP")


def check_legacy(addr, truth, label):
    """?debug=1, read by pprof's legacy parser and symbolized by pprof itself
    (the binaries for the test program, /debug/pprof/symbol for the rest)."""
    raw = lib_pprof.pprof(url(addr, "/debug/pprof/heap?debug=1"), "-raw", symbolize_none=False)
    prof = lib_pprof.Profile(raw)
    freed = any(v[2] != v[0] for v in truth.values())
    if freed:
        types = lib_pprof.SAMPLE_TYPES
        want = truth
    else:   # pprof reads a text profile with nothing freed as in-use only
        types = [("objects", "count"), ("space", "bytes")]
        want = {k: v[2:] for k, v in truth.items()}
    check(prof.sample_types == types, "%s ?debug=1: go tool pprof reads it, sample types %s"
          % (label, " ".join(t for t, _ in types)), prof.sample_types, raw[:1500])
    check(prof.header.get("Period") == "1", "%s ?debug=1: period 1 (heap/2 halved)" % label, prof.header)
    check_truth(prof, want, "%s ?debug=1" % label)
    libc = [f.func for loc in prof.locations.values() for f in loc.frames
            if f.func.startswith("__libc_start")]
    check(libc, "%s ?debug=1: libc frames named through /debug/pprof/symbol" % label,
          raw[raw.find("Locations"):][:1500])


def check_symbol(addr):
    status, h, body, _ = get(addr, "/debug/pprof/symbol")
    check(status == 200 and body.startswith(b"num_symbols: 1\n"),
          "GET /debug/pprof/symbol: num_symbols: 1", status, body[:200])
    text = exchange(addr, b"GET /debug/pprof/heap?debug=1 HTTP/1.0\r\n\r\n")[2].decode()
    pcs = text.splitlines()[1].split("@")[1].split()
    leaf = "%#x" % (int(pcs[0], 16) - 1)
    body = "%s+0x0+junk" % leaf
    raw = ("POST /debug/pprof/symbol HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
           % (len(body), body)).encode()
    status, h, resp, _ = exchange(addr, raw)
    lines = resp.decode().splitlines()
    check(status == 200 and len(lines) == 2 and lines[1].split()[0] == leaf,
          "POST /debug/pprof/symbol names a sampled address, skips unknown ones", lines)


def check_delta(addr, pid):
    result = {}

    def fetch():
        try:
            result["raw"] = lib_pprof.pprof(url(addr, "/debug/pprof/heap?seconds=2"), "-raw")
        except Exception as e:  # reported below
            result["err"] = e

    t0 = time.monotonic()
    th = threading.Thread(target=fetch)
    th.start()
    time.sleep(0.7)
    status, _, body, secs = get(addr, "/debug/pprof/allocs")
    check(status == 200 and body[:2] == b"\x1f\x8b" and secs < 1.5,
          "a request during a ?seconds window is answered at once (%.2f s)" % secs, status)
    os.kill(pid, signal.SIGUSR1)
    th.join(60)
    took = time.monotonic() - t0
    if "raw" not in result:
        not_ok("heap?seconds=2 read by go tool pprof", result.get("err", "timed out"))
        return
    prof = lib_pprof.Profile(result["raw"])
    check(2.0 <= took < 6, "heap?seconds=2 took about 2 s (%.2f s)" % took)
    check(prof.header.get("Duration", "").startswith("2."), "delta: duration is the window",
          prof.header)
    check_truth(prof, DELTA, "heap?seconds=2 delta")
    got = by_leaf(prof, ["keep_leaf", "size_leaf"])
    check(got == {"keep_leaf": None, "size_leaf": None},
          "delta: allocations from before the window are absent", got)


def check_after(addr):
    check_pprof(addr, AFTER, "heap after the window")
    check_legacy(addr, AFTER, "heap after the window")


# ---------------------------------------------------------------------------
# Protocol and robustness

def check_proto(addr, argv):
    # index, cmdline, HEAD, HTTP/1.0
    status, h, body, _ = get(addr, "/debug/pprof/")
    check(status == 200 and h.get("content-type", "").startswith("text/html") and b'href="heap"' in body
          and h.get("content-length") == str(len(body)) and h.get("connection") == "close",
          "GET /debug/pprof/: HTML index, Content-Length, Connection: close", status, h)
    status, h, body, _ = get(addr, "/debug/pprof", version="HTTP/1.0")
    check(status == 301 and h.get("location") == "/debug/pprof/", "/debug/pprof redirects to /debug/pprof/",
          status, h)
    status, h, body, _ = get(addr, "/debug/pprof/cmdline", version="HTTP/1.0")
    check(status == 200 and body == "\0".join(argv).encode(), "HTTP/1.0 GET /debug/pprof/cmdline: argv joined by NUL",
          status, body[:200])
    status, h, body, _ = get(addr, "/debug/pprof/heap", method="HEAD")
    check(status == 200 and body == b"" and int(h.get("content-length", "0")) > 0,
          "HEAD /debug/pprof/heap: headers with Content-Length, no body", status, h, len(body))
    status, h, body, _ = get(addr, "/debug/pprof/heap")
    check(status == 200 and body[:2] == b"\x1f\x8b" and h.get("content-length") == str(len(body))
          and h.get("content-type") == "application/octet-stream",
          "GET /debug/pprof/heap: gzip body, octet-stream, exact Content-Length", status, h)

    # status codes
    cases = [
        ("404 for an unknown path", b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404),
        ("404 for a Go profile heapprof has not", b"GET /debug/pprof/goroutine HTTP/1.1\r\nHost: x\r\n\r\n", 404),
        ("405 for POST", b"POST /debug/pprof/heap HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
        ("405 for DELETE", b"DELETE /debug/pprof/allocs HTTP/1.1\r\nHost: x\r\n\r\n", 405),
        ("400 without an HTTP version", b"GET /debug/pprof/heap\r\n\r\n", 400),
        ("400 for two spaces in the request line", b"GET  /debug/pprof/heap HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("400 for HTTP/1.1 without Host", b"GET /debug/pprof/heap HTTP/1.1\r\n\r\n", 400),
        ("400 for a header line without a colon", b"GET /debug/pprof/ HTTP/1.1\r\nHost: x\r\nbad\r\n\r\n", 400),
        ("400 for a folded header line", b"GET /debug/pprof/ HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
        ("400 for a relative target", b"GET debug/pprof/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("505 for HTTP/2.0", b"GET /debug/pprof/ HTTP/2.0\r\n\r\n", 505),
        ("400 for seconds=abc", b"GET /debug/pprof/heap?seconds=abc HTTP/1.0\r\n\r\n", 400),
        ("400 for seconds=0", b"GET /debug/pprof/heap?seconds=0 HTTP/1.0\r\n\r\n", 400),
        ("400 for seconds=1000 (over the limit)", b"GET /debug/pprof/heap?seconds=1000 HTTP/1.0\r\n\r\n", 400),
        ("400 for seconds with debug", b"GET /debug/pprof/heap?seconds=1&debug=1 HTTP/1.0\r\n\r\n", 400),
        ("411 for a symbol POST without Content-Length",
         b"POST /debug/pprof/symbol HTTP/1.1\r\nHost: x\r\n\r\n", 411),
        ("413 for a symbol POST over 1 MiB",
         b"POST /debug/pprof/symbol HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", 413),
        ("431 for a request over 8 KiB", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 431),
        ("431 for 9 KiB without a line end", b"A" * 9000, 431),
    ]
    for what, raw, want in cases:
        status, h, body, secs = exchange(addr, raw)
        extra = ""
        if want == 405:
            extra = h.get("allow", "")
        check(status == want and secs < 2 and (want != 405 or extra == "GET, HEAD"),
              "%s (%.2f s)%s" % (what, secs, ", Allow: " + extra if want == 405 else ""), status, h, body[:200])

    # garbage: random bytes (with NULs and control bytes) get a 400 at once
    rnd = random.Random(6)
    bad = 0
    for i in range(20):
        junk = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300)))
        if junk[:1] in (b"\r", b"\n"):
            junk = b"\x00" + junk
        status, _, _, secs = exchange(addr, junk)
        if status != 400 or secs > 2:
            bad += 1
    check(bad == 0, "20 random garbage requests: each gets 400 at once", "%d did not" % bad)

    # an idle connection, and one that sent half a request, do not block others
    idle = connect(addr)
    half = connect(addr)
    half.sendall(b"GET /debug/pprof/heap HTTP/1.1\r\nHo")
    status, _, body, secs = get(addr, "/debug/pprof/heap")
    check(status == 200 and body[:2] == b"\x1f\x8b" and secs < 2,
          "heap is served while two other connections sit idle (%.2f s)" % secs, status)
    # ...and the server drops them after its 5 s request timeout
    t0 = time.monotonic()
    idle.settimeout(10)
    half.settimeout(10)
    try:
        gone = idle.recv(10) == b"" and half.recv(10) == b""
    except (socket.timeout, ConnectionResetError) as e:
        gone = isinstance(e, ConnectionResetError)
    took = time.monotonic() - t0
    check(gone and 3 < took < 8, "idle connections are dropped after the request timeout (%.1f s)" % took)
    idle.close()
    half.close()

    # more idle connections than the server keeps: the oldest make room
    idles = [connect(addr) for _ in range(40)]
    time.sleep(0.2)
    status, _, body, secs = get(addr, "/debug/pprof/heap")
    check(status == 200 and secs < 2, "heap is served while 40 idle connections are open (%.2f s)" % secs,
          status)
    for s in idles:
        s.close()

    # ?seconds= windows take at most half the server's 16 slots: with 8
    # open, a 9th is refused at once (503) and the rest is served at once.
    # 16 windows held every slot, and the index waited the windows out.
    windows = []
    for _ in range(8):
        w = connect(addr)
        w.sendall(b"GET /debug/pprof/heap?seconds=20 HTTP/1.0\r\n\r\n")
        windows.append(w)
    time.sleep(0.3)
    status, headers, body, secs = get(addr, "/debug/pprof/heap?seconds=20")
    check(status == 503 and secs < 2 and headers.get("retry-after") == "10",
          "a 9th ?seconds window is refused at once: 503 with Retry-After (%.2f s)" % secs, status, body[:200])
    status, _, body, secs = get(addr, "/debug/pprof/")
    check(status == 200 and secs < 2, "the index is served while 8 windows are open (%.2f s)" % secs, status)
    for w in windows:
        w.close()
    time.sleep(0.3)

    # clients that vanish mid-response: a small receive window, a few bytes
    # read, then a reset (SO_LINGER 0); the big ?debug=1 text is still being sent
    for i in range(5):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        s.settimeout(5)
        host, port = addr.rsplit(":", 1)
        s.connect((host, int(port)))
        s.sendall(b"GET /debug/pprof/heap?debug=1 HTTP/1.0\r\n\r\n")
        s.recv(100)
        time.sleep(0.3)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    # and ones that leave before the answer, or during a ?seconds window
    for path in ("/debug/pprof/heap", "/debug/pprof/heap?seconds=30"):
        s = connect(addr)
        s.sendall(("GET %s HTTP/1.0\r\n\r\n" % path).encode())
        s.close()
    status, _, body, secs = get(addr, "/debug/pprof/heap?debug=1")
    check(status == 200 and body.startswith(b"heap profile:") and b"MAPPED_LIBRARIES:" in body,
          "still serving after 7 clients hung up mid-response (?debug=1 is %d KiB)" % (len(body) // 1024),
          status)

    check_symbol(addr)


def check_listen(addr):
    host, port = addr.rsplit(":", 1)
    port = int(port)
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, state = fields[1], fields[3]
                    a, p = local.split(":")
                    if int(p, 16) == port and state == "0A":
                        found.append((table, a))
        except FileNotFoundError:
            pass
    check(found == [("/proc/net/tcp", "0100007F")],
          "the listening socket is bound to 127.0.0.1:%d only" % port, found)


def proc_gone(pid):
    """Exited: a zombie, or reaped already.  The test shell reaps its child
    at any moment, so the file can vanish between open and read (ESRCH, or
    an empty read)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().split(") ", 1)
    except OSError:
        return True
    return len(fields) < 2 or fields[1].split()[0] == "Z"


def check_exit(addr, pid, limit):
    """The program exits at once while the server has a ?seconds window
    open, an idle client and a response nobody reads."""
    busy = []
    s = connect(addr)
    s.sendall(b"GET /debug/pprof/allocs?seconds=60 HTTP/1.0\r\n\r\n")
    busy.append(s)
    busy.append(connect(addr))
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    host, port = addr.rsplit(":", 1)
    s.settimeout(5)
    s.connect((host, int(port)))
    s.sendall(b"GET /debug/pprof/heap?debug=1 HTTP/1.0\r\n\r\n")
    busy.append(s)
    time.sleep(0.5)
    t0 = time.monotonic()
    os.kill(pid, signal.SIGHUP)
    while not proc_gone(pid) and time.monotonic() - t0 < 10:
        time.sleep(0.02)
    took = time.monotonic() - t0
    check(proc_gone(pid) and took < limit,
          "exit(0) with busy clients finishes in %.2f s (limit %s s)" % (took, limit))
    for s in busy:
        s.close()


def check_quiet(addr, pid, path):
    """Once main has gone, the dumper thread asks another thread of the
    program for its stderr; the HTTP server's thread, whose own table has
    the connections at fds 1 and 2, must not be the one asked."""
    conns = [connect(addr) for _ in range(3)]
    time.sleep(0.3)
    os.kill(pid, signal.SIGUSR2)
    t0 = time.monotonic()
    while not os.path.exists(path) and time.monotonic() - t0 < 10:
        time.sleep(0.05)
    time.sleep(0.3)
    got = []
    for s in conns:
        s.setblocking(False)
        try:
            got.append(s.recv(4096))
        except BlockingIOError:
            pass
        s.close()
    check(os.path.exists(path) and not any(got), "a dump after main left: idle connections get nothing from it",
          "dump %s; received %r" % (os.path.exists(path), got))


def check_served(addr, pid, least):
    """Profiles asked for back to back while the program (closerange.c)
    closes every descriptor above 2 again and again, its copy of the
    listening socket among them: the server, in a descriptor table of its
    own, keeps answering."""
    good = bad = 0
    while not proc_gone(pid):
        try:
            status, _, body, _ = get(addr, "/debug/pprof/heap")
        except OSError:
            bad += 1
            time.sleep(0.05)
            continue
        if status == 200 and body[:2] == b"\x1f\x8b":
            good += 1
        else:
            bad += 1
    check(good >= least, "%d profiles served while the program closed its descriptors (at least %d)" % (good, least),
          "%d requests failed" % bad)


def check_refused(addr):
    try:
        s = connect(addr, 3)
        s.close()
        check(False, "nothing listens on %s any more" % addr, "connected")
    except ConnectionRefusedError:
        check(True, "nothing listens on %s any more" % addr)
    except OSError as e:
        check(False, "nothing listens on %s any more" % addr, e)


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    cmd, addr, args = argv[1], argv[2], argv[3:]
    try:
        if cmd == "pprof":
            check_pprof(addr)
            check_legacy(addr, BEFORE, "heap")
        elif cmd == "delta":
            check_delta(addr, int(args[0]))
        elif cmd == "after":
            check_after(addr)
        elif cmd == "proto":
            check_proto(addr, args)
        elif cmd == "listen":
            check_listen(addr)
        elif cmd == "exit":
            check_exit(addr, int(args[0]), float(args[1]))
        elif cmd == "quiet":
            check_quiet(addr, int(args[0]), args[1])
        elif cmd == "served":
            check_served(addr, int(args[0]), int(args[1]))
        elif cmd == "refused":
            check_refused(addr)
        else:
            print("http_check.py: unknown check '%s'" % cmd, file=sys.stderr)
            return 2
    except RuntimeError as e:
        not_ok("%s %s: go tool pprof could not read the profile" % (cmd, addr), e)
    except Exception:  # a bug here or a server that broke the protocol: still a result line
        import traceback
        not_ok("http_check.py %s %s ran to the end" % (cmd, addr), traceback.format_exc())
    return 1 if lib_pprof.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
