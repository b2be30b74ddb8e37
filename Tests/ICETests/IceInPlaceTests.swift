import Testing
import TestSupport
import Wire
@testable import ICE

/// The in-place consent-check path answers exactly what `receive` answers with a success (same
/// bytes, event and state), and leaves everything else to it untouched.
@Suite struct IceInPlaceTests: AgentSuite {
  let mapped = SocketAddress(ip: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 7], port: 65535)

  /// Both paths on fresh agents; returns whether the in-place one answered.
  @discardableResult
  func compare(_ d: [UInt8], from: SocketAddress, replyCapacity: Int = IceLiteAgent.inPlaceReplyCapacity,
               sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    var slow = agent()
    var fast = agent()
    let out = slow.receive(d, from: from, now: 7 * second)
    let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: replyCapacity, alignment: 8)
    defer { reply.deallocate() }
    let r = d.withUnsafeBytes { fast.receiveInPlace($0, from: from, now: 7 * second, reply: reply) }
    let slowSucceeded = out.response.flatMap { try? StunMessage.parse($0) }?.cls == .success
    switch r {
    case .answered(let length, let event):
      #expect(slowSucceeded, "answered in place what receive does not answer with success", sourceLocation: sourceLocation)
      #expect(Array(reply[0..<length]) == out.response, "different response bytes", sourceLocation: sourceLocation)
      #expect(event == out.event, sourceLocation: sourceLocation)
      #expect(fast.successCount == slow.successCount && fast.selected == slow.selected
              && fast.lastConsentAt == slow.lastConsentAt && fast.lastAuthenticatedSource == slow.lastAuthenticatedSource,
              sourceLocation: sourceLocation)
      return true
    case .notHandled:
      #expect(!slowSucceeded || replyCapacity < IceLiteAgent.inPlaceReplyCapacity,
              "a success left to the slow path", sourceLocation: sourceLocation)
      #expect(fast.successCount == 0 && fast.selected == nil && fast.lastConsentAt == nil
              && fast.lastAuthenticatedSource == nil, "state changed", sourceLocation: sourceLocation)
      return false
    }
  }

  @Test func consentChecksAreAnsweredInPlaceAsByReceive() {
    var b = FakeBrowser()
    for source in [v4, v6, mapped] {
      #expect(compare(b.check(), from: source))
      #expect(compare(b.check(useCandidate: true), from: source))
    }
    // comprehension-optional extras, and attributes after MESSAGE-INTEGRITY, are ignored
    #expect(compare(b.check(extra: [StunAttribute(type: Stun.software, value: Array("x".utf8))]), from: v4))
    var withTrailer = b.check()
    withTrailer.removeLast(8)  // FINGERPRINT off, an attribute after MESSAGE-INTEGRITY instead
    withTrailer += [0x00, 0x99, 0x00, 0x00]
    withTrailer[3] = UInt8(withTrailer.count - Stun.headerSize)
    compare(withTrailer, from: v4)
  }

  @Test func everythingElseIsLeftToReceive() {
    var b = FakeBrowser()
    #expect(!compare(b.check(key: Array("wrongpassword0123456789x".utf8)), from: v4))
    #expect(!compare(b.check(username: "other:BRWS"), from: v4))
    #expect(!compare(b.check(username: "rtcAM123:BRWX"), from: v4))
    #expect(!compare(b.check(controlled: true), from: v4))
    #expect(!compare(b.check(extra: [StunAttribute(type: 0x0031, value: [1, 2, 3, 4])]), from: v4))
    #expect(!compare(b.check(extra: [StunAttribute(type: Stun.useCandidate, value: [1])]), from: v4))
    #expect(!compare(b.check(method: 0x0003), from: v4))
    #expect(!compare(b.check(), from: SocketAddress(ip: [1, 2, 3], port: 1)))
    #expect(!compare(b.check(), from: v4, replyCapacity: IceLiteAgent.inPlaceReplyCapacity - 1))
    let good = b.check()
    var badFingerprint = good
    badFingerprint[badFingerprint.count - 1] ^= 1
    #expect(!compare(badFingerprint, from: v4))
    var response = good
    response[1] = 0x01; response[0] = 0x01  // a success response, not a request
    #expect(!compare(response, from: v4))
    for n in [0, 1, 19, 20, 21, good.count - 4, good.count - 1] { #expect(!compare(Array(good.prefix(n)), from: v4)) }
    // every single-byte change: never answered differently from receive, never traps
    for i in 0..<good.count {
      var m = good
      m[i] ^= 0x41
      compare(m, from: v4)
    }
  }

  @Test func ufragInPlaceMatchesTheArrayForm() {
    var b = FakeBrowser()
    let d = b.check()
    #expect(d.withUnsafeBytes { stunLocalUfrag($0) } == "rtcAM123")
    #expect(stunLocalUfrag(d) == "rtcAM123")
    #expect(stunLocalUfrag(b.check(username: ":x")) == nil)
  }

  @Test func hmacKeyMatchesMbedtlsHmac() {
    for keyLength in [0, 1, 20, 64, 65, 100] {
      let key = (0..<keyLength).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
      let msg = (0..<131).map { UInt8(truncatingIfNeeded: $0 &* 13) }
      var out = [UInt8](repeating: 0, count: 20)
      let k = HmacSHA1Key(key: key)
      msg.withUnsafeBytes { m in
        out.withUnsafeMutableBytes { o in
          k.mac(UnsafeRawBufferPointer(rebasing: m[0..<5]), UnsafeRawBufferPointer(rebasing: m[5..<5]),
                UnsafeRawBufferPointer(rebasing: m[5...]), into: o.baseAddress!)
        }
      }
      #expect(out == Digest.hmacSHA1(key: key, msg), "key length \(keyLength)")
    }
  }
}
