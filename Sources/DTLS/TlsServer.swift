// HTTPS without I/O: an mbedTLS TLS 1.2 server per connection, fed ciphertext from memory and
// handing ciphertext back, like DtlsEndpoint. ECDHE with AES-GCM only.
import CRTCam
import Wire

/// Why TLS failed.
public enum TlsError: Error, Equatable, Sendable {
  /// A certificate or key could not be used: which file or step, and mbedTLS's code.
  case badIdentity(String, Int32)
  case setup(String, Int32)
  case handshake(Int32)
  case handshakeTimeout
  case record(Int32)
  /// The peer sent more than the connection buffers before it was processed.
  case inputTooLarge

  public var code: String {
    switch self {
    case .badIdentity: return "TLS_BAD_IDENTITY"
    case .setup: return "TLS_SETUP_FAILED"
    case .handshake: return "TLS_HANDSHAKE_FAILED"
    case .handshakeTimeout: return "TLS_HANDSHAKE_TIMEOUT"
    case .record: return "TLS_RECORD_ERROR"
    case .inputTooLarge: return "TLS_INPUT_TOO_LARGE"
    }
  }

  public var message: String {
    switch self {
    case .badIdentity(let what, let rc): return what + " (mbedTLS " + String(Int(rc)) + ")"
    case .setup(let what, let rc): return what + " failed (" + String(Int(rc)) + ")"
    case .handshake(let rc): return "handshake failed (" + String(Int(rc)) + ")"
    case .handshakeTimeout: return "handshake did not finish in time"
    case .record(let rc): return "bad record (" + String(Int(rc)) + ")"
    case .inputTooLarge: return "too much unprocessed input"
    }
  }
}

/// The server's certificate chain and private key.
public final class TlsIdentity {
  let crt: UnsafeMutablePointer<mbedtls_x509_crt>
  let key: UnsafeMutablePointer<mbedtls_pk_context>
  /// Keeps a generated certificate (which owns crt and key) alive.
  let owner: DtlsCertificate?

  /// From PEM (or DER) bytes of a certificate chain and its private key; `certName`/`keyName` name
  /// the files in errors.
  public init(certificate: [UInt8], key keyBytes: [UInt8], certName: String, keyName: String) throws(TlsError) {
    crt = .allocate(capacity: 1)
    key = .allocate(capacity: 1)
    owner = nil
    mbedtls_x509_crt_init(crt)
    mbedtls_pk_init(key)
    // mbedTLS wants PEM NUL-terminated (the length counts the NUL)
    let c = certificate.contains(0) ? certificate : certificate + [0]
    var rc = c.withUnsafeBufferPointer { mbedtls_x509_crt_parse(crt, $0.baseAddress, $0.count) }
    guard rc == 0 else { throw .badIdentity(certName + " holds no usable certificate", rc) }
    let k = keyBytes.contains(0) ? keyBytes : keyBytes + [0]
    rc = k.withUnsafeBufferPointer { mbedtls_pk_parse_key(key, $0.baseAddress, $0.count, nil, 0) }
    guard rc == 0 else { throw .badIdentity(keyName + " holds no usable private key (unencrypted PEM or DER)", rc) }
    rc = mbedtls_pk_check_pair(&crt.pointee.pk, key)
    guard rc == 0 else { throw .badIdentity(keyName + " is not the key of the certificate in " + certName, rc) }
  }

  /// A self-signed identity (rtcam's own certificate writer, `DtlsCertificate`).
  public init(generated: DtlsCertificate) {
    crt = generated.crt
    key = generated.key
    owner = generated
  }

  deinit {
    guard owner == nil else { return }
    mbedtls_x509_crt_free(crt)
    mbedtls_pk_free(key)
    crt.deallocate()
    key.deallocate()
  }
}

