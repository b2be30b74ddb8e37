// The send history ring and the numeric helpers under the estimator.
@testable import BWE
import Testing

@Suite struct SendHistoryTests {
  /// Capacity: 2 s at the maximum bitrate in 600-byte packets, at least 1024 slots.
  @Test func capacityFollowsTheMaximumBitrate() {
    #expect(SendHistory(maxBitrate: 150_000).capacity == 1024)
    #expect(SendHistory(maxBitrate: 2_500_000).capacity == 2_500_000 / 8 / 600 * 2)
    #expect(SendHistory(maxBitrate: 50_000_000).capacity == 50_000_000 / 8 / 600 * 2)
  }

  /// Reports across the 16-bit wrap; duplicates, packets never sent, late arrivals after a
  /// "lost" report, and slots reused by newer packets.
  @Test func reportsAcrossTheWrap() {
    var h = SendHistory(maxBitrate: 150_000)
    for (i, s) in [UInt16(65534), 65535, 0, 1].enumerated() {
      h.record(sequence: s, bytes: 100 + i, now: UInt64(i) * 1000)
    }
    #expect(h.newest == 65537)
    #expect(h.report(sequence: 65535, arrived: true) == .received(SentPacket(sendNs: 1000, bytes: 101)))
    #expect(h.report(sequence: 65535, arrived: true) == .repeated)
    #expect(h.report(sequence: 0, arrived: false) == .lost)
    #expect(h.report(sequence: 0, arrived: false) == .repeated)
    #expect(h.report(sequence: 0, arrived: true) == .receivedLate(SentPacket(sendNs: 2000, bytes: 102)))
    #expect(h.report(sequence: 2, arrived: true) == .unknown)  // never sent
    #expect(h.report(sequence: 60_000, arrived: true) == .unknown)  // long before the first
    #expect(h.newest == 65537)  // reports do not move the numbering
    for s in 2...1100 { h.record(sequence: UInt16(s), bytes: 1, now: 0) }  // overwrite the ring
    #expect(h.report(sequence: 1, arrived: true) == .unknown)
    #expect(h.report(sequence: 1100, arrived: true) == .received(SentPacket(sendNs: 0, bytes: 1)))
  }
}

@Suite struct BweMathTests {
  @Test func expMatchesKnownValues() {
    // (relative errors: squaring back after the range reduction multiplies rounding errors)
    #expect(abs(BweMath.exp(1) / 2.718_281_828_459_045 - 1) < 1e-13)
    #expect(abs(BweMath.exp(-FeedbackTimeout.ln2) / 0.5 - 1) < 1e-13)
    #expect(abs(BweMath.exp(AimdRateControl.growthPerSecond) / 1.08 - 1) < 1e-13)
    #expect(abs(BweMath.exp(AimdRateControl.maxGrowthPerSecond) / 1.4 - 1) < 1e-13)
    #expect(abs(BweMath.exp(-10) / 4.539_992_976_248_485e-5 - 1) < 1e-12)
    #expect(BweMath.exp(0) == 1)
    #expect(BweMath.exp(.nan) == 1)
    #expect(BweMath.exp(.infinity).isFinite)
    #expect(BweMath.exp(-.infinity) >= 0 && BweMath.exp(-.infinity) < 1e-100)
  }

  @Test func conversionsNeverTrap() {
    #expect(BweMath.bitrate(.nan) == 0)
    #expect(BweMath.bitrate(-5) == 0)
    #expect(BweMath.bitrate(.infinity) == Int(Int32.max))
    #expect(BweMath.bitrate(1e300) == Int(Int32.max))
    #expect(BweMath.bitrate(123.9) == 124 && BweMath.bitrate(123.4) == 123)
    #expect(BweMath.elapsed(from: 10, to: 5) == 0)
    #expect(BweMath.later(.max - 1, by: 5) == .max)
    #expect(BweMath.floorDiv(-1, 50) == -1 && BweMath.floorDiv(-50, 50) == -1 && BweMath.floorDiv(49, 50) == 0)
  }
}
