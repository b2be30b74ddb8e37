import Testing
import TestSupport
@testable import HTTP

@Suite struct FuzzTests {
  static let fragments: [String] = [
    "GET ", "POST ", "OPTIONS ", "/", "/whep", "*", "http://h/", " HTTP/1.1", " HTTP/1.0", " HTTP/9.9", "\r\n", "\n", "\r",
    "Host: h", "Content-Length: ", "5", "-1", "99999999999999999999", "18446744073709551620", "Transfer-Encoding: chunked", "Connection: close",
    "Expect: 100-continue", ":", " ", "\t", "\u{0}", "abc", "%", "\u{7f}", "é",
    "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "POST /offer HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n",
  ]

  @Test func randomBytesIntoConnection() {
    var rng = TestPRNG(state: 0x9E37_79B9_7F4A_7C15)
    var limits = HttpLimits()
    limits.maxHeaderBytes = 512
    limits.maxBodyBytes = 256
    limits.maxHeaderCount = 8
    var outcomes = [0, 0, 0]  // requests, errors, needMore
    for round in 0..<3000 {
      var c = HttpConnection(limits: limits, now: 0)
      var now: UInt64 = 0
      for _ in 0..<(1 + rng.below(12)) {
        var chunk: [UInt8] = []
        if round % 2 == 0 {
          for _ in 0..<rng.below(64) { chunk.append(UInt8(truncatingIfNeeded: rng.next())) }
        } else {
          for _ in 0..<rng.below(10) { chunk += Array(Self.fragments[rng.below(Self.fragments.count)].utf8) }
        }
        now += UInt64(rng.below(3_000_000_000))
        var r = c.receive(chunk, now: now)
        var guardCount = 0
        while true {
          switch r {
          case .requests(let reqs):
            outcomes[0] += 1
            for q in reqs { #expect(q.body.count <= limits.maxBodyBytes) }
          case .error(let e):
            outcomes[1] += 1
            #expect([400, 408, 411, 413, 414, 417, 431, 501, 505].contains(e.status))
          case .needMore: outcomes[2] += 1
          }
          guardCount += 1
          guard c.hasBufferedInput, guardCount < 100 else { break }
          r = c.poll(now: now)
        }
        #expect(guardCount < 100)
        _ = c.checkTimeout(now: now)
        _ = c.takeInterimResponse()
        if c.isFinished { break }
      }
      #expect(c.buf.count <= 512 + 256 + 64 + 262_144)
    }
    #expect(outcomes[0] > 0)
    #expect(outcomes[1] > 0)
  }

  @Test func randomBytesIntoJson() {
    var rng = TestPRNG(state: 0xD1B5_4A32_D192_ED03)
    let alphabet = Array("{}[]\",:0123456789-+.eEtruefalsn \\u/bDdAa\u{1}\n".utf8) + [0xC3, 0xA9, 0xED, 0xFF, 0xF0, 0x9F]
    var ok = 0
    var failed = 0
    for round in 0..<20_000 {
      var b: [UInt8] = []
      for _ in 0..<rng.below(40) {
        b.append(round % 3 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : alphabet[rng.below(alphabet.count)])
      }
      do {
        let v = try parseJson(b, maxDepth: 4)
        ok += 1
        // whatever parsed must re-serialize to parseable JSON with the same value
        let again = try parseJson(Array(v.jsonText.utf8), maxDepth: 4)
        #expect(again == v)
      } catch {
        failed += 1
        #expect(error.offset >= 0 && error.offset <= b.count)
      }
    }
    #expect(ok > 0)
    #expect(failed > 0)
  }

  @Test func mutatedValidRequests() {
    // flip, drop and duplicate bytes of a valid request: never a trap, always a decision
    let base = Array("POST /whep?x=1 HTTP/1.1\r\nHost: cam\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n".utf8)
    var rng = TestPRNG(state: 42)
    for _ in 0..<3000 {
      var m = base
      for _ in 0..<(1 + rng.below(4)) {
        let i = rng.below(m.count)
        switch rng.below(3) {
        case 0: m[i] = UInt8(truncatingIfNeeded: rng.next())
        case 1: m.remove(at: i)
        default: m.insert(m[i], at: i)
        }
        if m.isEmpty { m = base }
      }
      var c = HttpConnection(limits: HttpLimits(), now: 0)
      _ = c.receive(m, now: 0)
      while c.hasBufferedInput { _ = c.poll(now: 0) }
      let t = c.checkTimeout(now: 100_000_000_000)
      #expect(t != nil || c.isFinished)
    }
  }
}
