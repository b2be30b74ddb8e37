#!/usr/bin/env python3
"""`rtcam --config FILE` against the static binary, on 127.0.0.1 only.

- a config file's settings take effect (/status shows its bitrate, fps, max_viewers, MJPEG rate;
  it serves on the file's port)
- a command-line option overrides the file (another --http-port: served there, not on the file's)
- the shipped board/rtcam.conf, with only the test's addresses and ports on the command line,
  serves (its settings are rtcam's defaults: 800k, 30 fps, 8 viewers)
- an unknown key, a bad value, a missing file: exit 2 at once, the message naming FILE:LINE
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtcam_process import ROOT, OUT_DIR, Rtcam, free_port, run_once  # noqa: E402

failures = []


def check(ok, what):
    print("  %s %s" % ("ok  " if ok else "FAIL", what), flush=True)
    if not ok:
        failures.append(what)


def status(port, timeout=1):
    with urllib.request.urlopen("http://127.0.0.1:%d/status" % port, timeout=timeout) as r:
        return json.loads(r.read())


def serve(binary, args, port, name):
    """Starts rtcam with exactly `args`, waits for /status on `port`; returns (rtcam, status JSON or None)."""
    rtcam = Rtcam(binary, "config-" + name, args=args, http_port=port)
    err = rtcam.start(15)
    if err:
        print("%s: %s" % (name, err), flush=True)
        return rtcam, None
    try:
        return rtcam, status(port)
    except Exception as e:  # noqa: BLE001  (answered, but not with a /status JSON)
        print("%s: GET /status: %s" % (name, e), flush=True)
        return rtcam, None


def stop(rtcam):
    rtcam.stop()


def answers(port):
    try:
        status(port, timeout=0.5)
        return True
    except Exception:
        return False


def refused(binary, path, text, want):
    """rtcam --config path must exit 2 within 5 s, its message containing `want`."""
    if text is not None:
        with open(path, "w") as f:
            f.write(text)
    try:
        r = run_once(binary, ["--config", path], timeout=5)
    except subprocess.TimeoutExpired:
        check(False, "%s: rtcam did not exit" % want)
        return
    msg = (r.stdout + r.stderr).strip()
    check(r.returncode == 2 and want in msg, "exit %d: %s (want 2 and '%s')" % (r.returncode, msg, want))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "build/x86_64/rtcam"))
    a = ap.parse_args()
    os.makedirs(OUT_DIR, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="rtcam-config-")
    http, udp, other = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
    conf = os.path.join(tmp, "rtcam.conf")
    with open(conf, "w") as f:
        f.write("# test config\n"
                "source = testsrc\n"
                "listen = 127.0.0.1\n"
                "ice-host = 127.0.0.1\n"
                "http-port = %d\n"
                "udp-port = %d\n\n"
                "  bitrate = 1.2M\n"
                "fps = 20\n"
                "max-viewers = 3\n"
                "mjpeg-fps = 5\n"
                "state-dir = %s\n" % (http, udp, tmp))

    print("the file's settings", flush=True)
    proc, st = serve(a.binary, ["--config", conf], http, "file")
    check(st is not None, "serves /status on the file's http-port %d" % http)
    if st:
        check(st["encoder"]["bitrate"] == 1_200_000, "bitrate 1.2M from the file (%s)" % st["encoder"]["bitrate"])
        check(st["source"]["fps"] == 20 and st["source"]["spec"] == "testsrc",
              "source testsrc at 20 fps (%s)" % st["source"])
        check(st["max_viewers"] == 3 and st["stills"]["stream_fps"] == 5, "max-viewers 3, mjpeg-fps 5")
    stop(proc)

    print("the command line overrides the file", flush=True)
    proc, st = serve(a.binary, ["--config", conf, "--http-port", str(other), "--fps", "10"], other, "override")
    check(st is not None, "serves on the command line's --http-port %d" % other)
    check(not answers(http), "nothing on the file's http-port %d" % http)
    if st:
        check(st["source"]["fps"] == 10 and st["encoder"]["bitrate"] == 1_200_000,
              "--fps 10 from the command line, bitrate still the file's")
    stop(proc)

    print("board/rtcam.conf as shipped", flush=True)
    board = os.path.join(ROOT, "board", "rtcam.conf")
    proc, st = serve(a.binary, ["--config", board, "--source", "testsrc", "--listen", "127.0.0.1",
                                "--ice-host", "127.0.0.1", "--http-port", str(http), "--udp-port", str(udp),
                                "--state-dir", tmp], http, "board")
    check(st is not None, "serves with board/rtcam.conf")
    if st:
        check(st["encoder"]["bitrate"] == 800_000 and st["source"]["fps"] == 30 and st["max_viewers"] == 8,
              "its settings are the defaults")
    stop(proc)

    print("bad files: exit 2 naming FILE:LINE", flush=True)
    bad = os.path.join(tmp, "bad.conf")
    refused(a.binary, bad, "fps = 10\nframerate = 30\n", bad + ":2: unknown key 'framerate'")
    refused(a.binary, bad, "# port\nhttp-port = 0\n", bad + ":2: --http-port must be a whole number from 1 to 65535")
    refused(a.binary, bad, "fps = 10\nfps = 20\n", bad + ":2: fps is set again (first on line 1)")
    refused(a.binary, bad, "http-redirect = true\n", bad + ":1: --http-redirect needs HTTPS")
    refused(a.binary, bad, "x" * 9000 + "\n", bad + ":1: the line is longer than 8192 bytes")
    refused(a.binary, bad, "# padding\n" * 7000, "is larger than 65536 bytes")
    refused(a.binary, os.path.join(tmp, "missing.conf"), None, "cannot open " + os.path.join(tmp, "missing.conf"))
    refused(a.binary, tmp, None, "is not a regular file")

    shutil.rmtree(tmp, ignore_errors=True)
    print("config test: %s" % ("PASS" if not failures else "FAIL (%d)" % len(failures)))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
