import CRTCam
import Wire

/// SRTP master keys exported from a DTLS-SRTP handshake (RFC 5764 section 4.2), already split
/// into what this side sends with (`local`) and what it receives with (`remote`).
public struct SrtpKeyMaterial: Equatable, Sendable {
  /// 16-byte master key for packets this side protects.
  public var localKey: [UInt8]
  /// 14-byte master salt for packets this side protects.
  public var localSalt: [UInt8]
  /// 16-byte master key for packets the peer protects.
  public var remoteKey: [UInt8]
  /// 14-byte master salt for packets the peer protects.
  public var remoteSalt: [UInt8]
  /// Negotiated DTLS-SRTP protection profile (0x0001 = SRTP_AES128_CM_HMAC_SHA1_80).
  public var profile: UInt16

  public init(localKey: [UInt8], localSalt: [UInt8], remoteKey: [UInt8], remoteSalt: [UInt8], profile: UInt16) {
    self.localKey = localKey
    self.localSalt = localSalt
    self.remoteKey = remoteKey
    self.remoteSalt = remoteSalt
    self.profile = profile
  }

  /// SRTP_AES128_CM_HMAC_SHA1_80, the only profile rtcam negotiates.
  public static let aes128CmHmacSha1_80: UInt16 = 0x0001
  /// "EXTRACTOR-dtls_srtp" output length for that profile: 2 * (16 + 14).
  public static let exporterLength = 60

  /// Splits the 60 exporter bytes (client key | server key | client salt | server salt).
  /// The DTLS client sends with the client half.
  public init?(exported: [UInt8], isClient: Bool, profile: UInt16 = SrtpKeyMaterial.aes128CmHmacSha1_80) {
    guard exported.count == SrtpKeyMaterial.exporterLength else { return nil }
    let clientKey = Array(exported[0..<16])
    let serverKey = Array(exported[16..<32])
    let clientSalt = Array(exported[32..<46])
    let serverSalt = Array(exported[46..<60])
    if isClient {
      self.init(localKey: clientKey, localSalt: clientSalt, remoteKey: serverKey, remoteSalt: serverSalt, profile: profile)
    } else {
      self.init(localKey: serverKey, localSalt: serverSalt, remoteKey: clientKey, remoteSalt: clientSalt, profile: profile)
    }
  }
}

/// Which side of the handshake an endpoint plays. rtcam answers `a=setup:actpass` with
/// `a=setup:active` and is the client; `.server` exists so tests can stand in for a browser.
public enum DtlsRole: Equatable, Sendable {
  case client
  case server
}

/// What an endpoint reports; read with `DtlsEndpoint.takeEvents()`.
public enum DtlsEvent: Equatable, Sendable {
  /// Handshake complete, peer certificate matches the expected fingerprint, SRTP profile
  /// negotiated: install these keys. Reported at most once.
  case connected(SrtpKeyMaterial)
  /// The association failed (reported at most once; no keys are reported after it).
  case failed(DtlsError)
  /// The peer closed the association with close_notify.
  case closed
  /// Application data from the peer (diagnostics and tests; media goes through SRTP).
  case data([UInt8])
}

