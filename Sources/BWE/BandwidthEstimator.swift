// A viewer's send-side bandwidth estimator: Google Congestion Control
// (draft-ietf-rmcat-gcc-02), sans-IO. Inputs are what was sent and what the receiver reported,
// each with `now` (monotonic ns); the output is `estimate` (bit/s) and `nextTimeout`.

/// Send-side GCC for one viewer.
///
/// - Delay-based: transport-wide feedback (packet arrival times) -> inter-arrival groups of 5 ms
///   -> trendline of the delay variation -> overuse detector with adaptive threshold -> AIMD.
/// - Loss-based: a ceiling from the loss in transport feedback, or in receiver reports for a
///   viewer without transport-cc (then it drives the estimate; see `LossBasedControl`). Loss
///   with a standing queue counts as overuse (see `StandingQueue`).
/// - REMB caps the estimate. Feedback that stops decays it (see `FeedbackTimeout`).
///
/// A value type; every buffer is made in `init`, so no input allocates afterwards.
public struct BandwidthEstimator: Sendable {
  /// The largest size a packet can have on the wire (a UDP datagram's limit): larger reported
  /// sizes are clamped.
  static let maxPacketBytes = 65_535
  /// Arrival times a transport feedback report can carry: a signed 24-bit reference time in
  /// units of 64 ms plus at most 65535 deltas of at most 8.19 s each stay within 2^41 us; values
  /// beyond 2^50 us come from no report and are dropped (this keeps their differences in range).
  static let maxArrivalMagnitudeUs: Int64 = 1 << 50

  public let config: BandwidthEstimatorConfig
  var history: SendHistory
  var interArrival = InterArrival()
  var trendline = TrendlineFilter()
  var detector = OveruseDetector()
  var aimd: AimdRateControl
  var acked = AckedBitrate()
  var loss: LossBasedControl
  var roundTrip = RoundTrip()
  var silence = FeedbackTimeout()
  var standing = StandingQueue()
  var rembBps: Int?
  /// Whether a transport feedback report has told us anything yet: from then on the delay-based
  /// rate leads and receiver-report loss is ignored (the transport feedback covers every packet).
  var transportFeedbackSeen = false
  var report = ReportInProgress(now: 0)
  var lastUsage = BandwidthUsage.normal

  /// What the report being read has told so far.
  struct ReportInProgress: Sendable {
    var now: UInt64
    var newEntries = 0
    var sawOveruse = false
  }

  public init(config: BandwidthEstimatorConfig, now: UInt64) {
    let c = config.normalized
    self.config = c
    history = SendHistory(maxBitrate: c.maxBitrate)
    aimd = AimdRateControl(start: c.startBitrate, min: c.minBitrate, max: c.maxBitrate)
    loss = LossBasedControl(min: c.minBitrate, max: c.maxBitrate)
    report = ReportInProgress(now: now)
  }

  // MARK: inputs

  /// A packet left with transport-wide sequence number `sequence`, `bytes` on the wire.
  public mutating func onPacketSent(sequence: UInt16, bytes: Int, now: UInt64) {
    history.record(sequence: sequence, bytes: min(max(bytes, 0), Self.maxPacketBytes), now: now)
    silence.packetSent(now: now)
  }

  /// A transport feedback report (RTPFB FMT 15) begins; its packets follow.
  public mutating func beginFeedback(now: UInt64) {
    report = ReportInProgress(now: now)
  }

  /// One packet of the report, in the report's order.
  public mutating func feedbackPacket(_ p: FeedbackPacket) {
    guard let arrival = p.arrivalUs else {
      if history.report(sequence: p.sequence, arrived: false) == .lost {
        report.newEntries += 1
        loss.count(lost: true, now: report.now)
      }
      return
    }
    guard arrival.magnitude <= Self.maxArrivalMagnitudeUs.magnitude else { return }
    switch history.report(sequence: p.sequence, arrived: true) {
    case .received(let packet):
      report.newEntries += 1
      loss.count(lost: false, now: report.now)
      acked.add(arrivalUs: arrival, bytes: packet.bytes)
      delaySample(packet, arrivalUs: arrival)
    case .receivedLate(let packet):
      report.newEntries += 1
      loss.recovered()
      acked.add(arrivalUs: arrival, bytes: packet.bytes)
      delaySample(packet, arrivalUs: arrival)
    case .lost, .repeated, .unknown:
      return
    }
  }

  mutating func delaySample(_ packet: SentPacket, arrivalUs: Int64) {
    standing.add(sendNs: packet.sendNs, arrivalUs: arrivalUs, now: report.now)
    guard let d = interArrival.add(sendNs: packet.sendNs, arrivalUs: arrivalUs, feedbackNs: report.now)
    else { return }
    let sample = trendline.update(d)
    detector.detect(sample, sendDeltaMs: d.sendDeltaMs, arrivalMs: d.arrivalMs)
    if detector.state == .overusing { report.sawOveruse = true }
  }

