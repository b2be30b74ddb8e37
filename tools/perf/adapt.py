#!/usr/bin/python3
"""tools/bench adapt: rtcam and the aiortc baseline on slow, stepping, lossy and shared links
(issue 19, "How it is measured"). Run by `tools/bench adapt` as root, in the machine's own
network namespace, which it leaves untouched: everything runs in namespaces made here.

The lab (tools/perf/netlab.py), made once per run:
  srv  the server's namespace: rtcam or aiortc_server.py (one at a time), each fed the same
       camera-like clip by `benchtool feed` (the time strip stamped at emission)
  va   viewer A, joined to srv by the veth pair s-a (10.77.1.1) <-> v-a (10.77.1.2); the links
       measured are caps on s-a's egress (tc tbf: rate, 10 kB burst, 200 ms of queue)
  vb   viewer B, s-b (10.77.2.1) <-> v-b (10.77.2.2), never capped (the two-viewer case)
  vl   viewer L behind mid, a namespace holding two veth ends without addresses and
       tools/perf/relay.py bridging them with 5 % random loss of UDP, both directions, seeded:
       s-l (10.77.3.1) <-> m-s | relay | m-v <-> v-l (10.77.3.2)
Each viewer namespace reaches only its own link's server address. rtcam listens on 0.0.0.0 and
advertises each link's address as an ICE host candidate (--ice-host, repeated); the viewer's
checks can reach only the one on its link (the lossy one through the relay, which is a bridge:
nothing needs rewriting). aiortc gathers every address of srv the same way.

Per case, rtcam first, then aiortc, each started afresh: one headless Chromium per viewer
(tools/perf/viewer.py inside the viewer's namespace) opens the server's page; from the moment
its peer connection is connected (t0) it samples the inbound-rtp stats once a second and
every frame's presentation time and capture -> present from the time strip. Figures count the
window after the first 5 s (t0 + 5 s to the end): decoded fps, capture -> present p50/p95,
Chromium's freezeCount and totalFreezesDuration, the longest gap between presented frames,
packets lost, NACKs and PLIs sent, received bitrate (bytesReceived), the server's CPU, and,
for rtcam, each session's `estimate`, `layers` and `pacer_queue_ms` and the encoder's `target_bitrate`
from /status (sampled once a second; medians) when it reports them.
Cases: links unlimited, 2 Mbit/s, 1 Mbit/s, 500 kbit/s, 250 kbit/s, 150 kbit/s; a step 2 Mbit/s
-> 250 kbit/s at 10 s -> 2 Mbit/s at 25 s (40 s; p95 and bitrate per second around the steps);
5 % random loss without a cap; two viewers at once, one capped at 250 kbit/s, one uncapped.

Writes build/bench/adapt/adapt-<UTC time>.json and adapt-latest.json (every sample), prints the
tables and the issue's "Done when" criteria, and (after a run of every case) puts them into
docs/performance.md between <!-- adapt:begin --> and <!-- adapt:end -->.

`--check` is tools/e2e-adapt's short functional version instead: one link capped at --cap
(300 kbit/s), rtcam with one viewer for --seconds (20): the viewer keeps decoding through the
last 10 s (framesDecoded rises in every 2 s of them, at least --min-fps), and rtcam's /status
reports an `estimate` for the session that fell below the cap in the last 10 s, with a median
within 20 % of the cap. Exit 0
only if every check held.
"""
import argparse
import datetime
import json
import os
import platform
import queue
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from bench import ROOT, cpu_model, cpu_ticks, fmt, pct, replace_block, wait_http  # noqa: E402
from netlab import Lab, in_netns, thread_in_netns  # noqa: E402
from rtcam_process import Rtcam, free_port, run_once  # noqa: E402

OUT = os.path.join(ROOT, "build", "bench", "adapt")
KBIT, MBIT = 1000, 1000000
FPS = 30
SKIP_S = 5  # the issue counts "after the first 5 s" of a viewer's session
CONNECT_WITHIN_S = 30  # page load to a connected peer connection
SERVER_READY_S = 30
STATUS_EVERY_S = 1.0
BEGIN, END = "<!-- adapt:begin -->", "<!-- adapt:end -->"

# Every address lives inside the lab's namespaces (10.77.0.0/16, private, never routed out).
LINKS = {
    "a": {"srv_if": "s-a", "srv_addr": "10.77.1.1", "viewer": "va", "viewer_if": "v-a", "viewer_addr": "10.77.1.2"},
    "b": {"srv_if": "s-b", "srv_addr": "10.77.2.1", "viewer": "vb", "viewer_if": "v-b", "viewer_addr": "10.77.2.2"},
    "l": {"srv_if": "s-l", "srv_addr": "10.77.3.1", "viewer": "vl", "viewer_if": "v-l", "viewer_addr": "10.77.3.2",
          "relay": ("mid", "m-s", "m-v")},
}
PREFIX = "/24"

LINK_RATES = [("unlimited", None), ("2M", 2 * MBIT), ("1M", MBIT), ("500k", 500 * KBIT), ("250k", 250 * KBIT),
              ("150k", 150 * KBIT)]
STEP = [(10, 250 * KBIT), (25, 2 * MBIT)]  # (seconds after t0, new cap); the case starts at 2 Mbit/s
STEP_SECONDS = 40
LOSS, LOSS_SEED = 0.05, 19
TWO_CAP = 250 * KBIT
PARTS = ("links", "step", "loss", "two")
SERVERS = ("rtcam", "aiortc")

