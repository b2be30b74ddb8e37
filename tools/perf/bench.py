#!/usr/bin/python3
"""tools/bench's measurements (run through tools/bench, inside a loopback-only network namespace).

Side by side in one run, so the ratios hold on a shared, noisy machine:
  1. rtcam and the aiortc baseline (tools/perf/aiortc_server.py) run at the same time, each fed
     the same Y4M by `benchtool feed` (the time strip stamped at emission), each watched by its own
     headless Chromium; over the same windows: CPU % of one core (utime+stime of the server process,
     all its threads, not the feeder), RSS, navigation -> first frame, capture -> receive latency
     from the strip (requestVideoFrameCallback receiveTime), decoded fps. Once per clip.
  2. rtcam alone with 1, 4 and 16 viewers (extra RTCPeerConnections in the same page): CPU, RSS.
  3. `rtcam probe` per encoder preset on each clip at one bitrate: encode ms p50/p95, bitrate,
     PSNR against the source (decoded by OpenH264's decoder in benchtool).
  4. binary sizes (tools/size when present, else the stripped binaries).
  5. rtcam with one Chromium viewer, without and with a /stream.mjpg client, in alternating
     windows of the same process (without, with, with, without, ...; rounds + 1, at least 3, of
     each): capture -> receive latency p50/p95 from the strip (on loopback: capture -> send), per
     window and pooled, the /status stage p95s, and whether the difference is within the run's
     noise (the largest spread of the p95 between windows of the same kind, at least the strip's
     resolution of 1 ms).
Writes build/bench/bench-<UTC time>.json and build/bench/latest.json, prints a table and puts it
into docs/performance.md between the lines <!-- bench:begin --> and <!-- bench:end -->.
"""
import argparse
import datetime
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from selenium import webdriver

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from rtcam_process import Rtcam, free_port, rss_kb, run_once  # noqa: E402  (how every harness starts rtcam)
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "build", "bench")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PRESETS = ("speed", "balanced", "quality")

MEASURE_JS = r"""
window.__bench = { first: null, frames: 0, lat: [], pres: [], presAt: [], times: [], bad: 0, record: false, pcs: [] };
(function () {  // keep every peer connection the page makes, for its received byte count
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = function (...a) { const pc = new Native(...a); window.__bench.pcs.push(pc); return pc; };
  window.RTCPeerConnection.prototype = Native.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, Native);
})();
window.__benchBytes = async () => {
  const pc = window.__bench.pcs[0];
  if (!pc) return 0;
  let n = 0;
  (await pc.getStats()).forEach((x) => { if (x.type === 'inbound-rtp' && x.kind === 'video') n += x.bytesReceived; });
  return n;
};
(function hook() {
  const v = document.querySelector('video');
  if (!v || !v.requestVideoFrameCallback) { setTimeout(hook, 5); return; }
  const c = document.createElement('canvas');
  const g = c.getContext('2d', { willReadFrequently: true });
  const cb = (now, md) => {
    const B = window.__bench;
    if (B.first === null) B.first = now;  // ms since navigation started (performance.timeOrigin)
    B.frames++;
    if (B.record) B.times.push(performance.timeOrigin + md.presentationTime);  // every frame shown (wall ms)
    if (B.record && md.width >= 512) {
      // rtcam's time strip at this width: 64 blocks of w/64 px, 16 rows, then the complement band
      const w = md.width, bw = Math.floor(w / 64);
      c.width = w; c.height = 32;
      g.drawImage(v, 0, 0, w, 32, 0, 0, w, 32);
      const d = g.getImageData(0, 0, w, 32).data;
      const avg = (x0, y0) => {
        let s = 0, n = 0;
        for (let y = y0 + 2; y < y0 + 14; y++) for (let x = x0 + 2; x < x0 + bw - 2; x++) { s += d[(y * w + x) * 4 + 1]; n++; }
        return s / n;
      };
      let ms = 0, ok = true;
      for (let i = 0; i < 48; i++) {
        const a = avg(i * bw, 0), b = avg(i * bw, 16);
        if (Math.abs(a - b) < 64) { ok = false; break; }
        ms = ms * 2 + (a > b ? 1 : 0);
      }
      if (ok) {
        const t0 = performance.timeOrigin;
        if (md.receiveTime !== undefined) B.lat.push(t0 + md.receiveTime - ms);
        B.pres.push(t0 + md.presentationTime - ms);
        B.presAt.push(t0 + md.presentationTime);  // when that frame was shown (wall ms)
      } else B.bad++;
    }
    v.requestVideoFrameCallback(cb);
  };
  v.requestVideoFrameCallback(cb);
})();
"""

