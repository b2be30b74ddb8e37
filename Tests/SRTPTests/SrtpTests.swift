import TestSupport
import CRTCam
import Testing
import Wire

@testable import SRTP

/// RFC 3711 Appendix B test vectors (AES-CM keystream B.2, key derivation B.3), checked
/// against the reference implementation that the libsrtp2 tests below rely on.
@Suite struct SrtpReferenceTests {
  @Test func rfc3711AppendixB2KeystreamVector() {
    let ks = SrtpReference.keystream(
      hex("2B7E151628AED2A6ABF7158809CF4F3C"), iv: hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"), length: 48)
    #expect(Array(ks[0..<16]) == hex("E03EAD0935C95E80E166B16DD92B4EB4"))
    #expect(Array(ks[16..<32]) == hex("D23513162B02D0F72A43A2FE4A5F97AB"))
    #expect(Array(ks[32..<48]) == hex("41E95B3BB0A2E8DD477901E4FCA894C0"))
  }

  @Test func rfc3711AppendixB3KeyDerivationVector() {
    let ref = SrtpReference(
      masterKey: hex("E1F97A0D3E018BE0D64FA32C06DE4139"), masterSalt: hex("0EC675AD498AFEEBB6960B3AABE6"))
    #expect(ref.encKey == hex("C61E7A93744F39EE10734AFE3FF7A087"))
    #expect(ref.salt == hex("30CBBC08863D8C85D49DB34A9AE1"))
    #expect(ref.authKey == hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"))
  }
}

/// Known-answer tests for libsrtp2 through `SrtpSession`: the master key/salt of RFC 3711
/// B.3 protecting the RTP and RTCP packets of libsrtp's published AES_CM_128_HMAC_SHA1_80
/// test vectors (SSRC 0xcafebabe, sequence 0x1234, SRTCP index 1).
@Suite struct SrtpKnownAnswerTests {
  static let masterKey = hex("E1F97A0D3E018BE0D64FA32C06DE4139")
  static let masterSalt = hex("0EC675AD498AFEEBB6960B3AABE6")
  static let rtp = hex("800f1234decafbadcafebabe") + [UInt8](repeating: 0xab, count: 16)
  static let srtp = hex(
    "800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb")
  static let rtcp = hex("81c8000bcafebabe") + [UInt8](repeating: 0xab, count: 16)
  static let srtcp = hex(
    "81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8 80000001 993e08cd54d6c1230798")

  static func sender() throws -> SrtpSession {
    // remote keys are irrelevant for protecting
    try SrtpSession(
      localKey: masterKey, localSalt: masterSalt, remoteKey: [UInt8](repeating: 1, count: 16),
      remoteSalt: [UInt8](repeating: 2, count: 14))
  }

  static func receiver() throws -> SrtpSession {
    try SrtpSession(
      localKey: [UInt8](repeating: 1, count: 16), localSalt: [UInt8](repeating: 2, count: 14),
      remoteKey: masterKey, remoteSalt: masterSalt)
  }

  @Test func referenceMatchesPublishedVectors() {
    let ref = SrtpReference(masterKey: Self.masterKey, masterSalt: Self.masterSalt)
    #expect(ref.protectRtp(Self.rtp, roc: 0) == Self.srtp)
    #expect(ref.protectRtcp(Self.rtcp, index: 1) == Self.srtcp)
  }

  @Test func protectRtpMatchesVector() throws {
    #expect(try Self.sender().protectRtp(Self.rtp) == Self.srtp)
  }

  @Test func protectRtcpMatchesVector() throws {
    #expect(try Self.sender().protectRtcp(Self.rtcp) == Self.srtcp)
  }

  @Test func unprotectVectors() throws {
    let r = try Self.receiver()
    #expect(try r.unprotectRtp(Self.srtp) == Self.rtp)
    #expect(try r.unprotectRtcp(Self.srtcp) == Self.rtcp)
  }

