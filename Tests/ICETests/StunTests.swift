import Testing
import TestSupport
import Wire
@testable import ICE

/// Hex as the RFC prints it (spaces and line breaks) to bytes.
func hexBytes(_ s: String) -> [UInt8] {
  let digits = String(s.filter { $0.isHexDigit })
  guard let b = Hex.decode(digits) else { fatalError("bad hex in test") }
  return b
}

/// RFC 5769 test vectors (section 2.1 to 2.3), copied from the RFC text.
enum RFC5769 {
  static let password = Array("VOkJxbRl1RmTxUk/WvJxBt".utf8)
  static let transactionID = hexBytes("b7 e7 a7 01 bc 34 d6 86 fa 87 df ae")

  /// 2.1 Sample Request: SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME "evtj:h6vY",
  /// MESSAGE-INTEGRITY, FINGERPRINT.
  static let request = hexBytes("""
    00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
    00 24 00 04 6e 00 01 ff
    80 29 00 08 93 2f f9 b1 51 26 3b 36
    00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
    00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
    80 28 00 04 e5 7a 3b cf
    """)

  /// 2.2 Sample IPv4 Response: SOFTWARE "test vector", XOR-MAPPED-ADDRESS 192.0.2.1:32853.
  static let ipv4Response = hexBytes("""
    01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
    00 20 00 08 00 01 a1 47 e1 12 a6 43
    00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
    80 28 00 04 c0 7d 4c 96
    """)

  /// 2.3 Sample IPv6 Response: XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853.
  static let ipv6Response = hexBytes("""
    01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
    00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
    00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
    80 28 00 04 c8 fb 0b 4c
    """)

  static let ipv4Mapped = SocketAddress(ip: [192, 0, 2, 1], port: 32853)
  static let ipv6Mapped = SocketAddress(
    ip: hexBytes("2001 0db8 1234 5678 0011 2233 4455 6677"), port: 32853)
}

@Suite struct StunVectorTests {
  @Test func sampleRequestParses() throws {
    let m = try StunMessage.parse(RFC5769.request)
    #expect(m.method == Stun.binding)
    #expect(m.cls == .request)
    #expect(m.transactionID == RFC5769.transactionID)
    #expect(m.software == "STUN test client")
    #expect(m.username == "evtj:h6vY")
    #expect(m.priority == 0x6e00_01ff)
    #expect(m.iceControlled == 0x932f_f9b1_5126_3b36)
    #expect(m.iceControlling == nil)
    #expect(!m.useCandidate)
    #expect(m.attributes.map(\.type) == [0x8022, 0x0024, 0x8029, 0x0006, 0x0008, 0x8028])
    #expect(StunMessage.verifyIntegrity(RFC5769.request, key: RFC5769.password))
    #expect(!StunMessage.verifyIntegrity(RFC5769.request, key: Array("VOkJxbRl1RmTxUk/WvJxBT".utf8)))
    #expect(looksLikeStun(RFC5769.request))
    #expect(stunLocalUfrag(RFC5769.request) == "evtj")
  }

  @Test func sampleRequestReencodesByteForByte() throws {
    let m = try StunMessage.parse(RFC5769.request)
    // parse keeps MI and FINGERPRINT; encode skips them and recomputes both.
    let again = m.encode(integrityKey: RFC5769.password, fingerprint: true, paddingByte: 0x20)
    #expect(again == RFC5769.request)
  }

  @Test func ipv4ResponseParsesAndVerifies() throws {
    let m = try StunMessage.parse(RFC5769.ipv4Response)
    #expect(m.cls == .success)
    #expect(m.method == Stun.binding)
    #expect(m.software == "test vector")
    #expect(m.xorMappedAddress == RFC5769.ipv4Mapped)
    #expect(StunMessage.verifyIntegrity(RFC5769.ipv4Response, key: RFC5769.password))
    #expect(stunLocalUfrag(RFC5769.ipv4Response) == nil)
  }

  @Test func ipv6ResponseParsesAndVerifies() throws {
    let m = try StunMessage.parse(RFC5769.ipv6Response)
    #expect(m.cls == .success)
    #expect(m.xorMappedAddress == RFC5769.ipv6Mapped)
    #expect(m.xorMappedAddress?.description == "[2001:db8:1234:5678:11:2233:4455:6677]:32853")
    #expect(StunMessage.verifyIntegrity(RFC5769.ipv6Response, key: RFC5769.password))
  }

