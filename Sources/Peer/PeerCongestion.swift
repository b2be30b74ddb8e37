// A viewer's congestion control: the bandwidth estimate its feedback gives (transport-cc, REMB,
// receiver reports), the pacer its media leaves through, and which of the stream's temporal
// layers it is sent. Only for viewers that give feedback: the others are sent every frame as it
// comes, as before.
import BWE
import RTP

/// The congestion state of one connected viewer. The core decides the layers from the estimate
/// (`Peer.handleLayerLimit`); the pacer's queue bound drops frames for this viewer alone.
struct PeerCongestion {
  var estimator: BandwidthEstimator
  var pacer: Pacer
  /// Which temporal layers the viewer is sent.
  var layers: LayerGate
  /// A base-layer frame was dropped: once the queue has drained, a keyframe is asked for.
  var keyframeWhenDrained = false
  /// Whether the bottleneck's queue is left to drain (no media for this viewer until then).
  var drain = LinkDrain.idle
  /// What the viewer's estimate leaves beyond the frames sent to it (a token bucket, in bits,
  /// filled at the estimate, emptied by every frame sent): a frame of the layer just above its
  /// limit goes out when it fits here, so a viewer held to the base layer gets more than the
  /// base layer's frame rate when its link has room.
  var headroomBits: Int64 = 0
  var headroomAt: UInt64
  /// The estimate last reported to the core (an event goes out when it changes).
  var reportedEstimate = 0
  /// The last sender reports' compact NTP times and when they were sent, for the round-trip
  /// time a receiver report gives (RFC 3550 6.4.1) without a wall clock at receive time.
  var senderReports = SenderReportTimes()

  /// Packets leave at 2.5 times the estimate (libwebrtc's pacing factor): a frame is spread
  /// out, but a queue that builds up still drains faster than frames arrive.
  static func pacingRate(_ estimate: Int) -> Int { estimate / 2 * 5 }
  /// The most a viewer's queue may hold, in time at its estimate: beyond it the viewer skips
  /// frames instead of falling behind (a Wi-Fi queue adds this much latency at most).
  static let maxQueueNs: UInt64 = 300_000_000

  /// An estimate that falls to less than this fraction of the last one in one step has
  /// collapsed: GCC's own decrease is to 85 % of the acknowledged rate, so a fall below half means
  /// the link itself dropped under what was being sent (Wi-Fi stepping down a rate).
  static let collapseDivisor = 2
  /// The measured queueing delay that makes a collapse worth a drain: a standing queue
  /// (`BWE` counts 100 ms as one), not the tens of ms of Wi-Fi's aggregation.
  static let minDrainQueueNs: UInt64 = 100_000_000
  /// The longest drain: a router's drop-tail queue holds 200-500 ms; past a second, feedback
  /// that stopped is the estimator's business.
  static let maxDrainNs: UInt64 = 1_000_000_000
  /// The headroom holds at most a quarter second of the estimate (a few upper-layer frames: more
  /// would be a burst after an idle spell) and owes at most a second of it.
  static let maxHeadroomNs: Int64 = 250_000_000
  static let maxHeadroomDebtNs: Int64 = 1_000_000_000

  init(config: BandwidthEstimatorConfig, layers: UInt8, now: UInt64) {
    estimator = BandwidthEstimator(config: config, now: now)
    // a token per packet of the retransmission history: queued packets wait there; the queue's
    // bound is 300 ms at the estimate, which is 120 ms at the pacer's rate
    pacer = Pacer(capacity: PeerMedia.historySlots, maxQueueDelayNs: PeerCongestion.maxQueueNs * 2 / 5)
    headroomAt = now
    self.layers = LayerGate(maxLayer: layers)
    pacer.setRate(PeerCongestion.pacingRate(estimator.estimate))
  }

  /// Whether this viewer takes `frame` (`bytes` on the wire): its layer limit, a dropped frame
  /// it may depend on, and the pacer's queue bound decide. Counts what it drops in `stats`.
  mutating func admits(_ frame: PacketizedFrame, bytes: Int, now: UInt64, stats: inout PeerStats) -> Bool {
    let layer = frame.temporalLayer
    if case .draining(let until) = drain {
      guard now >= until else {
        // the bottleneck still holds what was sent before the collapse: this frame would wait behind it
        stats.framesCongestionDropped += 1
        keyframeWhenDrained = true
        return false
      }
      drain = .idle
    }
    refillHeadroom(now: now)
    let bits = Int64(bytes) * 8
    guard layers.admits(layer: layer, keyframe: frame.isKeyframe) else {
      if layers.mayTakeExtra(layer: layer, keyframe: frame.isKeyframe) {
        if pacer.queuedPackets == 0, headroomBits >= bits {
          headroomBits -= bits
          return true
        }
        layers.dropped(layer: layer)
      }
      stats.framesLayerDropped += 1
      return false
    }
    // an empty queue takes any frame (a keyframe larger than the bound must still get through)
    guard pacer.queuedPackets == 0 || !pacer.wouldExceed(bytes: bytes, now: now) else {
      stats.framesCongestionDropped += 1
      if layer == 0 || frame.isKeyframe {
        keyframeWhenDrained = true
      } else {
        layers.dropped(layer: layer)
      }
      return false
    }
    headroomBits = max(headroomBits - bits, -Int64(estimator.estimate) * PeerCongestion.maxHeadroomDebtNs / 1_000_000_000)
    return true
  }

