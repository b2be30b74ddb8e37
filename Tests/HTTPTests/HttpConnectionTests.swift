import Testing
@testable import HTTP

// MARK: - helpers

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

// MARK: - requests

@Suite struct HttpParsingTests {
  @Test func simpleGet() throws {
    let r = try #require(parseOne("GET /status?verbose=1 HTTP/1.1\r\nHost: cam.local\r\nUser-Agent:  curl/8  \r\nACCEPT: */*\r\n\r\n"))
    #expect(r.method == "GET")
    #expect(r.target == "/status?verbose=1")
    #expect(r.path == "/status")
    #expect(r.query == "verbose=1")
    #expect(r.version == "HTTP/1.1")
    #expect(r.headers.count == 3)
    #expect(r.headers[1].name == "user-agent")
    #expect(r.headers[1].value == "curl/8")
    #expect(r.header("Accept") == "*/*")
    #expect(r.header("HOST") == "cam.local")
    #expect(r.header("missing") == nil)
    #expect(r.body.isEmpty)
    #expect(r.keepAlive)
    #expect(!r.isHead)
  }

  @Test func postBodyByteByByte() throws {
    let sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"
    let text = "POST /whep HTTP/1.1\r\nHost: h\r\nContent-Type: application/sdp\r\nContent-Length: \(sdp.utf8.count)\r\n\r\n" + sdp
    var c = newConnection()
    let all = bytes(text)
    var got: [HttpRequest] = []
    for (i, b) in all.enumerated() {
      let r = c.receive([b], now: UInt64(i))
      if i < all.count - 1 {
        #expect(r.isNeedMore, "byte \(i)")
      } else {
        got = r.requests ?? []
      }
    }
    #expect(got.count == 1)
    #expect(got.first?.method == "POST")
    #expect(got.first?.path == "/whep")
    #expect(got.first?.header("content-type") == "application/sdp")
    #expect(got.first?.body == bytes(sdp))
  }

  @Test func postBodySplitInChunks() throws {
    let body = String(repeating: "x", count: 5000)
    let text = "POST /offer HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n" + body
    var c = newConnection()
    let all = bytes(text)
    var got: [HttpRequest] = []
    var i = 0
    while i < all.count {
      let n = min(7, all.count - i)
      if let r = c.receive(Array(all[i..<(i + n)]), now: 0).requests { got += r }
      i += n
    }
    #expect(got.count == 1)
    #expect(got.first?.body.count == 5000)
  }

  @Test func pipelinedRequests() throws {
    let text = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
      + "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
      + "DELETE /whep/7 HTTP/1.1\r\nHost: h\r\n\r\n"
      + "GET /par"  // partial fourth request
    var c = newConnection()
    let reqs = try #require(c.receive(bytes(text), now: 0).requests)
    #expect(reqs.map(\.path) == ["/a", "/b", "/whep/7"])
    #expect(reqs[1].body == bytes("abc"))
    #expect(!c.hasBufferedInput)
    let rest = try #require(c.receive(bytes("tial HTTP/1.1\r\nHost: h\r\n\r\n"), now: 1).requests)
    #expect(rest.map(\.path) == ["/partial"])
  }

  @Test func pipelineIsBoundedPerCall() throws {
    let one = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
    var c = newConnection { $0.maxRequestsPerReceive = 4 }
    let first = try #require(c.receive(bytes(String(repeating: one, count: 10)), now: 0).requests)
    #expect(first.count == 4)
    #expect(c.hasBufferedInput)
    let second = try #require(c.poll(now: 0).requests)
    #expect(second.count == 4)
    #expect(c.hasBufferedInput)
    let third = try #require(c.poll(now: 0).requests)
    #expect(third.count == 2)
    #expect(!c.hasBufferedInput)
    #expect(c.poll(now: 0).isNeedMore)
  }

  @Test func errorAfterPipelinedRequestIsDeferred() throws {
    var c = newConnection()
    let r = c.receive(bytes("GET /ok HTTP/1.1\r\nHost: h\r\n\r\nGET /bad HTTP/1.1\r\nHost h\r\n\r\n"), now: 0)
    #expect(r.requests?.count == 1)
    #expect(c.hasBufferedInput)
    let e = c.poll(now: 0).error
    #expect(e?.status == 400)
    #expect(e?.code == "BAD_HEADER")
    #expect(c.isFinished)
    // sticky: more input changes nothing
    #expect(c.receive(bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), now: 0).error == e)
  }

  @Test func keepAliveRules() throws {
    #expect(parseOne("GET / HTTP/1.1\r\nHost: h\r\n\r\n")?.keepAlive == true)
    #expect(parseOne("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")?.keepAlive == false)
    #expect(parseOne("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, CLOSE\r\n\r\n")?.keepAlive == false)
    #expect(parseOne("GET / HTTP/1.0\r\n\r\n")?.keepAlive == false)
    #expect(parseOne("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")?.keepAlive == true)
    #expect(parseOne("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n")?.keepAlive == false)
  }

