// Sans-IO HTTP/1.1 connection state: incremental request parsing with hard limits and deadlines.
//
// Decisions (tested in HTTPTests):
// - Lines may end in CRLF or a bare LF (RFC 9112 §2.2 permits accepting LF); a CR that is not
//   directly followed by LF is rejected (400 BAD_REQUEST / BAD_HEADER).
// - Empty lines before a request line are ignored (RFC 9112 §2.2) but count toward maxHeaderBytes.
// - Chunked request bodies are not supported: `Transfer-Encoding: chunked` answers 411 (send
//   Content-Length), any other transfer coding 501; Transfer-Encoding together with
//   Content-Length answers 400 (request smuggling).
// - An HTTP/1.1 request must carry exactly one Host header (RFC 9112 §3.2).
// - `Expect: 100-continue` queues an interim "100 Continue" (see `takeInterimResponse`);
//   any other expectation answers 417.
import Wire

/// What `HttpConnection.receive` produced.
public enum HttpReceiveResult: Sendable {
  /// Complete requests, in order (at most `HttpLimits.maxRequestsPerReceive`).
  case requests([HttpRequest])
  /// The input is unacceptable: answer `HttpResponse(error:)` with `keepAlive: false`, then close.
  case error(HttpError)
  /// No complete request yet.
  case needMore
}

/// What `HttpConnection.checkTimeout` found.
public enum HttpTimeout: Equatable, Sendable {
  /// A header or body deadline passed (408): answer it, then close.
  case error(HttpError)
  /// The connection sat idle too long: close it silently.
  case idle
}

/// One client connection's protocol state (sans-IO). The event loop feeds received bytes and the
/// current monotonic time and asks what to do; it owns the socket and writes the responses.
///
/// Loop contract: call `receive` with each read; answer every returned request in order; while
/// `hasBufferedInput` is true, call `poll(now:)` (pipelined requests beyond the per-call bound,
/// or an error found after earlier requests); call `checkTimeout` when `nextDeadline` passes;
/// close after answering an `.error` or a request whose `keepAlive` is false (the connection
/// ignores any later input then).
public struct HttpConnection: Sendable {
  enum Phase: Sendable {
    case idle  // between requests (or fresh): no byte of the next request yet
    case head  // reading request line and headers
    case body  // reading Content-Length body bytes
    case done  // answered a non-keep-alive request; input is ignored
    case closed  // an error or timeout was reported; input is ignored
  }

  public let limits: HttpLimits
  var phase: Phase = .idle
  /// Received, unconsumed bytes; `buf[pos...]` is the input not yet turned into requests.
  var buf: [UInt8] = []
  var pos = 0
  /// Head parsing: next byte to scan and start of the current line (absolute indices in `buf`).
  var scan = 0
  var lineStart = 0
  var sawRequestLine = false
  var method = ""
  var target = ""
  var path = ""
  var query: String? = nil
  var version = ""
  var headers: [(name: String, value: String)] = []
  var bodyLength = 0
  /// Timers.
  var fresh = true
  var idleSince: UInt64
  var headStart: UInt64 = 0
  var bodyStart: UInt64 = 0
  /// An error found after requests were already returned in the same call.
  var pendingError: HttpError? = nil
  var failure: HttpError? = nil
  var stoppedAtBound = false
  var interim: [UInt8]? = nil

  /// A fresh connection accepted at `now`.
  public init(limits: HttpLimits, now: UInt64) {
    self.limits = limits
    self.idleSince = now
  }

  /// Feeds bytes read from the socket. Returns up to `limits.maxRequestsPerReceive` complete
  /// requests, an error after which the connection must answer and close, or `.needMore`.
  public mutating func receive(_ bytes: UnsafeRawBufferPointer, now: UInt64) -> HttpReceiveResult {
    switch phase {
    case .done, .closed:
      return failure.map { .error($0) } ?? .needMore
    default:
      buf.append(contentsOf: bytes)
      return process(now: now)
    }
  }

