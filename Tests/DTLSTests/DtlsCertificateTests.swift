import CRTCam
import Testing
import Wire

@testable import DTLS

@Suite struct DtlsRandomTests {
  @Test func deterministicSeedRepeats() throws {
    let a = try DtlsRandom(deterministicSeed: [1, 2, 3])
    let b = try DtlsRandom(deterministicSeed: [1, 2, 3])
    let c = try DtlsRandom(deterministicSeed: [1, 2, 4])
    let x = a.bytes(100)
    #expect(x.count == 100)
    #expect(x == b.bytes(100))
    #expect(x != c.bytes(100))
    #expect(a.bytes(100) != x)  // the stream moves on
  }

  @Test func systemSeededBytesDiffer() throws {
    let r = try DtlsRandom(personalization: "rtcam-test")
    let a = r.bytes(32)
    let b = r.bytes(32)
    #expect(a != b)
    #expect(a != [UInt8](repeating: 0, count: 32))
    #expect(r.bytes(5000).count == 5000)  // larger than one DRBG request
    #expect(r.bytes(0).isEmpty)
  }
}

@Suite struct DtlsCertificateTests {
  @Test func generatesSelfSignedP256() throws {
    let random = try DtlsRandom(personalization: "cert-test")
    let cert = try DtlsCertificate.generate(commonName: "rtcam", random: random)
    #expect(cert.der.count > 200 && cert.der.count < 1024)
    #expect(cert.der.first == 0x30)  // DER SEQUENCE

    // mbedTLS parses it back: P-256 EC key, SHA-256 with ECDSA, CN=rtcam, and the
    // signature verifies with the certificate as its own trust anchor.
    var crt = mbedtls_x509_crt()
    mbedtls_x509_crt_init(&crt)
    defer { mbedtls_x509_crt_free(&crt) }
    let ret = cert.der.withUnsafeBufferPointer { mbedtls_x509_crt_parse_der(&crt, $0.baseAddress, $0.count) }
    #expect(ret == 0)
    #expect(mbedtls_pk_get_type(&crt.pk) == MBEDTLS_PK_ECKEY)
    #expect(mbedtls_pk_get_bitlen(&crt.pk) == 256)
    #expect(crt.sig_md == MBEDTLS_MD_SHA256)
    var name = [CChar](repeating: 0, count: 256)
    _ = mbedtls_x509_dn_gets(&name, name.count, &crt.subject)
    #expect(String(cString: name) == "CN=rtcam")
    var flags: UInt32 = 0
    let v = withUnsafeMutablePointer(to: &crt) { c in mbedtls_x509_crt_verify(c, c, nil, nil, &flags, nil, nil) }
    #expect(v == 0, "self-signature must verify (flags \(flags))")
    #expect(crt.serial.len >= 8)
  }

  @Test func fingerprintFormat() throws {
    let random = try DtlsRandom(deterministicSeed: [9])
    let cert = try DtlsCertificate.generate(commonName: "rtcam", random: random)
    #expect(cert.fingerprintSHA256.count == 32)
    #expect(cert.fingerprintSHA256 == Digest.sha256(cert.der))
    let sdp = cert.fingerprintSDP
    #expect(sdp.utf8.count == 95)
    let groups = sdp.split(separator: ":")
    #expect(groups.count == 32)
    for g in groups {
      #expect(g.count == 2)
      #expect(g.allSatisfy { ("0"..."9").contains($0) || ("A"..."F").contains($0) })
    }
    #expect(Hex.decode(sdp) == cert.fingerprintSHA256)
  }

  @Test func eachCertificateIsNew() throws {
    let random = try DtlsRandom(deterministicSeed: [7])
    let a = try DtlsCertificate.generate(commonName: "rtcam", random: random)
    let b = try DtlsCertificate.generate(commonName: "rtcam", random: random)
    #expect(a.der != b.der)
    #expect(a.fingerprintSDP != b.fingerprintSDP)
  }

  @Test func rejectsBadCommonName() throws {
    let random = try DtlsRandom(deterministicSeed: [7])
    #expect(throws: DtlsError.self) { try DtlsCertificate.generate(commonName: "a,O=evil", random: random) }
    #expect(throws: DtlsError.self) { try DtlsCertificate.generate(commonName: "", random: random) }
  }
}

@Suite struct DtlsKeyMaterialTests {
  @Test func exporterLayout() {
    let bytes = (0..<60).map { UInt8($0) }
    let c = SrtpKeyMaterial(exported: bytes, isClient: true)
    let s = SrtpKeyMaterial(exported: bytes, isClient: false)
    #expect(c?.localKey == Array(0..<16))
    #expect(c?.remoteKey == Array(16..<32))
    #expect(c?.localSalt == Array(32..<46))
    #expect(c?.remoteSalt == Array(46..<60))
    #expect(s?.localKey == c?.remoteKey)
    #expect(s?.localSalt == c?.remoteSalt)
    #expect(s?.remoteKey == c?.localKey)
    #expect(s?.remoteSalt == c?.localSalt)
    #expect(c?.profile == 1)
    #expect(SrtpKeyMaterial(exported: Array(bytes.prefix(59)), isClient: true) == nil)
  }

