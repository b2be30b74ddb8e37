// Truncated and mutated STUN datagrams into the codec and the agent: nothing traps.
import Testing
import TestSupport
import Wire
@testable import ICE

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
