// Per-stage timing of a frame's way from the source to the viewers: a fixed-bucket histogram
// the threads record into without allocating (`StageCounters`), a window over the last seconds
// for /status (`StageWindow`: p50, p95, max) and the verdict naming the stage that is short of
// time (`StageVerdict`). The runtime reads the clock and carries the counters between threads;
// everything here is plain arithmetic on the durations it is given.

/// The stages of one frame, in order. Each is measured once per frame:
/// - `captureWait`: the capture thread waiting for (and reading) the next frame from the device,
///   pipe or file, or for the test pattern's due time;
/// - `convert`: making it I420 (V4L2: NV12/YUYV conversion or MJPEG decoding; the test pattern:
///   drawing it, time strip included; 0 for sources that deliver I420);
/// - `encode`: OpenH264 encoding it (only while somebody watches);
/// - `packetizeProtect`: the network loop cutting the access unit into RTP packets and SRTP
///   protecting them, summed over all viewers (the time of the fan-out minus `send`);
/// - `send`: the `sendto` calls of those packets, summed over all viewers.
public enum FrameStage: Int, Sendable {
  case captureWait = 0, convert, encode, packetizeProtect, send

  public static let all: [FrameStage] = [.captureWait, .convert, .encode, .packetizeProtect, .send]

  /// The name in /status (with `_ms`) and the `stage` label in /metrics.
  public var name: String {
    switch self {
    case .captureWait: return "capture_wait"
    case .convert: return "convert"
    case .encode: return "encode"
    case .packetizeProtect: return "packetize_protect"
    case .send: return "send"
    }
  }

  /// Stages that are work on the capture thread (capture wait is idle time, not work).
  public static let captureWork: [FrameStage] = [.convert, .encode]
  /// Stages that are work on the network loop.
  public static let networkWork: [FrameStage] = [.packetizeProtect, .send]
}

/// Cumulative per-stage histograms since start. All storage is allocated by `init`; `record`
/// and `assign` never allocate (they write elements of arrays nobody else holds).
public struct StageCounters: Sendable {
  /// Upper bucket bounds in ns (the last bucket, past them, is +Inf): 10 µs to 1 s, finer around
  /// the frame budgets of 60, 30, 25, 20, 15 and 10 fps (16.7, 33.3, 40, 50, 66.7, 100 ms), so
  /// a p95 near the budget is told apart from one over it.
  public static let boundsNs: [UInt64] = [
    10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000, 3_000_000, 5_000_000,
    7_500_000, 10_000_000, 12_500_000, 16_667_000, 20_000_000, 25_000_000, 33_333_000, 40_000_000,
    50_000_000, 66_667_000, 100_000_000, 200_000_000, 500_000_000, 1_000_000_000,
  ]
  public static var bucketCount: Int { boundsNs.count + 1 }

  /// Samples per bucket (not cumulative over buckets), stage-major:
  /// `counts[stage.rawValue * bucketCount + bucket]`.
  public private(set) var counts: [UInt64]
  /// Sum of the samples per stage (wrapping; 2^64 ns is 584 years).
  public private(set) var sumNs: [UInt64]
  /// The largest sample per stage since `startPeriod` (the window keeps one per period).
  public private(set) var periodMaxNs: [UInt64]

  public init() {
    counts = [UInt64](repeating: 0, count: FrameStage.all.count * Self.bucketCount)
    sumNs = [UInt64](repeating: 0, count: FrameStage.all.count)
    periodMaxNs = [UInt64](repeating: 0, count: FrameStage.all.count)
  }

  /// The bucket of one duration.
  public static func bucket(ns: UInt64) -> Int {
    for i in 0..<boundsNs.count where ns <= boundsNs[i] { return i }
    return boundsNs.count
  }

  /// Counts one sample. No allocation.
  public mutating func record(_ stage: FrameStage, ns: UInt64) {
    let s = stage.rawValue
    counts[s * Self.bucketCount + Self.bucket(ns: ns)] &+= 1
    sumNs[s] &+= ns
    if ns > periodMaxNs[s] { periodMaxNs[s] = ns }
  }

  /// Samples of `stage` in `bucket`.
  public func count(_ stage: FrameStage, bucket: Int) -> UInt64 { counts[stage.rawValue * Self.bucketCount + bucket] }

  /// All samples of `stage`.
  public func total(_ stage: FrameStage) -> UInt64 {
    var n: UInt64 = 0
    for b in 0..<Self.bucketCount { n &+= count(stage, bucket: b) }
    return n
  }

  /// Becomes a copy of `other`, element by element (no allocation).
  public mutating func assign(_ other: StageCounters) {
    for i in 0..<counts.count { counts[i] = other.counts[i] }
    for i in 0..<sumNs.count {
      sumNs[i] = other.sumNs[i]
      periodMaxNs[i] = other.periodMaxNs[i]
    }
  }

  /// Starts a new period for `periodMaxNs`.
  public mutating func startPeriod() {
    for i in 0..<periodMaxNs.count { periodMaxNs[i] = 0 }
  }
}