  /// `receive` for a byte array.
  public mutating func receive(_ bytes: [UInt8], now: UInt64) -> HttpReceiveResult {
    bytes.withUnsafeBytes { receive($0, now: now) }
  }

  /// Continues with buffered input without new bytes (see `hasBufferedInput`).
  public mutating func poll(now: UInt64) -> HttpReceiveResult {
    switch phase {
    case .done, .closed: return failure.map { .error($0) } ?? .needMore
    default: return process(now: now)
    }
  }

  /// True when `poll` would make progress: more pipelined requests were held back by the
  /// per-call bound, or an error follows the requests already returned.
  public var hasBufferedInput: Bool {
    switch phase {
    case .done, .closed: return false
    default: return pendingError != nil || (stoppedAtBound && pos < buf.count)
    }
  }

  /// True once the connection will accept no more requests (after an error, a timeout or a
  /// non-keep-alive request): close it after writing what is pending.
  public var isFinished: Bool {
    switch phase {
    case .done, .closed: return true
    default: return false
    }
  }

  /// Bytes to write before the next response ("HTTP/1.1 100 Continue" after a head with
  /// `Expect: 100-continue`), once; nil when there are none.
  public mutating func takeInterimResponse() -> [UInt8]? {
    defer { interim = nil }
    return interim
  }

  /// The next instant at which `checkTimeout` has something to report, if any.
  public var nextDeadline: UInt64? {
    switch phase {
    case .idle: return addSat(idleSince, fresh ? limits.headerTimeoutNs : limits.idleTimeoutNs)
    case .head: return addSat(headStart, limits.headerTimeoutNs)
    case .body: return addSat(bodyStart, limits.bodyTimeoutNs)
    // bounds how long the loop may spend writing the last response to a client that does not read
    case .done: return addSat(idleSince, limits.idleTimeoutNs)
    case .closed: return nil
    }
  }

  /// Checks the deadlines: 408 once the head or body deadline passed (answer, then close),
  /// `.idle` once a keep-alive (or fresh, silent) connection waited too long (close silently).
  /// Reports once; the connection is finished afterwards.
  public mutating func checkTimeout(now: UInt64) -> HttpTimeout? {
    guard let deadline = nextDeadline, now >= deadline else { return nil }
    switch phase {
    case .head:
      let e = HttpError(status: 408, code: "REQUEST_TIMEOUT", message: "request header not received in time")
      fail(e)
      return .error(e)
    case .body:
      let e = HttpError(status: 408, code: "REQUEST_TIMEOUT", message: "request body not received in time")
      fail(e)
      return .error(e)
    default:
      phase = .closed
      release()
      return .idle
    }
  }

  // MARK: - parsing

  enum Step: Sendable {
    case request(HttpRequest)
    case needMore
    case error(HttpError)
  }

  mutating func process(now: UInt64) -> HttpReceiveResult {
    if let e = pendingError {
      fail(e)
      return .error(e)
    }
    stoppedAtBound = false
    var out: [HttpRequest] = []
    let maxPerCall = max(1, limits.maxRequestsPerReceive)
    loop: while true {
      if out.count >= maxPerCall {
        stoppedAtBound = true
        break
      }
      switch step(now: now) {
      case .request(let r):
        out.append(r)
        if phase == .done { break loop }
      case .needMore:
        break loop
      case .error(let e):
        if out.isEmpty {
          fail(e)
          return .error(e)
        }
        pendingError = e
        break loop
      }
    }
    if phase == .done {
      release()
    } else {
      compact()
      let cap = max(limits.maxBufferedBytes, limits.maxHeaderBytes + limits.maxBodyBytes)
      if buf.count - pos > cap && pendingError == nil {
        let e = HttpError(status: 400, code: "PIPELINE_OVERFLOW", message: "too much unanswered input")
        if out.isEmpty {
          fail(e)
          return .error(e)
        }
        pendingError = e
      }
    }
    return out.isEmpty ? .needMore : .requests(out)
  }