STATE_JS = """
const v = document.querySelector('video');
const q = v && v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {totalVideoFrames: 0};
return {frames: q.totalVideoFrames, width: v ? v.videoWidth : 0, first: window.__bench && window.__bench.first};"""

ADD_VIEWERS_JS = """
const n = arguments[0], done = arguments[arguments.length - 1];
window.__extra = window.__extra || [];
(async () => {
  for (let i = 0; i < n; i++) {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    const v = document.createElement('video');
    v.muted = true; v.autoplay = true; v.width = 80; document.body.appendChild(v);
    pc.ontrack = (e) => { v.srcObject = new MediaStream([e.track]); v.play().catch(() => {}); };
    await pc.setLocalDescription(await pc.createOffer());
    const r = await fetch('/whep', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
    if (!r.ok) { done('HTTP ' + r.status); return; }
    await pc.setRemoteDescription({ type: 'answer', sdp: await r.text() });
    window.__extra.push({ pc, v });
  }
  done('ok');
})().catch((e) => done(String(e)));
"""

EXTRA_STATE_JS = """
return (window.__extra || []).map((e) => ({state: e.pc.connectionState,
  frames: e.v.getVideoPlaybackQuality ? e.v.getVideoPlaybackQuality().totalVideoFrames : 0}));"""


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime: every thread of the process


def wait_http(url, within):
    deadline = time.time() + within
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                return r.status
        except Exception:
            time.sleep(0.1)
    return None


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, (p * len(s) + 99) // 100 - 1))]


class Browser:
    def __init__(self, url, log):
        opts = Options()
        opts.binary_location = "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--autoplay-policy=no-user-gesture-required", "--window-size=800,600",
                  "--no-first-run", "--disable-extensions", "--disable-background-networking",
                  "--allow-loopback-in-peer-connection", "--disable-background-timer-throttling",
                  "--disable-renderer-backgrounding"):
            opts.add_argument(a)
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver", log_output=log), options=opts)
        self.driver.set_page_load_timeout(30)
        self.driver.set_script_timeout(60)
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": MEASURE_JS})
        self.driver.get(url)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def quit(self):
        self.driver.quit()


class Server:
    """One server process under measurement: rtcam (through tools/e2e/rtcam_process.py, as every
    harness starts it) or the aiortc baseline."""

    def __init__(self, name, cmd=None, base=None, rtcam=None):
        self.name, self.browser, self.rtcam = name, None, rtcam
        if rtcam is not None:
            self.cmd, self.base, self.log = rtcam.cmd, rtcam.base, None
            self.proc = rtcam.launch()
        else:
            self.cmd, self.base = cmd, base
            self.log = open(os.path.join(OUT, name + ".log"), "w")
            self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)

    def stop(self):
        if self.browser:
            self.browser.quit()
        if self.rtcam is not None:
            self.rtcam.stop()
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def rtcam_server(args, name, clip, extra=()):
    """rtcam fed the clip by `benchtool feed`, its log in build/bench/NAME.log."""
    feed = "exec:%s feed %s %d" % (args.benchtool, clip, args.fps)
    extra = ["--fps", str(args.fps), "--max-viewers", "16", "--max-viewers-per-ip", "16"] + list(extra)
    if args.preset:
        extra += ["--preset", args.preset]
    rtcam = Rtcam(args.binary, name, source=feed, log_level="warn", extra=extra, cwd=ROOT,
                  log_path=os.path.join(OUT, name + ".log"))
    return Server(name, rtcam=rtcam)


