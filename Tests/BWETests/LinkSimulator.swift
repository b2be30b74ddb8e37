// A small deterministic link for the estimator's traces: a sender at the estimate (30 fps frames
// cut into <= 1200-byte packets, paced at 2.5x the estimate), a bottleneck with a rate and a
// drop-tail queue bounded in ms, optional random loss from a seeded PRNG, and a receiver that
// sends transport feedback every 100 ms built from the simulated arrivals.
import BWE
import TestSupport

let ns: UInt64 = 1_000_000_000
func seconds(_ s: Double) -> UInt64 { UInt64(s * Double(ns)) }

struct LinkSimulator {
  struct Setup {
    var config = BandwidthEstimatorConfig(startBitrate: 800_000, minBitrate: 150_000, maxBitrate: 2_500_000)
    /// Bottleneck rate (bit/s) at a time (s since the start).
    var capacity: (Double) -> Double = { _ in 10_000_000 }
    var queueLimitMs = 300.0
    var randomLoss = 0.0
    /// Loss added to `randomLoss` at a time (s): a burst.
    var extraLoss: (Double) -> Double = { _ in 0 }
    /// Extra delay per packet, uniform in 0...jitterMs, order kept (Wi-Fi retries and
    /// aggregation).
    var jitterMs = 0.0
    var seed: UInt64 = 19
    var oneWayMs = 20.0
    var feedbackIntervalMs = 100.0
    /// Whether the receiver sends feedback at a time (s since the start).
    var feedbackOn: (Double) -> Bool = { _ in true }
    var firstSequence: UInt16 = 0
    var fps = 30.0
    var maxPacketBytes = 1200
    var pacingFactor = 2.5
    /// Every report delivered twice / consecutive reports delivered in swapped order.
    var duplicateReports = false
    var swapReports = false
    /// REMB messages: (s since start, bit/s).
    var rembs: [(Double, Int)] = []
  }

  struct Sample {
    var t: Double
    var estimate: Int
    var queueMs: Double
    var usage: BandwidthUsage
    var lossRatio: Double
  }

  let setup: Setup
  let t0: UInt64 = 5 * ns
  var est: BandwidthEstimator
  var prng: TestPRNG
  var now: UInt64
  // sender
  var nextFrame: UInt64
  var pacerFree: UInt64 = 0
  var outbox: [(at: UInt64, bytes: Int)] = []
  var outboxHead = 0
  var sent = 0
  // link and receiver
  var backlogEnd: UInt64 = 0
  var lastArrival: UInt64 = 0
  var arrivals: [UInt64?] = []
  var nextReported = 0
  var nextFeedback: UInt64
  var deliveries: [(at: UInt64, packets: [FeedbackPacket])] = []
  var held: [FeedbackPacket]? = nil
  var nextRtt: UInt64
  var nextSample: UInt64
  var rembIndex = 0
  // what happened
  var samples: [Sample] = []
  var queueMs: [(t: Double, ms: Double)] = []
  var firstDrop: Double?
  var timeoutStuck = false
  let receiverOffsetUs: Int64 = 7_654_321_000

  init(_ setup: Setup) {
    self.setup = setup
    est = BandwidthEstimator(config: setup.config, now: t0)
    prng = TestPRNG(state: setup.seed)
    now = t0
    nextFrame = t0
    nextFeedback = t0 + UInt64(setup.feedbackIntervalMs * 1e6)
    nextRtt = t0 + ns
    nextSample = t0
  }

  func sinceStart(_ t: UInt64) -> Double { Double(t - t0) / Double(ns) }

  mutating func run(until s: Double) {
    let end = t0 + seconds(s)
    while !timeoutStuck {
      var next = min(nextFrame, nextFeedback, nextRtt, nextSample)
      if outboxHead < outbox.count { next = min(next, outbox[outboxHead].at) }
      if let d = deliveries.first { next = min(next, d.at) }
      if let t = est.nextTimeout { next = min(next, max(t, now)) }
      if rembIndex < setup.rembs.count { next = min(next, t0 + seconds(setup.rembs[rembIndex].0)) }
      if next > end { break }
      now = next
      step()
    }
  }

