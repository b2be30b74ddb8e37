// The RTSP server in the core: connections on --rtsp-port, their requests (with the same
// credentials, failure counting and per-address limits as HTTP), their sessions, reaping, sender
// reports, and RTCP from UDP clients. The frames reach the clients through the fan-out
// (FanOut.swift), cut once for every sink.
import DTLS
import Peer
import RTP
import RTSP
import Wire

extension ServerCore {
  /// The client on connection `id`, if it is an RTSP connection.
  func rtspClient(_ id: ConnectionID) -> RtspClient? {
    var i = 0
    while i < rtspClients.count {
      if rtspClients[i].id == id { return rtspClients[i] }
      i += 1
    }
    return nil
  }

  /// Whether the runtime should read connection `id` (RTSP connections are always read: RTCP and
  /// keep-alives come on them).
  public func wantsInput(_ id: ConnectionID) -> Bool {
    rtspClient(id) != nil || http.wantsInput(id)
  }

  /// Playing RTSP clients (they count as consumers of the H.264 stream).
  public var rtspPlaying: Int {
    // (index loops here and in rtspDeadline: both run after every frame, and an unoptimised
    // build's array iterator allocates)
    var n = 0
    var i = 0
    while i < rtspClients.count {
      if rtspClients[i].playing { n += 1 }
      i += 1
    }
    return n
  }

  /// RTSP clients connected now.
  public var rtspClientCount: Int { rtspClients.count }

  func rtspAccepted(_ id: ConnectionID, peer: SocketAddress, now: UInt64) {
    let limits = options.rtsp.limits
    let key = addressKey(peer)
    var fromPeer = 0
    for c in rtspClients where addressKey(c.peer) == key { fromPeer += 1 }
    if rtspClients.count >= limits.maxClients || fromPeer >= options.limits.connectionsPerAddress {
      log(.warn, "RTSP \(key.ipString): RTSP_TOO_MANY_CLIENTS: \(rtspClients.count) connected, \(fromPeer) from this "
        + "address (limits \(limits.maxClients), --max-connections-per-ip \(options.limits.connectionsPerAddress)): refused")
      status.metrics.rtspRefused += 1
      emit(.connection(.close(id)))
      return
    }
    let r = random.bytes(18)
    var sessionConfig = RtspSessionConfig()
    sessionConfig.timeoutSeconds = options.rtsp.timeoutSeconds
    sessionConfig.serverPorts = (options.rtsp.port, options.rtsp.port + 1)
    let stream = RtspStreamConfig(ssrc: loadU32(r, 8) | 1, initialSequence: loadU16(r, 12) & 0x7FFF,
      timestampOffset: loadU32(r, 14))
    rtspClients.append(RtspClient(id: id, peer: peer, session: RtspSession(id: Hex.encode(Array(r[0..<8])), config: sessionConfig, now: now),
      streamConfig: stream, now: now))
    status.metrics.rtspConnections += 1
    log(.debug, "RTSP \(peer.description): connected (fd \(id))")
  }

  func rtspReceived(_ c: RtspClient, _ bytes: UnsafeRawBufferPointer, now: UInt64) {
    guard c.input.receive(bytes) else {
      closeRtsp(c, code: "RTSP_INPUT_OVERFLOW", why: "sent \(c.input.buffered + bytes.count) bytes without reading answers")
      return
    }
    while rtspClient(c.id) != nil {
      switch c.input.next() {
      case .needMore: return
      case .error(let e):
        status.metrics.rtspBadRequests += 1
        if e.status > 0 {
          let resp = RtspResponse(status: e.status, cseq: e.cseq, headers: [RtspHeader("Connection", "close")])
          emit(.connection(.write(c.id, resp.bytes)))
        }
        closeRtsp(c, code: e.code, why: e.message)
        return
      case .interleaved(let channel, let payload):
        guard case .interleaved(_, let rtcp)? = c.sender?.delivery, channel == rtcp, isRtcp(payload) else {
          status.metrics.rtspBadRequests += 1
          closeRtsp(c, code: "RTSP_BAD_INTERLEAVED", why: "an interleaved frame of \(payload.count) bytes on channel "
            + "\(channel) that is no RTCP report on the session's RTCP channel")
          return
        }
        c.rtcpReceived += 1
        c.session.heard(now: now)
      case .request(let r):
        handleRtspRequest(c, r, now: now)
      }
    }
  }

