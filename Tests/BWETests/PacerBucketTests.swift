import BWE
import Testing

/// The per-viewer pacer (issue 19, item 3): a keyframe spread out at low rates and nearly at once
/// at high rates, a bounded burst, the 300 ms queue bound, FIFO order, and a clock that may stand
/// still or go backwards. Packets are 1200 bytes (9600 bits), the size rtcam's RTP packets reach.
@Suite struct PacerBucketTests {
  static let ms: UInt64 = 1_000_000
  static let packetBytes = 1200
  /// 250 kbit/s x 2.5 (the pacing factor the core applies).
  static let slowRate = 625_000
  /// 5 Mbit/s x 2.5.
  static let fastRate = 12_500_000

  /// Lets everything out as soon as the pacer allows: asks `next`, and when it says no, moves the
  /// fake clock to `nextSendTime`. Returns each token with the time it left.
  static func drain(_ p: inout Pacer, from start: UInt64, limit: Int = 10_000) -> [(token: UInt16, at: UInt64)] {
    var out: [(token: UInt16, at: UInt64)] = []
    var now = start
    for _ in 0..<limit {
      if let t = p.next(now: now) {
        out.append((t, now))
        continue
      }
      guard let at = p.nextSendTime(now: now) else { break }
      #expect(at > now, "nextSendTime must move on when next refused")
      now = at
    }
    return out
  }

  static func keyframe(_ p: inout Pacer, packets: Int, firstToken: UInt16 = 0, now: UInt64) {
    for i in 0..<packets {
      #expect(p.enqueue(token: firstToken &+ UInt16(i), bytes: packetBytes, now: now) == true)
    }
  }

