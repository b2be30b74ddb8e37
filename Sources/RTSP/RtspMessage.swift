// RTSP 1.0 (RFC 2326): a parsed request, the errors that answer bad ones, and responses as bytes.
// Sans-IO: RtspInput (RtspInput.swift) cuts requests and interleaved frames out of the bytes a
// connection received; the server's state machine (RtspSession.swift) answers them.
import Wire

/// The methods rtcam answers (RFC 2326 section 10); anything else is `other` (501).
public enum RtspMethod: Equatable, Sendable {
  case options, describe, setup, play, pause, teardown, getParameter, setParameter
  case other(String)

  public init(_ token: String) {
    switch token {
    case "OPTIONS": self = .options
    case "DESCRIBE": self = .describe
    case "SETUP": self = .setup
    case "PLAY": self = .play
    case "PAUSE": self = .pause
    case "TEARDOWN": self = .teardown
    case "GET_PARAMETER": self = .getParameter
    case "SET_PARAMETER": self = .setParameter
    default: self = .other(token)
    }
  }

  /// What OPTIONS lists in `Public` (SET_PARAMETER is answered 200 and ignored, not listed).
  public static let supported = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER"
}

/// One request.
public struct RtspRequest: Sendable {
  public var method: RtspMethod
  /// The request URI as sent ("rtsp://cam:8554/stream/trackID=0", or "*" for OPTIONS).
  public var uri: String
  /// The CSeq header's number (every request carries one; it is echoed).
  public var cseq: Int
  /// Header fields in arrival order; names lower-cased, values trimmed.
  public var headers: [(name: String, value: String)]
  public var body: [UInt8]

  public init(method: RtspMethod, uri: String, cseq: Int, headers: [(name: String, value: String)] = [],
              body: [UInt8] = []) {
    self.method = method
    self.uri = uri
    self.cseq = cseq
    self.headers = headers
    self.body = body
  }

  /// The first value of a header (case-insensitive name).
  public func header(_ name: String) -> String? {
    let n = name.asciiLowercased
    for h in headers where h.name == n { return h.value }
    return nil
  }

  /// The URI's path ("/stream/trackID=0"): what follows "rtsp://host[:port]", or the URI itself
  /// when it is a path already; "" for "*".
  public var path: String {
    let u = uri
    for scheme in ["rtsp://", "rtsps://"] where u.hasPrefix(scheme) {
      let rest = u.dropFirst(scheme.utf8.count)
      guard let slash = rest.utf8.firstIndex(of: UInt8(ascii: "/")) else { return "/" }
      return String(rest[slash...])
    }
    return u == "*" ? "" : u
  }
}

/// A request that cannot be answered normally: the status, a code for the log and the words.
public struct RtspError: Error, Equatable, Sendable {
  public var status: Int
  public var code: String
  public var message: String
  /// The request's CSeq when it was read (a response echoes it), else nil.
  public var cseq: Int?

  public init(status: Int, code: String, message: String, cseq: Int? = nil) {
    self.status = status
    self.code = code
    self.message = message
    self.cseq = cseq
  }
}

/// The reason phrases of the statuses rtcam sends (RFC 2326 section 7.1.1).
public func rtspReason(_ status: Int) -> String {
  switch status {
  case 200: return "OK"
  case 400: return "Bad Request"
  case 401: return "Unauthorized"
  case 403: return "Forbidden"
  case 404: return "Not Found"
  case 405: return "Method Not Allowed"
  case 413: return "Request Entity Too Large"
  case 453: return "Not Enough Bandwidth"
  case 454: return "Session Not Found"
  case 455: return "Method Not Valid in This State"
  case 459: return "Aggregate Operation Not Allowed"
  case 461: return "Unsupported Transport"
  case 500: return "Internal Server Error"
  case 501: return "Not Implemented"
  case 503: return "Service Unavailable"
  case 505: return "RTSP Version Not Supported"
  default: return "Error"
  }
}

/// A response: status line, CSeq, the given headers, Content-Length when there is a body.
public struct RtspResponse: Equatable, Sendable {
  public var status: Int
  public var cseq: Int?
  public var headers: [RtspHeader]
  public var body: [UInt8]

  public init(status: Int, cseq: Int?, headers: [RtspHeader] = [], body: [UInt8] = []) {
    self.status = status
    self.cseq = cseq
    self.headers = headers
    self.body = body
  }

  /// The bytes on the wire.
  public var bytes: [UInt8] {
    var s = "RTSP/1.0 " + String(status) + " " + rtspReason(status) + "\r\n"
    if let c = cseq { s += "CSeq: " + String(c) + "\r\n" }
    for h in headers { s += h.name + ": " + h.value + "\r\n" }
    if !body.isEmpty { s += "Content-Length: " + String(body.count) + "\r\n" }
    s += "\r\n"
    return Array(s.utf8) + body
  }

  /// The value of a header it carries.
  public func header(_ name: String) -> String? {
    for h in headers where h.name == name { return h.value }
    return nil
  }
}

/// One response header.
public struct RtspHeader: Equatable, Sendable {
  public var name: String
  public var value: String

  public init(_ name: String, _ value: String) {
    self.name = name
    self.value = value
  }
}