  @Test func errorCodes() {
    #expect(DtlsError.fingerprintMismatch.code == "DTLS_FINGERPRINT_MISMATCH")
    #expect(DtlsError.handshake("x", -0x7780).code == "DTLS_HANDSHAKE_FAILED")
    #expect(DtlsError.handshake("ssl_handshake", -0x7780).detail.contains("-0x7780"))
    #expect(DtlsError.timeout.code == "DTLS_TIMEOUT")
  }
}

/// A minimal DER reader for the structure checks below (independent of the writer).
struct DerNode {
  var tag: UInt8
  var contents: [UInt8]
  /// The whole TLV as encoded.
  var encoded: [UInt8]

  /// Reads every TLV in `bytes`; fails on indefinite or non-minimal lengths and on trailing bytes.
  static func parseAll(_ bytes: [UInt8]) throws -> [DerNode] {
    var out: [DerNode] = []
    var i = 0
    while i < bytes.count {
      let start = i
      let tag = bytes[i]; i += 1
      guard i < bytes.count else { throw DerTestError.truncated }
      var len = Int(bytes[i]); i += 1
      if len & 0x80 != 0 {
        let n = len & 0x7F
        guard n >= 1, n <= 3, i + n <= bytes.count else { throw DerTestError.badLength }
        guard bytes[i] != 0 else { throw DerTestError.badLength }  // minimal
        len = 0
        for _ in 0..<n { len = len << 8 | Int(bytes[i]); i += 1 }
        guard len >= 0x80 else { throw DerTestError.badLength }  // short form was possible
      }
      guard i + len <= bytes.count else { throw DerTestError.truncated }
      out.append(DerNode(tag: tag, contents: Array(bytes[i..<(i + len)]), encoded: Array(bytes[start..<(i + len)])))
      i += len
    }
    return out
  }

  func children() throws -> [DerNode] { try DerNode.parseAll(contents) }
}

enum DerTestError: Error { case truncated, badLength }

