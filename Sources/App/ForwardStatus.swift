// The --forward targets in GET /status ("forwards") and GET /metrics (rtcam_forward_*).
import HTTP
import Peer

extension ServerCore {
  /// `"forwards": [...]`, one object per target.
  func writeForwardStatus(_ w: inout JsonWriter, now: UInt64) {
    w.key("forwards"); w.beginArray()
    for f in forwards {
      let s = f.stats
      w.beginObject()
      w.key("url"); w.string(f.target.url)
      w.key("rtcp_port"); w.int(Int(f.target.rtcpPort))
      w.key("srtp"); w.bool(f.target.secure)
      w.key("state"); w.string(f.link.name)
      w.key("ssrc"); w.uint64(UInt64(f.config.ssrc))
      w.key("frames"); w.uint64(s.framesSent)
      w.key("packets"); w.uint64(s.packetsSent)
      w.key("bytes"); w.uint64(s.bytesSent)
      w.key("sender_reports"); w.uint64(s.senderReports)
      w.key("rtcp_received"); w.uint64(s.rtcpReceived)
      w.key("last_rtcp_ms_ago"); if let t = f.lastRtcpAt { w.uint64((now &- t) / 1_000_000) } else { w.null() }
      w.key("plis"); w.uint64(s.plis)
      w.key("firs"); w.uint64(s.firs)
      w.key("keyframe_requests"); w.uint64(s.keyframeRequests)
      w.key("send_errors"); w.uint64(s.sendErrors)
      w.key("unreachable_errors"); w.uint64(s.unreachableErrors)
      w.key("dropped_full"); w.uint64(s.wouldBlock)
      w.key("rtcp_send_errors"); w.uint64(f.rtcpSendErrors)
      w.key("recoveries"); w.uint64(s.recoveries)
      w.endObject()
    }
    w.endArray()
  }

  /// The rtcam_forward_* families, one sample per target (label `target`, the URL).
  func appendForwardMetrics(_ m: inout PrometheusText) {
    guard !forwards.isEmpty else { return }
    func each(_ name: String, _ type: String, _ help: String, _ value: (Forwarder) -> String) {
      m.family(name, type, help)
      for f in forwards { m.sample(name, [("target", f.target.url)], value(f)) }
    }
    each("rtcam_forward_up", "gauge", "1 while a --forward target takes packets, 0 while it is unreachable.") {
      $0.link == .sending ? "1" : "0"
    }
    each("rtcam_forward_packets_total", "counter", "RTP/SRTP packets sent to a --forward target.") { String($0.stats.packetsSent) }
    each("rtcam_forward_bytes_total", "counter", "RTP/SRTP bytes sent to a --forward target.") { String($0.stats.bytesSent) }
    each("rtcam_forward_keyframe_requests_total", "counter",
      "Keyframes a --forward target asked for (PLI/FIR, the interval, start and recovery).") { String($0.stats.keyframeRequests) }
    each("rtcam_forward_plis_received_total", "counter", "PLI feedback from a --forward target.") { String($0.stats.plis) }
    each("rtcam_forward_firs_received_total", "counter", "FIR feedback from a --forward target.") { String($0.stats.firs) }
    each("rtcam_forward_send_errors_total", "counter",
      "Packets to a --forward target that could not be sent (unreachable, buffer full, other).") { String($0.stats.sendErrors) }
    each("rtcam_forward_recoveries_total", "counter",
      "Times a --forward target came back after being unreachable.") { String($0.stats.recoveries) }
  }
}