def aiortc_cmd(args, clip):
    http = free_port(socket.SOCK_STREAM)
    cmd = [args.venv_python, os.path.join(ROOT, "tools", "perf", "aiortc_server.py"), "--port", str(http),
           "--feed", clip, "--benchtool", args.benchtool, "--fps", str(args.fps)]
    return cmd, "http://127.0.0.1:%d" % http


def open_viewer(server, within):
    if wait_http(server.base + "/", within) != 200:
        raise RuntimeError("%s did not answer GET / within %d s (log: build/bench/%s.log)" % (server.name, within, server.name))
    t = time.time()
    server.browser = Browser(server.base + "/", open(os.path.join(OUT, server.name + ".chromedriver.log"), "w"))
    while time.time() - t < 20:
        st = server.browser.js(STATE_JS)
        if st["first"] is not None and st["width"]:
            return st["first"]
        time.sleep(0.1)
    raise RuntimeError("%s: no frame in the page within 20 s" % server.name)


def measure_window(servers, window):
    """CPU, RSS, decoded fps and strip latencies of every server over the same window."""
    for s in servers:
        s.browser.js("window.__bench.lat = []; window.__bench.pres = []; window.__bench.presAt = []; window.__bench.times = []; "
                     "window.__bench.bad = 0; window.__bench.record = true;")
    bytes_js = "const done = arguments[arguments.length - 1]; window.__benchBytes().then(done, () => done(0));"
    b0 = {s.name: s.browser.driver.execute_async_script(bytes_js) for s in servers}
    t0 = time.monotonic()
    c0 = {s.name: cpu_ticks(s.proc.pid) for s in servers}
    f0 = {s.name: s.browser.js(STATE_JS)["frames"] for s in servers}
    time.sleep(window)
    c1 = {s.name: cpu_ticks(s.proc.pid) for s in servers}
    f1 = {s.name: s.browser.js(STATE_JS)["frames"] for s in servers}
    dt = time.monotonic() - t0
    b1 = {s.name: s.browser.driver.execute_async_script(bytes_js) for s in servers}
    out = {}
    for s in servers:
        b = s.browser.js("window.__bench.record = false; return window.__bench;")
        out[s.name] = {
            "cpu_pct": 100.0 * (c1[s.name] - c0[s.name]) / CLK_TCK / dt,
            "rss_kb": rss_kb(s.proc.pid),
            "fps": (f1[s.name] - f0[s.name]) / dt,
            "kbit_s": (b1[s.name] - b0[s.name]) * 8 / dt / 1000.0,
            "lat": b["lat"], "pres": b["pres"], "unreadable": b["bad"]}
    return out


def compare(args, clip_name, clip):
    """rtcam and aiortc at the same time on one clip."""
    ac, abase = aiortc_cmd(args, clip)
    servers = [rtcam_server(args, "rtcam-" + clip_name, clip), Server("aiortc-" + clip_name, ac, abase)]
    try:
        first = {s.name: open_viewer(s, 30) for s in servers}
        time.sleep(args.warmup)
        rounds = [measure_window(servers, args.window) for _ in range(args.rounds)]
        codec = servers[1].browser.driver.execute_async_script("""const done = arguments[arguments.length - 1];
          window.benchPc.getStats().then((r) => { let m = null; r.forEach((x) => { if (x.type === 'codec') m = x.mimeType; }); done(m); });""")
    finally:
        for s in servers:
            s.stop()
    res = {}
    for s in servers:
        key = s.name.split("-")[0]
        rs = [r[s.name] for r in rounds]
        lat = [x for r in rs for x in r["lat"]]
        pres = [x for r in rs for x in r["pres"]]
        res[key] = {
            "cpu_pct": statistics.mean(r["cpu_pct"] for r in rs),
            "cpu_pct_rounds": [round(r["cpu_pct"], 2) for r in rs],
            "rss_mb": max(r["rss_kb"] for r in rs) / 1024.0,
            "first_frame_ms": first[s.name],
            "fps": statistics.mean(r["fps"] for r in rs),
            "kbit_s": statistics.mean(r["kbit_s"] for r in rs),
            "latency_ms_p50": pct(lat, 50), "latency_ms_p95": pct(lat, 95),
            "present_ms_p50": pct(pres, 50), "latency_samples": len(lat),
            "unreadable_strips": sum(r["unreadable"] for r in rs)}
    res["cpu_ratio"] = res["rtcam"]["cpu_pct"] / res["aiortc"]["cpu_pct"] if res["aiortc"]["cpu_pct"] else None
    res["rss_ratio"] = res["rtcam"]["rss_mb"] / res["aiortc"]["rss_mb"]
    res["aiortc"]["codec"] = codec
    if codec != "video/H264":
        raise RuntimeError("the aiortc baseline sent %s, not H.264" % codec)
    return res


