import Testing
import TestSupport
import Wire
@testable import ICE

/// A browser-side view: builds checks the way Chrome/Firefox do.
struct FakeBrowser {
  var localUfrag = "rtcAM123"            // our (the agent's) ufrag
  var remoteUfrag = "BRWS"               // the browser's ufrag
  var key = Array("0123456789abcdefghijklmn".utf8)  // our password: browsers key MI with it
  var counter: UInt8 = 0

  mutating func tid() -> [UInt8] {
    counter &+= 1
    return [counter, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
  }

  mutating func check(useCandidate: Bool = false, controlled: Bool = false, username: String? = nil,
                      key: [UInt8]? = nil, extra: [StunAttribute] = [], method: UInt16 = Stun.binding) -> [UInt8] {
    var m = StunMessage(method: method, cls: .request, transactionID: tid())
    m.append(Stun.username, Array((username ?? "\(localUfrag):\(remoteUfrag)").utf8))
    m.append(Stun.priority, [0x6e, 0x7f, 0x1e, 0xff])
    if controlled {
      m.append(Stun.iceControlled, [9, 8, 7, 6, 5, 4, 3, 2])
    } else {
      m.append(Stun.iceControlling, [1, 2, 3, 4, 5, 6, 7, 8])
    }
    if useCandidate { m.append(Stun.useCandidate, []) }
    m.attributes += extra
    m.append(0xC057, [0, 1, 0, 10])  // GOOG-NETWORK-INFO (comprehension-optional)
    return m.encode(integrityKey: key ?? self.key, fingerprint: true)
  }
}

let second: UInt64 = 1_000_000_000

@Suite struct IceLiteAgentTests {
  let creds = IceCredentials(ufrag: "rtcAM123", password: "0123456789abcdefghijklmn")
  let v4 = SocketAddress(ip: [192, 168, 1, 20], port: 50000)
  let v4b = SocketAddress(ip: [192, 168, 1, 20], port: 50002)
  let v6 = SocketAddress(ip: [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 0, 0x99], port: 61000)

  func agent() -> IceLiteAgent { IceLiteAgent(local: creds, remoteUfrag: "BRWS", remotePassword: "browserpasswordbrowserpw") }

  /// Parses a response and checks what every response must satisfy.
  func parseResponse(_ bytes: [UInt8]?, to request: [UInt8], authenticated: Bool) throws -> StunMessage {
    let b = try #require(bytes)
    let r = try StunMessage.parse(b)  // verifies FINGERPRINT
    let req = try StunMessage.parse(request)
    #expect(r.transactionID == req.transactionID)
    #expect(r.attributes.last?.type == Stun.fingerprint)
    #expect(r.has(Stun.messageIntegrity) == authenticated)
    if authenticated {
      #expect(StunMessage.verifyIntegrity(b, key: Array(creds.password.utf8)))
    }
    return r
  }

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

  @Test func consentExpiryWithFakeClock() {
    var a = agent()
    var browser = FakeBrowser()
    let start: UInt64 = 100 * second
    // Nothing yet: expires 30 s after start.
    #expect(!a.consentExpired(now: start, startedAt: start))
    #expect(!a.consentExpired(now: start + 29 * second, startedAt: start))
    #expect(a.consentExpired(now: start + 30 * second, startedAt: start))

    var now = start + 2 * second
    _ = a.receive(browser.check(useCandidate: true), from: v4, now: now)
    #expect(a.selected == v4)
    // Browser checks every 5 s for a minute: consent stays.
    for _ in 0..<12 {
      now += 5 * second
      #expect(a.receive(browser.check(), from: v4, now: now).response != nil)
      #expect(!a.consentExpired(now: now + 29 * second, startedAt: start))
    }
    let last = now
    // Checks with a wrong password do not refresh consent.
    now += 10 * second
    _ = a.receive(browser.check(key: Array("nope".utf8)), from: v4, now: now)
    #expect(a.lastConsentAt == last)
    // Checks from another, unselected pair do not either.
    _ = a.receive(browser.check(), from: v4b, now: now)
    #expect(a.lastConsentAt == last)
    #expect(!a.consentExpired(now: last + 30 * second - 1, startedAt: start))
    #expect(a.consentExpired(now: last + 30 * second, startedAt: start))
    // A configurable window.
    var b = a
    b.consentTimeout = 60 * second
    #expect(!b.consentExpired(now: last + 30 * second, startedAt: start))
    // A clock that appears to go backwards is not "expired".
    #expect(!a.consentExpired(now: last - 1, startedAt: start))
  }

