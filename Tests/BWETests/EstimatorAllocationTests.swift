// Issue 19: the estimator is on the per-packet path; after init it allocates nothing.
import AllocCounter
import BWE
import Testing

@Suite struct EstimatorAllocationTests {
  /// 30 s of sending at ~1 Mbit/s with a report every 100 ms (some packets lost), REMB, RTT,
  /// receiver reports and timeouts, including a 2 s feedback gap: zero allocations.
  @Test func sendingAndFeedbackAllocateNothing() {
    var e = BandwidthEstimator(config: .init(), now: 0)
    // every report's packets are built before counting starts
    let perReport = 10
    let reports = 300
    var feedback: [FeedbackPacket] = []
    feedback.reserveCapacity(perReport * reports)
    for i in 0..<(perReport * reports) {
      let seq = UInt16(truncatingIfNeeded: 65_000 + i)
      let lost = i % 37 == 0
      feedback.append(FeedbackPacket(sequence: seq, arrivalUs: lost ? nil : 9_000_000 + Int64(i) * 10_000))
    }
    let ms: UInt64 = 1_000_000
    var now: UInt64 = 1_000 * ms
    alloc_counter_begin()
    for r in 0..<reports {
      for k in 0..<perReport {
        e.onPacketSent(sequence: UInt16(truncatingIfNeeded: 65_000 + r * perReport + k), bytes: 1200, now: now)
        now += 10 * ms
      }
      if r % 100 < 80 {  // a 2 s gap in every 10 s
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
    }
    let allocations = alloc_counter_end()
    #expect(allocations == 0)
    #expect(e.estimate > 150_000)  // it did run: the feedback moved the estimate off the start
    #expect(e.estimate != 800_000)
  }
}
