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

  /// 15 % loss (above the 10 % threshold): the estimate backs off by ~loss/2 per window.
  @Test func fifteenPercentLossBacksOff() {
    let sim = Self.uncapped(loss: 0.15, start: 2_000_000)
    #expect(sim.estimate(at: 12) <= 1_300_000)
    #expect(sim.estimate(at: 30) <= 500_000)
    #expect(sim.estimate(at: 30) >= 150_000)
    let ratios = sim.samples.filter { $0.t >= 5 }.map(\.lossRatio)
    let mean = ratios.reduce(0, +) / Double(max(ratios.count, 1))
    #expect(mean >= 0.12 && mean <= 0.18)
  }
}
