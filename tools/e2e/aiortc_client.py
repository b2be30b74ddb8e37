"""Interop: aiortc (an independent Python WebRTC stack) watches rtcam over WHEP or /offer.

Run with the virtualenv that tools/setup makes (build/venv-interop/bin/python). Starts the
given rtcam binary on loopback, negotiates as a recvonly H.264 viewer, decodes frames with
aiortc's own H.264 decoder (PyAV/FFmpeg), and checks:
  - HTTP: WHEP 201 + Location (or /offer 200 JSON), CORS, PATCH -> 405 with Allow, DELETE;
  - the DTLS certificate rtcam presented loads with a strict X.509 parser
    (cryptography.x509.load_der_x509_certificate), is v3 with a positive serial of <= 20 octets and
    no parameters in its ecdsa-with-SHA256 AlgorithmIdentifiers, and its SHA-256 is the answer's
    a=fingerprint;
  - at least --min-frames decoded frames of 640x480;
  - with --vanish: the viewer then goes silent without hanging up, and rtcam must end the session
    within --reap-within seconds (35).
Prints frames, size and time to first frame; a failure names its step (HTTP, ICE, DTLS,
CERTIFICATE, FIRST_FRAME, FRAMES, LIVENESS). Network: 127.0.0.1 only (aioice is told to gather only the
loopback address, and no STUN server is configured).
"""
import argparse
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtcam_process import Rtcam, StepFailed, save_offer  # noqa: E402
from rtcam_process import http as rtcam_http  # noqa: E402

import aioice.ice  # noqa: E402
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from OpenSSL import crypto  # noqa: E402

# aioice skips 127.0.0.1 when it lists host addresses; this test runs on loopback only.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []

# Headers sent with every request to rtcam (--authorization).
AUTH_HEADERS = {}


def http(method, url, body=None, headers=None, timeout=10):
    return rtcam_http(method, url, body=body, headers={**AUTH_HEADERS, **(headers or {})}, timeout=timeout)


class Running:
    """An rtcam started by someone else (--url)."""

    def __init__(self, base):
        self.base = base.rstrip("/")
        self.log_path = "(not started here)"

    def start(self, within):
        return None

    def stop(self):
        pass

    def log_tail(self, lines=15):
        return ""


# DER of the AlgorithmIdentifier ecdsa-with-SHA256 without parameters (RFC 5758 §3.2).
ECDSA_SHA256_ALG = bytes.fromhex("300a06082a8648ce3d040302")


