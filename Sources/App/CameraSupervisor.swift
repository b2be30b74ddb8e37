// The policy of a source's capture thread, without the thread: what to publish and log when the
// camera (or program) cannot be opened, starts streaming, is lost or comes back, and when to try
// again. The runtime's capture thread reports what happened (with the monotonic time) and
// carries out what `pollOutput` returns; it opens the source again at the `.timeout` it gives.
import Capture
import Encoder

/// What the supervisor asks of the capture thread (`pollOutput`).
public enum CameraOutput: Equatable, Sendable {
  /// Tell the network loop (and so /status) the new state.
  case publish(SourceState)
  case log(LogLevel, String)
  /// Give up: the source is not restarted (the capture thread ends).
  case stop
  /// Nothing more now: after a failure, open the source again at this time; nil while it
  /// streams or once given up.
  case timeout(UInt64?)
}

/// Restart delays for a program that exits: `initialNs`, doubled after each failed attempt up to
/// `maxNs`; a run that streamed for `resetAfterNs` or longer starts the sequence again.
public struct RestartBackoff: Equatable, Sendable {
  public var initialNs: UInt64
  public var maxNs: UInt64
  public var resetAfterNs: UInt64
  /// The delay the next failure gets (unless its run reset it).
  public private(set) var nextNs: UInt64

  /// 1 s doubling to 30 s; reset after 10 s of streaming.
  public init(initialNs: UInt64 = 1_000_000_000, maxNs: UInt64 = 30_000_000_000, resetAfterNs: UInt64 = 10_000_000_000) {
    self.initialNs = initialNs
    self.maxNs = max(maxNs, initialNs)
    self.resetAfterNs = resetAfterNs
    self.nextNs = initialNs
  }

  /// An attempt ended (or failed to start) after streaming for `ranNs` (0: it never streamed):
  /// the delay before the next attempt.
  public mutating func delay(afterStreamingFor ranNs: UInt64) -> UInt64 {
    if ranNs >= resetAfterNs { nextNs = initialNs }
    let d = nextNs
    nextNs = nextNs > maxNs / 2 ? maxNs : nextNs * 2
    return d
  }
}

/// How a supervised source is tried again.
public enum RestartPolicy: Equatable, Sendable {
  /// Every `retryNs` (cameras: a camera that is missing or lost is looked for every 2 s).
  case fixed(UInt64)
  /// With backoff (programs: one that keeps failing is not restarted in a tight loop).
  case backoff(RestartBackoff)
  /// Never: a failure is final (standard input cannot be reopened).
  case never
}

public struct CameraSupervisor: Sendable {
  /// "v4l2:/dev/video0", for the log.
  public let name: String
  /// "camera" or "source", for the log ("camera running: ...").
  public let noun: String
  public internal(set) var policy: RestartPolicy
  /// Whether starts and ends of a run are logged ("camera running: ...", "source ... ended after
  /// ..."). Off for the test pattern and Y4M files, which are opened once and say what they are in
  /// the start-up log.
  public let announcesRuns: Bool
  /// Pause before the next attempt (set after each failure).
  public internal(set) var retryNs: UInt64
  /// The failure last logged: each change is logged once, not every attempt.
  var lastLogged: SourceError? = nil
  /// The message of a loss, while the camera has not come back after it.
  var lostMessage: String? = nil
  /// True once the source has streamed: a later start is "back", not "running".
  var hasStreamed = false
  /// When the current run started streaming (monotonic ns), while it streams.
  var streamingSince: UInt64? = nil
  /// When to try again after the last failure (nil while streaming, or given up).
  var retryAt: UInt64? = nil
  /// Outputs waiting for `pollOutput` (a few per event: never per frame).
  var pending: [CameraOutput] = []

  public init(name: String, noun: String = "camera", policy: RestartPolicy = .fixed(2_000_000_000),
              announcesRuns: Bool = true) {
    self.name = name
    self.noun = noun
    self.policy = policy
    self.announcesRuns = announcesRuns
    switch policy {
    case .fixed(let ns): retryNs = ns
    case .backoff(let b): retryNs = b.nextNs
    case .never: retryNs = 0
    }
  }

  /// What the capture thread must do next, one at a time, then `.timeout`.
  public mutating func pollOutput() -> CameraOutput {
    if !pending.isEmpty { return pending.removeFirst() }
    return .timeout(retryAt)
  }

  /// Opening the source or starting its encoder failed, at `now`.
  public mutating func handleFailed(_ error: SourceError, now: UInt64 = 0) { pending += failed(error, now: now) }

  /// The source is open and its first frame is due (at `now`); `details` describes it for the log.
  public mutating func handleStreaming(_ format: SourceFormat, details: String, now: UInt64 = 0) {
    pending += streaming(format, details: details, now: now)
  }

  /// Capturing stopped with `error` at `now` after `counters` ("N frames, D dropped, ...").
  public mutating func handleEnded(_ error: CaptureError, counters: String, now: UInt64 = 0) {
    pending += ended(error, counters: counters, now: now)
  }

  mutating func failed(_ error: SourceError, now: UInt64) -> [CameraOutput] {
    let ran = streamingSince.map { now >= $0 ? now - $0 : 0 } ?? 0
    streamingSince = nil
    var shown = error
    switch error {
    case .capture(.cameraNotFound), .capture(.notACamera):
      // still gone after a loss: keep saying it was lost
      if let lost = lostMessage { shown = .capture(.cameraLost(lost + "; not back yet")) }
    default: break
    }
    let again: String
    switch policy {
    case .never:
      // the core logs a final failure itself
      retryAt = nil
      return [.publish(.failed(shown)), .stop]
    case .fixed(let ns):
      retryNs = ns
      again = "retrying every " + wholeSeconds(ns)
    case .backoff(var b):
      retryNs = b.delay(afterStreamingFor: ran)
      policy = .backoff(b)
      again = "restarting in " + wholeSeconds(retryNs) + ", then up to every " + wholeSeconds(b.maxNs)
    }
    retryAt = now &+ retryNs
    var actions: [CameraOutput] = [.publish(.retrying(shown))]
    if shown != lastLogged {
      lastLogged = shown
      actions.append(.log(.error, "source " + name + ": " + shown.code + ": " + shown.message
        + " (" + again + "; the page is still served)"))
    } else if case .backoff = policy {
      actions.append(.log(.debug, "source " + name + ": " + shown.code + " again; restarting in " + wholeSeconds(retryNs)))
    }
    return actions
  }

  mutating func streaming(_ format: SourceFormat, details: String, now: UInt64) -> [CameraOutput] {
    let word = hasStreamed ? noun + " back: " : noun + " running: "
    hasStreamed = true
    lastLogged = nil
    lostMessage = nil
    streamingSince = now
    retryAt = nil
    guard announcesRuns else { return [.publish(.running(format))] }
    return [.publish(.running(format)), .log(.info, word + details)]
  }

  mutating func ended(_ error: CaptureError, counters: String, now: UInt64) -> [CameraOutput] {
    if case .cameraLost(let m) = error { lostMessage = m }
    guard announcesRuns else { return failed(.capture(error), now: now) }
    return [.log(.info, "source " + name + " ended after " + counters)] + failed(.capture(error), now: now)
  }
}

/// "2 s", "30 s", "0.5 s".
func wholeSeconds(_ ns: UInt64) -> String {
  if ns % 1_000_000_000 == 0 { return String(ns / 1_000_000_000) + " s" }
  let tenths = ns / 100_000_000
  return String(tenths / 10) + "." + String(tenths % 10) + " s"
}
