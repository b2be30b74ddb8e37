#!/usr/bin/python3
"""Bad HTTP and UDP input against a real rtcam binary, over loopback only.

Every case is bounded in count and time. After each one rtcam must still answer GET /status
promptly, and at the end the process must still be running.
"""
import argparse
import json
import os
import random
import socket
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtcam_process import Rtcam  # noqa: E402


def exchange(port, data, timeout=5.0):
    """Sends raw bytes, returns what the server answers before closing (or timeout)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def status_line(resp):
    return resp.split(b"\r\n", 1)[0].decode("latin-1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    rtcam = Rtcam(args.binary, "http-abuse", log_level=None)  # at rtcam's default log level (info)
    http_port, udp_port, base = rtcam.http_port, rtcam.udp_port, rtcam.base
    passed, failed = 0, []

    def healthy(max_seconds=2.0, quiet=False):
        t0 = time.time()
        try:
            with urllib.request.urlopen(base + "/status", timeout=max_seconds) as r:
                ok = r.status == 200 and "sessions" in json.loads(r.read())
        except Exception as e:  # noqa: BLE001
            if not quiet:
                print("  /status failed:", e)
            return False
        return ok and time.time() - t0 < max_seconds and rtcam.alive()

    def check(name, cond):
        nonlocal passed
        alive = healthy()
        if cond and alive:
            passed += 1
            print("abuse: PASS", name)
        else:
            failed.append(name)
            print("abuse: FAIL", name, "(case ok=%s, server healthy=%s)" % (cond, alive))

    err = rtcam.start(10)
    if err:
        rtcam.stop()
        print("abuse: FAIL:", err)
        print(rtcam.log_tail())
        return 1
    try:
        rnd = random.Random(1234)

        r = exchange(http_port, bytes(rnd.getrandbits(8) for _ in range(3000)))
        check("random bytes get 400 or a close", r == b"" or status_line(r).startswith("HTTP/1.1 4"))

        r = exchange(http_port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
        check("oversized headers get 431", status_line(r).startswith("HTTP/1.1 431"))

        r = exchange(http_port, b"POST /whep HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: 1000000000\r\n\r\n")
        check("huge body gets 413 with a JSON error", status_line(r).startswith("HTTP/1.1 413") and b'"error":"BODY_TOO_LARGE"' in r)

        body = bytes(rnd.getrandbits(8) for _ in range(60000))
        r = exchange(http_port, b"POST /whep HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        check("garbage SDP gets 4xx JSON", status_line(r).startswith("HTTP/1.1 4") and b'"error"' in r)

        r = exchange(http_port, b"POST /offer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n" + b"[" * 2000)
        check("deeply nested JSON gets 400", status_line(r).startswith("HTTP/1.1 400"))

        r = exchange(http_port, b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n" * 3 + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        check("pipelined requests all answered", r.count(b"HTTP/1.1 200") == 4)

        r = exchange(http_port, b"POST /whep HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello")
        check("smuggling attempt gets 400", status_line(r).startswith("HTTP/1.1 400"))

        # Slowloris: more idle/trickling connections than the server keeps; a real client still gets in.
        hogs = []
        for _ in range(80):
            s = socket.create_connection(("127.0.0.1", http_port), timeout=5)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            hogs.append(s)
        time.sleep(0.5)
        check("80 half-open connections do not lock out a real client", True)
        for s in hogs:
            s.close()

        # UDP junk on the media port (bounded).
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(3000):
            first = rnd.choice([0, 1, 20, 22, 128, 144, 200, 255])
            u.sendto(bytes([first]) + bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 300))), ("127.0.0.1", udp_port))
        u.close()
        time.sleep(0.3)
        check("3000 junk datagrams on the media port", True)
    finally:
        alive = rtcam.alive()
        rtcam.stop()
    if not alive:
        failed.append("rtcam exited during the test")
    print("abuse: %d passed, %d failed" % (passed, len(failed)))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
