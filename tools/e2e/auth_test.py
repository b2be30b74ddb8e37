#!/usr/bin/python3
"""Access control end to end, on loopback: rtcam with --auth and --token.

1. Headless Chromium opens http://USER:PASSWORD@127.0.0.1:PORT/ (credentials in the URL) and the
   viewer page must play: >= 60 decoded 640x480 frames. Then a second page gets the login through
   the DevTools protocol (Network.setExtraHTTPHeaders) and must play too.
2. Every route answers 401 with WWW-Authenticate without credentials and with wrong ones, and not
   401 with the right ones; a Bearer token works on POST /whep and DELETE on its Location.
3. After 10 failed attempts in a minute, the address gets 429 with Retry-After, even with the
   right password.
Debian's python3 with python3-selenium, chromium and chromium-driver.
"""
import argparse
import base64
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtcam_process import ROOT, Rtcam, chromium, http  # noqa: E402


USER, PASSWORD, TOKEN = "cam", "correct-horse-7", "tok-0123456789abcdef"

FRAMES_JS = """
    const v = document.querySelector('video');
    const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {totalVideoFrames: 0};
    return {state: window.rtcam && window.rtcam.state, error: window.rtcam && window.rtcam.error,
            frames: q.totalVideoFrames, width: v.videoWidth, height: v.videoHeight};"""


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def play(driver, url, within, min_frames, label):
    driver.get(url)
    t0 = time.time()
    st = None
    while time.time() - t0 < within:
        st = driver.execute_script(FRAMES_JS)
        if st["frames"] >= min_frames and (st["width"], st["height"]) == (640, 480):
            print("auth: %s: %d frames at %dx%d after %.1f s" % (label, st["frames"], st["width"], st["height"],
                                                                 time.time() - t0), flush=True)
            return None
        time.sleep(0.25)
    return "%s: the page did not play within %.0f s: %s" % (label, within, st)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    rtcam = Rtcam(args.binary, "auth", extra=["--auth", "%s:%s" % (USER, PASSWORD), "--token", TOKEN])
    failures = []
    driver = None
    right, wrong = basic(USER, PASSWORD), basic(USER, "guess")
    try:
        err = rtcam.start(20)
        if err:
            print("auth: FAIL at START: " + err)
            return 1
        host = rtcam.base.split("//", 1)[1]

        # 1. the page plays in Chromium behind Basic auth
        driver = chromium()
        f = play(driver, "http://%s:%s@%s/" % (USER, PASSWORD, host), 20, 60, "credentials in the URL")
        if f:
            failures.append(f)
        driver.quit()
        driver = chromium()
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": right}})
        f = play(driver, rtcam.base + "/", 20, 30, "login through the DevTools protocol")
        if f:
            failures.append(f)
        driver.quit()
        driver = None

        # 2. every route
        with open(os.path.join(ROOT, "Tests/Fixtures/chromium-156-recvonly-offer.sdp")) as fh:
            offer = fh.read().encode()
        routes = [("GET", "/", None, b""), ("GET", "/status", None, b""), ("GET", "/metrics", None, b""),
                  ("GET", "/favicon.ico", None, b""), ("POST", "/whep", "application/sdp", offer),
                  ("POST", "/offer", "application/json", b'{"type":"offer","sdp":"v=0"}'),
                  ("DELETE", "/whep/0000", None, b"")]
        for method, path, ctype, body in routes:
            base_headers = {"Content-Type": ctype} if ctype else {}
            st, h, _ = http(method, rtcam.base + path, body=body or None, headers=base_headers)
            if st != 401 or 'Basic realm="rtcam"' not in h.get("www-authenticate", ""):
                failures.append("%s %s without credentials: %d %s" % (method, path, st, h.get("www-authenticate")))
            st, _, _ = http(method, rtcam.base + path, body=body or None, headers={**base_headers, "Authorization": wrong})
            if st != 401:
                failures.append("%s %s with a wrong password: %d" % (method, path, st))
            st, _, _ = http(method, rtcam.base + path, body=body or None, headers={**base_headers, "Authorization": right})
            if st in (401, 429):
                failures.append("%s %s with the right password: %d" % (method, path, st))
            print("auth: %s %s: 401 / 401 / %d" % (method, path, st), flush=True)
        st, h, _ = http("POST", rtcam.base + "/whep", body=offer,
                        headers={"Content-Type": "application/sdp", "Authorization": "Bearer " + TOKEN})
        loc = h.get("location")
        if st != 201 or not loc:
            failures.append("POST /whep with the Bearer token: %d" % st)
        else:
            st, _, _ = http("DELETE", rtcam.base + loc, headers={"Authorization": "Bearer " + TOKEN})
            if st != 200:
                failures.append("DELETE %s with the Bearer token: %d" % (loc, st))
            print("auth: Bearer token: POST /whep 201, DELETE 200", flush=True)
        st, _, _ = http("GET", rtcam.base + "/", headers={"Authorization": "Bearer " + TOKEN})
        if st != 401:
            failures.append("the token opened the page (%d): tokens are for the offer endpoints only" % st)

        # 3. too many failures from this address: 429, even with the right password
        seen429 = None
        for i in range(12):
            st, h, _ = http("GET", rtcam.base + "/status", headers={"Authorization": basic(USER, "wrong%d" % i)})
            if st == 429:
                seen429 = h
                break
        st, h, _ = http("GET", rtcam.base + "/status", headers={"Authorization": right})
        if seen429 is None or st != 429 or not h.get("retry-after", "").isdigit():
            failures.append("no 429 with Retry-After after repeated failures (last: %d %s)" % (st, h.get("retry-after")))
        else:
            print("auth: after repeated failures: 429, Retry-After %s s" % h.get("retry-after"), flush=True)
        with open(rtcam.log_path) as fh:
            log = fh.read()
        for secret in (PASSWORD, TOKEN, "guess", "wrong1"):
            # the command line itself is logged by the test helper, not by rtcam
            if secret in log.replace(" ".join(rtcam.cmd), ""):
                failures.append("a secret (%s...) appears in rtcam's log" % secret[:3])
    finally:
        if driver is not None:
            driver.quit()
        rtcam.stop()
    for f in failures:
        print("auth: FAIL " + f, flush=True)
    print("auth: " + ("PASS" if not failures else "FAIL"), flush=True)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
