// Inputs a broken or hostile receiver (or caller) can produce: the estimator never traps, keeps
// its estimate within [min, max], and its read-outs within their ranges.
import BWE
import Testing
import TestSupport

@Suite struct HostileInputTests {
  static func withinBounds(_ e: BandwidthEstimator) -> Bool {
    e.estimate >= e.config.minBitrate && e.estimate <= e.config.maxBitrate
      && e.lossRatio >= 0 && e.lossRatio <= 1 && (e.ackedBitrate ?? 0) >= 0
  }

  /// Random calls in random order with random values, including the extremes of every type and
  /// a clock that jumps back and forth.
  @Test func randomCallsWithExtremeValuesNeverTrap() {
    var prng = TestPRNG(state: 0xB3E)
    var e = BandwidthEstimator(config: .init(), now: 0)
    var now: UInt64 = 1_000_000_000
    var violations = 0
    let arrivals: [Int64] = [.min, .max, 0, -1, 1 << 50, -(1 << 50), (1 << 50) + 1, 7_000_000_000]
    let sizes = [Int.min, -1, 0, 1, 1200, 65_535, 65_536, Int.max]
    let times: [UInt64] = [0, 1, .max, .max - 1, 1 << 63]
    for _ in 0..<200_000 {
      switch prng.below(12) {
      case 0: now = times[prng.below(times.count)]
      case 1: now = now &- UInt64(prng.below(1_000_000_000))
      default: now = now &+ UInt64(prng.below(20_000_000))
      }
      let seq = UInt16(truncatingIfNeeded: prng.next())
      switch prng.below(11) {
      case 0, 1, 2:
        let bytes = prng.below(2) == 0 ? sizes[prng.below(sizes.count)] : prng.below(1500)
        e.onPacketSent(sequence: seq, bytes: bytes, now: now)
      case 3: e.beginFeedback(now: now)
      case 4, 5:
        let a: Int64? =
          switch prng.below(4) {
          case 0: nil
          case 1: arrivals[prng.below(arrivals.count)]
          case 2: Int64(bitPattern: prng.next())
          default: Int64(prng.below(100_000_000))
          }
        e.feedbackPacket(FeedbackPacket(sequence: seq, arrivalUs: a))
      case 6: e.endFeedback(now: now)
      case 7: e.onLossReport(fractionLost: UInt8(truncatingIfNeeded: prng.next()), now: now)
      case 8: e.onRoundTrip(ns: prng.below(2) == 0 ? prng.next() : UInt64(prng.below(500_000_000)), now: now)
      case 9: e.onRemb(bitrate: prng.below(2) == 0 ? Int(truncatingIfNeeded: prng.next()) : prng.below(5_000_000), now: now)
      default: e.onTimeout(now: now)
      }
      if !Self.withinBounds(e) { violations += 1 }
      _ = e.nextTimeout
      _ = e.rttNs
    }
    #expect(violations == 0)
  }

  /// Sends 200 packets 10 ms apart from sequence `first`, at 1 Mbit/s worth of sizes.
  static func sending(_ e: inout BandwidthEstimator, count: Int = 200, first: UInt16 = 0, at start: UInt64) {
    for i in 0..<count {
      e.onPacketSent(sequence: first &+ UInt16(i), bytes: 1200, now: start + UInt64(i) * 10_000_000)
    }
  }

  /// One report with the given arrival time per packet index, delivered at `now`.
  static func report(_ e: inout BandwidthEstimator, _ arrivals: [(Int, Int64?)], first: UInt16 = 0, now: UInt64) {
    e.beginFeedback(now: now)
    for (i, a) in arrivals { e.feedbackPacket(FeedbackPacket(sequence: first &+ UInt16(i), arrivalUs: a)) }
    e.endFeedback(now: now)
  }

  /// Arrival times running backwards (each packet "arrives" before the one sent before it): no
  /// delay sample comes out of that, so no overuse and no decrease.
  @Test func arrivalTimesGoingBackwardsSignalNothing() {
    var e = BandwidthEstimator(config: .init(startBitrate: 1_000_000), now: 0)
    Self.sending(&e, at: 1_000_000_000)
    let backwards: [(Int, Int64?)] = (0..<200).map { ($0, Int64(50_000_000 - $0 * 10_000)) }
    Self.report(&e, backwards, now: 3_100_000_000)
    #expect(e.usage == .normal)
    #expect(e.estimate >= 1_000_000)
    #expect(e.lossRatio == 0)
  }

  /// Absurd gaps between arrival times (a receiver clock jumping by an hour every few packets):
  /// the inter-arrival grouping resets instead of reading them as queueing.
  @Test func absurdArrivalDeltasSignalNoOveruse() {
    var e = BandwidthEstimator(config: .init(startBitrate: 1_000_000), now: 0)
    Self.sending(&e, at: 1_000_000_000)
    let hour: Int64 = 3_600_000_000
    let jumps: [(Int, Int64?)] = (0..<200).map { ($0, Int64($0 * 10_000) + Int64($0 / 5) * hour) }
    Self.report(&e, jumps, now: 3_100_000_000)
    #expect(e.usage != .overusing)
    #expect(e.estimate >= 1_000_000)
  }

  /// Reports about packets never sent (ahead of the newest) or long forgotten: nothing changes,
  /// and the numbering of later sends is not disturbed.
  @Test func reportsAboutPacketsNeverSentChangeNothing() {
    var e = BandwidthEstimator(config: .init(startBitrate: 1_000_000), now: 0)
    Self.sending(&e, count: 10, at: 1_000_000_000)
    let ahead = (10..<30_000).map { ($0, Int64?.some(Int64($0) * 1000)) }
    Self.report(&e, ahead, now: 1_200_000_000)
    #expect(e.ackedBitrate == nil)
    #expect(e.lossRatio == 0)
    #expect(e.nextTimeout == nil)  // no transport feedback has told anything yet
    #expect(e.estimate == 1_000_000)
    // all-lost reports of packets never sent do not count as loss either
    Self.report(&e, (40_000..<40_100).map { ($0, nil) }, now: 1_300_000_000)
    #expect(e.lossRatio == 0)
    #expect(e.nextTimeout == nil)
  }
}
