// Encoder: which encoder runs (--encoder) and what happens when the hardware one fails: the
// policy, sans-IO (time is an input). The capture thread carries it out (EncoderSwitch).

/// `--encoder`: what the user asked for.
public enum EncoderRequest: Equatable, Sendable {
  /// A memory-to-memory H.264 encoder when one is found by its capabilities, else OpenH264.
  case auto
  /// Always OpenH264 (software).
  case openh264
  /// The memory-to-memory encoder at this node, or (nil) the first H.264 one found.
  case v4l2m2m(String?)

  /// "auto", "openh264", "v4l2m2m" or "v4l2m2m:/dev/videoN"; nil for anything else.
  public static func parse(_ s: String) -> EncoderRequest? {
    switch s {
    case "auto": return .auto
    case "openh264": return .openh264
    case "v4l2m2m": return .v4l2m2m(nil)
    default:
      let prefix = "v4l2m2m:"
      guard s.hasPrefix(prefix), s.utf8.count > prefix.utf8.count else { return nil }
      let path = String(s.dropFirst(prefix.count))
      return path.hasPrefix("/") ? .v4l2m2m(path) : nil
    }
  }

  public var text: String {
    switch self {
    case .auto: return "auto"
    case .openh264: return "openh264"
    case .v4l2m2m(let p): return p.map { "v4l2m2m:" + $0 } ?? "v4l2m2m"
    }
  }
}

/// Which encoder runs and why, and when the hardware one is tried again after a fault.
public struct EncoderChoice: Equatable, Sendable {
  public enum State: Equatable, Sendable {
    /// OpenH264, as configured or because no hardware encoder was found (`reason` says which).
    case software(reason: String)
    /// The memory-to-memory encoder at `path` runs.
    case hardware(path: String)
    /// The one at `path` failed (`code`, `message`): OpenH264 runs until `retryAt`, then the
    /// hardware is tried again.
    case fallback(path: String, code: String, message: String, retryAt: UInt64)
  }

  public let request: EncoderRequest
  public private(set) var state: State
  /// Faults in a row since the hardware encoder last ran a while (the retry backs off).
  public private(set) var faultsInARow = 0
  /// Every switch from the hardware encoder to OpenH264 since the start.
  public private(set) var fallbacks: UInt64 = 0

  /// The first retry after a fault, doubled per fault in a row up to `maxRetryNs`: a refused
  /// format is not fixed by trying every frame, and a busy encoder may be free in a minute.
  public static var firstRetryNs: UInt64 { 15_000_000_000 }
  public static var maxRetryNs: UInt64 { 600_000_000_000 }

  /// `found` is what the node scan gave (`V4L2DeviceInfo.defaultEncoder`): the first H.264
  /// encoder's path (nil: none) and a note for the log.
  public init(request: EncoderRequest, found: (path: String?, note: String)) {
    self.request = request
    switch request {
    case .openh264: state = .software(reason: "--encoder openh264")
    case .auto:
      if let p = found.path { state = .hardware(path: p) } else { state = .software(reason: found.note) }
    case .v4l2m2m(let p):
      if let p = p ?? found.path {
        state = .hardware(path: p)
      } else {
        state = .fallback(path: "", code: M2MFault.notFound("").code, message: found.note, retryAt: EncoderChoice.firstRetryNs)
      }
    }
  }

  /// The hardware encoder to open now, or nil for OpenH264.
  public func hardwarePath(now: UInt64) -> String? {
    switch state {
    case .software: return nil
    case .hardware(let p): return p
    case .fallback(let p, _, _, let at): return now >= at && !p.isEmpty ? p : nil
    }
  }

  /// The hardware encoder at `path` is running.
  public mutating func started(path: String) {
    state = .hardware(path: path)
  }

  /// It encoded for a while: later faults start the backoff afresh.
  public mutating func settled() { faultsInARow = 0 }

  /// The hardware encoder at `path` failed (at start or mid-stream): OpenH264 takes over.
  public mutating func failed(path: String, code: String, message: String, now: UInt64) {
    if case .hardware = state { fallbacks += 1 }
    faultsInARow += 1
    let shift = UInt64(min(faultsInARow - 1, 10))
    let delay = min(EncoderChoice.firstRetryNs << shift, EncoderChoice.maxRetryNs)
    state = .fallback(path: path, code: code, message: message, retryAt: now &+ delay)
  }

  /// Whether the memory-to-memory encoder runs (else OpenH264).
  public var hardwareRuns: Bool {
    if case .hardware = state { return true }
    return false
  }

  /// "openh264" or "v4l2m2m", for /status.
  public var running: String { hardwareRuns ? "v4l2m2m" : "openh264" }

  /// The fault code of the last hardware failure while OpenH264 stands in, else nil.
  public var faultCode: String? {
    if case .fallback(_, let code, _, _) = state { return code }
    return nil
  }

  /// Why this encoder runs, for /status and the log.
  public var reason: String {
    switch state {
    case .software(let r): return r
    case .hardware(let p): return "hardware H.264 encoder " + p + " (--encoder " + request.text + ")"
    case .fallback(let p, let code, let m, _):
      return (p.isEmpty ? "" : p + ": ") + code + ": " + m + "; OpenH264 stands in, the hardware encoder is retried"
    }
  }
}