  @Test func authenticatedMediaFromTheSelectedAddressKeepsConsent() {
    var a = agent()
    var browser = FakeBrowser()
    let start: UInt64 = 100 * second
    // Before nomination media proves nothing about a path.
    let early = a.authenticatedMedia(from: v4, now: start)
    #expect(!early)
    #expect(a.lastConsentAt == nil)
    let nominated = start + second
    _ = a.receive(browser.check(useCandidate: true), from: v4, now: nominated)
    // Then no more checks (GStreamer 1.22), only receiver reports every 5 s for a minute.
    var now = nominated
    for _ in 0..<12 {
      now += 5 * second
      let counted = a.authenticatedMedia(from: v4, now: now)
      #expect(counted)
      #expect(a.lastConsentAt == now)
      #expect(!a.consentExpired(now: now + 29 * second, startedAt: start))
    }
    // From another address it does not count.
    let elsewhere = a.authenticatedMedia(from: v4b, now: now + 10 * second)
    #expect(!elsewhere)
    #expect(a.lastConsentAt == now)
    // A report that arrives with an older time does not move consent back.
    let late = a.authenticatedMedia(from: v4, now: now - second)
    #expect(late)
    #expect(a.lastConsentAt == now)
    // The viewer vanishes: reaped consentTimeout after its last report.
    #expect(!a.consentExpired(now: now + 30 * second - 1, startedAt: start))
    #expect(a.consentExpired(now: now + 30 * second, startedAt: start))
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

@Suite struct StunFuzzTests {
  @Test func truncatedAndMutatedDatagramsNeverTrap() {
    let creds = IceCredentials(ufrag: "rtcAM123", password: "0123456789abcdefghijklmn")
    var browser = FakeBrowser()
    let key = Array(creds.password.utf8)
    let seeds = [browser.check(), browser.check(useCandidate: true), browser.check(controlled: true),
                 RFC5769.request, RFC5769.ipv4Response, RFC5769.ipv6Response]
    var rng = TestPRNG(state: 0x9E37_79B9_7F4A_7C15)
    let from = SocketAddress(ip: [10, 0, 0, 1], port: 1234)
    var successes = 0
    var parsed = 0
    for iteration in 0..<6000 {
      var d = seeds[iteration % seeds.count]
      switch rng.below(5) {
      case 0:  // truncate
        d = Array(d[0..<rng.below(d.count + 1)])
      case 1:  // flip some bits
        for _ in 0..<(1 + rng.below(4)) where !d.isEmpty { d[rng.below(d.count)] ^= UInt8(1 << rng.below(8)) }
      case 2:  // random bytes in the attribute area, header kept
        for i in 20..<d.count where rng.below(8) == 0 { d[i] = UInt8(truncatingIfNeeded: rng.next()) }
      case 3:  // lie in the length fields
        if d.count >= 4 { d[3] = UInt8(truncatingIfNeeded: rng.next()) }
        if d.count >= 26 { d[22] = UInt8(truncatingIfNeeded: rng.next()); d[23] = UInt8(truncatingIfNeeded: rng.next()) }
      default:  // extend with junk
        for _ in 0..<rng.below(12) { d.append(UInt8(truncatingIfNeeded: rng.next())) }
      }

      _ = looksLikeStun(d)
      _ = stunLocalUfrag(d)
      let integrityOK = StunMessage.verifyIntegrity(d, key: key)
      if let m = try? StunMessage.parse(d) {
        parsed += 1
        #expect(m.transactionID.count == 12)
        _ = (m.username, m.priority, m.iceControlled, m.iceControlling, m.errorCode, m.xorMappedAddress,
             m.mappedAddress, m.unknownAttributeTypes, m.software, m.useCandidate)
        // Whatever parsed re-encodes into something that parses.
        #expect((try? StunMessage.parse(m.encode(integrityKey: key, fingerprint: true))) != nil)
      }
      var agent = IceLiteAgent(local: creds, remoteUfrag: "BRWS", remotePassword: "")
      let out = agent.receive(d, from: from, now: 1)
      if let r = out.response {
        // Every response is well-formed STUN with a FINGERPRINT...
        let p = try? StunMessage.parse(r)
        #expect(p != nil)
        #expect(p?.attributes.last?.type == Stun.fingerprint)
        // ... and a success only ever answers a request that authenticates.
        if p?.cls == .success {
          successes += 1
          #expect(integrityOK)
          #expect(out.error == nil)
        }
      } else {
        #expect(agent.selected == nil || integrityOK)
      }
      if out.event != nil { #expect(integrityOK) }
    }
    // The loop exercised both paths.
    #expect(parsed > 100)
    #expect(successes > 10)
  }
}
