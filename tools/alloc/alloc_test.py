"""Allocation test: the counting build of rtcam (tools/alloc-test) serves 4 WebRTC viewers, an
MJPEG stream client, an RTSP client over TCP (ffmpeg) and periodic snapshots while it records
(--record, fragments written and synced every second); no captured frame may allocate in steady
state.

Run with build/venv-interop/bin/python (aiortc) inside a loopback-only network namespace
(tools/alloc-test does both). rtcam runs with the test pattern at 640x480, 30 fps, default log
level. Its counting allocator (tools/alloc/alloc_count.c) writes one line per captured frame with
the heap allocations all threads made since the previous frame, plus details of each.

Phases: warm-up (all 4 viewers decode frames, the MJPEG client has parts, two snapshots were
served, then --settle seconds more so that histories, caches and buffers reach their working size);
window A (--window seconds, >= --min-frames frames) with the viewers and the MJPEG client: no
frame may allocate at all, STUN consent checks included (each viewer sends one every few
seconds; they are answered in place); window B (--snapshot-window seconds) adds a /snapshot.jpg request every
--snapshot-interval seconds: its JPEG (capture thread) and delivery must not allocate either; the
HTTP request and response handling of each snapshot (a new connection, parsing, the response
head) is per request, not per frame, and is reported per snapshot. Any other allocation fails
the test (printed: thread, function, size, symbolised callers), as do fewer than --min-frames
frames in window A or a client that stalled while measured.
"""
import argparse
import asyncio
import collections
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "e2e"))
from rtcam_process import OUT_DIR, Rtcam  # noqa: E402
from rtcam_process import http as rtcam_http  # noqa: E402

import aioice.ice  # noqa: E402
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402

aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []

# STUN requests of the viewers that rtcam answered with success: in steady state, the consent
# checks (RFC 7675; aioice sends one per viewer every 4-6 s), which must happen while measured.
STUN_ANSWERED = [0]
_stun_request = aioice.ice.StunProtocol.request


async def _counted_stun_request(self, *args, **kwargs):
    response = await _stun_request(self, *args, **kwargs)  # raises unless answered with success
    STUN_ANSWERED[0] += 1
    return response


aioice.ice.StunProtocol.request = _counted_stun_request


class Fail(Exception):
    pass


def mjpeg_client(host, port, stop, parts):
    """GET /stream.mjpg and count the parts (boundaries) as they arrive."""
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")
    tail = b""
    try:
        while not stop.is_set():
            try:
                b = s.recv(65536)
            except socket.timeout:
                continue
            if not b:
                return
            data = tail + b
            parts[0] += data.count(b"--rtcamframe\r\n")
            tail = data[-16:]
    finally:
        s.close()


def snapshot_client(base, stop, done, interval, paused):
    """GET /snapshot.jpg every `interval` seconds (a new connection each, as a browser's refresh)."""
    while not stop.is_set():
        if paused.is_set():
            stop.wait(0.05)
            continue
        st, h, body = rtcam_http("GET", base + "/snapshot.jpg", timeout=10)
        if st == 200 and body[:2] == b"\xff\xd8":
            done[0] += 1
        else:
            done[1] += 1
        stop.wait(interval)


async def viewer(base, frames, i, ready):
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))

    @pc.on("track")
    def on_track(track):
        async def pull():
            while True:
                try:
                    await track.recv()
                except Exception:
                    return
                frames[i] += 1
        asyncio.ensure_future(pull())

    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    st, h, body = await asyncio.get_running_loop().run_in_executor(None, lambda: rtcam_http(
        "POST", base + "/whep", body=pc.localDescription.sdp.encode(), headers={"Content-Type": "application/sdp"}))
    if st != 201:
        raise Fail("viewer %d: POST /whep: %d %s" % (i, st, body[:200]))
    await pc.setRemoteDescription(RTCSessionDescription(sdp=body.decode(), type="answer"))
    ready.append(h.get("location"))
    return pc


