#!/usr/bin/python3
"""One headless Chromium viewer of the bandwidth bench, run inside a viewer's network namespace
(`ip netns exec NS viewer.py ...`): the harness (tools/perf/adapt.py) starts one per viewer.

  viewer.py --url http://10.77.1.1:PORT/ --seconds 20 --out RESULT.json --name NAME
            [--connect-within 30] [--screenshot PNG]

Opens the server's viewer page (rtcam's, or the aiortc baseline's) in headless Chromium through
chromedriver (tools/perf/bench.py's Browser, which injects its time-strip reader into the page),
waits for the page's RTCPeerConnection to be `connected` and prints one line `t0 <unix s>` (the
harness times the link's steps from it). Then, once a second for --seconds, it keeps the
inbound-rtp video stats of the page's newest peer connection (framesDecoded, bytesReceived,
packetsLost, freezeCount, totalFreezesDuration, NACK/PLI counts, ...) with the page's wall-clock
time; at the end, every frame's presentation time and, for frames whose time strip could be read,
capture -> present. Writes it all to --out as JSON and prints `done`. A page that never connects
gives {"error": ...} instead. Times are Unix milliseconds from the page's clock
(performance.timeOrigin + now), the clock the feeder stamps the strip with.
"""
import argparse
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import Browser  # noqa: E402  (the same browser and page instrumentation as tools/bench)

# The inbound-rtp fields kept per sample (those a browser lacks are left out).
FIELDS = ("framesDecoded", "framesReceived", "framesDropped", "keyFramesDecoded", "bytesReceived",
          "headerBytesReceived", "packetsReceived", "packetsLost", "freezeCount", "totalFreezesDuration",
          "pauseCount", "totalPausesDuration", "nackCount", "pliCount", "firCount", "frameWidth", "frameHeight",
          "framesPerSecond", "jitter", "jitterBufferDelay", "jitterBufferEmittedCount", "retransmittedPacketsReceived")

STATS_JS = r"""
const fields = arguments[0], done = arguments[arguments.length - 1];
const B = window.__bench;
const pc = B && B.pcs.length ? B.pcs[B.pcs.length - 1] : null;  // the page makes a new one when it reconnects
const t = performance.timeOrigin + performance.now();
if (!pc) { done({t: t, state: 'none', pcs: 0, presented: B ? B.frames : 0}); return; }
pc.getStats().then((r) => {
  const o = {t: t, state: pc.connectionState, pcs: B.pcs.length, presented: B.frames, inbound: null, pair: null};
  r.forEach((x) => {
    if (x.type === 'inbound-rtp' && x.kind === 'video') {
      o.inbound = {};
      for (const k of fields) if (x[k] !== undefined) o.inbound[k] = x[k];
    } else if (x.type === 'candidate-pair' && x.nominated && x.state === 'succeeded') {
      o.pair = {rtt: x.currentRoundTripTime, bytesReceived: x.bytesReceived};
    }
  });
  done(o);
}, (e) => done({t: t, state: 'error', error: String(e), pcs: B.pcs.length, presented: B.frames}));
"""

STRIP_JS = """
const B = window.__bench;
return {first: B.first === null ? null : performance.timeOrigin + B.first, times: B.times, presAt: B.presAt,
        pres: B.pres, lat: B.lat, unreadable: B.bad, pcs: B.pcs.length};"""

POLL_S = 0.1  # how often the connection state is looked at before t0
SAMPLE_EVERY_S = 1.0


def stats(browser):
    return browser.driver.execute_async_script(STATS_JS, list(FIELDS))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--connect-within", type=float, default=30.0)
    ap.add_argument("--screenshot", default=None)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))  # the browser is closed on the way out
    out = {"name": args.name, "url": args.url, "seconds": args.seconds}
    browser = None
    try:
        log = open(os.path.splitext(args.out)[0] + ".chromedriver.log", "w")
        opened = time.time()
        browser = Browser(args.url, log)
        browser.js("window.__bench.record = true;")
        deadline = opened + args.connect_within
        first, s = None, {}
        while time.time() < deadline:
            s = stats(browser)
            if s.get("state") == "connected":
                first = s
                break
            time.sleep(POLL_S)
        if first is None:
            out["error"] = "the page's peer connection was not connected within %.0f s (last state: %s)" % (
                args.connect_within, s.get("state"))
            return 1
        t0 = first["t"]
        out["t0"], out["connect_s"] = t0, t0 / 1000.0 - opened
        print("t0 %.3f" % (t0 / 1000.0), flush=True)
        samples = [first]
        k = 1
        while k * SAMPLE_EVERY_S <= args.seconds:
            wait = t0 / 1000.0 + k * SAMPLE_EVERY_S - time.time()
            if wait > 0:
                time.sleep(wait)
            samples.append(stats(browser))
            k += 1
        out["samples"] = samples
        out["strip"] = browser.js(STRIP_JS)
        if args.screenshot:
            browser.driver.save_screenshot(args.screenshot)
        return 0
    except Exception as e:  # noqa: BLE001 (the harness reports it with the results)
        out["error"] = "%s: %s" % (type(e).__name__, e)
        return 1
    finally:
        if browser is not None:
            try:
                browser.quit()
            except Exception:  # noqa: BLE001
                pass
        with open(args.out, "w") as f:
            json.dump(out, f)
        print("done", flush=True)


if __name__ == "__main__":
    sys.exit(main())
