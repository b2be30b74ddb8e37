// Trendline filter: the slope of the one-way delay variation over the last groups, the delay
// gradient GCC's overuse detector compares with its threshold (libwebrtc's TrendlineEstimator,
// which replaced the draft's Kalman filter of section 5.3 in goog_cc).

/// One output of the filter: the fitted slope and the value the detector compares.
struct TrendSample: Sendable, Equatable {
  /// ms of extra queueing delay per ms of arrival time (0: steady queue; 0.1: the queue grows
  /// by 10 % of the elapsed time, i.e. the sender is ~10 % over the capacity).
  var trend: Double
  /// trend x min(deltas, 60) x the threshold gain: what the adaptive threshold (ms) is
  /// compared with.
  var modifiedTrend: Double
  /// Group deltas seen so far (capped).
  var deltas: Int
}

/// A least-squares line through the last `windowSize` points of (arrival time, smoothed
/// accumulated delay variation). Fixed storage made in `init`; updates never allocate.
struct TrendlineFilter: Sendable {
  /// Points in the regression (libwebrtc kDefaultTrendlineWindowSize).
  static let windowSize = 20
  /// Exponential smoothing of the accumulated delay (libwebrtc kDefaultTrendlineSmoothingCoeff).
  static let smoothing = 0.9
  /// Scales the slope to the detector's threshold units (kDefaultTrendlineThresholdGain).
  static let thresholdGain = 4.0
  /// The slope is weighted by the number of deltas seen, up to this many (kMinNumDeltas).
  static let deltasForFullGain = 60
  /// The count of deltas stops here (kDeltaCounterMax): only min(count, 60) is used.
  static let deltasCap = 1000

  var xs: [Double]
  var ys: [Double]
  var count = 0
  var next = 0
  var deltas = 0
  var firstArrivalMs: Double?
  var accumulatedMs = 0.0
  var smoothedMs = 0.0
  var trend = 0.0

  init() {
    xs = [Double](repeating: 0, count: Self.windowSize)
    ys = [Double](repeating: 0, count: Self.windowSize)
  }

  /// Adds the delta between two groups and returns the updated slope.
  mutating func update(_ d: GroupDelta) -> TrendSample {
    deltas = min(deltas + 1, Self.deltasCap)
    let first = firstArrivalMs ?? d.arrivalMs
    firstArrivalMs = first
    accumulatedMs += d.arrivalDeltaMs - d.sendDeltaMs
    smoothedMs = Self.smoothing * smoothedMs + (1 - Self.smoothing) * accumulatedMs
    xs[next] = d.arrivalMs - first
    ys[next] = smoothedMs
    next = (next + 1) % Self.windowSize
    count = min(count + 1, Self.windowSize)
    if count == Self.windowSize, let slope = fittedSlope() { trend = slope }
    let weight = Double(min(deltas, Self.deltasForFullGain))
    return TrendSample(trend: trend, modifiedTrend: weight * trend * Self.thresholdGain, deltas: deltas)
  }

  /// The least-squares slope through the window; nil when all points share one arrival time.
  func fittedSlope() -> Double? {
    var sumX = 0.0
    var sumY = 0.0
    for i in 0..<count {
      sumX += xs[i]
      sumY += ys[i]
    }
    let meanX = sumX / Double(count)
    let meanY = sumY / Double(count)
    var numerator = 0.0
    var denominator = 0.0
    for i in 0..<count {
      let dx = xs[i] - meanX
      numerator += dx * (ys[i] - meanY)
      denominator += dx * dx
    }
    guard denominator > 0, numerator.isFinite else { return nil }
    return numerator / denominator
  }
}
