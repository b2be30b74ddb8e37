#!/usr/bin/env python3
"""Does rtcam stay inside board/rtcam.service's seccomp and socket filters? (No systemd needed.)

Runs the static binary under `strace -f` (rtcam and the program source it starts, which inherits
the unit's filters) on 127.0.0.1: an exec: source, HTTPS with a self-signed certificate in a
fresh state directory, /status over HTTP and HTTPS, /snapshot.jpg, a few /stream.mjpg parts, then
SIGTERM. Every system call made must be in the set the unit's SystemCallFilter= lines allow
(expanded with `systemd-analyze syscall-filter`), and every socket family in its
RestrictAddressFamilies=. Not covered: the WebRTC media path (DTLS, SRTP, the encoder), which
adds no new kinds of calls beyond sendto/recvfrom/poll on the same UDP socket.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtcam_process import ROOT, Rtcam, free_port  # noqa: E402


def unit_settings(path, key):
    values = []
    for line in open(path):
        line = line.strip()
        if line.startswith(key + "="):
            values.append(line[len(key) + 1:])
    return values


def syscall_groups():
    out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager"], capture_output=True, text=True).stdout
    groups, cur = {}, None
    for raw in out.splitlines():
        line = raw.strip()
        if not line:
            cur = None
        elif line.startswith("#"):
            continue
        elif cur is None and line.startswith("@"):
            cur = line
            groups[cur] = []
        elif cur:
            groups[cur].append(line)

    def expand(name, seen=()):
        if not name.startswith("@"):
            return {name}
        names = set()
        for x in groups.get(name, []):
            if x not in seen:
                names |= expand(x, seen + (name,))
        return names
    return expand


def allowed_syscalls(unit):
    """The allow list the unit's SystemCallFilter= lines make (an allow line, then ~deny lines)."""
    expand = syscall_groups()
    allowed = None
    for value in unit_settings(unit, "SystemCallFilter"):
        deny = value.startswith("~")
        names = set()
        for item in value.lstrip("~").split():
            names |= expand(item)
        if deny:
            allowed = (allowed if allowed is not None else set()) - names
        else:
            allowed = names if allowed is None else allowed | names
    return allowed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "build/x86_64/rtcam"))
    ap.add_argument("--unit", default=os.path.join(ROOT, "board/rtcam.service"))
    a = ap.parse_args()
    if not shutil.which("strace"):
        print("unit syscalls: strace is missing (apt-get install strace)")
        return 1
    allowed = allowed_syscalls(a.unit)
    families = set()
    for v in unit_settings(a.unit, "RestrictAddressFamilies"):
        families |= set(v.split())
    tmp = tempfile.mkdtemp(prefix="rtcam-syscalls-")
    https = free_port(socket.SOCK_STREAM)
    trace = os.path.join(tmp, "strace.log")
    gen = "exec:/usr/bin/python3 " + os.path.join(ROOT, "tools/e2e/i420_generator.py")
    # no --ice-host: rtcam reads the interface addresses (getifaddrs, over netlink) as it does on a Pi;
    # rtcam's default log level, as the service runs it
    rtcam = Rtcam(a.binary, "unit-syscalls", source=gen, ice_host=None, log_level=None,
                  extra=["--tls", "self-signed", "--https-port", str(https), "--state-dir", os.path.join(tmp, "state")],
                  prefix=["strace", "-f", "-qq", "-o", trace], log_path=os.path.join(tmp, "rtcam.log"))
    t0 = time.time()
    proc = rtcam.launch()
    base = rtcam.base
    err = rtcam.ready(30)  # strace slows the start down
    failures = []
    if err:
        failures.append("under strace: " + err)
    else:
        time.sleep(1)  # frames from the generator
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        urllib.request.urlopen("https://127.0.0.1:%d/status" % https, timeout=5, context=ctx).read()
        urllib.request.urlopen(base + "/snapshot.jpg", timeout=10).read()
        with urllib.request.urlopen(base + "/stream.mjpg", timeout=10) as r:
            r.read(200_000)
    # SIGTERM to rtcam itself (strace's child), as systemd stops it; strace exits with its status
    try:
        rtcam_pid = int(open("/proc/%d/task/%d/children" % (proc.pid, proc.pid)).read().split()[0])
    except (OSError, IndexError, ValueError):
        rtcam_pid = proc.pid
    print("unit syscalls: requests done after %.1f s; SIGTERM to rtcam (pid %d)" % (time.time() - t0, rtcam_pid),
          flush=True)
    os.kill(rtcam_pid, signal.SIGTERM)
    rtcam.wait(20)  # strace exits with rtcam's status
    rtcam.stop()  # closes the log
    print("unit syscalls: rtcam exited %d after %.1f s" % (proc.returncode, time.time() - t0), flush=True)
    used, used_families = set(), set()
    for line in open(trace):
        m = re.match(r"\d+\s+([a-z0-9_]+)\(", line)
        if m:
            used.add(m.group(1))
        for fam in re.findall(r"\bsocket\((AF_[A-Z0-9]+)", line):
            used_families.add(fam)
    print("unit syscalls: %d different system calls; socket families %s" % (len(used), " ".join(sorted(used_families))))
    outside = sorted(used - allowed)
    if outside:
        failures.append("system calls outside the unit's SystemCallFilter: " + " ".join(outside))
    if used_families - families:
        failures.append("socket families outside RestrictAddressFamilies: " + " ".join(sorted(used_families - families)))
    if proc.returncode != 0:
        failures.append("rtcam exited %d after SIGTERM (0 expected)" % proc.returncode)
    if len(used) < 30:
        failures.append("only %d system calls traced: strace did not follow rtcam" % len(used))
    for f in failures:
        print("unit syscalls: FAIL " + f)
    shutil.rmtree(tmp, ignore_errors=True)
    print("unit syscalls: %s" % ("PASS" if not failures else "FAIL"))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
