#!/usr/bin/python3
"""Stills and MJPEG end to end: GET /snapshot.jpg and GET /stream.mjpg of a real rtcam binary.

1. /snapshot.jpg with no viewer connected: Pillow (an independent JPEG decoder) decodes it at
   640x480; the test pattern's time strip, read from the decoded luma, is no older than a second;
   ?quality=10 gives a smaller file than ?quality=95; bad quality -> 400 BAD_QUALITY; POST -> 405.
2. --snapshots-per-minute 3: the fourth snapshot from the same address gets 429 with Retry-After.
3. /stream.mjpg read by this script's own multipart parser: >= 10 parts, each a JPEG Pillow
   decodes at 640x480, at no more than --mjpeg-fps (with slack).
4. A stalled MJPEG client (connects, never reads) next to an aiortc WebRTC viewer
   (tools/e2e/aiortc_client.py --url, from the interop venv): the viewer still decodes >= 60 frames
   in time, /status answers at once, and rtcam counts dropped stream frames instead of buffering.
5. --max-stream-clients 1: a second stream client gets 503 TOO_MANY_STREAMS.
Loopback only. Prints PASS/FAIL lines; exit code 0/1.
"""
import argparse
import io
import json
import os
import socket
import subprocess
import sys
import time

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtcam_process import ROOT, Rtcam, http  # noqa: E402

failures = []


def check(name, ok, detail=""):
    print("stills: %s %s%s" % ("PASS" if ok else "FAIL", name, (" — " + detail) if detail else ""), flush=True)
    if not ok:
        failures.append(name)