  mutating func step() {
    while let d = deliveries.first, d.at <= now {
      deliveries.removeFirst()
      est.beginFeedback(now: now)
      for p in d.packets { est.feedbackPacket(p) }
      est.endFeedback(now: now)
    }
    if let t = est.nextTimeout, t <= now {
      est.onTimeout(now: now)
      if let again = est.nextTimeout, again <= now { timeoutStuck = true }
    }
    while outboxHead < outbox.count, outbox[outboxHead].at <= now {
      send(bytes: outbox[outboxHead].bytes)
      outboxHead += 1
    }
    if rembIndex < setup.rembs.count, t0 + seconds(setup.rembs[rembIndex].0) <= now {
      est.onRemb(bitrate: setup.rembs[rembIndex].1, now: now)
      rembIndex += 1
    }
    if nextFrame <= now { frame() }
    if nextFeedback <= now { feedback() }
    if nextRtt <= now {
      let queue = backlogEnd > now ? backlogEnd - now : 0
      est.onRoundTrip(ns: UInt64(2 * setup.oneWayMs * 1e6) + queue, now: now)
      nextRtt += ns
    }
    if nextSample <= now {
      let queue = backlogEnd > now ? Double(backlogEnd - now) / 1e6 : 0
      samples.append(Sample(t: sinceStart(now), estimate: est.estimate, queueMs: queue, usage: est.usage, lossRatio: est.lossRatio))
      nextSample += ns / 10
    }
  }

  /// A frame at the current estimate, its packets paced out at `pacingFactor` x the estimate.
  mutating func frame() {
    let rate = Double(est.estimate)
    let bytes = max(Int(rate / 8 / setup.fps), 200)
    let count = (bytes + setup.maxPacketBytes - 1) / setup.maxPacketBytes
    let size = bytes / count
    var t = max(now, pacerFree)
    for _ in 0..<count {
      outbox.append((at: t, bytes: size))
      t += UInt64(Double(size) * 8 / (rate * setup.pacingFactor) * 1e9)
    }
    pacerFree = t
    nextFrame += UInt64(1e9 / setup.fps)
  }

  mutating func send(bytes: Int) {
    let seq = setup.firstSequence &+ UInt16(truncatingIfNeeded: sent)
    sent += 1
    est.onPacketSent(sequence: seq, bytes: bytes, now: now)
    backlogEnd = max(backlogEnd, now)
    let queue = Double(backlogEnd - now) / 1e6
    queueMs.append((t: sinceStart(now), ms: queue))
    guard queue <= setup.queueLimitMs else {
      if firstDrop == nil { firstDrop = sinceStart(now) }
      arrivals.append(nil)
      return
    }
    backlogEnd += UInt64(Double(bytes) * 8 / setup.capacity(sinceStart(now)) * 1e9)
    let lossNow = setup.randomLoss + setup.extraLoss(sinceStart(now))
    let lost = lossNow > 0 && Double(prng.next() % 1_000_000) / 1e6 < lossNow
    let jitter = setup.jitterMs > 0 ? UInt64(Double(prng.next() % 1_000_000) / 1e6 * setup.jitterMs * 1e6) : 0
    let arrival = max(backlogEnd + UInt64(setup.oneWayMs * 1e6) + jitter, lastArrival)
    if !lost { lastArrival = arrival }
    arrivals.append(lost ? nil : arrival)
  }

  /// The receiver's report at `now`: every packet after the last reported up to the newest one
  /// that has arrived, with arrival times in its own clock (250 us resolution, as on the wire).
  mutating func feedback() {
    nextFeedback += UInt64(setup.feedbackIntervalMs * 1e6)
    guard setup.feedbackOn(sinceStart(now)) else { return }
    var newest = -1
    for i in nextReported..<arrivals.count { if let a = arrivals[i], a <= now { newest = i } }
    guard newest >= nextReported else { return }
    var packets: [FeedbackPacket] = []
    for i in nextReported...newest {
      let seq = setup.firstSequence &+ UInt16(truncatingIfNeeded: i)
      let arrival = arrivals[i].flatMap { $0 <= now ? $0 : nil }.map { a -> Int64 in
        let us = Int64(a / 1000) + receiverOffsetUs
        return us - us % 250
      }
      packets.append(FeedbackPacket(sequence: seq, arrivalUs: arrival))
    }
    nextReported = newest + 1
    let at = now + UInt64(setup.oneWayMs * 1e6)
    if setup.swapReports {
      if let h = held {
        deliveries.append((at: at, packets: packets))
        deliveries.append((at: at, packets: h))
        held = nil
      } else {
        held = packets
      }
    } else {
      deliveries.append((at: at, packets: packets))
    }
    if setup.duplicateReports { deliveries.append((at: at, packets: packets)) }
  }

  // MARK: read-outs

  func estimate(at t: Double) -> Int { samples.last { $0.t <= t + 1e-9 }?.estimate ?? 0 }
  func maxQueueMs(from a: Double, to b: Double) -> Double {
    queueMs.filter { $0.t >= a && $0.t <= b }.map(\.ms).max() ?? 0
  }
  func meanEstimate(from a: Double, to b: Double) -> Double {
    let s = samples.filter { $0.t >= a && $0.t <= b }
    return s.isEmpty ? 0 : Double(s.map(\.estimate).reduce(0, +)) / Double(s.count)
  }
  func firstTime(after a: Double, where p: (Sample) -> Bool) -> Double? {
    samples.first { $0.t >= a && p($0) }?.t
  }
}
