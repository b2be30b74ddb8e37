#!/usr/bin/python3
"""Headless Chromium against an rtcam that is already running (tools/vm-test: inside a VM).

Opens <url>/ in headless Chromium through chromedriver, waits for --min-frames decoded frames
of --size (640x480), optionally checks that the picture is vivid's 75% colour bars (white, yellow, cyan,
green, magenta, red, blue, black from left to right) or the four quadrants of the MJPEG frames
tools/vm/make_mjpeg.py makes (--expect-quadrants: red, green / blue, yellow) and that /status
names the expected source, saves a screenshot as build/e2e/<name>.png and requires /status to show a connected
session. Exit code 0 only if every requirement held.
"""
import argparse
import json
import os
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

STATE_JS = """
    const v = document.querySelector('video');
    const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {totalVideoFrames: 0};
    return {state: window.rtcam && window.rtcam.state, error: window.rtcam && window.rtcam.error,
            frames: q.totalVideoFrames, dropped: q.droppedVideoFrames || 0,
            width: v.videoWidth, height: v.videoHeight};"""

# The current video frame drawn into a canvas `c` (2d context `g`), and an empty `out`.
FRAME_JS = """
    const v = document.querySelector('video');
    if (!v.videoWidth) return null;
    const c = document.createElement('canvas');
    c.width = v.videoWidth; c.height = v.videoHeight;
    const g = c.getContext('2d');
    g.drawImage(v, 0, 0);
    const out = [];
"""

# Mean RGB of an 8x8 block in the middle of each eighth of the picture, at 60% of its height.
BARS_JS = FRAME_JS + """
    const y = Math.floor(c.height * 0.6);
    for (let i = 0; i < 8; i++) {
        const x = Math.floor((i + 0.5) * c.width / 8) - 4;
        const d = g.getImageData(x, y, 8, 8).data;
        let r = 0, gr = 0, b = 0;
        for (let k = 0; k < d.length; k += 4) { r += d[k]; gr += d[k + 1]; b += d[k + 2]; }
        const n = d.length / 4;
        out.push([Math.round(r / n), Math.round(gr / n), Math.round(b / n)]);
    }
    return out;"""

BARS = [("white", (1, 1, 1)), ("yellow", (1, 1, 0)), ("cyan", (0, 1, 1)), ("green", (0, 1, 0)),
        ("magenta", (1, 0, 1)), ("red", (1, 0, 0)), ("blue", (0, 0, 1)), ("black", (0, 0, 0))]


def bars_problem(samples):
    """None if the eight samples are the colour bars in order, else a description."""
    if not samples or len(samples) != 8:
        return "could not sample the picture: %s" % json.dumps(samples)
    for (name, want), rgb in zip(BARS, samples):
        # 75% bars: a channel is either ~191 or ~0; H.264 and range conversion blur that a bit,
        # but a full-intensity pattern (255) is not vivid's
        got = tuple(1 if c >= 100 else 0 for c in rgb)
        clean = all(140 <= c <= 225 or c <= 60 for c in rgb)
        if got != want or not clean:
            return "the picture is not vivid's colour bars (%s bar sampled as rgb%s; all: %s)" % (
                name, tuple(rgb), json.dumps(samples))
    return None


# Mean RGB of an 8x8 block at the centre of each quadrant (clear of the moving block's band),
# and of the band's left end (x 0..7, where the moving block never goes).
QUADS_JS = FRAME_JS + """
    for (const [fx, fy] of [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75], [8 / 640, 0.5]]) {
        const x = Math.max(0, Math.floor(fx * c.width) - 4);
        const d = g.getImageData(x, Math.floor(fy * c.height) - 4, 8, 8).data;
        let r = 0, gr = 0, b = 0;
        for (let k = 0; k < d.length; k += 4) { r += d[k]; gr += d[k + 1]; b += d[k + 2]; }
        const n = d.length / 4;
        out.push([Math.round(r / n), Math.round(gr / n), Math.round(b / n)]);
    }
    return out;"""

# tools/vm/make_mjpeg.py QUADRANTS, in the same order as QUADS_JS samples them
QUADRANTS = [("red", (200, 40, 40)), ("green", (40, 180, 60)), ("blue", (40, 60, 200)),
             ("yellow", (220, 200, 40))]
# Per channel: the browser's YCbCr matrix need not be the one the picture was made with (vivid's
# 75% green bar, 191, arrives as ~160), so colours get a wide tolerance ...
QUAD_TOLERANCE = 40
# ... but a grey has no chroma, so no matrix can move it: the band's grey 40 must arrive as 40.
# JPEG (JFIF) YCbCr is full range (0-255) and H.264 video as rtcam signals it is limited range
# (16-235); a decoded JPEG passed on unconverted shows as (40 - 16) * 255 / 219 = 28.
BAND_GREY = 40
GREY_TOLERANCE = 8


