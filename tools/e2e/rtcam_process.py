"""Starts an rtcam binary for an end-to-end test: loopback only, free ports, log under build/e2e/.

Used by the interop clients (aiortc_client.py, gst_whep_client.py). Standard library only, so it
works both from Debian's python3 and from the aiortc virtualenv.
"""
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(ROOT, "build", "e2e")

QEMU = {"aarch64": "qemu-aarch64-static", "armv7": "qemu-arm-static"}


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx answer is an answer (--http-redirect)


NO_REDIRECTS = urllib.request.build_opener(_NoRedirect)


class Rtcam:
    """rtcam --source testsrc on 127.0.0.1; `base` is its HTTP URL once `start` returned."""

    def __init__(self, binary, name, qemu=None, extra=()):
        self.name = name
        self.http_port = free_port(socket.SOCK_STREAM)
        self.udp_port = free_port(socket.SOCK_DGRAM)
        self.cmd = [binary, "--source", "testsrc", "--listen", "127.0.0.1", "--ice-host", "127.0.0.1",
                    "--http-port", str(self.http_port), "--udp-port", str(self.udp_port),
                    "--log-level", "debug"] + list(extra)
        if qemu:
            self.cmd = [QEMU[qemu]] + self.cmd
        self.base = "http://127.0.0.1:%d" % self.http_port
        os.makedirs(OUT_DIR, exist_ok=True)
        self.log_path = os.path.join(OUT_DIR, name + ".rtcam.log")
        self.proc = None

    def start(self, within):
        """Starts rtcam and waits until GET /status answers; returns an error text or None."""
        self.log = open(self.log_path, "w")
        print("%s: starting %s" % (self.name, " ".join(self.cmd)), flush=True)
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + within
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return "rtcam exited with code %d at start (log: %s)" % (self.proc.returncode, self.log_path)
            try:
                with NO_REDIRECTS.open(self.base + "/status", timeout=1) as r:
                    if r.status == 200:
                        return None
            except urllib.error.HTTPError:
                return None  # it answers (401 behind --auth, 301 with --http-redirect)
            except Exception:
                time.sleep(0.1)
        return "rtcam did not answer GET /status within %.0f s" % within

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()

    def log_tail(self, lines=15):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


def http(method, url, body=None, headers=None, timeout=10):
    """One HTTP request; returns (status, headers dict with lower-case names, body bytes)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    def headers_of(msg):
        # a header sent more than once (WWW-Authenticate) is joined with ", " (RFC 9110 §5.3)
        out = {}
        for k, v in msg.items():
            k = k.lower()
            out[k] = out[k] + ", " + v if k in out else v
        return out
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, headers_of(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, headers_of(e.headers), e.read()


def save_offer(name, sdp):
    """Keeps the offer a client sent (build/e2e/<name>.offer.sdp), for the fixtures."""
    path = os.path.join(OUT_DIR, name + ".offer.sdp")
    with open(path, "w", newline="") as f:
        f.write(sdp)
    return path


class StepFailed(Exception):
    """A client step failed; `step` is one of HTTP, ICE, DTLS, FIRST_FRAME, FRAMES, CERTIFICATE, ..."""

    def __init__(self, step, message):
        super().__init__("%s: %s" % (step, message))
        self.step = step
