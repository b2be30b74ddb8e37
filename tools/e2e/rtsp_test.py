"""RTSP with real clients: ffprobe/ffmpeg (FFmpeg 5.1) and GStreamer's rtspsrc (1.22) against the
x86_64 binary on loopback, over TCP (interleaved) and UDP.

Checks, each a named step (a failure prints the step and rtcam's log tail):
  PROBE      ffprobe reports H.264 640x480 over TCP and over UDP
  DECODE     ffmpeg and GStreamer each decode >= 250 frames in 10 s over each transport
  BAD_INPUT  junk, an oversized head, a bad Transport and a non-RTCP interleaved frame get an RTSP
             error or a closed connection; the server keeps serving
  MIXED      8 RTSP clients (ffmpeg and GStreamer, both transports) and 4 aiortc WebRTC viewers at
             once all decode; GET /status answers within 0.5 s the whole time; rtcam's RSS is printed
  STALLED    a TCP client that stops reading: two ffmpeg clients beside it still decode >= 250
             frames in 10 s, it skips frames (/status), and it is closed (RTSP_STALLED) after
             --rtsp-timeout
  REAP       a kill -9'd UDP client's session is gone within its timeout; a stopped (SIGSTOP) one
             is reaped for silence (RTSP_SESSION_TIMEOUT, rtcam_rtsp_sessions_reaped_total)
  RECIPES    docs/rtsp.md's ffplay line (under Xvfb), Frigate's RTSP input arguments with ffmpeg and
             Home Assistant's stream options with PyAV each decode the stream
  AUTH       with --auth: ffprobe and GStreamer succeed with the credentials and fail without them
             (401 naming Basic) and with wrong ones (counted in rtcam_auth_failures_total)
Loopback only; every wait is bounded.
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtcam_process import Rtcam, StepFailed, http, rss_kb  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SYSTEM_PYTHON = "/usr/bin/python3"  # python3-gi (GStreamer) is a Debian package
INTEROP_PYTHON = os.path.join(ROOT, "build", "venv-interop", "bin", "python")  # aiortc


def status(rt):
    code, _, body = http("GET", rt.base + "/status", timeout=5)
    if code != 200:
        raise StepFailed("STATUS", "GET /status answered %d" % code)
    return json.loads(body)


def metric(rt, name, headers=None):
    _, _, body = http("GET", rt.base + "/metrics", headers=headers, timeout=5)
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def ffprobe(url, transport, timeout=20):
    p = subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", transport, "-show_entries",
                        "stream=codec_name,width,height", "-of", "json", url],
                       capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        return None, p.stderr.strip()
    streams = json.loads(p.stdout).get("streams", [])
    return (streams[0] if streams else None), p.stderr.strip()


def ffmpeg_cmd(url, transport, seconds):
    return ["ffmpeg", "-nostdin", "-v", "error", "-rtsp_transport", transport, "-i", url, "-t", str(seconds),
            "-f", "null", "-", "-progress", "pipe:1"]


def ffmpeg_frames(output):
    frames = [int(m) for m in re.findall(r"^frame=(\d+)", output, re.M)]
    return frames[-1] if frames else 0


def gst_cmd(url, transport, seconds, user=None, password=None):
    cmd = [SYSTEM_PYTHON, os.path.join(HERE, "gst_rtsp_client.py"), url, "--transport", transport,
           "--seconds", str(seconds)]
    if user is not None:
        cmd += ["--user", user, "--password", password]
    return cmd


def gst_result(output):
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {"frames": 0, "error": "no result line: " + output[-300:]}


class Client:
    """A client process whose output is collected (bounded by `timeout`)."""

    def __init__(self, name, cmd, timeout):
        self.name = name
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.timeout = timeout
        self.output = ""

    def finish(self):
        try:
            self.output, _ = self.proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.output, _ = self.proc.communicate()
        return self.output


class RawRtsp:
    """A hand-made RTSP client on a socket (bad input, and a client that stops reading)."""

    def __init__(self, port, rcvbuf=None):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(5)
        self.s.connect(("127.0.0.1", port))
        self.url = "rtsp://127.0.0.1:%d/stream" % port
        self.cseq = 0
        self.buf = b""

    def request(self, method, url=None, headers=None):
        self.cseq += 1
        lines = ["%s %s RTSP/1.0" % (method, url or self.url), "CSeq: %d" % self.cseq]
        lines += ["%s: %s" % kv for kv in (headers or {}).items()]
        self.s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return self.response()

    def response(self):
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        hdrs = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", "0"))
        while len(self.buf) < n:
            self.buf += self.s.recv(65536)
        body, self.buf = self.buf[:n], self.buf[n:]
        return int(lines[0].split()[1]), hdrs, body

    def closed_within(self, seconds):
        """True once the server has closed the connection (EOF), reading and dropping data."""
        self.s.settimeout(0.5)
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                if not self.s.recv(65536):
                    return True
            except socket.timeout:
                continue
            except OSError:
                return True
        return False

    def play_tcp(self):
        code, h, _ = self.request("SETUP", self.url + "/trackID=0", {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
        if code != 200:
            raise StepFailed("RAW", "SETUP answered %d" % code)
        session = h["session"].split(";")[0]
        code, _, _ = self.request("PLAY", self.url + "/", {"Session": session})
        if code != 200:
            raise StepFailed("RAW", "PLAY answered %d" % code)
        return session


def step_probe(rt, url):
    for t in ("tcp", "udp"):
        s, err = ffprobe(url, t)
        print("PROBE %s: %s %s" % (t, s, err))
        if not s or s.get("codec_name") != "h264" or (s.get("width"), s.get("height")) != (640, 480):
            raise StepFailed("PROBE", "ffprobe over %s: %s %s" % (t, s, err))


def step_decode(rt, url):
    clients = [Client("ffmpeg-" + t, ffmpeg_cmd(url, t, 10), 40) for t in ("tcp", "udp")]
    clients += [Client("gst-" + t, gst_cmd(url, t, 10), 40) for t in ("tcp", "udp")]
    for c in clients:
        out = c.finish()
        if c.name.startswith("ffmpeg"):
            n, size = ffmpeg_frames(out), None
        else:
            r = gst_result(out)
            n, size = r["frames"], (r.get("width"), r.get("height"))
            if size != (640, 480):
                raise StepFailed("DECODE", "%s decoded %s, not 640x480 (%s)" % (c.name, size, r.get("error")))
        print("DECODE %s: %d frames in 10 s%s" % (c.name, n, "" if size is None else " of %dx%d" % size))
        if n < 250:
            raise StepFailed("DECODE", "%s decoded %d frames in 10 s (< 250): %s" % (c.name, n, out[-400:]))


def step_bad_input(rt, port, url):
    before = metric(rt, "rtcam_rtsp_bad_input_total")
    # junk: an RTSP error, then the connection closes
    r = RawRtsp(port)
    r.s.sendall(b"\x16\x03\x01 hello there\r\n\r\n")
    code, _, _ = r.response()
    if code != 400 or not r.closed_within(3):
        raise StepFailed("BAD_INPUT", "junk answered %d, connection closed: no" % code)
    # a head over the 8 KB limit: 400 and closed
    r = RawRtsp(port)
    r.s.sendall(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX-Pad: " + b"a" * 9000)
    code, _, _ = r.response()
    if code != 400 or not r.closed_within(3):
        raise StepFailed("BAD_INPUT", "an oversized head answered %d or stayed open" % code)
    # a Transport rtcam does not take: 461, the connection stays usable
    r = RawRtsp(port)
    code, _, _ = r.request("SETUP", url + "/trackID=0", {"Transport": "RTP/AVP;multicast;port=5000-5001"})
    code2, _, _ = r.request("OPTIONS", "*")
    if code != 461 or code2 != 200:
        raise StepFailed("BAD_INPUT", "a multicast Transport answered %d (then OPTIONS %d)" % (code, code2))
    # an interleaved frame that is not RTCP on the RTCP channel: the connection is closed
    r = RawRtsp(port)
    r.play_tcp()
    r.s.sendall(b"$\x00\x00\x04abcd")
    if not r.closed_within(5):
        raise StepFailed("BAD_INPUT", "an RTP frame from the client did not close the connection")
    after = metric(rt, "rtcam_rtsp_bad_input_total")
    st = status(rt)
    print("BAD_INPUT: 400 + close for junk and an oversized head, 461 for multicast, close for a client RTP frame; "
          "rtcam_rtsp_bad_input_total %d -> %d; /status answers (%d RTSP clients)" % (before, after, st["rtsp"]["clients"]))
    if after - before < 3:
        raise StepFailed("BAD_INPUT", "rtcam_rtsp_bad_input_total rose by %d, not 3" % (after - before))


def step_mixed(rt, url):
    rtsp = []
    for i, t in enumerate(["tcp", "udp", "tcp", "udp", "tcp", "udp"]):
        rtsp.append(Client("ffmpeg-%d-%s" % (i, t), ffmpeg_cmd(url, t, 12), 60))
    rtsp += [Client("gst-%s" % t, gst_cmd(url, t, 12), 60) for t in ("tcp", "udp")]
    viewers = [Client("aiortc-%d" % i, [INTEROP_PYTHON, os.path.join(HERE, "aiortc_client.py"), "--url", rt.base,
                                         "--name", "rtsp-mixed-%d" % i, "--min-frames", "100", "--within", "40"], 80)
               for i in range(4)]
    worst = 0.0
    peak_rss = 0
    most = (0, 0)
    deadline = time.time() + 14
    while time.time() < deadline:
        t0 = time.time()
        st = status(rt)
        worst = max(worst, time.time() - t0)
        peak_rss = max(peak_rss, rss_kb(rt.pid))
        most = max(most, (st["rtsp"]["playing"], st["viewers"]))
        time.sleep(0.5)
    for c in rtsp:
        out = c.finish()
        n = ffmpeg_frames(out) if c.name.startswith("ffmpeg") else gst_result(out)["frames"]
        print("MIXED %s: %d frames in 12 s" % (c.name, n))
        if n < 150:
            raise StepFailed("MIXED", "%s decoded %d frames in 12 s beside the others: %s" % (c.name, n, out[-300:]))
    for v in viewers:
        out = v.finish()
        last = out.strip().splitlines()[-1] if out.strip() else ""
        print("MIXED %s: %s" % (v.name, last))
        if v.proc.returncode != 0:
            raise StepFailed("MIXED", "WebRTC viewer %s failed: %s" % (v.name, out[-500:]))
    print("MIXED: at most %d RTSP clients playing and %d WebRTC viewers at once; GET /status worst %.0f ms; "
          "rtcam RSS peak %.1f MB" % (most[0], most[1], worst * 1000, peak_rss / 1024.0))
    if most[0] < 8 or most[1] < 4:
        raise StepFailed("MIXED", "never saw 8 RTSP clients and 4 viewers at once (saw %s)" % (most,))
    if worst > 0.5:
        raise StepFailed("MIXED", "GET /status took %.0f ms under load" % (worst * 1000))


def step_stalled(rt, port, url, timeout_s):
    stalled = RawRtsp(port, rcvbuf=4096)
    session = stalled.play_tcp()
    others = [Client("ffmpeg-%s" % t, ffmpeg_cmd(url, t, 10), 40) for t in ("tcp", "tcp")]
    for c in others:
        n = ffmpeg_frames(c.finish())
        print("STALLED beside a client that stopped reading: %s decoded %d frames in 10 s" % (c.name, n))
        if n < 250:
            raise StepFailed("STALLED", "%s decoded %d frames in 10 s beside a stalled client" % (c.name, n))
    # its socket buffers fill first (its 4 KB window, rtcam's 128 KB send buffer), then rtcam's
    # bounded backlog (256 KB): about 8 s at the test pattern's 400 kbit/s
    deadline = time.time() + 20
    while True:
        mine = [s for s in status(rt)["rtsp"]["sessions"] if s["session"] == session]
        if mine and mine[0]["frames_skipped"] > 0:
            break
        if time.time() > deadline:
            raise StepFailed("STALLED", "the stalled client skipped no frames in 30 s: %s" % mine)
        time.sleep(0.5)
    print("STALLED: the stalled client: %d frames sent, %d skipped, backlog %d bytes" % (
        mine[0]["frames"], mine[0]["frames_skipped"], mine[0]["backlog_bytes"]))
    t0 = time.time()
    deadline = t0 + timeout_s + 10
    while time.time() < deadline:
        if not [s for s in status(rt)["rtsp"]["sessions"] if s["session"] == session]:
            break
        time.sleep(0.5)
    else:
        raise StepFailed("STALLED", "the stalled client was not closed within %d s" % (timeout_s + 10))
    with open(rt.log_path) as f:
        if "RTSP_STALLED" not in f.read():
            raise StepFailed("STALLED", "no RTSP_STALLED line in the log")
    print("STALLED: closed with RTSP_STALLED %.1f s after the check (--rtsp-timeout %d)" % (time.time() - t0, timeout_s))
    stalled.s.close()


def wait_clients(rt, n, within):
    deadline = time.time() + within
    while time.time() < deadline:
        st = status(rt)["rtsp"]
        if st["playing"] == n:
            return True
        time.sleep(0.2)
    return False


def step_reap(rt, url, timeout_s):
    # kill -9: the kernel closes its connection, so the session goes at once
    victim = subprocess.Popen(ffmpeg_cmd(url, "udp", 60), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_clients(rt, 1, 15):
        victim.kill()
        raise StepFailed("REAP", "the UDP client never played")
    time.sleep(1)
    t0 = time.time()
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    if not wait_clients(rt, 0, timeout_s):
        raise StepFailed("REAP", "the kill -9'd UDP client still plays after %d s" % timeout_s)
    print("REAP: kill -9'd UDP client gone after %.1f s" % (time.time() - t0))
    # SIGSTOP: the connection stays open but no RTCP comes; the session times out
    before = metric(rt, "rtcam_rtsp_sessions_reaped_total")
    frozen = subprocess.Popen(ffmpeg_cmd(url, "udp", 120), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_clients(rt, 1, 15):
            raise StepFailed("REAP", "the second UDP client never played")
        time.sleep(1)
        frozen.send_signal(signal.SIGSTOP)
        t0 = time.time()
        if not wait_clients(rt, 0, timeout_s + 8):
            raise StepFailed("REAP", "a silent UDP client was not reaped within %d s" % (timeout_s + 8))
        took = time.time() - t0
    finally:
        frozen.send_signal(signal.SIGKILL)
        frozen.wait()
    after = metric(rt, "rtcam_rtsp_sessions_reaped_total")
    print("REAP: a stopped UDP client reaped after %.1f s (--rtsp-timeout %d); rtcam_rtsp_sessions_reaped_total %d -> %d"
          % (took, timeout_s, before, after))
    if after <= before:
        raise StepFailed("REAP", "rtcam_rtsp_sessions_reaped_total did not rise")


def step_recipes(rt, url):
    """docs/rtsp.md's recipes, run: ffplay (under Xvfb, counting the frames it shows), the input
    arguments of Frigate's preset-rtsp-generic with ffmpeg, and Home Assistant's stream options
    with PyAV (what its stream component opens RTSP with)."""
    out = subprocess.run(["timeout", "-s", "INT", "8", "xvfb-run", "-a", "ffplay", "-fflags", "nobuffer", "-flags",
                          "low_delay", "-an", "-vf", "showinfo", url], capture_output=True, text=True, timeout=30)
    shown = len(re.findall(r"showinfo.*\bn: *\d+", out.stderr.replace("\r", "\n")))
    print("RECIPES ffplay -fflags nobuffer -flags low_delay: %d frames shown in 8 s" % shown)
    if shown < 100:
        raise StepFailed("RECIPES", "ffplay showed %d frames in 8 s: %s" % (shown, out.stderr[-400:]))
    frigate = ["-avoid_negative_ts", "make_zero", "-fflags", "+genpts+discardcorrupt", "-rtsp_transport", "tcp",
               "-timeout", "5000000", "-use_wallclock_as_timestamps", "1"]
    p = subprocess.run(["ffmpeg", "-nostdin", "-v", "error"] + frigate + ["-i", url, "-t", "5", "-f", "null", "-",
                        "-progress", "pipe:1"], capture_output=True, text=True, timeout=30)
    n = ffmpeg_frames(p.stdout)
    print("RECIPES Frigate's preset-rtsp-generic input arguments: %d frames in 5 s" % n)
    if n < 120:
        raise StepFailed("RECIPES", "ffmpeg with Frigate's input arguments: %d frames: %s" % (n, p.stderr[-300:]))
    ha = ("import av, sys, time\n"
          "c = av.open(sys.argv[1], options={'rtsp_flags': 'prefer_tcp', 'stimeout': '5000000'}, timeout=(5, 5))\n"
          "n, t = 0, time.time()\n"
          "for f in c.decode(video=0):\n"
          "    n += 1\n"
          "    if time.time() - t > 5: break\n"
          "print(n, f.width, f.height)\n")
    p = subprocess.run([INTEROP_PYTHON, "-c", ha, url], capture_output=True, text=True, timeout=30)
    words = p.stdout.split()
    print("RECIPES Home Assistant's stream options in PyAV: %s" % p.stdout.strip())
    if len(words) != 3 or int(words[0]) < 120 or words[1:] != ["640", "480"]:
        raise StepFailed("RECIPES", "PyAV as Home Assistant opens it: %s %s" % (p.stdout, p.stderr[-300:]))


def step_auth(binary):
    rt = Rtcam(binary, "rtsp-auth", rtsp_port="free", extra=["--auth", "viewer:s3cret-pass"])
    err = rt.start(20)
    if err:
        raise StepFailed("START", err)
    try:
        port = rt.rtsp_port
        good = "rtsp://viewer:s3cret-pass@127.0.0.1:%d/stream" % port
        bad = "rtsp://viewer:wrong@127.0.0.1:%d/stream" % port
        none = "rtsp://127.0.0.1:%d/stream" % port
        auth = {"Authorization": "Basic dmlld2VyOnMzY3JldC1wYXNz"}
        failures0 = metric(rt, "rtcam_auth_failures_total", auth)
        for t in ("tcp", "udp"):
            s, e = ffprobe(good, t)
            if not s or s.get("codec_name") != "h264":
                raise StepFailed("AUTH", "ffprobe with credentials over %s: %s" % (t, e))
            s, e = ffprobe(none, t)
            if s or "401" not in e:
                raise StepFailed("AUTH", "ffprobe without credentials over %s: %s %s" % (t, s, e))
            s, e = ffprobe(bad, t)
            if s or "401" not in e:
                raise StepFailed("AUTH", "ffprobe with a wrong password over %s: %s %s" % (t, s, e))
        print("AUTH: ffprobe plays with the credentials, gets 401 without them and with a wrong password")
        r = gst_result(Client("gst", gst_cmd(none.replace("127.0.0.1", "127.0.0.1"), "tcp", 6, "viewer", "s3cret-pass"),
                              30).finish())
        if r["frames"] < 100:
            raise StepFailed("AUTH", "GStreamer with user-id/user-pw: %s" % r)
        r2 = gst_result(Client("gst", gst_cmd(none, "tcp", 6), 30).finish())
        if r2["frames"] != 0 or not r2.get("error") or "nauthori" not in r2["error"]:
            raise StepFailed("AUTH", "GStreamer without credentials: %s" % r2)
        print("AUTH: GStreamer decodes %d frames in 6 s with user-id/user-pw; without: %s" % (r["frames"], r2["error"]))
        raw = RawRtsp(port)
        code, h, _ = raw.request("DESCRIBE", none, {"Accept": "application/sdp"})
        if code != 401 or not h.get("www-authenticate", "").startswith("Basic"):
            raise StepFailed("AUTH", "DESCRIBE without credentials: %d %s" % (code, h))
        failures1 = metric(rt, "rtcam_auth_failures_total", auth)
        print("AUTH: 401 names %s; rtcam_auth_failures_total %d -> %d" % (h["www-authenticate"], failures0, failures1))
        if failures1 < failures0 + 2:
            raise StepFailed("AUTH", "wrong passwords were not counted")
        with open(rt.log_path) as f:
            if "s3cret-pass" in f.read():
                raise StepFailed("AUTH", "the password is in the log")
    finally:
        rt.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--only", help="comma-separated steps to run (probe,decode,bad,mixed,stalled,reap,recipes,auth)")
    a = ap.parse_args()
    steps = set((a.only or "probe,decode,bad,mixed,stalled,reap,recipes,auth").split(","))
    timeout_s = 10
    rt = Rtcam(a.binary, "rtsp", rtsp_port="free", log_level="debug", extra=["--rtsp-timeout", str(timeout_s)])
    failed = None
    t_start = time.time()
    try:
        err = rt.start(20)
        if err:
            raise StepFailed("START", err)
        port = rt.rtsp_port
        url = "rtsp://127.0.0.1:%d/stream" % port
        if "probe" in steps:
            step_probe(rt, url)
        if "decode" in steps:
            step_decode(rt, url)
        if "bad" in steps:
            step_bad_input(rt, port, url)
        if "mixed" in steps:
            step_mixed(rt, url)
        if "stalled" in steps:
            step_stalled(rt, port, url, timeout_s)
        if "reap" in steps:
            step_reap(rt, url, timeout_s)
        if "recipes" in steps:
            step_recipes(rt, url)
        if not rt.alive():
            raise StepFailed("ALIVE", "rtcam exited")
        rt.stop()
        if "auth" in steps:
            step_auth(a.binary)
    except (StepFailed, subprocess.TimeoutExpired, OSError, ValueError) as e:
        failed = e
    finally:
        rt.stop()
    if failed:
        print("FAIL %s" % failed)
        print(rt.log_tail(25))
        return 1
    print("PASS: RTSP with ffprobe, ffmpeg and GStreamer (%.0f s)" % (time.time() - t_start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
