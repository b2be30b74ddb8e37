// What /status and /metrics show of congestion control: each viewer's estimate, layers, pacer
// queue, loss and round trip; the encoder's target and why.
import HTTP
import Peer

extension ServerCore {
  /// A session's congestion fields in /status (null values for a viewer without feedback).
  func writeCongestion(_ w: inout JsonWriter, _ p: Peer) {
    let st = p.stats
    w.key("frames_layer_dropped"); w.uint64(st.framesLayerDropped)
    w.key("frames_congestion_dropped"); w.uint64(st.framesCongestionDropped)
    w.key("queue_flushes"); w.uint64(st.queueFlushes)
    guard let c = p.congestionStatus else {
      w.key("estimate"); w.null()
      return
    }
    w.key("estimate"); w.int(c.estimate)
    w.key("layers"); w.int(Int(c.maxLayer) + 1)
    w.key("pacer_queue_ms"); w.uint64(c.queueNs / 1_000_000)
    w.key("loss_percent"); w.int(Int(c.lossRatio * 100 + 0.5))
    w.key("rtt_ms"); if let r = c.rttNs { w.uint64(r / 1_000_000) } else { w.null() }
    w.key("delay_signal"); w.string(c.usage)
    w.key("rate_state"); w.string(c.rateState)
  }

  func writeCongestionMetrics(_ m: inout PrometheusText, _ live: PeerStats) {
    m.counter("rtcam_frames_layer_dropped_total", "Frames not sent to a viewer because they were above its temporal-layer limit.",
      live.framesLayerDropped)
    m.counter("rtcam_frames_congestion_dropped_total", "Frames not sent to a viewer because its pacer queue was full.",
      live.framesCongestionDropped)
    m.counter("rtcam_transport_feedback_total", "Transport-wide congestion control feedback reports from viewers.",
      live.transportFeedbacks)
    m.gauge("rtcam_encoder_target_bits_per_second", "The encoder's target bitrate, chosen from the viewers' estimates.",
      String(encoderTarget.bitrate))
    var estimates: [(String, String)] = []
    var queues: [(String, String)] = []
    for p in sessions.order {
      guard let c = p.congestionStatus else { continue }
      estimates.append((p.id, String(c.estimate)))
      queues.append((p.id, formatSeconds(Double(c.queueNs) / 1e9)))
    }
    m.labelledGauge("rtcam_viewer_estimate_bits_per_second", "A viewer's bandwidth estimate.", label: "session", estimates)
    m.labelledGauge("rtcam_viewer_pacer_queue_seconds", "Time a viewer's pacer queue takes to leave.", label: "session", queues)
  }
}
