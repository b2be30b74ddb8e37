// Requests the connection refuses and why (RFC 9112 sections 3, 5, 6; request smuggling,
// section 6.3): each answers with its status and a stable code, then the connection closes.
import Testing
@testable import HTTP

@Suite struct Rfc9112RequestErrorTests {
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
