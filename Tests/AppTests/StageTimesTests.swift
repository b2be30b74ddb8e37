import AllocCounter
import DTLS
import HTTP
import Testing
import Wire

@testable import App

/// Per-stage frame times: the histogram, the window over fake times, the verdict, and how
/// /status and /metrics show them.
@Suite struct StageTimesTests {
  static let ms: UInt64 = 1_000_000
  static let second: UInt64 = 1_000_000_000

  func makeCore(fps: Int = 30) throws -> CoreHarness {
    try AppTests.makeCore(seed: "stage-times-tests", now: 0,
      source: SourceStatus(format: SourceFormat(width: 640, height: 480, fps: fps)))
  }

  @Test func bucketsAreBoundedAboveAndTheLastIsInfinite() {
    #expect(StageCounters.bucket(ns: 0) == 0)
    #expect(StageCounters.bucket(ns: 10_000) == 0)
    #expect(StageCounters.bucket(ns: 10_001) == 1)
    #expect(StageCounters.bucket(ns: 33_333_000) == StageCounters.boundsNs.firstIndex(of: 33_333_000))
    #expect(StageCounters.bucket(ns: 33_334_000) == StageCounters.boundsNs.firstIndex(of: 40_000_000))
    #expect(StageCounters.bucket(ns: Self.second) == StageCounters.boundsNs.count - 1)
    #expect(StageCounters.bucket(ns: Self.second + 1) == StageCounters.boundsNs.count)
    #expect(StageCounters.bucket(ns: UInt64.max) == StageCounters.boundsNs.count)
    // strictly increasing bounds
    for i in 1..<StageCounters.boundsNs.count { #expect(StageCounters.boundsNs[i - 1] < StageCounters.boundsNs[i]) }
  }

  @Test func recordCountsSumsAndKeepsThePeriodMaxPerStage() {
    var c = StageCounters()
    c.record(.encode, ns: 4 * Self.ms)
    c.record(.encode, ns: 6 * Self.ms)
    c.record(.send, ns: 30_000)
    #expect(c.total(.encode) == 2)
    #expect(c.total(.send) == 1)
    #expect(c.total(.convert) == 0)
    #expect(c.sumNs[FrameStage.encode.rawValue] == 10 * Self.ms)
    #expect(c.periodMaxNs[FrameStage.encode.rawValue] == 6 * Self.ms)
    #expect(c.count(.encode, bucket: StageCounters.bucket(ns: 4 * Self.ms)) == 1)
    c.startPeriod()
    #expect(c.periodMaxNs[FrameStage.encode.rawValue] == 0)
    #expect(c.total(.encode) == 2)  // counts are cumulative
  }

  @Test func windowSummarisesTheLastPeriodsOnly() {
    var live = StageCounters()
    var w = StageWindow(periodNs: Self.second, periods: 3)
    #expect(w.isDue(now: 0))
    #expect(w.summary(.encode) == StageSummary())
    w.take(&live, now: 0)
    #expect(!w.isDue(now: Self.second - 1))
    #expect(w.isDue(now: Self.second))
    // period 1: 90 frames of 1 ms, 10 of 38 ms
    for _ in 0..<90 { live.record(.encode, ns: Self.ms) }
    for _ in 0..<10 { live.record(.encode, ns: 38 * Self.ms) }
    w.take(&live, now: Self.second)
    var s = w.summary(.encode)
    #expect(s.frames == 100)
    #expect(s.maxNs == 38 * Self.ms)
    #expect(s.p50Ns > 500_000 && s.p50Ns <= Self.ms, "p50 \(s.p50Ns) in the 1 ms bucket")
    #expect(s.p95Ns > 33_333_000 && s.p95Ns <= 38 * Self.ms, "p95 \(s.p95Ns) in the 40 ms bucket, at most the max")
    #expect(w.summary(.send).frames == 0)
    #expect(w.coveredPeriods == 1)
    // periods 2 and 3: 2 ms frames; the 38 ms ones still in the window
    for p: UInt64 in 2...3 {
      for _ in 0..<50 { live.record(.encode, ns: 2 * Self.ms) }
      w.take(&live, now: p * Self.second)
    }
    s = w.summary(.encode)
    #expect(s.frames == 200)
    #expect(s.maxNs == 38 * Self.ms)
    // period 4: the first period leaves the 3-period window, with its max
    for _ in 0..<50 { live.record(.encode, ns: 2 * Self.ms) }
    w.take(&live, now: 4 * Self.second)
    s = w.summary(.encode)
    #expect(s.frames == 150)
    #expect(s.maxNs == 2 * Self.ms)
    #expect(s.p95Ns > Self.ms && s.p95Ns <= 2 * Self.ms)
    // three periods without frames: nothing left
    for p: UInt64 in 5...7 { w.take(&live, now: p * Self.second) }
    #expect(w.summary(.encode).frames == 0)
    #expect(w.latest?.total(.encode) == 250)  // /metrics: cumulative since start
  }

  @Test func aLateLoopRestartsThePeriodInsteadOfTakingSeveralAtOnce() {
    var live = StageCounters()
    var w = StageWindow(periodNs: Self.second, periods: 10)
    w.take(&live, now: 5)
    w.take(&live, now: Self.second + 5)
    #expect(!w.isDue(now: 2 * Self.second + 4))
    #expect(w.isDue(now: 2 * Self.second + 5))
    // 10 s late: the next period ends a second after this take, not at once
    w.take(&live, now: 12 * Self.second)
    #expect(!w.isDue(now: 12 * Self.second + 1))
    #expect(w.isDue(now: 13 * Self.second))
  }

  @Test func quantilesPastTheLastBoundEndAtTheMax() {
    var buckets = [UInt64](repeating: 0, count: StageCounters.bucketCount)
    buckets[StageCounters.boundsNs.count] = 20
    let p95 = StageWindow.quantile(buckets, permille: 950, maxNs: 3 * Self.second)
    #expect(p95 > Self.second && p95 <= 3 * Self.second)
    // all samples zero (a source that converts nothing): 0, not half a bucket
    var zero = [UInt64](repeating: 0, count: StageCounters.bucketCount)
    zero[0] = 30
    #expect(StageWindow.quantile(zero, permille: 500, maxNs: 0) == 0)
    #expect(StageWindow.quantile([UInt64](repeating: 0, count: StageCounters.bucketCount), permille: 950, maxNs: 0) == 0)
  }

  @Test func verdictNamesTheLargestStageOfAThreadOverNinetyPercent() {
    let budget: UInt64 = 33_333_333
    func p95(_ values: [FrameStage: UInt64]) -> (FrameStage) -> UInt64? { { values[$0] } }
    // encode 31 ms + convert 2 ms of 33.3 ms: the capture thread is short, encode is why
    var v = StageVerdict(budgetNs: budget, p95Ns: p95([.convert: 2 * Self.ms, .encode: 31 * Self.ms, .send: Self.ms]))
    #expect(v.captureLoadPermille == 990)
    #expect(v.networkLoadPermille == 30)
    #expect(v.busiest == .encode)
    #expect(v.short == .encode)
    // comfortable: the busiest stage is named, none is short
    v = StageVerdict(budgetNs: budget, p95Ns: p95([.convert: 2 * Self.ms, .encode: 10 * Self.ms, .send: Self.ms]))
    #expect(v.busiest == .encode)
    #expect(v.short == nil)
    // the network loop over budget: send (many viewers, a slow link)
    v = StageVerdict(budgetNs: budget, p95Ns: p95([.encode: 10 * Self.ms, .packetizeProtect: 5 * Self.ms, .send: 40 * Self.ms]))
    #expect(v.short == .send)
    #expect(v.networkLoadPermille == 1350)
    // no frames yet
    v = StageVerdict(budgetNs: budget, p95Ns: { _ in nil })
    #expect(v.busiest == nil && v.short == nil && v.captureLoadPermille == 0)
    // capture wait is idle time: never busiest, never short
    v = StageVerdict(budgetNs: budget, p95Ns: p95([.captureWait: 33 * Self.ms, .encode: Self.ms]))
    #expect(v.busiest == .encode && v.short == nil)
  }

  @Test func recordingAndTakingAllocateNothing() {
    var live = StageCounters()
    var w = StageWindow(periodNs: Self.second, periods: 10)
    w.take(&live, now: 0)
    for p: UInt64 in 1...15 {
      let ns = p * 1000 * 777
      // (no `for` over FrameStage.all here: the unoptimised test build's iterator allocates)
      alloc_counter_begin()
      live.record(.captureWait, ns: ns)
      live.record(.convert, ns: ns)
      live.record(.encode, ns: ns)
      live.record(.packetizeProtect, ns: ns)
      live.record(.send, ns: ns)
      w.take(&live, now: p * Self.second)
      let n = alloc_counter_end()
      #expect(n == 0, "allocations recording and taking period \(p)")
    }
  }

  @Test func statusShowsEveryStageTheBudgetAndTheVerdict() throws {
    let core = try makeCore(fps: 30)
    var live = StageCounters()
    core.core.handleStageCounters(&live, now: 0)
    for _ in 0..<30 {
      live.record(.captureWait, ns: 20 * Self.ms)
      live.record(.convert, ns: 3 * Self.ms)
      live.record(.encode, ns: 31 * Self.ms)
      live.record(.packetizeProtect, ns: 200_000)
      live.record(.send, ns: 50_000)
    }
    core.core.handleStageCounters(&live, now: Self.second)
    let text = core.statusJSON(now: Self.second)
    let j = try parseJson(Array(text.utf8))
    let st = try #require(j["stages"], "\(text)")
    #expect(st["window_ms"]?.int64Value == 1000)
    #expect(st["frame_budget_ms"] == JsonValue.number("33.333"))
    for name in ["capture_wait", "convert", "encode", "packetize_protect", "send"] {
      let s = try #require(st[name + "_ms"], "\(name)_ms in \(text)")
      #expect(s["frames"]?.int64Value == 30)
      for k in ["p50", "p95", "max"] {
        guard case .number = s[k] else { Issue.record("\(name)_ms.\(k) is not a number: \(text)"); continue }
      }
    }
    #expect(st["encode_ms"]?["max"] == JsonValue.number("31.000"))
    #expect(st["send_ms"]?["max"] == JsonValue.number("0.050"))
    #expect(st["capture_thread_percent"]?.int64Value == 101)  // p95s 2.97 (in the 2-3 ms bucket) + 31 ms of 33.3 ms
    #expect(st["busiest"]?.stringValue == "encode")
    #expect(st["short"]?.stringValue == "encode")
  }

  @Test func statusBeforeAnyFrameHasNullTimes() throws {
    let core = try makeCore(fps: 25)
    let j = try parseJson(Array(core.statusJSON(now: 0).utf8))
    let st = try #require(j["stages"])
    #expect(st["frame_budget_ms"] == JsonValue.number("40.000"))
    #expect(st["encode_ms"]?["frames"]?.int64Value == 0)
    #expect(st["encode_ms"]?["p95"]?.isNull == true)
    #expect(st["short"]?.isNull == true)
    #expect(st["busiest"]?.isNull == true)
  }

  @Test func metricsHaveAHistogramPerStage() throws {
    let core = try makeCore(fps: 30)
    var live = StageCounters()
    for _ in 0..<4 { live.record(.encode, ns: 8 * Self.ms) }
    live.record(.send, ns: 2 * Self.second)
    core.core.handleStageCounters(&live, now: 0)
    let text = core.metricsText()
    #expect(text.contains("# TYPE rtcam_stage_duration_seconds histogram\n"))
    #expect(text.contains("# HELP rtcam_stage_duration_seconds "))
    #expect(text.contains("\nrtcam_stage_duration_seconds_bucket{stage=\"encode\",le=\"0.0075\"} 0\n"))
    #expect(text.contains("\nrtcam_stage_duration_seconds_bucket{stage=\"encode\",le=\"0.01\"} 4\n"))
    #expect(text.contains("\nrtcam_stage_duration_seconds_bucket{stage=\"encode\",le=\"+Inf\"} 4\n"))
    #expect(text.contains("\nrtcam_stage_duration_seconds_sum{stage=\"encode\"} 0.032\n"))
    #expect(text.contains("\nrtcam_stage_duration_seconds_count{stage=\"encode\"} 4\n"))
    #expect(text.contains("\nrtcam_stage_duration_seconds_bucket{stage=\"send\",le=\"1\"} 0\n"))
    #expect(text.contains("\nrtcam_stage_duration_seconds_count{stage=\"send\"} 1\n"))
    #expect(text.contains("\nrtcam_stage_duration_seconds_count{stage=\"capture_wait\"} 0\n"))
    #expect(text.contains("\nrtcam_frame_budget_seconds 0.033333\n"))
    // one TYPE line for the family, 5 stages x (buckets + sum + count) samples
    let lines = text.split(separator: "\n").filter { $0.hasPrefix("rtcam_stage_duration_seconds") }
    #expect(lines.count == 5 * (StageCounters.bucketCount + 2))
  }
}
