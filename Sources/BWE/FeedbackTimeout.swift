// Feedback that stops: the receiver (or the path back) went silent while we keep sending.
//
// rtcam's choice, not the draft's (which says nothing about it): after 500 ms of sending without
// a transport feedback report the estimate is halved per second (applied in 100 ms steps) down to
// the minimum. Browsers send transport feedback every 50-250 ms (libwebrtc's feedback interval),
// so 500 ms is at least two missed reports even at the slowest; halving per second takes
// 2.5 Mbit/s to the 150 kbit/s minimum in about 4 s. libwebrtc is slower (20 % less once a second,
// only after 4.5 s without feedback), but a camera on Wi-Fi whose feedback stopped has usually
// lost the link or is burying it, and sending less into it costs little: when reports return,
// the rate climbs back by the multiplicative ramp (far below the link capacity band).

/// Tracks the first packet sent since the last report and when the decay was last applied.
struct FeedbackTimeout: Sendable {
  static let silenceNs: UInt64 = 500_000_000
  static let halvingNs: UInt64 = 1_000_000_000
  static let stepNs: UInt64 = 100_000_000
  /// ln 2: a factor of 2^(-t) is e^(-ln2 x t).
  static let ln2 = 0.693_147_180_559_945_3

  /// The first packet sent since the last report (nil: none, nothing is waiting for feedback).
  var firstUnreportedNs: UInt64?
  /// When the decay was last applied (nil: not decaying).
  var lastDecayNs: UInt64?

  mutating func packetSent(now: UInt64) {
    if firstUnreportedNs == nil { firstUnreportedNs = now }
  }

  mutating func feedbackArrived() {
    firstUnreportedNs = nil
    lastDecayNs = nil
  }

  /// When the decay is (next) due; nil when nothing is waiting for feedback.
  var due: UInt64? {
    if let last = lastDecayNs { return BweMath.later(last, by: Self.stepNs) }
    return firstUnreportedNs.map { BweMath.later($0, by: Self.silenceNs) }
  }

  /// The factor to scale the rate by at `now`, or nil when no decay is due.
  mutating func decay(now: UInt64) -> Double? {
    guard let due, now >= due, let first = firstUnreportedNs else { return nil }
    let from = lastDecayNs ?? BweMath.later(first, by: Self.silenceNs)
    lastDecayNs = now
    let halvings = Double(BweMath.elapsed(from: from, to: now)) / Double(Self.halvingNs)
    return BweMath.exp(-Self.ln2 * halvings)
  }
}
