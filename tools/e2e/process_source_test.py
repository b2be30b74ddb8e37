#!/usr/bin/python3
"""End to end: rtcam's pipe sources (--source exec:COMMAND, rpicam, stdin:) against the binary.

All on 127.0.0.1, every wait bounded. Phases (each starts its own rtcam):
  exec      a generator (tools/e2e/i420_generator.py: I420 frames with the time strip) as
            exec:COMMAND: /status running with frames_captured rising; an aiortc viewer
            (build/venv-interop, which tools/setup makes) decodes >= 30 frames of 640x480 from it; the generator exits
            once (status 3): SOURCE_EXITED with the status in /status, then running again within
            the backoff bound; rtcam's shutdown stops the generator (its pid is gone)
  rpicam    --source rpicam with a fake rpicam-vid first on PATH that fails loudly unless it gets
            exactly the arguments rtcam must pass (size, rate, --codec yuv420, --rpicam-args)
  missing   exec: of a command that does not exist: SOURCE_NOT_FOUND with the errno text
  short     a generator that writes half a frame and exits: SOURCE_SHORT_FRAME with the byte counts
  stdin     stdin: fed 45 frames by a pipe: all 45 captured, then END_OF_STREAM, no restart
Prints each phase's result and seconds; exits non-zero on the first failure.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtcam_process import ROOT, Rtcam, http  # noqa: E402

GEN = os.path.join(ROOT, "tools", "e2e", "i420_generator.py")
PY = "/usr/bin/python3"
VENV_PY = os.path.join(ROOT, "build", "venv-interop", "bin", "python")


class Failed(Exception):
    pass


def status(rtcam):
    code, _, body = http("GET", rtcam.base + "/status", timeout=3)
    if code != 200:
        raise Failed("GET /status answered %d" % code)
    return json.loads(body)["source"]


def wait_for(rtcam, what, pred, within):
    """Polls /status every 0.1 s until pred(source) holds; returns that source object."""
    deadline = time.time() + within
    last = None
    while time.time() < deadline:
        if rtcam.proc.poll() is not None:
            raise Failed("rtcam exited (code %s) while waiting for %s\n%s" % (rtcam.proc.returncode, what, rtcam.log_tail()))
        last = status(rtcam)
        if pred(last):
            return last
        time.sleep(0.1)
    raise Failed("no %s within %.0f s; last source status %s\n%s" % (what, within, json.dumps(last), rtcam.log_tail()))


def rising(rtcam, at_least, over=1.0):
    a = status(rtcam)["frames_captured"]
    time.sleep(over)
    b = status(rtcam)["frames_captured"]
    if b - a < at_least:
        raise Failed("frames_captured went from %d to %d in %.1f s (want +%d)" % (a, b, over, at_least))
    return b - a


def start(binary, name, source, extra=(), env_path=None):
    env = {"PATH": env_path + ":" + os.environ.get("PATH", "")} if env_path else None
    r = Rtcam(binary, "process-" + name, source=source, extra=extra, env=env)
    err = r.start(within=15)
    if err:
        raise Failed(err + "\n" + r.log_tail())
    return r


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def phase_exec(binary, tmp):
    once = os.path.join(tmp, "exited-once")
    pidf = os.path.join(tmp, "gen.pid")
    cmd = "exec:%s %s --size 640x480 --fps 30 --exit-after 150 --exit-code 3 --once-file %s --pid-file %s" % (PY, GEN, once, pidf)
    r = start(binary, "exec", cmd)
    try:
        s = wait_for(r, "running", lambda s: s["state"] == "running" and s["frames_captured"] > 0, 15)
        if (s["width"], s["height"]) != (640, 480):
            raise Failed("size %dx%d, want 640x480" % (s["width"], s["height"]))
        print("  exec: running, +%d frames in 1 s" % rising(r, 15), flush=True)
        # the viewer is part of the check: without the virtualenv it fails, never skipped
        if not os.path.exists(VENV_PY):
            raise Failed(VENV_PY + " is missing (tools/setup makes it)")
        v = subprocess.run([VENV_PY, os.path.join(ROOT, "tools", "e2e", "aiortc_client.py"), "--url", r.base,
                            "--name", "process-exec-aiortc", "--min-frames", "30", "--within", "20"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=90)
        print("  exec: aiortc viewer: " + (v.stdout.strip().splitlines() or ["(no output)"])[-1], flush=True)
        if v.returncode != 0:
            raise Failed("aiortc viewer failed:\n" + v.stdout[-2000:])
        # the generator exits with status 3 after 150 frames (5 s), once
        s = wait_for(r, "SOURCE_EXITED", lambda s: s["error"] == "SOURCE_EXITED", 15)
        t0 = time.time()
        if "exited with status 3" not in (s["message"] or ""):
            raise Failed("SOURCE_EXITED message %r does not give the exit status" % s["message"])
        print("  exec: %s: %s" % (s["error"], s["message"]), flush=True)
        # the first restart waits 1 s (the backoff's start), then the generator needs a moment
        wait_for(r, "running again", lambda s: s["state"] == "running", 4)
        back = time.time() - t0
        print("  exec: running again %.1f s after the exit was seen, +%d frames in 1 s" % (back, rising(r, 15)), flush=True)
        with open(pidf) as f:
            pid = int(f.read())
        if not pid_alive(pid):
            raise Failed("the restarted generator (pid %d) is not running" % pid)
    finally:
        r.stop()
    deadline = time.time() + 5
    while pid_alive(pid) and time.time() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        raise Failed("the generator (pid %d) still runs after rtcam stopped" % pid)
    print("  exec: rtcam stopped, and the generator with it", flush=True)


FAKE_RPICAM = r'''#!/usr/bin/python3
# A stand-in for rpicam-vid: fails loudly unless it gets exactly the arguments rtcam must pass.
import os, sys
want = %r
if sys.argv[1:] != want:
    sys.stderr.write("fake rpicam-vid: unexpected arguments %%r, want %%r\n" %% (sys.argv[1:], want))
    sys.exit(99)
os.execv(%r, [%r, %r, "--size", "320x240", "--fps", "15"])
'''


def phase_rpicam(binary, tmp):
    bindir = os.path.join(tmp, "bin")
    os.makedirs(bindir)
    want = ["-t", "0", "-n", "--width", "320", "--height", "240", "--framerate", "15", "--codec", "yuv420",
            "--hflip", "--awb", "indoor", "-o", "-"]
    fake = os.path.join(bindir, "rpicam-vid")
    with open(fake, "w") as f:
        f.write(FAKE_RPICAM % (want, PY, PY, GEN))
    os.chmod(fake, 0o755)
    # the fake really checks: wrong arguments fail with status 99 and say why
    bad = subprocess.run([fake, "--width", "640"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=10)
    if bad.returncode != 99 or "unexpected arguments" not in bad.stderr:
        raise Failed("the fake rpicam-vid accepted wrong arguments")
    r = start(binary, "rpicam", "rpicam", ["--size", "320x240", "--fps", "15", "--rpicam-args", "--hflip --awb 'indoor'"],
              env_path=bindir)
    try:
        s = wait_for(r, "running", lambda s: s["state"] == "running" and s["frames_captured"] > 0, 15)
        if (s["width"], s["height"], s["fps"]) != (320, 240, 15):
            raise Failed("format %dx%d@%d, want 320x240@15" % (s["width"], s["height"], s["fps"]))
        print("  rpicam: the fake rpicam-vid got exactly %s; running, +%d frames in 1 s" % (" ".join(want), rising(r, 8)), flush=True)
    finally:
        r.stop()


def phase_fault(binary, name, source, code, words):
    r = start(binary, name, source)
    try:
        s = wait_for(r, code, lambda s: s["error"] == code, 10)
        for w in words:
            if w not in (s["message"] or ""):
                raise Failed("%s message %r lacks %r" % (code, s["message"], w))
        print("  %s: %s: %s" % (name, code, s["message"]), flush=True)
    finally:
        r.stop()


def phase_stdin(binary):
    gen = subprocess.Popen([PY, GEN, "--size", "640x480", "--fps", "30", "--frames", "45"], stdout=subprocess.PIPE)
    r = Rtcam(binary, "process-stdin", source="stdin:", stdin=gen.stdout)
    r.launch()
    gen.stdout.close()  # only rtcam holds the read end of the pipe now
    try:
        err = r.ready(15)
        if err:
            raise Failed("rtcam with stdin: " + err + "\n" + r.log_tail())
        s = wait_for(r, "END_OF_STREAM", lambda s: s["error"] == "END_OF_STREAM", 15)
        if s["frames_captured"] != 45:
            raise Failed("captured %d frames from stdin, want 45" % s["frames_captured"])
        time.sleep(1.5)  # no restart: it stays ended
        s = status(r)
        if s["error"] != "END_OF_STREAM" or s["frames_captured"] != 45:
            raise Failed("after the end of stdin the source changed: %s" % json.dumps(s))
        print("  stdin: 45 frames, then %s (state %s), not restarted" % (s["error"], s["state"]), flush=True)
    finally:
        r.stop()
        gen.wait(timeout=10)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--phase", action="append", help="exec, rpicam, missing, short, stdin (default: all)")
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    phases = a.phase or ["exec", "rpicam", "missing", "short", "stdin"]
    tmp = tempfile.mkdtemp(prefix="rtcam-process-")
    failed = 0
    try:
        for p in phases:
            t0 = time.time()
            try:
                if p == "exec":
                    phase_exec(binary, tmp)
                elif p == "rpicam":
                    phase_rpicam(binary, tmp)
                elif p == "missing":
                    phase_fault(binary, "missing", "exec:rtcam-no-such-program --x", "SOURCE_NOT_FOUND",
                                ["rtcam-no-such-program", "No such file or directory"])
                elif p == "short":
                    phase_fault(binary, "short", "exec:%s %s --size 640x480 --half-frame" % (PY, GEN), "SOURCE_SHORT_FRAME",
                                ["230400 of 460800 bytes"])
                elif p == "stdin":
                    phase_stdin(binary)
                else:
                    raise Failed("unknown phase " + p)
                print("process %s: PASS (%.1f s)" % (p, time.time() - t0), flush=True)
            except (Failed, subprocess.TimeoutExpired, OSError, ValueError) as e:
                failed += 1
                print("process %s: FAIL (%.1f s): %s" % (p, time.time() - t0, e), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