/// One DTLS 1.2 association (mbedTLS) over in-memory datagram queues. It never touches
/// sockets or clocks: feed it datagrams with `receive`, drive retransmissions with
/// `handleTimeout` at `nextTimeout`, and send what `takeOutgoing` returns.
///
/// Not thread-safe: use an endpoint from one thread at a time.
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
  public private(set) var state: State = .idle
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
  var events: [DtlsEvent] = []
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
  public private(set) var peerFingerprint: [UInt8]? = nil

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

  private func setTransportId() throws(DtlsError) {
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

  /// Datagrams to send to the peer, in order (each fits the MTU).
  public func takeOutgoing() -> [[UInt8]] {
    let out = outgoing
    outgoing.removeAll()
    return out
  }

  /// Events since the last call, in order.
  public func takeEvents() -> [DtlsEvent] {
    let out = events
    events.removeAll()
    return out
  }

  public var isConnected: Bool { state == .connected }

  /// The negotiated cipher suite ("TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"), once connected.
  public var cipherSuite: String? {
    guard state == .connected, let p = mbedtls_ssl_get_ciphersuite(ssl) else { return nil }
    return String(cString: p)
  }

  /// Sends close_notify (queued in `takeOutgoing`) and stops processing. No event is
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

  // MARK: - Driving mbedTLS

  private func drive() {
    switch state {
    case .handshaking: stepHandshake()
    case .connected: readRecords()
    case .idle, .failed, .closed: incoming.removeAll()
    }
  }

  private func stepHandshake() {
    // mbedtls_ssl_handshake runs until it needs more input; it returns WANT_READ both when
    // the queue is empty and after resending a flight, so loop while datagrams remain.
    var rounds = 0
    while state == .handshaking {
      rounds += 1
      if rounds > 4 * DtlsEndpoint.maxQueuedDatagrams + 8 { return }
      let queuedBefore = outgoing.count
      let ret = mbedtls_ssl_handshake(ssl)
      if ret != 0 && ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE
        && ret != MBEDTLS_ERR_SSL_HELLO_VERIFY_REQUIRED && role == .server && awaitingClientHello
      {
        // A server that has not accepted a ClientHello yet keeps no state worth failing
        // for: drop the bad datagram (and any alert about it) and wait for the next one.
        if outgoing.count > queuedBefore { outgoing.removeSubrange(queuedBefore...) }
        let r = mbedtls_ssl_session_reset(ssl)
        guard r == 0 else { fail(.handshake("ssl_session_reset", r)); return }
        do { try setTransportId() } catch { fail(error); return }
        if incoming.isEmpty { return }
        continue
      }
      if ret == 0 {
        finishHandshake()
        if state == .connected && !incoming.isEmpty { readRecords() }
        return
      }
      switch ret {
      case MBEDTLS_ERR_SSL_WANT_READ, MBEDTLS_ERR_SSL_WANT_WRITE:
        if incoming.isEmpty { return }
      case MBEDTLS_ERR_SSL_HELLO_VERIFY_REQUIRED:
        // Server: HelloVerifyRequest sent; forget this attempt and wait for the ClientHello
        // that carries the cookie.
        let r = mbedtls_ssl_session_reset(ssl)
        guard r == 0 else { fail(.handshake("ssl_session_reset", r)); return }
        do { try setTransportId() } catch { fail(error); return }
        if incoming.isEmpty { return }
      case MBEDTLS_ERR_SSL_TIMEOUT:
        fail(.timeout)
        return
      case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
        fail(.alert(receivedAlertText()))
        return
      case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
        fail(.closed)
        return
      default:
        if fingerprintRejected { fail(.fingerprintMismatch) } else { fail(.handshake("ssl_handshake", ret)) }
        return
      }
    }
  }

  /// True while a server is still waiting for (or parsing) the first ClientHello.
  private var awaitingClientHello: Bool {
    ssl.pointee.state <= Int32(truncatingIfNeeded: MBEDTLS_SSL_CLIENT_HELLO.rawValue)
  }

  /// Handshake done: check use_srtp, the peer certificate and the exported keys, then report.
  private func finishHandshake() {
    var info = mbedtls_dtls_srtp_info()
    mbedtls_ssl_get_dtls_srtp_negotiation_result(ssl, &info)
    guard info.chosen_dtls_srtp_profile == SrtpKeyMaterial.aes128CmHmacSha1_80 else {
      rejectPeer(.noSrtpProfile, alert: UInt8(MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE))
      return
    }
    guard let peer = mbedtls_ssl_get_peer_cert(ssl), let raw = peer.pointee.raw.p, peer.pointee.raw.len > 0 else {
      rejectPeer(.noPeerCertificate, alert: UInt8(MBEDTLS_SSL_ALERT_MSG_NO_CERT))
      return
    }
    let digest = Digest.sha256(Array(UnsafeBufferPointer(start: raw, count: peer.pointee.raw.len)))
    peerFingerprint = digest
    guard !fingerprintRejected, constantTimeEqual(digest, expectedPeerFingerprint) else {
      rejectPeer(.fingerprintMismatch, alert: UInt8(MBEDTLS_SSL_ALERT_MSG_BAD_CERT))
      return
    }
    guard let exported = exportedKeys,
      let keys = SrtpKeyMaterial(exported: exported, isClient: role == .client, profile: info.chosen_dtls_srtp_profile)
    else {
      rejectPeer(.handshake("no exported keying material", 0), alert: UInt8(MBEDTLS_SSL_ALERT_MSG_INTERNAL_ERROR))
      return
    }
    exportedKeys = nil
    state = .connected
    events.append(.connected(keys))
  }

  private func rejectPeer(_ error: DtlsError, alert: UInt8) {
    _ = mbedtls_ssl_send_alert_message(ssl, UInt8(MBEDTLS_SSL_ALERT_LEVEL_FATAL), alert)
    fail(error)
  }

  private func readRecords() {
    var buf = [UInt8](repeating: 0, count: 2048)
    var rounds = 0
    while state == .connected {
      rounds += 1
      if rounds > 4 * DtlsEndpoint.maxQueuedDatagrams + 8 { return }
      let ret = buf.withUnsafeMutableBufferPointer { b in mbedtls_ssl_read(ssl, b.baseAddress, b.count) }
      if ret > 0 {
        events.append(.data(Array(buf[0..<Int(ret)])))
        continue
      }
      switch ret {
      case 0, MBEDTLS_ERR_SSL_WANT_READ, MBEDTLS_ERR_SSL_WANT_WRITE, MBEDTLS_ERR_SSL_TIMEOUT:
        if incoming.isEmpty { return }
      case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
        // Answer with our own close_notify, as TLS asks.
        _ = mbedtls_ssl_close_notify(ssl)
        state = .closed
        timerActive = false
        incoming.removeAll()
        events.append(.closed)
        return
      case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
        fail(.alert(receivedAlertText()))
        return
      case MBEDTLS_ERR_SSL_CLIENT_RECONNECT:
        // Server role: the client started a new handshake from the same address.
        fail(.record("client reconnected", ret))
        return
      default:
        fail(.record("ssl_read", ret))
        return
      }
    }
  }

  private func fail(_ error: DtlsError) {
    guard state != .failed && state != .closed else { return }
    state = .failed
    timerActive = false
    exportedKeys = nil
    incoming.removeAll()
    events.append(.failed(error))
  }

  /// "fatal alert 42 (bad_certificate)" from the last received alert record.
  private func receivedAlertText() -> String {
    guard let msg = ssl.pointee.in_msg, ssl.pointee.in_msglen >= 2 else { return "fatal alert" }
    let code = msg[1]
    return "fatal alert " + String(code) + " (" + alertName(code) + ")"
  }

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

/// TLS alert descriptions (RFC 5246 section 7.2, RFC 8446 section 6).
func alertName(_ code: UInt8) -> String {
  switch code {
  case 0: return "close_notify"
  case 10: return "unexpected_message"
  case 20: return "bad_record_mac"
  case 22: return "record_overflow"
  case 40: return "handshake_failure"
  case 42: return "bad_certificate"
  case 43: return "unsupported_certificate"
  case 44: return "certificate_revoked"
  case 45: return "certificate_expired"
  case 46: return "certificate_unknown"
  case 47: return "illegal_parameter"
  case 48: return "unknown_ca"
  case 49: return "access_denied"
  case 50: return "decode_error"
  case 51: return "decrypt_error"
  case 70: return "protocol_version"
  case 71: return "insufficient_security"
  case 80: return "internal_error"
  case 90: return "user_canceled"
  case 110: return "unsupported_extension"
  default: return "unknown"
  }
}
