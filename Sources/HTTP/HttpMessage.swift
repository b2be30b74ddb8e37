// HTTP/1.1 message types: limits, parsed requests, errors and responses (RFC 9110, RFC 9112).
import Wire

/// Hard limits for one client connection. Every limit is enforced while bytes arrive, so a client
/// can neither make the server buffer without bound nor hold a connection open forever.
public struct HttpLimits: Sendable {
  /// Request line + header lines + the empty line, counted from the first byte of the request
  /// (including ignored leading empty lines). A head of exactly this size is accepted.
  public var maxHeaderBytes = 8192
  /// Header fields per request; more answer 431.
  public var maxHeaderCount = 64
  /// Content-Length above this answers 413 before any body byte is read.
  public var maxBodyBytes = 65536
  /// Deadline for a complete request head, measured from the request's first byte
  /// (and for a fresh connection that sends nothing, from the connection's start).
  public var headerTimeoutNs: UInt64 = 10_000_000_000
  /// Deadline for the body, measured from the moment the head was complete.
  public var bodyTimeoutNs: UInt64 = 10_000_000_000
  /// How long a keep-alive connection may sit without a new request, measured from the moment the
  /// last request was complete.
  public var idleTimeoutNs: UInt64 = 30_000_000_000
  /// At most this many requests are returned by one `receive`/`poll` call; the rest stay buffered
  /// (see `HttpConnection.hasBufferedInput`).
  public var maxRequestsPerReceive = 4
  /// Unparsed (pipelined) input held between calls; more is answered with 400 PIPELINE_OVERFLOW.
  /// Never less than maxHeaderBytes + maxBodyBytes in effect.
  public var maxBufferedBytes = 262_144

  public init() {}
}

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

/// A response to serialize. Framing headers (Content-Length, Connection, Transfer-Encoding) are
/// always written by `serialize` and ignored if set in `headers`.
public struct HttpResponse: Sendable {
  public var status: Int
  /// Extra header fields, in order (name, value).
  public var headers: [(String, String)]
  public var body: [UInt8]

  /// A response with an optional Content-Type.
  public init(status: Int, contentType: String?, body: [UInt8]) {
    self.status = status
    self.headers = contentType.map { [("Content-Type", $0)] } ?? []
    self.body = body
  }

