// Header field lines (RFC 9112 section 5) and the end of the head: Host (section 3.2), the
// message body's length (section 6: Content-Length, Transfer-Encoding) and Expect (RFC 9110
// section 10.1.1), then the completed request.
import Wire

extension HttpConnection {
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