  @Test func aKeyframeAt625kbitIsSpreadOverTheTimeItsBitsTake() throws {
    var p = Pacer(capacity: 512)
    p.setRate(Self.slowRate)
    Self.keyframe(&p, packets: 40, now: 0)
    #expect(p.queuedPackets == 40 && p.queuedBytes == 48_000)
    let sent = Self.drain(&p, from: 0)
    try #require(sent.count == 40)
    // The full bucket holds 5 ms at 625 kbit/s = 3125 bits: the first packet leaves at once
    // (debt 9600 - 3125 = 6475 bits = 10.36 ms), then one packet every 9600 / 625000 s = 15.36 ms.
    #expect(sent[0].at == 0)
    #expect(sent[1].at == 10_360_000)
    for i in 2..<40 { #expect(sent[i].at - sent[i - 1].at == 15_360_000) }
    // the last leaves (39 x 9600 - 3125) / 625000 s = 594.04 ms after the frame: not at once
    #expect(sent[39].at == 594_040_000)
    #expect(p.queuedPackets == 0 && p.queuedBytes == 0)
    #expect(p.nextSendTime(now: sent[39].at) == nil)
  }

  @Test func at12Point5MbitAKeyframeLeavesWithinAFrameIntervalAndADeltaFrameWithin2Ms() throws {
    var p = Pacer(capacity: 512)
    p.setRate(Self.fastRate)
    Self.keyframe(&p, packets: 40, now: 0)
    let sent = Self.drain(&p, from: 0)
    try #require(sent.count == 40)
    // the bucket holds 5 ms at 12.5 Mbit/s = 62500 bits: 7 packets leave at once (the 7th with
    // 4900 bits left), then the debt of 4700 bits (0.376 ms), then one every 0.768 ms
    #expect(sent[0..<7].allSatisfy { $0.at == 0 })
    #expect(sent[7].at == 376_000)
    // (39 x 9600 - 62500) / 12.5e6 s = 24.952 ms: out before the next frame (33 ms at 30 fps)
    #expect(sent[39].at == 24_952_000)

    // a 10-packet delta frame after a pause: (9 x 9600 - 62500) / 12.5e6 s = 1.912 ms
    let later = sent[39].at + 100 * Self.ms
    Self.keyframe(&p, packets: 10, firstToken: 40, now: later)
    let delta = Self.drain(&p, from: later)
    try #require(delta.count == 10)
    #expect(delta[9].at - later == 1_912_000)
  }

  @Test func aRateChangeMidQueueAppliesToThePacketsStillQueued() throws {
    var p = Pacer(capacity: 512)
    p.setRate(Self.slowRate)
    Self.keyframe(&p, packets: 40, now: 0)
    var now: UInt64 = 0
    var sent = 0
    // the first 10 at 625 kbit/s: the 10th leaves at 10.36 + 8 x 15.36 = 133.24 ms
    while sent < 10, let t = p.nextSendTime(now: now) {
      now = t
      if p.next(now: now) != nil { sent += 1 }
    }
    #expect(sent == 10 && now == 133_240_000)
    // the estimate rises: the 9600-bit debt of the 10th packet is paid at 12.5 Mbit/s (0.768 ms)
    // and the other 29 follow 0.768 ms apart: the last at 133.24 + 30 x 0.768 = 156.28 ms
    p.setRate(Self.fastRate)
    #expect(p.nextSendTime(now: now) == now + 768_000)
    let rest = Self.drain(&p, from: now)
    try #require(rest.count == 30)
    #expect(rest[29].at == 156_280_000)

    // and down again: a fresh frame at 12.5 Mbit/s, the rate falls to 625 kbit/s after 7 packets
    let t0 = rest[29].at + 1_000 * Self.ms
    Self.keyframe(&p, packets: 10, firstToken: 100, now: t0)
    for _ in 0..<7 { #expect(p.next(now: t0) != nil) }
    #expect(p.next(now: t0) == nil)
    p.setRate(Self.slowRate)
    // the debt of 4700 bits now takes 4700 / 625000 s = 7.52 ms, then 15.36 ms per packet
    #expect(p.nextSendTime(now: t0) == t0 + 7_520_000)
    let slow = Self.drain(&p, from: t0)
    #expect(slow.map(\.at) == [t0 + 7_520_000, t0 + 22_880_000, t0 + 38_240_000])
  }

  @Test func wouldExceedAt300MsCountsTheQueueTheNewBytesAndTheBucket() {
    var p = Pacer(capacity: 512)
    #expect(p.maxQueueDelayNs == 300 * Self.ms)
    p.setRate(Self.slowRate)
    // 300 ms at 625 kbit/s = 187500 bits, plus the full bucket's 3125 bits: 190625 bits = 23828.125 bytes
    #expect(!p.wouldExceed(bytes: 23_828, now: 0))
    #expect(p.wouldExceed(bytes: 23_829, now: 0))
    Self.keyframe(&p, packets: 19, now: 0)
    // 19 x 1200 = 22800 bytes queued: (182400 - 3125) / 625000 s = 286.84 ms
    #expect(p.queueDelayNs(now: 0) == 286_840_000)
    #expect(!p.wouldExceed(bytes: 1_028, now: 0))
    #expect(p.wouldExceed(bytes: 1_029, now: 0))
    // the caller skips the frame and drops what is queued: the queue is empty, the bucket stays
    p.clear()
    #expect(p.queuedPackets == 0 && p.queuedBytes == 0 && p.queueDelayNs(now: 0) == 0)
    #expect(p.nextSendTime(now: 0) == nil && p.next(now: 0) == nil)

    // a debt counts as delay: right after one packet left, 6475 bits are owed (10.36 ms)
    #expect(p.enqueue(token: 1, bytes: Self.packetBytes, now: 0) == true)
    #expect(p.next(now: 0) == 1)
    #expect(p.queueDelayNs(now: 0) == 10_360_000)
    #expect(p.queueDelayNs(now: 5 * Self.ms) == 5_360_000)

    // a bound of its own
    var q = Pacer(capacity: 16, maxQueueDelayNs: 100 * Self.ms)
    q.setRate(Self.slowRate)
    // 100 ms = 62500 bits + 3125 in the bucket = 65625 bits = 8203.125 bytes
    #expect(!q.wouldExceed(bytes: 8_203, now: 0) && q.wouldExceed(bytes: 8_204, now: 0))
  }

  @Test func aFullQueueRefusesAndTakesAgainOncePacketsLeave() {
    var p = Pacer(capacity: 4, retransmissionCapacity: 2)
    for i in 0..<4 { #expect(p.enqueue(token: UInt16(i), bytes: 100, now: 0) == true) }
    #expect(p.enqueue(token: 4, bytes: 100, now: 0) == false)
    #expect(p.queuedPackets == 4 && p.queuedBytes == 400 && p.capacity == 4)
    #expect(p.next(now: 0) == 0)
    #expect(p.enqueue(token: 4, bytes: 100, now: 0) == true)
    #expect(p.enqueue(token: 5, bytes: 100, now: 0) == false)
    // the retransmission lane has its own bound
    #expect(p.enqueueRetransmission(token: 9, bytes: 100, now: 0) == true)
    #expect(p.enqueueRetransmission(token: 10, bytes: 100, now: 0) == true)
    #expect(p.enqueueRetransmission(token: 11, bytes: 100, now: 0) == false)
    // sizes outside 1...65535 are refused (a token stands for one UDP datagram)
    #expect(p.enqueueRetransmission(token: 11, bytes: 0, now: 0) == false)
    var q = Pacer(capacity: 4)
    #expect(q.enqueue(token: 1, bytes: 0, now: 0) == false)
    #expect(q.enqueue(token: 1, bytes: -5, now: 0) == false)
    #expect(q.enqueue(token: 1, bytes: 65_536, now: 0) == false)
    #expect(q.enqueue(token: 1, bytes: 65_535, now: 0) == true)
    #expect(q.queuedPackets == 1 && q.queuedBytes == 65_535)
    // a capacity below one is one
    var r = Pacer(capacity: 0)
    #expect(r.capacity == 1)
    #expect(r.enqueue(token: 1, bytes: 10, now: 0) == true)
    #expect(r.enqueue(token: 2, bytes: 10, now: 0) == false)
  }

  @Test func anIdlePacerBanksAtMost5MsNoBurstAfterALongPause() throws {
    for rate in [Self.slowRate, Self.fastRate] {
      var p = Pacer(capacity: 512)
      p.setRate(rate)
      #expect(p.enqueue(token: 0, bytes: Self.packetBytes, now: 0) == true)
      #expect(p.next(now: 0) == 0)
      let later: UInt64 = 10_000_000_000  // 10 s idle
      Self.keyframe(&p, packets: 40, now: later)
      var atOnce = 0
      while p.next(now: later) != nil { atOnce += 1 }
      // 625 kbit/s: 3125 bits banked, one packet; 12.5 Mbit/s: 62500 bits, seven packets
      #expect(atOnce == (rate == Self.slowRate ? 1 : 7))
      #expect(p.queuedPackets == 40 - atOnce)
    }
  }

  @Test func timeStandingStillOrGoingBackwardsNeverTrapsNorAddsBudget() {
    var p = Pacer(capacity: 8)
    p.setRate(Self.slowRate)
    for i in 0..<4 { #expect(p.enqueue(token: UInt16(i), bytes: Self.packetBytes, now: 1_000 * Self.ms) == true) }
    #expect(p.next(now: 1_000 * Self.ms) == 0)
    // the clock goes back: no budget appears, and the next time is still measured from 1 s
    #expect(p.next(now: 500 * Self.ms) == nil)
    #expect(p.next(now: 0) == nil)
    #expect(p.nextSendTime(now: 0) == 1_000 * Self.ms + 10_360_000)
    #expect(p.queueDelayNs(now: 0) == p.queueDelayNs(now: 1_000 * Self.ms))
    #expect(p.enqueue(token: 4, bytes: Self.packetBytes, now: 3) == true)
    // standing still adds nothing either
    #expect(p.next(now: 1_000 * Self.ms) == nil)
    #expect(p.next(now: 1_000 * Self.ms + 10_360_000) == 1)
    // the end of time: the next send time saturates instead of overflowing
    var q = Pacer(capacity: 8)
    q.setRate(Self.slowRate)
    #expect(q.enqueue(token: 1, bytes: 60_000, now: UInt64.max - 1) == true)
    #expect(q.enqueue(token: 2, bytes: 60_000, now: UInt64.max - 1) == true)
    #expect(q.next(now: UInt64.max - 1) == 1)
    #expect(q.nextSendTime(now: UInt64.max - 1) == UInt64.max)
    #expect(q.next(now: UInt64.max) == nil)
    #expect(q.wouldExceed(bytes: Int.max, now: UInt64.max))
    #expect(q.wouldExceed(bytes: Int.max, now: 0))
    #expect(q.queueDelayNs(now: 0) == q.queueDelayNs(now: UInt64.max - 1))
  }

  @Test func tokensLeaveInFifoOrderAcrossTheRingsWrapAndSequenceWrap() {
    var p = Pacer(capacity: 5)
    var expected: [UInt16] = []
    var got: [UInt16] = []
    var token: UInt16 = 65_530
    // 3 in, 2 out, repeatedly: the ring's head and tail wrap many times, the tokens wrap at 65535
    for round in 0..<20 {
      for _ in 0..<3 where p.queuedPackets < 5 {
        #expect(p.enqueue(token: token, bytes: 100 + round, now: UInt64(round)) == true)
        expected.append(token)
        token &+= 1
      }
      for _ in 0..<2 { if let t = p.next(now: UInt64(round)) { got.append(t) } }
    }
    while let t = p.next(now: 1_000_000 * Self.ms) { got.append(t) }
    #expect(got == expected)
    #expect(expected.contains(65_535) && expected.contains(0))
  }

  @Test func retransmissionsGoAheadOfQueuedMediaAndPayFromTheSameBudget() throws {
    var p = Pacer(capacity: 512)
    p.setRate(Self.slowRate)
    Self.keyframe(&p, packets: 3, now: 0)
    #expect(p.next(now: 0) == 0)
    // a NACK for an earlier packet arrives: it leaves before media packets 1 and 2
    #expect(p.enqueueRetransmission(token: 60_000, bytes: Self.packetBytes, now: 1 * Self.ms) == true)
    #expect(p.queuedPackets == 3 && p.queuedBytes == 3 * Self.packetBytes)
    let sent = Self.drain(&p, from: 1 * Self.ms)
    #expect(sent.map(\.token) == [60_000, 1, 2])
    // paced like media: 10.36 ms, then 15.36 ms apart
    #expect(sent.map(\.at) == [10_360_000, 25_720_000, 41_080_000])
  }

  @Test func anUnsetRateHoldsNothingBackAndRatesAreClamped() {
    var p = Pacer(capacity: 64)
    #expect(p.rate == Int(clamping: Pacer.maxRate))
    Self.keyframe(&p, packets: 40, now: 0)
    var n = 0
    while p.next(now: 0) != nil { n += 1 }
    #expect(n == 40)
    p.setRate(0)
    #expect(p.rate == Pacer.minRate)
    p.setRate(-1)
    #expect(p.rate == Pacer.minRate)
    // at the floor (1 kB/s) the bucket keeps 5 ms = 40 bits; a 1200-byte packet still leaves,
    // and the next one (9600 - 40) / 8000 s = 1.195 s later
    Self.keyframe(&p, packets: 2, now: 0)
    #expect(p.next(now: 0) != nil)
    #expect(p.nextSendTime(now: 0) == 1_195 * Self.ms)
  }
}
