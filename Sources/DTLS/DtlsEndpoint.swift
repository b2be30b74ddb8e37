import CRTCam
import Wire

public final class DtlsEndpoint {
  public enum State: Equatable, Sendable {
    /// Created; the client has not sent its ClientHello yet.
    case idle
    case handshaking
    case connected
    case failed
    case closed
  }

  public let role: DtlsRole
  public internal(set) var state: State = .idle
  let certificate: DtlsCertificate
  let random: DtlsRandom
  let expectedPeerFingerprint: [UInt8]
  let helloVerify: Bool
  let clientTransportId: [UInt8]

  let ssl: UnsafeMutablePointer<mbedtls_ssl_context>
  let conf: UnsafeMutablePointer<mbedtls_ssl_config>
  let cookie: UnsafeMutablePointer<mbedtls_ssl_cookie_ctx>
  let profiles: UnsafeMutablePointer<UInt16>
  let ciphersuites: UnsafeMutablePointer<Int32>

  var incoming: [[UInt8]] = []
  var outgoing: [[UInt8]] = []
  var outgoingHead = 0
  var events: [DtlsEvent] = []
  var eventsHead = 0
  var now: UInt64
  var timerActive = false
  var timerIntermediate: UInt64 = 0
  var timerFinal: UInt64 = 0
  /// Set by the key export callback during the handshake; reported only once it completed
  /// and the peer was authenticated.
  var exportedKeys: [UInt8]? = nil
  /// Set by the verify callback when the peer's leaf certificate did not match.
  var fingerprintRejected = false
  /// SHA-256 of the peer's leaf certificate, as seen by the verify callback.
  public internal(set) var peerFingerprint: [UInt8]? = nil

  /// At most this many received datagrams wait for processing; more are dropped.
  public static let maxQueuedDatagrams = 64
  /// The SRTP protection profiles offered (0-terminated for mbedTLS).
  static let offeredProfiles: [UInt16] = [SrtpKeyMaterial.aes128CmHmacSha1_80, 0]
  /// ECDHE suites browsers accept for DTLS 1.2 (ECDSA first: browser certificates are ECDSA).
  static let offeredSuites: [Int32] = [
    0xC02B,  // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    0xC02C,  // TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    0xCCA9,  // TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
    0xC009,  // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
    0xC00A,  // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
    0xC02F,  // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    0xC030,  // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
    0,
  ]

  /// - Parameters:
  ///   - role: `.client` for rtcam (a=setup:active); `.server` for tests playing the browser.
  ///   - certificate: our certificate (sent to the peer; the browser asks for it).
  ///   - random: the caller's RNG (kept alive by the endpoint; same thread as the endpoint).
  ///   - expectedPeerFingerprint: SHA-256 of the peer certificate's DER, from its SDP.
  ///   - mtu: largest datagram this endpoint sends (handshake flights are fragmented to fit).
  ///   - now: monotonic nanoseconds.
  ///   - retransmitMinMs, retransmitMaxMs: handshake retransmission timer bounds (RFC 6347
  ///     doubling from min; the handshake fails with `.timeout` once max is exceeded).
  ///   - helloVerify: server role only: answer the first ClientHello with HelloVerifyRequest
  ///     (cookie bound to `clientTransportId`, e.g. the client's address bytes). A server
  ///     drops ClientHellos it cannot parse and keeps waiting (mbedTLS 2.28 cannot
  ///     reassemble a fragmented ClientHello, so the server role is for tests only).
  public init(
    role: DtlsRole, certificate: DtlsCertificate, random: DtlsRandom, expectedPeerFingerprint: [UInt8],
    mtu: Int = 1200, now: UInt64, retransmitMinMs: UInt32 = 1000, retransmitMaxMs: UInt32 = 60000,
    helloVerify: Bool = true, clientTransportId: [UInt8] = [0]
  ) throws(DtlsError) {
    self.role = role
    self.certificate = certificate
    self.random = random
    self.expectedPeerFingerprint = expectedPeerFingerprint
    self.now = now
    self.helloVerify = helloVerify
    self.clientTransportId = clientTransportId.isEmpty ? [0] : clientTransportId
    ssl = .allocate(capacity: 1)
    conf = .allocate(capacity: 1)
    cookie = .allocate(capacity: 1)
    profiles = .allocate(capacity: DtlsEndpoint.offeredProfiles.count)
    profiles.initialize(from: DtlsEndpoint.offeredProfiles, count: DtlsEndpoint.offeredProfiles.count)
    ciphersuites = .allocate(capacity: DtlsEndpoint.offeredSuites.count)
    ciphersuites.initialize(from: DtlsEndpoint.offeredSuites, count: DtlsEndpoint.offeredSuites.count)
    mbedtls_ssl_init(ssl)
    mbedtls_ssl_config_init(conf)
    mbedtls_ssl_cookie_init(cookie)
    // Every stored property is set: deinit frees the contexts if configuration fails.
    try configure(mtu: mtu, retransmitMinMs: retransmitMinMs, retransmitMaxMs: retransmitMaxMs)
  }

