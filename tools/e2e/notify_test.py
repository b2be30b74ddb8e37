#!/usr/bin/python3
"""sd_notify end to end: rtcam started the way systemd starts a Type=notify unit with WatchdogSec.

This script plays systemd's part: a unix datagram socket in a temporary directory as
NOTIFY_SOCKET, WATCHDOG_USEC=1000000 and WATCHDOG_PID (rtcam's own pid, through a shell that
execs it). Checks: READY=1 (with STATUS=) arrives and /status answers by then; WATCHDOG=1 keeps
arriving about every 0.5 s (half the timeout) for 3 s; a stopped process (SIGSTOP, as a hung
loop looks to systemd) sends none; SIGTERM brings STOPPING=1. Also the abstract namespace
("@name"). Loopback only; every wait is bounded.
"""
import argparse
import os
import signal
import socket
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtcam_process import Rtcam  # noqa: E402

failures = []


def check(name, ok, detail=""):
    print("notify: %s %s%s" % ("PASS" if ok else "FAIL", name, (" — " + detail) if detail else ""), flush=True)
    if not ok:
        failures.append(name)


def receive(sock, until):
    """Datagrams received before `until`: [(time, text)]."""
    out = []
    while time.time() < until:
        sock.settimeout(max(0.01, until - time.time()))
        try:
            data = sock.recv(4096)
        except socket.timeout:
            break
        out.append((time.time(), data.decode("utf-8", "replace")))
    return out


def receive_first(sock, until):
    """The first datagram before `until`, as a one-item list (or empty)."""
    sock.settimeout(max(0.01, until - time.time()))
    try:
        return [(time.time(), sock.recv(4096).decode("utf-8", "replace"))]
    except socket.timeout:
        return []


def run(binary, address, label):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address if not address.startswith("@") else "\0" + address[1:])
    # WATCHDOG_PID must be rtcam's pid: a shell that execs rtcam keeps its own
    rtcam = Rtcam(binary, "notify-" + label, log_level=None, env={"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "1000000"},
                  prefix=["/bin/sh", "-c", 'WATCHDOG_PID=$$ exec "$@"', "sh"])
    proc = rtcam.launch()  # not waiting for /status: READY=1 must come by itself
    try:
        t0 = time.time()
        msgs = receive_first(sock, t0 + 10)
        ready = msgs[0][1] if msgs else ""
        status_ok = False
        if ready.startswith("READY=1"):
            try:
                with urllib.request.urlopen(rtcam.base + "/status", timeout=2) as r:
                    status_ok = r.status == 200
            except Exception as e:
                ready += " (/status: %s)" % e
        check(label + ": READY=1 with STATUS, and /status answers", ready.startswith("READY=1\nSTATUS=") and status_ok,
              repr(ready[:80]))
        pings = [t for t, m in receive(sock, time.time() + 3) if m == "WATCHDOG=1"]
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        check(label + ": WATCHDOG=1 about every 0.5 s", len(pings) >= 5 and all(0.3 <= g <= 0.8 for g in gaps),
              "%d pings, gaps %s" % (len(pings), [round(g, 2) for g in gaps]))
        proc.send_signal(signal.SIGSTOP)
        receive(sock, time.time() + 0.2)  # what was already in flight
        silent = receive(sock, time.time() + 1.5)
        proc.send_signal(signal.SIGCONT)
        check(label + ": a stopped rtcam sends no pings", not silent, repr(silent[:3]))
        proc.send_signal(signal.SIGTERM)
        after = [m for _, m in receive(sock, time.time() + 5)]
        check(label + ": STOPPING=1 on SIGTERM", "STOPPING=1" in after, repr(after[-3:]))
        check(label + ": exits 0 after SIGTERM", rtcam.wait(10) == 0, "exit code %s" % proc.returncode)
    finally:
        rtcam.stop()
        sock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        run(args.binary, os.path.join(d, "notify"), "path")
    run(args.binary, "@rtcam-notify-test-%d" % os.getpid(), "abstract")
    print("notify: %s" % ("PASS" if not failures else "FAIL " + ", ".join(failures)), flush=True)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