  /// An RTCP packet's first header: version 2, a packet type of 200...206 (RFC 3550, RFC 4585).
  func isRtcp(_ p: [UInt8]) -> Bool { p.count >= 8 && p[0] >> 6 == 2 && p[1] >= 200 && p[1] <= 206 }

  func handleRtspRequest(_ c: RtspClient, _ r: RtspRequest, now: UInt64) {
    status.metrics.rtspRequests += 1
    if gate.authenticator.config.isEnabled && r.method != .options {
      let key = addressKey(c.peer)
      if let wait = gate.authFailures.blockedFor(key, now: now) {
        rtspRespond(c, RtspResponse(status: 503, cseq: r.cseq,
          headers: [RtspHeader("Retry-After", String(retryAfterSeconds(wait)))]))
        log(.warn, "RTSP \(key.ipString): TOO_MANY_AUTH_FAILURES: refused for \(retryAfterSeconds(wait)) s")
        return
      }
      switch gate.authenticator.authorize(r.header("authorization"), offerEndpoint: true) {
      case .allowed: break
      case .missing, .rejected:
        let sent = r.header("authorization") != nil
        if sent {
          gate.authFailures.record(key, now: now)
          status.metrics.authFailures += 1
          log(.warn, "RTSP \(key.ipString) \(r.uri): wrong credentials")
        }
        var headers: [RtspHeader] = []
        for ch in gate.authenticator.challenges(offerEndpoint: true) { headers.append(RtspHeader("WWW-Authenticate", ch)) }
        rtspRespond(c, RtspResponse(status: 401, cseq: r.cseq, headers: headers))
        return
      }
    }
    let sender = c.sender
    let sdp = r.method == .describe
      ? rtspDescribeSdp(sessionId: c.session.id, sps: parameterSets.sps, pps: parameterSets.pps) : []
    let state = RtspStreamState(sdp: sdp, nextSequence: sender?.nextSequence ?? c.streamConfig.initialSequence,
      nextTimestamp: sender?.nextTimestamp(now: now) ?? c.streamConfig.timestampOffset, ssrc: c.streamConfig.ssrc)
    let actions = c.session.handle(r, authorized: true, stream: state, now: now)
    if case .ready(let t) = c.session.phase, c.sender?.delivery != RtspDelivery(t) {
      c.sender = RtspSender(config: c.streamConfig, delivery: RtspDelivery(t))
    }
    for a in actions {
      switch a {
      case .respond(let resp): rtspRespond(c, resp)
      case .play:
        guard let s = c.sender else { continue }
        s.skipToKeyframe()
        c.nextSenderReportAt = now
        status.metrics.rtspPlays += 1
        log(.info, "RTSP \(c.peer.description): playing over \(c.transportName) (session \(c.session.id))")
        emit(.capture(.keyframe))
      case .pause:
        c.sender?.skipToKeyframe()
      case .close:
        closeRtsp(c, code: "TEARDOWN", why: "the client ended the session", level: .info)
      }
    }
    if r.method != .options, r.method != .describe, r.method != .getParameter {
      log(.debug, "RTSP \(c.peer.description): \(r.uri) CSeq \(r.cseq): \(c.phaseName)")
    }
  }

  func rtspRespond(_ c: RtspClient, _ resp: RtspResponse) {
    let bytes = resp.bytes
    c.backlog += bytes.count
    status.metrics.countRtspResponse(status: resp.status)
    emit(.connection(.write(c.id, bytes)))
  }

  /// Ends the client's connection (its last answer is written first).
  func closeRtsp(_ c: RtspClient, code: String, why: String, level: LogLevel = .warn, tellRuntime: Bool = true) {
    guard let i = rtspClients.firstIndex(where: { $0 === c }) else { return }
    rtspClients.remove(at: i)
    c.sender?.skipToKeyframe()  // the rest of a frame being fanned out is not sent
    log(level, "RTSP \(c.peer.description): closed, \(code): \(why)")
    if tellRuntime { emit(.connection(.close(c.id))) }
  }

