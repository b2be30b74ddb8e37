import DTLS
import ICE
import RTP
import SDP
import SRTP
import Wire

/// One viewer: ICE-lite checks, the DTLS client handshake, SRTP protection and its RTP stream.
/// Sans-IO: datagrams, timers and `now` go in (`handleDatagram`, `handleTimeout`, `close`);
/// what the viewer must be sent, and what happened, comes out of `pollOutput`, one at a time
/// until `.timeout`. Frames reach it as a `MediaSink`. The event loop owns the socket and clock.
public final class Peer {
  /// The session's state: each phase carries what it needs.
  enum State {
    /// Waiting for the first authenticated STUN check; the DTLS endpoint is made but idle.
    case checking(DtlsEndpoint)
    case handshaking(DtlsEndpoint)
    case connected(PeerMedia)
    case closed(PeerCloseReason)
  }

  public let id: String
  public let config: PeerConfig
  public let createdAt: UInt64
  var state: State
  public internal(set) var stats = PeerStats()
  /// Where media and DTLS go: the nominated address, or before nomination the last address that
  /// sent an authenticated check.
  public internal(set) var remote: SocketAddress?
  var ice: IceLiteAgent

  // What `pollOutput` hands out next (see there for the order).
  var stunReplyLength = 0
  var stunReplyTo = SocketAddress(ip: [0, 0, 0, 0], port: 0)
  var pendingDtls: [[UInt8]] = []
  var events: [PeerEvent] = []
  var eventsHead = 0
  /// Sequence numbers a NACK asked for, not yet retransmitted (at most `maxPendingRetransmissions`).
  var retransmitQueue: [UInt16]
  var retransmitHead = 0
  var retransmitCount = 0
  /// Retransmissions one NACK may cause (a browser NACKs a frame's worth at most; more would let
  /// one datagram make rtcam send hundreds).
  static let maxPendingRetransmissions = 64
  /// A sender report is due: it is made at `pollOutput` from these clocks.
  var senderReportDue: (now: UInt64, unixNs: UInt64)? = nil
  /// The time of the latest input: the pacer and the estimator read it while outputs are polled.
  var lastNow: UInt64

  /// Buffers, all made here: STUN replies, the other datagrams `pollOutput` returns, and media
  /// packets during a frame's fan-out (each the MTU plus room for the SRTP trailer).
  let stunBuffer: UnsafeMutableRawBufferPointer
  let controlBuffer: UnsafeMutableRawBufferPointer
  let mediaBuffer: UnsafeMutableRawBufferPointer

  public init(id: String, config: PeerConfig, certificate: DtlsCertificate, random: DtlsRandom,
              now: UInt64) throws(DtlsError) {
    self.id = id
    self.config = config
    self.createdAt = now
    lastNow = now
    ice = IceLiteAgent(local: config.localIce, remoteUfrag: config.video.remoteIceUfrag,
      remotePassword: config.video.remoteIcePassword)
    let dtls = try DtlsEndpoint(role: .client, certificate: certificate, random: random,
      expectedPeerFingerprint: config.video.remoteFingerprint, mtu: config.mtu, now: now)
    state = .checking(dtls)
    let size = config.mtu + SrtpSession.trailerCapacity + 48
    stunBuffer = .allocate(byteCount: max(size, IceLiteAgent.inPlaceReplyCapacity), alignment: 16)
    controlBuffer = .allocate(byteCount: size, alignment: 16)
    mediaBuffer = .allocate(byteCount: size, alignment: 16)
    retransmitQueue = [UInt16](repeating: 0, count: Peer.maxPendingRetransmissions)
    events.reserveCapacity(8)
  }

  deinit {
    stunBuffer.deallocate()
    controlBuffer.deallocate()
    mediaBuffer.deallocate()
  }

  public var phase: PeerPhase {
    switch state {
    case .checking: return .checking
    case .handshaking: return .handshaking
    case .connected: return .connected
    case .closed: return .closed
    }
  }

  public var closeReason: PeerCloseReason? {
    if case .closed(let r) = state { return r }
    return nil
  }

  var dtls: DtlsEndpoint? {
    switch state {
    case .checking(let d), .handshaking(let d): return d
    case .connected(let m): return m.dtls
    case .closed: return nil
    }
  }

  /// The earliest time `handleTimeout` has work to do (nil once closed).
  public var nextDeadline: UInt64? {
    var d: UInt64
    switch state {
    case .closed: return nil
    case .checking: d = createdAt + config.iceTimeoutNs
    case .handshaking: d = (ice.lastConsentAt ?? createdAt) + ice.consentTimeout
    case .connected(let m):
      d = min((ice.lastConsentAt ?? createdAt) + ice.consentTimeout, m.nextSenderReportAt)
      if let t = congestionDeadline(m) { d = min(d, t) }
    }
    if let t = dtls?.nextTimeout { d = min(d, t) }
    return d
  }

  /// Whether `pollOutput` has anything but `.timeout` to hand out.
  public var hasPendingOutput: Bool {
    if stunReplyLength > 0 || !pendingDtls.isEmpty || retransmitCount > 0 || senderReportDue != nil
      || eventsHead < events.count { return true }
    guard case .connected(let m) = state, let t = congestionDeadline(m) else { return false }
    return t <= lastNow
  }

