// AIMD rate control (draft-ietf-rmcat-gcc-02 section 5.5; constants as libwebrtc's
// AimdRateControl): increase while the path is normal, hold while its queue drains, decrease to
// a little below the acknowledged rate on overuse.

/// The delay-based rate (bit/s) and the state machine that moves it.
struct AimdRateControl: Sendable {
  /// On overuse the rate becomes beta x the acknowledged rate (draft 5.5: beta 0.85).
  static let beta = 0.85
  /// Far from convergence the rate grows multiplicatively, 8 %/s (draft 5.5: eta 1.08), as a
  /// continuous rate: ln(1.08) per second.
  static let growthPerSecond = 0.076_961_041_136_128_3
  /// rtcam's stand-in for libwebrtc's probe bursts, which it does not send: while a
  /// multiplicative ramp goes on uninterrupted (no hold, no overuse) its growth exponent rises by
  /// ln(1.08) per second of the ramp, up to ln(1.4) per second (40 %/s). A risen capacity is found
  /// in seconds instead of the ~18 s 8 %/s needs to quadruple; the trendline still sees an
  /// overshoot within ~0.5 s, when 40 %/s has added under 20 %.
  static let maxGrowthPerSecond = 0.336_472_236_621_212_9
  /// The rate never exceeds 1.5 x the acknowledged rate + 10 kbit/s (libwebrtc: a little more
  /// lag allowed at low rates): estimates are not raised past what the path has delivered.
  static let throughputHeadroom = 1.5
  static let throughputSlackBps = 10_000.0
  /// Additive increase: about one packet per response time, where the response time is the
  /// round trip plus ~100 ms for the detector, with packets of a 30 fps frame cut at 1200 bytes
  /// (rtcam's MTU); at least 4 kbit/s per second (libwebrtc GetNearMaxIncreaseRateBpsPerSecond).
  static let frameRate = 30.0
  static let packetBits = 1200.0 * 8
  static let detectorDelaySeconds = 0.1
  static let minAdditivePerSecond = 4000.0
  /// The time that counts towards one increase is capped at 1 s (libwebrtc).
  static let maxIncreaseStepSeconds = 1.0
  /// Decreases come at most once per round trip (clamped to 10...200 ms) unless the throughput
  /// fell below half the rate (libwebrtc TimeToReduceFurther).
  static let minReduceIntervalNs: UInt64 = 10_000_000
  static let maxReduceIntervalNs: UInt64 = 200_000_000
  static let steepDropFraction = 0.5
  /// Overuse before any acknowledged rate: halve, at most every 200 ms (libwebrtc).
  static let blindDecreaseIntervalNs: UInt64 = 200_000_000
  static let blindDecreaseFactor = 0.5

  let minRate: Double
  let maxRate: Double
  var rate: Double
  var state = RateControlState.hold
  /// What the last update did (what /status shows: the machine itself returns to hold after a
  /// decrease).
  var lastAction = RateControlState.hold
  var lastChangeNs: UInt64?
  var lastDecreaseNs: UInt64?
  var latestThroughput: Double?
  /// When the current multiplicative ramp began (nil: none under way).
  var rampStartNs: UInt64?
  var capacity = LinkCapacity()

  init(start: Int, min: Int, max: Int) {
    minRate = Double(min)
    maxRate = Double(max)
    rate = Double(start)
  }

  func clamped(_ r: Double) -> Double { Swift.min(Swift.max(r, minRate), maxRate) }

  /// One update from a transport feedback report.
  mutating func update(usage: BandwidthUsage, acked: Int?, rttNs: UInt64, now: UInt64) {
    if let a = acked { latestThroughput = Double(a) }
    switch usage {
    case .overusing:
      guard let a = acked else {
        blindDecrease(now: now)
        return
      }
      let throughput = Double(a)
      guard timeToReduceFurther(now: now, throughput: throughput, rttNs: rttNs) else { return }
      state = .decrease
      decrease(throughput: throughput, now: now)
    case .underusing:
      state = .hold
      hold()
    case .normal:
      if state != .increase {
        state = .increase
        lastChangeNs = now
      }
      increase(throughput: latestThroughput ?? rate, rttNs: rttNs, now: now)
    }
  }

