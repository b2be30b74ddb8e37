"""Metrics: a real Prometheus scrapes rtcam's /metrics (behind HTTP Basic auth) every second while
an aiortc viewer watches; the test asks Prometheus's HTTP API and requires
rtcam_frames_encoded_total to rise while the viewer is there, and the scrape to be healthy. The
per-stage frame times are checked twice: /status "stages" halfway through the watch, and the
rtcam_stage_duration_seconds histograms as Prometheus parsed them.

Run with the interop virtualenv's python (build/venv-interop/bin/python, it has aiortc), inside a
network namespace that has only `lo` (tools/e2e-metrics does both). Debian's `prometheus` package.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtcam_process import OUT_DIR, ROOT, Rtcam, free_port, http  # noqa: E402

import socket  # noqa: E402

USER, PASSWORD = "metrics", "scrape-me-42"


def prom_query(base, query):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=5) as r:
        j = json.loads(r.read())
    if j.get("status") != "success":
        raise RuntimeError("Prometheus query %s: %s" % (query, j))
    return j["data"]["result"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--watch", type=float, default=12.0, help="seconds the viewer watches")
    args = ap.parse_args()

    login = "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
    rtcam = Rtcam(args.binary, "metrics", extra=["--auth", "%s:%s" % (USER, PASSWORD)])
    prom_dir = os.path.join(OUT_DIR, "prometheus")
    shutil.rmtree(prom_dir, ignore_errors=True)
    os.makedirs(prom_dir)
    prom_port = free_port(socket.SOCK_STREAM)
    prom_base = "http://127.0.0.1:%d" % prom_port
    prom = viewer = None
    failures = []
    try:
        err = rtcam.start(20)
        if err:
            print("metrics: FAIL at START: " + err)
            return 1
        st, _, _ = http("GET", rtcam.base + "/metrics")
        if st != 401:
            failures.append("/metrics without credentials answered %d, want 401" % st)
        st, h, body = http("GET", rtcam.base + "/metrics", headers={"Authorization": login})
        if st != 200 or "rtcam_frames_encoded_total" not in body.decode():
            failures.append("/metrics with credentials: %d %s" % (st, body[:200]))
        if not h.get("content-type", "").startswith("text/plain; version=0.0.4"):
            failures.append("/metrics Content-Type %r" % h.get("content-type"))

        with open(os.path.join(prom_dir, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
                    "scrape_configs:\n  - job_name: rtcam\n    basic_auth:\n      username: %s\n      password: %s\n"
                    "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % (USER, PASSWORD, rtcam.http_port))
        prom_log = open(os.path.join(OUT_DIR, "prometheus.log"), "w")
        prom = subprocess.Popen(
            ["/usr/bin/prometheus", "--config.file=" + os.path.join(prom_dir, "prometheus.yml"),
             "--storage.tsdb.path=" + os.path.join(prom_dir, "data"), "--web.listen-address=127.0.0.1:%d" % prom_port,
             "--storage.tsdb.retention.time=1h"],
            stdout=prom_log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if prom_query(prom_base, "up{job=\"rtcam\"}"):
                    break
            except Exception:
                pass
            time.sleep(0.5)
        else:
            failures.append("Prometheus did not come up or scrape within 30 s (log: build/e2e/prometheus.log)")
            return report(failures)

        # nobody watches: nothing is encoded
        time.sleep(2.5)
        idle = prom_query(prom_base, "rtcam_frames_encoded_total")
        before = float(idle[0]["value"][1]) if idle else None
        print("metrics: before the viewer, rtcam_frames_encoded_total = %s" % before, flush=True)

        viewer = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tools/e2e/aiortc_client.py"), "--url", rtcam.base,
             "--authorization", login, "--name", "metrics-viewer", "--min-frames", str(int(args.watch * 25)),
             "--within", str(args.watch + 10)])
        # halfway: /status shows the stage times of the last seconds, with the viewer there
        time.sleep(args.watch / 2)
        st, _, body = http("GET", rtcam.base + "/status", headers={"Authorization": login})
        stages = json.loads(body).get("stages") if st == 200 else None
        print("metrics: /status stages halfway: %s" % json.dumps(stages), flush=True)
        failures += check_status_stages(stages)
        time.sleep(args.watch / 2)
        failures += check_stage_series(prom_base)
        rising = prom_query(prom_base, "increase(rtcam_frames_encoded_total[5s])")
        now_val = prom_query(prom_base, "rtcam_frames_encoded_total")
        viewers = prom_query(prom_base, "max_over_time(rtcam_viewers[10s])")
        up = prom_query(prom_base, "min_over_time(up{job=\"rtcam\"}[10s])")
        inc = float(rising[0]["value"][1]) if rising else 0.0
        after = float(now_val[0]["value"][1]) if now_val else 0.0
        print("metrics: while watching, increase over 5 s = %.1f, total %s -> %.0f, viewers max %s, up min %s"
              % (inc, before, after, viewers[0]["value"][1] if viewers else None, up[0]["value"][1] if up else None),
              flush=True)
        if before is None:
            failures.append("Prometheus has no rtcam_frames_encoded_total sample before the viewer")
        elif before != 0:
            failures.append("frames were encoded before anyone watched (%s)" % before)
        if inc <= 0 or after <= (before or 0):
            failures.append("rtcam_frames_encoded_total did not rise while a viewer watched")
        if not viewers or float(viewers[0]["value"][1]) < 1:
            failures.append("rtcam_viewers never reached 1")
        if not up or float(up[0]["value"][1]) != 1:
            failures.append("a scrape failed (up < 1)")
        if viewer.wait(timeout=40) != 0:
            failures.append("the aiortc viewer failed (see its output above)")
        viewer = None
    finally:
        for p in (viewer, prom):
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        rtcam.stop()
    return report(failures)


STAGES = ("capture_wait", "convert", "encode", "packetize_protect", "send")


def check_status_stages(stages):
    """/status "stages" while a viewer watches a 30 fps test pattern: every stage timed, the
    encoder and the fan-out busy (> 0), nothing near a second, the budget 1/30 s."""
    if not isinstance(stages, dict):
        return ["/status has no stages object: %r" % (stages,)]
    out = []
    if stages.get("frame_budget_ms") != 33.333:
        out.append("frame_budget_ms %r, want 33.333 at 30 fps" % stages.get("frame_budget_ms"))
    if not 1000 <= (stages.get("window_ms") or 0) <= 10000:
        out.append("window_ms %r, want 1000...10000" % stages.get("window_ms"))
    for name in STAGES:
        s = stages.get(name + "_ms") or {}
        if (s.get("frames") or 0) < 10:
            out.append("%s_ms.frames %r, want >= 10 with a viewer" % (name, s.get("frames")))
            continue
        p50, p95, mx = s.get("p50"), s.get("p95"), s.get("max")
        if not all(isinstance(v, (int, float)) for v in (p50, p95, mx)) or not 0 <= p50 <= p95 <= mx < 1000:
            out.append("%s_ms %r: want numbers with 0 <= p50 <= p95 <= max < 1000 ms" % (name, s))
    for name in ("encode", "packetize_protect", "send", "convert"):
        if not ((stages.get(name + "_ms") or {}).get("p95") or 0) > 0:
            out.append("%s_ms.p95 is not > 0 while a viewer watches" % name)
    # the paced test pattern waits for each frame's due time (unless encoding took all of it)
    if not ((stages.get("capture_wait_ms") or {}).get("p50") or 0) > 0:
        out.append("capture_wait_ms.p50 %r, want > 0 (the test pattern waits for its due time)"
                   % (stages.get("capture_wait_ms") or {}).get("p50"))
    if stages.get("busiest") not in ("convert", "encode", "packetize_protect", "send"):
        out.append("busiest %r is not a work stage" % stages.get("busiest"))
    if stages.get("short") not in (None,) + STAGES:
        out.append("short %r is neither null nor a stage" % stages.get("short"))
    return out


def check_stage_series(prom_base):
    """Prometheus parsed rtcam_stage_duration_seconds: a histogram per stage, counting frames
    while the viewer watched, with a plausible p95 for the encoder."""
    out = []
    counts = prom_query(prom_base, "increase(rtcam_stage_duration_seconds_count[10s])")
    seen = {r["metric"].get("stage"): float(r["value"][1]) for r in counts}
    print("metrics: stage frames over 10 s: %s" % seen, flush=True)
    for name in STAGES:
        if seen.get(name, 0) <= 0:
            out.append("rtcam_stage_duration_seconds_count{stage=%r} did not rise while a viewer watched" % name)
    q = prom_query(prom_base,
                   "histogram_quantile(0.95, rate(rtcam_stage_duration_seconds_bucket{stage=\"encode\"}[10s]))")
    p95 = float(q[0]["value"][1]) if q else None
    print("metrics: encode p95 by Prometheus: %s s" % p95, flush=True)
    if p95 is None or not 0 < p95 < 1:
        out.append("histogram_quantile(0.95) of encode %r, want within (0, 1) s" % p95)
    budget = prom_query(prom_base, "rtcam_frame_budget_seconds")
    if not budget or abs(float(budget[0]["value"][1]) - 1 / 30) > 0.001:
        out.append("rtcam_frame_budget_seconds %r, want 1/30" % (budget[0]["value"][1] if budget else None))
    return out


def report(failures):
    for f in failures:
        print("metrics: FAIL " + f, flush=True)
    print("metrics: " + ("PASS" if not failures else "FAIL"), flush=True)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
