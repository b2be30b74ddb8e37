#!/usr/bin/env python3
"""Does rtcam stay inside board/rtcam.service's seccomp and socket filters? (No systemd needed.)

Runs the static binary under `strace -f` (rtcam and the program source it starts, which inherits
the unit's filters) on 127.0.0.1: an exec: source, HTTPS with a self-signed certificate in a
fresh state directory, /status over HTTP and HTTPS, /snapshot.jpg, a few /stream.mjpg parts, then
SIGTERM. Every system call made must be in the set the unit's SystemCallFilter= lines allow
(expanded with `systemd-analyze syscall-filter`), and every socket family in its
RestrictAddressFamilies=. Not covered: the WebRTC media path (DTLS, SRTP, the encoder), which
adds no new kinds of calls beyond sendto/recvfrom/poll on the same UDP socket.

A second run takes `--source rpicam` with the stand-in rpicam-vid (tools/image/rpicam_vid.c,
built here with gcc) first on PATH: it makes the calls libcamera makes at start (a sealed memfd,
a netlink uevent monitor, an eventfd-woken thread, the clone3 with which an isolated IPA proxy
would start), which must also be inside the filters. tools/image-test runs the same
stand-in under the real unit in the booted image.
"""
import argparse
import json
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


def traced_run(a, tmp, name, source, extra, env, exercise):
    """Runs rtcam under `strace -f` with `source`, calls exercise(rtcam) once it is ready, stops it
    with SIGTERM as systemd does; returns (system calls used, socket families, failures, log text)."""
    trace = os.path.join(tmp, name + ".strace")
    log_path = os.path.join(tmp, name + ".log")
    # no --ice-host: rtcam reads the interface addresses (getifaddrs, over netlink) as it does on a Pi;
    # rtcam's default log level, as the service runs it
    rtcam = Rtcam(a.binary, "unit-syscalls-" + name, source=source, ice_host=None, log_level=None, extra=extra,
                  env=env, prefix=["strace", "-f", "-qq", "-o", trace], log_path=log_path)
    t0 = time.time()
    proc = rtcam.launch()
    err = rtcam.ready(30)  # strace slows the start down
    failures = []
    if err:
        failures.append("under strace: " + err)
    else:
        failures += exercise(rtcam)
    # SIGTERM to rtcam itself (strace's child), as systemd stops it; strace exits with its status
    try:
        rtcam_pid = int(open("/proc/%d/task/%d/children" % (proc.pid, proc.pid)).read().split()[0])
    except (OSError, IndexError, ValueError):
        rtcam_pid = proc.pid
    print("unit syscalls [%s]: requests done after %.1f s; SIGTERM to rtcam (pid %d)" % (name, time.time() - t0, rtcam_pid),
          flush=True)
    os.kill(rtcam_pid, signal.SIGTERM)
    rtcam.wait(20)  # strace exits with rtcam's status
    rtcam.stop()  # closes the log
    print("unit syscalls [%s]: rtcam exited %d after %.1f s" % (name, proc.returncode, time.time() - t0), flush=True)
    if proc.returncode != 0:
        failures.append("rtcam exited %d after SIGTERM (0 expected)" % proc.returncode)
    used, used_families = set(), set()
    for line in open(trace):
        m = re.match(r"\d+\s+([a-z0-9_]+)\(", line)
        if m:
            used.add(m.group(1))
        for fam in re.findall(r"\bsocket\((AF_[A-Z0-9]+)", line):
            used_families.add(fam)
        for fam in re.findall(r"\bsocketpair\((AF_[A-Z0-9]+)", line):
            used_families.add(fam)
    print("unit syscalls [%s]: %d different system calls; socket families %s" % (name, len(used), " ".join(sorted(used_families))))
    if len(used) < 30:
        failures.append("only %d system calls traced: strace did not follow rtcam" % len(used))
    return used, used_families, failures, open(log_path, errors="replace").read()


