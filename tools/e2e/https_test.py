#!/usr/bin/python3
"""HTTPS end to end, on loopback, with curl, openssl and headless Chromium.

1. --tls self-signed: curl -k gets /status over TLS 1.2 with an ECDHE AES-GCM suite; the
   certificate is kept in --state-dir and is the same after a restart; headless Chromium
   (accepting the self-signed certificate) decodes >= 60 frames from the HTTPS page.
2. --tls-cert/--tls-key with a certificate made by openssl for 127.0.0.1: curl verifies it.
3. --http-redirect: plain HTTP answers 301 to the HTTPS URL.
4. Bad files (missing, not PEM, key of another certificate): exit 2, the message names the file.
5. A client that connects and never finishes the handshake is dropped (handshake timeout).
"""
import argparse
import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtcam_process import OUT_DIR, Rtcam, free_port, run_once  # noqa: E402

FRAMES_JS = """
    const v = document.querySelector('video');
    const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {totalVideoFrames: 0};
    return {state: window.rtcam && window.rtcam.state, frames: q.totalVideoFrames,
            width: v.videoWidth, height: v.videoHeight};"""


def curl(*args):
    r = subprocess.run(["curl", "-sS", "--max-time", "10", *args], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def served_cert_sha256(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with ctx.wrap_socket(s) as t:
            return hashlib.sha256(t.getpeercert(binary_form=True)).hexdigest(), t.version(), t.cipher()[0]


def chromium_plays(url, within=20, min_frames=60):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--ignore-certificate-errors",
              "--autoplay-policy=no-user-gesture-required", "--window-size=800,600", "--no-first-run",
              "--disable-extensions", "--disable-background-networking", "--allow-loopback-in-peer-connection"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        d.set_page_load_timeout(30)
        d.get(url)
        t0 = time.time()
        st = None
        while time.time() - t0 < within:
            st = d.execute_script(FRAMES_JS)
            if st["frames"] >= min_frames and (st["width"], st["height"]) == (640, 480):
                print("https: Chromium decoded %d frames at 640x480 over %s after %.1f s"
                      % (st["frames"], url, time.time() - t0), flush=True)
                return None
            time.sleep(0.25)
        return "Chromium did not play %s within %d s: %s" % (url, within, json.dumps(st))
    finally:
        d.quit()


def start(binary, name, extra):
    https_port = free_port(socket.SOCK_STREAM)
    r = Rtcam(binary, name, extra=list(extra) + ["--https-port", str(https_port)])
    r.https_port = https_port
    err = r.start(20)
    return r, err


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    failures = []
    state = os.path.join(OUT_DIR, "https-state")
    shutil.rmtree(state, ignore_errors=True)

    # 1. self-signed, kept across a restart
    r, err = start(args.binary, "https-self", ["--tls", "self-signed", "--state-dir", state])
    try:
        if err:
            return report([err])
        base = "https://127.0.0.1:%d" % r.https_port
        rc, out, e = curl("-k", base + "/status")
        if rc != 0 or '"version"' not in out:
            failures.append("curl -k %s/status: rc %d %s" % (base, rc, e))
        rc, _, e = curl(base + "/status")
        if rc == 0:
            failures.append("curl accepted the self-signed certificate without -k")
        first, version, cipher = served_cert_sha256(r.https_port)
        print("https: self-signed: %s, %s" % (version, cipher), flush=True)
        if version != "TLSv1.2" or "ECDHE" not in cipher or "GCM" not in cipher:
            failures.append("negotiated %s %s, want TLS 1.2 ECDHE with AES-GCM" % (version, cipher))
        rc, out, _ = curl("-k", "--tlsv1.3", "--tls-max", "1.3", base + "/status")
        if rc == 0:
            failures.append("a TLS 1.3-only client connected; rtcam offers TLS 1.2 only")
        f = chromium_plays(base + "/")
        if f:
            failures.append(f)
        # 5. a stalled handshake does not keep its connection
        s = socket.create_connection(("127.0.0.1", r.https_port), timeout=15)
        s.sendall(b"\x16\x03\x01\x00\x50")  # the start of a record, then nothing
        t0 = time.time()
        try:
            gone = s.recv(1) == b""
        except OSError:
            gone = True
        if not gone or time.time() - t0 > 12:
            failures.append("a stalled handshake was not dropped within 12 s")
        else:
            print("https: stalled handshake dropped after %.1f s" % (time.time() - t0), flush=True)
        s.close()
    finally:
        r.stop()
    r, err = start(args.binary, "https-self2", ["--tls", "self-signed", "--state-dir", state, "--http-redirect"])
    try:
        if err:
            failures.append(err)
        else:
            again, _, _ = served_cert_sha256(r.https_port)
            if again != first:
                failures.append("the self-signed certificate changed across a restart")
            else:
                print("https: same certificate after a restart (%s...)" % again[:16], flush=True)
            # 3. redirect
            rc, out, _ = curl("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                              "http://127.0.0.1:%d/status?x=1" % r.http_port)
            want = "301 https://127.0.0.1:%d/status?x=1" % r.https_port
            if out.strip() != want:
                failures.append("HTTP with --http-redirect: %r, want %r" % (out, want))
            else:
                print("https: HTTP redirects: %s" % out, flush=True)
    finally:
        r.stop()

    # 2. a certificate from files, verified by curl
    cert, key = os.path.join(OUT_DIR, "https-test-cert.pem"), os.path.join(OUT_DIR, "https-test-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    r, err = start(args.binary, "https-files", ["--tls-cert", cert, "--tls-key", key])
    try:
        if err:
            failures.append(err)
        else:
            rc, out, e = curl("--cacert", cert, "https://127.0.0.1:%d/status" % r.https_port)
            if rc != 0 or '"version"' not in out:
                failures.append("curl --cacert with the PEM files: rc %d %s" % (rc, e))
            else:
                _, version, cipher = served_cert_sha256(r.https_port)
                print("https: --tls-cert/--tls-key verified by curl (%s, %s)" % (version, cipher), flush=True)
    finally:
        r.stop()

    # 4. bad files
    other_cert, other_key = os.path.join(OUT_DIR, "https-other-cert.pem"), os.path.join(OUT_DIR, "https-other-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", other_key, "-out", other_cert, "-days", "2", "-subj", "/CN=x"], check=True, capture_output=True)
    junk = os.path.join(OUT_DIR, "https-junk.pem")
    with open(junk, "w") as fh:
        fh.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    for c, k, named in [("/nonexistent/cert.pem", key, "/nonexistent/cert.pem"), (junk, key, junk),
                        (cert, other_key, other_key), (cert, junk, junk)]:
        p = run_once(args.binary, ["--listen", "127.0.0.1", "--tls-cert", c, "--tls-key", k,
                                   "--http-port", str(free_port(socket.SOCK_STREAM)),
                                   "--https-port", str(free_port(socket.SOCK_STREAM)),
                                   "--udp-port", str(free_port(socket.SOCK_DGRAM)), "--source", "testsrc"], timeout=20)
        msg = (p.stderr + p.stdout).strip().splitlines()
        msg = msg[-1] if msg else ""
        if p.returncode != 2 or named not in msg:
            failures.append("bad TLS files %s / %s: exit %d, %r (want exit 2 naming %s)" % (c, k, p.returncode, msg, named))
        else:
            print("https: bad files exit 2: %s" % msg[msg.find("TLS_"):][:110], flush=True)
    return report(failures)


def report(failures):
    for f in failures:
        print("https: FAIL " + f, flush=True)
    print("https: " + ("PASS" if not failures else "FAIL"), flush=True)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