  @Test func inPlaceProtect() throws {
    let s = try Self.sender()
    var buf = Self.rtp + [UInt8](repeating: 0xEE, count: SrtpSession.trailerCapacity)
    let n = try buf.withUnsafeMutableBytes { b in try s.protectRtp(b, length: Self.rtp.count) }
    #expect(n == Self.rtp.count + 10)
    #expect(Array(buf[0..<n]) == Self.srtp)
    var rbuf = Self.rtcp + [UInt8](repeating: 0, count: SrtpSession.trailerCapacity)
    let m = try rbuf.withUnsafeMutableBytes { b in try s.protectRtcp(b, length: Self.rtcp.count) }
    #expect(m == Self.rtcp.count + 14)
    #expect(Array(rbuf[0..<m]) == Self.srtcp)
  }

  /// Many packets, with CSRCs, header extensions and a sequence number rollover, byte for
  /// byte against the reference.
  @Test func matchesReferenceAcrossRollover() throws {
    let s = try Self.sender()
    let ref = SrtpReference(masterKey: Self.masterKey, masterSalt: Self.masterSalt)
    var rng = TestPRNG(state: 3711)
    var seq: UInt16 = 65530
    var roc: UInt32 = 0
    for i in 0..<40 {
      let p = rtpPacket(
        seq: seq, timestamp: UInt32(i) * 3000, ssrc: 0x1122_3344, marker: i % 3 == 0,
        csrcs: i % 4 == 1 ? [7, 8] : [], extensionWords: i % 5 == 2 ? [0x1234_5678, 0x9abc_def0] : nil,
        payload: rng.bytes(1 + rng.below(1100)))
      #expect(try s.protectRtp(p) == ref.protectRtp(p, roc: roc), "packet \(i) seq \(seq)")
      seq &+= 1
      if seq == 0 { roc += 1 }
    }
    #expect(roc == 1)
    for index in 1...5 {
      let rtcp = [0x80, 200, 0, 6] + hex("11223344") + rng.bytes(20)
      #expect(try s.protectRtcp(rtcp) == ref.protectRtcp(rtcp, index: UInt32(index)))
    }
  }
}

@Suite struct SrtpSessionTests {
  /// Two sessions with mirrored keys, like rtcam and a browser after DTLS.
  static func pair() throws -> (SrtpSession, SrtpSession) {
    var rng = TestPRNG(state: 42)
    let k1 = rng.bytes(16), s1 = rng.bytes(14), k2 = rng.bytes(16), s2 = rng.bytes(14)
    let a = try SrtpSession(localKey: k1, localSalt: s1, remoteKey: k2, remoteSalt: s2)
    let b = try SrtpSession(localKey: k2, localSalt: s2, remoteKey: k1, remoteSalt: s1)
    return (a, b)
  }

  @Test func rtpRoundTripBothWays() throws {
    let (a, b) = try Self.pair()
    var rng = TestPRNG(state: 1)
    for seq in UInt16(100)..<UInt16(130) {
      let p = rtpPacket(seq: seq, marker: seq % 2 == 0, payload: rng.bytes(1 + rng.below(1200)))
      let protected = try a.protectRtp(p)
      #expect(protected.count == p.count + 10)
      #expect(protected != p + protected.suffix(10))  // payload is encrypted
      #expect(Array(protected.prefix(12)) == Array(p.prefix(12)))  // header is not
      #expect(try b.unprotectRtp(protected) == p)
      let back = rtpPacket(seq: seq, ssrc: 0x0BAD_CAFE, payload: rng.bytes(50))
      #expect(try a.unprotectRtp(b.protectRtp(back)) == back)
    }
  }

  @Test func rtcpRoundTripBothWays() throws {
    let (a, b) = try Self.pair()
    // a sender report from rtcam, a PLI and a NACK from the browser
    let sr = hex("80c80006 11223344 e5e5e5e5 12345678 00015f90 0000000a 00000fa0")
    let pli = hex("81ce0002 0badcafe 11223344")
    let nack = hex("81cd0003 0badcafe 11223344 00640003")
    #expect(try b.unprotectRtcp(a.protectRtcp(sr)) == sr)
    #expect(try a.unprotectRtcp(b.protectRtcp(pli)) == pli)
    #expect(try a.unprotectRtcp(b.protectRtcp(nack)) == nack)
    let p = try a.protectRtcp(sr)
    #expect(p.count == sr.count + 14)
    #expect(p[sr.count] & 0x80 != 0)  // E bit: encrypted
  }