# The targets ("Done when"), checked on the figures after the first 5 s.
LIVE_P95_MS = 250  # 250 kbit/s and the step down
SLOW_P95_MS = 400  # 150 kbit/s
FPS_250K, FPS_150K = 15.0, 7.5
STEP_DOWN_WITHIN_S, STEP_UP_WITHIN_S, STEP_UP_KBIT = 2, 10, 1000
LOSS_KEEP_RATIO, LOSS_MAX_GAP_MS = 0.8, 300
TWO_FULL_FPS = 29.0  # "keeps 30 fps", less the counting jitter of a 1 s sampling grid
TWO_RATIO, TWO_CAPPED_FPS = 2.0, 7.5

COUNTERS = ("framesDecoded", "bytesReceived", "packetsReceived", "packetsLost", "freezeCount", "totalFreezesDuration",
            "pauseCount", "totalPausesDuration", "nackCount", "pliCount", "firCount", "framesDropped", "keyFramesDecoded")


def rate_label(bits):
    if bits is None:
        return "unlimited"
    return "%g Mbit/s" % (bits / MBIT) if bits >= MBIT else "%g kbit/s" % (bits / KBIT)


class Scenario:
    def __init__(self, key, label, viewers, caps, seconds, steps=()):
        self.key, self.label, self.viewers, self.caps = key, label, viewers, caps
        self.seconds, self.steps = seconds, list(steps)

    def links(self):
        return [link for link, _ in self.viewers]


def scenarios(args):
    out = []
    if "links" in args.only:
        for key, rate in LINK_RATES:
            if key in args.links:
                out.append(Scenario("link-" + key, rate_label(rate), [("a", "")], {"a": rate}, args.window))
    if "step" in args.only:
        out.append(Scenario("step", "step 2 Mbit/s -> 250 kbit/s (10 s) -> 2 Mbit/s (25 s)", [("a", "")],
                            {"a": 2 * MBIT}, STEP_SECONDS, [(at, "a", rate) for at, rate in STEP]))
    if "loss" in args.only:
        out.append(Scenario("loss", "%g %% random loss, no cap" % (100 * LOSS), [("l", "")], {}, args.window))
    if "two" in args.only:
        out.append(Scenario("two", "two viewers", [("a", "the %s one" % rate_label(TWO_CAP)), ("b", "the unlimited one")],
                            {"a": TWO_CAP, "b": None}, args.window))
    return out


def build_lab(prefix, links, relay_log):
    """The namespaces and links the cases need; returns (lab, relay process or None)."""
    lab = Lab(prefix)
    relay = None
    try:
        lab.namespace("srv")
        for link in links:
            L = LINKS[link]
            lab.namespace(L["viewer"])
            if "relay" in L:
                mid, m_s, m_v = L["relay"]
                lab.namespace(mid)
                lab.link("srv", L["srv_if"], L["srv_addr"] + PREFIX, mid, m_s, None)
                lab.link(mid, m_v, None, L["viewer"], L["viewer_if"], L["viewer_addr"] + PREFIX)
                lab.promisc(mid, m_s)
                lab.promisc(mid, m_v)
                relay = subprocess.Popen(lab.exec_prefix(mid) + [
                    "/usr/bin/python3", os.path.join(HERE, "relay.py"), "--a", m_s, "--b", m_v, "--loss", str(LOSS),
                    "--seed", str(LOSS_SEED), "--stats", os.path.join(OUT, "relay.json")],
                    stdin=subprocess.DEVNULL, stdout=relay_log, stderr=subprocess.STDOUT)
            else:
                lab.link("srv", L["srv_if"], L["srv_addr"] + PREFIX, L["viewer"], L["viewer_if"], L["viewer_addr"] + PREFIX)
    except BaseException:
        if relay:
            relay.kill()
            relay.wait()
        lab.close()
        raise
    return lab, relay


