// HTTP/1.1 responses and their serialization (RFC 9110 section 15, RFC 9112 sections 4 and 6).
import Wire

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
  /// `bodyLength`: the Content-Length of a body the caller sends after these bytes (a file);
  /// then `body` is not written.
  public func serialize(keepAlive: Bool, isHead: Bool = false, bodyLength: UInt64? = nil) -> [UInt8] {
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
      out.append(contentsOf: (bodyLength.map { String($0) } ?? String(body.count)).utf8)
      out.append(contentsOf: [13, 10])
    }
    out.append(contentsOf: (keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n").utf8)
    out.append(contentsOf: [13, 10])
    if !isHead && !isBodiless && bodyLength == nil { out.append(contentsOf: body) }
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
  case 206: return "Partial Content"
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
  case 416: return "Range Not Satisfiable"
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