  deinit {
    mbedtls_ssl_free(ssl)
    mbedtls_ssl_config_free(conf)
    mbedtls_ssl_cookie_free(cookie)
    ssl.deallocate()
    conf.deallocate()
    cookie.deallocate()
    profiles.deallocate()
    ciphersuites.deallocate()
  }

  private func configure(mtu: Int, retransmitMinMs: UInt32, retransmitMaxMs: UInt32) throws(DtlsError) {
    let me = Unmanaged.passUnretained(self).toOpaque()
    let endpoint = role == .client ? MBEDTLS_SSL_IS_CLIENT : MBEDTLS_SSL_IS_SERVER
    var ret = mbedtls_ssl_config_defaults(conf, endpoint, MBEDTLS_SSL_TRANSPORT_DATAGRAM, MBEDTLS_SSL_PRESET_DEFAULT)
    guard ret == 0 else { throw .setup("ssl_config_defaults", ret) }
    mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, random.rngContext)
    mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3)
    mbedtls_ssl_conf_ciphersuites(conf, ciphersuites)
    // Self-signed peers: the chain check would fail; OPTIONAL lets the handshake go on and
    // the verify callback plus finishHandshake() enforce the SDP fingerprint instead.
    mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_OPTIONAL)
    mbedtls_ssl_conf_verify(conf, { ctx, crt, depth, flags in
      guard let ctx, let crt else { return MBEDTLS_ERR_X509_FATAL_ERROR }
      let me = Unmanaged<DtlsEndpoint>.fromOpaque(ctx).takeUnretainedValue()
      return me.verifyCertificate(crt, depth: depth)
    }, me)
    ret = mbedtls_ssl_conf_own_cert(conf, certificate.crt, certificate.key)
    guard ret == 0 else { throw .setup("ssl_conf_own_cert", ret) }
    ret = mbedtls_ssl_conf_dtls_srtp_protection_profiles(conf, profiles)
    guard ret == 0 else { throw .setup("ssl_conf_dtls_srtp_protection_profiles", ret) }
    mbedtls_ssl_conf_export_keys_ext_cb(conf, { ctx, ms, _, _, _, _, clientRandom, serverRandom, prf in
      guard let ctx, let ms, let clientRandom, let serverRandom else { return MBEDTLS_ERR_SSL_BAD_INPUT_DATA }
      let me = Unmanaged<DtlsEndpoint>.fromOpaque(ctx).takeUnretainedValue()
      return me.exportKeys(master: ms, clientRandom: clientRandom, serverRandom: serverRandom, prf: prf)
    }, me)
    // mbedTLS advances its replay window on plaintext (epoch 0) records before it knows they
    // are useless, so one forged record with a huge sequence number would make it drop the
    // real handshake. Replay protection buys nothing here: the association carries no
    // application data that matters (SRTP has its own replay window), handshake duplicates
    // are caught by message sequence numbers, and epoch-1 records are still authenticated.
    mbedtls_ssl_conf_dtls_anti_replay(conf, CChar(MBEDTLS_SSL_ANTI_REPLAY_DISABLED))
    mbedtls_ssl_conf_handshake_timeout(conf, max(1, retransmitMinMs), max(retransmitMinMs, retransmitMaxMs))
    if role == .server {
      if helloVerify {
        ret = mbedtls_ssl_cookie_setup(cookie, mbedtls_ctr_drbg_random, random.rngContext)
        guard ret == 0 else { throw .setup("ssl_cookie_setup", ret) }
        mbedtls_ssl_conf_dtls_cookies(conf, mbedtls_ssl_cookie_write, mbedtls_ssl_cookie_check, UnsafeMutableRawPointer(cookie))
      } else {
        mbedtls_ssl_conf_dtls_cookies(conf, nil, nil, nil)
      }
    }
    ret = mbedtls_ssl_setup(ssl, conf)
    guard ret == 0 else { throw .setup("ssl_setup", ret) }
    mbedtls_ssl_set_bio(ssl, me, { ctx, buf, len in
      guard let ctx, let buf else { return MBEDTLS_ERR_SSL_BAD_INPUT_DATA }
      let me = Unmanaged<DtlsEndpoint>.fromOpaque(ctx).takeUnretainedValue()
      me.outgoing.append(Array(UnsafeBufferPointer(start: buf, count: len)))
      return Int32(truncatingIfNeeded: len)
    }, { ctx, buf, len in
      guard let ctx, let buf else { return MBEDTLS_ERR_SSL_BAD_INPUT_DATA }
      let me = Unmanaged<DtlsEndpoint>.fromOpaque(ctx).takeUnretainedValue()
      return me.readQueued(buf, len)
    }, nil)
    mbedtls_ssl_set_timer_cb(ssl, me, { ctx, intermediateMs, finalMs in
      guard let ctx else { return }
      Unmanaged<DtlsEndpoint>.fromOpaque(ctx).takeUnretainedValue().setTimer(intermediateMs, finalMs)
    }, { ctx in
      guard let ctx else { return -1 }
      return Unmanaged<DtlsEndpoint>.fromOpaque(ctx).takeUnretainedValue().timerState()
    })
    mbedtls_ssl_set_mtu(ssl, UInt16(clamping: max(256, mtu)))
    if role == .server { try setTransportId() }
  }

  func setTransportId() throws(DtlsError) {
    let ret = clientTransportId.withUnsafeBufferPointer { b in
      mbedtls_ssl_set_client_transport_id(ssl, b.baseAddress, b.count)
    }
    guard ret == 0 else { throw .setup("ssl_set_client_transport_id", ret) }
  }

  // MARK: - Public API

  /// Starts the handshake. The client queues its ClientHello; the server just waits for one
  /// (it also starts by itself on the first received datagram).
  public func start(now: UInt64) {
    self.now = now
    guard state == .idle else { return }
    state = .handshaking
    drive()
  }

  /// A datagram from the peer. Only DTLS records (first byte 20...63, RFC 7983) are used;
  /// anything else, structurally invalid datagrams (see `DtlsRecords`), and anything after
  /// failure or close, is ignored.
  public func receive(_ datagram: [UInt8], now: UInt64) {
    self.now = now
    guard let first = datagram.first, first >= 20, first <= 63 else { return }
    guard DtlsRecords.isPlausible(datagram) else { return }
    switch state {
    case .failed, .closed: return
    case .idle:
      // A client has nothing to do with records before its ClientHello: the server's
      // answers cannot arrive yet. A server starts with the first ClientHello.
      guard role == .server else { return }
      state = .handshaking
    case .handshaking, .connected: break
    }
    guard incoming.count < DtlsEndpoint.maxQueuedDatagrams else { return }
    incoming.append(datagram)
    drive()
  }

  /// Drives retransmission; call at (or after) `nextTimeout`.
  public func handleTimeout(now: UInt64) {
    self.now = now
    guard state == .handshaking || state == .connected else { return }
    drive()
  }

  /// When `handleTimeout` should be called next (monotonic ns), or nil if no timer runs.
  public var nextTimeout: UInt64? {
    guard timerActive, state == .handshaking || state == .connected else { return nil }
    return timerFinal
  }

  /// What the endpoint asks of its caller, one at a time: the datagrams to send to the peer, in
  /// order (each fits the MTU), then the events, then `.timeout` (when to call `handleTimeout`;
  /// nothing more is pending). Call it after every input until it returns `.timeout`.
  public func pollOutput() -> DtlsOutput {
    if outgoingHead < outgoing.count {
      let d = outgoing[outgoingHead]
      outgoingHead += 1
      if outgoingHead == outgoing.count { outgoing.removeAll(keepingCapacity: true); outgoingHead = 0 }
      return .transmit(d)
    }
    if eventsHead < events.count {
      let e = events[eventsHead]
      eventsHead += 1
      if eventsHead == events.count { events.removeAll(keepingCapacity: true); eventsHead = 0 }
      return .event(e)
    }
    return .timeout(nextTimeout)
  }

  public var isConnected: Bool { state == .connected }

  /// The negotiated cipher suite ("TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"), once connected.
  public var cipherSuite: String? {
    guard state == .connected, let p = mbedtls_ssl_get_ciphersuite(ssl) else { return nil }
    return String(cString: p)
  }

  /// Sends close_notify (the next `pollOutput`) and stops processing. No event is
  /// reported for a local close.
  public func close() {
    switch state {
    case .handshaking, .connected:
      _ = mbedtls_ssl_close_notify(ssl)
      state = .closed
      timerActive = false
      incoming.removeAll()
    case .idle:
      state = .closed
    case .failed, .closed:
      break
    }
  }

  /// Sends application data over the association (tests and diagnostics only).
  public func send(_ data: [UInt8]) throws(DtlsError) {
    guard state == .connected else { throw .closed }
    var offset = 0
    while offset < data.count {
      // The in-memory BIO never blocks, so anything but progress is an error (e.g. a
      // message larger than one record).
      let ret = data.withUnsafeBufferPointer { b in mbedtls_ssl_write(ssl, b.baseAddress! + offset, b.count - offset) }
      guard ret > 0 else { throw .record("ssl_write", ret) }
      offset += Int(ret)
    }
  }
}