  /// Builds the responses from scratch (SOFTWARE + XOR-MAPPED-ADDRESS from a SocketAddress)
  /// and compares with the vectors.
  @Test func encoderReproducesResponseVectors() {
    for (addr, vector) in [(RFC5769.ipv4Mapped, RFC5769.ipv4Response), (RFC5769.ipv6Mapped, RFC5769.ipv6Response)] {
      var m = StunMessage(method: Stun.binding, cls: .success, transactionID: RFC5769.transactionID)
      m.append(Stun.software, Array("test vector".utf8))
      let added = m.appendXorMappedAddress(addr)
      #expect(added)
      let bytes = m.encode(integrityKey: RFC5769.password, fingerprint: true, paddingByte: 0x20)
      #expect(bytes == vector)
      // Parsed vectors re-encode identically too.
      if let parsed = try? StunMessage.parse(vector) {
        #expect(parsed.encode(integrityKey: RFC5769.password, fingerprint: true, paddingByte: 0x20) == vector)
      } else {
        Issue.record("vector did not parse")
      }
    }
  }

  @Test func zeroPaddingChangesOnlyPaddingAndChecks() throws {
    var m = StunMessage(method: Stun.binding, cls: .success, transactionID: RFC5769.transactionID)
    m.append(Stun.software, Array("test vector".utf8))
    m.appendXorMappedAddress(RFC5769.ipv4Mapped)
    let bytes = m.encode(integrityKey: RFC5769.password, fingerprint: true)
    #expect(bytes.count == RFC5769.ipv4Response.count)
    #expect(bytes[35] == 0)  // the padding byte after "test vector" (RFC 5769 uses 0x20)
    #expect(RFC5769.ipv4Response[35] == 0x20)
    #expect(StunMessage.verifyIntegrity(bytes, key: RFC5769.password))
    let p = try StunMessage.parse(bytes)
    #expect(p.software == "test vector")
    #expect(p.xorMappedAddress == RFC5769.ipv4Mapped)
  }

  @Test func fingerprintDetectsCorruption() {
    var bad = RFC5769.request
    bad[bad.count - 1] ^= 1
    #expect(throws: StunError.badFingerprint) { try StunMessage.parse(bad) }
    var bad2 = RFC5769.request
    bad2[30] ^= 0x40  // inside SOFTWARE
    #expect(throws: StunError.badFingerprint) { try StunMessage.parse(bad2) }
    // MI still fails on the corrupted bytes.
    #expect(!StunMessage.verifyIntegrity(bad2, key: RFC5769.password))
  }
}