def read_relay_stats():
    try:
        with open(os.path.join(OUT, "relay.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class Server:
    """rtcam or the aiortc baseline inside srv, on every link's address."""

    def __init__(self, ctx, kind, name, links, out_dir=OUT):
        self.kind, self.name, self.links, self.log = kind, name, links, None
        self.port = free_port(socket.SOCK_STREAM)
        self.local = "http://%s:%d" % (LINKS[links[0]]["srv_addr"], self.port)
        log_path = os.path.join(out_dir, name + ".log")
        if kind == "rtcam":
            feed = "exec:%s feed %s %d" % (ctx.benchtool, ctx.clip, FPS)
            extra = [w for link in links for w in ("--ice-host", LINKS[link]["srv_addr"])]
            extra += ["--fps", str(FPS), "--max-viewers", "16", "--max-viewers-per-ip", "16"] + ctx.rtcam_args
            self.rtcam = Rtcam(ctx.binary, name, source=feed, host="0.0.0.0", ice_host=None, http_port=self.port,
                               log_level="warn", extra=extra, prefix=ctx.lab.exec_prefix("srv"), cwd=ROOT,
                               log_path=log_path)
            self.rtcam.base = self.local
            self.proc = self.rtcam.launch()
        else:
            self.rtcam = None
            cmd = ctx.lab.exec_prefix("srv") + [ctx.venv_python, os.path.join(HERE, "aiortc_server.py"), "--host", "0.0.0.0",
                                                "--port", str(self.port), "--feed", ctx.clip, "--benchtool", ctx.benchtool,
                                                "--fps", str(FPS)]
            self.log = open(log_path, "w")
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)

    def url(self, link):
        return "http://%s:%d/" % (LINKS[link]["srv_addr"], self.port)

    def ready(self, ns):
        """None once the server answers inside srv, else why not."""
        if self.rtcam is not None:
            return in_netns(ns, self.rtcam.ready, SERVER_READY_S)
        if in_netns(ns, wait_http, self.local + "/", SERVER_READY_S) != 200:
            return "%s did not answer GET / within %d s (log: %s)" % (self.name, SERVER_READY_S, self.log.name)
        return None

    def stop(self):
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


class StatusSampler:
    """GET /status once a second from inside srv (rtcam only): the encoder and the sessions."""

    def __init__(self, ns, url):
        self.samples, self.errors = [], 0
        self.stop_event = threading.Event()
        self.thread = thread_in_netns(ns, self.loop, url)

    def loop(self, url):
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    st = json.loads(r.read())
                self.samples.append({"t": time.time() * 1000.0, "encoder": st.get("encoder"),
                                     "sessions": st.get("sessions") or []})
            except Exception:  # noqa: BLE001 (counted; a busy server may miss one)
                self.errors += 1
            if self.stop_event.wait(STATUS_EVERY_S):
                return

    def stop(self):
        self.stop_event.set()
        self.thread.join(timeout=5)


class Agent:
    """tools/perf/viewer.py inside a viewer's namespace; its `t0` line read on a thread."""

    def __init__(self, ctx, name, link, url, seconds, out_dir):
        self.name, self.link = name, link
        self.out = os.path.join(out_dir, name + ".json")
        if os.path.exists(self.out):
            os.remove(self.out)
        self.err = open(os.path.join(out_dir, name + ".viewer.log"), "w")
        cmd = ctx.lab.exec_prefix(LINKS[link]["viewer"]) + [
            "/usr/bin/python3", os.path.join(HERE, "viewer.py"), "--url", url, "--seconds", str(seconds),
            "--out", self.out, "--name", name, "--connect-within", str(CONNECT_WITHIN_S),
            "--screenshot", os.path.join(out_dir, name + ".png")]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.err,
                                     text=True, cwd=ROOT)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def wait_t0(self, within):
        """The viewer's t0 (Unix s), or None if it ended or did not connect in time."""
        deadline = time.time() + within
        while True:
            left = deadline - time.time()
            if left <= 0:
                return None
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                return None
            if line.startswith("t0 "):
                return float(line.split()[1])

    def finish(self, within):
        try:
            self.proc.wait(timeout=within)
        except subprocess.TimeoutExpired:
            self.stop()
        try:
            with open(self.out) as f:
                return json.load(f)
        except (OSError, ValueError) as e:
            return {"name": self.name, "error": "no result from the viewer (%s; see %s)" % (e, self.err.name)}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()


def run_case(ctx, sc, kind):
    """One case with one server: returns its figures."""
    name = "%s-%s" % (kind, sc.key)
    print("adapt: %s: %s" % (sc.label, kind), flush=True)
    for link, rate in sc.caps.items():
        if rate:
            ctx.lab.cap("srv", LINKS[link]["srv_if"], rate)
        else:
            ctx.lab.uncap("srv", LINKS[link]["srv_if"])
    relay0 = read_relay_stats()
    server = Server(ctx, kind, name, ctx.links)
    agents, sampler, results, cpu, qdisc = [], None, [], None, {}
    try:
        err = server.ready(ctx.lab.name("srv"))
        if err:
            raise RuntimeError(err)
        if kind == "rtcam":
            sampler = StatusSampler(ctx.lab.name("srv"), server.local + "/status")
        agents = [Agent(ctx, "%s-%s" % (name, link), link, server.url(link), sc.seconds, OUT) for link, _ in sc.viewers]
        t0s = [a.wait_t0(CONNECT_WITHIN_S + 30) for a in agents]
        if any(t is not None for t in t0s):
            ref = min(t for t in t0s if t is not None)
            events = [(ref + SKIP_S, "cpu0", None, None), (ref + sc.seconds, "cpu1", None, None)]
            events += [(ref + at, "cap", link, rate) for at, link, rate in sc.steps]
            marks = {}
            for at, what, link, rate in sorted(events, key=lambda e: e[0]):
                time.sleep(max(0.0, min(at - time.time(), sc.seconds)))
                if what == "cap":
                    ctx.lab.cap("srv", LINKS[link]["srv_if"], rate)
                    print("adapt:   %.1f s: %s capped at %s" % (time.time() - ref, link, rate_label(rate)), flush=True)
                else:
                    marks[what] = (cpu_ticks(server.proc.pid), time.time())
            (c0, w0), (c1, w1) = marks["cpu0"], marks["cpu1"]
            cpu = 100.0 * (c1 - c0) / os.sysconf("SC_CLK_TCK") / (w1 - w0)
        results = [a.finish(sc.seconds + 60) for a in agents]
        for link in sc.caps:
            qdisc[link] = ctx.lab.qdisc_stats("srv", LINKS[link]["srv_if"])
    finally:
        for a in agents:
            a.stop()
        if sampler:
            sampler.stop()
        server.stop()
        for link in sc.caps:
            ctx.lab.uncap("srv", LINKS[link]["srv_if"])
    relay1 = read_relay_stats()
    statuses = sampler.samples if sampler else []
    viewers = []
    for (link, label), res in zip(sc.viewers, results):
        m = viewer_metrics(res, sc.seconds, statuses if kind == "rtcam" else None, LINKS[link]["viewer_addr"])
        m["label"], m["link"] = label, link
        if sc.steps:
            m["step"] = step_metrics(m["per_second"])
        viewers.append(m)
        print("adapt:   %s%s: %s" % (kind, " (%s)" % label if label else "", one_line(m)), flush=True)
    out = {"server": kind, "cpu_pct": cpu, "viewers": viewers, "qdisc": qdisc,
           "status_errors": sampler.errors if sampler else None}
    if sc.key == "loss" and relay0 is not None and relay1 is not None:
        out["relay"] = {d: {k: relay1[d][k] - relay0.get(d, {}).get(k, 0) for k in relay1[d]} for d in ("a>b", "b>a")}
    elif sc.key == "loss":
        out["relay"] = relay1
    return out