extension DtlsCertificate {
  /// The private key as PEM ("-----BEGIN EC PRIVATE KEY-----"), to keep a self-signed HTTPS
  /// identity across restarts.
  public func privateKeyPEM() throws(TlsError) -> [UInt8] {
    var buf = [UInt8](repeating: 0, count: 1024)
    let rc = buf.withUnsafeMutableBufferPointer { mbedtls_pk_write_key_pem(key, $0.baseAddress, $0.count) }
    guard rc == 0, let end = buf.firstIndex(of: 0) else { throw .setup("pk_write_key_pem", rc) }
    return Array(buf[0..<end])
  }

  /// The certificate as PEM.
  public var certificatePEM: [UInt8] {
    var text = "-----BEGIN CERTIFICATE-----\n"
    let b64 = Array(Base64.encode(der).utf8)
    var i = 0
    while i < b64.count {
      text += String(decoding: b64[i..<min(i + 64, b64.count)], as: UTF8.self) + "\n"
      i += 64
    }
    return Array((text + "-----END CERTIFICATE-----\n").utf8)
  }
}

/// The configuration every HTTPS connection shares: TLS 1.2 only, ECDHE with AES-GCM.
public final class TlsServerConfig {
  let conf: UnsafeMutablePointer<mbedtls_ssl_config>
  let suites: UnsafeMutablePointer<Int32>
  let identity: TlsIdentity
  let random: DtlsRandom
  /// A handshake that has not finished this long after the connection came is abandoned.
  public let handshakeTimeoutNs: UInt64

  static let offeredSuites: [Int32] = [
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, 0,
  ]

  public init(identity: TlsIdentity, random: DtlsRandom, handshakeTimeoutNs: UInt64 = 10_000_000_000) throws(TlsError) {
    self.identity = identity
    self.random = random
    self.handshakeTimeoutNs = handshakeTimeoutNs
    conf = .allocate(capacity: 1)
    suites = .allocate(capacity: TlsServerConfig.offeredSuites.count)
    suites.initialize(from: TlsServerConfig.offeredSuites, count: TlsServerConfig.offeredSuites.count)
    mbedtls_ssl_config_init(conf)
    var rc = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT)
    guard rc == 0 else { throw .setup("ssl_config_defaults", rc) }
    mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, random.rngContext)
    mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3)
    mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3)
    mbedtls_ssl_conf_ciphersuites(conf, suites)
    mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_NONE)
    rc = mbedtls_ssl_conf_own_cert(conf, identity.crt, identity.key)
    guard rc == 0 else { throw .setup("ssl_conf_own_cert", rc) }
  }

  deinit {
    mbedtls_ssl_config_free(conf)
    conf.deallocate()
    suites.deallocate()
  }
}

/// What a `TlsConnection` asks of its caller (`pollOutput`).
public enum TlsOutput: Equatable, Sendable {
  /// Ciphertext for the socket.
  case transmit([UInt8])
  /// Nothing more now; call `handleTimeout` at this time (nil: no timer runs).
  case timeout(UInt64?)
}

/// One HTTPS connection's TLS state. Ciphertext in (`receive`), plaintext out; plaintext in
/// (`send`), ciphertext out (`pollOutput`). Use it from one thread.
public final class TlsConnection {
  public enum State: Equatable, Sendable {
    case handshaking
    case open
    /// Ended: close_notify sent or received, or failed (then `failure` says why).
    case closed
  }

  public private(set) var state = State.handshaking
  public private(set) var failure: TlsError? = nil
  let config: TlsServerConfig
  let ssl: UnsafeMutablePointer<mbedtls_ssl_context>
  let createdAt: UInt64
  /// Unread ciphertext: bounded by `maxPendingInput` (a few records: each read is consumed at once).
  var incoming: [UInt8] = []
  var incomingOffset = 0
  var outgoing: [UInt8] = []
  static let maxPendingInput = 1 << 16

