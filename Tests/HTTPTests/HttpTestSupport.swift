// What the HTTP tests share: one way to make a connection and feed it a request.
import Testing
@testable import HTTP

extension HttpReceiveResult {
  var requests: [HttpRequest]? {
    if case .requests(let r) = self { return r }
    return nil
  }
  var error: HttpError? {
    if case .error(let e) = self { return e }
    return nil
  }
  var isNeedMore: Bool {
    if case .needMore = self { return true }
    return false
  }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

func newConnection(_ configure: (inout HttpLimits) -> Void = { _ in }, now: UInt64 = 0) -> HttpConnection {
  var l = HttpLimits()
  configure(&l)
  return HttpConnection(limits: l, now: now)
}

/// Feeds a whole request and expects exactly one request back.
func parseOne(_ text: String, limits: (inout HttpLimits) -> Void = { _ in }) -> HttpRequest? {
  var c = newConnection(limits)
  let r = c.receive(bytes(text), now: 0)
  guard let reqs = r.requests, reqs.count == 1 else { return nil }
  return reqs[0]
}

/// Feeds a whole request and returns the error it produced (nil if none).
func parseError(_ text: String, limits: (inout HttpLimits) -> Void = { _ in }) -> HttpError? {
  var c = newConnection(limits)
  return c.receive(bytes(text), now: 0).error
}

/// A head of exactly `total` bytes: "GET / HTTP/1.1\r\nHost: h\r\nX: aaaa...\r\n\r\n".
func headOfSize(_ total: Int) -> String {
  let fixed = "GET / HTTP/1.1\r\nHost: h\r\nX: \r\n\r\n".utf8.count
  return "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "a", count: total - fixed) + "\r\n\r\n"
}
