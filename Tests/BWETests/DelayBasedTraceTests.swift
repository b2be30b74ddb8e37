// Whole-estimator traces on the simulated link (LinkSimulator): capacity steps and a slowly
// building queue, checked against draft-ietf-rmcat-gcc-02's promises and issue 19's numbers.
import BWE
import Testing

@Suite struct DelayBasedTraceTests {
  /// Issue 19: step down 2 Mbit/s -> 250 kbit/s; the estimate must fall below the new capacity
  /// within 2 s and the queue it built must drain.
  @Test func stepDownTo250kGoesBelowTheCapWithin2sAndDrainsTheQueue() {
    var sim = LinkSimulator(.init(capacity: { $0 < 20 ? 2_000_000 : 250_000 }))
    sim.run(until: 30)
    #expect(!sim.timeoutStuck)
    // converged on the 2 Mbit/s link first: GCC sits at 0.85...1 x capacity
    #expect(sim.meanEstimate(from: 15, to: 20) >= 1_500_000)
    #expect(sim.meanEstimate(from: 15, to: 20) <= 2_100_000)
    #expect(sim.estimate(at: 22) < 250_000)
    #expect(sim.maxQueueMs(from: 25, to: 30) <= 100)
    // and it does not collapse to the minimum on a link that carries 250 kbit/s
    #expect(sim.meanEstimate(from: 25, to: 30) >= 170_000)
  }

  /// Issue 19: step up 250 kbit/s -> 2 Mbit/s; the estimate must reach 1 Mbit/s within 10 s.
  @Test func stepUpFrom250kReaches1MbitWithin10s() {
    var sim = LinkSimulator(.init(capacity: { $0 < 20 ? 250_000 : 2_000_000 }))
    sim.run(until: 31)
    #expect(!sim.timeoutStuck)
    #expect(sim.meanEstimate(from: 15, to: 20) <= 260_000)
    #expect(sim.meanEstimate(from: 15, to: 20) >= 170_000)
    let reached = sim.firstTime(after: 20) { $0.estimate >= 1_000_000 }
    #expect(reached != nil)
    #expect((reached ?? 99) <= 30)
    // the ramp does not overshoot into a standing queue on the faster link
    #expect(sim.maxQueueMs(from: 28, to: 31) <= 150)
  }

  /// A link just below the send rate (7 % below): the queue grows ~70 ms per second. The
  /// trendline must see it and the rate drop below the capacity before the 300 ms drop-tail
  /// queue overflows (delay before loss, draft section 5).
  @Test func slowlyBuildingQueueIsDetectedByDelayBeforeAnyLoss() {
    let rate = 1_000_000
    var sim = LinkSimulator(
      .init(
        config: .init(startBitrate: rate, minBitrate: 150_000, maxBitrate: rate),
        capacity: { _ in 930_000 }))
    sim.run(until: 20)
    let detected = sim.firstTime(after: 0) { $0.estimate < 930_000 }
    #expect(detected != nil)
    #expect((detected ?? 99) <= 4)
    #expect(sim.samples.contains { $0.usage == .overusing })
    #expect(sim.firstDrop == nil)
    #expect(sim.maxQueueMs(from: 0, to: 20) <= 250)
  }

  /// Wi-Fi-like jitter (0-20 ms per packet, order kept) on an uncapped link is no queue: no
  /// overuse, the estimate reaches the maximum as fast as without jitter.
  @Test func jitterWithoutCongestionIsNoOveruse() {
    var sim = LinkSimulator(.init(capacity: { _ in 20_000_000 }, jitterMs: 20))
    sim.run(until: 30)
    #expect(sim.firstTime(after: 0) { $0.estimate == 2_500_000 } ?? 99 <= 7)
    #expect(sim.samples.filter { $0.t >= 7 }.allSatisfy { $0.estimate == 2_500_000 })
    #expect(!sim.samples.contains { $0.usage == .overusing })
  }

  /// The same jitter on a 1 Mbit/s link: the estimate still tracks the capacity and keeps the
  /// queue short.
  @Test func jitterOnACappedLinkStillTracksTheCapacity() {
    var sim = LinkSimulator(.init(capacity: { _ in 1_000_000 }, jitterMs: 20))
    sim.run(until: 30)
    #expect(sim.meanEstimate(from: 5, to: 30) >= 850_000)
    #expect(sim.meanEstimate(from: 5, to: 30) <= 1_000_000)
    #expect(sim.maxQueueMs(from: 5, to: 30) <= 100)
    #expect(sim.firstDrop == nil)
  }
}