def continuous(samples):
    """The inbound counters per sample, carried on across the page's reconnections (a new peer
    connection starts again from zero)."""
    out, offset, last, pcs = [], {}, {}, None
    for s in samples:
        if pcs is not None and s.get("pcs") != pcs:
            for k, v in last.items():
                offset[k] = offset.get(k, 0) + v
            last = {}
        pcs = s.get("pcs")
        inb = s.get("inbound") or {}
        row = {"t": s["t"]}
        for k in COUNTERS:
            v = inb.get(k, last.get(k, 0)) or 0
            last[k] = v
            row[k] = offset.get(k, 0) + v
        out.append(row)
    return out


def viewer_metrics(res, seconds, statuses, viewer_addr):
    m = {"error": res.get("error")}
    if "t0" not in res or not res.get("samples"):
        m["per_second"] = []
        return m
    t0 = res["t0"]
    start = t0 + SKIP_S * 1000.0
    cs = continuous(res["samples"])
    a = next((c for c in cs if c["t"] >= start - 250), cs[-1])  # the sample at t0 + 5 s (sampling jitter allowed)
    b = cs[-1]
    dt = (b["t"] - a["t"]) / 1000.0
    d = {k: b[k] - a[k] for k in COUNTERS}
    strip = res.get("strip") or {}
    lat = [l for at, l in zip(strip.get("presAt", []), strip.get("pres", [])) if start <= at <= b["t"]]
    times = sorted(t for t in strip.get("times", []) if start <= t <= b["t"])
    edges = [start] + times + [b["t"]]
    m.update({
        "connect_s": res.get("connect_s"), "window_s": dt,
        "first_frame_ms": (strip["first"] - t0) if strip.get("first") else None,
        "fps": d["framesDecoded"] / dt if dt > 0 else None,
        "presented_fps": len(times) / dt if dt > 0 else None,
        "kbit_s": d["bytesReceived"] * 8 / dt / 1000.0 if dt > 0 else None,
        "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "strip_samples": len(lat),
        "longest_gap_ms": max(y - x for x, y in zip(edges, edges[1:])),
        "reconnects": max(0, (res["samples"][-1].get("pcs") or 1) - 1),
        "delta": d, "totals": {k: b[k] for k in COUNTERS}})
    # per second since t0: frames shown, their capture -> present p95, the bitrate received
    per = []
    pairs = list(zip(strip.get("presAt", []), strip.get("pres", [])))
    for k in range(int(seconds)):
        lo, hi = t0 + k * 1000.0, t0 + (k + 1) * 1000.0
        ls = [l for at, l in pairs if lo <= at < hi]
        n = sum(1 for t in strip.get("times", []) if lo <= t < hi)
        kbit = None
        if k + 1 < len(cs):
            span = (cs[k + 1]["t"] - cs[k]["t"]) / 1000.0
            kbit = (cs[k + 1]["bytesReceived"] - cs[k]["bytesReceived"]) * 8 / span / 1000.0 if span > 0 else None
        per.append({"s": k, "frames": n, "p95_ms": pct(ls, 95), "kbit_s": kbit})
    m["per_second"] = per
    if statuses is not None:
        m["rtcam"] = session_figures(statuses, start, b["t"], viewer_addr)
    return m


STATUS_FIELDS = ("estimate", "layers", "pacer_queue_ms", "loss_percent", "rtt_ms")  # per session, when rtcam reports them


def session_figures(statuses, start, end, viewer_addr):
    """This viewer's sessions in rtcam's /status over the window: the median of each congestion
    field it reports (null or absent ones are left out) and the encoder's target."""
    mine = []
    for s in statuses:
        if start <= s["t"] <= end:
            for x in s["sessions"]:
                if str(x.get("remote") or "").startswith(viewer_addr + ":"):
                    enc = s.get("encoder") or {}
                    mine.append(dict(x, t=s["t"], target=enc.get("target_bitrate"), target_reason=enc.get("target_reason"),
                                     encoded_bytes=enc.get("bytes")))
    out = {"samples": len(mine), "last": mine[-1] if mine else None,
           # the session's congestion state once a second, for reading a run afterwards
           "timeline": [{k: x.get(k) for k in ("t", "estimate", "layers", "pacer_queue_ms", "loss_percent", "rtt_ms",
                                                "delay_signal", "rate_state", "frames", "frames_layer_dropped",
                                                "frames_congestion_dropped", "retransmissions", "target", "target_reason",
                                                "encoded_bytes", "bytes")} for x in mine]}
    for k in STATUS_FIELDS:
        vals = [x[k] for x in mine if isinstance(x.get(k), (int, float))]
        out[k + "_median"] = statistics.median(vals) if vals else None
    out["has_estimate"] = out["estimate_median"] is not None
    out["estimate_kbit_median"] = out["estimate_median"] / 1000.0 if out["has_estimate"] else None
    targets = [s["encoder"].get("target_bitrate") for s in statuses
               if start <= s["t"] <= end and isinstance((s.get("encoder") or {}).get("target_bitrate"), (int, float))]
    out["encoder_target_kbit_median"] = statistics.median(targets) / 1000.0 if targets else None
    return out


