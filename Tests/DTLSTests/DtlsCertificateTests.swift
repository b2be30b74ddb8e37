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
