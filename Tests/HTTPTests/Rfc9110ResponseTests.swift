// RFC 9110 responses as rtcam writes them (status line and reason phrases, section 15; framing
// and header fields RFC 9112 sections 4 and 6), and that a client cannot inject header lines.
import Testing
@testable import HTTP

@Suite struct Rfc9110ResponseTests {
  func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

  @Test func serializeByteExact() {
    let r = HttpResponse(status: 200, contentType: "text/plain", body: Array("hi".utf8))
    let expected = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: no-store\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nhi"
    #expect(r.serialize(keepAlive: true) == Array(expected.utf8))
  }

  @Test func serializeCloseAndHead() {
    let r = HttpResponse.json(404, "{}")
    #expect(text(r.serialize(keepAlive: false)) == "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
    #expect(text(r.serialize(keepAlive: true, isHead: true)) == "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n")
  }

  @Test func createdWithLocation() {
    var r = HttpResponse(status: 201, contentType: "application/sdp", body: Array("v=0\r\n".utf8))
    r.setHeader("Location", "/whep/abc")
    r.addCors()
    let s = text(r.serialize(keepAlive: true))
    #expect(s.hasPrefix("HTTP/1.1 201 Created\r\nContent-Type: application/sdp\r\nLocation: /whep/abc\r\nAccess-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: Location, Link, ETag\r\n"))
    #expect(s.hasSuffix("Content-Length: 5\r\nConnection: keep-alive\r\n\r\nv=0\r\n"))
    #expect(r.header("location") == "/whep/abc")
  }

  @Test func noContentHasNoLength() {
    let r = HttpResponse.corsPreflight()
    let s = text(r.serialize(keepAlive: true))
    #expect(s == "HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: *\r\nAccess-Control-Allow-Methods: GET, POST, DELETE, PATCH, OPTIONS\r\nAccess-Control-Allow-Headers: Content-Type, Authorization, If-Match\r\nAccess-Control-Max-Age: 86400\r\nCache-Control: no-store\r\nConnection: keep-alive\r\n\r\n")
    // a body on a 204 is never sent
    let odd = HttpResponse(status: 204, headers: [], body: [1, 2, 3])
    #expect(!text(odd.serialize(keepAlive: false)).contains("Content-Length"))
    #expect(odd.serialize(keepAlive: false).last == 10)
  }

  @Test func callerCacheControlAndFramingHeaders() {
    let r = HttpResponse(status: 200, headers: [
      ("Cache-Control", "max-age=60"), ("Content-Length", "999"), ("Connection", "upgrade"),
      ("Transfer-Encoding", "chunked"),
    ], body: [65])
    #expect(text(r.serialize(keepAlive: false)) == "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 1\r\nConnection: close\r\n\r\nA")
  }

  @Test func headerInjectionIsNeutralised() {
    let r = HttpResponse(status: 200, headers: [("X-Id", "a\r\nSet-Cookie: x=1"), ("Bad Name", "v"), ("", "v")], body: [])
    let s = text(r.serialize(keepAlive: true))
    #expect(s.contains("X-Id: a  Set-Cookie: x=1\r\n"))
    #expect(!s.contains("\r\nSet-Cookie"))
    #expect(!s.contains("Bad Name"))
  }

  @Test func errorBodyIsEscapedJson() throws {
    let r = HttpResponse.error(400, code: "BAD_REQUEST", message: "quote \" and \\ and\nnewline")
    #expect(r.status == 400)
    #expect(r.header("Content-Type") == "application/json")
    let v = try parseJson(r.body)
    #expect(v["error"]?.stringValue == "BAD_REQUEST")
    #expect(v["message"]?.stringValue == "quote \" and \\ and\nnewline")
  }

  @Test func reasonPhrases() {
    #expect(reasonPhrase(201) == "Created")
    #expect(reasonPhrase(408) == "Request Timeout")
    #expect(reasonPhrase(411) == "Length Required")
    #expect(reasonPhrase(413) == "Content Too Large")
    #expect(reasonPhrase(431) == "Request Header Fields Too Large")
    #expect(reasonPhrase(505) == "HTTP Version Not Supported")
    #expect(text(HttpResponse(status: 299).serialize(keepAlive: true)).hasPrefix("HTTP/1.1 299 \r\n"))
    #expect(text(HttpResponse(status: 7).serialize(keepAlive: true)).hasPrefix("HTTP/1.1 500 Internal Server Error\r\n"))
  }

  @Test func roundTripThroughParser() throws {
    // a request built by hand and the response it gets, end to end through the connection
    let req = try #require(parseOne("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n"))
    let out = HttpResponse.html(200, Array("<p>x</p>".utf8)).serialize(keepAlive: req.keepAlive, isHead: req.isHead)
    #expect(text(out).hasSuffix("Content-Length: 8\r\nConnection: keep-alive\r\n\r\n"))
  }
}