  @Test func tamperedPacketsFailAuthentication() throws {
    let (a, b) = try Self.pair()
    let p = rtpPacket(seq: 5, payload: [UInt8](repeating: 7, count: 100))
    let good = try a.protectRtp(p)
    for index in [0, 2, 11, 12, 60, good.count - 10, good.count - 1] {
      var bad = good
      bad[index] ^= 0x01
      #expect(throws: SrtpError.self) { try b.unprotectRtp(bad) }
      do {
        _ = try b.unprotectRtp(bad)
      } catch {
        #expect(error.isAuthFailure, "byte \(index): \(error.code)")
      }
    }
    // the untouched packet still passes afterwards
    #expect(try b.unprotectRtp(good) == p)

    let rtcp = hex("81ce0002 0badcafe 11223344")
    var badRtcp = try a.protectRtcp(rtcp)
    badRtcp[badRtcp.count - 1] ^= 0x80
    #expect(throws: SrtpError.self) { try b.unprotectRtcp(badRtcp) }
  }

  @Test func wrongKeysFail() throws {
    let (a, _) = try Self.pair()
    let (_, other) = try { () throws -> (SrtpSession, SrtpSession) in
      var rng = TestPRNG(state: 43)
      let x = try SrtpSession(
        localKey: rng.bytes(16), localSalt: rng.bytes(14), remoteKey: rng.bytes(16), remoteSalt: rng.bytes(14))
      let y = try SrtpSession(
        localKey: rng.bytes(16), localSalt: rng.bytes(14), remoteKey: rng.bytes(16), remoteSalt: rng.bytes(14))
      return (x, y)
    }()
    let protected = try a.protectRtp(rtpPacket(seq: 1, payload: [1, 2, 3]))
    do {
      _ = try other.unprotectRtp(protected)
      Issue.record("wrong key accepted")
    } catch {
      #expect(error.code == "SRTP_AUTH_FAILED")
    }
  }

  @Test func replayIsRejected() throws {
    let (a, b) = try Self.pair()
    let p1 = try a.protectRtp(rtpPacket(seq: 1000, payload: [1, 2, 3]))
    let p2 = try a.protectRtp(rtpPacket(seq: 1001, payload: [4, 5, 6]))
    _ = try b.unprotectRtp(p1)
    _ = try b.unprotectRtp(p2)
    do {
      _ = try b.unprotectRtp(p1)
      Issue.record("replay accepted")
    } catch {
      #expect(error.isReplay, "\(error)")
      #expect(error.code == "SRTP_REPLAY")
    }
    let c1 = try a.protectRtcp(hex("80c80001 11223344"))
    _ = try b.unprotectRtcp(c1)
    #expect(throws: SrtpError.self) { try b.unprotectRtcp(c1) }
  }

  @Test func reorderedPacketsWithinWindowAreAccepted() throws {
    let (a, b) = try Self.pair()
    let packets = try (0..<20).map { try a.protectRtp(rtpPacket(seq: UInt16(500 + $0), payload: [UInt8($0)])) }
    for i in stride(from: 19, through: 0, by: -1) {
      #expect(try b.unprotectRtp(packets[i]).last == UInt8(i))
    }
  }

  @Test func senderMayRepeatSequenceNumbers() throws {
    // NACK handling resends the very same RTP packet: allow_repeat_tx.
    let (a, b) = try Self.pair()
    let p = rtpPacket(seq: 77, payload: [9, 9, 9, 9])
    let first = try a.protectRtp(p)
    _ = try a.protectRtp(rtpPacket(seq: 78, payload: [1]))
    let again = try a.protectRtp(p)
    #expect(again == first)
    #expect(try b.unprotectRtp(first) == p)
    #expect(throws: SrtpError.self) { try b.unprotectRtp(again) }  // the receiver drops the duplicate
  }

