// Request parsing inside HttpConnection: the input buffer and the steps from one request to the
// next, with the limits (see HttpConnection.swift). The request line is HttpRequestLine.swift, the
// header section and the body's framing HttpHeaderFields.swift.
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
}
