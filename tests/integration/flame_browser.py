#!/usr/bin/env python3
"""flame_browser.py - checks heapprof's flame graph SVG in a real browser.

Run by flame_browser.sh.  Renders the sample stacks with flame_gen (which
calls flame_write_svg()), opens the SVG over file:// in headless Chromium and
drives it through the DevTools protocol: real mouse and key events, DOM state
read back with Runtime.evaluate.  Only the standard library is used; the
websocket client below is the small part of RFC 6455 the protocol needs.

Every wait has a deadline and a watchdog alarm ends the run, so the test
cannot hang; Chromium runs in its own process group, which is killed at
the end.  Prints `ok - ...` / `not ok - ...` lines; exits 1 if any failed.
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

SVG_NS = "{http://www.w3.org/2000/svg}"
FULLW = 1180.0          # image width 1200 less 2 x 10 px padding
MATCH = "rgb(230, 0, 230)"
failures = 0


def report(ok, what, detail=""):
    global failures
    if ok:
        print("ok - browser: " + what, flush=True)
    else:
        failures += 1
        print("not ok - browser: " + what + (" (%s)" % detail if detail else ""), flush=True)


class WebSocket:
    """A blocking websocket client: text frames out (masked), frames in."""
    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, url, timeout=10):
        m = re.match(r"ws://([^/:]+):(\d+)(/.*)$", url)
        if not m:
            raise ValueError("bad websocket url " + url)
        host, port, path = m.group(1), int(m.group(2)), m.group(3)
        deadline = time.monotonic() + timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key)).encode())
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        head = head.decode("latin-1")
        accept = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
        if not head.startswith("HTTP/1.1 101") or accept not in head:
            raise ConnectionError("websocket handshake refused: " + head.splitlines()[0])

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("websocket read timed out")
        self.sock.settimeout(left)
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError("websocket closed by browser")
        self.buf += data

    def _take(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode, data):
        n = len(data)
        hdr = bytes([0x80 | opcode])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 1 << 16:
            hdr += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        k = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
        body = (int.from_bytes(data, "big") ^ k).to_bytes(n, "big") if n else b""
        self.sock.settimeout(10)
        self.sock.sendall(hdr + mask + body)

    def send(self, text):
        self._send_frame(0x1, text.encode())

    def recv(self, deadline):
        """Returns the next complete text message; answers pings."""
        msg = b""
        while True:
            b0, b1 = self._take(2, deadline)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._take(2, deadline))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._take(8, deadline))[0]
            mask = self._take(4, deadline) if b1 & 0x80 else None
            data = self._take(n, deadline)
            if mask:
                data = bytes(c ^ mask[i & 3] for i, c in enumerate(data))
            op = b0 & 0x0F
            if op == 0x9:
                self._send_frame(0xA, data)
                continue
            if op == 0xA:
                continue
            if op == 0x8:
                raise ConnectionError("websocket closed by browser")
            msg += data
            if b0 & 0x80:
                return msg.decode("utf-8", "replace")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class CDP:
    """DevTools protocol over one page's websocket: calls, results, events."""

    def __init__(self, ws):
        self.ws, self.next_id, self.events, self.results = ws, 0, [], {}

    def send(self, method, params=None):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params or {}}))
        return self.next_id

    def _pump(self, deadline):
        m = json.loads(self.ws.recv(deadline))
        if "id" in m:
            self.results[m["id"]] = m
        else:
            self.events.append(m)

    def result(self, mid, timeout=15):
        deadline = time.monotonic() + timeout
        while mid not in self.results:
            self._pump(deadline)
        m = self.results.pop(mid)
        if "error" in m:
            raise RuntimeError("DevTools error: %s" % m["error"].get("message"))
        return m.get("result", {})

    def call(self, method, params=None, timeout=15):
        return self.result(self.send(method, params), timeout)

    def wait_event(self, name, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == name:
                    return self.events.pop(i).get("params", {})
            self._pump(deadline)

    def eval(self, expr, timeout=15):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise RuntimeError("script error: %s" % (d.get("exception", {}).get("description") or d.get("text")))
        return r.get("result", {}).get("value")


class Browser:
    """Headless Chromium in its own process group with a fresh profile."""

    def __init__(self, exe, timeout=30):
        self.profile = tempfile.mkdtemp(prefix="heapprof-chromium-")
        self.stderr = []
        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
             "--no-default-browser-check", "--remote-debugging-port=0",
             "--user-data-dir=" + self.profile, "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        url, pending = None, b""
        fd = self.proc.stderr.fileno()
        while url is None:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise RuntimeError("chromium did not start: " + pending.decode("utf-8", "replace")[-500:])
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 4096)
                if not chunk:
                    continue
                pending += chunk
                m = re.search(rb"DevTools listening on (ws://\S+)", pending)
                if m:
                    url = m.group(1).decode()
        # Keep draining stderr so a chatty browser never blocks on a full pipe.
        threading.Thread(target=self._drain, args=(fd,), daemon=True).start()
        self.ws_url = url
        m = re.match(r"ws://([^/]+)/", url)
        self.hostport = m.group(1)

    def _drain(self, fd):
        try:
            while os.read(fd, 65536):
                pass
        except OSError:
            pass

    def page(self):
        """Returns a CDP session on the first page target."""
        host, port = self.hostport.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", "/json/list")
        targets = json.loads(conn.getresponse().read())
        conn.close()
        pages = [t for t in targets if t.get("type") == "page" and "webSocketDebuggerUrl" in t]
        if not pages:
            raise RuntimeError("no page target in /json/list")
        self.ws = WebSocket(pages[0]["webSocketDebuggerUrl"])
        return CDP(self.ws)

    def close(self):
        if getattr(self, "ws", None):
            self.ws.close()
        # SIGTERM lets Chromium shut down; then SIGKILL whatever of its group
        # (renderers, zygotes) is left.  The group is ours: start_new_session.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