@Suite struct StunCodecTests {
  let tid: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]

  @Test func messageTypeBits() {
    #expect(StunMessage.messageType(method: 1, cls: .request) == 0x0001)
    #expect(StunMessage.messageType(method: 1, cls: .indication) == 0x0011)
    #expect(StunMessage.messageType(method: 1, cls: .success) == 0x0101)
    #expect(StunMessage.messageType(method: 1, cls: .error) == 0x0111)
    // Method bits are split around the class bits: M0-3, M4-6, M7-11.
    #expect(StunMessage.messageType(method: 0x0FFF, cls: .request) == 0x3EEF)
    for method: UInt16 in [0, 1, 3, 0x0A, 0x10, 0x7F, 0x80, 0xABC, 0xFFF] {
      for cls in [StunClass.request, .indication, .success, .error] {
        let (m, c) = StunMessage.split(StunMessage.messageType(method: method, cls: cls))
        #expect(m == method && c == cls)
      }
    }
  }

  @Test func roundTripAllAccessors() throws {
    var m = StunMessage(method: Stun.binding, cls: .request, transactionID: tid)
    m.append(Stun.username, Array("abcd:efgh".utf8))
    m.append(Stun.priority, [0x6e, 0x7f, 0x1e, 0xff])
    m.append(Stun.iceControlling, [1, 2, 3, 4, 5, 6, 7, 8])
    m.append(Stun.useCandidate, [])
    let bytes = m.encode(integrityKey: Array("pw".utf8), fingerprint: true)
    #expect(bytes.count % 4 == 0)
    #expect(Int(loadU16(bytes, 2)) + 20 == bytes.count)
    let p = try StunMessage.parse(bytes)
    #expect(p.cls == .request && p.method == Stun.binding && p.transactionID == tid)
    #expect(p.username == "abcd:efgh")
    #expect(p.priority == 0x6e7f_1eff)
    #expect(p.iceControlling == 0x0102_0304_0506_0708)
    #expect(p.iceControlled == nil)
    #expect(p.useCandidate)
    #expect(p.has(Stun.messageIntegrity) && p.has(Stun.fingerprint))
    #expect(p.attributes.last?.type == Stun.fingerprint)
    #expect(StunMessage.verifyIntegrity(bytes, key: Array("pw".utf8)))
    #expect(!StunMessage.verifyIntegrity(bytes, key: Array("pW".utf8)))
    #expect(stunLocalUfrag(bytes) == "abcd")
  }

  @Test func withoutIntegrityOrFingerprint() throws {
    var m = StunMessage(method: Stun.binding, cls: .indication, transactionID: tid)
    m.append(0x8055, [9, 9, 9])
    let bytes = m.encode(integrityKey: nil, fingerprint: false)
    #expect(bytes.count == 20 + 8)
    let p = try StunMessage.parse(bytes)
    #expect(p.cls == .indication)
    #expect(p.attributes == [StunAttribute(type: 0x8055, value: [9, 9, 9])])
    #expect(!StunMessage.verifyIntegrity(bytes, key: []))
  }

  @Test func integrityOnlyThenFingerprintOnly() throws {
    var m = StunMessage(cls: .request, transactionID: tid)
    m.append(Stun.username, Array("x:y".utf8))
    let mi = m.encode(integrityKey: Array("k".utf8), fingerprint: false)
    #expect(StunMessage.verifyIntegrity(mi, key: Array("k".utf8)))
    #expect(try StunMessage.parse(mi).attributes.last?.type == Stun.messageIntegrity)
    let fp = m.encode(integrityKey: nil, fingerprint: true)
    #expect(try StunMessage.parse(fp).attributes.last?.type == Stun.fingerprint)
    #expect(!StunMessage.verifyIntegrity(fp, key: Array("k".utf8)))
  }

  @Test func errorCodeAndUnknownAttributes() throws {
    var m = StunMessage(cls: .error, transactionID: tid)
    m.append(Stun.errorCode, StunMessage.errorCodeValue(420, reason: "Unknown Attribute"))
    m.append(Stun.unknownAttributes, [0x00, 0x33, 0x7f, 0xff, 0x00, 0x44])
    let p = try StunMessage.parse(m.encode(integrityKey: nil, fingerprint: true))
    #expect(p.errorCode == StunErrorCode(code: 420, reason: "Unknown Attribute"))
    #expect(p.unknownAttributeTypes == [0x0033, 0x7fff, 0x0044])
    #expect(StunMessage.errorCodeValue(487, reason: "") == [0, 0, 4, 87])
  }

  @Test func xorAddressRoundTripsAndV4Mapped() {
    let v6 = SocketAddress(ip: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], port: 5000)
    let v4 = SocketAddress(ip: [10, 0, 0, 7], port: 65535)
    for a in [v4, v6] {
      let v = StunMessage.encodeXorAddress(a, transactionID: tid)
      #expect(v.flatMap { StunMessage.decodeXorAddress($0, transactionID: tid) } == a)
    }
    let mapped = SocketAddress(ip: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 7], port: 65535)
    let v = StunMessage.encodeXorAddress(mapped, transactionID: tid)
    #expect(v?.count == 8)
    #expect(v.flatMap { StunMessage.decodeXorAddress($0, transactionID: tid) } == v4)
    #expect(StunMessage.encodeXorAddress(SocketAddress(ip: [1, 2, 3], port: 1), transactionID: tid) == nil)
    #expect(StunMessage.decodeXorAddress([0, 1, 0, 0, 1, 2, 3], transactionID: tid) == nil)
    #expect(StunMessage.decodeXorAddress([0, 3, 0, 0, 1, 2, 3, 4], transactionID: tid) == nil)
  }

  @Test func headerErrors() {
    #expect(throws: StunError.truncated) { try StunMessage.parse([]) }
    #expect(throws: StunError.truncated) { try StunMessage.parse([0, 1, 0, 0]) }
    #expect(throws: StunError.notStun) { try StunMessage.parse([0x80, 0x60, 0, 1]) }  // RTP
    #expect(throws: StunError.notStun) { try StunMessage.parse([22, 0xfe, 0xfd] + [UInt8](repeating: 0, count: 30)) }  // DTLS
    var h: [UInt8] = [0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x43] + tid
    #expect(throws: StunError.notStun) { try StunMessage.parse(h) }
    h[7] = 0x42
    #expect((try? StunMessage.parse(h))?.attributes.isEmpty == true)
    h[3] = 8  // claims 8 bytes of attributes that are not there
    #expect(throws: StunError.truncated) { try StunMessage.parse(h) }
    h[3] = 2
    #expect(throws: StunError.malformed("length not a multiple of 4")) { try StunMessage.parse(h + [0, 0]) }
    h[3] = 0
    #expect(throws: StunError.malformed("bytes after the message")) { try StunMessage.parse(h + [0, 0, 0, 0]) }
  }

  @Test func attributeErrors() {
    let header: [UInt8] = [0, 1, 0, 8, 0x21, 0x12, 0xa4, 0x42] + tid
    // Attribute claims 5 value bytes (8 padded) but only 4 remain.
    #expect(throws: StunError.malformed("attribute length")) {
      try StunMessage.parse(header + [0x80, 0x22, 0, 5, 1, 2, 3, 4])
    }
    // FINGERPRINT that is not last.
    var m = StunMessage(cls: .request, transactionID: tid)
    m.append(Stun.software, [1])
    var bytes = m.encode(integrityKey: nil, fingerprint: true) + [0x80, 0x22, 0, 0]
    bytes[3] += 4
    #expect(throws: StunError.malformed("attribute after FINGERPRINT")) { try StunMessage.parse(bytes) }
    // MESSAGE-INTEGRITY of the wrong size.
    #expect(throws: StunError.malformed("MESSAGE-INTEGRITY length")) {
      try StunMessage.parse(header + [0x00, 0x08, 0, 4, 1, 2, 3, 4])
    }
  }

  @Test func attributesAfterIntegrityAreIgnored() throws {
    var m = StunMessage(cls: .request, transactionID: tid)
    m.append(Stun.username, Array("a:b".utf8))
    var bytes = m.encode(integrityKey: Array("k".utf8), fingerprint: false)
    // Append USE-CANDIDATE after MESSAGE-INTEGRITY (not covered by the MAC).
    bytes += [0x00, 0x25, 0, 0]
    bytes[3] += 4
    #expect(StunMessage.verifyIntegrity(bytes, key: Array("k".utf8)))
    let p = try StunMessage.parse(bytes)
    #expect(!p.useCandidate)
    #expect(p.attributes.map(\.type) == [Stun.username, Stun.messageIntegrity])
  }

  @Test func looksLikeStunDemux() {
    #expect(looksLikeStun(RFC5769.ipv4Response))
    #expect(!looksLikeStun(Array(RFC5769.ipv4Response[0..<19])))
    #expect(!looksLikeStun(Array(RFC5769.ipv4Response[0..<22])))  // not a multiple of 4
    var rtp = RFC5769.ipv4Response
    rtp[0] = 0x80
    #expect(!looksLikeStun(rtp))
    var dtls = RFC5769.ipv4Response
    dtls[0] = 22
    #expect(!looksLikeStun(dtls))
    var noCookie = RFC5769.ipv4Response
    noCookie[5] = 0
    #expect(!looksLikeStun(noCookie))
  }

  @Test func localUfragEdgeCases() {
    func request(_ username: [UInt8]?) -> [UInt8] {
      var m = StunMessage(cls: .request, transactionID: tid)
      m.append(Stun.priority, [0, 0, 0, 1])
      if let u = username { m.append(Stun.username, u) }
      return m.encode(integrityKey: Array("k".utf8), fingerprint: true)
    }
    #expect(stunLocalUfrag(request(Array("ours:theirs".utf8))) == "ours")
    #expect(stunLocalUfrag(request(Array("a+/9:x".utf8))) == "a+/9")
    #expect(stunLocalUfrag(request(Array("ours:".utf8))) == "ours")
    #expect(stunLocalUfrag(request(Array(":theirs".utf8))) == nil)
    #expect(stunLocalUfrag(request(Array("nocolon".utf8))) == nil)
    #expect(stunLocalUfrag(request([0x61, 0x0a, 0x3a, 0x62])) == nil)
    #expect(stunLocalUfrag(request([])) == nil)
    #expect(stunLocalUfrag(request(nil)) == nil)
    #expect(stunLocalUfrag([0x16, 0xfe, 0xfd]) == nil)
  }
}