  /// The connection's queued bytes were all written: the backlog is gone, and a client that
  /// skipped frames asks for a keyframe to go on with.
  func rtspFlushed(_ c: RtspClient) {
    c.backlog = 0
    if c.skippingSince != nil {
      c.skippingSince = nil
      if c.playing { emit(.capture(.keyframe)) }
    }
  }

  /// A datagram on the RTSP UDP ports (RTP: NAT keep-alives; RTCP: receiver reports) from a UDP
  /// client's address and one of its ports keeps its session alive; others are dropped.
  public func handleRtspDatagram(_ d: UnsafeRawBufferPointer, from: SocketAddress, now: UInt64) {
    latestNow = max(latestNow, now)
    for c in rtspClients {
      guard case .udp(let a, let b)? = c.sender?.delivery, c.peer.withPort(0) == from.withPort(0),
        Int(from.port) == a || Int(from.port) == b else { continue }
      c.rtcpReceived += 1
      c.session.heard(now: now)
      return
    }
    status.metrics.rtspStrayDatagrams += 1
  }

  /// Sender reports and reaping: a UDP client (or one not playing) silent for the session
  /// timeout is ended; so is an interleaved client whose connection has not drained for as long.
  func rtspTimeout(now: UInt64, unixNs: UInt64) {
    if let due = rtspKeyframeDue, now >= due {
      rtspKeyframeAskedAt = now
      emit(.capture(.keyframe))
    }
    let timeoutNs = UInt64(options.rtsp.timeoutSeconds) * 1_000_000_000
    var i = 0
    while i < rtspClients.count {
      let c = rtspClients[i]
      i += 1
      let interleavedPlaying = c.playing && !c.isUdp
      if interleavedPlaying, let s = c.skippingSince, now &- s > timeoutNs {
        closeRtsp(c, code: "RTSP_STALLED", why: "the client has not read its stream for \(options.rtsp.timeoutSeconds) s")
        i -= 1
        continue
      }
      if !interleavedPlaying, c.session.expired(now: now) {
        status.metrics.rtspReaped += 1
        closeRtsp(c, code: "RTSP_SESSION_TIMEOUT",
          why: "no request or RTCP report for \(options.rtsp.timeoutSeconds) s (the session's timeout)")
        i -= 1
        continue
      }
      guard c.playing, let s = c.sender, s.started, now >= c.nextSenderReportAt else { continue }
      c.nextSenderReportAt = now + options.rtsp.limits.senderReportIntervalNs
      if let bytes = s.senderReport(now: now, unixNs: unixNs), let to = c.destination(rtcp: true) {
        if case .rtspConnection = to { c.backlog += bytes.count }
        emit(.transmit(bytes, to: to))
      }
    }
  }

  /// When --rtsp-keyframe-interval next asks for a keyframe: the interval after the last one
  /// (and a second after its own last request, while the encoder has not answered); nil while no
  /// RTSP client plays.
  var rtspKeyframeDue: UInt64? {
    // recording needs keyframes too: segments start at one (2 s when the option is 0)
    let seconds = options.rtsp.keyframeIntervalSeconds > 0 ? options.rtsp.keyframeIntervalSeconds : (recordingOn ? 2 : 0)
    let interval = UInt64(seconds) * 1_000_000_000
    guard interval > 0, rtspPlaying > 0 || recordingOn else { return nil }
    return max(lastKeyframeAt &+ interval, rtspKeyframeAskedAt &+ ServerCore.rtspKeyframeRetryNs)
  }

  /// How long an interval keyframe request waits for its keyframe before asking again.
  static let rtspKeyframeRetryNs: UInt64 = 1_000_000_000

  /// The earliest time an RTSP client has a timer due.
  var rtspDeadline: UInt64? {
    var d: UInt64? = rtspKeyframeDue
    let timeoutNs = UInt64(options.rtsp.timeoutSeconds) * 1_000_000_000
    var i = 0
    while i < rtspClients.count {
      let c = rtspClients[i]
      i += 1
      var t: UInt64
      if c.playing && !c.isUdp {
        t = c.skippingSince.map { $0 &+ timeoutNs &+ 1 } ?? UInt64.max
      } else {
        t = c.session.lastHeard &+ timeoutNs &+ 1
      }
      if c.playing, let s = c.sender, s.started { t = min(t, c.nextSenderReportAt) }
      if t != UInt64.max { d = min(d ?? t, t) }
    }
    return d
  }
}