def read_folded(path):
    stacks = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^(.*\S)\s+(\d+(?:\.\d*)?)$", line.rstrip("\n"))
            if m:
                stacks.append((m.group(1).split(";"), float(m.group(2))))
    return stacks


def matched_pct(stacks, regex):
    """Share of the total under frames matching regex, nested matches once."""
    total = sum(v for _, v in stacks)
    hit = sum(v for frames, v in stacks if any(re.search(regex, f) for f in frames))
    return 100.0 * hit / total


def render(gen, folded_text, svg, args):
    with open(svg, "w") as out:
        subprocess.run([gen] + args, input=folded_text.encode(), stdout=out, check=True, timeout=30)
    root = ET.parse(svg).getroot()
    frames = root.find(".//%sg[@id='frames']" % SVG_NS)
    return int(float(root.get("height"))), len(frames.findall(SVG_NS + "g"))


def load(cdp, svg, height):
    cdp.call("Emulation.setDeviceMetricsOverride",
             {"width": 1200, "height": min(height, 4000), "deviceScaleFactor": 1, "mobile": False})
    cdp.events.clear()
    cdp.call("Page.navigate", {"url": "file://" + os.path.abspath(svg)})
    cdp.wait_event("Page.loadEventFired", 20)
    deadline = time.monotonic() + 10
    while not cdp.eval("typeof fgReady !== 'undefined' && fgReady === true"):
        if time.monotonic() > deadline:
            raise RuntimeError("init() did not run")
        time.sleep(0.05)


# Geometry and state of every frame called name, from the live DOM.
FRAMES_JS = """(function (name) {
    var out = [];
    fgFrames.forEach(function (f) {
        if (name !== null && f.name !== name) return;
        var b = f.r.getBoundingClientRect();
        out.push({ name: f.name, x: b.x, y: b.y, w: b.width, h: b.height,
            aw: parseFloat(f.r.getAttribute("width")), ax: parseFloat(f.r.getAttribute("x")),
            parent: f.g.classList.contains("parent"), fill: getComputedStyle(f.r).fill,
            label: f.t.textContent });
    });
    return out;
})(%s)"""


def frames(cdp, name=None):
    return cdp.eval(FRAMES_JS % json.dumps(name))