@Suite struct DtlsCertificateDerTests {
  // DER of OBJECT IDENTIFIER 1.2.840.10045.4.3.2 (ecdsa-with-SHA256).
  static let ecdsaWithSHA256: [UInt8] = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02]

  /// RFC 5280 §4.1 field by field, RFC 5758 §3.2 for the algorithm identifiers.
  @Test func certificateStructureIsStrictRfc5280() throws {
    let random = try DtlsRandom(personalization: "der-test")
    for _ in 0..<20 {  // serials and signatures vary in length; check several
      let cert = try DtlsCertificate.generate(commonName: "rtcam", random: random)
      let top = try DerNode.parseAll(cert.der)
      #expect(top.count == 1 && top[0].tag == 0x30, "one Certificate SEQUENCE, nothing after it")
      let certificate = try top[0].children()
      try #require(certificate.count == 3)
      let (tbsNode, sigAlg, sigValue) = (certificate[0], certificate[1], certificate[2])

      // signatureAlgorithm: SEQUENCE { OID ecdsa-with-SHA256 } and no parameters (not even NULL).
      #expect(sigAlg.encoded == [0x30, 0x0A] + Self.ecdsaWithSHA256)

      let tbs = try tbsNode.children()
      try #require(tbs.count == 8, "version, serial, signature, issuer, validity, subject, spki, extensions")
      // version: [0] EXPLICIT INTEGER 2 (v3)
      #expect(tbs[0].encoded == [0xA0, 0x03, 0x02, 0x01, 0x02])
      // serialNumber: positive INTEGER, 1...20 octets, minimal
      #expect(tbs[1].tag == 0x02)
      #expect(tbs[1].contents.count >= 1 && tbs[1].contents.count <= 20)
      #expect(tbs[1].contents[0] & 0x80 == 0, "positive")
      #expect(tbs[1].contents.count == 1 || tbs[1].contents[0] != 0 || tbs[1].contents[1] & 0x80 != 0, "minimal")
      #expect(tbs[1].contents.contains { $0 != 0 }, "non-zero")
      // signature inside the TBS equals the outer one (RFC 5280 §4.1.1.2), no parameters
      #expect(tbs[2].encoded == sigAlg.encoded)
      // issuer == subject == CN=rtcam: SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, UTF8String } } }
      #expect(tbs[3].encoded == tbs[5].encoded)
      let rdn = try tbs[3].children()
      try #require(rdn.count == 1 && rdn[0].tag == 0x31)
      let atv = try rdn[0].children()
      try #require(atv.count == 1 && atv[0].tag == 0x30)
      let cn = try atv[0].children()
      #expect(cn.count == 2)
      #expect(cn.first?.encoded == [0x06, 0x03, 0x55, 0x04, 0x03])
      #expect(cn.last?.tag == 0x0C && cn.last?.contents == Array("rtcam".utf8))
      // validity: UTCTime for years before 2050 (RFC 5280 §4.1.2.5.1: YYMMDDHHMMSSZ)
      let validity = try tbs[4].children()
      try #require(validity.count == 2)
      #expect(validity[0].tag == 0x17 && validity[0].contents == Array("240101000000Z".utf8))
      #expect(validity[1].tag == 0x17 && validity[1].contents == Array("340101000000Z".utf8))
      // subjectPublicKeyInfo: id-ecPublicKey with namedCurve prime256v1, uncompressed point
      let spki = try tbs[6].children()
      try #require(spki.count == 2)
      #expect(spki[0].encoded == [
        0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01,
        0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07,
      ])
      #expect(spki[1].tag == 0x03 && spki[1].contents.count == 66)
      #expect(spki[1].contents.prefix(2) == [0x00, 0x04])
      // extensions: [3] EXPLICIT SEQUENCE { basicConstraints, critical, cA absent (FALSE) }
      #expect(tbs[7].tag == 0xA3)
      let exts = try tbs[7].children()
      try #require(exts.count == 1 && exts[0].tag == 0x30)
      let ext = try exts[0].children()
      try #require(ext.count == 1)
      #expect(ext[0].encoded == [0x30, 0x0C, 0x06, 0x03, 0x55, 0x1D, 0x13, 0x01, 0x01, 0xFF, 0x04, 0x02, 0x30, 0x00])

      // signatureValue: BIT STRING, no unused bits, holding Ecdsa-Sig-Value SEQUENCE { r, s }
      #expect(sigValue.tag == 0x03 && sigValue.contents.first == 0)
      let ecdsa = try DerNode.parseAll(Array(sigValue.contents.dropFirst()))
      try #require(ecdsa.count == 1 && ecdsa[0].tag == 0x30)
      let rs = try ecdsa[0].children()
      #expect(rs.count == 2 && rs.allSatisfy { $0.tag == 0x02 && $0.contents.count <= 33 && $0.contents[0] & 0x80 == 0 })
    }
  }

  @Test func fingerprintIsOverWhatDtlsSends() throws {
    // The certificate mbedTLS presents in the handshake is the parsed `der`, so the fingerprint in
    // the SDP answer and the one a peer computes over the received certificate agree.
    let random = try DtlsRandom(personalization: "der-fp")
    let cert = try DtlsCertificate.generate(commonName: "rtcam", random: random)
    let raw = UnsafeBufferPointer(start: cert.crt.pointee.raw.p, count: cert.crt.pointee.raw.len)
    #expect(Array(raw) == cert.der)
    #expect(cert.fingerprintSHA256 == Digest.sha256(Array(raw)))
  }

  @Test func derIntegerAndLengthEncoding() {
    #expect(Der.unsignedInteger([0x00, 0x00, 0x7F]) == [0x02, 0x01, 0x7F])
    #expect(Der.unsignedInteger([0x80]) == [0x02, 0x02, 0x00, 0x80])
    #expect(Der.unsignedInteger([0x00]) == [0x02, 0x01, 0x00])
    #expect(Der.unsignedInteger([]) == [0x02, 0x01, 0x00])
    #expect(Der.tlv(0x04, [UInt8](repeating: 1, count: 127)).prefix(2) == [0x04, 0x7F])
    #expect(Der.tlv(0x04, [UInt8](repeating: 1, count: 128)).prefix(3) == [0x04, 0x81, 0x80])
    #expect(Der.tlv(0x04, [UInt8](repeating: 1, count: 300)).prefix(4) == [0x04, 0x82, 0x01, 0x2C])
    #expect(Der.objectIdentifier(Oid.ecdsaWithSHA256) == Self.ecdsaWithSHA256)
    #expect(Der.objectIdentifier([2, 5, 29, 19]) == [0x06, 0x03, 0x55, 0x1D, 0x13])
  }

  @Test func x509TimeChoosesUtcOrGeneralized() {
    #expect(Der.x509Time("20491231235959") == [0x17, 13] + Array("491231235959Z".utf8))
    #expect(Der.x509Time("20500101000000") == [0x18, 15] + Array("20500101000000Z".utf8))
    #expect(Der.x509Time("19491231235959") == nil)
    #expect(Der.x509Time("2024010100000") == nil)
    #expect(Der.x509Time("2024010100000x") == nil)
  }
}
