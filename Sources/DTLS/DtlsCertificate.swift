import CRTCam
import Wire

/// A self-signed ECDSA P-256 certificate and its private key, made at start-up and shared by
/// every DTLS association (its SHA-256 fingerprint goes into each SDP answer).
/// Use it from one thread (the network loop): mbedTLS caches curve tables in the key.
public final class DtlsCertificate {
  let crt: UnsafeMutablePointer<mbedtls_x509_crt>
  let key: UnsafeMutablePointer<mbedtls_pk_context>
  /// The certificate in DER.
  public let der: [UInt8]

  /// Validity window written into generated certificates. Browsers do not check it for
  /// WebRTC (only the fingerprint counts); a fixed window keeps generation clock-free.
  public static let notBefore = "20240101000000"
  public static let notAfter = "20340101000000"

  private init(crt: UnsafeMutablePointer<mbedtls_x509_crt>, key: UnsafeMutablePointer<mbedtls_pk_context>, der: [UInt8]) {
    self.crt = crt
    self.key = key
    self.der = der
  }

  deinit {
    mbedtls_x509_crt_free(crt)
    mbedtls_pk_free(key)
    crt.deallocate()
    key.deallocate()
  }

  /// Makes a new key pair and a self-signed X.509 v3 certificate "CN=<commonName>" (ECDSA with
  /// SHA-256, random positive 64-bit serial), DER-encoded by `tbsCertificate` so that strict
  /// parsers accept it. `commonName` should be plain ASCII without
  /// ',', '=' or '\\'.
  public static func generate(commonName: String, random: DtlsRandom) throws(DtlsError) -> DtlsCertificate {
    for c in commonName.utf8 where c < 0x20 || c > 0x7e || c == UInt8(ascii: ",") || c == UInt8(ascii: "=")
      || c == UInt8(ascii: "\\") || c == UInt8(ascii: "+") || c == UInt8(ascii: "\"")
    {
      throw .setup("certificate common name has a special character", 0)
    }
    guard !commonName.isEmpty, commonName.utf8.count <= 64 else {
      throw .setup("certificate common name must be 1...64 characters", 0)
    }

    let key = UnsafeMutablePointer<mbedtls_pk_context>.allocate(capacity: 1)
    let crt = UnsafeMutablePointer<mbedtls_x509_crt>.allocate(capacity: 1)
    mbedtls_pk_init(key)
    mbedtls_x509_crt_init(crt)
    // From here on the object owns key and crt, and frees them even if generation fails.
    var der: [UInt8] = []
    do {
      der = try makeSelfSigned(key: key, commonName: commonName, random: random)
    } catch {
      mbedtls_pk_free(key)
      mbedtls_x509_crt_free(crt)
      key.deallocate()
      crt.deallocate()
      throw error
    }
    let cert = DtlsCertificate(crt: crt, key: key, der: der)
    let ret = der.withUnsafeBufferPointer { b in mbedtls_x509_crt_parse_der(crt, b.baseAddress, b.count) }
    guard ret == 0 else { throw .setup("x509_crt_parse_der", ret) }
    return cert
  }