  mutating func hold() {
    lastAction = .hold
    rampStartNs = nil
  }

  func timeToReduceFurther(now: UInt64, throughput: Double, rttNs: UInt64) -> Bool {
    let interval = Swift.min(Swift.max(rttNs, Self.minReduceIntervalNs), Self.maxReduceIntervalNs)
    if let last = lastChangeNs, BweMath.elapsed(from: last, to: now) < interval {
      return throughput < Self.steepDropFraction * rate
    }
    return true
  }

  mutating func blindDecrease(now: UInt64) {
    if let last = lastDecreaseNs, BweMath.elapsed(from: last, to: now) < Self.blindDecreaseIntervalNs {
      return
    }
    applyDecrease(to: rate * Self.blindDecreaseFactor, now: now)
  }

  mutating func decrease(throughput: Double, now: UInt64) {
    var target = Self.beta * throughput
    if target > rate, let mean = capacity.meanKbps {
      target = Self.beta * mean * LinkCapacity.bpsPerKbps
    }
    if let lo = capacity.lowerBound, throughput < lo { capacity.reset() }
    capacity.onOveruse(throughputBps: throughput)
    applyDecrease(to: target, now: now)
  }

  /// Lowers the rate to `target` if that is lower; back to hold until the queue has drained.
  mutating func applyDecrease(to target: Double, now: UInt64) {
    if target < rate { rate = clamped(target) }
    state = .hold
    lastAction = .decrease
    lastChangeNs = now
    lastDecreaseNs = now
    rampStartNs = nil
  }

  mutating func increase(throughput: Double, rttNs: UInt64, now: UInt64) {
    if let hi = capacity.upperBound, throughput > hi { capacity.reset() }
    let limit = Self.throughputHeadroom * throughput + Self.throughputSlackBps
    let seconds = Swift.min(
      lastChangeNs.map { BweMath.seconds(from: $0, to: now) } ?? 0, Self.maxIncreaseStepSeconds)
    if rate < limit {
      var next: Double
      if capacity.contains(rate) {
        rampStartNs = nil
        next = rate + additivePerSecond(rttNs: rttNs) * seconds
      } else {
        let start = rampStartNs ?? now
        rampStartNs = start
        let age = BweMath.seconds(from: start, to: now)
        let growth = Swift.min(Self.growthPerSecond * (1 + age), Self.maxGrowthPerSecond)
        next = rate * BweMath.exp(growth * seconds)
      }
      rate = clamped(Swift.min(next, limit))
    } else {
      rampStartNs = nil  // held by what the path delivered (the sender is limited): no ramp
    }
    lastAction = .increase
    lastChangeNs = now
  }

  /// Additive increase near convergence: about one average packet per response time.
  func additivePerSecond(rttNs: UInt64) -> Double {
    let frameBits = rate / Self.frameRate
    let packetsPerFrame = Swift.max((frameBits / Self.packetBits).rounded(.up), 1)
    let responseSeconds = Double(rttNs) / Double(BweMath.nsPerSecond) + Self.detectorDelaySeconds
    return Swift.max(frameBits / packetsPerFrame / responseSeconds, Self.minAdditivePerSecond)
  }

  /// Feedback stopped: scales the rate down by `factor` (the caller's decay), never below the
  /// minimum.
  mutating func decay(by factor: Double) {
    rate = clamped(rate * factor)
    lastAction = .decrease
    rampStartNs = nil
  }

  /// Restarts from `rate` (transport feedback began after the estimate was set otherwise).
  mutating func reset(to newRate: Int) {
    rate = clamped(Double(newRate))
    rampStartNs = nil
  }
}
