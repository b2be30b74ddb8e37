// Round-trip time, as the receiver reports let the sender measure it (RFC 3550 section 6.4.1):
// the rate controller's response time and the loss controller's decrease interval use it.

/// Smoothed and minimum round-trip time.
struct RoundTrip: Sendable {
  /// Until a sample comes, assume 200 ms (libwebrtc kDefaultRtt).
  static let defaultNs: UInt64 = 200_000_000
  /// Samples above 10 s are not round trips of a live video path (RFC 3550's LSR/DLSR arithmetic
  /// yields such values when a report is stale or forged): ignored.
  static let maxNs: UInt64 = 10_000_000_000
  /// Weight of a new sample in the smoothed value: 1/8 (RFC 6298's alpha).
  static let smoothingShift: UInt64 = 3

  var smoothedNs: UInt64?
  var minNs: UInt64?

  mutating func add(_ ns: UInt64) {
    guard ns <= Self.maxNs else { return }
    minNs = min(minNs ?? ns, ns)
    guard let s = smoothedNs else {
      smoothedNs = ns
      return
    }
    // s + (ns - s) / 8, in unsigned arithmetic (both below maxNs: no overflow)
    smoothedNs = ns >= s ? s + ((ns - s) >> Self.smoothingShift) : s - ((s - ns) >> Self.smoothingShift)
  }

  /// What the controllers use: the smoothed value, or the default before any sample.
  var forControl: UInt64 { smoothedNs ?? Self.defaultNs }
}
