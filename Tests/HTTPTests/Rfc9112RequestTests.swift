// RFC 9112 message parsing: the request line and target forms (section 3), line endings
// (section 2.2), the body by Content-Length (section 6), Expect: 100-continue (RFC 9110 10.1.1).
import Testing
@testable import HTTP

@Suite struct Rfc9112RequestTests {
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

  /// Percent-decoding of path segments (RFC 3986 section 2.1): invalid escapes, NUL and invalid
  /// UTF-8 are refused.
  @Test func percentDecoding() {
    #expect(percentDecode("abc") == "abc")
    #expect(percentDecode("a%20b") == "a b")
    #expect(percentDecode("%C3%A9t%c3%a9") == "été")
    #expect(percentDecode("a+b") == "a+b")
    #expect(percentDecode("%2F") == "/")
    #expect(percentDecode("") == "")
    #expect(percentDecode("%") == nil)
    #expect(percentDecode("%4") == nil)
    #expect(percentDecode("%G0") == nil)
    #expect(percentDecode("%00") == nil)
    #expect(percentDecode("a\u{0}b") == nil)
    #expect(percentDecode("%C3") == nil)  // truncated UTF-8
    #expect(percentDecode("%ED%A0%80") == nil)  // encoded surrogate
    #expect(percentDecode("%C0%AF") == nil)  // overlong "/"
  }
}