def quadrants_problem(samples):
    """None if the samples are the MJPEG test picture's quadrants and band grey, else a description."""
    if not samples or len(samples) != 5:
        return "could not sample the picture: %s" % json.dumps(samples)
    for (name, want), rgb in zip(QUADRANTS, samples):
        if any(abs(g - w) > QUAD_TOLERANCE for g, w in zip(rgb, want)):
            return "the picture is not the MJPEG test picture (%s quadrant sampled as rgb%s, want rgb%s +-%d; all: %s)" % (
                name, tuple(rgb), want, QUAD_TOLERANCE, json.dumps(samples))
    grey = samples[4]
    if any(abs(c - BAND_GREY) > GREY_TOLERANCE for c in grey):
        hint = ""
        if all(abs(c - (BAND_GREY - 16) * 255 / 219) <= 3 for c in grey):
            hint = " (as if JPEG's full-range YCbCr were shown as limited range)"
        return "the grey band (%d) arrives as rgb%s, need +-%d%s; all: %s" % (
            BAND_GREY, tuple(grey), GREY_TOLERANCE, hint, json.dumps(samples))
    return None


def wait_http(url, deadline):
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status
        except Exception:
            time.sleep(0.2)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True, help="base URL of the running rtcam, e.g. http://127.0.0.1:8080")
    ap.add_argument("--name", required=True, help="screenshot name: build/e2e/<name>.png")
    ap.add_argument("--min-frames", type=int, default=30)
    ap.add_argument("--within", type=float, default=60.0, help="seconds after the page loads")
    ap.add_argument("--startup", type=float, default=30.0, help="seconds for GET /status to answer")
    ap.add_argument("--expect-colorbars", action="store_true", help="require vivid's 75%% colour bars")
    ap.add_argument("--expect-quadrants", action="store_true",
                    help="require the red/green/blue/yellow quadrants of tools/vm/make_mjpeg.py")
    ap.add_argument("--expect-source", help="require /status source.spec to start with this")
    ap.add_argument("--size", default="640x480", help="the decoded picture's WIDTHxHEIGHT (640x480)")
    args = ap.parse_args()
    want_w, want_h = (int(x) for x in args.size.split("x"))

    base = args.url.rstrip("/")
    out_dir = os.path.join(ROOT, "build", "e2e")
    os.makedirs(out_dir, exist_ok=True)
    failures = []
    if wait_http(base + "/status", time.time() + args.startup) != 200:
        return ["%s/status did not answer 200 within %.0f s" % (base, args.startup)]
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--autoplay-policy=no-user-gesture-required", "--window-size=800,600",
              "--no-first-run", "--disable-extensions", "--disable-background-networking",
              "--allow-loopback-in-peer-connection"):
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        driver.set_page_load_timeout(30)
        driver.get(base + "/")
        t0 = time.time()
        best = None
        while time.time() - t0 < args.within:
            best = driver.execute_script(STATE_JS)
            if best["frames"] >= args.min_frames and (best["width"], best["height"]) == (want_w, want_h):
                break
            time.sleep(0.25)
        print("browser: after %.1f s: %s" % (time.time() - t0, json.dumps(best)))
        if not best or best["frames"] < args.min_frames:
            failures.append("decoded %s frames within %.0f s, need >= %d" % (
                best and best["frames"], args.within, args.min_frames))
        if not best or (best["width"], best["height"]) != (want_w, want_h):
            failures.append("video size %sx%s, need %s" % (best and best["width"], best and best["height"], args.size))
        if args.expect_colorbars and not failures:
            problem = "not checked"
            for _ in range(8):  # a few tries: the first frames may still be settling
                samples = driver.execute_script(BARS_JS)
                problem = bars_problem(samples)
                if problem is None:
                    print("browser: colour bars ok: %s" % json.dumps(samples))
                    break
                time.sleep(0.5)
            if problem:
                failures.append(problem)
        if args.expect_quadrants and not failures:
            problem = "not checked"
            for _ in range(8):
                samples = driver.execute_script(QUADS_JS)
                problem = quadrants_problem(samples)
                if problem is None:
                    print("browser: MJPEG test picture ok: %s" % json.dumps(samples))
                    break
                time.sleep(0.5)
            if problem:
                failures.append(problem)
        shot = os.path.join(out_dir, args.name + ".png")
        driver.save_screenshot(shot)
        print("browser: screenshot", shot)
        try:
            with urllib.request.urlopen(base + "/status", timeout=10) as r:
                status = json.loads(r.read())
            print("browser: /status source: %s" % json.dumps(status.get("source")))
            print("browser: /status sessions: %s" % json.dumps(status.get("sessions")))
            src = status.get("source")
            spec = src.get("spec") if isinstance(src, dict) else src
            if args.expect_source and not (isinstance(spec, str) and spec.startswith(args.expect_source)):
                failures.append("/status source is %s, expected %s..." % (json.dumps(spec), args.expect_source))
            if not any(s.get("state") == "connected" for s in status.get("sessions", [])):
                failures.append("/status shows no connected session")
        except Exception as e:  # noqa: BLE001 - report any failure to read /status
            failures.append("GET /status failed: %s" % e)
    finally:
        driver.quit()
    return failures


if __name__ == "__main__":
    fails = main()
    for f in fails:
        print("browser: FAIL:", f)
    sys.exit(1 if fails else 0)
