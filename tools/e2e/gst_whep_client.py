#!/usr/bin/python3
"""Interop: GStreamer's webrtcbin (libnice ICE, its own DTLS/SRTP, FFmpeg's H.264 decoder) as a
WHEP viewer of rtcam.

Debian's python3 with python3-gi and GStreamer 1.22 (gstreamer1.0-plugins-bad for webrtcbin,
gstreamer1.0-nice, gstreamer1.0-libav for avdec_h264). Starts the given rtcam binary on
127.0.0.1, posts webrtcbin's recvonly offer to /whep, decodes the stream with
rtph264depay ! avdec_h264 and counts decoded frames and their size. Then it keeps watching for
--watch seconds with webrtcbin's defaults: after nomination GStreamer 1.22 sends no ICE Binding
Requests (only Binding Indications every 25 s), so rtcam must take the viewer's RTCP receiver
reports as liveness, or it would end the session after 30 s. Passes when it decoded
--min-frames 640x480 frames, frames still arrived in the last seconds of the watch, and rtcam's
/status still lists the session as connected.

libnice skips loopback interfaces when it gathers; 127.0.0.1 is added to the agent with its
`add-local-ip-address` action. tools/e2e-interop runs this inside a network namespace of its own
that has only `lo`, so no other address can be used. A failure names its step (HTTP, ICE, DTLS,
FIRST_FRAME, FRAMES, LIVENESS).
"""
import argparse
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtcam_process import Rtcam, StepFailed, http, save_offer  # noqa: E402

import gi  # noqa: E402

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

ICE_STATES = {
    GstWebRTC.WebRTCICEConnectionState.CONNECTED: "connected",
    GstWebRTC.WebRTCICEConnectionState.COMPLETED: "completed",
    GstWebRTC.WebRTCICEConnectionState.FAILED: "failed",
}


class Viewer:
    def __init__(self, rtcam, name):
        self.rtcam = rtcam
        self.name = name
        self.loop = GLib.MainLoop()
        self.lock = threading.Lock()
        self.frames = 0
        self.sizes = set()
        self.first_frame_at = None
        self.last_frame_at = None
        self.location = None
        self.error = None  # StepFailed raised on the GLib thread
        self.pipe = Gst.Pipeline.new("viewer")
        self.webrtc = Gst.ElementFactory.make("webrtcbin", "webrtc")
        if self.webrtc is None:
            raise StepFailed("SETUP", "no webrtcbin element (gstreamer1.0-plugins-bad, gstreamer1.0-nice)")
        self.webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        self.pipe.add(self.webrtc)
        caps = Gst.Caps.from_string(
            "application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000,"
            "packetization-mode=(string)1,profile-level-id=(string)42e01f")
        self.webrtc.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY, caps)
        # Keep the agent's Python wrapper for the viewer's lifetime: webrtcbin 1.22 hands the agent
        # out with a floating reference, which the wrapper takes over; dropping the wrapper would
        # free the agent under webrtcbin.
        self.ice = self.webrtc.get_property("ice-agent")
        self.ice.emit("add-local-ip-address", "127.0.0.1")
        self.webrtc.connect("pad-added", self.on_pad)
        bus = self.pipe.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self.on_error)

    def fail(self, step, message):
        if self.error is None:
            self.error = StepFailed(step, message)
        self.loop.quit()

    def on_error(self, _bus, msg):
        err, dbg = msg.parse_error()
        self.fail("PIPELINE", "%s (%s)" % (err.message, dbg))

    def on_pad(self, _webrtc, pad):
        if pad.direction != Gst.PadDirection.SRC:
            return
        depay = Gst.ElementFactory.make("rtph264depay")
        dec = Gst.ElementFactory.make("avdec_h264")
        sink = Gst.ElementFactory.make("fakesink")
        if dec is None:
            self.fail("SETUP", "no avdec_h264 element (gstreamer1.0-libav)")
            return
        sink.set_property("sync", False)
        for e in (depay, dec, sink):
            self.pipe.add(e)
            e.sync_state_with_parent()
        pad.link(depay.get_static_pad("sink"))
        depay.link(dec)
        dec.link(sink)
        dec.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self.on_frame)

    def on_frame(self, pad, _info):
        caps = pad.get_current_caps()
        s = caps.get_structure(0) if caps else None
        with self.lock:
            now = time.time()
            self.frames += 1
            if self.first_frame_at is None:
                self.first_frame_at = now
            self.last_frame_at = now
            if s:
                self.sizes.add((s.get_value("width"), s.get_value("height")))
        return Gst.PadProbeReturn.OK

    def start(self):
        self.pipe.set_state(Gst.State.PLAYING)
        self.t0 = time.time()
        promise = Gst.Promise.new_with_change_func(self.on_offer, None)
        self.webrtc.emit("create-offer", None, promise)

    def on_offer(self, promise, _data):
        reply = promise.get_reply()
        offer = reply.get_value("offer")
        self.webrtc.emit("set-local-description", offer, Gst.Promise.new())
        sdp = offer.sdp.as_text()
        save_offer(self.name, sdp)
        st, h, body = http("POST", self.rtcam.base + "/whep", body=sdp.encode(),
                           headers={"Content-Type": "application/sdp"})
        if st != 201:
            self.fail("HTTP", "POST /whep: %d %s" % (st, body[:200]))
            return
        self.location = h.get("location")
        if not self.location:
            self.fail("HTTP", "POST /whep: 201 without Location")
            return
        print("  HTTP: POST /whep -> 201, Location %s" % self.location, flush=True)
        ok, msg = GstSdp.SDPMessage.new_from_text(body.decode())
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        self.webrtc.emit("set-remote-description", answer, Gst.Promise.new())

    def snapshot(self):
        with self.lock:
            return self.frames, set(self.sizes), self.first_frame_at, self.last_frame_at


