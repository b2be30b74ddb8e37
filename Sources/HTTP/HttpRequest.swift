// A parsed HTTP/1.1 request (RFC 9110 section 9, RFC 9112 section 3), and the error that answers a
// request the connection cannot accept.
import Wire

/// One parsed request. `path` and `query` are raw (still percent-encoded): decode path segments
/// with `percentDecode` or `pathSegments`.
public struct HttpRequest: Sendable {
  /// Method token as sent (case-sensitive, e.g. "GET").
  public var method: String
  /// Request target as sent ("/whep/1?x=y", "http://host/x" or "*").
  public var target: String
  /// Path part of the target ("/" for an absolute-form target without path, "*" for asterisk-form).
  public var path: String
  /// Text after the first "?", if any.
  public var query: String?
  /// "HTTP/1.1" or "HTTP/1.0".
  public var version: String
  /// Header fields in arrival order; names lower-cased, values trimmed of spaces and tabs.
  public var headers: [(name: String, value: String)]
  public var body: [UInt8]

  /// Builds a request (for tests and internal use); `path`/`query` are split from `target`.
  public init(
    method: String, target: String, version: String = "HTTP/1.1",
    headers: [(name: String, value: String)] = [], body: [UInt8] = []
  ) {
    self.method = method
    self.target = target
    self.version = version
    self.headers = headers.map { (name: $0.name.asciiLowercased, value: trimOWS($0.value)) }
    self.body = body
    let parts = splitTarget(Array(target.utf8))
    path = parts.path
    query = parts.query
  }

  /// First value of the named header (case-insensitive), or nil.
  public func header(_ name: String) -> String? {
    let n = name.asciiLowercased
    for h in headers where h.name == n { return h.value }
    return nil
  }

  /// Every value of the named header, in order.
  public func headerValues(_ name: String) -> [String] {
    let n = name.asciiLowercased
    var out: [String] = []
    for h in headers where h.name == n { out.append(h.value) }
    return out
  }

  /// Lower-cased comma-separated tokens of all `Connection` headers.
  var connectionTokens: [String] {
    var out: [String] = []
    for v in headerValues("connection") {
      for t in v.splitASCII(UInt8(ascii: ",")) {
        let s = trimOWS(t).asciiLowercased
        if !s.isEmpty { out.append(s) }
      }
    }
    return out
  }

  /// Whether the connection stays open after this request: HTTP/1.1 unless `Connection: close`,
  /// HTTP/1.0 only with `Connection: keep-alive` (and no `close`).
  public var keepAlive: Bool {
    let tokens = connectionTokens
    if tokens.contains("close") { return false }
    if version == "HTTP/1.1" { return true }
    return tokens.contains("keep-alive")
  }

  /// True for HEAD (serialize the response with `isHead: true`).
  public var isHead: Bool { method == "HEAD" }

  /// The path split on "/" (leading "/" dropped) with each segment percent-decoded;
  /// nil if any segment has an invalid escape, NUL or invalid UTF-8. "/" gives [],
  /// "/whep/abc" gives ["whep", "abc"].
  public var pathSegments: [String]? {
    guard path.utf8.first == UInt8(ascii: "/") else { return nil }
    var parts = path.splitASCII(UInt8(ascii: "/"))
    parts.removeFirst()
    if parts.count == 1 && parts[0].isEmpty { return [] }
    var out: [String] = []
    for p in parts {
      guard let d = percentDecode(p) else { return nil }
      out.append(d)
    }
    return out
  }
}

/// A request the connection cannot accept. Answer it with `HttpResponse(error:)` and
/// `Connection: close`, then close the connection.
public struct HttpError: Error, Equatable, Sendable {
  /// HTTP status to answer with (400, 408, 411, 413, 414, 417, 431, 501, 505).
  public var status: Int
  /// Stable machine-readable code, e.g. "BAD_HEADER".
  public var code: String
  /// Human-readable detail (never echoes client bytes).
  public var message: String

  public init(status: Int, code: String, message: String) {
    self.status = status
    self.code = code
    self.message = message
  }

  static func badRequest(_ m: String) -> HttpError { HttpError(status: 400, code: "BAD_REQUEST", message: m) }
  static func badHeader(_ m: String) -> HttpError { HttpError(status: 400, code: "BAD_HEADER", message: m) }
}
