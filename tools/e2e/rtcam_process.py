"""Starts rtcam for the test and benchmark harnesses: free loopback ports, a log file, a bounded stop.

Every Python harness (tools/e2e, tools/vm, tools/alloc, tools/perf) starts rtcam through `Rtcam`
(a server) or `run_once` (a command that exits), so ports, logs, qemu-user, wrappers such as
strace, the environment and the way rtcam is stopped are handled in one place. Standard library
only, so it works both from Debian's python3 and from the aiortc virtualenv.
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


def free_rtsp_port(tries=50):
    """A port P with TCP P and UDP P and P+1 free on 127.0.0.1 (what --rtsp-port P binds)."""
    for _ in range(tries):
        p = free_port(socket.SOCK_STREAM)
        if p >= 65535:
            continue
        socks = []
        try:
            for port, kind in ((p, socket.SOCK_STREAM), (p, socket.SOCK_DGRAM), (p + 1, socket.SOCK_DGRAM)):
                s = socket.socket(socket.AF_INET, kind)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return p
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free RTSP port triple found")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx answer is an answer (--http-redirect)


NO_REDIRECTS = urllib.request.build_opener(_NoRedirect)


class Rtcam:
    """One rtcam server process; `base` is its HTTP URL.

    By default: `BINARY --source SOURCE --listen HOST --ice-host HOST --http-port P --udp-port Q
    --log-level LEVEL EXTRA...` with free ports on 127.0.0.1. Keyword arguments:
      source, host     the --source and the address for --listen (and --ice-host unless ice_host)
      ice_host         --ice-host's address (default: host); None leaves the option out (rtcam
                       then reads the interface addresses)
      http_port, udp_port   fixed ports instead of free ones
      rtsp_port        --rtsp-port's value (default 0: RTSP off, so that servers side by side
                       never compete for 8554); "free" picks free TCP/UDP ports (free_rtsp_port)
      log_level        --log-level's value; None leaves the option out (rtcam's default, info)
      args             the whole argument list instead of the default one (then http_port must
                       name the port `start` waits on; no option is added)
      prefix           words before the binary (a wrapper: strace, a shell); qemu= comes first
      env              variables added to (or replacing in) this process's environment
      stdin            what rtcam reads as standard input (default: /dev/null)
      log_path         where its output goes (default build/e2e/NAME.rtcam.log)
      cwd              its working directory
      secrets          words printed as *** when the command is shown
    """

    def __init__(self, binary, name, qemu=None, extra=(), *, source="testsrc", host="127.0.0.1",
                 ice_host="", http_port=None, udp_port=None, rtsp_port=0, log_level="debug", args=None, prefix=(),
                 env=None, stdin=subprocess.DEVNULL, log_path=None, cwd=None, secrets=()):
        self.name = name
        self.host = host
        self.http_port = http_port or free_port(socket.SOCK_STREAM)
        if args is None:
            self.udp_port = udp_port or free_port(socket.SOCK_DGRAM)
            ice_host = host if ice_host == "" else ice_host
            args = ["--source", source, "--listen", host]
            if ice_host is not None:
                args += ["--ice-host", ice_host]
            args += ["--http-port", str(self.http_port), "--udp-port", str(self.udp_port)]
            self.rtsp_port = free_rtsp_port() if rtsp_port == "free" else rtsp_port
            args += ["--rtsp-port", str(self.rtsp_port)]
            if log_level is not None:
                args += ["--log-level", log_level]
        else:
            if http_port is None:
                raise ValueError("Rtcam(args=...) needs the http_port those arguments serve on")
            self.udp_port = udp_port
            self.rtsp_port = None
        self.cmd = list(prefix) + [binary] + list(args) + list(extra)
        if qemu:
            self.cmd = [QEMU[qemu]] + self.cmd
        self.env = dict(os.environ, **env) if env else None
        self.stdin = stdin
        self.cwd = cwd
        self.secrets = [s for s in secrets if s]
        self.base = "http://%s:%d" % (host if ":" not in host else "[%s]" % host, self.http_port)
        self.log_path = log_path or os.path.join(OUT_DIR, name + ".rtcam.log")
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        self.log = None
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def shown(self):
        """The command as printed: every secret replaced by ***."""
        return " ".join("***" if w in self.secrets else w for w in self.cmd)

    def launch(self):
        """Starts rtcam and returns at once (`ready` waits for it). A second launch (a restart,
        after `stop`) appends to the same log."""
        if self.proc and self.proc.poll() is None:
            raise RuntimeError("%s: rtcam is already running (pid %d)" % (self.name, self.proc.pid))
        if self.log:
            self.log.close()
        self.log = open(self.log_path, "a" if self.proc else "w")
        print("%s: starting %s" % (self.name, self.shown()), flush=True)
        self.proc = subprocess.Popen(self.cmd, stdin=self.stdin, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=self.env, cwd=self.cwd)
        return self.proc

    def ready(self, within):
        """Waits until GET /status answers (any HTTP status: 401 behind --auth, 301 with
        --http-redirect); returns an error text, or None once it answers."""
        deadline = time.time() + within
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return "rtcam exited with code %d at start (log: %s)" % (self.proc.returncode, self.log_path)
            try:
                with NO_REDIRECTS.open(self.base + "/status", timeout=1) as r:
                    if r.status == 200:
                        return None
            except urllib.error.HTTPError:
                return None
            except Exception:
                time.sleep(0.1)
        return "rtcam did not answer GET /status within %.0f s (log: %s)" % (within, self.log_path)

    def start(self, within):
        """`launch`, then `ready`: returns an error text or None."""
        self.launch()
        return self.ready(within)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout):
        """Waits for rtcam to exit by itself; kills it after `timeout` s. Returns its exit code."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def stop(self):
        """SIGTERM, then SIGKILL after 10 s; closes the log. Safe to call twice."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.wait(10)
        if self.log:
            self.log.close()

    def log_tail(self, lines=15):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


def rss_kb(pid):
    """The process's resident set size in KiB (VmRSS in /proc/PID/status), 0 if not listed."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run_once(binary, args, timeout, qemu=None):
    """Runs a command of rtcam that exits by itself (a bad configuration, --version, probe);
    returns the CompletedProcess with text output. Raises subprocess.TimeoutExpired past `timeout`."""
    cmd = ([QEMU[qemu]] if qemu else []) + [binary] + list(args)
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)


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


def chromium():
    """Headless Chromium (Debian's chromium + chromium-driver) for the page tests: autoplay
    allowed, WebRTC on loopback allowed. Selenium is imported here, so harness users that do not
    drive a browser do not need it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--autoplay-policy=no-user-gesture-required", "--window-size=800,600", "--no-first-run",
              "--disable-extensions", "--disable-background-networking", "--allow-loopback-in-peer-connection"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    d.set_page_load_timeout(30)
    return d
