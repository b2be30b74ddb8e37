// Driving mbedTLS: handshake steps, finishing (fingerprint check, SRTP keys), records after it, failures.
import CRTCam
import Wire

extension DtlsEndpoint {
  // MARK: - Driving mbedTLS

  func drive() {
    switch state {
    case .handshaking: stepHandshake()
    case .connected: readRecords()
    case .idle, .failed, .closed: incoming.removeAll()
    }
  }

  func stepHandshake() {
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
  func finishHandshake() {
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

  func rejectPeer(_ error: DtlsError, alert: UInt8) {
    _ = mbedtls_ssl_send_alert_message(ssl, UInt8(MBEDTLS_SSL_ALERT_LEVEL_FATAL), alert)
    fail(error)
  }

  func readRecords() {
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

  func fail(_ error: DtlsError) {
    guard state != .failed && state != .closed else { return }
    state = .failed
    timerActive = false
    exportedKeys = nil
    incoming.removeAll()
    events.append(.failed(error))
  }

  /// "fatal alert 42 (bad_certificate)" from the last received alert record.
  func receivedAlertText() -> String {
    guard let msg = ssl.pointee.in_msg, ssl.pointee.in_msglen >= 2 else { return "fatal alert" }
    let code = msg[1]
    return "fatal alert " + String(code) + " (" + alertName(code) + ")"
  }
}