  mutating func fail(_ e: HttpError) {
    failure = e
    pendingError = nil
    phase = .closed
    release()
  }

  mutating func release() {
    buf = []
    pos = 0
    scan = 0
    lineStart = 0
    headers = []
  }

  mutating func compact() {
    guard pos > 0 else { return }
    if pos >= buf.count {
      buf.removeAll(keepingCapacity: buf.capacity <= 16384)
    } else {
      buf.removeSubrange(0..<pos)
    }
    scan -= pos
    lineStart -= pos
    pos = 0
  }

  mutating func step(now: UInt64) -> Step {
    switch phase {
    case .idle:
      guard pos < buf.count else { return .needMore }
      phase = .head
      headStart = now
      scan = pos
      lineStart = pos
      sawRequestLine = false
      headers = []
      query = nil
      return stepHead(now: now)
    case .head:
      return stepHead(now: now)
    case .body:
      guard buf.count - pos >= bodyLength else { return .needMore }
      let body = Array(buf[pos..<(pos + bodyLength)])
      pos += bodyLength
      return complete(body: body, now: now)
    case .done, .closed:
      return .needMore
    }
  }

  mutating func stepHead(now: UInt64) -> Step {
    let limitEnd = pos + max(0, limits.maxHeaderBytes)
    while scan < buf.count {
      if scan >= limitEnd {
        if sawRequestLine {
          return .error(HttpError(status: 431, code: "HEADERS_TOO_LARGE", message: "request header section too large"))
        }
        return .error(HttpError(status: 414, code: "URI_TOO_LONG", message: "request line too long"))
      }
      let c = buf[scan]
      if c == 13 {
        // a CR must be followed by LF; decide as soon as the next byte is known
        if scan + 1 < buf.count && buf[scan + 1] != 10 {
          return .error(sawRequestLine ? .badHeader("bare CR in header") : .badRequest("bare CR in request line"))
        }
        if scan + 1 >= buf.count { return .needMore }
        scan += 1
        continue
      }
      if c != 10 {
        scan += 1
        continue
      }
      var end = scan
      if end > lineStart && buf[end - 1] == 13 { end -= 1 }
      let start = lineStart
      scan += 1
      lineStart = scan
      if !sawRequestLine {
        if start == end { continue }  // leading empty line
        if let e = parseRequestLine(start, end) { return .error(e) }
        sawRequestLine = true
        continue
      }
      if start == end {
        return finishHead(now: now)
      }
      if let e = parseHeaderLine(start, end) { return .error(e) }
    }
    return .needMore
  }

