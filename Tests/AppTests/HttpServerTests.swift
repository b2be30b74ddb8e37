import HTTP
import Testing
import Wire

@testable import App

/// The connection table's policies, driven with a fake clock and no sockets.
@Suite struct HttpServerTests {
  static let s: UInt64 = 1_000_000_000
  let peer = SocketAddress(ip: [127, 0, 0, 1], port: 40_000)

  /// Feeds text as one read; the handler answers 200 "ok" (or what `answer` says).
  func feed(_ http: inout HttpServer, _ id: ConnectionID, _ text: String, now: UInt64,
            answer: @escaping (HttpRequest) -> HttpResponse = { _ in HttpResponse(status: 200, contentType: "text/plain", body: Array("ok".utf8)) })
    -> [HttpOutput]
  {
    let bytes = Array(text.utf8)
    return take(&http) { h in bytes.withUnsafeBytes { h.received(id, $0, now: now) { req, _, _ in .now(answer(req)) } } }
  }

  func writes(_ a: [HttpOutput]) -> [String] {
    a.compactMap { if case .connection(.write(_, let b)) = $0 { return String(decoding: b, as: UTF8.self) } else { return nil } }
  }

  func closes(_ a: [HttpOutput]) -> [ConnectionID] {
    a.compactMap { if case .connection(.close(let id)) = $0 { return id } else { return nil } }
  }

