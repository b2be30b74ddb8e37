// The delay-based pipeline's parts: inter-arrival grouping (draft-ietf-rmcat-gcc-02 5.2), the
// trendline filter, the overuse detector and its adaptive threshold (5.4).
@testable import BWE
import Testing

@Suite struct InterArrivalTests {
  static let ms: UInt64 = 1_000_000

  /// Packets sent within 5 ms form one group; the delta of two groups comes out when a third
  /// group begins, measured between the groups' last packets.
  @Test func groupsOf5msAndTheirDeltas() {
    var g = InterArrival()
    // group A: sent 0...3 ms, arriving 1000...1003 ms (receiver clock, us)
    for i: UInt64 in 0...3 { #expect(g.add(sendNs: i * Self.ms, arrivalUs: 1_000_000 + Int64(i) * 1000, feedbackNs: 0) == nil) }
    // group B: sent 10, 12 ms, arriving 1011, 1015 ms
    #expect(g.add(sendNs: 10 * Self.ms, arrivalUs: 1_011_000, feedbackNs: 0) == nil)
    #expect(g.add(sendNs: 12 * Self.ms, arrivalUs: 1_015_000, feedbackNs: 0) == nil)
    // group C starts: A -> B is complete
    let d = g.add(sendNs: 20 * Self.ms, arrivalUs: 1_021_000, feedbackNs: 0)
    #expect(d == GroupDelta(sendDeltaMs: 9, arrivalDeltaMs: 12, arrivalMs: 1015))
  }

  /// A packet sent later but arriving within 5 ms of the group and earlier than its send
  /// spacing predicts was queued with the group: it joins it (burst).
  @Test func burstArrivalsJoinTheGroup() {
    var g = InterArrival()
    _ = g.add(sendNs: 0, arrivalUs: 100_000, feedbackNs: 0)
    _ = g.add(sendNs: 8 * Self.ms, arrivalUs: 102_000, feedbackNs: 0)  // 8 ms later, arrives 2 ms later
    #expect(g.current?.lastSendNs == 8 * Self.ms)
    #expect(g.previous == nil)
    _ = g.add(sendNs: 20 * Self.ms, arrivalUs: 120_000, feedbackNs: 0)  // a new group
    #expect(g.previous?.lastSendNs == 8 * Self.ms)
  }

  /// Packets sent before the current group are skipped; three groups in a row that complete
  /// before their predecessors reset the grouping, and so does a receiver clock jump of >= 3 s.
  @Test func reorderingAndClockJumpsReset() {
    var g = InterArrival()
    _ = g.add(sendNs: 0, arrivalUs: 500_000, feedbackNs: 0)
    _ = g.add(sendNs: 10 * Self.ms, arrivalUs: 510_000, feedbackNs: 0)
    #expect(g.add(sendNs: 5 * Self.ms, arrivalUs: 505_000, feedbackNs: 0) == nil)
    #expect(g.current?.firstSendNs == 10 * Self.ms)
    // a group "arriving" 120 ms before the one sent before it; then three packets that would
    // complete it, each refused as reordered (the third resets)
    _ = g.add(sendNs: 20 * Self.ms, arrivalUs: 390_000, feedbackNs: 0)
    for k: UInt64 in 1...3 {
      #expect(g.add(sendNs: (20 + 10 * k) * Self.ms, arrivalUs: 390_000 + Int64(k) * 10_000, feedbackNs: 0) == nil)
      #expect(g.reordered == (k < 3 ? Int(k) : 0))
    }
    #expect(g.current == nil && g.previous == nil)
    _ = g.add(sendNs: 100 * Self.ms, arrivalUs: 600_000, feedbackNs: 0)
    _ = g.add(sendNs: 110 * Self.ms, arrivalUs: 610_000, feedbackNs: 0)
    _ = g.add(sendNs: 120 * Self.ms, arrivalUs: 4_000_000, feedbackNs: 0)  // +3.39 s, same report
    #expect(g.current != nil)
    #expect(g.add(sendNs: 130 * Self.ms, arrivalUs: 4_010_000, feedbackNs: 0) == nil)
    #expect(g.current == nil && g.previous == nil)
  }
}

@Suite struct TrendlineFilterTests {
  static func delta(_ extraMs: Double, at t: Double) -> GroupDelta {
    GroupDelta(sendDeltaMs: 33, arrivalDeltaMs: 33 + extraMs, arrivalMs: t)
  }