  @Test func closeStopsParsingFurtherRequests() throws {
    var c = newConnection()
    let reqs = try #require(c.receive(bytes("GET /1 HTTP/1.0\r\n\r\nGET /2 HTTP/1.0\r\n\r\n"), now: 0).requests)
    #expect(reqs.count == 1)
    #expect(c.isFinished)
    #expect(!c.hasBufferedInput)
    #expect(c.receive(bytes("GET /3 HTTP/1.1\r\nHost: h\r\n\r\n"), now: 0).isNeedMore)
  }

  @Test func keepAliveConnectionServesSequentialRequests() throws {
    var c = newConnection()
    for i in 0..<5 {
      let r = c.receive(bytes("GET /\(i) HTTP/1.1\r\nHost: h\r\n\r\n"), now: UInt64(i) * 1_000_000_000)
      #expect(r.requests?.first?.path == "/\(i)")
    }
    #expect(!c.isFinished)
  }

  @Test func targetForms() throws {
    let abs = try #require(parseOne("GET http://cam.local:8080/whep/1?a=b HTTP/1.1\r\nHost: cam.local:8080\r\n\r\n"))
    #expect(abs.path == "/whep/1")
    #expect(abs.query == "a=b")
    #expect(abs.target == "http://cam.local:8080/whep/1?a=b")
    #expect(parseOne("GET HTTP://cam HTTP/1.1\r\nHost: cam\r\n\r\n")?.path == "/")
    #expect(parseOne("GET http://cam?x HTTP/1.1\r\nHost: cam\r\n\r\n")?.query == "x")
    let star = try #require(parseOne("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"))
    #expect(star.path == "*")
    #expect(parseError("GET * HTTP/1.1\r\nHost: h\r\n\r\n")?.status == 400)
    #expect(parseError("GET ftp://x/y HTTP/1.1\r\nHost: h\r\n\r\n")?.status == 400)
    #expect(parseError("GET http:/// HTTP/1.1\r\nHost: h\r\n\r\n")?.status == 400)
    #expect(parseError("GET whep HTTP/1.1\r\nHost: h\r\n\r\n")?.status == 400)
    #expect(parseError("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n")?.status == 400)
    #expect(parseError("CONNECT cam:443 HTTP/1.1\r\nHost: cam\r\n\r\n")?.status == 501)
  }

  @Test func optionsPreflightAndHead() throws {
    let o = try #require(parseOne("OPTIONS /whep HTTP/1.1\r\nHost: h\r\nOrigin: http://x\r\nAccess-Control-Request-Method: POST\r\n\r\n"))
    #expect(o.method == "OPTIONS")
    #expect(o.header("access-control-request-method") == "POST")
    #expect(parseOne("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")?.isHead == true)
  }

  @Test func pathSegments() throws {
    #expect(parseOne("DELETE /whep/ab%2Dc HTTP/1.1\r\nHost: h\r\n\r\n")?.pathSegments == ["whep", "ab-c"])
    #expect(parseOne("GET / HTTP/1.1\r\nHost: h\r\n\r\n")?.pathSegments == [])
    #expect(parseOne("GET /a/%00 HTTP/1.1\r\nHost: h\r\n\r\n")?.pathSegments == nil)
    #expect(parseOne("GET /a/%zz HTTP/1.1\r\nHost: h\r\n\r\n")?.pathSegments == nil)
  }

  @Test func lineEndingsLFAcceptedBareCRRejected() throws {
    let lf = try #require(parseOne("POST /offer HTTP/1.1\nHost: h\nContent-Length: 2\n\nhi"))
    #expect(lf.body == bytes("hi"))
    #expect(lf.header("host") == "h")
    // mixed endings
    #expect(parseOne("GET / HTTP/1.1\r\nHost: h\n\r\n")?.path == "/")
    #expect(parseError("GET / HTTP/1.1\rHost: h\r\n\r\n")?.code == "BAD_REQUEST")
    #expect(parseError("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n")?.code == "BAD_HEADER")
    #expect(parseError("GET / HTTP/1.1\r\nHost: h\r\n\r\r\n")?.status == 400)
  }

  @Test func bareCRDetectedAcrossFeeds() throws {
    var c = newConnection()
    #expect(c.receive(bytes("GET / HTTP/1.1\r"), now: 0).isNeedMore)
    #expect(c.receive(bytes("X"), now: 0).error?.status == 400)
  }

  @Test func leadingEmptyLinesIgnored() throws {
    #expect(parseOne("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")?.path == "/")
    var c = newConnection()
    // a stray CRLF after a body (some old clients) does not break the next request
    let r = c.receive(bytes("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"), now: 0)
    #expect(r.requests?.map(\.path) == ["/a", "/b"])
  }

