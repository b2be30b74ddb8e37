// What mbedTLS calls back into: the memory BIO, the timer, certificate verification, key export.
import CRTCam
import Wire

extension DtlsEndpoint {
  // MARK: - Callbacks from mbedTLS

  func readQueued(_ buf: UnsafeMutablePointer<UInt8>, _ len: Int) -> Int32 {
    guard !incoming.isEmpty else { return MBEDTLS_ERR_SSL_WANT_READ }
    let datagram = incoming.removeFirst()
    // mbedTLS offers its whole input buffer (~16 KB); a larger datagram is cut, and the
    // record layer then discards the broken record.
    let n = min(len, datagram.count)
    datagram.withUnsafeBufferPointer { d in
      if n > 0 { buf.update(from: d.baseAddress!, count: n) }
    }
    return Int32(n)
  }

  func setTimer(_ intermediateMs: UInt32, _ finalMs: UInt32) {
    if finalMs == 0 {
      timerActive = false
      return
    }
    timerActive = true
    timerIntermediate = now &+ UInt64(intermediateMs) * 1_000_000
    timerFinal = now &+ UInt64(finalMs) * 1_000_000
  }

  /// mbedtls_ssl_get_timer_t: -1 cancelled, 0 running, 1 intermediate passed, 2 final passed.
  func timerState() -> Int32 {
    guard timerActive else { return -1 }
    if now >= timerFinal { return 2 }
    if now >= timerIntermediate { return 1 }
    return 0
  }

  /// Verify callback, called for each certificate of the peer's chain (leaf at depth 0).
  /// Rejecting a mismatching leaf here aborts the handshake before any keys are used.
  func verifyCertificate(_ crt: UnsafeMutablePointer<mbedtls_x509_crt>, depth: Int32) -> Int32 {
    guard depth == 0 else { return 0 }
    guard let raw = crt.pointee.raw.p, crt.pointee.raw.len > 0 else {
      fingerprintRejected = true
      return MBEDTLS_ERR_X509_FATAL_ERROR
    }
    let digest = Digest.sha256(Array(UnsafeBufferPointer(start: raw, count: crt.pointee.raw.len)))
    peerFingerprint = digest
    guard constantTimeEqual(digest, expectedPeerFingerprint) else {
      fingerprintRejected = true
      return MBEDTLS_ERR_X509_FATAL_ERROR
    }
    return 0
  }

  /// Key export callback: RFC 5705 exporter with label "EXTRACTOR-dtls_srtp", no context,
  /// using the handshake's PRF (SHA-256 for the suites above, SHA-384 for *_SHA384 ones).
  func exportKeys(
    master: UnsafePointer<UInt8>, clientRandom: UnsafePointer<UInt8>, serverRandom: UnsafePointer<UInt8>,
    prf: mbedtls_tls_prf_types
  ) -> Int32 {
    var seed = [UInt8](repeating: 0, count: 64)
    for i in 0..<32 {
      seed[i] = clientRandom[i]
      seed[32 + i] = serverRandom[i]
    }
    let label = cString("EXTRACTOR-dtls_srtp")
    var out = [UInt8](repeating: 0, count: SrtpKeyMaterial.exporterLength)
    let ret = label.withUnsafeBufferPointer { l in
      seed.withUnsafeBufferPointer { s in
        out.withUnsafeMutableBufferPointer { o in
          mbedtls_ssl_tls_prf(prf, master, 48, l.baseAddress, s.baseAddress, s.count, o.baseAddress, o.count)
        }
      }
    }
    guard ret == 0 else { return ret }
    exportedKeys = out
    return 0
  }
}