  /// The headroom fills at the estimate since it was last filled, up to its cap.
  mutating func refillHeadroom(now: UInt64) {
    let elapsed = Int64(min(now &- headroomAt, UInt64(PeerCongestion.maxHeadroomNs)))
    headroomAt = now
    let rate = Int64(estimator.estimate)
    headroomBits = min(headroomBits + rate * elapsed / 1_000_000_000, rate * PeerCongestion.maxHeadroomNs / 1_000_000_000)
  }

  /// Whether the bottleneck is still left to drain at `now`.
  func isDraining(now: UInt64) -> Bool {
    if case .draining(let until) = drain { return now < until }
    return false
  }
}

/// After a viewer's estimate collapsed over a standing queue, the packets sent before it still
/// fill the bottleneck (a Wi-Fi link that stepped down, a router's drop-tail queue): every frame
/// sent behind them arrives that much later, and the browser's jitter buffer grows with it. So
/// the viewer is sent nothing for about as long as the queue was measured to hold, then a
/// keyframe at the new rate.
enum LinkDrain: Equatable {
  case idle
  /// No media until then.
  case draining(until: UInt64)
}

/// The compact NTP times (RFC 3550: the middle 32 bits) of the last few sender reports and the
/// monotonic times they were sent. A receiver report names the last one it got (LSR).
struct SenderReportTimes {
  /// Reports remembered: one a second, and a receiver report answers within a few seconds.
  static let capacity = 4
  var ntp: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
  var sentAt: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
  var next = 0

  mutating func record(compactNtp: UInt32, now: UInt64) {
    switch next {
    case 0: ntp.0 = compactNtp; sentAt.0 = now
    case 1: ntp.1 = compactNtp; sentAt.1 = now
    case 2: ntp.2 = compactNtp; sentAt.2 = now
    default: ntp.3 = compactNtp; sentAt.3 = now
    }
    next = (next + 1) % SenderReportTimes.capacity
  }

  /// The round trip a report block gives at `now` (RFC 3550 6.4.1, `RTP.roundTripNs`): the
  /// arrival in the reports' compact NTP time is the report's own plus the monotonic time since
  /// it went out. Nil for an LSR of 0 (no report yet), one not sent here, a DLSR longer than
  /// the time since, or a round trip over a minute.
  func roundTrip(lastSenderReport lsr: UInt32, delay dlsr: UInt32, now: UInt64) -> UInt64? {
    guard lsr != 0 else { return nil }
    let sent: UInt64
    if lsr == ntp.0 { sent = sentAt.0 } else if lsr == ntp.1 { sent = sentAt.1 }
    else if lsr == ntp.2 { sent = sentAt.2 } else if lsr == ntp.3 { sent = sentAt.3 } else { return nil }
    guard now >= sent else { return nil }
    // (the multiplication stays within 64 bits for 2^47 ns, over a day, far beyond a report's life)
    let since = min(now - sent, UInt64(1) << 47)
    let arrival = lsr &+ UInt32(truncatingIfNeeded: since * compactNtpUnitsPerSecond / 1_000_000_000)
    return roundTripNs(lastSenderReport: lsr, delaySinceLastSenderReport: dlsr, nowCompactNtp: arrival)
  }
}

/// What /status shows of a viewer's congestion control.
public struct PeerCongestionStatus: Equatable, Sendable {
  /// The bandwidth estimate (bit/s).
  public var estimate: Int
  /// The highest temporal layer the viewer is sent.
  public var maxLayer: UInt8
  /// How long the pacer's queue takes to leave at its rate.
  public var queueNs: UInt64
  /// Loss over the estimator's window (0...1) and the round trip, when known.
  public var lossRatio: Double
  public var rttNs: UInt64?
  /// The delay-based detector's signal and the rate controller's state (their names).
  public var usage: String
  public var rateState: String
}

extension Peer {
  /// The core's limit on the temporal layers this viewer is sent (from its estimate).
  public func handleLayerLimit(_ layer: UInt8) {
    guard case .connected(let m) = state else { return }
    m.congestion?.layers.limit(layer)
  }

  /// The viewer's congestion control, nil when it gives no feedback (or is not connected).
  public var congestionStatus: PeerCongestionStatus? {
    guard case .connected(let m) = state, let c = m.congestion else { return nil }
    return PeerCongestionStatus(estimate: c.estimator.estimate, maxLayer: c.layers.maxLayer,
      queueNs: c.pacer.queueDelayNs(now: lastNow), lossRatio: c.estimator.lossRatio, rttNs: c.estimator.rttNs,
      usage: c.estimator.usage.name, rateState: c.estimator.rateState.name)
  }

