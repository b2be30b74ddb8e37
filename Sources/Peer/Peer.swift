import DTLS
import ICE
import RTP
import SDP
import SRTP
import Wire

/// One viewer: ICE-lite checks, the DTLS client handshake, SRTP protection and the H.264 send
/// path. Sans-IO: datagrams and `now` go in; datagrams go out through the `send` callback; the
/// event loop owns the socket and the clock.
public final class Peer {
  public let id: String
  public let config: PeerConfig
  public private(set) var state = PeerState.checking
  public private(set) var stats = PeerStats()
  public private(set) var closeReason: PeerCloseReason?
  /// Where media and DTLS go: the nominated address, or before nomination the last address that
  /// sent an authenticated check.
  public private(set) var remote: SocketAddress?
  public let createdAt: UInt64

  var ice: IceLiteAgent
  let dtls: DtlsEndpoint
  var srtp: SrtpSession?
  var packetizer: H264Packetizer
  var history: RtpHistory
  var events: [PeerEvent] = []
  /// Don't send inter frames until the viewer has had a keyframe.
  var waitingForKeyframe = true
  var nextSenderReportAt: UInt64 = 0
  var timestampBaseNs: UInt64? = nil
  /// Reused packet buffer: RTP packet plus room for the SRTP trailer.
  var packetBuffer: UnsafeMutableRawBufferPointer
  var rtcpWriter = ByteWriter(capacity: 256)

