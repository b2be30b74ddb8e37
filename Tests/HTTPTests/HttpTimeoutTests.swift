// The header, body and idle deadlines under a fake clock.
import Testing
@testable import HTTP

@Suite struct HttpTimeoutTests {
  let s: UInt64 = 1_000_000_000

  @Test func freshSilentConnectionClosesAfterHeaderTimeout() {
    var c = newConnection(now: 100 * s)
    #expect(c.nextDeadline == 110 * s)
    #expect(c.checkTimeout(now: 109 * s) == nil)
    #expect(c.checkTimeout(now: 110 * s) == .idle)
    #expect(c.isFinished)
    #expect(c.nextDeadline == nil)
    #expect(c.checkTimeout(now: 200 * s) == nil)
  }

  @Test func headerDeadlineFromFirstByte() {
    var c = newConnection(now: 0)
    // first byte at t=5s: deadline 15s, no matter how many more bytes trickle in
    #expect(c.receive(bytes("G"), now: 5 * s).isNeedMore)
    #expect(c.nextDeadline == 15 * s)
    for (i, b) in bytes("ET / HTTP/1.1\r\nHost: slow").enumerated() {
      _ = c.receive([b], now: 5 * s + UInt64(i) * 300_000_000)
      if c.checkTimeout(now: 5 * s + UInt64(i) * 300_000_000) != nil { break }
    }
    let t = c.checkTimeout(now: 15 * s)
    #expect(t == .error(HttpError(status: 408, code: "REQUEST_TIMEOUT", message: "request header not received in time")))
    #expect(c.isFinished)
  }

  @Test func bodyHasItsOwnDeadline() {
    var c = newConnection(now: 0)
    #expect(c.receive(bytes("POST /whep HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n"), now: 9 * s).isNeedMore)
    #expect(c.nextDeadline == 19 * s)
    #expect(c.receive(bytes("01234"), now: 15 * s).isNeedMore)
    #expect(c.checkTimeout(now: 18 * s) == nil)
    guard case .error(let e)? = c.checkTimeout(now: 19 * s) else {
      Issue.record("expected 408")
      return
    }
    #expect(e.status == 408)
    #expect(e.code == "REQUEST_TIMEOUT")
  }

  @Test func bodyCompletesBeforeDeadline() {
    var c = newConnection(now: 0)
    _ = c.receive(bytes("POST /whep HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n"), now: 1 * s)
    #expect(c.receive(bytes("ok"), now: 10 * s).requests?.count == 1)
    #expect(c.checkTimeout(now: 11 * s) == nil)
  }

  @Test func keepAliveIdleTimeout() {
    var c = newConnection(now: 0)
    #expect(c.receive(bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), now: 2 * s).requests?.count == 1)
    #expect(c.nextDeadline == 32 * s)
    #expect(c.checkTimeout(now: 31 * s) == nil)
    // a new request resets the timer
    #expect(c.receive(bytes("GET /2 HTTP/1.1\r\nHost: h\r\n\r\n"), now: 31 * s).requests?.count == 1)
    #expect(c.checkTimeout(now: 32 * s) == nil)
    #expect(c.nextDeadline == 61 * s)
    #expect(c.checkTimeout(now: 61 * s) == .idle)
  }

  @Test func secondRequestHeaderDeadlineStartsAtItsFirstByte() {
    var c = newConnection(now: 0)
    _ = c.receive(bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), now: 0)
    #expect(c.receive(bytes("GET /2 HT"), now: 20 * s).isNeedMore)
    #expect(c.nextDeadline == 30 * s)
    #expect(c.checkTimeout(now: 29 * s) == nil)
    if case .error(let e)? = c.checkTimeout(now: 30 * s) { #expect(e.status == 408) } else { Issue.record("expected 408") }
  }

  @Test func deadlineSaturates() {
    var l = HttpLimits()
    l.idleTimeoutNs = UInt64.max
    l.headerTimeoutNs = UInt64.max
    var c = HttpConnection(limits: l, now: 5)
    #expect(c.nextDeadline == UInt64.max)
    #expect(c.checkTimeout(now: UInt64.max - 1) == nil)
  }

  @Test func closedConnectionAfterNonKeepAliveStillBounded() {
    var c = newConnection(now: 0)
    _ = c.receive(bytes("GET / HTTP/1.0\r\n\r\n"), now: 1 * s)
    #expect(c.isFinished)
    #expect(c.nextDeadline == 31 * s)
    #expect(c.checkTimeout(now: 31 * s) == .idle)
  }
}