def viewers(args, clip):
    """rtcam alone, 1 then 4 then 16 viewers (extra peer connections in the one page)."""
    s = rtcam_server(args, "rtcam-viewers", clip)
    out = {}
    try:
        open_viewer(s, 30)
        have = 1
        for n in (1, 4, 16):
            if n > have:
                r = s.browser.driver.execute_async_script(ADD_VIEWERS_JS, n - have)
                if r != "ok":
                    raise RuntimeError("adding viewers: %s" % r)
                have = n
                t = time.time()
                while time.time() - t < 30:
                    ex = s.browser.js(EXTRA_STATE_JS)
                    if len(ex) == n - 1 and all(e["state"] == "connected" and e["frames"] > 0 for e in ex):
                        break
                    time.sleep(0.25)
                else:
                    raise RuntimeError("%d viewers did not all play within 30 s: %s" % (n, ex))
            time.sleep(args.warmup)
            m = measure_window([s], args.window)[s.name]
            with urllib.request.urlopen(s.base + "/status", timeout=5) as r:
                st = json.loads(r.read())
            connected = sum(1 for x in st.get("sessions", []) if x.get("state") == "connected")
            out[str(n)] = {"cpu_pct": m["cpu_pct"], "rss_mb": m["rss_kb"] / 1024.0, "connected": connected,
                           "fps_first_viewer": m["fps"]}
    finally:
        s.stop()
    return out


class MjpegClient:
    """A /stream.mjpg client on a thread of its own: reads the stream and counts its parts."""

    BOUNDARY = b"--rtcamframe"

    def __init__(self, base):
        self.url = base + "/stream.mjpg"
        self.parts = 0
        self.error = None
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        try:
            with urllib.request.urlopen(self.url, timeout=10) as r:
                tail = b""
                while not self.stop_flag.is_set():
                    chunk = r.read1(65536)
                    if not chunk:
                        self.error = "the stream ended"
                        return
                    data = tail + chunk
                    self.parts += data.count(self.BOUNDARY)
                    tail = data[-(len(self.BOUNDARY) - 1):]
        except Exception as e:  # noqa: BLE001 (reported with the results)
            self.error = str(e)

    def wait_parts(self, n, within):
        deadline = time.time() + within
        while time.time() < deadline and self.parts < n and self.error is None:
            time.sleep(0.05)
        return self.parts >= n

    def stop(self):
        self.stop_flag.set()
        self.thread.join(timeout=15)


def status_stages(base):
    with urllib.request.urlopen(base + "/status", timeout=5) as r:
        st = json.loads(r.read())
    stages = st.get("stages") or {}
    return {k[:-3]: v.get("p95") for k, v in stages.items() if k.endswith("_ms") and isinstance(v, dict)}


STRIP_RESOLUTION_MS = 1.0


