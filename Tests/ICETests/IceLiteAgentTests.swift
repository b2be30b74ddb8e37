// ICE-lite (RFC 8445 sections 2.5 and 7.3): Binding requests answered with XOR-MAPPED-ADDRESS,
// nomination by USE-CANDIDATE, the source address as seen, and credentials.
import Testing
import TestSupport
import Wire
@testable import ICE

@Suite struct IceLiteAgentTests: AgentSuite {
  @Test func checkThenNomination() throws {
    var a = agent()
    var browser = FakeBrowser()
    let req = browser.check()
    let out = a.receive(req, from: v4, now: 5 * second)
    #expect(out.error == nil)
    #expect(out.event == nil)
    let r = try parseResponse(out.response, to: req, authenticated: true)
    #expect(r.cls == .success && r.method == Stun.binding)
    #expect(r.xorMappedAddress == v4)
    #expect(a.selected == nil)
    #expect(a.lastConsentAt == 5 * second)
    #expect(a.lastAuthenticatedSource == v4)

    let nominate = browser.check(useCandidate: true)
    let out2 = a.receive(nominate, from: v4, now: 6 * second)
    #expect(out2.event == .selected(v4))
    #expect(a.selected == v4)
    #expect(try parseResponse(out2.response, to: nominate, authenticated: true).cls == .success)

    // Nominating the same address again is not a new event.
    let out3 = a.receive(browser.check(useCandidate: true), from: v4, now: 7 * second)
    #expect(out3.event == nil)
    #expect(out3.response != nil)
    #expect(a.lastConsentAt == 7 * second)

    // The nomination moves to another address.
    let out4 = a.receive(browser.check(useCandidate: true), from: v4b, now: 8 * second)
    #expect(out4.event == .selected(v4b))
    #expect(a.selected == v4b)
    #expect(a.successCount == 4)
  }

  @Test func ipv6Source() throws {
    var a = agent()
    var browser = FakeBrowser()
    let req = browser.check(useCandidate: true)
    let out = a.receive(req, from: v6, now: 1)
    let r = try parseResponse(out.response, to: req, authenticated: true)
    #expect(r.xorMappedAddress == v6)
    #expect(r.attribute(Stun.xorMappedAddress)?[1] == 2)  // IPv6 family
    #expect(out.event == .selected(v6))
  }

  @Test func v4MappedSourceIsReportedAsIPv4() throws {
    var a = agent()
    var browser = FakeBrowser()
    let mapped = SocketAddress(ip: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 20], port: 50000)
    let req = browser.check()
    let r = try parseResponse(a.receive(req, from: mapped, now: 1).response, to: req, authenticated: true)
    #expect(r.xorMappedAddress == v4)
  }

  @Test func responsesAndIndicationsAreIgnored() {
    var a = agent()
    var browser = FakeBrowser()
    for cls in [StunClass.success, .error, .indication] {
      var m = StunMessage(cls: cls, transactionID: browser.tid())
      m.append(Stun.username, Array("rtcAM123:BRWS".utf8))
      m.append(Stun.useCandidate, [])
      let out = a.receive(m.encode(integrityKey: browser.key, fingerprint: true), from: v4, now: 1)
      #expect(out.response == nil && out.event == nil && out.error == nil)
    }
    #expect(a.selected == nil && a.lastConsentAt == nil)
  }

  @Test func nonStunIsDroppedWithError() {
    var a = agent()
    #expect(a.receive([0x80, 0x60, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9], from: v4, now: 1).error == .notStun)
    #expect(a.receive([], from: v4, now: 1).error == .truncated)
    var browser = FakeBrowser()
    var req = browser.check(useCandidate: true)
    req[25] ^= 0xff
    let out = a.receive(req, from: v4, now: 1)
    #expect(out.error == .badFingerprint && out.response == nil)
  }

  @Test func credentialsFromRandomBytes() {
    let bytes = (0..<32).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
    let c = IceCredentials(random: bytes)
    #expect(c.ufrag.utf8.count == 8)
    #expect(c.password.utf8.count == 24)
    #expect(c == IceCredentials(random: bytes))  // deterministic
    #expect(c != IceCredentials(random: bytes.map { $0 ^ 1 }))
    let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    for ch in (c.ufrag + c.password).utf8 { #expect(allowed.contains(ch)) }
    // Each of the 64 symbols is reachable, byte i mapping to character i.
    let all = IceCredentials(random: (0..<32).map { UInt8($0 + 32) })
    #expect(all.ufrag == "ghijklmn")
    #expect(all.password == "opqrstuvwxyz0123456789+/")
    // Too few bytes does not trap.
    #expect(IceCredentials(random: [1, 2]).password.utf8.count == 24)
  }

  @Test func credentialsWorkEndToEnd() throws {
    let c = IceCredentials(random: (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 113 &+ 5) })
    var a = IceLiteAgent(local: c, remoteUfrag: "abcd", remotePassword: "x")
    var browser = FakeBrowser(localUfrag: c.ufrag, remoteUfrag: "abcd", key: Array(c.password.utf8))
    let out = a.receive(browser.check(useCandidate: true), from: v6, now: 1)
    #expect(out.event == .selected(v6))
    #expect(out.error == nil)
    #expect(stunLocalUfrag(browser.check()) == c.ufrag)
  }
}