  mutating func parseRequestLine(_ start: Int, _ end: Int) -> HttpError? {
    var sp: [Int] = []
    var i = start
    while i < end {
      let c = buf[i]
      if c == 32 {
        sp.append(i)
        if sp.count > 2 { return .badRequest("malformed request line") }
      } else if c <= 32 || c >= 127 {
        return .badRequest("invalid character in request line")
      }
      i += 1
    }
    guard sp.count == 2 else { return .badRequest("malformed request line") }
    let m = buf[start..<sp[0]]
    let t = Array(buf[(sp[0] + 1)..<sp[1]])
    let v = buf[(sp[1] + 1)..<end]
    guard !m.isEmpty, !t.isEmpty, !v.isEmpty else { return .badRequest("malformed request line") }
    // version
    let vs = String(decoding: v, as: UTF8.self)
    if vs != "HTTP/1.1" && vs != "HTTP/1.0" {
      let bytes = Array(v)
      if bytes.count > 5 && String(decoding: bytes[0..<5], as: UTF8.self) == "HTTP/"
        && bytes[5...].allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 46 })
      {
        return HttpError(status: 505, code: "VERSION_NOT_SUPPORTED", message: "only HTTP/1.0 and HTTP/1.1 are supported")
      }
      return .badRequest("malformed HTTP version")
    }
    guard m.allSatisfy(isTchar) else { return .badRequest("invalid method") }
    let ms = String(decoding: m, as: UTF8.self)
    if ms == "CONNECT" {
      return HttpError(status: 501, code: "NOT_IMPLEMENTED", message: "CONNECT is not supported")
    }
    // target forms
    if t[0] == UInt8(ascii: "/") {
      guard !t.contains(UInt8(ascii: "#")) else { return .badRequest("fragment in request target") }
      let parts = splitTarget(t)
      path = parts.path
      query = parts.query
    } else if t.count == 1 && t[0] == UInt8(ascii: "*") {
      guard ms == "OPTIONS" else { return .badRequest("asterisk-form target is only valid for OPTIONS") }
      path = "*"
      query = nil
    } else {
      guard let parts = parseAbsoluteForm(t) else { return .badRequest("invalid request target") }
      path = parts.path
      query = parts.query
    }
    method = ms
    target = String(decoding: t, as: UTF8.self)
    version = vs
    return nil
  }

  /// "http://host[:port][/path][?query]" (scheme http or https, case-insensitive) -> path, query.
  func parseAbsoluteForm(_ t: [UInt8]) -> (path: String, query: String?)? {
    guard let colon = t.firstIndex(of: UInt8(ascii: ":")) else { return nil }
    let scheme = String(decoding: t[0..<colon], as: UTF8.self).asciiLowercased
    guard scheme == "http" || scheme == "https" else { return nil }
    let rest = t[(colon + 1)...]
    guard rest.count >= 2, rest.first == UInt8(ascii: "/"), rest.dropFirst().first == UInt8(ascii: "/") else { return nil }
    let afterSlashes = rest.dropFirst(2)
    guard !t.contains(UInt8(ascii: "#")) else { return nil }
    var hostEnd = afterSlashes.endIndex
    for i in afterSlashes.indices where afterSlashes[i] == UInt8(ascii: "/") || afterSlashes[i] == UInt8(ascii: "?") {
      hostEnd = i
      break
    }
    guard hostEnd > afterSlashes.startIndex else { return nil }  // empty host
    if hostEnd == t.count { return ("/", nil) }
    var pathAndQuery = Array(t[hostEnd...])
    if pathAndQuery[0] == UInt8(ascii: "?") { pathAndQuery.insert(UInt8(ascii: "/"), at: 0) }
    return splitTarget(pathAndQuery)
  }

  mutating func parseHeaderLine(_ start: Int, _ end: Int) -> HttpError? {
    let first = buf[start]
    if first == 32 || first == 9 { return .badHeader("obsolete line folding") }
    var colon = -1
    var i = start
    while i < end {
      if buf[i] == UInt8(ascii: ":") { colon = i; break }
      i += 1
    }
    guard colon >= 0 else { return .badHeader("header line without colon") }
    guard colon > start else { return .badHeader("empty header name") }
    let last = buf[colon - 1]
    if last == 32 || last == 9 { return .badHeader("whitespace before colon") }
    i = start
    while i < colon {
      guard isTchar(buf[i]) else { return .badHeader("invalid character in header name") }
      i += 1
    }
    var vs = colon + 1
    var ve = end
    i = vs
    while i < ve {
      let c = buf[i]
      if (c < 32 && c != 9) || c == 127 { return .badHeader("control character in header value") }
      i += 1
    }
    while vs < ve && (buf[vs] == 32 || buf[vs] == 9) { vs += 1 }
    while ve > vs && (buf[ve - 1] == 32 || buf[ve - 1] == 9) { ve -= 1 }
    if headers.count >= limits.maxHeaderCount {
      return HttpError(status: 431, code: "HEADERS_TOO_LARGE", message: "too many header fields")
    }
    var name = Array(buf[start..<colon])
    for k in 0..<name.count where name[k] >= 65 && name[k] <= 90 { name[k] += 32 }
    headers.append((name: String(decoding: name, as: UTF8.self), value: String(decoding: buf[vs..<ve], as: UTF8.self)))
    return nil
  }

  mutating func finishHead(now: UInt64) -> Step {
    pos = scan  // the head is consumed; the body (if any) starts here
    var hostCount = 0
    var contentLength: Int? = nil
    var sawCL = false
    var te: [String] = []
    var expect: [String] = []
    for h in headers {
      switch h.name {
      case "host": hostCount += 1
      case "content-length":
        for raw in h.value.splitASCII(UInt8(ascii: ",")) {
          let s = trimOWS(raw)
          guard let n = parseContentLength(s) else {
            return .error(.badRequest("invalid Content-Length"))
          }
          if sawCL && contentLength != n { return .error(.badRequest("conflicting Content-Length values")) }
          sawCL = true
          contentLength = n
        }
      case "transfer-encoding":
        for raw in h.value.splitASCII(UInt8(ascii: ",")) {
          let s = trimOWS(raw).asciiLowercased
          if !s.isEmpty { te.append(s) }
        }
        if te.isEmpty { te.append("") }
      case "expect":
        expect.append(h.value.asciiLowercased)
      default: break
      }
    }
    if version == "HTTP/1.1" && hostCount != 1 {
      return .error(.badRequest(hostCount == 0 ? "missing Host header" : "multiple Host headers"))
    }
    if hostCount > 1 { return .error(.badRequest("multiple Host headers")) }
    if !te.isEmpty {
      if sawCL { return .error(.badRequest("both Transfer-Encoding and Content-Length")) }
      if version == "HTTP/1.0" { return .error(.badRequest("Transfer-Encoding in an HTTP/1.0 request")) }
      if te.allSatisfy({ $0 == "chunked" }) {
        return .error(HttpError(status: 411, code: "LENGTH_REQUIRED", message: "chunked request bodies are not supported; send Content-Length"))
      }
      return .error(HttpError(status: 501, code: "NOT_IMPLEMENTED", message: "unsupported Transfer-Encoding"))
    }
    let length: Int
    if let n = contentLength {
      length = n
    } else if method == "POST" || method == "PUT" || method == "PATCH" {
      return .error(HttpError(status: 411, code: "LENGTH_REQUIRED", message: "Content-Length required"))
    } else {
      length = 0
    }
    if length > limits.maxBodyBytes {
      return .error(HttpError(status: 413, code: "BODY_TOO_LARGE", message: "request body too large"))
    }
    for e in expect {
      if e != "100-continue" {
        return .error(HttpError(status: 417, code: "EXPECTATION_FAILED", message: "unsupported expectation"))
      }
      if version == "HTTP/1.1" && length > 0 { interim = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8) }
    }
    if length == 0 { return complete(body: [], now: now) }
    bodyLength = length
    bodyStart = now
    phase = .body
    return step(now: now)
  }

  mutating func complete(body: [UInt8], now: UInt64) -> Step {
    var r = HttpRequest(method: method, target: target, version: version)
    r.path = path
    r.query = query
    r.headers = headers
    r.body = body
    headers = []
    interim = nil  // the body is here: no 100 Continue needed any more
    fresh = false
    idleSince = now
    phase = r.keepAlive ? .idle : .done
    return .request(r)
  }
}

/// 1*DIGIT without sign or spaces, overflow-checked (at most Int.max); nil otherwise.
func parseContentLength(_ s: String) -> Int? {
  var v = 0
  var any = false
  for c in s.utf8 {
    guard c >= 48 && c <= 57 else { return nil }
    let (m, o1) = v.multipliedReportingOverflow(by: 10)
    let (a, o2) = m.addingReportingOverflow(Int(c - 48))
    guard !o1, !o2 else { return nil }
    v = a
    any = true
  }
  return any ? v : nil
}

@inline(__always) func addSat(_ a: UInt64, _ b: UInt64) -> UInt64 {
  let (v, o) = a.addingReportingOverflow(b)
  return o ? UInt64.max : v
}
