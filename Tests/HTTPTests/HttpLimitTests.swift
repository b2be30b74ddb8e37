// HttpLimits: every bound holds at its value and fails one past it.
import Testing
@testable import HTTP

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
