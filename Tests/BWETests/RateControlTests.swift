// AIMD rate control and the link capacity band (draft-ietf-rmcat-gcc-02 5.5), the loss-based
// limit (section 6), the acknowledged bitrate.
@testable import BWE
import Testing

@Suite struct AimdRateControlTests {
  static let ms: UInt64 = 1_000_000
  static let rtt: UInt64 = 100 * ms

  static func control(start: Int = 1_000_000) -> AimdRateControl {
    AimdRateControl(start: start, min: 150_000, max: 10_000_000)
  }

  /// Overuse: 0.85 x the acknowledged rate, then hold until the path is normal again; underuse
  /// holds the rate.
  @Test func overuseDecreasesTo085OfTheAckedRateAndHolds() {
    var a = Self.control()
    a.update(usage: .overusing, acked: 800_000, rttNs: Self.rtt, now: 1_000 * Self.ms)
    #expect(a.rate == 0.85 * 800_000)
    #expect(a.lastAction == .decrease && a.state == .hold)
    #expect(a.capacity.meanKbps == 800)
    a.update(usage: .underusing, acked: 700_000, rttNs: Self.rtt, now: 1_100 * Self.ms)
    #expect(a.rate == 0.85 * 800_000)
    #expect(a.lastAction == .hold)
    // a second overuse within one RTT does not cut again unless the throughput halved
    a.update(usage: .overusing, acked: 600_000, rttNs: Self.rtt, now: 1_050 * Self.ms)
    #expect(a.rate == 0.85 * 800_000)
    a.update(usage: .overusing, acked: 300_000, rttNs: Self.rtt, now: 1_060 * Self.ms)
    #expect(a.rate == 0.85 * 300_000)
    #expect(a.capacity.meanKbps == 300)  // far below the band: the band starts again
  }

  /// Overuse before any acknowledged rate: halve, at most every 200 ms.
  @Test func blindOveruseHalvesEvery200ms() {
    var a = Self.control()
    a.update(usage: .overusing, acked: nil, rttNs: Self.rtt, now: 1_000 * Self.ms)
    #expect(a.rate == 500_000)
    a.update(usage: .overusing, acked: nil, rttNs: Self.rtt, now: 1_100 * Self.ms)
    #expect(a.rate == 500_000)
    a.update(usage: .overusing, acked: nil, rttNs: Self.rtt, now: 1_200 * Self.ms)
    #expect(a.rate == 250_000)
  }

  /// Far from convergence: multiplicative, 8 %/s at first, the growth exponent rising with the
  /// ramp's age up to 40 %/s.
  @Test func multiplicativeIncreaseAcceleratesUpTo40PercentPerSecond() {
    var a = Self.control(start: 200_000)
    var now = 1_000 * Self.ms
    var perSecond: [Double] = []
    var last = a.rate
    for step in 1...100 {  // 10 s of reports every 100 ms, the path keeping up
      now += 100 * Self.ms
      a.update(usage: .normal, acked: 100_000_000, rttNs: Self.rtt, now: now)
      if step % 10 == 0 {
        perSecond.append(a.rate / last)
        last = a.rate
      }
    }
    #expect(perSecond[0] > 1.08 && perSecond[0] < 1.13)  // first second: ~8 %/s rising
    #expect(perSecond[1] > perSecond[0])
    #expect(abs(perSecond[8] - 1.4) < 0.001)
    #expect(a.lastAction == .increase)
  }

  /// Within the link capacity band: additive, about one packet per (RTT + 100 ms).
  @Test func additiveIncreaseNearConvergence() {
    var a = Self.control()
    a.capacity.onOveruse(throughputBps: 1_000_000)
    a.update(usage: .normal, acked: 1_000_000, rttNs: Self.rtt, now: 1_000 * Self.ms)
    let before = a.rate
    a.update(usage: .normal, acked: 1_000_000, rttNs: Self.rtt, now: 2_000 * Self.ms)
    // 1 Mbit/s at 30 fps: 33,333-bit frames in 4 packets of 8,333 bits, per 0.2 s
    #expect(abs(a.rate - before - 33_333.3 / 4 / 0.2) < 1)
  }

  /// The rate is not raised beyond 1.5 x the acknowledged rate + 10 kbit/s.
  @Test func increaseCappedByTheAcknowledgedRate() {
    var above = Self.control(start: 400_000)
    var below = Self.control(start: 200_000)
    var now = 1_000 * Self.ms
    for _ in 0..<100 {
      now += 100 * Self.ms
      above.update(usage: .normal, acked: 200_000, rttNs: Self.rtt, now: now)
      below.update(usage: .normal, acked: 200_000, rttNs: Self.rtt, now: now)
    }
    #expect(above.rate == 400_000)  // already above the cap: not raised, not lowered
    #expect(below.rate == 1.5 * 200_000 + 10_000)
  }

