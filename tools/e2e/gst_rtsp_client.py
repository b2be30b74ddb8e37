"""GStreamer's rtspsrc as an RTSP client: decodes an RTSP stream for a while and prints a JSON line
{"frames": N, "width": W, "height": H, "error": "..." or null}.

  python3 gst_rtsp_client.py URL --transport tcp|udp --seconds 10 [--user U --password P]

rtspsrc ! rtph264depay ! h264parse ! avdec_h264 ! fakesink; a pad probe on the decoder's source
pad counts decoded frames and reads their caps. An error on the bus (401, a refused connection)
ends the run early with its message. Bounded: --seconds of watching, and the process exits.
"""
import argparse
import json
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--transport", choices=["tcp", "udp"], default="tcp")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--user")
    ap.add_argument("--password")
    a = ap.parse_args()
    Gst.init(None)
    pipe = Gst.parse_launch(
        "rtspsrc name=src latency=0 ! rtph264depay ! h264parse ! avdec_h264 name=dec ! fakesink sync=false")
    src = pipe.get_by_name("src")
    src.set_property("location", a.url)
    src.set_property("protocols", "tcp" if a.transport == "tcp" else "udp")
    if a.user is not None:
        src.set_property("user-id", a.user)
        src.set_property("user-pw", a.password or "")
    out = {"frames": 0, "width": None, "height": None, "error": None}

    def probe(pad, info):
        out["frames"] += 1
        if out["width"] is None:
            caps = pad.get_current_caps()
            if caps:
                s = caps.get_structure(0)
                out["width"], out["height"] = s.get_value("width"), s.get_value("height")
        return Gst.PadProbeReturn.OK

    pipe.get_by_name("dec").get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, probe)
    loop = GLib.MainLoop()

    def on_message(bus, msg):
        if msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            out["error"] = "%s (%s)" % (err.message, (dbg or "").splitlines()[0] if dbg else "")
            loop.quit()
        elif msg.type == Gst.MessageType.EOS:
            out["error"] = out["error"] or "end of stream"
            loop.quit()

    bus = pipe.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    GLib.timeout_add(int(a.seconds * 1000), loop.quit)
    pipe.set_state(Gst.State.PLAYING)
    loop.run()
    pipe.set_state(Gst.State.NULL)
    print(json.dumps(out))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
