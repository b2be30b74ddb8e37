// Loss-based control on the simulated link (draft-ietf-rmcat-gcc-02 section 6): random loss of
// a noisy link must not pull the estimate down; heavy loss must.
import BWE
import Testing

@Suite struct LossTraceTests {
  static func uncapped(loss: Double, start: Int = 800_000) -> LinkSimulator {
    var sim = LinkSimulator(
      .init(
        config: .init(startBitrate: start, minBitrate: 150_000, maxBitrate: 2_500_000),
        capacity: { _ in 20_000_000 }, randomLoss: loss))
    sim.run(until: 30)
    return sim
  }

  /// Issue 19: 5 % random loss without a cap keeps >= 80 % of the loss-free run's rate.
  @Test func fivePercentRandomLossKeepsAtLeast80PercentOfTheLossFreeEstimate() {
    let clean = Self.uncapped(loss: 0)
    let noisy = Self.uncapped(loss: 0.05)
    #expect(clean.meanEstimate(from: 10, to: 30) >= 2_000_000)
    #expect(noisy.meanEstimate(from: 10, to: 30) >= 0.8 * clean.meanEstimate(from: 10, to: 30))
    // the loss was seen, and measured about right
    let ratios = noisy.samples.filter { $0.t >= 5 }.map(\.lossRatio)
    #expect((ratios.max() ?? 0) >= 0.03)
    #expect((ratios.max() ?? 1) <= 0.1)
  }

  /// A burst of loss over 10 % (a noisy window, or Wi-Fi interference for a second) backs the
  /// estimate off; after it, 5 % random loss with no queue must not hold it down: the limit is
  /// lifted. (GCC holds the limit between 2 and 10 % loss; on a link that loses 5 % at random it
  /// would hold for good, which `tools/bench adapt` saw as a 2 Mbit/s link held to 850 kbit/s.)
  @Test func aLossBurstOverARandomlyLossyLinkIsNotHeldAgainstIt() {
    var sim = LinkSimulator(
      .init(
        config: .init(startBitrate: 2_000_000, minBitrate: 150_000, maxBitrate: 2_500_000),
        capacity: { _ in 20_000_000 }, randomLoss: 0.05, extraLoss: { t in t >= 8 && t < 10 ? 0.25 : 0 }))
    sim.run(until: 30)
    let before = Double(sim.estimate(at: 7.5))
    #expect(Double(sim.estimate(at: 11)) <= 0.9 * before, "the burst backed it off")
    #expect(sim.meanEstimate(from: 20, to: 30) >= 0.95 * before, "and 5 % random loss let it back up")
  }

  /// 15 % loss (above the 10 % threshold): the estimate backs off by ~loss/2 per window (a
  /// window that measures under 10 % now and then lets it grow a little: no queue).
  @Test func fifteenPercentLossBacksOff() {
    let sim = Self.uncapped(loss: 0.15, start: 2_000_000)
    #expect(sim.estimate(at: 12) <= 1_400_000)
    #expect(sim.estimate(at: 30) <= 500_000)
    #expect(sim.estimate(at: 30) >= 150_000)
    let ratios = sim.samples.filter { $0.t >= 5 }.map(\.lossRatio)
    let mean = ratios.reduce(0, +) / Double(max(ratios.count, 1))
    #expect(mean >= 0.12 && mean <= 0.18)
  }
}
