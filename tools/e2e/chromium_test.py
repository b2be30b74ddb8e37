#!/usr/bin/python3
"""End-to-end: a real rtcam binary, a real headless Chromium, loopback only.

Starts `rtcam --source testsrc --listen 127.0.0.1 --ice-host 127.0.0.1` (optionally under
qemu-user: qemu-aarch64-static or qemu-arm-static), opens the viewer page in headless Chromium through chromedriver, and
reads the <video> element's decoded frame count and size. Saves a screenshot and rtcam's log
under build/e2e/. Exit code 0 only if every requirement held.
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
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtcam_process import QEMU, Rtcam  # noqa: E402


STATE_JS = """
    const v = document.querySelector('video');
    const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {totalVideoFrames: 0};
    return {state: window.rtcam.state, attempts: window.rtcam.attempts, frames: q.totalVideoFrames,
            width: v.videoWidth, height: v.videoHeight};"""


def restart_and_recover(driver, rtcam):
    """Stops rtcam under the playing page, starts it again on the same ports, and requires new frames."""
    before = driver.execute_script(STATE_JS)
    rtcam.stop()
    print("e2e: rtcam stopped under the page (attempts=%d, exit code %s); starting it again"
          % (before["attempts"], rtcam.proc.returncode))
    time.sleep(1.0)
    rtcam.launch()  # the same command and ports; the log goes on in the same file
    t0 = time.time()
    mark = None
    while time.time() - t0 < 40:
        st = driver.execute_script(STATE_JS)
        if st["attempts"] > before["attempts"] and st["state"] == "connected":
            if mark is None:
                mark = st["frames"]
            elif st["frames"] - mark >= 30:
                print("e2e: recovered after %.1f s: %s" % (time.time() - t0, json.dumps(st)))
                return []
        time.sleep(0.5)
    return ["the page did not recover after rtcam restarted: %s" % json.dumps(driver.execute_script(STATE_JS))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--qemu", nargs="?", const="aarch64", choices=sorted(QEMU),
                    help="run the binary under qemu-user for this arch (qemu-aarch64-static if no arch given)")
    ap.add_argument("--name", required=True)
    ap.add_argument("--min-frames", type=int, default=60)
    ap.add_argument("--within", type=float, default=10.0, help="seconds after the page loads")
    ap.add_argument("--startup", type=float, default=20.0, help="seconds for rtcam to start serving")
    ap.add_argument("--source", default="testsrc")
    ap.add_argument("--restart", action="store_true",
                    help="then stop rtcam, start it again on the same ports, and require the page to recover")
    args = ap.parse_args()

    out_dir = os.path.join(ROOT, "build", "e2e")
    rtcam = Rtcam(args.binary, args.name, qemu=args.qemu, source=args.source)
    base = rtcam.base
    failures = []
    driver = None
    try:
        err = rtcam.start(args.startup)
        if err:
            failures.append(err)
            return failures
        opts = Options()
        opts.binary_location = "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--autoplay-policy=no-user-gesture-required", "--window-size=800,600",
                  "--no-first-run", "--disable-extensions", "--disable-background-networking",
                  "--allow-loopback-in-peer-connection"):
            opts.add_argument(a)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        driver.set_page_load_timeout(30)
        driver.get(base + "/")
        t0 = time.time()
        best = None
        while time.time() - t0 < args.within:
            best = driver.execute_script("""
                const v = document.querySelector('video');
                const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {totalVideoFrames: 0};
                return {state: window.rtcam && window.rtcam.state, error: window.rtcam && window.rtcam.error,
                        frames: q.totalVideoFrames, dropped: q.droppedVideoFrames || 0,
                        width: v.videoWidth, height: v.videoHeight};""")
            if best["frames"] >= args.min_frames and best["width"] == 640 and best["height"] == 480:
                break
            time.sleep(0.25)
        elapsed = time.time() - t0
        print("e2e: after %.1f s: %s" % (elapsed, json.dumps(best)))
        shot = os.path.join(out_dir, args.name + ".png")
        driver.save_screenshot(shot)
        print("e2e: screenshot", shot)
        with urllib.request.urlopen(base + "/status", timeout=5) as r:
            status = json.loads(r.read())
        print("e2e: /status sessions:", json.dumps(status.get("sessions")))
        if not best or best["frames"] < args.min_frames:
            failures.append("decoded %s frames within %.0f s, need >= %d" % (best and best["frames"], args.within, args.min_frames))
        if not best or (best["width"], best["height"]) != (640, 480):
            failures.append("video size %sx%s, need 640x480" % (best and best["width"], best and best["height"]))
        if not any(s.get("state") == "connected" for s in status.get("sessions", [])):
            failures.append("/status shows no connected session")
        if args.restart and not failures:
            failures += restart_and_recover(driver, rtcam)
    finally:
        if driver is not None:
            driver.quit()
        rtcam.stop()
    return failures


if __name__ == "__main__":
    fails = main()
    for f in fails:
        print("e2e: FAIL:", f)
    if fails:
        print("e2e: rtcam log tail:")
        name = sys.argv[sys.argv.index("--name") + 1]
        try:
            with open(os.path.join(ROOT, "build", "e2e", name + ".rtcam.log")) as fh:
                print("".join(fh.readlines()[-30:]))
        except OSError:
            pass
    sys.exit(1 if fails else 0)