def symbolise(binary, addrs):
    """address -> function name (addr2line; Swift names demangled with swift-demangle if found)."""
    if not addrs:
        return {}
    addrs = sorted(addrs)
    out = subprocess.run(["addr2line", "-f", "-e", binary] + ["%x" % (a - 1) for a in addrs],
                         capture_output=True, text=True).stdout.splitlines()
    fns = out[0::2]
    demangler = subprocess.run(["bash", "-c", "command -v swift-demangle"], capture_output=True, text=True).stdout.strip()
    if demangler and len(fns) == len(addrs):
        d = subprocess.run([demangler, "--simplified"], input="\n".join(fns) + "\n", capture_output=True,
                           text=True).stdout.splitlines()
        if len(d) == len(fns):
            fns = d
    return dict(zip(addrs, fns))


# Where an allocation comes from: the first function on its stack that is not the allocator, the
# Swift runtime or a standard library container (those name what was allocated, not who asked).
RUNTIME = ("swift_", "_ContiguousArrayBuffer", "ContiguousArray", "Array", "_StringGuts", "__StringStorage",
           "_allocateStringStorage", "String.", "String(", "_copyCollection", "Dictionary", "_NativeDictionary",
           "_DictionaryStorage", "__RawDictionaryStorage", "BinaryInteger", "Hasher", "posix_memalign", "malloc",
           "calloc", "_int_malloc", "__libc", "outlined", "Set", "_NativeSet")
# Known per-event (not per frame) allocations. The stack is scanned, not unwound (see
# alloc_count.c), so a stale address may come first: an allocation is known when one of the first
# KNOWN_DEPTH functions on its stack (runtime ones skipped) is one of these.
KNOWN_DEPTH = 4
# A snapshot's HTTP request and response (window B only): the connection, parsing, routing, the
# response and its first queued bytes, the close after it.
KNOWN_SNAPSHOT_REQUEST = ("HttpConnection.", "HttpRequest.", "HttpResponse.", "HttpServer.accepted",
                          "HttpServer.answer", "HttpServer.received", "HttpServer.flushed", "EventLoop.acceptClients",
                          "EventLoop.serviceClient", "ServerCore.respond",
                          "ServerCore.stillRoute", "ServerCore.qualityParameter", "PendingOutput.queue",
                          "AddressRateLimiter", "addressKey", "SocketAddress.")


def plain(name):
    for prefix in ("specialized ", "static ", "generic specialization ", "merged "):
        if name.startswith(prefix):
            name = name[len(prefix):]
    return name