  /// No extra delay: no trend. A queue growing 1 ms per 34 ms group: the slope converges to
  /// 1/34 and the modified trend to 60 x slope x 4 once 60 deltas have been seen.
  @Test func slopeOfTheSmoothedDelay() {
    var flat = TrendlineFilter()
    var t = 0.0
    for _ in 0..<50 {
      t += 33
      _ = flat.update(Self.delta(0, at: t))
    }
    #expect(flat.trend == 0)
    var f = TrendlineFilter()
    t = 0
    var last = TrendSample(trend: 0, modifiedTrend: 0, deltas: 0)
    for i in 0..<100 {
      t += 34
      last = f.update(Self.delta(1, at: t))
      if i < 19 { #expect(last.trend == 0) }  // not before the window is full
    }
    #expect(abs(last.trend - 1.0 / 34) < 0.0003)
    #expect(abs(last.modifiedTrend - 240 * last.trend) < 1e-9)
    #expect(last.deltas == 100)
  }
}

@Suite struct OveruseDetectorTests {
  static func sample(_ m: Double, trend: Double = 0.05, deltas: Int = 100) -> TrendSample {
    TrendSample(trend: trend, modifiedTrend: m, deltas: deltas)
  }

  /// Overuse needs the trend above the threshold for more than 10 ms of send time and in more
  /// than one sample (the first counts half its gap).
  @Test func overuseAfter10msAboveTheThreshold() {
    var d = OveruseDetector()
    d.detect(Self.sample(20), sendDeltaMs: 5, arrivalMs: 0)  // 2.5 ms
    #expect(d.state == .normal)
    d.detect(Self.sample(20), sendDeltaMs: 5, arrivalMs: 5)  // 7.5 ms
    #expect(d.state == .normal)
    d.detect(Self.sample(20), sendDeltaMs: 5, arrivalMs: 10)  // 12.5 ms
    #expect(d.state == .overusing)
    d.detect(Self.sample(-20), sendDeltaMs: 5, arrivalMs: 15)
    #expect(d.state == .underusing)
    d.detect(Self.sample(0), sendDeltaMs: 5, arrivalMs: 20)
    #expect(d.state == .normal)
  }

  /// A falling trend does not confirm overuse (the queue is already shrinking).
  @Test func fallingTrendDoesNotConfirmOveruse() {
    var d = OveruseDetector()
    for (i, trend) in [0.09, 0.08, 0.07, 0.06].enumerated() {
      d.detect(Self.sample(20, trend: trend), sendDeltaMs: 10, arrivalMs: Double(i) * 10)
    }
    #expect(d.state == .normal)
  }

  /// The threshold moves towards |m| at k_down = 0.039/ms below it, k_up = 0.0087/ms above,
  /// over at most 100 ms per update, within [6, 600], ignoring spikes 15 ms above it.
  @Test func thresholdAdaptsWithKUpAndKDown() {
    var d = OveruseDetector()
    #expect(d.thresholdMs == 12.5)
    d.detect(Self.sample(10), sendDeltaMs: 5, arrivalMs: 0)  // first update: no time yet
    #expect(d.thresholdMs == 12.5)
    d.detect(Self.sample(10), sendDeltaMs: 5, arrivalMs: 10)
    #expect(abs(d.thresholdMs - (12.5 + 0.039 * (10 - 12.5) * 10)) < 1e-12)
    let before = d.thresholdMs
    d.detect(Self.sample(13), sendDeltaMs: 5, arrivalMs: 20)
    #expect(abs(d.thresholdMs - (before + 0.0087 * (13 - before) * 10)) < 1e-12)
    let steady = d.thresholdMs
    d.detect(Self.sample(steady + 16), sendDeltaMs: 5, arrivalMs: 30)  // a spike: no adaptation
    #expect(d.thresholdMs == steady)
    d.detect(Self.sample(0), sendDeltaMs: 5, arrivalMs: 10_000)  // 100 ms at most; floor 6
    #expect(d.thresholdMs == 6)
  }
}
