// RFC 9112 section 9: persistent connections and pipelining (Connection: close / keep-alive, the
// per-call bound on pipelined requests, an error after earlier requests).
import Testing
@testable import HTTP

@Suite struct Rfc9112PersistenceTests {
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
}
