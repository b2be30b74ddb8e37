"""The bench's baseline: a camera server written the usual aiortc way (run with build/venv-interop's
python, aiortc + PyAV from PyPI).

  aiortc_server.py --port N --feed CLIP.y4m --benchtool build/bench/benchtool [--fps 30] [--host ADDR]

- the frames come from `benchtool feed CLIP` (the same Y4M feed rtcam reads through
  --source exec:), read by a thread;
- a VideoStreamTrack subclass whose recv() waits for the next frame from the feed and returns it
  as an av.VideoFrame (yuv420p), pts on the 90 kHz clock;
- GET / serves a small viewer page; POST /offer takes {"type":"offer","sdp":...} and returns the
  answer as JSON, after ICE gathering (aiortc does not trickle). H.264 is preferred so aiortc
  encodes with libx264 (PyAV), as rtcam sends H.264; the browser would otherwise pick VP8.
HTTP binds --host (default 127.0.0.1; tools/bench adapt gives 0.0.0.0 inside the server's network
namespace, whose only addresses are the bench's links).
"""
import argparse
import asyncio
import fractions
import json
import subprocess
import threading

import av
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription, VideoStreamTrack

PAGE = b"""<!doctype html><meta charset="utf-8"><title>aiortc baseline</title>
<video autoplay muted playsinline></video>
<script>
(async () => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.ontrack = (e) => { document.querySelector("video").srcObject = new MediaStream([e.track]); };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    if (pc.iceGatheringState === "complete") return done();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && done();
    setTimeout(done, 2000);
  });
  const r = await fetch("/offer", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp }) });
  await pc.setRemoteDescription(await r.json());
  window.benchPc = pc;
})();
</script>
"""

MAX_BODY = 1 << 16  # an SDP offer is a few KB


class Feed:
    """Reads Y4M frames from the feeder's standard output; keeps the newest one."""

    def __init__(self, cmd):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, bufsize=0)
        header = self._line().split()
        fields = {t[:1]: t[1:] for t in header[1:]}
        self.width, self.height = int(fields[b"W"]), int(fields[b"H"])
        self.size = self.width * self.height * 3 // 2
        self.cond = threading.Condition()
        self.frame, self.count = None, 0
        threading.Thread(target=self._run, daemon=True).start()

    def _line(self):
        out = b""
        while not out.endswith(b"\n"):
            c = self.proc.stdout.read(1)
            if not c:
                raise EOFError
            out += c
        return out

    def _read(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.proc.stdout.read(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return bytes(buf)

    def _run(self):
        while True:
            self._line()  # FRAME
            data = self._read(self.size)
            with self.cond:
                self.frame, self.count = data, self.count + 1
                self.cond.notify_all()

    def wait_newer(self, seen):
        with self.cond:
            self.cond.wait_for(lambda: self.count > seen, timeout=5)
            return self.frame, self.count


class FeedTrack(VideoStreamTrack):
    def __init__(self, feed):
        super().__init__()
        self.feed, self.seen, self.pts = feed, 0, 0

    async def recv(self):
        data, self.seen = await asyncio.get_running_loop().run_in_executor(None, self.feed.wait_newer, self.seen)
        w, h = self.feed.width, self.feed.height
        frame = av.VideoFrame(w, h, "yuv420p")
        offset = 0
        for plane, (pw, ph) in zip(frame.planes, ((w, h), (w // 2, h // 2), (w // 2, h // 2))):
            if plane.line_size == pw:
                plane.update(data[offset:offset + pw * ph])
            else:
                rows = bytearray(plane.line_size * ph)
                for r in range(ph):
                    rows[r * plane.line_size:r * plane.line_size + pw] = data[offset + r * pw:offset + (r + 1) * pw]
                plane.update(bytes(rows))
            offset += pw * ph
        self.pts += 90000 // 30
        frame.pts, frame.time_base = self.pts, fractions.Fraction(1, 90000)
        return frame


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--feed", required=True)
    ap.add_argument("--benchtool", required=True)
    ap.add_argument("--fps", type=int, default=30)
    args = ap.parse_args()
    feed = Feed([args.benchtool, "feed", args.feed, str(args.fps)])
    pcs = set()

    async def offer(body):
        params = json.loads(body)
        pc = RTCPeerConnection()
        pcs.add(pc)
        pc.addTrack(FeedTrack(feed))
        h264 = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == "video/H264"]
        for t in pc.getTransceivers():
            t.setCodecPreferences(h264)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=params["sdp"], type=params["type"]))
        await pc.setLocalDescription(await pc.createAnswer())
        return json.dumps({"type": pc.localDescription.type, "sdp": pc.localDescription.sdp}).encode()

    async def handle(reader, writer):
        try:
            line = await reader.readline()
            method, path = line.split()[:2]
            length = 0
            while True:
                h = await reader.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = min(int(v), MAX_BODY)
            body = await reader.readexactly(length) if length else b""
            if method == b"POST" and path == b"/offer":
                out, ctype, status = await offer(body), b"application/json", b"200 OK"
            elif method == b"GET" and path == b"/":
                out, ctype, status = PAGE, b"text/html", b"200 OK"
            else:
                out, ctype, status = b"not found", b"text/plain", b"404 Not Found"
            writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: " + ctype + b"\r\nContent-Length: "
                         + str(len(out)).encode() + b"\r\nConnection: close\r\n\r\n" + out)
            await writer.drain()
        except Exception as e:  # one bad request must not stop the server
            print("aiortc_server:", repr(e), flush=True)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, args.host, args.port)
    print("aiortc_server: listening on %s:%d" % (args.host, args.port), flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