  /// Fills `key` with a fresh P-256 key and returns the DER of a self-signed certificate.
  private static func makeSelfSigned(
    key: UnsafeMutablePointer<mbedtls_pk_context>, commonName: String, random: DtlsRandom
  ) throws(DtlsError) -> [UInt8] {
    var ret = mbedtls_pk_setup(key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))
    guard ret == 0 else { throw .setup("pk_setup", ret) }
    guard let ec = key.pointee.pk_ctx?.assumingMemoryBound(to: mbedtls_ecp_keypair.self) else {
      throw .setup("pk_setup: no EC context", 0)
    }
    ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, ec, mbedtls_ctr_drbg_random, random.rngContext)
    guard ret == 0 else { throw .setup("ecp_gen_key", ret) }

    // SubjectPublicKeyInfo (id-ecPublicKey, prime256v1, the uncompressed point), from mbedTLS,
    // which writes it at the end of the buffer and returns its length.
    var spkiBuf = [UInt8](repeating: 0, count: 256)
    let spkiLen = spkiBuf.withUnsafeMutableBufferPointer { b in mbedtls_pk_write_pubkey_der(key, b.baseAddress, b.count) }
    guard spkiLen > 0, Int(spkiLen) <= spkiBuf.count else { throw .setup("pk_write_pubkey_der", spkiLen) }
    let spki = Array(spkiBuf[(spkiBuf.count - Int(spkiLen))...])

    var serial = random.bytes(serialLength)
    serial[0] = (serial[0] & 0x7f) | 0x01  // positive, full length, so no 0x00 padding is needed
    guard let validFrom = Der.x509Time(notBefore), let validTo = Der.x509Time(notAfter) else {
      throw .setup("certificate validity is not YYYYMMDDHHMMSS", 0)
    }
    let tbs = tbsCertificate(serial: serial, commonName: commonName, notBefore: validFrom, notAfter: validTo,
      subjectPublicKeyInfo: spki)

    // ECDSA over SHA-256 of the TBSCertificate; mbedTLS returns the DER Ecdsa-Sig-Value.
    let hash = Digest.sha256(tbs)
    var signature = [UInt8](repeating: 0, count: 160)  // a P-256 signature is at most 72 bytes
    var signatureLength = 0
    ret = hash.withUnsafeBufferPointer { h in
      signature.withUnsafeMutableBufferPointer { s in
        mbedtls_pk_sign(key, MBEDTLS_MD_SHA256, h.baseAddress, h.count, s.baseAddress, &signatureLength,
          mbedtls_ctr_drbg_random, random.rngContext)
      }
    }
    guard ret == 0, signatureLength > 0, signatureLength <= signature.count else { throw .setup("pk_sign", ret) }
    return Der.sequence(tbs, signatureAlgorithm, Der.bitString(Array(signature[0..<signatureLength])))
  }

  /// Serial number length in bytes: 64 random bits (RFC 5280 §4.1.2.2 allows at most 20 octets).
  static let serialLength = 8

  /// AlgorithmIdentifier ecdsa-with-SHA256, parameters absent (RFC 5758 §3.2), used both inside
  /// the TBSCertificate and for the outer signature.
  static let signatureAlgorithm = Der.sequence(Der.objectIdentifier(Oid.ecdsaWithSHA256))

  /// TBSCertificate (RFC 5280 §4.1): v3, the serial, ecdsa-with-SHA256, issuer = subject =
  /// "CN=<commonName>", the validity, the public key, and one extension: basicConstraints
  /// (critical, cA FALSE, which DER encodes as an empty SEQUENCE).
  static func tbsCertificate(
    serial: [UInt8], commonName: String, notBefore: [UInt8], notAfter: [UInt8], subjectPublicKeyInfo: [UInt8]
  ) -> [UInt8] {
    let name = Der.sequence(Der.set(Der.sequence(Der.objectIdentifier(Oid.commonName), Der.utf8String(commonName))))
    let basicConstraints = Der.sequence(
      Der.objectIdentifier(Oid.basicConstraints), Der.boolean(true), Der.octetString(Der.sequence()))
    return Der.sequence(
      Der.explicit(0, Der.integer(2)),  // version v3
      Der.unsignedInteger(serial),
      signatureAlgorithm,
      name,
      Der.sequence(notBefore, notAfter),
      name,
      subjectPublicKeyInfo,
      Der.explicit(3, Der.sequence(basicConstraints)))
  }

  /// SHA-256 of the DER (32 bytes): what `a=fingerprint:sha-256` carries.
  public var fingerprintSHA256: [UInt8] { Digest.sha256(der) }

  /// "AB:CD:..." (95 characters) for `a=fingerprint:sha-256 <value>`.
  public var fingerprintSDP: String { Hex.fingerprint(fingerprintSHA256) }
}

/// NUL-terminated C string bytes.
func cString(_ s: String) -> [CChar] {
  var out: [CChar] = []
  out.reserveCapacity(s.utf8.count + 1)
  for c in s.utf8 { out.append(CChar(bitPattern: c)) }
  out.append(0)
  return out
}
