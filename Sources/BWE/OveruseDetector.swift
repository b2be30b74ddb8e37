// Overuse detector with an adaptive threshold (draft-ietf-rmcat-gcc-02 sections 5.4 and 5.5's
// input; constants as libwebrtc's goog_cc TrendlineEstimator uses them).

/// Compares the trendline's modified trend with a threshold that follows it: slowly upwards
/// (so long-lived competing flows do not starve us), quickly downwards.
struct OveruseDetector: Sendable {
  /// The threshold at start (ms), and its range.
  static let initialThresholdMs = 12.5
  static let minThresholdMs = 6.0
  static let maxThresholdMs = 600.0
  /// Adaptation gains (per ms) when the trend is above / below the threshold (draft 5.4: k_u,
  /// k_d).
  static let kUp = 0.0087
  static let kDown = 0.039
  /// The trend must stay above the threshold this long (ms of send time) before overuse is
  /// signalled (draft 5.4: overuse_time_th 10 ms).
  static let overuseTimeMs = 10.0
  /// Trends further than this above the threshold are spikes (a sudden capacity drop): the
  /// threshold does not adapt to them (libwebrtc kMaxAdaptOffsetMs).
  static let maxAdaptOffsetMs = 15.0
  /// The threshold adapts over at most this much time per update (ms), so a long gap between
  /// reports does not swing it (libwebrtc kMaxTimeDeltaMs).
  static let maxAdaptStepMs = 100.0

  var thresholdMs = initialThresholdMs
  /// Send time (ms) the trend has been above the threshold; nil when it is not.
  var overuseMs: Double?
  var overuseCount = 0
  var previousTrend = 0.0
  var lastUpdateMs: Double?
  private(set) var state = BandwidthUsage.normal

  /// Updates the hypothesis from a new trend sample. `sendDeltaMs`: the send spacing of the
  /// groups that produced it; `arrivalMs`: when the later group arrived (receiver's clock).
  mutating func detect(_ s: TrendSample, sendDeltaMs: Double, arrivalMs: Double) {
    guard s.deltas >= 2 else {
      state = .normal
      return
    }
    let m = s.modifiedTrend
    if m > thresholdMs {
      let step = max(sendDeltaMs, 0)
      let overuse = overuseMs.map { $0 + step } ?? step / 2  // assume half the gap was over
      overuseMs = overuse
      overuseCount += 1
      if overuse > Self.overuseTimeMs, overuseCount > 1, s.trend >= previousTrend {
        overuseMs = 0
        overuseCount = 0
        state = .overusing
      }
    } else if m < -thresholdMs {
      overuseMs = nil
      overuseCount = 0
      state = .underusing
    } else {
      overuseMs = nil
      overuseCount = 0
      state = .normal
    }
    previousTrend = s.trend
    adaptThreshold(m, nowMs: arrivalMs)
  }

  mutating func adaptThreshold(_ m: Double, nowMs: Double) {
    let last = lastUpdateMs ?? nowMs
    lastUpdateMs = nowMs
    guard m.isFinite, m.magnitude <= thresholdMs + Self.maxAdaptOffsetMs else { return }
    let k = m.magnitude < thresholdMs ? Self.kDown : Self.kUp
    let dt = min(max(nowMs - last, 0), Self.maxAdaptStepMs)
    let t = thresholdMs + k * (m.magnitude - thresholdMs) * dt
    thresholdMs = min(max(t, Self.minThresholdMs), Self.maxThresholdMs)
  }
}