def known_origin(chain, known):
    """The known prefix this allocation is attributed to, or None."""
    names = [plain(n) for n in chain]
    firsts = [n for n in names if not n.startswith(RUNTIME) and n[:2] != "0x"][:KNOWN_DEPTH]
    for n in firsts:
        for k in known:
            if n.startswith(k):
                return k
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True, help="the counting build (build/x86_64/alloc/rtcam-counting)")
    ap.add_argument("--viewers", type=int, default=4)
    ap.add_argument("--settle", type=float, default=4.0, help="seconds of warm-up after every client runs")
    ap.add_argument("--window", type=float, default=12.0, help="seconds measured without snapshots (window A)")
    ap.add_argument("--snapshot-window", type=float, default=6.0, help="seconds measured with snapshots (window B)")
    ap.add_argument("--min-frames", type=int, default=300)
    ap.add_argument("--snapshot-interval", type=float, default=0.5)
    args = ap.parse_args()

    os.makedirs(OUT_DIR, exist_ok=True)
    count_log = os.path.join(OUT_DIR, "alloc-test.counts")
    rtcam_log = os.path.join(OUT_DIR, "alloc-test.rtcam.log")
    # rtcam's default log level (info), as a camera runs it
    record_dir = tempfile.mkdtemp(prefix="rtcam-alloc-record-")
    rtcam = Rtcam(args.binary, "alloc-test", log_level=None, env={"ALLOC_COUNT_LOG": count_log}, log_path=rtcam_log,
                  rtsp_port="free", extra=["--size", "640x480", "--fps", "30", "--snapshots-per-minute", "1000",
                                           "--record", record_dir, "--record-segment", "300"])
    rtsp_client = None
    http_port, base = rtcam.http_port, rtcam.base
    proc = rtcam.launch()
    stop = threading.Event()
    threads = []
    pcs = []
    frames = [0] * args.viewers
    parts = [0]
    snaps = [0, 0]
    window = None
    paused = threading.Event()

    async def run():
        nonlocal window
        nonlocal rtsp_client
        err = rtcam.ready(20)  # blocks the event loop, which has nothing else to run yet
        if err:
            raise Fail(err)
        ready = []
        for i in range(args.viewers):
            pcs.append(await viewer(base, frames, i, ready))
        threads.append(threading.Thread(target=mjpeg_client, args=("127.0.0.1", http_port, stop, parts), daemon=True))
        threads.append(threading.Thread(target=snapshot_client, args=(base, stop, snaps, args.snapshot_interval, paused),
                                        daemon=True))
        for t in threads:
            t.start()
        rtsp_client = subprocess.Popen(["ffmpeg", "-nostdin", "-v", "error", "-rtsp_transport", "tcp", "-i",
                                        "rtsp://127.0.0.1:%d/stream" % rtcam.rtsp_port, "-f", "null", "-"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # warm-up: everyone gets pictures
        deadline = time.time() + 30
        while min(frames) < 30 or parts[0] < 5 or snaps[0] < 2:
            if time.time() > deadline:
                raise Fail("warm-up: viewers decoded %s frames, MJPEG parts %d, snapshots %s (log: %s)" % (
                    frames, parts[0], snaps, rtcam_log))
            await asyncio.sleep(0.1)
        print("alloc-test: warm-up: viewers %s frames, %d MJPEG parts, %d snapshots; settling %.0f s" % (
            frames, parts[0], snaps[0], args.settle), flush=True)
        paused.set()
        await asyncio.sleep(args.settle)
        marks = []
        for length, snapshots_on in ((args.window, False), (args.snapshot_window, True)):
            if snapshots_on:
                paused.clear()
                await asyncio.sleep(args.snapshot_interval)  # the first request is under way
            start = (time.monotonic_ns(), list(frames), parts[0], snaps[0], STUN_ANSWERED[0])
            await asyncio.sleep(length)
            marks.append((start, (time.monotonic_ns(), list(frames), parts[0], snaps[0], STUN_ANSWERED[0])))
        window = marks
        # the RTSP client played and the recording ran through the windows (else they proved nothing)
        with urllib.request.urlopen(base + "/status", timeout=5) as r:
            st = json.loads(r.read())
        rec, rtsp = st["recording"], st["rtsp"]
        print("alloc-test: RTSP clients playing %d; recording %s, %d fragments, %d bytes written" % (
            rtsp["playing"], rec["state"], rec["fragments"], rec["bytes_written"]), flush=True)
        if rtsp["playing"] < 1 or rec["state"] != "recording" or rec["fragments"] < args.window:
            raise Fail("the RTSP client or the recording did not run: %s %s" % (rtsp, rec))
        stop.set()
        for pc in pcs:
            await pc.close()

    try:
        asyncio.run(asyncio.wait_for(run(), timeout=args.window + args.snapshot_window + args.settle + 90))
    except (Fail, asyncio.TimeoutError) as e:
        print("alloc-test: FAIL: %s" % (e or "timed out"), flush=True)
        return 1
    finally:
        stop.set()
        if rtsp_client:
            rtsp_client.kill()
            rtsp_client.wait()
        rtcam.stop()
        shutil.rmtree(record_dir, ignore_errors=True)

    counts = {}
    details = collections.defaultdict(list)
    with open(count_log) as f:
        for line in f:
            p = line.split()
            if p[0] == "F":
                counts[int(p[1])] = (int(p[2]), int(p[3]))
            elif p[0] == "A":
                details[int(p[1])].append((int(p[2]), p[3], int(p[4]), [int(x, 16) for x in p[5:]]))
    names = symbolise(args.binary, {a for ds in details.values() for d in ds for a in d[3]})

    def chain_of(pcs_):
        chain = []
        for a in pcs_:
            n = names.get(a, "%x" % a)
            if n.startswith(("note", "__wrap_", "callers")):
                continue  # the counting allocator's own frames
            if not chain or chain[-1] != n:
                chain.append(n)
        return chain

    ok = True
    for label, (start, end), known in (("A (viewers, MJPEG)", window[0], ()),
                                        ("B (+ snapshots)", window[1], KNOWN_SNAPSHOT_REQUEST)):
        t0, t1 = start[0], end[0]
        viewer_frames = [a - b for a, b in zip(end[1], start[1])]
        mjpeg_parts, snapshots, consents = end[2] - start[2], end[3] - start[3], end[4] - start[4]
        secs = (t1 - t0) / 1e9
        print("alloc-test: window %s, %.1f s: viewers decoded %s frames, %d MJPEG parts, %d snapshots, "
              "%d STUN consent checks answered" % (label, secs, viewer_frames, mjpeg_parts, snapshots, consents),
              flush=True)
        if not known and consents < args.viewers:
            ok = False
            print("alloc-test: FAIL: only %d consent checks answered in window A, want >= %d (one per viewer)" % (
                consents, args.viewers))
        # a frame's line is written at the mark that closes it: the mark of frame n+1 ends frame n.
        measured = [n for n, (t, _) in counts.items() if t0 <= t and n + 1 in counts and counts[n + 1][0] <= t1]
        hist = collections.Counter(counts[n][1] for n in measured)
        print("  %d frames; allocations per frame: %s" % (
            len(measured), ", ".join("%d: %d frames" % (k, v) for k, v in sorted(hist.items()))), flush=True)
        unexplained = collections.Counter()
        known_seen = collections.Counter()
        bad_frames = 0
        for n in measured:
            c = counts[n][1]
            if c == 0:
                continue
            ds = details[n]
            frame_bad = len(ds) < c  # more than the shim kept details of: not all can be explained
            if frame_bad:
                unexplained[("?", "?", "%d allocations without details (over the per-frame limit)" % (c - len(ds)))] += 1
            for tid, fn, size, pcs_ in ds:
                chain = chain_of(pcs_)
                k = known_origin(chain, known)
                if tid == proc.pid and k:
                    known_seen[k] += 1
                    continue
                frame_bad = True
                thread = "main (network loop)" if tid == proc.pid else "thread %d (capture)" % tid
                unexplained[(fn, thread, " <- ".join(chain[:10]))] += 1
            bad_frames += frame_bad
        if known_seen:
            print("  known per-event allocations (not per frame): %s%s" % (
                ", ".join("%s %d" % kv for kv in known_seen.most_common()),
                "; %.1f per snapshot" % (sum(v for k, v in known_seen.items() if k in KNOWN_SNAPSHOT_REQUEST)
                                         / max(snapshots, 1)) if known else ""))
        if bad_frames:
            ok = False
            print("alloc-test: FAIL: %d of %d frames of window %s allocated (%d allocations)" % (
                bad_frames, len(measured), label, sum(unexplained.values())))
            for (fn, thread, where), k in unexplained.most_common(25):
                print("  %4d x %s on %s:\n       %s" % (k, fn, thread, where))
        if not known and len(measured) < args.min_frames:
            ok = False
            print("alloc-test: FAIL: only %d frames measured, want >= %d" % (len(measured), args.min_frames))
        if min(viewer_frames) < secs * 10 or mjpeg_parts < secs * 3 or (
                known and snapshots < secs / args.snapshot_interval / 3):
            ok = False
            print("alloc-test: FAIL: a client stalled in window %s (each viewer >= 10 frames/s, MJPEG >= 3 parts/s, "
                  "snapshots >= a third of those asked for)" % label)
    print("alloc-test: %s" % ("PASS" if ok else "FAIL"), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