def step_metrics(per):
    (down, _), (up, _) = STEP

    def live(b):
        return b["frames"] > 0 and b["p95_ms"] is not None and b["p95_ms"] <= LIVE_P95_MS

    bins = {b["s"]: b for b in per}
    recovered = None
    for r in range(0, up - down):
        if all(k in bins and live(bins[k]) for k in range(down + r, up)):
            recovered = r
            break
    reached = None
    for k in range(up, max(bins) + 1 if bins else up):
        if k in bins and bins[k]["kbit_s"] is not None and bins[k]["kbit_s"] >= STEP_UP_KBIT:
            reached = k + 1 - up
            break
    return {"down_at_s": down, "up_at_s": up, "live_again_after_s": recovered, "reached_1mbit_after_s": reached}


def one_line(m):
    if m.get("fps") is None:
        return "no figures: %s" % (m.get("error") or "no samples")
    est = (m.get("rtcam") or {}).get("estimate_kbit_median")
    return "%.1f fps, p50/p95 %s/%s ms, %d freezes (%.1f s), gap %.0f ms, %d lost, %.0f kbit/s, %d reconnects%s%s" % (
        m["fps"], fmt(m["p50_ms"], "%.0f"), fmt(m["p95_ms"], "%.0f"), m["delta"]["freezeCount"],
        m["delta"]["totalFreezesDuration"], m["longest_gap_ms"], m["delta"]["packetsLost"], m["kbit_s"], m["reconnects"],
        ", estimate %.0f kbit/s" % est if est is not None else "", ", %s" % m["error"] if m.get("error") else "")


# ---- the report ----

def viewer_row(label, kind, m, cpu):
    if m.get("fps") is None:
        return "| %s | %s | %s | | | | | | | |" % (label, kind, m.get("error") or "no figures")
    d = m["delta"]
    r = m.get("rtcam") or {}
    if kind != "rtcam":
        est_cell = "-"
    elif r.get("estimate_kbit_median") is None:
        est_cell = "not reported"
    else:
        est_cell = "%.0f / %s / %s / %s" % (r["estimate_kbit_median"], fmt(r.get("layers_median"), "%g"),
                                            fmt(r.get("pacer_queue_ms_median"), "%.0f"),
                                            fmt(r.get("encoder_target_kbit_median"), "%.0f"))
    fps = "%.1f" % m["fps"] + (" (page reconnects: %d)" % m["reconnects"] if m["reconnects"] else "")
    return "| %s | %s | %s | %s / %s | %d (%.1f s) | %.0f | %d / %d / %d | %.0f | %s | %s |" % (
        label, kind, fps, fmt(m["p50_ms"], "%.0f"), fmt(m["p95_ms"], "%.0f"), d["freezeCount"],
        d["totalFreezesDuration"], m["longest_gap_ms"], d["packetsLost"], d["nackCount"], d["pliCount"], m["kbit_s"],
        fmt(cpu), est_cell)


def per_second_table(res, lo, hi, title):
    lines = ["| %s | %s |" % (title, " | ".join(str(k) for k in range(lo, hi))),
             "|---|%s" % ("---|" * (hi - lo))]
    for kind in SERVERS:
        run = res.get(kind)
        if not run or not run["viewers"] or not run["viewers"][0]["per_second"]:
            continue
        bins = {b["s"]: b for b in run["viewers"][0]["per_second"]}
        for key, what, spec in (("p95_ms", "p95 ms", "%.0f"), ("kbit_s", "kbit/s", "%.0f"), ("frames", "frames", "%d")):
            cells = [fmt(bins[k][key], spec) if k in bins else "" for k in range(lo, hi)]
            lines.append("| %s %s | %s |" % (kind, what, " | ".join(cells)))
    return lines


