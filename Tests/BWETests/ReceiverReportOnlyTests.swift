// A viewer without transport-cc: only receiver reports (loss, RTT) and perhaps REMB. The
// loss-based control drives the estimate (draft-ietf-rmcat-gcc-02 section 6).
import BWE
import Testing

@Suite struct ReceiverReportOnlyTests {
  static let second: UInt64 = 1_000_000_000

  /// Below 2 % loss the estimate grows ~8 % per second of reports; 2-10 % holds it; above 10 %
  /// it drops by half the loss, at most once per 300 ms + RTT.
  @Test func lossReportsDriveTheEstimateByTheDraftThresholds() {
    var e = BandwidthEstimator(config: .init(startBitrate: 500_000), now: 0)
    for i in 1...10 { e.onLossReport(fractionLost: 0, now: UInt64(i) * Self.second) }
    // the first report adds only the 1 kbit/s offset (no time has passed), then nine 1-s
    // steps of x1.08 + 1 kbit/s
    var expected = 501_000.0
    for _ in 0..<9 { expected = expected * 1.08 + 1000 }
    #expect(abs(Double(e.estimate) - expected) <= 0.001 * expected)
    let grown = e.estimate
    e.onLossReport(fractionLost: 13, now: 11 * Self.second)  // 5 %: hold
    #expect(e.estimate == grown)
    #expect(abs(e.lossRatio - 13.0 / 256) < 1e-9)
    e.onLossReport(fractionLost: 64, now: 12 * Self.second)  // 25 %: x (1 - 0.125)
    #expect(abs(Double(e.estimate) - 0.875 * Double(grown)) <= 1)
    let cut = e.estimate
    e.onLossReport(fractionLost: 64, now: 12 * Self.second + 100_000_000)  // too soon: no second cut
    #expect(e.estimate == cut)
    #expect(e.usage == .normal)
    #expect(e.nextTimeout == nil)
  }

  /// REMB caps the loss-driven estimate too; the RTT is reported as measured.
  @Test func rembCapsAndRttIsKept() {
    var e = BandwidthEstimator(config: .init(startBitrate: 800_000), now: 0)
    e.onRemb(bitrate: 300_000, now: 1)
    #expect(e.estimate == 300_000)
    e.onRemb(bitrate: 10, now: 2)  // below the minimum: the minimum
    #expect(e.estimate == 150_000)
    e.onRoundTrip(ns: 80_000_000, now: 3)
    e.onRoundTrip(ns: 40_000_000, now: 4)
    #expect(e.rttNs == 75_000_000)  // 80 + (40 - 80) / 8
    #expect(e.minRttNs == 40_000_000)
    e.onRoundTrip(ns: 20_000_000_000, now: 5)  // not a round trip: ignored
    #expect(e.rttNs == 75_000_000)
  }

  /// The config is made consistent: min >= 10 kbit/s, max >= min, start within.
  @Test func configIsNormalized() {
    let c = BandwidthEstimatorConfig(startBitrate: 5, minBitrate: -3, maxBitrate: 1).normalized
    #expect(c.minBitrate == 10_000 && c.maxBitrate == 10_000 && c.startBitrate == 10_000)
    let d = BandwidthEstimatorConfig(startBitrate: 9_000_000, minBitrate: 200_000, maxBitrate: 100_000_000).normalized
    #expect(d.minBitrate == 200_000 && d.maxBitrate == 50_000_000 && d.startBitrate == 9_000_000)
    #expect(BandwidthEstimatorConfig().minBitrate == 150_000)
    let e = BandwidthEstimator(config: .init(startBitrate: 1, minBitrate: 150_000, maxBitrate: 1_000_000), now: 0)
    #expect(e.estimate == 150_000)
  }
}
