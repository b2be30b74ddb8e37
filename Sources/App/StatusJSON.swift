// GET /status: the status model as JSON (version, source, encoder, stills, sessions, forwards).
import BWE
import DTLS
import Encoder
import HTTP
import ICE
import Peer
import SDP
import Wire

extension ServerCore {
  public func statusJSON(now: UInt64) -> String {
    var w = JsonWriter()
    w.beginObject()
    w.key("version"); w.string(rtcamVersion)
    w.key("arch"); w.string(buildArch)
    w.key("uptime_ms"); w.uint64((now &- status.startedAt) / 1_000_000)
    let s = status.source
    let c = status.capture
    w.key("source"); w.beginObject()
    w.key("spec"); w.string(s.spec)
    w.key("state"); w.string(s.state.name)
    w.key("error"); if let e = s.state.error { w.string(e.code) } else { w.null() }
    w.key("message"); if let e = s.state.error { w.string(e.message) } else { w.null() }
    w.key("width"); w.int(s.format.width)
    w.key("height"); w.int(s.format.height)
    w.key("fps"); w.int(s.format.fps)
    w.key("frames_captured"); w.uint64(c.framesCaptured)
    w.endObject()
    w.key("encoder"); w.beginObject()
    let e = status.encoder
    w.key("name"); w.string(e?.running ?? "openh264")
    w.key("requested"); w.string((e?.request ?? options.encoder).text)
    w.key("reason"); w.string(e?.reason ?? "starting")
    w.key("fault"); if let f = e?.faultCode { w.string(f) } else { w.null() }
    w.key("fallbacks"); w.uint64(e?.fallbacks ?? 0)
    w.key("codec"); w.string("H.264 constrained baseline (" + H264ProfileLevel.sent.hex + ")")
    w.key("bitrate"); w.int(s.bitrate)
    w.key("target_bitrate"); w.int(encoderTarget.bitrate)
    w.key("target_reason"); w.string(encoderTarget.reason.code)
    w.key("temporal_layers"); w.int(options.temporalLayers)
    w.key("preset"); w.string(options.preset.name)
    w.key("frames"); w.uint64(c.framesEncoded)
    w.key("keyframes"); w.uint64(c.keyframes)
    w.key("bytes"); w.uint64(c.bytesEncoded)
    w.key("dropped"); w.uint64(c.framesDropped)
    w.key("idle_frames"); w.uint64(c.framesIdle)
    w.endObject()
    let j = status.stills
    w.key("stages"); writeStages(&w)
    w.key("stills"); w.beginObject()
    w.key("snapshots"); w.uint64(j.snapshotsServed)
    w.key("stream_clients"); w.int(j.streamClients)
    w.key("stream_frames"); w.uint64(j.streamFramesSent)
    w.key("stream_frames_dropped"); w.uint64(j.streamFramesDropped)
    w.key("stream_fps"); w.int(options.stills.streamFps)
    w.endObject()
    w.key("viewers"); w.int(sessions.connectedCount)
    writeForwardStatus(&w, now: now)
    writeRtspStatus(&w, now: now)
    writeRecordingStatus(&w)
    w.key("max_viewers"); w.int(options.maxViewers)
    w.key("sessions"); w.beginArray()
    for p in sessions.order {
      let st = p.stats
      w.beginObject()
      w.key("id"); w.string(p.id)
      w.key("state"); w.string(p.phase.name)
      w.key("remote"); if let r = p.remote { w.string(r.description) } else { w.null() }
      w.key("age_ms"); w.uint64((now &- p.createdAt) / 1_000_000)
      w.key("frames"); w.uint64(st.framesSent)
      w.key("packets"); w.uint64(st.packetsSent)
      w.key("bytes"); w.uint64(st.bytesSent)
      w.key("retransmissions"); w.uint64(st.retransmissions)
      w.key("nacks"); w.uint64(st.nacks)
      w.key("plis"); w.uint64(st.plis)
      w.key("firs"); w.uint64(st.firs)
      w.key("send_failures"); w.uint64(st.sendFailures)
      w.key("fraction_lost"); w.int(Int(st.fractionLost))
      writeCongestion(&w, p)
      w.endObject()
    }
    w.endArray()
    w.endObject()
    return w.text
  }
}
