// The policy of a camera's capture thread, without the thread: what to publish and log when the
// camera cannot be opened, starts streaming, is lost or comes back. The runtime's camera thread
// reports what happened and carries out the actions; it retries every `retryNs`.
import Capture
import Encoder

public enum CameraAction: Equatable, Sendable {
  /// Tell the network loop (and so /status) the new state.
  case publish(SourceState)
  case log(LogLevel, String)
}

public struct CameraSupervisor: Sendable {
  /// "v4l2:/dev/video0", for the log.
  public let name: String
  /// Pause between attempts to reopen the camera.
  public var retryNs: UInt64 = 2_000_000_000
  /// The failure last logged: each change is logged once, not every 2 s.
  var lastLogged: SourceError? = nil
  /// The message of a loss, while the camera has not come back after it.
  var lostMessage: String? = nil
  /// True once the camera has streamed: a later start is "back", not "running".
  var hasStreamed = false

  public init(name: String) {
    self.name = name
  }

  /// Opening the camera or starting its encoder failed.
  public mutating func failed(_ error: SourceError) -> [CameraAction] {
    var shown = error
    switch error {
    case .capture(.cameraNotFound), .capture(.notACamera):
      // still gone after a loss: keep saying it was lost
      if let lost = lostMessage { shown = .capture(.cameraLost(lost + "; not back yet")) }
    default: break
    }
    var actions: [CameraAction] = [.publish(.retrying(shown))]
    if shown != lastLogged {
      lastLogged = shown
      actions.append(.log(.error, "source " + name + ": " + shown.code + ": " + shown.message
        + " (retrying every " + String(Int(retryNs / 1_000_000_000)) + " s; the page is still served)"))
    }
    return actions
  }

  /// The camera is open and its first frame is due; `details` describes it for the log.
  public mutating func streaming(_ format: SourceFormat, details: String) -> [CameraAction] {
    let word = hasStreamed ? "camera back: " : "camera running: "
    hasStreamed = true
    lastLogged = nil
    lostMessage = nil
    return [.publish(.running(format)), .log(.info, word + details)]
  }

  /// Capturing stopped with `error` after `counters` ("N frames, D dropped, ...").
  public mutating func ended(_ error: CaptureError, counters: String) -> [CameraAction] {
    if case .cameraLost(let m) = error { lostMessage = m }
    return [.log(.info, "source " + name + " ended after " + counters)] + failed(.capture(error))
  }
}