  @Test func getWithContentLengthReadsBody() throws {
    let r = try #require(parseOne("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok"))
    #expect(r.body == bytes("ok"))
  }

  @Test func identicalDuplicateContentLengthAccepted() throws {
    #expect(parseOne("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok")?.body == bytes("ok"))
    #expect(parseOne("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 2\r\n\r\nok")?.body == bytes("ok"))
  }

  @Test func expectContinue() throws {
    var c = newConnection()
    #expect(c.receive(bytes("POST /whep HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"), now: 0).isNeedMore)
    #expect(c.takeInterimResponse() == bytes("HTTP/1.1 100 Continue\r\n\r\n"))
    #expect(c.takeInterimResponse() == nil)
    #expect(c.receive(bytes("ok"), now: 0).requests?.first?.body == bytes("ok"))
    #expect(parseError("POST / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\nContent-Length: 1\r\n\r\nx")?.status == 417)
  }
}

// MARK: - errors

@Suite struct HttpErrorTests {
  func expectError(_ text: String, _ status: Int, _ code: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let e = parseError(text)
    #expect(e?.status == status, sourceLocation: sourceLocation)
    #expect(e?.code == code, sourceLocation: sourceLocation)
    #expect(e?.message.isEmpty == false, sourceLocation: sourceLocation)
  }