def session_state(rtcam, session_id):
    st, _, body = http("GET", rtcam.base + "/status")
    if st != 200:
        return "status %d" % st
    for s in json.loads(body).get("sessions", []):
        if s.get("id") == session_id:
            return s.get("state")
    return "gone"


def run(rtcam, name, min_frames, within, watch):
    v = Viewer(rtcam, name)
    threading.Thread(target=v.loop.run, daemon=True).start()
    GLib.idle_add(lambda: (v.start(), False)[1])

    def wait_for(pred, until, step, what):
        while not pred():
            if v.error:
                raise v.error
            if time.time() > until:
                raise StepFailed(step, what())
            time.sleep(0.05)

    deadline = time.time() + within
    wait_for(lambda: v.location is not None, deadline, "HTTP", lambda: "no answer from POST /whep")
    wait_for(lambda: v.webrtc.get_property("ice-connection-state") in ICE_STATES and
             ICE_STATES[v.webrtc.get_property("ice-connection-state")] != "failed",
             deadline, "ICE", lambda: "ICE state %s" % v.webrtc.get_property("ice-connection-state").value_nick)
    print("  ICE: %s after %.2f s" % (v.webrtc.get_property("ice-connection-state").value_nick,
                                     time.time() - v.t0), flush=True)
    wait_for(lambda: v.webrtc.get_property("connection-state") == GstWebRTC.WebRTCPeerConnectionState.CONNECTED,
             deadline, "DTLS", lambda: "peer connection state %s (log: %s)" % (
                 v.webrtc.get_property("connection-state").value_nick, rtcam.log_path))
    print("  DTLS: connected after %.2f s" % (time.time() - v.t0), flush=True)
    wait_for(lambda: v.snapshot()[0] > 0, deadline, "FIRST_FRAME", lambda: "no frame decoded within %.0f s" % within)
    wait_for(lambda: v.snapshot()[0] >= min_frames, deadline, "FRAMES",
             lambda: "%d decoded frames within %.0f s, want %d" % (v.snapshot()[0], within, min_frames))
    frames, sizes, first, _ = v.snapshot()
    print("%s: %d frames, %s, first frame after %.2f s" % (
        name, frames, ",".join("%dx%d" % s for s in sorted(sizes)), first - v.t0), flush=True)
    if sizes != {(640, 480)}:
        raise StepFailed("FRAMES", "frame sizes %s, want only 640x480" % sorted(sizes))

    # Liveness: keep watching with GStreamer's default keepalive (no consent Binding Requests).
    session_id = v.location.rsplit("/", 1)[-1]
    end = time.time() + watch
    while time.time() < end:
        if v.error:
            raise v.error
        state = session_state(rtcam, session_id)
        if state != "connected":
            raise StepFailed("LIVENESS", "after %.0f s of watching rtcam says the session is %s" % (
                watch - (end - time.time()), state))
        time.sleep(1)
    frames2, _, _, last = v.snapshot()
    if time.time() - last > 3 or frames2 - frames < 15 * (watch - 5):
        raise StepFailed("LIVENESS", "frames stopped: %d more in %.0f s, last %.1f s ago" % (
            frames2 - frames, watch, time.time() - last))
    print("%s: still playing after %.0f s more: %d frames in all, session %s" % (
        name, watch, frames2, session_state(rtcam, session_id)), flush=True)

    st, _, _ = http("DELETE", rtcam.base + v.location)
    if st != 200:
        raise StepFailed("HTTP", "DELETE %s: %d" % (v.location, st))
    v.pipe.set_state(Gst.State.NULL)
    v.loop.quit()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--qemu", choices=["aarch64", "armv7"])
    ap.add_argument("--min-frames", type=int, default=60)
    ap.add_argument("--within", type=float, default=20.0)
    ap.add_argument("--watch", type=float, default=45.0, help="seconds to keep watching after --min-frames")
    ap.add_argument("--startup", type=float, default=20.0)
    ap.add_argument("--name", required=True)
    args = ap.parse_args()
    Gst.init(None)
    rtcam = Rtcam(args.binary, args.name, qemu=args.qemu)
    try:
        err = rtcam.start(args.startup)
        if err:
            raise StepFailed("START", err)
        run(rtcam, args.name, args.min_frames, args.within, args.watch)
    except StepFailed as e:
        print("%s: FAIL at %s" % (args.name, e), flush=True)
        print(rtcam.log_tail(), flush=True)
        return 1
    finally:
        rtcam.stop()
    print("%s: PASS" % args.name, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