def criteria(results):
    """The issue's "Done when" rows that this run measured: (criterion, {server: (met, text)})."""
    def viewer(key, kind, i=0):
        run = (results.get(key) or {}).get(kind)
        if not run or len(run["viewers"]) <= i or run["viewers"][i].get("fps") is None:
            return None
        return run["viewers"][i]

    def cell(key, kind, test):
        v = viewer(key, kind)
        return None if v is None else test(v, kind)

    def live(fps_min, p95_max, no_freeze):
        def test(v, _):
            ok = v["fps"] >= fps_min and v["p95_ms"] is not None and v["p95_ms"] <= p95_max
            if no_freeze:
                ok = ok and v["delta"]["freezeCount"] == 0
            return ok, "%.1f fps, p95 %s ms, %d freezes" % (v["fps"], fmt(v["p95_ms"], "%.0f"), v["delta"]["freezeCount"])
        return test

    def step_down(v, _):
        r = v["step"]["live_again_after_s"]
        return r is not None and r <= STEP_DOWN_WITHIN_S, "never" if r is None else "after %d s" % r

    def step_up(v, _):
        r = v["step"]["reached_1mbit_after_s"]
        return r is not None and r <= STEP_UP_WITHIN_S, "not within the run" if r is None else "after %d s" % r

    def loss(v, kind):
        base = viewer("link-unlimited", kind)
        if base is None:  # nothing to compare with: not met, and said why
            return False, "%.0f kbit/s, no unlimited run to compare with; longest gap %.0f ms" % (
                v["kbit_s"], v["longest_gap_ms"])
        ratio = v["kbit_s"] / base["kbit_s"] if base["kbit_s"] else 0.0
        return (ratio >= LOSS_KEEP_RATIO and v["longest_gap_ms"] <= LOSS_MAX_GAP_MS,
                "%.0f %% of unlimited's bitrate, longest gap %.0f ms" % (100 * ratio, v["longest_gap_ms"]))

    def two(v, kind):
        capped, full = viewer("two", kind, 0), viewer("two", kind, 1)
        if capped is None or full is None:
            return False, "a viewer has no figures"
        ratio = full["kbit_s"] / capped["kbit_s"] if capped["kbit_s"] else float("inf")
        ok = (full["fps"] >= TWO_FULL_FPS and ratio >= TWO_RATIO and capped["fps"] >= TWO_CAPPED_FPS
              and capped["delta"]["freezeCount"] == 0)
        return ok, "uncapped %.1f fps, %.1fx the capped bitrate; capped %.1f fps, %d freezes" % (
            full["fps"], ratio, capped["fps"], capped["delta"]["freezeCount"])

    rows = [
        ("250 kbit/s: >= %g fps, p95 <= %d ms, no freeze" % (FPS_250K, LIVE_P95_MS), "link-250k", live(FPS_250K, LIVE_P95_MS, True)),
        ("150 kbit/s: >= %g fps, p95 <= %d ms" % (FPS_150K, SLOW_P95_MS), "link-150k", live(FPS_150K, SLOW_P95_MS, False)),
        ("step down: every second's p95 <= %d ms within %d s" % (LIVE_P95_MS, STEP_DOWN_WITHIN_S), "step", step_down),
        ("step up: >= 1 Mbit/s within %d s" % STEP_UP_WITHIN_S, "step", step_up),
        ("5 %% loss: >= %d %% of the unlimited bitrate, no gap over %d ms" % (100 * LOSS_KEEP_RATIO, LOSS_MAX_GAP_MS), "loss", loss),
        ("two viewers: uncapped >= %g fps and >= %gx the capped bitrate; capped >= %g fps, no freeze" % (
            TWO_FULL_FPS, TWO_RATIO, TWO_CAPPED_FPS), "two", two),
    ]
    out = []
    for text, key, test in rows:
        cells = {kind: cell(key, kind, test) for kind in SERVERS}
        if any(c is not None for c in cells.values()):
            out.append((text, cells))
    return out