  /// The report is complete: the rate controllers act on it. A report that told nothing new
  /// (a duplicate, or only packets never sent) changes nothing.
  public mutating func endFeedback(now: UInt64) {
    guard report.newEntries > 0 else { return }
    report.newEntries = 0
    if !transportFeedbackSeen {
      // from here the delay-based rate leads, starting where the reports had brought it
      aimd.reset(to: estimate)
      transportFeedbackSeen = true
      loss.limit = nil
    }
    silence.feedbackArrived()
    standing.endReport()
    var usage = report.sawOveruse ? BandwidthUsage.overusing : detector.state
    report.sawOveruse = false
    if usage == .normal, loss.recentLoss >= LossBasedControl.lowLoss, standing.isStanding(now: now) {
      usage = .overusing  // a full drop-tail queue: the trendline is flat, the loss is ours
    }
    lastUsage = usage
    aimd.update(usage: usage, acked: acked.bitrate, rttNs: roundTrip.forControl, now: now)
    if let window = loss.closeWindow(now: now) {
      let answered = aimd.lastDecreaseNs.map { $0 >= window.startNs } ?? false
      loss.apply(
        loss: window.ratio, estimate: estimate, rttNs: roundTrip.forControl, now: now, answered: answered,
        queueing: usage != .normal || standing.isStanding(now: now))
    }
    if let l = loss.limit, l >= aimd.rate { loss.limit = nil }  // no longer caps: lifted
  }

  /// A receiver report's fraction lost (RFC 3550 6.4.1, in 1/256). Used only while no transport
  /// feedback has been seen: then it drives the estimate (8 %/s up below 2 % loss, hold up to
  /// 10 %, down by half the loss above).
  public mutating func onLossReport(fractionLost: UInt8, now: UInt64) {
    guard !transportFeedbackSeen else { return }
    if loss.limit == nil { loss.limit = Double(estimate) }
    let ratio = Double(fractionLost) / Double(UInt16(UInt8.max) + 1)
    loss.apply(loss: ratio, estimate: estimate, rttNs: roundTrip.forControl, now: now)
  }

  /// A round-trip time measured from a receiver report.
  public mutating func onRoundTrip(ns: UInt64, now: UInt64) {
    roundTrip.add(ns)
  }

  /// The receiver's own estimate (REMB): a cap on ours until the next one.
  public mutating func onRemb(bitrate: Int, now: UInt64) {
    rembBps = max(bitrate, 0)
  }

  /// Time passed (`nextTimeout` reached): feedback that stopped decays the estimate.
  public mutating func onTimeout(now: UInt64) {
    guard transportFeedbackSeen, let factor = silence.decay(now: now) else { return }
    aimd.decay(by: factor)
  }

  // MARK: outputs

  /// The estimate (bit/s), within [min, max] of the config.
  public var estimate: Int {
    var e = transportFeedbackSeen ? aimd.rate : (loss.limit ?? aimd.rate)
    if let l = loss.limit { e = min(e, l) }
    if let r = rembBps { e = min(e, Double(r)) }
    return min(max(BweMath.bitrate(e), config.minBitrate), config.maxBitrate)
  }

  /// When to call `onTimeout` next; nil while nothing can change without an input (no
  /// transport feedback yet, nothing sent since the last report, or already at the minimum).
  public var nextTimeout: UInt64? {
    guard transportFeedbackSeen, aimd.rate > aimd.minRate else { return nil }
    return silence.due
  }

  /// What the last report concluded: the delay-based detector's state, or overuse for loss
  /// with a standing queue.
  public var usage: BandwidthUsage { lastUsage }
  /// What the delay-based rate control did last.
  public var rateState: RateControlState { aimd.lastAction }
  /// Loss (0...1) of the last window of transport feedback (1 s, at least 20 packets), or of
  /// the last receiver report for a viewer without transport feedback.
  public var lossRatio: Double { loss.lossRatio }
  /// Smoothed round-trip time (nil before the first sample), and the smallest seen.
  public var rttNs: UInt64? { roundTrip.smoothedNs }
  public var minRttNs: UInt64? { roundTrip.minNs }
  /// The rate the receiver acknowledged over the last 500 ms of its clock (nil before 150 ms
  /// of arrivals, and while feedback has stopped: the last value would be stale).
  public var ackedBitrate: Int? { silence.lastDecayNs == nil ? acked.bitrate : nil }
  /// Queueing delay of the last report's least delayed packet over the 10-s minimum one-way
  /// delay (nil before two reports).
  public var queueDelayNs: UInt64? {
    standing.queueUs(now: report.now).map {
      let us = UInt64(max($0, 0))
      return us > UInt64.max / StandingQueue.nsPerUs ? UInt64.max : us * StandingQueue.nsPerUs
    }
  }
  /// The last REMB received (nil: none).
  public var rembBitrate: Int? { rembBps }
  /// The delay-based rate (AIMD) and the loss-based limit (nil: none), for /status.
  public var delayBasedBitrate: Int { BweMath.bitrate(aimd.rate) }
  public var lossBasedLimit: Int? { loss.limit.map(BweMath.bitrate) }
}