def read_strip(img):
    """The test pattern's time strip (Sources/Capture/TimestampStrip.swift) at 640 px wide: 64
    blocks of 10x16 px, bit 63 first, then the complement band. Returns (unix_ms, frame) or None."""
    y = img.convert("YCbCr").split()[0]
    w = img.size[0]
    bpr, bw, bh = 64, w // 64, 16
    px = y.load()

    def block(col, band):
        total, n = 0, 0
        for yy in range(band * bh + 2, band * bh + bh - 2):
            for xx in range(col * bw + 2, col * bw + bw - 2):
                total += px[xx, yy]
                n += 1
        return total / n

    word = 0
    for i in range(64):
        v, c = block(i % bpr, i // bpr), block(i % bpr, 1 + i // bpr)
        if abs(v - c) < 64:
            return None
        word = (word << 1) | (1 if v > 126 else 0)
    return word >> 16, word & 0xFFFF


def snapshot_tests(base):
    status, headers, body = http("GET", base + "/snapshot.jpg")
    got_at = time.time()
    check("snapshot 200 image/jpeg", status == 200 and headers.get("content-type") == "image/jpeg",
          "%d %s" % (status, headers.get("content-type")))
    img = Image.open(io.BytesIO(body))
    img.load()
    check("snapshot decodes at 640x480", img.size == (640, 480) and img.format == "JPEG", "%s %s" % (img.size, img.format))
    strip = read_strip(img)
    age_ms = None if strip is None else got_at * 1000 - strip[0]
    check("snapshot time strip readable and < 1 s old", strip is not None and -200 <= age_ms <= 1000,
          "strip %s, age %s ms" % (strip, None if age_ms is None else round(age_ms)))
    sizes = {}
    for q in (10, 95):
        s, _, b = http("GET", base + "/snapshot.jpg?quality=%d" % q)
        sizes[q] = len(b) if s == 200 else -1
    check("quality 10 is smaller than quality 95", 0 < sizes[10] < sizes[95], str(sizes))
    s, _, b = http("GET", base + "/snapshot.jpg?quality=0")
    code = json.loads(b).get("error") if s == 400 else None
    check("quality=0 -> 400 BAD_QUALITY", code == "BAD_QUALITY", "%d %r" % (s, b[:80]))
    s, h, _ = http("POST", base + "/snapshot.jpg", body=b"")
    check("POST /snapshot.jpg -> 405", s == 405 and "GET" in h.get("allow", ""), "%d %s" % (s, h.get("allow")))
    s, h, b = http("GET", base + "/snapshot")
    check("/snapshot alias", s == 200 and b[:2] == b"\xff\xd8", str(s))


def read_parts(sock, count, deadline):
    """Reads `count` parts of a multipart/x-mixed-replace response from `sock`; returns
    (status line, content type, [jpeg bytes], [arrival times])."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("closed before the response head")
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    ctype = next((l.split(":", 1)[1].strip() for l in lines[1:] if l.lower().startswith("content-type:")), "")
    boundary = ctype.split("boundary=", 1)[1] if "boundary=" in ctype else None
    parts, times = [], []
    while len(parts) < count and time.time() < deadline:
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                return lines[0], ctype, parts, times
            buf += chunk
        phead, rest = buf.split(b"\r\n\r\n", 1)
        ph = phead.decode("latin-1").split("\r\n")
        if ph[0] != "--" + str(boundary):
            raise RuntimeError("part does not start with the boundary: %r" % ph[0][:60])
        length = int(next(l.split(":", 1)[1] for l in ph[1:] if l.lower().startswith("content-length:")))
        while len(rest) < length + 2:
            chunk = sock.recv(65536)
            if not chunk:
                return lines[0], ctype, parts, times
            rest += chunk
        parts.append(rest[:length])
        times.append(time.time())
        buf = rest[length + 2:]
    return lines[0], ctype, parts, times


def stream_tests(rtcam, fps):
    sock = socket.create_connection(("127.0.0.1", rtcam.http_port), timeout=5)
    sock.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    status, ctype, parts, times = read_parts(sock, 12, time.time() + 10)
    sock.close()
    check("stream 200 multipart/x-mixed-replace", status.startswith("HTTP/1.1 200") and ctype.startswith("multipart/x-mixed-replace"),
          "%s %s" % (status, ctype))
    sizes = set()
    for p in parts:
        im = Image.open(io.BytesIO(p))
        im.load()
        sizes.add(im.size)
    check(">= 10 stream parts decoded at 640x480", len(parts) >= 10 and sizes == {(640, 480)}, "%d parts, sizes %s" % (len(parts), sizes))
    if len(times) >= 2:
        rate = (len(times) - 1) / (times[-1] - times[0])
        check("stream rate at most --mjpeg-fps", rate <= fps * 1.3, "%.1f fps measured, cap %d" % (rate, fps))


def stalled_client_test(rtcam, venv_python):
    # a client that asks for the stream and never reads: a tiny receive buffer fills at once
    stalled = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", rtcam.http_port))
    stalled.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    t0 = time.time()
    viewer = subprocess.run(
        [venv_python, os.path.join(ROOT, "tools/e2e/aiortc_client.py"), "--url", rtcam.base, "--name", "stills-viewer",
         "--min-frames", "60", "--within", "20"], capture_output=True, text=True, timeout=90)
    print(viewer.stdout.strip(), flush=True)
    check("WebRTC viewer decodes >= 60 frames next to a stalled MJPEG client", viewer.returncode == 0,
          "exit %d in %.1f s" % (viewer.returncode, time.time() - t0))
    t1 = time.time()
    s, _, b = http("GET", rtcam.base + "/status", timeout=5)
    took = time.time() - t1
    st = json.loads(b)["stills"] if s == 200 else {}
    check("/status answers at once while the stalled client holds its stream", s == 200 and took < 1.0, "%.3f s" % took)
    # the kernel's send buffer takes the first parts (a few MB on loopback); once it is full, rtcam
    # holds one part for the client at most and drops the frames it cannot take
    deadline = time.time() + 30
    while time.time() < deadline and st.get("stream_frames_dropped", 0) == 0:
        time.sleep(0.5)
        st = json.loads(http("GET", rtcam.base + "/status", timeout=5)[2])["stills"]
    check("the stalled client's frames are dropped, not buffered",
          st.get("stream_clients") == 1 and st.get("stream_frames_dropped", 0) > 0, json.dumps(st))
    stalled.close()


def stream_limit_test(binary):
    r = Rtcam(binary, "stills-limit", extra=["--max-stream-clients", "1"])
    err = r.start(20)
    if err:
        check("rtcam --max-stream-clients 1 starts", False, err)
        return
    try:
        first = socket.create_connection(("127.0.0.1", r.http_port), timeout=5)
        first.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, parts, _ = read_parts(first, 1, time.time() + 5)
        s, _, b = http("GET", r.base + "/stream.mjpg", timeout=5)
        code = json.loads(b).get("error") if s == 503 else None
        check("second stream client -> 503 TOO_MANY_STREAMS", status.startswith("HTTP/1.1 200") and code == "TOO_MANY_STREAMS",
              "%s; second: %d %r" % (status, s, b[:80]))
        first.close()
    finally:
        r.stop()


def rate_limit_test(binary):
    r = Rtcam(binary, "stills-rate", extra=["--snapshots-per-minute", "3"])
    err = r.start(20)
    if err:
        check("rtcam --snapshots-per-minute 3 starts", False, err)
        return
    try:
        got = [http("GET", r.base + "/snapshot.jpg")[0] for _ in range(3)]
        s, h, b = http("GET", r.base + "/snapshot.jpg")
        check("fourth snapshot in a minute -> 429 with Retry-After",
              got == [200, 200, 200] and s == 429 and int(h.get("retry-after", "0")) > 0, "%s then %d" % (got, s))
    finally:
        r.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--venv-python", default=os.path.join(ROOT, "build/venv-interop/bin/python"))
    args = ap.parse_args()
    fps = 10
    rtcam = Rtcam(args.binary, "stills", extra=["--mjpeg-fps", str(fps)])
    err = rtcam.start(20)
    if err:
        print("stills: FAIL start: " + err)
        return 1
    try:
        snapshot_tests(rtcam.base)
        stream_tests(rtcam, fps)
        stalled_client_test(rtcam, args.venv_python)
    except Exception as e:  # a broken answer is a failure, with what broke
        check("no exception", False, "%s: %s" % (type(e).__name__, e))
    finally:
        rtcam.stop()
    if failures:
        print(rtcam.log_tail(), flush=True)
    rate_limit_test(args.binary)
    stream_limit_test(args.binary)
    print("stills: %s" % ("PASS" if not failures else "FAIL " + ", ".join(failures)), flush=True)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
