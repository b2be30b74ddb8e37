"""The viewer page in a browser without H.264: Debian's firefox-esr, headless, driven through
Marionette (marionette_driver from PyPI, in its own virtualenv: tools/e2e-firefox).

Debian's Firefox has no OpenH264 plugin unless it could download it from Cisco, which this machine
cannot: its offer has no H.264. rtcam (x86_64, test pattern, loopback) is opened in it; the page
must switch to /stream.mjpg with a line saying why, and the picture must be live: the test
pattern's time strip, read from a screenshot of the picture, is less than a second old (twice,
two seconds apart, so it is a moving stream, not one still). Prints PASS/FAIL lines; exit code
0/1. Screenshot: build/e2e/firefox.png; Firefox's log: build/e2e/firefox.gecko.log.
"""
import argparse
import io
import os
import sys
import time

from marionette_driver.marionette import Marionette
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtcam_process import OUT_DIR, Rtcam, free_port, http  # noqa: E402
from stills_test import read_strip  # noqa: E402

failures = []


def check(name, ok, detail=""):
    print("firefox: %s %s%s" % ("PASS" if ok else "FAIL", name, (" — " + detail) if detail else ""), flush=True)
    if not ok:
        failures.append(name)


def page_script(client, script):
    """Runs `script` in the page's own scope (no sandbox: Marionette's default sandbox sees the
    window through Xray wrappers, without what the page's script set on it, such as window.rtcam)."""
    return client.execute_script(script, sandbox=None)


def wait_for(client, script, within):
    """Polls `script` (returning a truthy value when done) for up to `within` seconds."""
    deadline = time.time() + within
    value = None
    while time.time() < deadline:
        value = page_script(client, script)
        if value:
            return value
        time.sleep(0.25)
    return value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/x86_64/rtcam")
    ap.add_argument("--firefox", default="/usr/bin/firefox-esr")
    args = ap.parse_args()
    os.makedirs(OUT_DIR, exist_ok=True)
    server = Rtcam(args.binary, "firefox", log_level="info")
    server.start(within=15)
    client = None
    try:
        port = free_port(__import__("socket").SOCK_STREAM)
        client = Marionette(host="127.0.0.1", port=port, bin=args.firefox, headless=True,
                            gecko_log=os.path.join(OUT_DIR, "firefox.gecko.log"), startup_timeout=120)
        client.start_session()
        client.set_window_rect(width=1024, height=768)
        check("firefox started", True, "%s %s" % (client.session_capabilities.get("browserName"),
                                                   client.session_capabilities.get("browserVersion")))
        h264 = client.execute_script(
            "const c = RTCRtpReceiver.getCapabilities('video'); return c ? c.codecs.map(x => x.mimeType) : [];")
        print("firefox: receive codecs %s" % sorted(set(h264)), flush=True)
        client.navigate(server.base + "/")
        state = wait_for(client, "const r = window.rtcam; const i = document.getElementById('mjpeg');"
                         " return r && r.state === 'mjpeg' && i && i.naturalWidth > 0 ? r.state : null;", 30)
        words = client.execute_script("return document.getElementById('state').textContent;")
        check("the page shows /stream.mjpg instead of WebRTC", state == "mjpeg",
              "state %r, bar %r" % (page_script(client, "return window.rtcam && window.rtcam.state;"), words))
        check("one line says why", "MJPEG" in (words or "") and "H.264" in (words or ""), repr(words))
        size = client.execute_script("const i = document.getElementById('mjpeg'); return i ? [i.naturalWidth, i.naturalHeight] : null;")
        check("the MJPEG picture is 640x480", size == [640, 480], repr(size))
        ages = []
        for k in range(2):
            if k:
                time.sleep(2)
            img = client.find_element("id", "mjpeg")
            png = client.screenshot(element=img, format="binary")
            taken = time.time()
            picture = Image.open(io.BytesIO(png))
            picture.load()
            if k == 0:
                picture.save(os.path.join(OUT_DIR, "firefox.png"))
            # the element at its natural size (the window is larger than 640x480)
            strip = read_strip(picture.convert("RGB")) if picture.size[0] >= 640 else None
            ages.append(None if strip is None else round(taken * 1000 - strip[0]))
            print("firefox: screenshot %d: %s, strip %s" % (k + 1, picture.size, strip), flush=True)
        check("the picture's time strip is under a second old, twice", all(a is not None and -200 <= a < 1000 for a in ages),
              "ages %s ms" % ages)
        status, _, body = http("GET", server.base + "/status")
        check("/status counts the MJPEG client", status == 200 and b'"stream_clients":1' in body,
              body[body.find(b'"stills"'):][:120].decode(errors="replace"))
    except Exception as e:  # noqa: BLE001 — any failure of the browser or the driver is a FAIL
        check("firefox session", False, "%s: %s" % (type(e).__name__, e))
    finally:
        if client is not None:
            try:
                client.quit(in_app=False)
            except Exception:  # noqa: BLE001
                pass
        server.stop()
    if failures:
        print("firefox: rtcam log tail:\n" + server.log_tail(), flush=True)
    print("firefox: %s" % ("FAIL " + ", ".join(failures) if failures else "PASS"), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