  @Test func exactBytesOfAKeepAliveExchange() {
    var http = HttpServer()
    #expect(take(&http) { $0.accepted(5, peer: peer, now: 0) }.isEmpty)
    let a = feed(&http, 5, "GET /favicon.ico HTTP/1.1\r\nHost: cam\r\n\r\n", now: 1) { _ in
      HttpResponse(status: 204, headers: [("Cache-Control", "max-age=86400")])
    }
    #expect(writes(a) == ["HTTP/1.1 204 No Content\r\nCache-Control: max-age=86400\r\nConnection: keep-alive\r\n\r\n"])
    #expect(closes(a).isEmpty)
    #expect(take(&http) { $0.flushed(5) }.isEmpty, "keep-alive: stays open once written")
    #expect(http.wantsInput(5))
    // a second request on the same connection
    let b = feed(&http, 5, "GET /x HTTP/1.1\r\nHost: cam\r\n\r\n", now: 2)
    #expect(writes(b) == [
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: no-store\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"
    ])
  }

  @Test func connectionCloseAndHttp10CloseAfterTheWrite() {
    for request in ["GET / HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n", "GET / HTTP/1.0\r\n\r\n"] {
      var http = HttpServer()
      _ = take(&http) { $0.accepted(7, peer: peer, now: 0) }
      let a = feed(&http, 7, request, now: 1)
      #expect(writes(a).count == 1)
      #expect(writes(a).first?.contains("Connection: close\r\n") == true)
      #expect(closes(a).isEmpty, "not before the response is out")
      #expect(!http.wantsInput(7), "no more reading once the last response is queued")
      #expect(feed(&http, 7, "GET / HTTP/1.1\r\nHost: cam\r\n\r\n", now: 2).isEmpty)
      #expect(take(&http) { $0.flushed(7) } == [.connection(.close(7))])
      #expect(!http.contains(7))
    }
  }

  @Test func serverErrorsEndKeepAlive() {
    var http = HttpServer()
    _ = take(&http) { $0.accepted(3, peer: peer, now: 0) }
    let a = feed(&http, 3, "GET /a HTTP/1.1\r\nHost: cam\r\n\r\nGET /b HTTP/1.1\r\nHost: cam\r\n\r\n", now: 1) { req in
      .error(500, code: "BOOM", message: req.path)
    }
    // the first answer is a 5xx: it closes, and the pipelined second request is not answered
    #expect(writes(a).count == 1)
    #expect(writes(a).first?.hasPrefix("HTTP/1.1 500 ") == true)
    #expect(writes(a).first?.contains("Connection: close") == true)
    #expect(take(&http) { $0.flushed(3) } == [.connection(.close(3))])
    // a 4xx keeps the connection
    var h2 = HttpServer()
    _ = take(&h2) { $0.accepted(4, peer: peer, now: 0) }
    let b = feed(&h2, 4, "GET /nope HTTP/1.1\r\nHost: cam\r\n\r\n", now: 1) { _ in .error(404, code: "NOT_FOUND", message: "no") }
    #expect(writes(b).first?.contains("Connection: keep-alive") == true)
    #expect(take(&h2) { $0.flushed(4) }.isEmpty)
  }

  @Test func pipelinedRequestsAreAnsweredInOrderWithinTheBound() {
    var http = HttpServer()
    _ = take(&http) { $0.accepted(9, peer: peer, now: 0) }
    var text = ""
    for i in 0..<3 { text += "GET /p\(i) HTTP/1.1\r\nHost: cam\r\n\r\n" }
    let a = feed(&http, 9, text, now: 1) { req in HttpResponse(status: 200, contentType: "text/plain", body: Array(req.path.utf8)) }
    #expect(writes(a).map { $0.hasSuffix("/p0") || $0.hasSuffix("/p1") || $0.hasSuffix("/p2") } == [true, true, true])
    #expect(writes(a).map { String($0.suffix(3)) } == ["/p0", "/p1", "/p2"])

    // One read can cause at most (1 + pipelineRounds) x maxRequestsPerReceive answers.
    var bounded = HttpServer()
    _ = take(&bounded) { $0.accepted(10, peer: peer, now: 0) }
    var many = ""
    for _ in 0..<200 { many += "GET / HTTP/1.1\r\nHost: c\r\n\r\n" }
    let limit = (1 + bounded.limits.pipelineRounds) * bounded.limits.parser.maxRequestsPerReceive
    let b = feed(&bounded, 10, many, now: 1)
    #expect(writes(b).count == limit)
    // the rest is answered on the next read
    let c = feed(&bounded, 10, "", now: 2)
    #expect(writes(c).count == min(200 - limit, limit))
  }

  @Test func parseErrorsAnswerOnceThenClose() {
    var http = HttpServer()
    _ = take(&http) { $0.accepted(11, peer: peer, now: 0) }
    let a = feed(&http, 11, "BLAH\r\n\r\n", now: 1)
    #expect(writes(a).count == 1)
    #expect(writes(a).first?.hasPrefix("HTTP/1.1 400 ") == true)
    #expect(a.contains { if case .log(.debug, _) = $0 { return true } else { return false } })
    #expect(!http.wantsInput(11))
    #expect(take(&http) { $0.flushed(11) } == [.connection(.close(11))])
  }

  @Test func whenFullTheIdlestConnectionIsDropped() {
    var http = HttpServer()
    let max = http.limits.maxConnections
    // from different addresses (one address alone is capped lower, see below)
    func from(_ id: Int32) -> SocketAddress { SocketAddress(ip: [127, 0, 1, UInt8(id)], port: 40_000) }
    for id in 0..<Int32(max) { #expect(take(&http) { $0.accepted(id, peer: from(id), now: UInt64(id) + 10) }.isEmpty) }
    // connection 0 completes a request late: it is now the most recently active
    _ = feed(&http, 0, "GET / HTTP/1.1\r\nHost: cam\r\n\r\n", now: 1_000)
    // connection 1 trickles bytes: that is not activity
    _ = feed(&http, 1, "GET / HT", now: 1_001)
    let a = take(&http) { $0.accepted(100, peer: from(100), now: 1_002) }
    #expect(closes(a) == [1])
    #expect(http.count == max)
    #expect(http.contains(0) && http.contains(100) && !http.contains(1))
    let b = take(&http) { $0.accepted(101, peer: from(101), now: 1_003) }
    #expect(closes(b) == [2])
  }

  @Test func oneAddressCannotFillTheTable() {
    var http = HttpServer()
    let perAddress = http.limits.connectionsPerAddress
    let attacker = SocketAddress(ip: [10, 9, 8, 7], port: 1)
    let other = SocketAddress(ip: [10, 1, 1, 1], port: 2)
    #expect(take(&http) { $0.accepted(1000, peer: other, now: 0) }.isEmpty)
    for id in 0..<Int32(perAddress) {
      // any port: the limit is per host
      #expect(take(&http) { $0.accepted(id, peer: SocketAddress(ip: attacker.ip, port: UInt16(id)), now: UInt64(id) + 1) }.isEmpty)
    }
    // the next one from the same host drops that host's idlest, never the other client
    let a = take(&http) { $0.accepted(500, peer: attacker, now: 100) }
    #expect(closes(a) == [0])
    #expect(http.contains(1000))
    #expect(http.count == perAddress + 1)
  }

  @Test func slowHeadersGet408AndIdleConnectionsCloseSilently() {
    var http = HttpServer()
    let limits = http.limits.parser
    _ = take(&http) { $0.accepted(1, peer: peer, now: 0) }
    _ = feed(&http, 1, "GET / HTTP/1.1\r\nHo", now: 1)
    _ = take(&http) { $0.accepted(2, peer: peer, now: 0) }
    _ = feed(&http, 2, "GET / HTTP/1.1\r\nHost: cam\r\n\r\n", now: 1)
    // the header deadline runs from the request's first byte (at 1)
    #expect(take(&http) { $0.handleTimeout(now: 1 + limits.headerTimeoutNs - 1) }.isEmpty)
    #expect(http.nextDeadline == 1 + limits.headerTimeoutNs)
    let a = take(&http) { $0.handleTimeout(now: 1 + limits.headerTimeoutNs) }
    #expect(writes(a).count == 1 && writes(a).first?.hasPrefix("HTTP/1.1 408 ") == true)
    #expect(closes(a) == [1])
    #expect(!http.contains(1))
    // connection 2 answered and sits idle: closed without a word after the idle timeout
    let b = take(&http) { $0.handleTimeout(now: 1 + limits.idleTimeoutNs) }
    #expect(writes(b).isEmpty && closes(b) == [2])
    #expect(http.count == 0)
  }

  @Test func goneAndCloseAll() {
    var http = HttpServer()
    _ = take(&http) { $0.accepted(1, peer: peer, now: 0) }
    _ = take(&http) { $0.accepted(2, peer: peer, now: 0) }
    take(&http) { $0.gone(1) }
    #expect(!http.contains(1))
    #expect(take(&http) { $0.flushed(1) }.isEmpty)
    #expect(feed(&http, 1, "GET / HTTP/1.1\r\nHost: c\r\n\r\n", now: 1).isEmpty)
    #expect(take(&http) { $0.closeAll() } == [.connection(.close(2))])
    #expect(http.count == 0)
  }

  /// A copy of the table is a table of its own: answering a request on the copy leaves the
  /// original's connection as it was (clients used to be shared objects, changed through both).
  @Test func aCopyOfTheTableIsIndependent() {
    var http = HttpServer()
    _ = take(&http) { $0.accepted(5, peer: peer, now: 0) }
    var copy = http
    let a = feed(&copy, 5, "GET / HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n", now: 1)
    #expect(writes(a).count == 1 && !copy.wantsInput(5))
    #expect(http.wantsInput(5), "the original still reads its connection")
    #expect(take(&http) { $0.flushed(5) }.isEmpty, "and does not close it")
  }
}
