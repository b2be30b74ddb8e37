import CRTCam

/// Why a DTLS operation or association failed. The `Int32` payloads are mbedTLS error codes
/// (negative numbers, e.g. -0x7780), kept for logs.
public enum DtlsError: Error, Equatable, Sendable {
  /// Setting up an mbedTLS context, the RNG or the certificate failed.
  case setup(String, Int32)
  /// The handshake failed inside mbedTLS (bad message, unsupported parameters, ...).
  case handshake(String, Int32)
  /// The peer's certificate digest differs from the fingerprint signalled in SDP.
  case fingerprintMismatch
  /// The peer completed the handshake without presenting a certificate.
  case noPeerCertificate
  /// The handshake finished without negotiating SRTP_AES128_CM_HMAC_SHA1_80 (use_srtp).
  case noSrtpProfile
  /// The peer sent a fatal alert (description included).
  case alert(String)
  /// The handshake gave up after the last retransmission.
  case timeout
  /// A record after the handshake could not be processed.
  case record(String, Int32)
  /// The association is closed or failed; the operation is not possible any more.
  case closed

  /// Stable identifier for logs and status pages.
  public var code: String {
    switch self {
    case .setup: return "DTLS_SETUP_FAILED"
    case .handshake: return "DTLS_HANDSHAKE_FAILED"
    case .fingerprintMismatch: return "DTLS_FINGERPRINT_MISMATCH"
    case .noPeerCertificate: return "DTLS_NO_PEER_CERTIFICATE"
    case .noSrtpProfile: return "DTLS_NO_SRTP_PROFILE"
    case .alert: return "DTLS_ALERT"
    case .timeout: return "DTLS_TIMEOUT"
    case .record: return "DTLS_RECORD_ERROR"
    case .closed: return "DTLS_CLOSED"
    }
  }

  /// Human-readable detail ("ssl_handshake: -0x7780 SSL - A fatal alert message was received").
  public var detail: String {
    switch self {
    case .setup(let what, let ret), .handshake(let what, let ret), .record(let what, let ret):
      return what + " (" + mbedtlsErrorText(ret) + ")"
    case .alert(let what): return what
    case .fingerprintMismatch: return "peer certificate does not match a=fingerprint"
    case .noPeerCertificate: return "peer sent no certificate"
    case .noSrtpProfile: return "use_srtp not negotiated"
    case .timeout: return "handshake timed out"
    case .closed: return "closed"
    }
  }
}

/// "-0x7780 SSL - A fatal alert message was received from our peer" (mbedtls_strerror).
public func mbedtlsErrorText(_ ret: Int32) -> String {
  var buf = [CChar](repeating: 0, count: 160)
  buf.withUnsafeMutableBufferPointer { b in mbedtls_strerror(ret, b.baseAddress, b.count) }
  var bytes: [UInt8] = []
  for c in buf {
    if c == 0 { break }
    bytes.append(UInt8(bitPattern: c))
  }
  return hexCode(ret) + " " + String(decoding: bytes, as: UTF8.self)
}

/// "-0x7780" for an mbedTLS error code.
func hexCode(_ ret: Int32) -> String {
  let neg = ret < 0
  let v = neg ? UInt32(bitPattern: 0 &- ret) : UInt32(bitPattern: ret)
  let d = Array("0123456789abcdef".utf8)
  var out: [UInt8] = []
  var x = v
  repeat {
    out.append(d[Int(x & 15)])
    x >>= 4
  } while x != 0
  return (neg ? "-0x" : "0x") + String(decoding: out.reversed(), as: UTF8.self)
}
