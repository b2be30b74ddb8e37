// The transport an answer requires and gives: ICE credentials and host candidates (RFC 8839),
// a sha-256 certificate fingerprint (RFC 8122), a=setup (RFC 8842), rtcp-mux (RFC 8035).
import Foundation
import Testing
import Wire
@testable import SDP

@Suite struct TransportAttributeTests {
  @Test func missingIceCredentials() {
    expectError(.missingIceCredentials) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(ufrag: nil)), params()) }
    expectError(.missingIceCredentials) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(pwd: nil)), params()) }
    // present but invalid: too short / forbidden characters
    expectError(.missingIceCredentials) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(ufrag: "abc")), params()) }
    expectError(.missingIceCredentials) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(pwd: "short")), params()) }
    expectError(.missingIceCredentials) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(ufrag: "ab:cd")), params()) }
    expectCode("MISSING_ICE_CREDENTIALS") { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(ufrag: nil)), params()) }
  }

  @Test func candidates() throws {
    let many = (0..<5).map { SocketAddress(ip: [10, 0, 0, UInt8($0 + 1)], port: 4000) }
      + [SocketAddress(ip: [1, 2, 3], port: 1),  // bad length: skipped
         SocketAddress(ip: [0xfe, 0x80] + Array(repeating: 0, count: 13) + [7], port: 4000)]
    let a = try makeAnswer(offer: SdpOffer.parse(handOffer()), params(candidates: many))
    let cands = lines(a.sdp).filter { $0.hasPrefix("a=candidate:") }
    #expect(cands.count == 6)
    #expect(cands.last == "a=candidate:6 1 udp 2130705151 fe80::7 4000 typ host")
    var foundations = Set<String>(), priorities = Set<String>()
    for c in cands {
      let f = c.split(separator: " ")
      #expect(f.count == 8)
      #expect(f[1] == "1" && f[2] == "udp" && f[6] == "typ" && f[7] == "host")
      foundations.insert(String(f[0]))
      priorities.insert(String(f[3]))
    }
    #expect(foundations.count == 6 && priorities.count == 6)
    // candidates then end-of-candidates close the video section
    let l = lines(a.sdp)
    #expect(l[l.count - 2] == "a=end-of-candidates")
    // no candidates at all still yields a well-formed answer
    let none = try makeAnswer(offer: SdpOffer.parse(handOffer()), params(candidates: []))
    #expect(!none.sdp.contains("a=candidate"))
    #expect(none.sdp.hasSuffix("a=end-of-candidates\r\n"))
  }

  @Test func missingOrUnsupportedFingerprint() {
    expectError(.missingFingerprint) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(fingerprint: nil)), params()) }
    let sha1 = "a=fingerprint:sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33"
    expectError(.missingFingerprint) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(fingerprint: sha1)), params()) }
    // sha-256 of the wrong length
    expectError(.missingFingerprint) {
      _ = try makeAnswer(offer: SdpOffer.parse(handOffer(fingerprint: "a=fingerprint:sha-256 AB:CD")), params())
    }
    expectCode("MISSING_FINGERPRINT") { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(fingerprint: nil)), params()) }
  }

  @Test func sha256PreferredAmongSeveralFingerprints() throws {
    let sha1 = "a=fingerprint:sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33"
    let o = try SdpOffer.parse(handOffer(fingerprint: sha1, extra: ["a=fingerprint:SHA-256 " + fpHex]))
    #expect(o.media[0].fingerprintAlgorithm == "sha-256")
    #expect(try makeAnswer(offer: o, params()).video.remoteFingerprint == Hex.decode(fpHex))
  }

  @Test func mediaLevelFingerprintWinsOverSession() throws {
    let other = "a=fingerprint:sha-256 " + Hex.fingerprint(Array(repeating: 0x11, count: 32))
    let o = try SdpOffer.parse(handOffer(session: [other]))
    #expect(o.media[0].fingerprint == Hex.decode(fpHex))
    let onlySession = try SdpOffer.parse(handOffer(session: [other], fingerprint: nil))
    #expect(onlySession.media[0].fingerprint == Array(repeating: 0x11, count: 32))
  }

  @Test func setup() throws {
    expectError(.unsupportedSetup("active")) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(setup: "active")), params()) }
    expectError(.unsupportedSetup("holdconn")) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(setup: "holdconn")), params()) }
    expectError(.unsupportedSetup("")) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(setup: nil)), params()) }
    let a = try makeAnswer(offer: SdpOffer.parse(handOffer(setup: "passive")), params())
    #expect(a.sdp.contains("a=setup:active\r\n"))
    do {
      _ = try makeAnswer(offer: SdpOffer.parse(handOffer(setup: "active")), params())
    } catch {
      #expect(error.code == "UNSUPPORTED_SETUP")
      #expect(error.message.contains("a=setup:active"))
    }
    // junk setup values are sanitised before they reach the message
    do {
      _ = try makeAnswer(offer: SdpOffer.parse(handOffer(setup: "<script>" + String(repeating: "x", count: 100))), params())
      Issue.record("junk setup accepted")
    } catch {
      guard case .unsupportedSetup(let v) = error else { Issue.record("wrong error"); return }
      #expect(v.count <= 24 && !v.contains("<"))
    }
  }

  @Test func noRtcpMux() {
    expectError(.noRtcpMux) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(rtcpMux: false)), params()) }
    expectCode("NO_RTCP_MUX") { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(rtcpMux: false)), params()) }
  }
}
