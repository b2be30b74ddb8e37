// The /metrics text: the core's counters, the capture thread's, and the live sessions' totals.
import Encoder
import Peer

extension ServerCore {
  public func metricsText() -> String {
    var m = PrometheusText()
    let s = status.capture
    let metrics = status.metrics
    m.counter("rtcam_frames_captured_total", "Frames the source delivered.", s.framesCaptured)
    m.counter("rtcam_frames_encoded_total", "Frames encoded to H.264 (once for every viewer).", s.framesEncoded)
    m.counter("rtcam_frames_dropped_total", "Encoded frames dropped because the network loop fell behind.", s.framesDropped)
    m.counter("rtcam_frames_idle_total", "Frames captured but not encoded because nobody watched.", s.framesIdle)
    let j = status.stills
    m.counter("rtcam_snapshots_total", "JPEG stills served (GET /snapshot.jpg).", j.snapshotsServed)
    m.gauge("rtcam_stream_clients", "MJPEG stream clients connected (GET /stream.mjpg).", String(j.streamClients))
    m.counter("rtcam_stream_frames_total", "MJPEG parts written to stream clients.", j.streamFramesSent)
    m.counter("rtcam_stream_frames_dropped_total", "MJPEG frames a stream client missed while still taking the previous one.",
      j.streamFramesDropped)
    m.counter("rtcam_keyframes_total", "IDR frames encoded.", s.keyframes)
    m.counter("rtcam_encoded_bytes_total", "H.264 bytes produced by the encoder.", s.bytesEncoded)
    let t = s.encodeTimes
    m.histogram("rtcam_encode_duration_seconds", "Time to encode one frame.", bounds: encodeTimeBucketBounds,
      counts: t.buckets, sumSeconds: Double(t.sumNs) / 1e9)
    writeStageMetrics(&m)
    m.gauge("rtcam_encoder_hardware", "1 while the hardware (V4L2 memory-to-memory) H.264 encoder runs, 0 for OpenH264.",
      status.encoder?.hardwareRuns == true ? "1" : "0")
    m.counter("rtcam_encoder_fallbacks_total", "Switches from the hardware encoder to OpenH264 after a fault.",
      status.encoder?.fallbacks ?? 0)
    m.gauge("rtcam_source_up", "1 while the source delivers frames, else 0.", status.source.state.name == "running" ? "1" : "0")
    m.labelled("rtcam_source_faults_total", "Camera or source faults, by code.", label: "code", metrics.sourceFaults)
    m.gauge("rtcam_viewers", "Viewers whose media is flowing.", String(sessions.connectedCount))
    m.gauge("rtcam_sessions", "Viewer sessions (any state).", String(sessions.count))
    m.counter("rtcam_sessions_opened_total", "Viewer sessions created from offers.", metrics.sessionsOpened)
    m.labelled("rtcam_sessions_closed_total", "Viewer sessions ended, by reason.", label: "reason", metrics.sessionsClosed)
    var live = metrics.closedStats
    for p in sessions.order where p.phase != .closed { MetricsCounters.accumulate(p.stats, into: &live) }
    m.counter("rtcam_rtp_packets_sent_total", "SRTP packets sent to viewers.", live.packetsSent)
    m.counter("rtcam_rtp_sent_bytes_total", "SRTP bytes sent to viewers.", live.bytesSent)
    m.counter("rtcam_retransmissions_total", "Packets sent again after a NACK.", live.retransmissions)
    m.counter("rtcam_nacks_received_total", "NACK feedback packets from viewers.", live.nacks)
    m.counter("rtcam_plis_received_total", "PLI feedback packets from viewers.", live.plis)
    m.counter("rtcam_firs_received_total", "FIR feedback packets from viewers.", live.firs)
    writeCongestionMetrics(&m, live)
    m.labelled("rtcam_http_responses_total", "HTTP responses, by status class.", label: "class",
      MetricsCounters.classLabels(metrics.httpResponses))
    appendForwardMetrics(&m)
    appendRtspMetrics(&m)
    appendRecordingMetrics(&m)
    m.counter("rtcam_auth_failures_total", "Requests with wrong or malformed credentials.", metrics.authFailures)
    m.gauge("rtcam_process_start_time_seconds", "Start time of the process since the Unix epoch.",
      formatSeconds(Double(status.startedUnixNs / 1_000_000) / 1e3))
    return m.text
  }
}