  public init(id: String, config: PeerConfig, certificate: DtlsCertificate, random: DtlsRandom,
              now: UInt64) throws(DtlsError) {
    self.id = id
    self.config = config
    self.createdAt = now
    ice = IceLiteAgent(local: config.localIce, remoteUfrag: config.video.remoteIceUfrag,
      remotePassword: config.video.remoteIcePassword)
    dtls = try DtlsEndpoint(role: .client, certificate: certificate, random: random,
      expectedPeerFingerprint: config.video.remoteFingerprint, mtu: config.mtu, now: now)
    packetizer = H264Packetizer(ssrc: config.ssrc, payloadType: config.video.payloadType,
      initialSequence: config.initialSequence, mtu: config.mtu,
      playoutDelayExtensionID: config.video.playoutDelayExtensionID)
    history = RtpHistory(slots: 512, slotSize: config.mtu)
    packetBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: config.mtu + 64, alignment: 16)
  }

  deinit {
    packetBuffer.deallocate()
  }

  public func takeEvents() -> [PeerEvent] {
    let e = events
    events.removeAll()
    return e
  }

  /// The earliest time `poll` has work to do.
  public var nextDeadline: UInt64? {
    if state == .closed { return nil }
    var d: UInt64 = state == .checking ? createdAt + config.iceTimeoutNs : (ice.lastConsentAt ?? createdAt) + ice.consentTimeout
    if let t = dtls.nextTimeout { d = min(d, t) }
    if state == .connected { d = min(d, nextSenderReportAt) }
    return d
  }

  /// Handles one datagram that the loop routed to this session (a copy; tests use this form).
  public func receive(_ datagram: [UInt8], from: SocketAddress, now: UInt64,
                      send: (UnsafeRawBufferPointer, SocketAddress) -> Void) {
    var copy = datagram
    copy.withUnsafeMutableBytes { receive($0, from: from, now: now, send: send) }
  }

  /// Handles one datagram in the loop's receive buffer, which it may overwrite: SRTCP is
  /// authenticated and decrypted in place, so the steady-state path (receiver reports, NACKs)
  /// copies nothing; so do consent checks (STUN Binding requests that succeed, answered in place
  /// from `packetBuffer`). Other STUN and DTLS (the handshake) are copied out: they are rare.
  public func receive(_ datagram: UnsafeMutableRawBufferPointer, from: SocketAddress, now: UInt64,
                      send: (UnsafeRawBufferPointer, SocketAddress) -> Void) {
    guard state != .closed else { return }
    switch DatagramKind.classify(UnsafeRawBufferPointer(datagram)) {
    case .stun:
      let reply = packetBuffer  // (free here: the send path fills it only within sendFrame/retransmit)
      switch ice.receiveInPlace(UnsafeRawBufferPointer(datagram), from: from, now: now, reply: reply) {
      case .answered(let length, let event):
        send(UnsafeRawBufferPointer(rebasing: reply[0..<length]), from)
        afterStun(event: event, failed: false, now: now, send: send)
      case .notHandled:
        receiveStun(Array(datagram), from: from, now: now, send: send)
      }
    case .dtls:
      guard from == remote || ice.selected == from || ice.lastAuthenticatedSource == from else {
        stats.badDatagrams += 1
        return
      }
      dtls.receive(Array(datagram), now: now)
      pumpDtls(now: now, send: send)
    case .rtcp: receiveRtcp(datagram, from: from, now: now, send: send)
    case .rtp, .unknown: stats.badDatagrams += 1
    }
  }

  func receiveStun(_ datagram: [UInt8], from: SocketAddress, now: UInt64,
                   send: (UnsafeRawBufferPointer, SocketAddress) -> Void) {
    let out = ice.receive(datagram, from: from, now: now)
    if let r = out.response {
      r.withUnsafeBytes { send($0, from) }
    }
    afterStun(event: out.event, failed: out.error != nil, now: now, send: send)
  }

  func afterStun(event: IceEvent?, failed: Bool, now: UInt64, send: (UnsafeRawBufferPointer, SocketAddress) -> Void) {
    if failed { stats.badDatagrams += 1 }
    if case .selected(let addr)? = event, addr != remote {
      remote = addr
      events.append(.remoteAddressChanged(addr))
    }
    if remote == nil, let a = ice.lastAuthenticatedSource {
      remote = a
      events.append(.remoteAddressChanged(a))
    }
    if state == .checking, ice.lastAuthenticatedSource != nil {
      // First authenticated check: ICE works, start the DTLS client handshake.
      setState(.handshaking)
      dtls.start(now: now)
      pumpDtls(now: now, send: send)
    }
  }

  func pumpDtls(now: UInt64, send: (UnsafeRawBufferPointer, SocketAddress) -> Void) {
    if let to = remote {
      for d in dtls.takeOutgoing() { d.withUnsafeBytes { send($0, to) } }
    } else {
      _ = dtls.takeOutgoing()
    }
    for e in dtls.takeEvents() {
      switch e {
      case .connected(let keys):
        do {
          srtp = try SrtpSession(localKey: keys.localKey, localSalt: keys.localSalt,
            remoteKey: keys.remoteKey, remoteSalt: keys.remoteSalt)
        } catch {
          close(.srtpFailed(error), now: now, send: send)
          return
        }
        setState(.connected)
        waitingForKeyframe = true
        nextSenderReportAt = now
        events.append(.keyframeNeeded(reason: "viewer joined"))
      case .failed(let err):
        close(.dtlsFailed(err), now: now, send: send)
        return
      case .closed:
        close(.dtlsClosed, now: now, send: send)
        return
      case .data:
        break  // browsers send no application data on a media-only session
      }
    }
  }

  func receiveRtcp(_ datagram: UnsafeMutableRawBufferPointer, from: SocketAddress, now: UInt64,
                   send: (UnsafeRawBufferPointer, SocketAddress) -> Void) {
    guard let srtp else { stats.badDatagrams += 1; return }
    let plainLength: Int
    do { plainLength = try srtp.unprotectRtcp(datagram, length: datagram.count) } catch {
      stats.badDatagrams += 1
      return
    }
    let plain = UnsafeRawBufferPointer(rebasing: datagram[0..<plainLength])
    // Authenticated SRTCP from the nominated address keeps the session alive for viewers that
    // send no consent checks (see IceLiteAgent.authenticatedMedia).
    if ice.authenticatedMedia(from: from, now: now) { stats.rtcpLiveness += 1 }
    // read in place (RTCP comes from every viewer all the time: nothing is allocated)
    do throws(RtcpError) {
      try forEachRtcpPacket(plain) { p in
        switch p {
        case .pli:
          stats.plis += 1
          events.append(.keyframeNeeded(reason: "PLI"))
        case .fir:
          stats.firs += 1
          events.append(.keyframeNeeded(reason: "FIR"))
        case .nack(_, _, let entries):
          stats.nacks += 1
          retransmit(entries.lostSequences, send: send)
        case .receiverReport(_, let blocks):
          for i in 0..<blocks.count {
            let b = blocks.reportBlock(i)
            guard b.ssrc == config.ssrc else { continue }
            stats.fractionLost = b.fractionLost
            stats.jitter = b.jitter
          }
        default: break
        }
      }
    } catch {
      stats.badDatagrams += 1
      return
    }
    stats.rtcpReceived += 1
  }

  func retransmit<S: Sequence<UInt16>>(_ sequences: S, send: (UnsafeRawBufferPointer, SocketAddress) -> Void) {
    guard let srtp, let to = remote else { return }
    let buf = packetBuffer
    for seq in sequences.prefix(64) {
      let len: Int? = history.withPacket(sequence: seq) { p -> Int in
        buf.baseAddress!.copyMemory(from: p.baseAddress!, byteCount: p.count)
        return p.count
      }
      guard let len else { continue }
      guard let protected = try? srtp.protectRtp(buf, length: len) else { continue }
      send(UnsafeRawBufferPointer(rebasing: buf[0..<protected]), to)
      stats.retransmissions += 1
    }
  }

  /// Sends one encoded access unit (Annex B). Inter frames are held back until the viewer has
  /// had a keyframe.
  public func sendFrame(_ accessUnit: UnsafeRawBufferPointer, captureTimeNs: UInt64, isKeyframe: Bool,
                        send: (UnsafeRawBufferPointer, SocketAddress) -> Void) {
    guard state == .connected, let srtp, let to = remote else { return }
    if waitingForKeyframe {
      guard isKeyframe else { return }
      waitingForKeyframe = false
    }
    let base = timestampBaseNs ?? captureTimeNs
    timestampBaseNs = base
    let ts = rtpTimestamp90k(captureNs: captureTimeNs, baseNs: base, offset: config.timestampOffset)
    let buf = packetBuffer
    var failed = false
    packetizer.packetize(accessUnit: accessUnit, timestamp: ts,
                         buffer: UnsafeMutableRawBufferPointer(rebasing: buf[0..<config.mtu])) { length, _ in
      if failed { return }
      history.store(UnsafeRawBufferPointer(rebasing: buf[0..<length]))
      guard let n = try? srtp.protectRtp(buf, length: length) else { failed = true; return }
      send(UnsafeRawBufferPointer(rebasing: buf[0..<n]), to)
      stats.packetsSent += 1
      stats.bytesSent += UInt64(n)
    }
    stats.framesSent += 1
    if failed { events.append(.keyframeNeeded(reason: "SRTP protect failed")); waitingForKeyframe = true }
  }

  /// Timers: ICE timeout and consent, DTLS retransmission, RTCP sender reports.
  public func poll(now: UInt64, unixNs: UInt64, send: (UnsafeRawBufferPointer, SocketAddress) -> Void) {
    guard state != .closed else { return }
    if state == .checking {
      if now >= createdAt + config.iceTimeoutNs { close(.iceTimeout, now: now, send: send) }
      return
    }
    if ice.consentExpired(now: now, startedAt: createdAt) {
      close(.consentExpired, now: now, send: send)
      return
    }
    if let t = dtls.nextTimeout, now >= t {
      dtls.handleTimeout(now: now)
      pumpDtls(now: now, send: send)
      if state == .closed { return }
    }
    if state == .connected, now >= nextSenderReportAt {
      nextSenderReportAt = now + config.senderReportIntervalNs
      sendSenderReport(now: now, unixNs: unixNs, send: send)
    }
  }

  func sendSenderReport(now: UInt64, unixNs: UInt64, send: (UnsafeRawBufferPointer, SocketAddress) -> Void) {
    guard let srtp, let to = remote, let base = timestampBaseNs else { return }
    // RTP time of "now" on the same clock as the frames' capture times.
    let rtpNow = rtpTimestamp90k(captureNs: max(now, base), baseNs: base, offset: config.timestampOffset)
    rtcpWriter.reset()
    writeSenderReport(ssrc: config.ssrc, ntpTime: ntpTimestamp(unixNs: unixNs), rtpTimestamp: rtpNow,
      packetCount: packetizer.packetCount, octetCount: packetizer.octetCount, cname: config.cname,
      into: &rtcpWriter)
    let len = rtcpWriter.count
    guard len + 32 <= packetBuffer.count else { return }
    let buf = packetBuffer
    rtcpWriter.bytes.withUnsafeBytes { buf.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: len) }
    guard let n = try? srtp.protectRtcp(buf, length: len) else { return }
    send(UnsafeRawBufferPointer(rebasing: buf[0..<n]), to)
  }

  /// Ends the session (sends DTLS close_notify if the handshake got that far).
  public func close(_ reason: PeerCloseReason, now: UInt64, send: (UnsafeRawBufferPointer, SocketAddress) -> Void) {
    guard state != .closed else { return }
    if state == .handshaking || state == .connected, reason != .dtlsClosed {
      dtls.close()
      if let to = remote { for d in dtls.takeOutgoing() { d.withUnsafeBytes { send($0, to) } } }
    }
    closeReason = reason
    srtp = nil
    setState(.closed)
    events.append(.closed(reason))
  }

  func setState(_ s: PeerState) {
    guard s != state else { return }
    state = s
    events.append(.stateChanged(s))
  }
}