def mjpeg(args, clip):
    """rtcam with one viewer, without and with a /stream.mjpg client, in alternating windows."""
    s = rtcam_server(args, "rtcam-mjpeg", clip)
    windows = []
    try:
        open_viewer(s, 30)
        time.sleep(args.warmup)
        rounds = max(args.rounds + 1, 3)  # windows of each kind: a spread needs a few
        order = []
        for r in range(rounds):
            order += [False, True] if r % 2 == 0 else [True, False]
        for with_client in order:
            client = MjpegClient(s.base) if with_client else None
            if client and not client.wait_parts(3, 20):
                client.stop()
                raise RuntimeError("the /stream.mjpg client got no parts: %s" % (client.error or "timeout"))
            parts0 = client.parts if client else 0
            m = measure_window([s], args.mjpeg_window or args.window)[s.name]
            parts = (client.parts - parts0) if client else 0
            stages = status_stages(s.base)
            if client:
                client.stop()
                time.sleep(1)  # the server notices the closed connection before the next window
            lat = m["lat"]
            windows.append({"mjpeg_client": with_client, "latency_ms_p50": pct(lat, 50), "latency_ms_p95": pct(lat, 95),
                            "latency_samples": len(lat), "lat": lat, "fps": m["fps"], "cpu_pct": m["cpu_pct"],
                            "mjpeg_parts_per_s": parts / (args.mjpeg_window or args.window), "stage_p95_ms": stages})
    finally:
        s.stop()
    out = {"windows": [{k: v for k, v in w.items() if k != "lat"} for w in windows]}
    for key, flag in (("without", False), ("with", True)):
        ws = [w for w in windows if w["mjpeg_client"] == flag]
        lat = [x for w in ws for x in w["lat"]]
        p95s = [w["latency_ms_p95"] for w in ws if w["latency_ms_p95"] is not None]
        out[key] = {"latency_ms_p50": pct(lat, 50), "latency_ms_p95": pct(lat, 95), "latency_samples": len(lat),
                    "window_p95s": p95s, "spread_ms": (max(p95s) - min(p95s)) if p95s else None,
                    "fps": statistics.mean(w["fps"] for w in ws), "cpu_pct": statistics.mean(w["cpu_pct"] for w in ws),
                    "mjpeg_parts_per_s": statistics.mean(w["mjpeg_parts_per_s"] for w in ws),
                    "encode_p95_ms": max((w["stage_p95_ms"].get("encode") or 0) for w in ws)}
    a, b = out["without"]["latency_ms_p95"], out["with"]["latency_ms_p95"]
    spreads = [x["spread_ms"] for x in (out["without"], out["with"]) if x["spread_ms"] is not None]
    out["difference_ms_p95"] = (b - a) if a is not None and b is not None else None
    # the strip carries whole milliseconds: a spread below that is not resolved
    out["noise_ms"] = max(spreads + [STRIP_RESOLUTION_MS]) if spreads else None
    out["within_noise"] = (out["difference_ms_p95"] is not None and out["noise_ms"] is not None
                           and abs(out["difference_ms_p95"]) <= out["noise_ms"])
    if out["without"]["latency_samples"] == 0 or out["with"]["latency_samples"] == 0:
        raise RuntimeError("no latency samples: the strip could not be read (see build/bench/rtcam-mjpeg.log)")
    if out["with"]["mjpeg_parts_per_s"] <= 0:
        raise RuntimeError("the /stream.mjpg client received nothing while measured")
    return out


