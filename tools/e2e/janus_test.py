#!/usr/bin/python3
"""rtcam --forward into a real Janus (Debian's janus 1.1.2), watched through Janus by Chromium.

Runs inside the network namespace tools/e2e-janus makes (Janus offers no loopback candidates, so
the namespace has a veth pair with private addresses: rtcam and the page on --local, Janus on
--janus-addr). Generates a Janus configuration (HTTP transport, the Streaming plugin with a plain
and an SRTP H.264 mountpoint, RTCP feedback to rtcam), starts Janus and rtcam, then checks:
  1. a viewer of each mountpoint decodes >= 60 frames at 640x480 (Janus's HTTP API, no janus.js);
  2. a second and third viewer each get a picture within a second of connecting, through PLI
     from Janus (rtcam's forward counts them; no --forward-keyframe-interval is set);
  3. rtcam's own viewer count stays 0 and its CPU time does not grow with Janus's viewers;
  4. Janus killed: rtcam keeps serving a local viewer and counts send errors; Janus started
     again: new viewers of both mountpoints get pictures (the SRTP forward restarts its state).
Logs and screenshots go to build/e2e/. Exit code 0 only if every check held.
"""
import argparse
import base64
import functools
import glob
import http.server
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtcam_process import Rtcam  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "build", "e2e")
PLAIN_ID, SRTP_ID = 1, 2
PLAIN_PORT, SRTP_PORT = 5004, 5006  # RTCP on PORT+1 (rtcam's default)
JANUS_HTTP = 8088
FMTP = "profile-level-id=42e01f;packetization-mode=1"

failures = []


def check(ok, what):
    print("janus-test: %s: %s" % ("ok" if ok else "FAIL", what), flush=True)
    if not ok:
        failures.append(what)
    return ok


def janus_config(d, addr, key):
    """janus.jcfg, the HTTP transport and the Streaming plugin's mountpoints, in directory d."""
    libdir = os.path.dirname(glob.glob("/usr/lib/*/janus/plugins/libjanus_streaming.so")[0])
    libdir = os.path.dirname(libdir)
    plugins = [os.path.basename(p) for p in glob.glob(libdir + "/plugins/libjanus_*.so")
               if not p.endswith("libjanus_streaming.so")]
    transports = [os.path.basename(p) for p in glob.glob(libdir + "/transports/libjanus_*.so")
                  if not p.endswith("libjanus_http.so")]
    with open(os.path.join(d, "janus.jcfg"), "w") as f:
        f.write("""general: {
  configs_folder = "%(d)s"
  plugins_folder = "%(lib)s/plugins"
  transports_folder = "%(lib)s/transports"
  events_folder = "%(lib)s/events"
  loggers_folder = "%(lib)s/loggers"
  debug_level = 4
  server_name = "rtcam-test"
}
media: { rtp_port_range = "20000-20999" }
nat: { ice_enforce_list = "%(addr)s" }
plugins: { disable = "%(plugins)s" }
transports: { disable = "%(transports)s" }
events: { broadcast = false }
loggers: { disable = "libjanus_jsonlog.so" }
""" % {"d": d, "lib": libdir, "addr": addr, "plugins": ",".join(plugins), "transports": ",".join(transports)})
    with open(os.path.join(d, "janus.transport.http.jcfg"), "w") as f:
        f.write("""general: { json = "compact" base_path = "/janus" http = true port = %d ip = "%s" https = false }
admin: { admin_http = false }
cors: { allow_origin = "*" }
""" % (JANUS_HTTP, addr))
    mount = """%(name)s: {
  type = "rtp"
  id = %(id)d
  description = "rtcam %(name)s"
  audio = false
  video = true
  videoport = %(port)d
  videortcpport = %(rtcp)d
  videopt = 96
  videocodec = "h264"
  videofmtp = "%(fmtp)s"
%(srtp)s}
"""
    with open(os.path.join(d, "janus.plugin.streaming.jcfg"), "w") as f:
        f.write("general: { }\n")
        f.write(mount % {"name": "plain", "id": PLAIN_ID, "port": PLAIN_PORT, "rtcp": PLAIN_PORT + 1,
                         "fmtp": FMTP, "srtp": ""})
        f.write(mount % {"name": "srtp", "id": SRTP_ID, "port": SRTP_PORT, "rtcp": SRTP_PORT + 1, "fmtp": FMTP,
                         "srtp": '  srtpsuite = 80\n  srtpcrypto = "%s"\n' % key})


