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

  /// Makes a new key pair and a self-signed certificate "CN=<commonName>" (SHA-256 with
  /// ECDSA, random positive 64-bit serial). `commonName` should be plain ASCII without
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

    var writer = mbedtls_x509write_cert()
    mbedtls_x509write_crt_init(&writer)
    defer { mbedtls_x509write_crt_free(&writer) }
    mbedtls_x509write_crt_set_version(&writer, MBEDTLS_X509_CRT_VERSION_3)
    mbedtls_x509write_crt_set_md_alg(&writer, MBEDTLS_MD_SHA256)
    mbedtls_x509write_crt_set_subject_key(&writer, key)
    mbedtls_x509write_crt_set_issuer_key(&writer, key)

    let name = cString("CN=" + commonName)
    ret = name.withUnsafeBufferPointer { n in mbedtls_x509write_crt_set_subject_name(&writer, n.baseAddress) }
    guard ret == 0 else { throw .setup("x509write_crt_set_subject_name", ret) }
    ret = name.withUnsafeBufferPointer { n in mbedtls_x509write_crt_set_issuer_name(&writer, n.baseAddress) }
    guard ret == 0 else { throw .setup("x509write_crt_set_issuer_name", ret) }

    var serialBytes = random.bytes(8)
    serialBytes[0] = (serialBytes[0] & 0x7f) | 0x01  // positive, full length
    var serial = mbedtls_mpi()
    mbedtls_mpi_init(&serial)
    defer { mbedtls_mpi_free(&serial) }
    ret = serialBytes.withUnsafeBufferPointer { s in mbedtls_mpi_read_binary(&serial, s.baseAddress, s.count) }
    guard ret == 0 else { throw .setup("mpi_read_binary", ret) }
    ret = mbedtls_x509write_crt_set_serial(&writer, &serial)
    guard ret == 0 else { throw .setup("x509write_crt_set_serial", ret) }

    let from = cString(notBefore)
    let to = cString(notAfter)
    ret = from.withUnsafeBufferPointer { f in
      to.withUnsafeBufferPointer { t in mbedtls_x509write_crt_set_validity(&writer, f.baseAddress, t.baseAddress) }
    }
    guard ret == 0 else { throw .setup("x509write_crt_set_validity", ret) }
    ret = mbedtls_x509write_crt_set_basic_constraints(&writer, 0, -1)
    guard ret == 0 else { throw .setup("x509write_crt_set_basic_constraints", ret) }

    // mbedtls writes the DER at the end of the buffer and returns its length.
    var buf = [UInt8](repeating: 0, count: 1024)
    let len = buf.withUnsafeMutableBufferPointer { b in
      mbedtls_x509write_crt_der(&writer, b.baseAddress, b.count, mbedtls_ctr_drbg_random, random.rngContext)
    }
    guard len > 0, Int(len) <= buf.count else { throw .setup("x509write_crt_der", len) }
    return Array(buf[(buf.count - Int(len))...])
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