def one(cdp, name):
    fs = frames(cdp, name)
    if len(fs) != 1:
        raise RuntimeError("expected one frame %r, found %d" % (name, len(fs)))
    return fs[0]


def text_of(cdp, id_):
    return cdp.eval("(function(){var e=document.getElementById(%s);"
                    "return [e.textContent, getComputedStyle(e).display !== 'none'];})()" % json.dumps(id_))


def mouse_click(cdp, x, y, wait=True):
    cdp.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
    cdp.call("Input.dispatchMouseEvent", {"type": "mousePressed", "x": x, "y": y, "button": "left", "clickCount": 1})
    mid = cdp.send("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": x, "y": y, "button": "left", "clickCount": 1})
    if wait:
        cdp.result(mid)
    return mid


def centre(f):
    return f["x"] + f["w"] / 2, f["y"] + f["h"] / 2


def answer_prompt(cdp, pending_id, text):
    """A prompt() is opening because of request pending_id: type text, OK."""
    dlg = cdp.wait_event("Page.javascriptDialogOpening", 10)
    cdp.call("Page.handleJavaScriptDialog", {"accept": True, "promptText": text})
    cdp.result(pending_id)
    return dlg


def close(a, b, tol=0.5):
    return abs(a - b) <= tol


def check_zoom(cdp, tag, target, ancestors, descendant, unrelated):
    before_t, before_d = one(cdp, target), one(cdp, descendant)
    mouse_click(cdp, *centre(before_t))
    t = one(cdp, target)
    report(close(t["w"], FULLW) and close(t["aw"], FULLW) and close(t["x"], 10) and not t["parent"],
           "%s: click on %s zooms it to the full width" % (tag, target),
           "width %.2f, x %.2f" % (t["w"], t["x"]))
    d = one(cdp, descendant)
    want = before_d["w"] * FULLW / before_t["w"]
    report(close(d["w"], want, 0.5 + want * 0.001) and d["label"] != "",
           "%s: descendant %s rescaled (%.1f -> %.1f px)" % (tag, descendant, before_d["w"], d["w"]),
           "want %.1f px, label %r" % (want, d["label"]))
    bad = [a for a in ancestors if not (one(cdp, a)["parent"] and close(one(cdp, a)["w"], FULLW))]
    report(not bad, "%s: ancestors dimmed at full width" % tag, "not: %s" % bad)
    shown = [u for u in unrelated if one(cdp, u)["w"] > 0]
    report(not shown, "%s: unrelated frames hidden" % tag, "still shown: %s" % shown)
    label, visible = text_of(cdp, "unzoom")
    report(visible and label == "Reset Zoom", "%s: Reset Zoom shown" % tag)
    # Zoom out with the real control.
    u = cdp.eval("(function(){var b=document.getElementById('unzoom').getBoundingClientRect();"
                 "return {x:b.x,y:b.y,w:b.width,h:b.height};})()")
    mouse_click(cdp, *centre(u))
    t, d = one(cdp, target), one(cdp, descendant)
    hidden = [f["name"] for f in frames(cdp) if f["w"] <= 0 or f["parent"]]
    report(close(t["w"], before_t["w"], 0.02) and close(d["x"], before_d["x"], 0.02) and not hidden
           and not text_of(cdp, "unzoom")[1],
           "%s: Reset Zoom restores every frame" % tag, "hidden/dimmed: %s" % hidden[:5])