  // MARK: feedback (RTCP from the viewer, `lastNow` is its arrival)

  func transportFeedback(_ fb: TransportFeedbackView) {
    guard case .connected(let m) = state, m.congestion != nil else { return }
    stats.transportFeedbacks += 1
    m.congestion!.estimator.beginFeedback(now: lastNow)
    for p in fb.packets {
      m.congestion!.estimator.feedbackPacket(FeedbackPacket(sequence: p.sequence, arrivalUs: p.arrivalUs))
    }
    m.congestion!.estimator.endFeedback(now: lastNow)
    estimateUpdated(m)
    resendReportedLost(fb, m)
  }

  func remb(_ bitrate: UInt64) {
    guard case .connected(let m) = state, m.congestion != nil else { return }
    m.congestion!.estimator.onRemb(bitrate: Int(clamping: bitrate), now: lastNow)
    estimateUpdated(m)
  }

  func reportBlock(_ b: ReportBlock) {
    guard case .connected(let m) = state, m.congestion != nil else { return }
    if let rtt = m.congestion!.senderReports.roundTrip(lastSenderReport: b.lastSenderReport,
      delay: b.delaySinceLastSenderReport, now: lastNow) {
      m.congestion!.estimator.onRoundTrip(ns: rtt, now: lastNow)
    }
    m.congestion!.estimator.onLossReport(fractionLost: b.fractionLost, now: lastNow)
    estimateUpdated(m)
  }

  /// After any input to the estimator: the pacer follows it, and the core hears of a change.
  func estimateUpdated(_ m: PeerMedia) {
    guard let c = m.congestion else { return }
    let e = c.estimator.estimate
    let previous = c.reportedEstimate
    guard e != previous else { return }
    m.congestion!.reportedEstimate = e
    m.congestion!.pacer.setRate(PeerCongestion.pacingRate(e))
    let queued = c.estimator.queueDelayNs ?? 0
    let collapsed = e < previous / PeerCongestion.collapseDivisor && queued >= PeerCongestion.minDrainQueueNs
    if collapsed {
      m.congestion!.drain = .draining(until: lastNow + min(queued, PeerCongestion.maxDrainNs))
    }
    if collapsed || m.congestion!.pacer.queueDelayNs(now: lastNow) > m.congestion!.pacer.maxQueueDelayNs {
      // the estimate fell below what is queued (here or at the bottleneck): the queued frames
      // would arrive late; the viewer skips to a keyframe instead (NACKs for the dropped packets
      // go unanswered)
      m.congestion!.pacer.dropMedia { m.history.forget(sequence: $0) }
      m.congestion!.pacer.clear()  // and the resends: the viewer starts again at a keyframe
      stats.queueFlushes += 1
      m.waitingForKeyframe = true
      m.congestion!.keyframeWhenDrained = true
    }
    events.append(.estimateChanged(bitrate: e, at: lastNow))
  }

  /// The next queued media packet the pacer lets out now.
  func nextPacedPacket(_ m: PeerMedia) -> PeerOutput? {
    guard m.congestion != nil, let to = remote else { return nil }
    while let seq = m.congestion!.pacer.next(now: lastNow) {
      // a packet sent again was marked when its NACK came (`nacked`); a first send was not
      let resend = m.resentAt[Int(seq) % PeerMedia.historySlots] != nil
      guard let n = fromHistory(m, sequence: seq) else { continue }
      if !resend {
        stats.packetsSent += 1
        stats.bytesSent += UInt64(n)
      }
      return .transmit(UnsafeRawBufferPointer(rebasing: controlBuffer[0..<n]), to: to)
    }
    if m.congestion!.keyframeWhenDrained && m.congestion!.pacer.queuedPackets == 0 && !m.congestion!.isDraining(now: lastNow) {
      // frames were dropped for this viewer: now that its queue is empty it can take a keyframe
      m.congestion!.keyframeWhenDrained = false
      events.append(.keyframeNeeded(.congestion))
    }
    return nil
  }

  /// The estimator's timers (feedback that stopped) at `now`.
  func congestionTimeout(_ m: PeerMedia, now: UInt64) {
    guard let c = m.congestion, let t = c.estimator.nextTimeout, now >= t else { return }
    m.congestion!.estimator.onTimeout(now: now)
    estimateUpdated(m)
  }

  /// When the pacer or the estimator next has work, and whether the pacer has some now.
  func congestionDeadline(_ m: PeerMedia) -> UInt64? {
    guard let c = m.congestion else { return nil }
    var d = c.estimator.nextTimeout
    if let t = c.pacer.nextSendTime(now: lastNow) { d = min(d ?? t, t) }
    if c.keyframeWhenDrained && c.pacer.queuedPackets == 0 {
      let at = if case .draining(let until) = c.drain { max(until, lastNow) } else { lastNow }
      d = min(d ?? at, at)
    }
    return d
  }
}
