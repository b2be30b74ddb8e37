// What the picture source is doing, as one enum that carries its data; the capture thread
// publishes it, the core shows it in /status.
import Capture
import Encoder

/// Why the source delivers no frames, typed as the capture or encoder layer reported it.
public enum SourceError: Error, Equatable, Sendable {
  case capture(CaptureError)
  case encoder(EncoderError)

  /// The stable code for the log and /status (CAMERA_LOST, ENCODER_INIT_FAILED, ...).
  public var code: String {
    switch self {
    case .capture(let e): return e.code
    case .encoder(let e): return e.code
    }
  }

  public var message: String {
    switch self {
    case .capture(let e): return e.message
    case .encoder(let e): return e.message
    }
  }
}

/// The picture the source delivers.
public struct SourceFormat: Equatable, Sendable {
  public var width: Int
  public var height: Int
  public var fps: Int

  public init(width: Int, height: Int, fps: Int) {
    self.width = width
    self.height = height
    self.fps = fps
  }
}

public enum SourceState: Equatable, Sendable {
  /// The capture thread has not reported yet.
  case starting
  case running(SourceFormat)
  /// A camera that failed (missing, busy, lost, ...): it is reopened every few seconds.
  case retrying(SourceError)
  /// A test pattern or file source that failed: it is not restarted.
  case failed(SourceError)
  /// The capture thread ended (shutdown, or a file source reached its end).
  case stopped

  /// For /status: "starting", "running", "failed" (also while a camera is retried) or "stopped".
  public var name: String {
    switch self {
    case .starting: return "starting"
    case .running: return "running"
    case .retrying, .failed: return "failed"
    case .stopped: return "stopped"
    }
  }

  public var error: SourceError? {
    switch self {
    case .retrying(let e), .failed(let e): return e
    default: return nil
    }
  }
}