  /// What the session asks of its caller, one at a time: a STUN reply, DTLS datagrams,
  /// retransmissions, a sender report, then events, then `.timeout`. The bytes of a
  /// `.transmit` are valid until the next call into the peer.
  public func pollOutput() -> PeerOutput {
    if stunReplyLength > 0 {
      let n = stunReplyLength
      stunReplyLength = 0
      return .transmit(UnsafeRawBufferPointer(rebasing: stunBuffer[0..<n]), to: stunReplyTo)
    }
    if let out = nextDtlsDatagram() { return out }
    if case .connected(let m) = state,
      let out = nextRetransmission(m) ?? nextSenderReport(m) ?? nextPacedPacket(m) { return out }
    retransmitCount = 0
    senderReportDue = nil
    if eventsHead < events.count {
      let e = events[eventsHead]
      eventsHead += 1
      if eventsHead == events.count { events.removeAll(keepingCapacity: true); eventsHead = 0 }
      return .event(e)
    }
    return .timeout(nextDeadline)
  }

  func nextDtlsDatagram() -> PeerOutput? {
    guard !pendingDtls.isEmpty, let to = remote else {
      pendingDtls.removeAll()
      return nil
    }
    let d = pendingDtls.removeFirst()
    guard d.count <= controlBuffer.count else { return nextDtlsDatagram() }
    d.withUnsafeBytes { controlBuffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: d.count) }
    return .transmit(UnsafeRawBufferPointer(rebasing: controlBuffer[0..<d.count]), to: to)
  }

  // MARK: inputs

  /// One datagram the loop routed to this session, in the loop's receive buffer, which it may
  /// overwrite: SRTCP is authenticated and decrypted in place, so the steady-state path
  /// (receiver reports, NACKs) copies nothing; so do consent checks (STUN Binding requests that
  /// succeed, answered in place). Other STUN and DTLS (the handshake) are copied: they are rare.
  public func handleDatagram(_ datagram: UnsafeMutableRawBufferPointer, from: SocketAddress, now: UInt64) {
    if case .closed = state { return }
    lastNow = max(lastNow, now)
    let bytes = UnsafeRawBufferPointer(datagram)
    switch DatagramKind.classify(bytes) {
    case .stun: receiveStun(bytes, from: from, now: now)
    case .dtls:
      guard from == remote || ice.selected == from || ice.lastAuthenticatedSource == from, let dtls else {
        stats.badDatagrams += 1
        return
      }
      dtls.receive(Array(bytes), now: now)
      pumpDtls(now: now)
    case .rtcp:
      guard case .connected(let m) = state else {
        stats.badDatagrams += 1
        return
      }
      receiveRtcp(datagram, media: m, from: from, now: now)
    case .rtp, .unknown: stats.badDatagrams += 1
    }
  }

  /// Takes everything the DTLS endpoint produced: its datagrams wait for `pollOutput`, its
  /// events move the session on.
  func pumpDtls(now: UInt64) {
    guard let dtls else { return }
    while true {
      switch dtls.pollOutput() {
      case .transmit(let d): if remote != nil { pendingDtls.append(d) }
      case .event(.connected(let keys)): connected(dtls, keys, now: now)
      case .event(.failed(let err)): close(.dtlsFailed(err), now: now)
      case .event(.closed): close(.dtlsClosed, now: now)
      case .event(.data): break  // browsers send no application data on a media-only session
      case .timeout: return
      }
    }
  }

  func connected(_ dtls: DtlsEndpoint, _ keys: SrtpKeyMaterial, now: UInt64) {
    guard case .handshaking = state else { return }
    let srtp: SrtpSession
    do {
      srtp = try SrtpSession(localKey: keys.localKey, localSalt: keys.localSalt,
        remoteKey: keys.remoteKey, remoteSalt: keys.remoteSalt)
    } catch {
      close(.srtpFailed(error), now: now)
      return
    }
    let media = PeerMedia(dtls: dtls, srtp: srtp, config: config, now: now)
    enter(.connected(media))
    events.append(.keyframeNeeded(.joined))
    estimateUpdated(media)  // the core hears the starting estimate before any feedback
  }

  /// Timers: ICE timeout and consent, DTLS retransmission, RTCP sender reports.
  public func handleTimeout(now: UInt64, unixNs: UInt64) {
    lastNow = max(lastNow, now)
    switch state {
    case .closed: return
    case .checking:
      if now >= createdAt + config.iceTimeoutNs { close(.iceTimeout, now: now) }
      return
    case .handshaking, .connected: break
    }
    if ice.consentExpired(now: now, startedAt: createdAt) {
      close(.consentExpired, now: now)
      return
    }
    if let dtls, let t = dtls.nextTimeout, now >= t {
      dtls.handleTimeout(now: now)
      pumpDtls(now: now)
    }
    if case .connected(let m) = state {
      if now >= m.nextSenderReportAt {
        m.nextSenderReportAt = now + config.senderReportIntervalNs
        senderReportDue = (now, unixNs)
      }
      congestionTimeout(m, now: now)
    }
  }

  /// Ends the session (sends DTLS close_notify if the handshake got that far).
  public func close(_ reason: PeerCloseReason, now: UInt64) {
    switch state {
    case .closed: return
    case .checking: break
    case .handshaking(let dtls):
      if reason != .dtlsClosed { dtls.close() }
    case .connected(let m):
      if reason != .dtlsClosed { m.dtls.close() }
    }
    if let dtls, remote != nil {
      while case .transmit(let d) = dtls.pollOutput() { pendingDtls.append(d) }
    }
    retransmitCount = 0
    senderReportDue = nil
    enter(.closed(reason))
    events.append(.closed(reason))
  }

  func enter(_ s: State) {
    let before = phase
    state = s
    if phase != before { events.append(.phaseChanged(phase)) }
  }
}
