// GET /snapshot.jpg and GET /stream.mjpg: the routes. Which captured frames become JPEGs is
// StillPolicy's decision (StillPolicy.swift); the JPEG thread encodes them (never the network
// loop); the connection table (HttpServer) hands the JPEGs out.
import HTTP
import Wire

/// The JPEG routes' counters for /status and /metrics.
public struct StillStatus: Equatable, Sendable {
  public var streamClients = 0
  public var streamFramesSent: UInt64 = 0
  /// Stream frames a client missed because it had not taken the previous one yet.
  public var streamFramesDropped: UInt64 = 0
  public var snapshotsServed: UInt64 = 0
  public init() {}
}

extension ServerCore {
  /// The JPEG routes; nil for any other path.
  func stillRoute(_ req: HttpRequest, from: SocketAddress, now: UInt64) -> HttpReply? {
    let path = req.path
    let isSnapshot = path == "/snapshot.jpg" || path == "/snapshot"
    let isStream = path == "/stream.mjpg" || path == "/stream"
    guard isSnapshot || isStream else { return nil }
    guard req.method == "GET" || req.method == "HEAD" else { return .now(methodNotAllowed("GET")) }
    if isStream && options.stills.maxStreamClients == 0 {
      return .now(.error(404, code: "STREAM_OFF", message: "the MJPEG stream is turned off (--max-stream-clients 0)"))
    }
    var quality = options.stills.quality
    if isSnapshot {
      switch Self.qualityParameter(req.query) {
      case .absent: break
      case .value(let q): quality = q
      case .invalid(let text):
        return .now(.error(400, code: "BAD_QUALITY", message: "quality must be a whole number from "
          + String(StillOptions.qualityRange.lowerBound) + " to " + String(StillOptions.qualityRange.upperBound)
          + ", not '" + text + "'"))
      }
    }
    // a source that is starting gets its chance (the wait is bounded); a failed one is refused now
    switch sourceStatus.state {
    case .running, .starting: break
    default:
      let e = sourceStatus.state.error
      var r = HttpResponse.error(503, code: e?.code ?? "NO_PICTURE",
        message: "no picture: the source is " + sourceStatus.state.name + (e.map { " (" + $0.message + ")" } ?? ""))
      r.setHeader("Retry-After", "2")
      return .now(r)
    }
    if isStream {
      if req.isHead {
        return .now(HttpResponse(status: 200, contentType: "multipart/x-mixed-replace; boundary=" + HttpServer.streamBoundary,
          body: []))
      }
      return .stream
    }
    let key = addressKey(from)
    if let wait = snapshots.blockedFor(key, now: now) {
      var r = HttpResponse.error(429, code: "TOO_MANY_SNAPSHOTS",
        message: "too many snapshots from \(key.ipString) in the last minute (--snapshots-per-minute)")
      r.setHeader("Retry-After", String(retryAfterSeconds(wait)))
      return .now(r)
    }
    snapshots.record(key, now: now)
    return .snapshot(quality: quality)
  }

  enum QualityParameter: Equatable {
    case absent
    case value(Int)
    case invalid(String)
  }

  /// `quality=N` in a query string ("quality=60&t=123"); other parameters are ignored (cache
  /// busters).
  static func qualityParameter(_ query: String?) -> QualityParameter {
    guard let q = query else { return .absent }
    for pair in q.splitASCII(UInt8(ascii: "&")) {
      let kv = pair.splitASCII(UInt8(ascii: "="), maxSplits: 1)
      guard kv.first == "quality" else { continue }
      let text = kv.count == 2 ? kv[1] : ""
      guard let n = parseDecimal(text, max: 1000), StillOptions.qualityRange.contains(n) else {
        return .invalid(String(text.prefix(16)))
      }
      return .value(n)
    }
    return .absent
  }
}

/// The MJPEG stream's bytes.
extension HttpServer {
  /// The boundary between MJPEG parts.
  static let streamBoundary = "rtcamframe"

  /// The head of an MJPEG stream response (no length: it lasts until either side closes).
  static func streamHead() -> [UInt8] {
    Array(("HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=" + Self.streamBoundary
      + "\r\nCache-Control: no-store\r\nAccess-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n").utf8)
  }

  /// One part: boundary, headers, the JPEG.
  static func streamPart(_ jpeg: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    streamPart(jpeg, into: &out)
    return out
  }

  /// `streamPart` into `out`, which keeps its capacity (no String is built: the header is a
  /// constant and the length's digits are written directly).
  static func streamPart(_ jpeg: [UInt8], into out: inout [UInt8]) {
    out.removeAll(keepingCapacity: true)
    out.reserveWithHeadroom(jpeg.count + 96)
    // "--" + streamBoundary + the part's headers
    let head: StaticString = "--rtcamframe\r\nContent-Type: image/jpeg\r\nContent-Length: "
    head.withUTF8Buffer { out.append(contentsOf: $0) }
    appendDecimal(jpeg.count, to: &out)
    out.append(contentsOf: [13, 10, 13, 10])
    out.append(contentsOf: jpeg)
    out.append(contentsOf: [13, 10])
  }

  /// The ASCII digits of `n` (>= 0).
  static func appendDecimal(_ n: Int, to out: inout [UInt8]) {
    var divisor = 1
    while divisor <= n / 10 { divisor *= 10 }
    var rest = n
    while divisor > 0 {
      out.append(UInt8(ascii: "0") + UInt8(rest / divisor))
      rest %= divisor
      divisor /= 10
    }
  }
}