def check_certificate(der, answer_sdp):
    """The strict-parser check of what rtcam sent in the DTLS handshake."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as e:
        raise StepFailed("CERTIFICATE", "strict X.509 parser refused it: %s" % e)
    if cert.version != x509.Version.v3:
        raise StepFailed("CERTIFICATE", "version %s, want v3" % cert.version)
    serial = cert.serial_number
    if serial <= 0 or (serial.bit_length() + 8) // 8 > 20:
        raise StepFailed("CERTIFICATE", "serial %d is not positive with at most 20 octets" % serial)
    if cert.signature_algorithm_oid != x509.oid.SignatureAlgorithmOID.ECDSA_WITH_SHA256:
        raise StepFailed("CERTIFICATE", "signature algorithm %s" % cert.signature_algorithm_oid)
    # Both AlgorithmIdentifiers, byte for byte: TBS.signature and the outer signatureAlgorithm.
    tbs = cert.tbs_certificate_bytes
    if ECDSA_SHA256_ALG not in tbs:
        raise StepFailed("CERTIFICATE", "TBS signature AlgorithmIdentifier has parameters")
    if not der[len(der) - len(cert.signature) - 3 - len(ECDSA_SHA256_ALG):].startswith(ECDSA_SHA256_ALG):
        raise StepFailed("CERTIFICATE", "outer signatureAlgorithm has parameters")
    if cert.public_bytes(serialization.Encoding.DER) != der:
        raise StepFailed("CERTIFICATE", "re-encoding differs from what was sent")
    # The answer's fingerprint is the SHA-256 of exactly these bytes.
    fp = cert.fingerprint(hashes.SHA256()).hex().upper()
    want = None
    for line in answer_sdp.splitlines():
        if line.startswith("a=fingerprint:sha-256 "):
            want = line.split(" ", 1)[1].replace(":", "").strip().upper()
    if fp != want:
        raise StepFailed("CERTIFICATE", "SHA-256 %s is not the answer's fingerprint %s" % (fp, want))
    print("  certificate: strict parse ok, v3, serial %d octets, ecdsa-with-SHA256 without parameters, "
          "fingerprint matches the answer" % ((serial.bit_length() + 8) // 8), flush=True)


def check_whep_resource(base, location):
    """WHEP details a player relies on: CORS, PATCH without trickle, DELETE."""
    st, h, _ = http("OPTIONS", base + "/whep", headers={"Origin": "http://player.example",
                                                         "Access-Control-Request-Method": "POST"})
    if st not in (200, 204) or h.get("access-control-allow-origin") != "*" or "POST" not in h.get(
            "access-control-allow-methods", ""):
        raise StepFailed("HTTP", "OPTIONS /whep: %d %s" % (st, h))
    st, h, body = http("PATCH", base + location, body=b"a=end-of-candidates\r\n",
                       headers={"Content-Type": "application/trickle-ice-sdpfrag"})
    if st != 405 or "DELETE" not in h.get("allow", ""):
        raise StepFailed("HTTP", "PATCH %s: %d, Allow %r (want 405 with Allow)" % (location, st, h.get("allow")))
    print("  whep: OPTIONS CORS ok, PATCH -> 405 Allow: %s" % h.get("allow"), flush=True)


def session_state(rtcam, session_id):
    st, _, body = http("GET", rtcam.base + "/status")
    if st != 200:
        raise StepFailed("HTTP", "GET /status: %d" % st)
    for s in json.loads(body).get("sessions", []):
        if s.get("id") == session_id:
            return s.get("state")
    return None


async def vanish_and_wait_for_reaping(rtcam, location, transport, reap_within):
    """The viewer vanishes without a word (as when its machine sleeps or leaves the network):
    from now on nothing it sends leaves its sockets, no consent check, no RTCP, no DTLS alert.
    rtcam must end the session by itself within `reap_within` seconds."""
    session_id = location.rsplit("/", 1)[-1]
    if session_state(rtcam, session_id) != "connected":
        raise StepFailed("LIVENESS", "session %s is not connected before the viewer vanishes" % session_id)
    for protocol in transport.transport.iceGatherer._connection._protocols:
        protocol.transport.sendto = lambda *args, **kwargs: None
    t0 = time.time()
    while True:
        state = session_state(rtcam, session_id)
        if state is None or state == "closed":
            break
        if time.time() - t0 > reap_within:
            raise StepFailed("LIVENESS", "rtcam still lists the vanished viewer as %s after %.0f s" % (
                state, reap_within))
        await asyncio.sleep(0.5)
    print("  liveness: the vanished viewer was reaped after %.1f s" % (time.time() - t0), flush=True)
    st, _, _ = http("DELETE", rtcam.base + location)
    if st != 404:
        raise StepFailed("HTTP", "DELETE of the reaped session %s: %d, want 404" % (location, st))


async def watch(rtcam, mode, min_frames, within, name, vanish=False, reap_within=35.0):
    # aiortc fails a handshake inside a background task (e.g. when it cannot parse the peer's
    # certificate); keep that error so the DTLS step can report it.
    task_errors = []
    asyncio.get_running_loop().set_exception_handler(
        lambda _loop, ctx: task_errors.append(ctx.get("exception") or ctx.get("message")))
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    frames = []
    first = {}
    done = asyncio.Event()
    result = {"frames": 0, "width": None, "height": None, "first_frame_s": None, "sizes": set()}

    @pc.on("track")
    def on_track(track):
        async def pull():
            while True:
                try:
                    f = await track.recv()
                except Exception:
                    return
                if "t" not in first:
                    first["t"] = time.time()
                result["frames"] += 1
                result["sizes"].add((f.width, f.height))
                result["width"], result["height"] = f.width, f.height
                if result["frames"] >= min_frames:
                    done.set()
        frames.append(asyncio.ensure_future(pull()))

    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp
    save_offer(name, offer)

    t0 = time.time()
    location = None
    if mode == "whep":
        st, h, body = http("POST", rtcam.base + "/whep", body=offer.encode(),
                           headers={"Content-Type": "application/sdp"})
        if st != 201:
            raise StepFailed("HTTP", "POST /whep: %d %s" % (st, body[:200]))
        location = h.get("location")
        if not location or not location.startswith("/whep/"):
            raise StepFailed("HTTP", "POST /whep: 201 without a Location header")
        if "Location" not in h.get("access-control-expose-headers", ""):
            raise StepFailed("HTTP", "POST /whep: Location is not exposed to scripts (CORS)")
        if not h.get("content-type", "").startswith("application/sdp"):
            raise StepFailed("HTTP", "POST /whep: answer Content-Type %r" % h.get("content-type"))
        answer = body.decode()
        print("  HTTP: POST /whep -> 201, Location %s" % location, flush=True)
    else:
        st, h, body = http("POST", rtcam.base + "/offer",
                           body=json.dumps({"type": "offer", "sdp": offer}).encode(),
                           headers={"Content-Type": "application/json"})
        if st != 200:
            raise StepFailed("HTTP", "POST /offer: %d %s" % (st, body[:200]))
        j = json.loads(body)
        if j.get("type") != "answer" or not j.get("session"):
            raise StepFailed("HTTP", "POST /offer: not an answer: %s" % body[:200])
        answer = j["sdp"]
        location = "/whep/" + j["session"]
        print("  HTTP: POST /offer -> 200, session %s" % j["session"], flush=True)

    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    # ICE, then DTLS, then frames; each with its own deadline so a failure names its step.
    deadline = t0 + within
    transport = pc.getTransceivers()[0].receiver.transport
    while pc.iceConnectionState not in ("completed", "connected"):
        if pc.iceConnectionState == "failed" or time.time() > deadline:
            raise StepFailed("ICE", "ICE state %s after %.1f s" % (pc.iceConnectionState, time.time() - t0))
        await asyncio.sleep(0.05)
    print("  ICE: %s after %.2f s" % (pc.iceConnectionState, time.time() - t0), flush=True)
    while transport.state != "connected":
        if task_errors:
            raise StepFailed("DTLS", "aiortc gave up the handshake: %s" % task_errors[0])
        if transport.state in ("failed", "closed") or time.time() > deadline:
            raise StepFailed("DTLS", "DTLS state %s after %.1f s (log: %s)" % (
                transport.state, time.time() - t0, rtcam.log_path))
        await asyncio.sleep(0.05)
    print("  DTLS: connected after %.2f s" % (time.time() - t0), flush=True)
    der = crypto.dump_certificate(crypto.FILETYPE_ASN1, transport._ssl.get_peer_certificate())
    check_certificate(der, answer)

    try:
        await asyncio.wait_for(done.wait(), timeout=max(0.1, deadline - time.time()))
    except asyncio.TimeoutError:
        pass
    if result["frames"] == 0:
        raise StepFailed("FIRST_FRAME", "no frame decoded within %.0f s" % within)
    first_s = first["t"] - t0
    print("%s: %d frames, %dx%d, first frame after %.2f s, %d in %.1f s" % (
        name, result["frames"], result["width"], result["height"], first_s, result["frames"],
        time.time() - t0), flush=True)
    if result["frames"] < min_frames:
        raise StepFailed("FRAMES", "%d decoded frames within %.0f s, want %d" % (result["frames"], within, min_frames))
    if result["sizes"] != {(640, 480)}:
        raise StepFailed("FRAMES", "frame sizes %s, want only 640x480" % sorted(result["sizes"]))

    if vanish:
        await vanish_and_wait_for_reaping(rtcam, location, transport, reap_within)
        for f in frames:
            f.cancel()
        await pc.close()
        return
    if mode == "whep":
        check_whep_resource(rtcam.base, location)
    st, _, body = http("DELETE", rtcam.base + location)
    if st != 200:
        raise StepFailed("HTTP", "DELETE %s: %d %s" % (location, st, body[:200]))
    st, _, _ = http("DELETE", rtcam.base + location)
    if st != 404:
        raise StepFailed("HTTP", "second DELETE %s: %d, want 404" % (location, st))
    print("  HTTP: DELETE %s -> 200, again -> 404" % location, flush=True)
    for f in frames:
        f.cancel()
    await pc.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", help="the rtcam binary to start (or --url)")
    ap.add_argument("--url", help="watch an rtcam that is already running at this base URL")
    ap.add_argument("--authorization", help="Authorization header value for every request (e.g. 'Basic ...')")
    ap.add_argument("--qemu", choices=["aarch64", "armv7"], help="run the binary under qemu-user")
    ap.add_argument("--mode", choices=["whep", "offer"], default="whep")
    ap.add_argument("--min-frames", type=int, default=60)
    ap.add_argument("--within", type=float, default=15.0, help="seconds from the offer to the last frame")
    ap.add_argument("--startup", type=float, default=20.0)
    ap.add_argument("--name", required=True)
    ap.add_argument("--vanish", action="store_true",
                    help="after the frames, go silent without hanging up; rtcam must reap the session")
    ap.add_argument("--reap-within", type=float, default=35.0)
    args = ap.parse_args()

    if args.authorization:
        AUTH_HEADERS["Authorization"] = args.authorization
    rtcam = Running(args.url) if args.url else Rtcam(args.binary, args.name, qemu=args.qemu)
    try:
        err = rtcam.start(args.startup)
        if err:
            raise StepFailed("START", err)
        asyncio.run(asyncio.wait_for(
            watch(rtcam, args.mode, args.min_frames, args.within, args.name, args.vanish, args.reap_within),
            timeout=args.within + args.reap_within + 30))
    except StepFailed as e:
        print("%s: FAIL at %s" % (args.name, e), flush=True)
        print(rtcam.log_tail(), flush=True)
        return 1
    except asyncio.TimeoutError:
        print("%s: FAIL: the client did not finish in time" % args.name, flush=True)
        return 1
    finally:
        rtcam.stop()
    print("%s: PASS" % args.name, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
