// Requests the agent refuses (RFC 5389 sections 10.1.2 and 7.3.1, RFC 8445 section 7.3.1.1):
// 401 for bad credentials, 487 for a role conflict, 420 for unknown attributes, 400 otherwise;
// requests without credentials dropped.
import Testing
import TestSupport
import Wire
@testable import ICE

@Suite struct StunErrorResponseTests: AgentSuite {
  @Test func wrongPasswordGets401WithoutIntegrity() throws {
    var a = agent()
    var browser = FakeBrowser()
    let req = browser.check(useCandidate: true, key: Array("wrongpasswordwrongpasswd".utf8))
    let out = a.receive(req, from: v4, now: 1)
    #expect(out.error == .badIntegrity)
    #expect(out.event == nil)
    let r = try parseResponse(out.response, to: req, authenticated: false)
    #expect(r.cls == .error)
    #expect(r.errorCode?.code == 401)
    #expect(r.xorMappedAddress == nil)
    #expect(a.selected == nil)
    #expect(a.lastConsentAt == nil)
    #expect(a.lastAuthenticatedSource == nil)
  }

  @Test func wrongUsernameGets401() throws {
    var a = agent()
    var browser = FakeBrowser()
    for name in ["other123:BRWS", "rtcAM123:XXXX", "rtcAM123", "rtcAM123:BRWS ", ""] {
      let req = browser.check(useCandidate: true, username: name)
      let out = a.receive(req, from: v4, now: 1)
      #expect(out.error == .wrongUsername)
      #expect(try parseResponse(out.response, to: req, authenticated: false).errorCode?.code == 401)
    }
    #expect(a.selected == nil)
    #expect(a.lastConsentAt == nil)
  }

  @Test func requestsWithoutCredentialsAreDropped() {
    var a = agent()
    let tid: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    var bare = StunMessage(cls: .request, transactionID: tid)
    bare.append(Stun.useCandidate, [])
    let out = a.receive(bare.encode(integrityKey: nil, fingerprint: true), from: v4, now: 1)
    #expect(out.response == nil && out.event == nil && out.error == .missingCredentials)
    var noMI = StunMessage(cls: .request, transactionID: tid)
    noMI.append(Stun.username, Array("rtcAM123:BRWS".utf8))
    noMI.append(Stun.useCandidate, [])
    let out2 = a.receive(noMI.encode(integrityKey: nil, fingerprint: true), from: v4, now: 1)
    #expect(out2.response == nil && out2.error == .missingCredentials)
    #expect(a.selected == nil)
  }

  @Test func roleConflictGets487() throws {
    var a = agent()
    var browser = FakeBrowser()
    let req = browser.check(useCandidate: true, controlled: true)
    let out = a.receive(req, from: v4, now: 1)
    #expect(out.error == .roleConflict)
    let r = try parseResponse(out.response, to: req, authenticated: true)
    #expect(r.cls == .error)
    #expect(r.errorCode == StunErrorCode(code: 487, reason: "Role Conflict"))
    #expect(a.selected == nil)
  }

  /// The RFC 5769 sample request carries ICE-CONTROLLED: an agent with its credentials
  /// answers it with an authenticated 487.
  @Test func rfc5769RequestIsARoleConflict() throws {
    var a = IceLiteAgent(local: IceCredentials(ufrag: "evtj", password: "VOkJxbRl1RmTxUk/WvJxBt"),
                         remoteUfrag: "h6vY", remotePassword: "")
    let out = a.receive(RFC5769.request, from: v4, now: 1)
    #expect(out.error == .roleConflict)
    let b = try #require(out.response)
    let r = try StunMessage.parse(b)
    #expect(r.errorCode?.code == 487)
    #expect(r.transactionID == RFC5769.transactionID)
    #expect(StunMessage.verifyIntegrity(b, key: RFC5769.password))
  }

  @Test func unknownComprehensionRequiredGets420() throws {
    var a = agent()
    var browser = FakeBrowser()
    let req = browser.check(useCandidate: true, extra: [
      StunAttribute(type: 0x0033, value: [1]), StunAttribute(type: 0x8033, value: [2]),
      StunAttribute(type: 0x0044, value: []), StunAttribute(type: 0x0033, value: [3]),
    ])
    let out = a.receive(req, from: v4, now: 1)
    #expect(out.error == .unknownAttributes([0x0033, 0x0044]))
    let r = try parseResponse(out.response, to: req, authenticated: true)
    #expect(r.errorCode?.code == 420)
    #expect(r.unknownAttributeTypes == [0x0033, 0x0044])
    #expect(a.selected == nil)
  }

  @Test func badAttributeSizeGets400() throws {
    var a = agent()
    var browser = FakeBrowser()
    let req = browser.check(useCandidate: true, extra: [StunAttribute(type: Stun.useCandidate, value: [1])])
    // The first USE-CANDIDATE (empty) wins; make a request whose only one is wrong instead.
    #expect(a.receive(req, from: v4, now: 1).event == .selected(v4))
    var b = agent()
    var m = StunMessage(cls: .request, transactionID: browser.tid())
    m.append(Stun.username, Array("rtcAM123:BRWS".utf8))
    m.append(Stun.priority, [1, 2])
    let bytes = m.encode(integrityKey: browser.key, fingerprint: true)
    let out = b.receive(bytes, from: v4, now: 1)
    #expect(out.error == .malformed("PRIORITY length"))
    #expect(try parseResponse(out.response, to: bytes, authenticated: true).errorCode?.code == 400)
  }

  @Test func nonBindingMethodGets400() throws {
    var a = agent()
    var browser = FakeBrowser()
    let req = browser.check(method: 0x0003)  // Allocate: not for us
    let out = a.receive(req, from: v4, now: 1)
    #expect(out.error == .unsupportedMethod(3))
    let r = try parseResponse(out.response, to: req, authenticated: true)
    #expect(r.errorCode?.code == 400 && r.method == 3)
  }
}