  @Test func requestLineErrors() {
    expectError("GET /\r\n\r\n", 400, "BAD_REQUEST")
    expectError("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "BAD_REQUEST")
    expectError("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400, "BAD_REQUEST")
    expectError("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 400, "BAD_REQUEST")
    expectError("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "BAD_REQUEST")
    expectError("GET /\u{7f} HTTP/1.1\r\nHost: h\r\n\r\n", 400, "BAD_REQUEST")
    expectError("GET /é HTTP/1.1\r\nHost: h\r\n\r\n", 400, "BAD_REQUEST")
    expectError("GET / HTTX/1.1\r\nHost: h\r\n\r\n", 400, "BAD_REQUEST")
    expectError("GET / http/1.1\r\nHost: h\r\n\r\n", 400, "BAD_REQUEST")
  }

  @Test func versionNotSupported() {
    expectError("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, "VERSION_NOT_SUPPORTED")
    expectError("GET / HTTP/0.9\r\n\r\n", 505, "VERSION_NOT_SUPPORTED")
    expectError("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "VERSION_NOT_SUPPORTED")
    expectError("GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505, "VERSION_NOT_SUPPORTED")
  }

  @Test func headerSyntaxErrors() {
    expectError("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  folded\r\n\r\n", 400, "BAD_HEADER")
    expectError("GET / HTTP/1.1\r\nHost: h\r\n\tfolded\r\n\r\n", 400, "BAD_HEADER")
    expectError("GET / HTTP/1.1\r\nHost: h\r\nNoColonHere\r\n\r\n", 400, "BAD_HEADER")
    expectError("GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400, "BAD_HEADER")
    expectError("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", 400, "BAD_HEADER")
    expectError("GET / HTTP/1.1\r\n: h\r\n\r\n", 400, "BAD_HEADER")
    expectError("GET / HTTP/1.1\r\nHo(st: h\r\n\r\n", 400, "BAD_HEADER")
    expectError("GET / HTTP/1.1\r\nHost: h\u{01}x\r\n\r\n", 400, "BAD_HEADER")
    expectError("GET / HTTP/1.1\r\nHost: h\u{7f}\r\n\r\n", 400, "BAD_HEADER")
    expectError("GET / HTTP/1.1\r\nHost: h\u{0}\r\n\r\n", 400, "BAD_HEADER")
  }

  @Test func hostRequiredForHTTP11() {
    expectError("GET / HTTP/1.1\r\n\r\n", 400, "BAD_REQUEST")
    expectError("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "BAD_REQUEST")
    #expect(parseOne("GET / HTTP/1.0\r\n\r\n") != nil)
  }

  @Test func contentLengthErrors() {
    expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", 400, "BAD_REQUEST")
    expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 3\r\n\r\nabc", 400, "BAD_REQUEST")
    expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400, "BAD_REQUEST")
    expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\nx", 400, "BAD_REQUEST")
    expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\nx", 400, "BAD_REQUEST")
    expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", 400, "BAD_REQUEST")
    expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400, "BAD_REQUEST")
    expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551616\r\n\r\n", 400, "BAD_REQUEST")
  }

  @Test func smuggling() {
    expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "BAD_REQUEST")
    expectError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400, "BAD_REQUEST")
    expectError("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "BAD_REQUEST")
  }

  @Test func transferEncoding() {
    expectError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 411, "LENGTH_REQUIRED")
    expectError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n", 411, "LENGTH_REQUIRED")
    expectError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "NOT_IMPLEMENTED")
    expectError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n", 501, "NOT_IMPLEMENTED")
  }

  @Test func lengthRequired() {
    expectError("POST /whep HTTP/1.1\r\nHost: h\r\n\r\n", 411, "LENGTH_REQUIRED")
    expectError("PUT /x HTTP/1.1\r\nHost: h\r\n\r\n", 411, "LENGTH_REQUIRED")
    #expect(parseOne("POST /whep HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")?.body == [])
    #expect(parseOne("DELETE /whep/1 HTTP/1.1\r\nHost: h\r\n\r\n")?.method == "DELETE")
  }

  @Test func errorResponseFromError() {
    let e = HttpError(status: 413, code: "BODY_TOO_LARGE", message: "request body too large")
    let r = HttpResponse(error: e)
    #expect(r.status == 413)
    #expect(String(decoding: r.body, as: UTF8.self) == "{\"error\":\"BODY_TOO_LARGE\",\"message\":\"request body too large\"}")
  }
}

// MARK: - limits

@Suite struct HttpLimitTests {
  @Test func headerBytesAtLimitAndOneOver() {
    let limit = 8192
    let exact = headOfSize(limit)
    #expect(exact.utf8.count == limit)
    #expect(parseOne(exact) != nil)
    let over = headOfSize(limit + 1)
    let e = parseError(over)
    #expect(e?.status == 431)
    #expect(e?.code == "HEADERS_TOO_LARGE")
  }

  @Test func headerLimitTriggersWithoutTerminator() {
    // a client that never ends its head is cut off once it passes the limit, not buffered forever
    var c = newConnection { $0.maxHeaderBytes = 100 }
    let start = bytes("GET / HTTP/1.1\r\nX: ")
    #expect(c.receive(start, now: 0).isNeedMore)
    let fill = [UInt8](repeating: UInt8(ascii: "a"), count: 100 - start.count)
    #expect(c.receive(fill, now: 0).isNeedMore)  // exactly at the limit: undecided until the next byte
    #expect(c.receive(bytes("a"), now: 0).error?.status == 431)
  }

  @Test func longRequestLineIs414() {
    let e = parseError("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: h\r\n\r\n")
    #expect(e?.status == 414)
    #expect(e?.code == "URI_TOO_LONG")
  }

  @Test func leadingEmptyLinesCountTowardLimit() {
    let e = parseError(String(repeating: "\r\n", count: 5000) + "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    #expect(e != nil)
  }

  @Test func headerCountAtLimitAndOneOver() {
    func request(_ n: Int) -> String {
      var s = "GET / HTTP/1.1\r\nHost: h\r\n"
      for i in 1..<n { s += "X-\(i): v\r\n" }
      return s + "\r\n"
    }
    #expect(parseOne(request(64))?.headers.count == 64)
    let e = parseError(request(65))
    #expect(e?.status == 431)
    #expect(e?.code == "HEADERS_TOO_LARGE")
  }

  @Test func bodyAtLimitAndOneOver() {
    let max = 65536
    let ok = parseOne("POST /offer HTTP/1.1\r\nHost: h\r\nContent-Length: \(max)\r\n\r\n" + String(repeating: "b", count: max))
    #expect(ok?.body.count == max)
    // rejected from the head alone, before any body byte
    let e = parseError("POST /offer HTTP/1.1\r\nHost: h\r\nContent-Length: \(max + 1)\r\n\r\n")
    #expect(e?.status == 413)
    #expect(e?.code == "BODY_TOO_LARGE")
  }

  @Test func customLimits() {
    let lim: (inout HttpLimits) -> Void = { $0.maxBodyBytes = 10; $0.maxHeaderCount = 2 }
    #expect(parseOne("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", limits: lim)?.body.count == 10)
    #expect(parseError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", limits: lim)?.status == 413)
    #expect(parseError("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", limits: lim)?.status == 431)
  }

  @Test func pipelineOverflowIsBounded() {
    var c = newConnection {
      $0.maxRequestsPerReceive = 1
      $0.maxBufferedBytes = 0  // effective cap: maxHeaderBytes + maxBodyBytes
      $0.maxHeaderBytes = 100
      $0.maxBodyBytes = 100
    }
    let one = bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    var flood: [UInt8] = []
    for _ in 0..<20 { flood += one }  // 540 bytes > 200
    let r = c.receive(flood, now: 0)
    #expect(r.requests?.count == 1)
    #expect(c.hasBufferedInput)
    #expect(c.poll(now: 0).error?.code == "PIPELINE_OVERFLOW")
  }
}

// MARK: - timeouts (fake clock)

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
