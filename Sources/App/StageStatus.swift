// Which stage is short of time, and the stage times in /status ("stages") and /metrics
// (rtcam_stage_duration_seconds{stage}).
import HTTP
import Wire

/// The verdict over the window. The capture thread's work (convert + encode) and the network
/// loop's (packetize+protect + send) each have one frame budget (1/fps): they run side by side,
/// so each thread must finish a frame's work before the next frame comes. Judged on p95s.
public struct StageVerdict: Equatable, Sendable {
  /// A thread whose p95 work takes more than this share of the frame budget (per mille) is
  /// short of time: little headroom left for a slower frame (a keyframe, a busy CPU).
  public static let shortPermille: UInt64 = 900

  public var budgetNs: UInt64
  /// p95 work per frame of each thread, per mille of the budget.
  public var captureLoadPermille: UInt64
  public var networkLoadPermille: UInt64
  /// The work stage with the largest p95 (nil while no stage has frames).
  public var busiest: FrameStage?
  /// The largest stage of the most loaded thread, when that thread is over `shortPermille`.
  public var short: FrameStage?

  public init(budgetNs: UInt64, p95Ns: (FrameStage) -> UInt64?) {
    self.budgetNs = max(budgetNs, 1)
    let c = Self.load(FrameStage.captureWork, budgetNs: self.budgetNs, p95Ns)
    let n = Self.load(FrameStage.networkWork, budgetNs: self.budgetNs, p95Ns)
    captureLoadPermille = c.permille
    networkLoadPermille = n.permille
    busiest = Self.largest(FrameStage.captureWork + FrameStage.networkWork, p95Ns)
    let worst = c.permille >= n.permille ? c : n
    short = worst.permille > Self.shortPermille ? worst.largest : nil
  }

  /// The stage with the largest p95 among `stages` (the first of equals; nil if none has one).
  static func largest(_ stages: [FrameStage], _ p95Ns: (FrameStage) -> UInt64?) -> FrameStage? {
    var best: (stage: FrameStage, ns: UInt64)? = nil
    for s in stages {
      guard let v = p95Ns(s) else { continue }
      if best == nil || v > best!.ns { best = (s, v) }
    }
    return best?.stage
  }

  /// One thread's p95 work per mille of the budget, and its largest stage.
  static func load(_ stages: [FrameStage], budgetNs: UInt64, _ p95Ns: (FrameStage) -> UInt64?)
    -> (permille: UInt64, largest: FrameStage?)
  {
    var sum: UInt64 = 0
    for s in stages { sum &+= p95Ns(s) ?? 0 }
    let (scaled, overflow) = sum.multipliedReportingOverflow(by: 1000)
    return (overflow ? UInt64.max : scaled / budgetNs, largest(stages, p95Ns))
  }
}

extension ServerCore {
  /// The frame budget: one frame interval at the source's rate.
  var frameBudgetNs: UInt64 { 1_000_000_000 / UInt64(max(status.source.format.fps, 1)) }

  /// The "stages" object of /status.
  func writeStages(_ w: inout JsonWriter) {
    var summaries: [StageSummary] = []
    for s in FrameStage.all { summaries.append(status.stages.summary(s)) }
    let verdict = StageVerdict(budgetNs: frameBudgetNs) { s in
      let m = summaries[s.rawValue]
      return m.frames > 0 ? m.p95Ns : nil
    }
    w.beginObject()
    w.key("window_ms"); w.uint64(UInt64(status.stages.coveredPeriods) * status.stages.periodNs / 1_000_000)
    w.key("frame_budget_ms"); w.raw(millis(frameBudgetNs))
    for s in FrameStage.all {
      let m = summaries[s.rawValue]
      w.key(s.name + "_ms"); w.beginObject()
      w.key("frames"); w.uint64(m.frames)
      for (k, v) in [("p50", m.p50Ns), ("p95", m.p95Ns), ("max", m.maxNs)] {
        w.key(k); if m.frames > 0 { w.raw(millis(v)) } else { w.null() }
      }
      w.endObject()
    }
    w.key("capture_thread_percent"); w.uint64(verdict.captureLoadPermille / 10)
    w.key("network_thread_percent"); w.uint64(verdict.networkLoadPermille / 10)
    w.key("busiest"); if let b = verdict.busiest { w.string(b.name) } else { w.null() }
    w.key("short"); if let s = verdict.short { w.string(s.name) } else { w.null() }
    w.endObject()
  }

  /// rtcam_stage_duration_seconds{stage}: the cumulative histograms as of the window's last
  /// take (at most a period old), and the frame budget.
  func writeStageMetrics(_ m: inout PrometheusText) {
    let c = status.stages.latest ?? StageCounters()
    m.family("rtcam_stage_duration_seconds", "histogram",
      "Time per frame in each stage: capture_wait, convert, encode, packetize_protect and send (the last two summed over viewers).")
    for s in FrameStage.all {
      var cumulative: UInt64 = 0
      for (i, b) in StageCounters.boundsNs.enumerated() {
        cumulative &+= c.count(s, bucket: i)
        m.sample("rtcam_stage_duration_seconds_bucket", [("stage", s.name), ("le", formatSeconds(Double(b) / 1e9))],
          String(cumulative))
      }
      cumulative &+= c.count(s, bucket: StageCounters.boundsNs.count)
      m.sample("rtcam_stage_duration_seconds_bucket", [("stage", s.name), ("le", "+Inf")], String(cumulative))
      m.sample("rtcam_stage_duration_seconds_sum", [("stage", s.name)], formatSeconds(Double(c.sumNs[s.rawValue]) / 1e9))
      m.sample("rtcam_stage_duration_seconds_count", [("stage", s.name)], String(cumulative))
    }
    m.gauge("rtcam_frame_budget_seconds", "One frame interval at the source's rate (1/fps).",
      formatSeconds(Double(frameBudgetNs) / 1e9))
  }
}

/// Nanoseconds as milliseconds with 3 decimals ("33.333"), for JSON numbers.
func millis(_ ns: UInt64) -> String {
  let us = ns / 1000
  var frac = String(us % 1000)
  while frac.utf8.count < 3 { frac = "0" + frac }
  return String(us / 1000) + "." + frac
}