def report(res):
    lines = ["| link | server | fps | capture->present ms p50 / p95 | freezes (s frozen) | longest gap ms | "
             "packets lost / NACK / PLI | received kbit/s | server CPU % | rtcam /status: estimate kbit/s / layers / "
             "pacer queue ms / encoder target kbit/s (medians) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for sc in res["cases"]:
        for kind in SERVERS:
            run = res["results"][sc["key"]].get(kind)
            if run is None:
                continue
            if run.get("error"):
                lines.append("| %s | %s | failed: %s | | | | | | | |" % (sc["label"], kind, run["error"]))
                continue
            for m in run["viewers"]:
                label = sc["label"] + (": " + m["label"] if m["label"] else "")
                if sc["key"] == "loss" and run.get("relay"):
                    r = run["relay"]
                    dropped = sum(r[d]["dropped"] for d in ("a>b", "b>a"))
                    udp = sum(r[d]["udp"] for d in ("a>b", "b>a"))
                    label += " (relay dropped %d of %d)" % (dropped, udp)
                lines.append(viewer_row(label, kind, m, run["cpu_pct"]))
    step = res["results"].get("step")
    if step:
        (down, _), (up, _) = STEP
        lines += ["", "Step, per second after the viewer connected (the cap falls to 250 kbit/s at %d s and rises to "
                  "2 Mbit/s at %d s): capture->present p95 of the frames shown in that second, received kbit/s, "
                  "frames shown." % (down, up), ""]
        lines += per_second_table(step, down - 2, down + 7, "second")
        lines.append("")
        lines += per_second_table(step, up - 1, min(STEP_SECONDS, up + STEP_UP_WITHIN_S + 1), "second")
        for kind in SERVERS:
            run = step.get(kind)
            if run and run["viewers"] and run["viewers"][0].get("step"):
                s = run["viewers"][0]["step"]
                lines.append("")
                down_text = ("p95 did not stay <= %d ms in any second until the step up" % LIVE_P95_MS
                             if s["live_again_after_s"] is None else
                             "p95 <= %d ms in every second from %d s after the step down to the step up" % (
                                 LIVE_P95_MS, s["live_again_after_s"]))
                up_text = ("did not receive 1 Mbit/s in any second after the step up" if s["reached_1mbit_after_s"] is None
                           else "received >= 1 Mbit/s in the second ending %d s after the step up" % s["reached_1mbit_after_s"])
                lines.append("%s: %s; %s." % (kind, down_text, up_text))
    crit = criteria(res["results"])
    if crit:
        lines += ["", "| issue 19, done when (after the first 5 s) | rtcam | aiortc |", "|---|---|---|"]
        for text, cells in crit:
            shown = []
            for kind in SERVERS:
                c = cells.get(kind)
                shown.append("-" if c is None else "%s: %s" % ("met" if c[0] else "**not met**", c[1]))
            lines.append("| %s | %s |" % (text, " | ".join(shown)))
    return "\n".join(lines)


class Context:
    pass


def make_context(args, links):
    ctx = Context()
    ctx.binary, ctx.benchtool, ctx.clip = os.path.abspath(args.binary), os.path.abspath(args.benchtool), os.path.abspath(args.clip)
    ctx.venv_python = args.venv_python
    ctx.rtcam_args = args.rtcam_args.split() if args.rtcam_args else []
    ctx.links = links
    return ctx


def bench(args):
    cases = scenarios(args)
    if not cases:
        print("adapt: nothing to run (see --only and --links)", file=sys.stderr)
        return 2
    links = [l for l in ("a", "b", "l") if any(l in sc.links() for sc in cases)]
    started = time.time()
    res = {"config": {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": "%s, %s, %d cores" % (platform.node(), cpu_model(), os.cpu_count()),
        "load_before": os.getloadavg(), "window_s": args.window, "skip_s": SKIP_S, "quick": args.quick,
        "servers": args.servers, "rtcam_args": args.rtcam_args, "clip": os.path.relpath(args.clip, ROOT),
        "rtcam_version": run_once(args.binary, ["--version"], timeout=30).stdout.strip()},
        "cases": [{"key": sc.key, "label": sc.label, "seconds": sc.seconds} for sc in cases], "results": {}}
    ctx = make_context(args, links)
    relay_log = open(os.path.join(OUT, "relay.log"), "w")
    ctx.lab, relay = build_lab(args.lab, links, relay_log)
    try:
        for sc in cases:
            res["results"][sc.key] = {}
            for kind in args.servers:
                try:
                    res["results"][sc.key][kind] = run_case(ctx, sc, kind)
                except Exception as e:  # noqa: BLE001 (one failed case is reported; the others still run)
                    print("adapt:   %s failed: %s" % (kind, e), flush=True)
                    res["results"][sc.key][kind] = {"server": kind, "error": str(e), "viewers": []}
    finally:
        if relay:
            relay.terminate()
            try:
                relay.wait(timeout=10)
            except subprocess.TimeoutExpired:
                relay.kill()
                relay.wait()
        relay_log.close()
        ctx.lab.close()
    res["config"]["seconds"] = round(time.time() - started, 1)
    res["config"]["load_after"] = os.getloadavg()
    stamp = res["config"]["date"].replace(":", "")
    for path in (os.path.join(OUT, "adapt-%s.json" % stamp), os.path.join(OUT, "adapt-latest.json")):
        with open(path, "w") as f:
            json.dump(res, f, indent=1)
    text = report(res)
    with open(os.path.join(OUT, "adapt-latest.md"), "w") as f:
        f.write(text + "\n")
    c = res["config"]
    head = ("Written by `tools/bench adapt%s` on %s, %s; `rtcam --version`: %s%s; %s clip; %g s per link (%d s for the "
            "step), figures after the first %d s of each viewer's session; load average %.2f before, %.2f after; %.0f s." % (
                " --quick" if args.quick else "", c["date"], c["machine"], c["rtcam_version"],
                ", rtcam arguments `%s`" % args.rtcam_args if args.rtcam_args else "", "camera-like 640x480@30",
                args.window, STEP_SECONDS, SKIP_S, c["load_before"][0], c["load_after"][0], c["seconds"]))
    complete = set(args.only) == set(PARTS) and set(args.links) == {k for k, _ in LINK_RATES} and list(args.servers) == list(SERVERS)
    docs = args.docs if args.docs is not None else (os.path.join(ROOT, "docs", "performance.md") if complete else "")
    if docs:
        replace_block(docs, BEGIN, END, head + "\n\n" + text)
        print("adapt: the tables are in %s" % os.path.relpath(docs, ROOT))
    elif not complete:
        print("adapt: not every case ran, so docs/performance.md is left as it is (--docs PATH writes anyway)")
    print()
    print(head)
    print()
    print(text)
    print("\nadapt: JSON with every sample: %s" % os.path.relpath(os.path.join(OUT, "adapt-latest.json"), ROOT))
    return 0


# tools/e2e-adapt: how far above the cap the median estimate may sit (GCC probes just above the
# link and backs off: on a 300 kbit/s link its median was measured at 301 kbit/s)
ESTIMATE_SLACK = 1.2


def check(args):
    """tools/e2e-adapt: one capped link, rtcam, one viewer."""
    out_dir = os.path.join(ROOT, "build", "e2e", "adapt")
    os.makedirs(out_dir, exist_ok=True)
    ctx = make_context(args, ["a"])
    ctx.lab, _ = build_lab(args.lab, ["a"], None)
    failures, lines = [], []
    sampler, agent, server = None, None, None
    try:
        ctx.lab.cap("srv", LINKS["a"]["srv_if"], args.cap)
        server = Server(ctx, "rtcam", "e2e-adapt", ["a"], out_dir)
        err = server.ready(ctx.lab.name("srv"))
        if err:
            print("e2e-adapt: FAIL %s" % err)
            return 1
        sampler = StatusSampler(ctx.lab.name("srv"), server.local + "/status")
        agent = Agent(ctx, "e2e-adapt-viewer", "a", server.url("a"), args.seconds, out_dir)
        agent.wait_t0(CONNECT_WITHIN_S + 30)
        res = agent.finish(args.seconds + 60)
        sampler.stop()
        with open(os.path.join(out_dir, "status.json"), "w") as f:
            json.dump(sampler.samples, f)
        print("e2e-adapt: the link's queue: %s" % " ".join(ctx.lab.qdisc_stats("srv", LINKS["a"]["srv_if"]).split()))
    finally:
        if agent:
            agent.stop()
        if sampler:
            sampler.stop()
        if server:
            server.stop()
        ctx.lab.close()

    def verdict(ok, text):
        lines.append("e2e-adapt: %s %s" % ("PASS" if ok else "FAIL", text))
        if not ok:
            failures.append(text)

    if "t0" not in res or not res.get("samples"):
        verdict(False, "the viewer connected: %s" % (res.get("error") or "no samples"))
    else:
        cs = continuous(res["samples"])
        t0 = res["t0"]
        last = args.seconds - 10

        def at(s):  # the sample nearest t0 + s
            return min(cs, key=lambda c: abs(c["t"] - (t0 + s * 1000.0)))

        marks = [at(s) for s in range(int(last), int(args.seconds) + 1, 2)]
        frames = [c["framesDecoded"] for c in marks]
        verdict(all(b > a for a, b in zip(frames, frames[1:])),
                "framesDecoded rises in every 2 s of the last 10 s: %s" % frames)
        span = (marks[-1]["t"] - marks[0]["t"]) / 1000.0
        fps = (frames[-1] - frames[0]) / span if span > 0 else 0.0
        verdict(fps >= args.min_fps, "decoded fps over the last 10 s %.1f >= %g (link capped at %s)" % (
            fps, args.min_fps, rate_label(args.cap)))
        lo = marks[0]["t"]
        mine = [x for s in sampler.samples if s["t"] >= lo for x in s["sessions"]
                if str(x.get("remote") or "").startswith(LINKS["a"]["viewer_addr"] + ":")]
        est = [x["estimate"] for x in mine if isinstance(x.get("estimate"), (int, float))]
        if not mine:
            verdict(False, "rtcam's /status lists the viewer's session (%d samples, none from %s)" % (
                len(sampler.samples), LINKS["a"]["viewer_addr"]))
        elif not any("estimate" in x for x in mine):
            verdict(False, "rtcam's /status reports the session's bandwidth `estimate` (bit/s): its sessions have no "
                           "`estimate` field (keys: %s)" % ", ".join(sorted(mine[-1].keys())))
        elif not est:
            verdict(False, "rtcam's /status reports the session's bandwidth `estimate` (bit/s): it was null in all %d "
                           "samples of the last 10 s (no congestion feedback from the viewer?)" % len(mine))
        else:
            # an estimator that has found the link hovers around it: it must have come down to the
            # cap (below it at least once) and stay near it (a fixed rate above the cap fails both)
            med = statistics.median(est)
            verdict(min(est) < args.cap and med <= args.cap * ESTIMATE_SLACK,
                    "the session's estimate over the last 10 s (median %.0f bit/s, min %.0f, max %.0f) fell below the "
                    "cap of %d bit/s and its median is within %d %% of it" % (med, min(est), max(est), args.cap,
                                                                              round((ESTIMATE_SLACK - 1) * 100)))
    for line in lines:
        print(line)
    print("e2e-adapt: %s (logs: %s)" % ("PASS" if not failures else "FAIL, %d of %d checks" % (len(failures), len(lines)),
                                        os.path.relpath(out_dir, ROOT)))
    return 0 if not failures else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--benchtool", required=True)
    ap.add_argument("--clip", required=True, help="the camera-like Y4M both servers are fed")
    ap.add_argument("--venv-python", default=None, help="the aiortc virtualenv's python (for the aiortc runs)")
    ap.add_argument("--lab", default="rtcam-adapt-%d" % os.getpid(), help="prefix of the namespaces' names")
    ap.add_argument("--quick", action="store_true", help="12 s per link instead of 20 (the step keeps its 40 s)")
    ap.add_argument("--window", type=float, default=None, help="seconds per link and viewer (default 20, --quick 12)")
    ap.add_argument("--only", default=",".join(PARTS), help="cases: links,step,loss,two")
    ap.add_argument("--links", default=",".join(k for k, _ in LINK_RATES), help="of the links case: " +
                    ",".join(k for k, _ in LINK_RATES))
    ap.add_argument("--servers", default=",".join(SERVERS), help="rtcam,aiortc")
    ap.add_argument("--rtcam-args", default="", help="more rtcam options for every run, e.g. '--max-bitrate 2M'")
    ap.add_argument("--docs", default=None, help="the file whose adapt block is replaced (default docs/performance.md "
                                                 "after a run of every case, '' for none)")
    ap.add_argument("--check", action="store_true", help="tools/e2e-adapt's functional check instead of the bench")
    ap.add_argument("--cap", type=int, default=300 * KBIT, help="--check: the link's rate, bit/s")
    ap.add_argument("--seconds", type=float, default=20.0, help="--check: the viewer's session")
    ap.add_argument("--min-fps", type=float, default=10.0, help="--check: decoded fps over the last 10 s at least")
    args = ap.parse_args()
    args.only = [p for p in args.only.split(",") if p]
    args.links = [k for k in args.links.split(",") if k]
    args.servers = [s for s in args.servers.split(",") if s]
    for what, got, known in (("--only", args.only, PARTS), ("--links", args.links, [k for k, _ in LINK_RATES]),
                             ("--servers", args.servers, SERVERS)):
        bad = [x for x in got if x not in known]
        if bad:
            ap.error("%s: unknown %s (known: %s)" % (what, ", ".join(bad), ", ".join(known)))
    args.servers = [s for s in SERVERS if s in args.servers]  # rtcam first, then aiortc
    if args.window is None:
        args.window = 12.0 if args.quick else 20.0
    if args.window <= SKIP_S + 2:
        ap.error("--window must be more than %d s (the first %d s are not counted)" % (SKIP_S + 2, SKIP_S))
    if "aiortc" in args.servers and not args.check and not args.venv_python:
        ap.error("--venv-python is needed for the aiortc runs")
    if args.check and args.seconds < 12:
        ap.error("--seconds must be at least 12 (the check looks at the last 10 s)")
    os.makedirs(OUT, exist_ok=True)
    # a timeout's SIGTERM unwinds through the finally blocks: processes ended, namespaces deleted
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return check(args) if args.check else bench(args)


if __name__ == "__main__":
    sys.exit(main())