def exercise_http(https):
    def run(rtcam):
        time.sleep(1)  # frames from the generator
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        urllib.request.urlopen("https://127.0.0.1:%d/status" % https, timeout=5, context=ctx).read()
        urllib.request.urlopen(rtcam.base + "/snapshot.jpg", timeout=10).read()
        with urllib.request.urlopen(rtcam.base + "/stream.mjpg", timeout=10) as r:
            r.read(200_000)
        return []
    return run


def exercise_rpicam(rtcam):
    """The stand-in rpicam-vid has started (its libcamera-like steps passed) and frames arrive."""
    deadline = time.time() + 20
    while time.time() < deadline:
        st = json.loads(urllib.request.urlopen(rtcam.base + "/status", timeout=5).read())
        if (st.get("source") or {}).get("frames_captured", 0) >= 5:
            urllib.request.urlopen(rtcam.base + "/snapshot.jpg", timeout=10).read()
            return []
        time.sleep(0.5)
    return ["no frames from the stand-in rpicam-vid within 20 s: /status %s" % json.dumps(st.get("source"))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "build/x86_64/rtcam"))
    ap.add_argument("--unit", default=os.path.join(ROOT, "board/rtcam.service"))
    a = ap.parse_args()
    for tool in ("strace", "gcc"):
        if not shutil.which(tool):
            print("unit syscalls: %s is missing (tools/setup installs it)" % tool)
            return 1
    allowed = allowed_syscalls(a.unit)
    families = set()
    for v in unit_settings(a.unit, "RestrictAddressFamilies"):
        families |= set(v.split())
    tmp = tempfile.mkdtemp(prefix="rtcam-syscalls-")
    failures = []

    # 1. an exec: source, HTTPS with a self-signed certificate in a fresh state directory, HTTP
    https = free_port(socket.SOCK_STREAM)
    gen = "exec:/usr/bin/python3 " + os.path.join(ROOT, "tools/e2e/i420_generator.py")
    runs = [("exec", gen, ["--tls", "self-signed", "--https-port", str(https), "--state-dir", os.path.join(tmp, "state")],
             None, exercise_http(https), set())]
    # 2. --source rpicam with the stand-in rpicam-vid (tools/image/rpicam_vid.c, built for this
    # machine) first on PATH: what libcamera does at start (a sealed memfd, a netlink uevent
    # monitor, its configuration file lookup, an eventfd-woken thread, the clone3 of an isolated
    # IPA proxy; no camera node here)
    bindir = os.path.join(tmp, "bin")
    os.makedirs(bindir)
    cc = subprocess.run(["gcc", "-O2", "-Wall", "-Werror", "-o", os.path.join(bindir, "rpicam-vid"),
                         os.path.join(ROOT, "tools/image/rpicam_vid.c"), "-lpthread"], capture_output=True, text=True)
    if cc.returncode != 0:
        print(cc.stderr)
        print("unit syscalls: FAIL building the stand-in rpicam-vid")
        return 1
    env = {"PATH": bindir + ":" + os.environ.get("PATH", "/usr/bin:/bin"), "RPICAM_STANDIN_NO_CAMERA": "1"}
    runs.append(("rpicam", "rpicam", [], env, exercise_rpicam, {"memfd_create", "eventfd2", "clone3"}))

    for name, source, extra, env, exercise, must in runs:
        used, used_families, fails, log = traced_run(a, tmp, name, source, extra, env, exercise)
        outside = sorted(used - allowed)
        if outside:
            fails.append("system calls outside the unit's SystemCallFilter: " + " ".join(outside))
        if used_families - families:
            fails.append("socket families outside RestrictAddressFamilies: " + " ".join(sorted(used_families - families)))
        if must - used:
            fails.append("the run did not make " + " ".join(sorted(must - used)) + ": the stand-in's start-up did not run")
        if name == "rpicam" and "rpicam-vid stand-in: started" not in log:
            fails.append("the stand-in rpicam-vid did not report its start (log: %s)" % log[-600:])
        failures += ["[%s] %s" % (name, f) for f in fails]
    for f in failures:
        print("unit syscalls: FAIL " + f)
    shutil.rmtree(tmp, ignore_errors=True)
    print("unit syscalls: %s" % ("PASS" if not failures else "FAIL"))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