  /// The band: the first overuse sets the mean; +-3 x sqrt(deviation x mean) kbit/s around it.
  @Test func linkCapacityBand() {
    var c = LinkCapacity()
    #expect(!c.contains(1_000_000))
    c.onOveruse(throughputBps: 1_000_000)
    let spread = 3 * (0.4 * 1000.0).squareRoot() * 1000
    #expect(abs((c.upperBound ?? 0) - (1_000_000 + spread)) < 1e-6)
    #expect(abs((c.lowerBound ?? 0) - (1_000_000 - spread)) < 1e-6)
    c.onOveruse(throughputBps: 2_000_000)
    #expect(abs((c.meanKbps ?? 0) - 1050) < 1e-9)
    #expect(c.deviation == 2.5)  // a far sample widens it to the bound
    c.reset()
    #expect(!c.hasEstimate)
  }
}

@Suite struct LossBasedControlTests {
  static let s: UInt64 = 1_000_000_000

  /// > 10 %: estimate x (1 - loss/2), once per 300 ms + RTT; 2-10 %: hold (no limit stays no
  /// limit); < 2 %: +8 %/s + 1 kbit/s.
  @Test func thresholdsOfTheDraft() {
    var l = LossBasedControl(min: 150_000, max: 2_500_000)
    l.apply(loss: 0.05, estimate: 1_000_000, rttNs: 0, now: 1 * Self.s)
    #expect(l.limit == nil)
    l.apply(loss: 0.2, estimate: 1_000_000, rttNs: 100_000_000, now: 2 * Self.s)
    #expect(l.limit == 900_000)
    l.apply(loss: 0.2, estimate: 900_000, rttNs: 100_000_000, now: 2 * Self.s + 399_000_000)
    #expect(l.limit == 900_000)
    l.apply(loss: 0.05, estimate: 900_000, rttNs: 100_000_000, now: 3 * Self.s)
    #expect(l.limit == 900_000)
    l.apply(loss: 0.01, estimate: 900_000, rttNs: 100_000_000, now: 4 * Self.s)
    #expect(abs((l.limit ?? 0) - (900_000 * 1.08 + 1000)) < 0.01)
  }

  /// Heavy loss in a window during which the delay-based control already decreased (the
  /// queue overflowed before the decrease took hold) is not answered a second time.
  @Test func lossAlreadyAnsweredByTheDelayBasedDecreaseIsNotCutAgain() {
    var l = LossBasedControl(min: 150_000, max: 2_500_000)
    l.apply(loss: 0.5, estimate: 1_000_000, rttNs: 0, now: 1 * Self.s, answered: true)
    #expect(l.limit == nil)
    #expect(l.lossRatio == 0.5)
    l.apply(loss: 0.5, estimate: 1_000_000, rttNs: 0, now: 2 * Self.s, answered: false)
    #expect(l.limit == 750_000)
  }

  /// Windows close after 1 s with >= 100 packets; a packet reported lost that arrives later is
  /// taken back out of the window's losses. The window under way counts for the standing-queue
  /// rule from 20 packets.
  @Test func windowsOfAtLeastOneSecondAnd100Packets() {
    var l = LossBasedControl(min: 150_000, max: 2_500_000)
    for _ in 0..<19 { l.count(lost: false, now: 1 * Self.s) }
    #expect(l.recentLoss == 0)
    l.count(lost: true, now: 1 * Self.s)
    #expect(l.recentLoss == 1.0 / 20)
    for _ in 0..<79 { l.count(lost: false, now: 1 * Self.s) }
    #expect(l.closeWindow(now: 3 * Self.s) == nil)  // 99 packets
    l.count(lost: true, now: 3 * Self.s)
    l.count(lost: true, now: 3 * Self.s)
    l.recovered()
    #expect(l.closeWindow(now: 3 * Self.s)?.ratio == 2.0 / 101)
    l.count(lost: true, now: 4 * Self.s)
    for _ in 0..<100 { l.count(lost: false, now: 4 * Self.s) }
    #expect(l.closeWindow(now: 4 * Self.s + 999_999_999) == nil)  // < 1 s
    #expect(l.closeWindow(now: 5 * Self.s)?.ratio == 1.0 / 101)
  }
}

@Suite struct AckedBitrateTests {
  /// 1000 bytes every 10 ms: the window (bins of 50 ms back 500 ms) measures 8 bits per 10 ms.
  @Test func bytesPerWindowOfTheReceiversClock() {
    var a = AckedBitrate()
    a.add(arrivalUs: 0, bytes: 1000)
    #expect(a.bitrate == nil)
    for i in 1...14 { a.add(arrivalUs: Int64(i) * 10_000, bytes: 1000) }
    #expect(a.bitrate == nil)  // 140 ms: not yet
    a.add(arrivalUs: 150_000, bytes: 1000)
    #expect(a.bitrate == 853_333)  // 16 packets * 8000 bits / 0.15 s
    for i in 16..<200 { a.add(arrivalUs: Int64(i) * 10_000, bytes: 1000) }
    // bins 1.5 s ... 1.99 s: 50 packets over 490 ms
    #expect(a.bitrate == 816_327)  // 50 * 8000 bits / 0.49 s, rounded
    a.add(arrivalUs: 100_000, bytes: 1_000_000)  // older than the window: ignored
    #expect(a.bitrate == 816_327)  // 50 * 8000 bits / 0.49 s, rounded
    // a pause longer than the window: the span starts again
    a.add(arrivalUs: 10_000_000, bytes: 1000)
    #expect(a.bitrate == nil)
  }
}
