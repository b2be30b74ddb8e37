// Request parsing inside HttpConnection: request line, headers, body, with the limits (see HttpConnection.swift).
import Wire

extension HttpConnection {
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