/// One stage over the window: how many frames, and their p50, p95 and largest duration.
public struct StageSummary: Equatable, Sendable {
  public var frames: UInt64 = 0
  public var p50Ns: UInt64 = 0
  public var p95Ns: UInt64 = 0
  public var maxNs: UInt64 = 0
  public init(frames: UInt64 = 0, p50Ns: UInt64 = 0, p95Ns: UInt64 = 0, maxNs: UInt64 = 0) {
    self.frames = frames
    self.p50Ns = p50Ns
    self.p95Ns = p95Ns
    self.maxNs = maxNs
  }
}

/// The last `periods` periods of the counters, for /status. The reader (the network loop) calls
/// `take` when `isDue`; each take copies the cumulative counts into a ring slot (storage made by
/// `init`, so taking allocates nothing) and starts a new period max. A summary is the difference
/// between the newest and the oldest slot: the last `periods` complete periods (fewer at start).
public struct StageWindow: Sendable {
  /// One second per period, ten periods: /status shows the last 10 s, at most 1 s old.
  public static let defaultPeriodNs: UInt64 = 1_000_000_000
  public static let defaultPeriods = 10

  public let periodNs: UInt64
  public let periods: Int
  /// `periods + 1` snapshots; `newest` is the latest slot, `taken` how many were ever taken.
  var slots: [StageCounters]
  var newest = 0
  public private(set) var taken = 0
  var nextAtNs: UInt64 = 0

  public init(periodNs: UInt64 = StageWindow.defaultPeriodNs, periods: Int = StageWindow.defaultPeriods) {
    self.periodNs = max(periodNs, 1)
    self.periods = max(periods, 1)
    slots = [StageCounters](repeating: StageCounters(), count: self.periods + 1)
    // each slot its own storage, so writing one never copies another's (copy on write)
    for i in slots.indices { slots[i] = StageCounters() }
  }

  /// A period has ended (or nothing was taken yet).
  public func isDue(now: UInt64) -> Bool { taken == 0 || now >= nextAtNs }

  /// Ends a period at `now`: keeps a copy of `live` and starts its next period max. No allocation.
  public mutating func take(_ live: inout StageCounters, now: UInt64) {
    newest = taken == 0 ? 0 : (newest + 1) % slots.count
    slots[newest].assign(live)
    live.startPeriod()
    taken += 1
    // the next period starts now when the loop was late by more than a period
    nextAtNs = (taken > 1 && now < nextAtNs &+ periodNs) ? nextAtNs &+ periodNs : now &+ periodNs
  }

  /// The cumulative counts at the last take (for /metrics), nil before the first.
  public var latest: StageCounters? { taken == 0 ? nil : slots[newest] }

  /// Complete periods the summaries cover.
  public var coveredPeriods: Int { min(max(taken - 1, 0), periods) }

  /// `stage` over the covered periods (zero frames before two takes).
  public func summary(_ stage: FrameStage) -> StageSummary {
    let covered = coveredPeriods
    guard covered > 0 else { return StageSummary() }
    let oldest = (newest + slots.count - covered) % slots.count
    let new = slots[newest], old = slots[oldest]
    var diff = [UInt64](repeating: 0, count: StageCounters.bucketCount)
    var frames: UInt64 = 0
    for b in 0..<diff.count {
      diff[b] = new.count(stage, bucket: b) &- old.count(stage, bucket: b)
      frames &+= diff[b]
    }
    guard frames > 0 else { return StageSummary() }
    var maxNs: UInt64 = 0
    for k in 0..<covered { maxNs = max(maxNs, slots[(newest + slots.count - k) % slots.count].periodMaxNs[stage.rawValue]) }
    return StageSummary(frames: frames, p50Ns: Self.quantile(diff, permille: 500, maxNs: maxNs),
      p95Ns: Self.quantile(diff, permille: 950, maxNs: maxNs), maxNs: maxNs)
  }

  /// The `permille` quantile of bucket counts: the bucket holding the sample of that rank, the
  /// value interpolated linearly inside it (the +Inf bucket ends at `maxNs`), at most `maxNs`.
  public static func quantile(_ buckets: [UInt64], permille: Int, maxNs: UInt64) -> UInt64 {
    var total: UInt64 = 0
    for c in buckets { total &+= c }
    guard total > 0 else { return 0 }
    // the rank of the sample: ceil(total * q), at least 1
    let rank = max((total * UInt64(permille) + 999) / 1000, 1)
    var below: UInt64 = 0
    for b in 0..<buckets.count {
      let c = buckets[b]
      if c > 0 && below + c >= rank {
        let lower = b == 0 ? 0 : StageCounters.boundsNs[b - 1]
        let upper = b < StageCounters.boundsNs.count ? StageCounters.boundsNs[b] : max(maxNs, lower)
        let inside = Double(rank - below) / Double(c)
        let v = lower + UInt64(Double(upper - lower) * inside)
        return min(v, maxNs)
      }
      below += c
    }
    return maxNs
  }
}