def check_search(cdp, stacks, regex, how):
    names = [f["name"] for f in frames(cdp)]
    want_hits = sorted(n for n in names if re.search(regex, n))
    fs = frames(cdp)
    hits = sorted(f["name"] for f in fs if f["fill"] == MATCH)
    report(hits == want_hits and want_hits, "search %r by %s highlights the %d matching frames"
           % (regex, how, len(want_hits)), "got %s" % hits)
    text, visible = text_of(cdp, "matched")
    want = matched_pct(stacks, regex)
    m = re.match(r"^Matched: (\d+\.\d)%$", text)
    report(visible and m and abs(float(m.group(1)) - want) <= 0.1,
           "search %r shows %r (expected %.1f%%, nested matches counted once)" % (regex, text, want))
    report(text_of(cdp, "search")[0] == "Reset Search", "search %r: button reads Reset Search" % regex)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--gen", required=True, help="flame_gen binary")
    ap.add_argument("--folded", required=True, help="sample folded stacks")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--screenshot", help="also copy the screenshot here")
    ap.add_argument("--shot-svg", help="screenshot this SVG instead of the sample")
    ap.add_argument("--shot-height", type=int, default=0,
                    help="keep only the bottom N pixels (the root end) of a tall graph")
    ap.add_argument("--timeout", type=int, default=120)
    a = ap.parse_args()

    def on_signal(signum, frame):
        raise SystemExit("flame_browser: %s" % ("timed out" if signum == signal.SIGALRM else "killed"))
    for s in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    signal.alarm(a.timeout)

    stacks = read_folded(a.folded)
    with open(a.folded, encoding="utf-8") as f:
        folded = f.read()
    title = ["-t", "In-use heap (inuse_space)", "-s", "kvserver: example profile, sampling rate 512 KiB"]
    svg = os.path.join(a.workdir, "flame.svg")
    height, nframes = render(a.gen, folded, svg, title)
    icicle = os.path.join(a.workdir, "icicle.svg")
    iheight, _ = render(a.gen, folded, icicle, title + ["-i"])
    # Differential input: the hash table doubled, buffers halved, the rest unchanged.
    diff_lines = []
    for frames_, v in stacks:
        leaf = frames_[-1]
        new = v * 2 if "rehash" in leaf else v / 2 if leaf == "kv::Buffer::grow" else v
        diff_lines.append("%s %d %d" % (";".join(frames_), v, new))
    diff = os.path.join(a.workdir, "diff.svg")
    dheight, _ = render(a.gen, "\n".join(diff_lines) + "\n", diff, ["-d", "-t", "Heap change"])

    t0 = time.monotonic()
    browser = None
    try:
        browser = Browser(a.chromium)
        cdp = browser.page()
        cdp.call("Page.enable")
        cdp.call("Runtime.enable")
        load(cdp, svg, height)
        exc = [e for e in cdp.events if e.get("method") == "Runtime.exceptionThrown"]

        # 1. It renders, from this one file.
        fs = frames(cdp)
        empty = [f["name"] for f in fs if not (f["w"] > 0 and f["h"] > 0)]
        report(len(fs) == nframes and nframes > 0 and not empty,
               "%d frames rendered with nonzero boxes" % len(fs), "%d of %d, empty: %s" % (len(fs), nframes, empty[:5]))
        mem = [f for f in fs if re.match(r"rgb\(0, (19\d|2[0-4]\d), \d+\)$", f["fill"])]
        report(len(mem) == len(fs), "frames drawn in the memory palette", "%d of %d" % (len(mem), len(fs)))
        report(one(cdp, "kv::Server::run")["label"] == "kv::Server::run", "labels drawn in wide frames")
        res = cdp.eval("performance.getEntriesByType('resource').length")
        report(res == 0 and not exc, "self-contained: no resource loads, no script errors",
               "%s loads, errors %s" % (res, exc[:1]))
        title_text = text_of(cdp, "title")[0]
        report("73.9 MiB" in title_text, "title shows the total: %r" % title_text)

        # 2. Hover fills the details line.
        f = one(cdp, "kv::Store::set")
        cdp.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": centre(f)[0], "y": centre(f)[1]})
        det = text_of(cdp, "details")[0]
        report(det.startswith("Function: kv::Store::set (") and "%" in det, "hover shows %r" % det)

        # 3. Click zooms (flame and icicle), Reset Zoom undoes it.
        anc = ["all", "main", "kv::Server::run", "kv::EventLoop::run", "kv::Connection::dispatch"]
        desc = "kv::HashTable<std::string, kv::Value>::rehash"
        unrel = ["kv::Config::load", "kv::Compactor::compact", "kv::Store::get", "kv::Connection::on_readable"]
        check_zoom(cdp, "flame", "kv::Store::set", anc, desc, unrel)

        # 4. Search: the script's function, Ctrl-F, and the Search button.
        cdp.eval("search('^json_')")
        check_search(cdp, stacks, "^json_", "search()")
        cdp.eval("resetSearch()")
        left = [f["name"] for f in frames(cdp) if f["fill"] == MATCH]
        report(not left and not text_of(cdp, "matched")[1], "resetSearch() restores the colours")
        key = {"type": "keyDown", "modifiers": 2, "key": "f", "code": "KeyF",
               "windowsVirtualKeyCode": 70, "nativeVirtualKeyCode": 70}
        mid = cdp.send("Input.dispatchKeyEvent", key)
        dlg = answer_prompt(cdp, mid, "Buffer::grow$")
        cdp.call("Input.dispatchKeyEvent", dict(key, type="keyUp"))
        report(dlg.get("type") == "prompt", "Ctrl-F opens the search prompt")
        check_search(cdp, stacks, "Buffer::grow$", "Ctrl-F")
        b = cdp.eval("(function(){var b=document.getElementById('search').getBoundingClientRect();"
                     "return {x:b.x,y:b.y,w:b.width,h:b.height};})()")
        mouse_click(cdp, *centre(b))            # "Reset Search"
        report(text_of(cdp, "search")[0] == "Search" and not text_of(cdp, "matched")[1],
               "clicking Reset Search ends the search")
        mid = mouse_click(cdp, *centre(b), wait=False)
        answer_prompt(cdp, mid, "^kv::HashTable<")
        check_search(cdp, stacks, "^kv::HashTable<", "the Search button")
        cdp.eval("resetSearch()")

        # 5. The screenshot for the docs: hovering the biggest allocation site
        # (or the widest leaf of the SVG given with --shot-svg).
        if a.shot_svg:
            height = int(float(ET.parse(a.shot_svg).getroot().get("height")))
            load(cdp, a.shot_svg, height)
            leaves = [f for f in frames(cdp) if f["w"] > 0]
            f = max(leaves, key=lambda f: (f["w"] if f["w"] < FULLW - 1 else 0, -f["y"]))
        else:
            f = one(cdp, desc)
        cdp.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": centre(f)[0], "y": centre(f)[1]})
        top = 0
        if a.shot_height and a.shot_height < height:
            top, height = height - a.shot_height, a.shot_height
        shot = cdp.call("Page.captureScreenshot", {"format": "png", "clip": {
            "x": 0, "y": top, "width": 1200, "height": height, "scale": 1}}, 30)
        png = base64.b64decode(shot.get("data", ""))
        w, h = struct.unpack(">II", png[16:24]) if len(png) > 24 else (0, 0)
        report(png[:8] == b"\x89PNG\r\n\x1a\n" and (w, h) == (1200, height) and len(png) > 5000,
               "screenshot %dx%d, %d bytes" % (w, h, len(png)))
        with open(os.path.join(a.workdir, "flamegraph.png"), "wb") as out:
            out.write(png)
        if a.screenshot:
            with open(a.screenshot, "wb") as out:
                out.write(png)

        # 6. Icicle: the same zoom rules, upside down.
        load(cdp, icicle, iheight)
        r, c = one(cdp, "all"), one(cdp, "main")
        report(r["y"] < c["y"], "icicle: root at the top")
        check_zoom(cdp, "icicle", "kv::Store::set", anc, desc, unrel)

        # 7. Differential colours as the browser paints them.
        load(cdp, diff, dheight)
        grew = one(cdp, desc)["fill"]
        shrank = {f["fill"] for f in frames(cdp, "kv::Buffer::grow")}
        same = one(cdp, "kv::Store::set")["fill"]
        report(grew == "rgb(255, 0, 0)" and same == "rgb(255, 255, 255)"
               and all(re.match(r"rgb\((\d+), \1, 255\)$", s) and s != "rgb(255, 255, 255)" for s in shrank),
               "diff: grown frame red, shrunk blue, unchanged white", "%s %s %s" % (grew, shrank, same))
    except (Exception, SystemExit) as e:
        report(False, "browser session", "%s: %s" % (type(e).__name__, e))
    finally:
        if browser:
            browser.close()
        signal.alarm(0)
    print("# flame_browser: %.1f s in the browser" % (time.monotonic() - t0), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
