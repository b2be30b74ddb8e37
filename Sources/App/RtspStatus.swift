// The RTSP server in GET /status ("rtsp") and GET /metrics (rtcam_rtsp_*).
import HTTP
import Peer
import RTSP
import Wire

extension ServerCore {
  /// `"rtsp": {...}`: the port, the counts and one object per client.
  func writeRtspStatus(_ w: inout JsonWriter, now: UInt64) {
    w.key("rtsp"); w.beginObject()
    w.key("port"); w.int(options.rtsp.port)
    w.key("url"); if options.rtsp.port > 0 { w.string("rtsp://HOST:" + String(options.rtsp.port) + "/stream") } else { w.null() }
    w.key("clients"); w.int(rtspClients.count)
    w.key("playing"); w.int(rtspPlaying)
    w.key("timeout_s"); w.int(options.rtsp.timeoutSeconds)
    w.key("sessions"); w.beginArray()
    for c in rtspClients {
      w.beginObject()
      w.key("session"); w.string(c.session.id)
      w.key("remote"); w.string(c.peer.description)
      w.key("transport"); w.string(c.transportName)
      w.key("playing"); w.bool(c.playing)
      w.key("age_ms"); w.uint64((now &- c.createdAt) / 1_000_000)
      w.key("frames"); w.uint64(c.sender?.framesSent ?? 0)
      w.key("packets"); w.uint64(c.sender?.packetsSent ?? 0)
      w.key("bytes"); w.uint64(c.sender?.bytesSent ?? 0)
      w.key("frames_skipped"); w.uint64(c.framesSkipped)
      w.key("backlog_bytes"); w.int(c.backlog)
      w.key("sender_reports"); w.uint64(c.sender?.senderReports ?? 0)
      w.key("rtcp_received"); w.uint64(c.rtcpReceived)
      w.key("last_heard_ms_ago"); w.uint64((now &- c.session.lastHeard) / 1_000_000)
      w.endObject()
    }
    w.endArray()
    w.endObject()
  }

  /// rtcam_rtsp_*: clients by transport now, and the server's counters.
  func appendRtspMetrics(_ m: inout PrometheusText) {
    var tcp = 0
    var udp = 0
    var idle = 0
    for c in rtspClients {
      if !c.playing { idle += 1 } else if c.isUdp { udp += 1 } else { tcp += 1 }
    }
    m.labelledGauge("rtcam_rtsp_clients", "RTSP connections now: playing over TCP (interleaved) or UDP, or not playing.",
      label: "state", [("tcp", String(tcp)), ("udp", String(udp)), ("idle", String(idle))])
    let s = status.metrics
    m.counter("rtcam_rtsp_connections_total", "RTSP connections accepted.", s.rtspConnections)
    m.counter("rtcam_rtsp_refused_total", "RTSP connections refused by the client limits.", s.rtspRefused)
    m.counter("rtcam_rtsp_requests_total", "RTSP requests read.", s.rtspRequests)
    m.labelled("rtcam_rtsp_responses_total", "RTSP responses, by status class.", label: "class",
      MetricsCounters.classLabels(s.rtspResponses))
    m.counter("rtcam_rtsp_plays_total", "RTSP PLAY requests that started a stream.", s.rtspPlays)
    m.counter("rtcam_rtsp_bad_input_total", "RTSP connections closed for bad input (requests, interleaved frames).",
      s.rtspBadRequests)
    m.counter("rtcam_rtsp_sessions_reaped_total", "RTSP sessions ended for silence (the session timeout).", s.rtspReaped)
    var skipped: UInt64 = 0
    for c in rtspClients { skipped += c.framesSkipped }
    m.gauge("rtcam_rtsp_frames_skipped", "Frames the connected RTSP clients skipped for reading too slowly.",
      String(skipped))
  }
}
