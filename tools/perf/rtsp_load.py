"""tools/bench rtsp: rtcam's memory and CPU with RTSP clients beside WebRTC viewers (issue 21).

One x86_64 rtcam (test pattern, 640x480 at 30 fps, loopback); three phases of --window seconds
each, measured from /proc/PID (VmRSS, utime+stime) and GET /status:
  idle    nobody watching (frames captured, not encoded)
  rtsp    8 RTSP clients (ffmpeg over TCP and UDP, GStreamer over both)
  mixed   the 8 RTSP clients and 4 aiortc WebRTC viewers
Per phase: RSS at the end and its peak, rtcam's CPU as a share of one core, GET /status p50 and
worst, the least frames any client decoded. The RSS aim is <= 12 MB for the mixed phase. Writes
a Markdown table to stdout, build/bench/rtsp-latest.json, and (with --docs) docs/performance.md
between its rtsp markers. The clients' decoding runs on the same 2 cores as rtcam: compare phases
within one run.
"""
import argparse
import datetime
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "e2e"))
from rtcam_process import Rtcam, http, rss_kb  # noqa: E402
from rtsp_test import INTEROP_PYTHON, Client, ffmpeg_cmd, ffmpeg_frames, gst_cmd, gst_result  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def measure(rt, seconds):
    """RSS, CPU share and /status latency over `seconds`."""
    t0, c0 = time.time(), cpu_ticks(rt.pid)
    lat, peak = [], 0
    while time.time() - t0 < seconds:
        s = time.time()
        code, _, _ = http("GET", rt.base + "/status", timeout=5)
        lat.append(time.time() - s)
        peak = max(peak, rss_kb(rt.pid))
        time.sleep(0.25)
    cpu = (cpu_ticks(rt.pid) - c0) / CLK_TCK / (time.time() - t0)
    return {"rss_kb": rss_kb(rt.pid), "rss_peak_kb": peak, "cpu": cpu,
            "status_p50_ms": statistics.median(lat) * 1000, "status_max_ms": max(lat) * 1000}


def rtsp_clients(url, seconds):
    out = [Client("ffmpeg-%d-%s" % (i, t), ffmpeg_cmd(url, t, seconds), seconds + 40)
           for i, t in enumerate(["tcp", "udp", "tcp", "udp", "tcp", "udp"])]
    return out + [Client("gst-" + t, gst_cmd(url, t, seconds), seconds + 40) for t in ("tcp", "udp")]


def frames_of(c):
    out = c.finish()
    return ffmpeg_frames(out) if c.name.startswith("ffmpeg") else gst_result(out)["frames"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--window", type=float, default=15)
    ap.add_argument("--json", default=os.path.join(ROOT, "build", "bench", "rtsp-latest.json"))
    ap.add_argument("--docs")
    a = ap.parse_args()
    rt = Rtcam(a.binary, "bench-rtsp", rtsp_port="free", log_level="info")
    err = rt.start(20)
    if err:
        print(err)
        return 1
    url = "rtsp://127.0.0.1:%d/stream" % rt.rtsp_port
    phases = {}
    try:
        time.sleep(2)
        phases["idle"] = measure(rt, a.window)
        phases["idle"]["min_frames"] = None
        settle = 4
        clients = rtsp_clients(url, a.window + settle)
        time.sleep(settle)
        phases["rtsp"] = measure(rt, a.window)
        phases["rtsp"]["min_frames"] = min(frames_of(c) for c in clients)
        phases["rtsp"]["client_seconds"] = a.window + settle
        clients = rtsp_clients(url, a.window + 2 * settle + 6)
        viewers = [Client("aiortc-%d" % i, [INTEROP_PYTHON, os.path.join(ROOT, "tools", "e2e", "aiortc_client.py"),
                                             "--url", rt.base, "--name", "bench-rtsp-%d" % i, "--min-frames",
                                             str(int(a.window * 10)), "--within", str(a.window + 30)],
                          a.window + 60) for i in range(4)]
        time.sleep(2 * settle + 6)
        phases["mixed"] = measure(rt, a.window)
        phases["mixed"]["min_frames"] = min(frames_of(c) for c in clients)
        phases["mixed"]["client_seconds"] = a.window + 2 * settle + 6
        phases["mixed"]["viewers_ok"] = sum(1 for v in viewers if v.finish() is not None and v.proc.returncode == 0)
    finally:
        rt.stop()
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    lines = ["`tools/bench rtsp` on %s: x86_64 rtcam, test pattern 640x480 at 30 fps, %d s per phase, "
             "the clients on the same 2 cores." % (when, a.window), "",
             "| phase | RSS end | RSS peak | rtcam CPU (one core) | GET /status p50 / worst | least frames decoded |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    names = {"idle": "nobody watching", "rtsp": "8 RTSP clients", "mixed": "8 RTSP + 4 WebRTC viewers"}
    for k in ("idle", "rtsp", "mixed"):
        p = phases[k]
        mf = "-" if p["min_frames"] is None else "%d in %.0f s" % (p["min_frames"], p["client_seconds"])
        lines.append("| %s | %.1f MB | %.1f MB | %.0f %% | %.1f / %.1f ms | %s |" % (
            names[k], p["rss_kb"] / 1024, p["rss_peak_kb"] / 1024, p["cpu"] * 100, p["status_p50_ms"],
            p["status_max_ms"], mf))
    lines += ["", "Aim: RSS <= 12 MB with 8 RTSP clients and 4 WebRTC viewers: %s (peak %.1f MB); %d of 4 viewers "
              "decoded." % ("met" if phases["mixed"]["rss_peak_kb"] <= 12 * 1024 else "NOT met",
                            phases["mixed"]["rss_peak_kb"] / 1024, phases["mixed"]["viewers_ok"])]
    table = "\n".join(lines)
    print(table)
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump({"date": when, "window": a.window, "phases": phases}, f, indent=1)
    if a.docs:
        with open(a.docs) as f:
            doc = f.read()
        begin, end = "<!-- rtsp:begin -->", "<!-- rtsp:end -->"
        if begin in doc and end in doc:
            doc = doc[:doc.index(begin) + len(begin)] + "\n" + table + "\n" + doc[doc.index(end):]
        else:
            doc = doc.rstrip("\n") + "\n\n## RTSP clients beside WebRTC viewers (`tools/bench rtsp`)\n\n" + begin + "\n" \
                + table + "\n" + end + "\n"
        with open(a.docs, "w") as f:
            f.write(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