def start_janus(d, log_path):
    log = open(log_path, "a")
    p = subprocess.Popen(["janus", "-F", d, "-C", os.path.join(d, "janus.jcfg"), "-o"],
                         stdout=log, stderr=subprocess.STDOUT)
    return p, log


def get_json(url, timeout=3):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def wait_for(fn, seconds, step=0.2):
    t0 = time.time()
    while time.time() - t0 < seconds:
        try:
            v = fn()
            if v:
                return v
        except Exception:
            pass
        time.sleep(step)
    return None


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_over(pid, seconds):
    a = cpu_seconds(pid)
    time.sleep(seconds)
    return cpu_seconds(pid) - a


def chromium():
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--autoplay-policy=no-user-gesture-required", "--window-size=1000,700", "--no-first-run",
              "--disable-extensions", "--disable-background-networking",
              # host candidates as addresses, not mDNS names Janus would have to resolve
              "--disable-features=WebRtcHideLocalIpsWithMdns"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    d.set_page_load_timeout(30)
    return d


def viewers(driver):
    return driver.execute_script("return window.viewerState()")


def wait_frames(driver, i, frames, seconds):
    """Viewer i's state once it has decoded `frames` frames at 640x480 (or the last seen)."""
    t0 = time.time()
    st = None
    while time.time() - t0 < seconds:
        st = viewers(driver)[i]
        if st["frames"] >= frames and (st["width"], st["height"]) == (640, 480):
            break
        if st["state"] == "failed":
            break
        time.sleep(0.25)
    return st