  public init(config: TlsServerConfig, now: UInt64) throws(TlsError) {
    self.config = config
    createdAt = now
    ssl = .allocate(capacity: 1)
    mbedtls_ssl_init(ssl)
    let rc = mbedtls_ssl_setup(ssl, config.conf)
    guard rc == 0 else { throw .setup("ssl_setup", rc) }
    let me = Unmanaged.passUnretained(self).toOpaque()
    mbedtls_ssl_set_bio(ssl, me, { ctx, buf, len in
      guard let ctx, let buf else { return MBEDTLS_ERR_SSL_BAD_INPUT_DATA }
      let me = Unmanaged<TlsConnection>.fromOpaque(ctx).takeUnretainedValue()
      me.outgoing.append(contentsOf: UnsafeBufferPointer(start: buf, count: len))
      return Int32(truncatingIfNeeded: len)
    }, { ctx, buf, len in
      guard let ctx, let buf else { return MBEDTLS_ERR_SSL_BAD_INPUT_DATA }
      return Unmanaged<TlsConnection>.fromOpaque(ctx).takeUnretainedValue().readQueued(buf, len)
    }, nil)
  }

  deinit {
    mbedtls_ssl_free(ssl)
    ssl.deallocate()
  }

  func readQueued(_ buf: UnsafeMutablePointer<UInt8>, _ len: Int) -> Int32 {
    let available = incoming.count - incomingOffset
    guard available > 0 else { return MBEDTLS_ERR_SSL_WANT_READ }
    let n = min(len, available)
    incoming.withUnsafeBufferPointer { b in buf.update(from: b.baseAddress! + incomingOffset, count: n) }
    incomingOffset += n
    if incomingOffset == incoming.count {
      incoming.removeAll(keepingCapacity: true)
      incomingOffset = 0
    }
    return Int32(n)
  }

  /// When the handshake is abandoned if it has not finished (nil once open or closed).
  public var handshakeDeadline: UInt64? { state == .handshaking ? createdAt &+ config.handshakeTimeoutNs : nil }

  /// Ends a handshake that ran past its deadline.
  public func handleTimeout(now: UInt64) {
    if let d = handshakeDeadline, now >= d { fail(.handshakeTimeout) }
  }

  /// Ciphertext from the peer; returns the plaintext it carried (empty while handshaking).
  public func receive(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
    guard state != .closed else { return [] }
    guard incoming.count - incomingOffset + bytes.count <= TlsConnection.maxPendingInput else {
      fail(.inputTooLarge)
      return []
    }
    incoming.append(contentsOf: bytes)
    if state == .handshaking {
      let rc = mbedtls_ssl_handshake(ssl)
      if rc == 0 {
        state = .open
      } else if rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE {
        fail(.handshake(rc))
        return []
      } else {
        return []
      }
    }
    var plain: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while state == .open {
      let n = chunk.withUnsafeMutableBufferPointer { mbedtls_ssl_read(ssl, $0.baseAddress, $0.count) }
      if n > 0 {
        plain.append(contentsOf: chunk[0..<Int(n)])
        continue
      }
      if n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE { break }
      if n == 0 || n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY {
        state = .closed
        break
      }
      fail(.record(n))
    }
    return plain
  }

  /// Plaintext to send; dropped unless the connection is open.
  public func send(_ plaintext: [UInt8]) {
    guard state == .open else { return }
    var offset = 0
    while offset < plaintext.count {
      let n = plaintext.withUnsafeBufferPointer { b in
        mbedtls_ssl_write(ssl, b.baseAddress! + offset, b.count - offset)
      }
      if n > 0 { offset += Int(n); continue }
      fail(.record(n))
      return
    }
  }

  /// What the connection asks of its caller: the ciphertext to write to the socket (all of it
  /// at once), then `.timeout` with the handshake's deadline (nil once open or closed). Call it
  /// after every input until it returns `.timeout`.
  public func pollOutput() -> TlsOutput {
    if !outgoing.isEmpty {
      let out = outgoing
      outgoing.removeAll()
      return .transmit(out)
    }
    return .timeout(handshakeDeadline)
  }

  /// Sends close_notify (when open) and ends the connection.
  public func close() {
    if state == .open { _ = mbedtls_ssl_close_notify(ssl) }
    state = .closed
  }

  func fail(_ e: TlsError) {
    failure = e
    state = .closed
  }
}