  @Test func inPlaceBufferTooSmall() throws {
    let (a, _) = try Self.pair()
    let p = rtpPacket(seq: 1, payload: [UInt8](repeating: 3, count: 100))
    var exact = p
    let error = exact.withUnsafeMutableBytes { b -> SrtpError? in
      do {
        _ = try a.protectRtp(b, length: p.count)
        return nil
      } catch { return error as? SrtpError }
    }
    #expect(error == .bufferTooSmall(needed: p.count + 16, capacity: p.count))
    #expect(exact == p)  // untouched
    var short = p + [0, 0, 0]
    #expect(throws: SrtpError.bufferTooSmall(needed: p.count + 16, capacity: p.count + 3)) {
      try short.withUnsafeMutableBytes { b in try a.protectRtcp(b, length: p.count) }
    }
    var big = p + [UInt8](repeating: 0, count: 16)
    #expect(throws: SrtpError.malformed) { try big.withUnsafeMutableBytes { b in try a.protectRtp(b, length: 11) } }
    #expect(throws: SrtpError.malformed) { try big.withUnsafeMutableBytes { b in try a.protectRtp(b, length: -1) } }
    #expect(throws: SrtpError.malformed) {
      try big.withUnsafeMutableBytes { b in try a.unprotectRtp(b, length: b.count + 1) }
    }
    #expect(throws: SrtpError.malformed) { try a.protectRtcp([1, 2, 3]) }
  }

  @Test func badKeyLengths() {
    #expect(throws: SrtpError.badKeyLength) {
      try SrtpSession(localKey: [1], localSalt: [UInt8](repeating: 0, count: 14), remoteKey: [UInt8](repeating: 0, count: 16), remoteSalt: [UInt8](repeating: 0, count: 14))
    }
    #expect(throws: SrtpError.badKeyLength) {
      try SrtpSession(localKey: [UInt8](repeating: 0, count: 16), localSalt: [UInt8](repeating: 0, count: 14), remoteKey: [UInt8](repeating: 0, count: 16), remoteSalt: [UInt8](repeating: 0, count: 16))
    }
  }

  @Test func initializeIsIdempotentAcrossThreads() async throws {
    try srtpInitialize()
    try await withThrowingTaskGroup(of: Void.self) { group in
      for _ in 0..<8 { group.addTask { try srtpInitialize() } }
      try await group.waitForAll()
    }
    try srtpInitialize()
  }

  /// Random and hostile datagrams: every one is an error, none traps.
  @Test func garbageIsRejectedWithoutTrapping() throws {
    let (_, b) = try Self.pair()
    var rng = TestPRNG(state: 99)
    var accepted = 0
    for i in 0..<3000 {
      var d = rng.bytes(rng.below(300))
      if d.count >= 12 && i % 2 == 0 {
        d[0] = 0x80 | UInt8(rng.below(32))  // V=2, random P/X/CC
        if i % 4 == 0 { d[0] |= 0x1F }  // X with 15 CSRCs: header longer than the packet
      }
      if (try? b.unprotectRtp(d)) != nil { accepted += 1 }
      if (try? b.unprotectRtcp(d)) != nil { accepted += 1 }
    }
    #expect(accepted == 0)
    for n in 0..<40 {
      #expect(throws: SrtpError.self) { try b.unprotectRtp([UInt8](repeating: 0x80, count: n)) }
      #expect(throws: SrtpError.self) { try b.unprotectRtcp([UInt8](repeating: 0x81, count: n)) }
    }
  }

  @Test func errorCodes() {
    #expect(SrtpError.failed("x", srtp_err_status_auth_fail) == .authenticationFailed("x"))
    #expect(SrtpError.failed("x", srtp_err_status_replay_fail) == .replayed("x"))
    #expect(SrtpError.failed("x", srtp_err_status_replay_old) == .replayed("x"))
    #expect(SrtpError.failed("x", srtp_err_status_bad_param) == .libsrtp("x", 2))
    #expect(SrtpError.authenticationFailed("x").code == "SRTP_AUTH_FAILED" && SrtpError.authenticationFailed("x").isAuthFailure)
    #expect(SrtpError.replayed("x").code == "SRTP_REPLAY" && SrtpError.replayed("x").isReplay)
    #expect(SrtpError.libsrtp("x", 2).code == "SRTP_ERROR")
    #expect(SrtpError.bufferTooSmall(needed: 2, capacity: 1).code == "SRTP_BUFFER_TOO_SMALL")
  }
}
