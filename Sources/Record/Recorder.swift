// Recorder: the policy around the fMP4 writer for --record, sans-IO. Frames in; the writer's file
// steps out; the runtime reports what became of each (errno) and the recorder decides: a full
// disk or a failed write pauses recording with a code and tries again later, while the live
// stream never notices; segment names come from the wall clock; retention runs when a segment
// closes and before a retry.

/// Why recording is paused.
public struct RecorderFault: Equatable, Sendable {
  /// RECORD_DISK_FULL, RECORD_READ_ONLY, RECORD_WRITE_FAILED, RECORD_CREATE_FAILED, or a
  /// RecordError's code.
  public var code: String
  public var message: String
  /// Monotonic time it began.
  public var since: UInt64

  public init(code: String, message: String, since: UInt64) {
    self.code = code
    self.message = message
    self.since = since
  }
}

/// Where recording stands.
public enum RecorderPhase: Equatable, Sendable {
  /// Waiting for the first keyframe (at start, after a pause).
  case waitingForKeyframe
  /// Writing this segment file.
  case recording(name: String)
  /// Stopped by a fault; tries again at `retryAt` (monotonic).
  case paused(RecorderFault, retryAt: UInt64)
}

/// The recorder's settings (--record-segment, --record-max-bytes, --record-max-age).
public struct RecorderConfig: Equatable, Sendable {
  public var segmentSeconds = 60
  public var limits = RetentionLimits()
  /// How long a fault pauses recording before it tries again: long enough that a full card is
  /// not hammered with writes, short enough that space freed by hand is used within a minute.
  public var retryNs: UInt64 = 30_000_000_000

  public init() {}

  /// The bounds of --record-segment: ten seconds to an hour.
  public static let segmentRange = 10...3600
}

/// What the runtime reports after a file step.
public enum RecorderIOResult: Equatable, Sendable {
  case done
  /// The step failed with this errno.
  case failed(Int32)
}

/// The recording policy around one `Fmp4Writer`.
public struct Recorder: Sendable {
  public let config: RecorderConfig
  public private(set) var writer: Fmp4Writer
  public private(set) var phase = RecorderPhase.waitingForKeyframe
  /// Set when a segment closed or a pause ended: the runtime lists the directory and applies
  /// `Retention` (then calls `retentionDone`).
  public private(set) var retentionDue = true
  /// Faults so far by code (for /metrics), and bytes written.
  public private(set) var faults: [String: UInt64] = [:]
  public private(set) var bytesWritten: UInt64 = 0

  static let enospc: Int32 = 28
  static let edquot: Int32 = 122
  static let erofs: Int32 = 30

  public init(config: RecorderConfig) {
    self.config = config
    var s = Fmp4Settings()
    s.segmentDurationNs = UInt64(max(config.segmentSeconds, 1)) * 1_000_000_000
    writer = Fmp4Writer(settings: s)
  }

  /// One frame. Returns the writer's file steps, in order (nothing while paused). A frame the
  /// writer refuses (too large, a bad SPS) is counted and skipped: the writer waits for the next
  /// keyframe on its own.
  public mutating func frame(
    _ accessUnit: UnsafeRawBufferPointer, captureTimeNs: UInt64, isKeyframe: Bool, now: UInt64
  ) -> RecordActions {
    if case .paused(_, let retryAt) = phase {
      guard now >= retryAt else { return RecordActions() }
      phase = .waitingForKeyframe
      retentionDue = true
    }
    do throws(RecordError) {
      return try writer.push(accessUnit, captureTimeNs: captureTimeNs, isKeyframe: isKeyframe)
    } catch {
      faults[error.code, default: 0] += 1
      return RecordActions()
    }
  }

  /// The file name for a segment whose first frame was captured at `startNs` (monotonic), given
  /// the clocks now: its wall-clock start, plus `bump` seconds when that name is taken.
  public func segmentName(startNs: UInt64, now: UInt64, unixNs: UInt64, bump: Int64 = 0) -> String {
    let age = now >= startNs ? now - startNs : 0
    let startUnix = Int64((unixNs >= age ? unixNs - age : 0) / 1_000_000_000) + bump
    return SegmentName.make(unixSeconds: startUnix) ?? "1970-01-01T00-00-00Z.mp4"
  }

  /// The runtime opened segment `name` for writing (or could not).
  public mutating func opened(_ name: String, _ r: RecorderIOResult, now: UInt64) {
    switch r {
    case .done: phase = .recording(name: name)
    case .failed(let e): pause(code(e, creating: true), "cannot create " + name + ": errno " + String(e), now: now)
    }
  }

  /// The runtime wrote (and synced) `bytes` bytes of the open segment, or failed to.
  public mutating func wrote(_ bytes: Int, _ r: RecorderIOResult, now: UInt64) {
    switch r {
    case .done: bytesWritten &+= UInt64(bytes)
    case .failed(let e): pause(code(e, creating: false), "a write failed: errno " + String(e), now: now)
    }
  }

  /// The open segment was closed (the writer ended it).
  public mutating func closed() {
    if case .recording = phase { phase = .waitingForKeyframe }
    retentionDue = true
  }

  /// Frames stopped coming (a stalled camera): the fragment collected so far, written now.
  public mutating func flushForIdle() -> RecordActions { writer.flush() }

  /// Stops recording (shutdown): the writer's last fragment and the segment's end.
  public mutating func finish() -> RecordActions { writer.finish() }

  /// The runtime applied retention.
  public mutating func retentionDone() { retentionDue = false }

  /// The segment being written, if any.
  public var openName: String? {
    if case .recording(let name) = phase { return name }
    return nil
  }

  public var fault: RecorderFault? {
    if case .paused(let f, _) = phase { return f }
    return nil
  }

  mutating func pause(_ code: String, _ message: String, now: UInt64) {
    faults[code, default: 0] += 1
    phase = .paused(RecorderFault(code: code, message: message, since: now), retryAt: now &+ config.retryNs)
    // what the writer holds is dropped; the next segment starts at a keyframe after the retry
    _ = writer.finish()
  }

  func code(_ e: Int32, creating: Bool) -> String {
    switch e {
    case Recorder.enospc, Recorder.edquot: return "RECORD_DISK_FULL"
    case Recorder.erofs: return "RECORD_READ_ONLY"
    default: return creating ? "RECORD_CREATE_FAILED" : "RECORD_WRITE_FAILED"
    }
  }
}

/// What the recording thread tells the server (published when it changes: after each fragment,
/// segment and retention run; nothing is built per frame).
public struct RecorderReport: Sendable {
  /// The directory segments are written to.
  public var dir: String
  public var phase = RecorderPhase.waitingForKeyframe
  /// Closed segments, oldest first (a listing of the directory, kept up to date).
  public var entries: [RecordingEntry] = []
  /// The segment being written: its bytes and duration so far.
  public var open: RecordingEntry? = nil
  public var stats = RecordStats()
  public var bytesWritten: UInt64 = 0
  public var faults: [String: UInt64] = [:]
  /// Segments deleted by retention since start.
  public var deleted: UInt64 = 0

  public init(dir: String) { self.dir = dir }

  /// Every segment the listing shows, the open one last.
  public var all: [RecordingEntry] {
    guard let o = open else { return entries }
    return entries + [o]
  }
}