def forwards(base):
    return {f["url"].split("://")[0]: f for f in get_json(base + "/status")["forwards"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--local", required=True, help="rtcam's and the page's address")
    ap.add_argument("--janus-addr", required=True)
    ap.add_argument("--name", default="janus")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    key = base64.b64encode(os.urandom(30)).decode()
    d = tempfile.mkdtemp(prefix="rtcam-janus-")
    janus_config(d, args.janus_addr, key)
    janus_log = os.path.join(OUT, args.name + ".janus.log")
    open(janus_log, "w").close()
    janus, jlog = start_janus(d, janus_log)
    jbase = "http://%s:%d/janus" % (args.janus_addr, JANUS_HTTP)
    check(wait_for(lambda: get_json(jbase + "/info")["name"] == "Janus WebRTC Server", 20) is not None,
          "Janus answers on its HTTP API")

    # the namespace is the test's own: rtcam's default ports on the veth address
    rtcam = Rtcam(args.binary, args.name, host=args.local, http_port=8080, udp_port=8189, secrets=[key],
                  extra=["--forward", "rtp://%s:%d" % (args.janus_addr, PLAIN_PORT),
                         "--forward", "srtp://%s:%d" % (args.janus_addr, SRTP_PORT), "--forward-key", key])
    base = rtcam.base
    rtcam.launch()

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=HERE)
    http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
    pages = http.server.ThreadingHTTPServer((args.local, 8000), handler)
    threading.Thread(target=pages.serve_forever, daemon=True).start()
    drivers = []
    try:
        err = rtcam.ready(20)
        check(err is None, "rtcam answers GET /status%s" % (" (%s)" % err if err else ""))
        driver = chromium()
        drivers.append(driver)
        driver.get("http://%s:8000/janus_viewer.html?janus=%s" % (args.local, jbase))

        # 1. one viewer per mountpoint, through Janus
        for i, (mount, what) in enumerate([(PLAIN_ID, "plain"), (SRTP_ID, "SRTP")]):
            driver.execute_script("window.addViewer(%d)" % mount)
            st = wait_frames(driver, i, 60, 25)
            print("janus-test: %s viewer: %s" % (what, json.dumps(st)), flush=True)
            check(st["frames"] >= 60 and (st["width"], st["height"]) == (640, 480),
                  "the %s mountpoint's viewer decodes >= 60 frames at 640x480" % what)

        # 2. more viewers: a picture within a second of connecting, from PLI via rtcam's forward
        cpu_before = cpu_over(rtcam.pid, 5)
        for n, i in ((2, 2), (3, 3)):
            plis = forwards(base)["rtp"]["plis"]
            driver.execute_script("window.addViewer(%d)" % PLAIN_ID)
            st = wait_frames(driver, i, 30, 20)
            print("janus-test: viewer %d: %s" % (n, json.dumps(st)), flush=True)
            ok = st["first_frame_ms"] is not None and st["connected_ms"] is not None
            latency = (st["first_frame_ms"] - st["connected_ms"]) if ok else None
            check(ok and latency <= 1000, "viewer %d's first picture %s ms after connecting (<= 1000)" % (
                n, None if latency is None else int(latency)))
            after = forwards(base)["rtp"]
            check(after["plis"] > plis and after["keyframe_requests"] > 0,
                  "Janus asked rtcam for a keyframe when viewer %d joined (PLIs %d -> %d)" % (n, plis, after["plis"]))
        cpu_after = cpu_over(rtcam.pid, 5)
        st = get_json(base + "/status")
        print("janus-test: rtcam CPU over 5 s: %.2f s with 2 Janus viewers, %.2f s with 4" % (cpu_before, cpu_after))
        check(st["viewers"] == 0 and st["sessions"] == [], "rtcam's own viewer count stays 0 (%d)" % st["viewers"])
        check(cpu_after <= cpu_before * 1.25 + 0.15, "rtcam's CPU does not grow per Janus viewer")
        driver.save_screenshot(os.path.join(OUT, args.name + ".viewers.png"))

        # 3. Janus goes away under a local viewer of rtcam, then comes back
        local = chromium()
        drivers.append(local)
        local.get(base + "/")
        frames_js = "return document.querySelector('video').getVideoPlaybackQuality().totalVideoFrames"
        check(wait_for(lambda: local.execute_script(frames_js) >= 30, 20) is not None, "a local viewer plays")
        janus.send_signal(signal.SIGKILL)
        janus.wait(timeout=10)
        jlog.close()
        print("janus-test: Janus killed", flush=True)
        f0 = local.execute_script(frames_js)
        time.sleep(5)
        f1 = local.execute_script(frames_js)
        fw = forwards(base)
        print("janus-test: while Janus is down: local frames %d -> %d, forwards %s" % (f0, f1, json.dumps(fw)))
        check(f1 - f0 >= 100, "the local viewer keeps playing while Janus is down (%d frames in 5 s)" % (f1 - f0))
        check(all(f["send_errors"] > 0 and f["state"] == "unreachable" for f in fw.values()),
              "both forwards count send errors and show unreachable")
        janus, jlog = start_janus(d, janus_log)
        check(wait_for(lambda: get_json(jbase + "/info"), 20) is not None, "Janus is back")
        driver.get("http://%s:8000/janus_viewer.html?janus=%s" % (args.local, jbase))
        for i, (mount, what) in enumerate([(PLAIN_ID, "plain"), (SRTP_ID, "SRTP")]):
            driver.execute_script("window.addViewer(%d)" % mount)
            st = wait_frames(driver, i, 60, 30)
            print("janus-test: %s viewer after the restart: %s" % (what, json.dumps(st)), flush=True)
            check(st["frames"] >= 60 and (st["width"], st["height"]) == (640, 480),
                  "after Janus restarted, the %s mountpoint's viewer decodes >= 60 frames" % what)
        fw = forwards(base)
        print("janus-test: forwards after the restart: %s" % json.dumps(fw))
        check(all(f["recoveries"] >= 1 and f["state"] == "sending" for f in fw.values()), "both forwards recovered")
        check(local.execute_script(frames_js) > f1, "the local viewer still plays")
        with urllib.request.urlopen(base + "/metrics", timeout=3) as r:
            metrics = r.read().decode()
        check('rtcam_forward_packets_total{target="srtp://' in metrics and "rtcam_forward_send_errors_total" in metrics,
              "/metrics has the forwards' counters")
        driver.save_screenshot(os.path.join(OUT, args.name + ".after-restart.png"))
    finally:
        for drv in drivers:
            try:
                drv.quit()
            except Exception:
                pass
        pages.shutdown()
        rtcam.stop()
        if janus.poll() is None:
            janus.terminate()
            try:
                janus.wait(timeout=10)
            except subprocess.TimeoutExpired:
                janus.kill()
        jlog.close()
    with open(rtcam.log_path) as f:
        lines = [l for l in f if "forward" in l and "keyframe requested" not in l]
    print("janus-test: rtcam's forward log lines:\n" + "".join(lines[-12:]))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a step that could not even run is a failure too
        failures.append("%s: %s" % (type(e).__name__, e))
        print("janus-test: FAIL:", failures[-1])
    print("janus-test: %s (%d failure(s))" % ("PASS" if not failures else "FAIL", len(failures)))
    sys.exit(1 if failures else 0)
