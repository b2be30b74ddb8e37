// The link capacity estimate: an average of the acknowledged rate measured at each overuse, with
// its spread. It tells the rate controller whether it is near convergence (additive increase)
// or far from it (multiplicative), draft-ietf-rmcat-gcc-02 section 5.5.

/// Exponentially smoothed mean and normalised variance of the throughput at overuse, in kbit/s
/// (the units the deviation's bounds are stated in, as in libwebrtc's LinkCapacityEstimator).
struct LinkCapacity: Sendable {
  /// Weight of a new sample (libwebrtc: 0.05).
  static let smoothing = 0.05
  /// Normalised variance bounds (kbit/s): at least +-sqrt(0.4 x mean), at most sqrt(2.5 x mean).
  static let minDeviation = 0.4
  static let maxDeviation = 2.5
  /// The band is the mean +- 3 standard deviations.
  static let bandDeviations = 3.0
  static let bpsPerKbps = 1000.0

  var meanKbps: Double?
  var deviation = minDeviation

  var hasEstimate: Bool { meanKbps != nil }

  func bound(_ sign: Double) -> Double? {
    guard let mean = meanKbps else { return nil }
    let spread = Self.bandDeviations * (deviation * mean).squareRoot()
    return max(mean + sign * spread, 0) * Self.bpsPerKbps
  }

  /// Upper and lower edge of the band (bit/s).
  var upperBound: Double? { bound(1) }
  var lowerBound: Double? { bound(-1) }

  /// Whether `rate` lies within the band: near convergence.
  func contains(_ rate: Double) -> Bool {
    guard let lo = lowerBound, let hi = upperBound else { return false }
    return rate >= lo && rate <= hi
  }

  /// The throughput (bit/s) measured when overuse was detected.
  mutating func onOveruse(throughputBps: Double) {
    let sample = max(throughputBps, 0) / Self.bpsPerKbps
    guard let mean = meanKbps else {
      meanKbps = sample
      return
    }
    let newMean = (1 - Self.smoothing) * mean + Self.smoothing * sample
    let error = newMean - sample
    let norm = max(newMean, 1)
    let d = (1 - Self.smoothing) * deviation + Self.smoothing * error * error / norm
    deviation = min(max(d, Self.minDeviation), Self.maxDeviation)
    meanKbps = newMean
  }

  mutating func reset() {
    meanKbps = nil
    deviation = Self.minDeviation
  }
}
