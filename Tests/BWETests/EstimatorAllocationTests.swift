// Issue 19: the estimator is on the per-packet path; after init it allocates nothing.
import AllocCounter
import BWE
import Testing

@Suite struct EstimatorAllocationTests {
  static let ms: UInt64 = 1_000_000
  static let perReport = 10
  static let reports = 300

  /// Each report's packets, built before anything is counted: every 37th lost.
  static func feedback() -> [FeedbackPacket] {
    (0..<(perReport * reports)).map { i in
      FeedbackPacket(
        sequence: UInt16(truncatingIfNeeded: 65_000 + i),
        arrivalUs: i % 37 == 0 ? nil : 9_000_000 + Int64(i) * 10_000)
    }
  }

  /// 30 s of sending at ~1 Mbit/s with a report every 100 ms, REMB, RTT, receiver reports and
  /// timeouts, including a 2 s feedback gap in every 10 s.
  static func drive(_ e: inout BandwidthEstimator, _ feedback: [FeedbackPacket]) {
    var now: UInt64 = 1_000 * ms
    for r in 0..<reports {
      for k in 0..<perReport {
        e.onPacketSent(sequence: UInt16(truncatingIfNeeded: 65_000 + r * perReport + k), bytes: 1200, now: now)
        now += 10 * ms
      }
      if r % 100 < 80 {
        e.beginFeedback(now: now)
        for k in 0..<perReport { e.feedbackPacket(feedback[r * perReport + k]) }
        e.endFeedback(now: now)
      }
      if let t = e.nextTimeout, t <= now { e.onTimeout(now: now) }
      if r % 10 == 0 {
        e.onRoundTrip(ns: 50 * ms, now: now)
        e.onRemb(bitrate: 3_000_000, now: now)
        e.onLossReport(fractionLost: 3, now: now)
      }
      _ = e.estimate
      _ = e.ackedBitrate
      _ = e.queueDelayNs
    }
  }

  /// Zero allocations over the whole run. A first run on another estimator goes uncounted: the
  /// host's Swift runtime makes some generic type metadata (e.g. an Optional of one of the
  /// estimator's structs) on first use, once per process; Embedded Swift has no such metadata.
  @Test func sendingAndFeedbackAllocateNothing() {
    let feedback = Self.feedback()
    var warm = BandwidthEstimator(config: .init(), now: 0)
    Self.drive(&warm, feedback)
    var e = BandwidthEstimator(config: .init(), now: 0)
    alloc_counter_begin()
    Self.drive(&e, feedback)
    let allocations = alloc_counter_end()
    #expect(allocations == 0)
    // it did run: the feedback moved the estimate off the start, the same way both times
    #expect(e.estimate != 800_000 && e.estimate > 150_000)
    #expect(e.estimate == warm.estimate)
  }
}