def presets(args, clips):
    """rtcam probe per preset and clip: encode timings, bitrate and PSNR of the decoded stream."""
    out = {}
    for clip_name, clip in clips.items():
        ref = os.path.join(OUT, "%s-before.h264" % clip_name)
        r = subprocess.run([args.benchtool, "encode-before", clip, ref, str(args.bitrate), str(args.probe_frames)],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("encode-before: %s" % r.stderr)
        before = json.loads(r.stdout)
        q = subprocess.run([args.benchtool, "psnr", clip, ref], capture_output=True, text=True, timeout=120)
        if q.returncode != 0:
            raise RuntimeError("psnr before: %s" % q.stderr)
        ps = json.loads(q.stdout)
        out["%s/before" % clip_name] = base = {
            "encode_ms_p50": before["encode_ms_p50"], "encode_ms_p95": before["encode_ms_p95"],
            "frames": before["frames"], "decoded": ps["frames"], "psnr_y": ps["psnr_y"], "psnr_yuv": ps["psnr_yuv"],
            "kbit_s": os.path.getsize(ref) * 8 * args.fps / max(1, ps["frames"]) / 1000.0, "psnr_y_delta": 0.0}
        for p in PRESETS:
            h264 = os.path.join(OUT, "%s-%s.h264" % (clip_name, p))
            r = run_once(args.binary, ["probe", "--source", "y4m:" + clip, "--frames", str(args.probe_frames),
                                       "--bitrate", str(args.bitrate), "--preset", p, "--h264-out", h264], timeout=120)
            probe = json.loads(r.stdout.strip().splitlines()[-1])
            if probe.get("error"):
                raise RuntimeError("probe %s: %s" % (p, probe["error"]))
            q = subprocess.run([args.benchtool, "psnr", clip, h264], capture_output=True, text=True, timeout=120)
            if q.returncode != 0:
                raise RuntimeError("psnr %s: %s" % (p, q.stderr))
            ps = json.loads(q.stdout)
            out["%s/%s" % (clip_name, p)] = {
                "encode_ms_p50": probe["encode_ms_p50"], "encode_ms_p95": probe["encode_ms_p95"],
                "frames": probe["frames"], "decoded": ps["frames"], "psnr_y": ps["psnr_y"], "psnr_yuv": ps["psnr_yuv"],
                "kbit_s": os.path.getsize(h264) * 8 * args.fps / max(1, ps["frames"]) / 1000.0,
                "psnr_y_delta": ps["psnr_y"] - base["psnr_y"]}
    return out


def sizes():
    tool = os.path.join(ROOT, "tools", "size")
    if os.access(tool, os.X_OK):
        path = os.path.join(OUT, "size.json")
        archs = [a for a in ("x86_64", "aarch64", "armv7") if os.path.exists(os.path.join(ROOT, "build", a, "rtcam"))]
        r = subprocess.run([tool] + archs + ["--json", path], capture_output=True, text=True, timeout=600, cwd=ROOT)
        if r.returncode == 0 and os.path.exists(path):
            with open(path) as f:
                return {"tool": "tools/size", "report": json.load(f), "text": r.stdout}
        why = "tools/size failed: " + (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1]
    else:
        why = "tools/size not present"
    out = {}
    for a in ("x86_64", "aarch64", "armv7"):
        p = os.path.join(ROOT, "build", a, "rtcam")
        if os.path.exists(p):
            out[a] = os.path.getsize(p)
    return {"tool": "stripped sizes (%s)" % why, "bytes": out}


def fmt(v, spec="%.1f"):
    return "-" if v is None else spec % v


def table(res):
    lines = []
    if res["compare"]:
        lines.append("| clip | server | CPU % of a core | RSS MB | first frame ms | capture->receive ms p50 / p95 | decoded fps | received kbit/s |")
        lines.append("|---|---|---|---|---|---|---|---|")
    for clip in ("pattern", "camera"):
        c = res["compare"].get(clip)
        if not c:
            continue
        for k in ("rtcam", "aiortc"):
            x = c[k]
            lines.append("| %s | %s | %s | %s | %s | %s / %s | %s | %s |" % (
                clip, k, fmt(x["cpu_pct"]), fmt(x["rss_mb"]), fmt(x["first_frame_ms"], "%.0f"),
                fmt(x["latency_ms_p50"], "%.0f"), fmt(x["latency_ms_p95"], "%.0f"), fmt(x["fps"]), fmt(x["kbit_s"], "%.0f")))
        lines.append("| %s | **rtcam / aiortc** | **%.2fx** | %.2fx | | | | |" % (clip, c["cpu_ratio"], c["rss_ratio"]))
    if res.get("viewers"):
        if lines:
            lines.append("")
        lines.append("| rtcam viewers (camera clip) | CPU % of a core | RSS MB |")
        lines.append("|---|---|---|")
        for n, x in res["viewers"].items():
            lines.append("| %s (%d connected) | %.1f | %.1f |" % (n, x["connected"], x["cpu_pct"], x["rss_mb"]))
    if res.get("mjpeg"):
        x = res["mjpeg"]
        if lines:
            lines.append("")
        lines.append("| rtcam, camera clip, 1 viewer | capture->receive ms p50 / p95 | p95 per window | decoded fps | "
                     "MJPEG parts/s | CPU % of a core | encode p95 ms (/status) |")
        lines.append("|---|---|---|---|---|---|---|")
        for key, label in (("without", "without a /stream.mjpg client"), ("with", "with a /stream.mjpg client")):
            y = x[key]
            lines.append("| %s | %s / %s | %s | %s | %s | %s | %s |" % (
                label, fmt(y["latency_ms_p50"], "%.0f"), fmt(y["latency_ms_p95"], "%.0f"),
                ", ".join("%.0f" % v for v in y["window_p95s"]), fmt(y["fps"]), fmt(y["mjpeg_parts_per_s"]),
                fmt(y["cpu_pct"]), fmt(y["encode_p95_ms"], "%.2f")))
        lines.append("(p95 with - without: %s ms; noise, the largest p95 spread between windows of the same kind (at least the "
                     "strip's 1 ms): %s ms: %s. "
                     "On loopback capture->receive is capture->send.)" % (
                         fmt(x["difference_ms_p95"], "%+.0f"), fmt(x["noise_ms"], "%.0f"),
                         "within the noise" if x["within_noise"] else "NOT within the noise"))
    if res.get("presets"):
        if lines:
            lines.append("")
        lines.append("| clip/preset @ %d kbit/s | encode ms p50 / p95 | kbit/s | PSNR Y dB | vs before dB | PSNR YUV dB |" % (res["config"]["bitrate"] // 1000))
        lines.append("|---|---|---|---|---|---|")
        for k, x in res["presets"].items():
            lines.append("| %s | %.2f / %.2f | %.0f | %.2f | %+.2f | %.2f |" % (
                k, x["encode_ms_p50"], x["encode_ms_p95"], x["kbit_s"], x["psnr_y"], x["psnr_y_delta"], x["psnr_yuv"]))
        lines.append("(before: the settings before presets, rtcam 0.1.0, encoded by benchtool encode-before; "
                     "the presets through rtcam probe --preset P --h264-out; all decoded by OpenH264)")
    if res.get("sizes"):
        s = res["sizes"]
        if lines:
            lines.append("")
        if "bytes" in s:
            lines.append("binary sizes (%s): %s" % (s["tool"], ", ".join("%s %d bytes" % kv for kv in s["bytes"].items())))
        else:
            lines.append(s["text"].rstrip())
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--benchtool", required=True)
    ap.add_argument("--venv-python", required=True)
    ap.add_argument("--clips", required=True, help="pattern=PATH,camera=PATH")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--bitrate", type=int, default=800000)
    ap.add_argument("--preset", default=None, help="rtcam's --preset for the server runs (default: its default)")
    ap.add_argument("--window", type=float, default=15.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--probe-frames", type=int, default=160)
    ap.add_argument("--only", default="compare,viewers,presets,sizes,mjpeg")
    ap.add_argument("--mjpeg-window", type=float, default=None, help="seconds per window of the MJPEG part (default --window)")
    ap.add_argument("--docs", default=os.path.join(ROOT, "docs", "performance.md"),
                    help="the file whose table between the bench markers is replaced ('' for none)")
    args = ap.parse_args()
    clips = dict(kv.split("=", 1) for kv in args.clips.split(","))
    only = set(args.only.split(","))
    os.makedirs(OUT, exist_ok=True)
    started = time.time()
    res = {"config": {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "machine": "%s, %s, %d cores" % (platform.node(), cpu_model(), os.cpu_count()),
                      "load_before": os.getloadavg(), "window_s": args.window, "rounds": args.rounds,
                      "fps": args.fps, "bitrate": args.bitrate, "preset": args.preset or "default",
                      "binary": os.path.relpath(args.binary, ROOT),
                      "rtcam_version": run_once(args.binary, ["--version"], timeout=30).stdout.strip()},
           "compare": {}}
    if "compare" in only:
        for name in ("pattern", "camera"):
            print("bench: rtcam and aiortc side by side on the %s clip" % name, flush=True)
            res["compare"][name] = c = compare(args, name, clips[name])
            print("bench:   CPU rtcam %.1f %% aiortc %.1f %% -> %.2fx" % (c["rtcam"]["cpu_pct"], c["aiortc"]["cpu_pct"], c["cpu_ratio"]), flush=True)
    if "viewers" in only:
        print("bench: rtcam with 1, 4, 16 viewers (camera clip)", flush=True)
        res["viewers"] = viewers(args, clips["camera"])
    if "mjpeg" in only:
        print("bench: rtcam with one viewer, without and with a /stream.mjpg client (camera clip)", flush=True)
        res["mjpeg"] = x = mjpeg(args, clips["camera"])
        print("bench:   capture->receive p95 without %s ms, with %s ms (noise %s ms)" % (
            fmt(x["without"]["latency_ms_p95"], "%.0f"), fmt(x["with"]["latency_ms_p95"], "%.0f"), fmt(x["noise_ms"], "%.0f")),
            flush=True)
    if "presets" in only:
        print("bench: encoder presets (rtcam probe, PSNR by OpenH264's decoder)", flush=True)
        res["presets"] = presets(args, clips)
    if "sizes" in only:
        res["sizes"] = sizes()
    res["config"]["seconds"] = round(time.time() - started, 1)
    res["config"]["load_after"] = os.getloadavg()
    stamp = res["config"]["date"].replace(":", "")
    for path in (os.path.join(OUT, "bench-%s.json" % stamp), os.path.join(OUT, "latest.json")):
        with open(path, "w") as f:
            json.dump(res, f, indent=1)
    text = table(res)
    with open(os.path.join(OUT, "latest.md"), "w") as f:
        f.write(text + "\n")
    if args.docs:
        write_docs(args.docs, text, res, sorted(only))
    print()
    print(text)
    print("\nbench: %s; load average before %.2f, after %.2f; %.0f s; JSON: build/bench/latest.json" % (
        res["config"]["machine"], res["config"]["load_before"][0], res["config"]["load_after"][0], res["config"]["seconds"]))
    return 0


BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def write_docs(path, text, res, parts):
    """Replaces what is between the bench markers in `path` with this run's tables (the file is
    made with a heading and the markers if it does not exist)."""
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("# Performance\n\n%s\n%s\n" % (BEGIN, END))
    c = res["config"]
    head = ("Written by `tools/bench` (parts: %s; %g s windows, %d round(s)) on %s, %s; `rtcam --version`: %s; load average "
            "%.2f before, %.2f after." % (", ".join(parts), c["window_s"], c["rounds"], c["date"], c["machine"],
                                            c["rtcam_version"], c["load_before"][0], c["load_after"][0]))
    replace_block(path, BEGIN, END, head + "\n\n" + text)
    print("bench: the tables are in %s" % os.path.relpath(path, ROOT))


def replace_block(path, begin, end, body):
    """Replaces what is between the lines `begin` and `end` in `path` with `body`; both markers
    must be there once each, begin first."""
    with open(path) as f:
        doc = f.read()
    if doc.count(begin) != 1 or doc.count(end) != 1 or doc.index(begin) > doc.index(end):
        raise RuntimeError("%s: expected one %s line before one %s line" % (path, begin, end))
    before, rest = doc.split(begin, 1)
    _, after = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(before + begin + "\n" + body + "\n" + end + after)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


if __name__ == "__main__":
    sys.exit(main())
