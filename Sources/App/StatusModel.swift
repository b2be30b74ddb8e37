// What /status and /metrics show, as a read model fed by inputs: the source's state, the
// capture side's counters, the stage times, the JPEG clients and the core's own counters.
import Encoder
import Peer
import Record

/// The JPEG routes' counters for /status and /metrics.
public struct StillStatus: Equatable, Sendable {
  public var streamClients = 0
  public var streamFramesSent: UInt64 = 0
  /// Stream frames a client missed because it had not taken the previous one yet.
  public var streamFramesDropped: UInt64 = 0
  public var snapshotsServed: UInt64 = 0
  public init() {}
}

/// Everything /status and /metrics show besides the live sessions and forwards.
public struct StatusModel: Sendable {
  public internal(set) var source: SourceStatus
  public internal(set) var capture = CaptureCounters()
  /// Which encoder runs and why (nil until the capture thread has chosen).
  public internal(set) var encoder: EncoderChoice? = nil
  /// The JPEG clients' counters, copied from the connection table after each change (the routes
  /// read them while the table is answering a request).
  public internal(set) var stills = StillStatus()
  /// Per-stage frame times over the last seconds (StageTimes.swift).
  public internal(set) var stages = StageWindow()
  /// The recording thread's latest report (nil before its first, or without --record).
  public internal(set) var recording: RecorderReport? = nil
  /// The core's own counters (Metrics.swift).
  public internal(set) var metrics = MetricsCounters()
  /// Monotonic and wall-clock start (uptime; rtcam_process_start_time_seconds).
  public let startedAt: UInt64
  public let startedUnixNs: UInt64

  init(source: SourceStatus, startedAt: UInt64, startedUnixNs: UInt64) {
    self.source = source
    self.startedAt = startedAt
    self.startedUnixNs = startedUnixNs
  }
}

extension HttpServer {
  /// The JPEG clients' counters.
  public var stillStatus: StillStatus {
    var s = StillStatus()
    s.streamClients = streamClients
    s.streamFramesSent = streamFramesSent
    s.streamFramesDropped = streamFramesDropped
    s.snapshotsServed = snapshotsServed
    return s
  }
}

extension ServerCore {
  /// The capture thread chose (or changed) the encoder.
  public func handleEncoder(_ choice: EncoderChoice) { status.encoder = choice }

  /// The source reported a new state. A fault is counted when it begins or changes; a source
  /// that failed for good is logged here (a camera being retried logs its own changes).
  public func handleSource(_ state: SourceState) {
    let before = status.source.state
    if case .running(let f) = state { status.source.format = f }
    if let e = state.error, before.error?.code != e.code {
      status.metrics.sourceFaults[e.code, default: 0] += 1
    }
    if case .failed(let e) = state, before != state {
      log(.error, "source \(status.source.spec) failed: \(e.code): \(e.message) (the page is still served)")
    }
    status.source.state = state
  }

  /// The capture side's counters (every loop turn: plain fields, nothing allocated).
  public func handleCaptureCounters(_ c: CaptureCounters) { status.capture = c }

  /// Whether a stage-window period has ended: then hand the live counters to `handleStageCounters`.
  public func stageWindowDue(now: UInt64) -> Bool { status.stages.isDue(now: now) }

  /// Ends a period of the /status stage window: keeps a copy of the live per-stage counters and
  /// starts their next period (no allocation).
  public func handleStageCounters(_ live: inout StageCounters, now: UInt64) {
    status.stages.take(&live, now: now)
  }
}
