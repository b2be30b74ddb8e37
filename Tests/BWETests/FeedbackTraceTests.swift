// The estimator against feedback that stops, REMB, wrapping sequence numbers and reports that
// come twice or out of order, on the simulated link.
import BWE
import Testing

@Suite struct FeedbackTraceTests {
  static func link2M(_ t: Double) -> Double { 2_000_000 }

  /// No transport feedback for 7 s while sending: after 0.5 s of silence the estimate halves per
  /// second down to the minimum; when feedback returns it climbs back.
  @Test func feedbackThatStopsDecaysToTheMinimumAndRecovers() {
    var sim = LinkSimulator(.init(capacity: Self.link2M, feedbackOn: { $0 < 15 || $0 >= 22 }))
    sim.run(until: 33)
    #expect(!sim.timeoutStuck)
    let before = sim.estimate(at: 14.9)
    #expect(before >= 1_500_000)
    // the last report arrives at ~14.92 s: nothing changes for the next 0.5 s
    #expect(sim.estimate(at: 15.4) >= before * 9 / 10)
    // one second into the decay: about half
    let decayed = Double(sim.estimate(at: 16.45))
    #expect(decayed <= 0.6 * Double(before))
    #expect(decayed >= 0.4 * Double(before))
    #expect(sim.estimate(at: 21.9) == 150_000)
    // back within 10 s of the feedback's return
    let back = sim.firstTime(after: 22) { $0.estimate >= 1_000_000 }
    #expect((back ?? 99) <= 32)
  }

  /// The timer: due 500 ms after the first packet sent since the last report, then every
  /// 100 ms; each firing scales by 2^-(time since the last) ; none at the minimum or when nothing
  /// waits for a report.
  @Test func feedbackTimeoutSchedule() {
    let ms: UInt64 = 1_000_000
    var e = BandwidthEstimator(config: .init(startBitrate: 1_000_000), now: 0)
    for i in 0..<10 { e.onPacketSent(sequence: UInt16(i), bytes: 1000, now: (1000 + 10 * UInt64(i)) * ms) }
    #expect(e.nextTimeout == nil)  // no transport feedback yet: nothing to miss
    e.beginFeedback(now: 1100 * ms)
    for i in 0..<10 { e.feedbackPacket(FeedbackPacket(sequence: UInt16(i), arrivalUs: 50_000 + Int64(i) * 10_000)) }
    e.endFeedback(now: 1100 * ms)
    #expect(e.estimate == 1_000_000)
    #expect(e.nextTimeout == nil)  // nothing sent since the report
    e.onPacketSent(sequence: 10, bytes: 1000, now: 1200 * ms)
    e.onPacketSent(sequence: 11, bytes: 1000, now: 1300 * ms)
    #expect(e.nextTimeout == 1700 * ms)
    e.onTimeout(now: 1600 * ms)  // early: nothing
    #expect(e.estimate == 1_000_000 && e.nextTimeout == 1700 * ms)
    e.onTimeout(now: 1700 * ms)
    #expect(e.estimate == 1_000_000 && e.nextTimeout == 1800 * ms)
    e.onTimeout(now: 2700 * ms)  // one second later: half
    #expect(e.estimate == 500_000 && e.rateState == .decrease)
    #expect(e.ackedBitrate == nil)
    e.onTimeout(now: 4700 * ms)  // two more: a quarter of that, below the minimum
    #expect(e.estimate == 150_000)
    #expect(e.nextTimeout == nil)
  }

  /// Without feedback at all (a viewer that negotiated nothing) nothing decays and nothing is
  /// scheduled: the estimate stays at the start rate.
  @Test func noFeedbackEverKeepsTheStartRateAndNoTimer() {
    var sim = LinkSimulator(.init(capacity: Self.link2M, feedbackOn: { _ in false }))
    sim.run(until: 10)
    #expect(sim.samples.allSatisfy { $0.estimate == 800_000 })
    #expect(sim.est.nextTimeout == nil)
  }

  /// REMB caps the estimate while it is in force; a higher REMB lets it grow again.
  @Test func rembCapsTheEstimate() {
    var sim = LinkSimulator(
      .init(capacity: { _ in 10_000_000 }, rembs: [(5, 400_000), (15, 2_000_000)]))
    sim.run(until: 25)
    let capped = sim.samples.filter { $0.t >= 5.01 && $0.t < 15 }
    #expect(!capped.isEmpty)
    #expect(capped.allSatisfy { $0.estimate <= 400_000 })
    #expect(sim.estimate(at: 25) > 1_000_000)
    #expect(sim.estimate(at: 25) <= 2_000_000)
    #expect(sim.est.rembBitrate == 2_000_000)
  }

  /// Transport-wide sequence numbers wrap every 65536 packets: where the numbering starts must
  /// not matter at all, so traces starting at 0, 30000 and 65000 are identical.
  @Test func sequenceWrapAroundChangesNothing() {
    var traces: [[Int]] = []
    for first: UInt16 in [0, 30_000, 65_000] {
      var sim = LinkSimulator(
        .init(capacity: { $0 < 10 ? 2_000_000 : 500_000 }, firstSequence: first))
      sim.run(until: 20)
      #expect(sim.sent > 1_000)  // the run starting at 65000 wraps after 536 packets
      traces.append(sim.samples.map(\.estimate))
    }
    #expect(traces[0] == traces[1])
    #expect(traces[0] == traces[2])
    #expect(Set(traces[0]).count > 10)  // the estimate did move
  }

  /// A step down into a deep queue (2 s: nothing is dropped, so any loss seen is an error).
  static func stepIntoDeepQueue(_ t: Double) -> Double { t < 10 ? 2_000_000 : 500_000 }

  /// Every report delivered twice: the duplicates tell nothing new and change nothing.
  @Test func duplicateReportsAreIgnored() {
    var plain = LinkSimulator(.init(capacity: Self.stepIntoDeepQueue, queueLimitMs: 2000))
    var doubled = LinkSimulator(
      .init(capacity: Self.stepIntoDeepQueue, queueLimitMs: 2000, duplicateReports: true))
    plain.run(until: 20)
    doubled.run(until: 20)
    #expect(plain.firstDrop == nil)
    #expect(plain.samples.map(\.estimate) == doubled.samples.map(\.estimate))
    #expect(doubled.samples.allSatisfy { $0.lossRatio == 0 })
  }

  /// Consecutive reports swapped: the older one's packets are out of send order for the delay
  /// filter (skipped there) but still count as received; no loss, no collapse.
  @Test func reorderedReportsAreHandledSafely() {
    var plain = LinkSimulator(.init(capacity: Self.stepIntoDeepQueue, queueLimitMs: 2000))
    var swapped = LinkSimulator(
      .init(capacity: Self.stepIntoDeepQueue, queueLimitMs: 2000, swapReports: true))
    plain.run(until: 20)
    swapped.run(until: 20)
    #expect(swapped.firstDrop == nil)
    #expect(swapped.samples.allSatisfy { $0.lossRatio == 0 })
    #expect(swapped.meanEstimate(from: 5, to: 10) >= 0.8 * plain.meanEstimate(from: 5, to: 10))
    #expect(swapped.meanEstimate(from: 15, to: 20) <= 500_000)
    #expect(swapped.meanEstimate(from: 15, to: 20) >= 0.8 * plain.meanEstimate(from: 15, to: 20))
  }
}