  /// A response with explicit headers (e.g. 204 with no body).
  public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
    self.status = status
    self.headers = headers
    self.body = body
  }

  /// The JSON error response for a connection error.
  public init(error: HttpError) {
    self = HttpResponse.error(error.status, code: error.code, message: error.message)
  }

  /// `application/json` response with the given JSON text.
  public static func json(_ status: Int, _ json: String) -> HttpResponse {
    HttpResponse(status: status, contentType: "application/json", body: Array(json.utf8))
  }

  /// `text/plain; charset=utf-8` response.
  public static func text(_ status: Int, _ text: String) -> HttpResponse {
    HttpResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
  }

  /// `text/html; charset=utf-8` response.
  public static func html(_ status: Int, _ html: [UInt8]) -> HttpResponse {
    HttpResponse(status: status, contentType: "text/html; charset=utf-8", body: html)
  }

  /// JSON error body `{"error":"CODE","message":"..."}`.
  public static func error(_ status: Int, code: String, message: String) -> HttpResponse {
    json(status, "{\"error\":\"" + jsonEscape(code) + "\",\"message\":\"" + jsonEscape(message) + "\"}")
  }

  /// CORS answer to an OPTIONS preflight (204): any origin, the given methods, the request
  /// headers WHEP players send, cached for a day.
  public static func corsPreflight(allowMethods: String = "GET, POST, DELETE, PATCH, OPTIONS") -> HttpResponse {
    var r = HttpResponse(status: 204)
    r.setHeader("Access-Control-Allow-Origin", "*")
    r.setHeader("Access-Control-Allow-Methods", allowMethods)
    r.setHeader("Access-Control-Allow-Headers", "Content-Type, Authorization, If-Match")
    r.setHeader("Access-Control-Max-Age", "86400")
    return r
  }

  /// Adds `Access-Control-Allow-Origin: *` and exposes Location, Link and ETag to scripts
  /// (a browser WHEP player reads the session URL from Location).
  public mutating func addCors() {
    setHeader("Access-Control-Allow-Origin", "*")
    setHeader("Access-Control-Expose-Headers", "Location, Link, ETag")
  }

  /// Sets a header, replacing any with the same name (case-insensitive).
  public mutating func setHeader(_ name: String, _ value: String) {
    let n = name.asciiLowercased
    headers.removeAll { $0.0.asciiLowercased == n }
    headers.append((name, value))
  }

  /// First value of the named header (case-insensitive).
  public func header(_ name: String) -> String? {
    let n = name.asciiLowercased
    for h in headers where h.0.asciiLowercased == n { return h.1 }
    return nil
  }

  /// Whether this status carries no body and no Content-Length (1xx, 204, 304).
  var isBodiless: Bool { status < 200 || status == 204 || status == 304 }

  /// Wire bytes: `HTTP/1.1 <status> <reason>`, the extra headers (invalid names dropped, control
  /// characters in values replaced by spaces), `Cache-Control: no-store` unless set,
  /// `Content-Length` (not for 1xx/204/304), `Connection: keep-alive|close`, empty line, body
  /// (omitted for HEAD and bodiless statuses).
  public func serialize(keepAlive: Bool, isHead: Bool = false) -> [UInt8] {
    let code = (100...999).contains(status) ? status : 500
    var out: [UInt8] = []
    out.reserveCapacity(160 + headers.count * 40 + (isHead ? 0 : body.count))
    out.append(contentsOf: "HTTP/1.1 ".utf8)
    out.append(contentsOf: String(code).utf8)
    out.append(32)
    out.append(contentsOf: reasonPhrase(code).utf8)
    out.append(contentsOf: [13, 10])
    var hasCacheControl = false
    for (name, value) in headers {
      let lname = name.asciiLowercased
      if lname == "content-length" || lname == "connection" || lname == "transfer-encoding" { continue }
      guard !name.isEmpty, name.utf8.allSatisfy(isTchar) else { continue }
      if lname == "cache-control" { hasCacheControl = true }
      out.append(contentsOf: name.utf8)
      out.append(contentsOf: ": ".utf8)
      for c in value.utf8 { out.append((c < 32 && c != 9) || c == 127 ? 32 : c) }
      out.append(contentsOf: [13, 10])
    }
    if !hasCacheControl { out.append(contentsOf: "Cache-Control: no-store\r\n".utf8) }
    if !isBodiless {
      out.append(contentsOf: "Content-Length: ".utf8)
      out.append(contentsOf: String(body.count).utf8)
      out.append(contentsOf: [13, 10])
    }
    out.append(contentsOf: (keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n").utf8)
    out.append(contentsOf: [13, 10])
    if !isHead && !isBodiless { out.append(contentsOf: body) }
    return out
  }
}

/// Reason phrase for a status code ("" for codes without one; the grammar allows it).
public func reasonPhrase(_ status: Int) -> String {
  switch status {
  case 100: return "Continue"
  case 101: return "Switching Protocols"
  case 200: return "OK"
  case 201: return "Created"
  case 202: return "Accepted"
  case 204: return "No Content"
  case 301: return "Moved Permanently"
  case 302: return "Found"
  case 303: return "See Other"
  case 304: return "Not Modified"
  case 307: return "Temporary Redirect"
  case 308: return "Permanent Redirect"
  case 400: return "Bad Request"
  case 401: return "Unauthorized"
  case 403: return "Forbidden"
  case 404: return "Not Found"
  case 405: return "Method Not Allowed"
  case 406: return "Not Acceptable"
  case 408: return "Request Timeout"
  case 409: return "Conflict"
  case 410: return "Gone"
  case 411: return "Length Required"
  case 412: return "Precondition Failed"
  case 413: return "Content Too Large"
  case 414: return "URI Too Long"
  case 415: return "Unsupported Media Type"
  case 417: return "Expectation Failed"
  case 422: return "Unprocessable Content"
  case 428: return "Precondition Required"
  case 429: return "Too Many Requests"
  case 431: return "Request Header Fields Too Large"
  case 500: return "Internal Server Error"
  case 501: return "Not Implemented"
  case 502: return "Bad Gateway"
  case 503: return "Service Unavailable"
  case 504: return "Gateway Timeout"
  case 505: return "HTTP Version Not Supported"
  default: return ""
  }
}
