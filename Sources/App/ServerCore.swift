import BWE
import DTLS
import HTTP
import ICE
import Peer
import RTP
import SDP
import Wire

/// The server without its sockets, threads or clock: HTTP connections and routes, the viewer
/// sessions, datagrams on the shared UDP port, the --forward targets, the fan-out of encoded
/// frames, status and metrics. The event loop reports what happened (`handle…`, with `now`) and
/// carries out what `pollOutput` returns, one output at a time until `.timeout`; it never
/// changes the core's state any other way.
public final class ServerCore {
  public let options: ServeOptions
  let certificate: DtlsCertificate
  let random: DtlsRandom
  /// Advertised host candidates (IP + the UDP port).
  public let candidates: [SocketAddress]
  public internal(set) var sessions = SessionTable()
  /// The --forward targets, in the order of `options.forward.targets`.
  public let forwards: [Forwarder]
  public internal(set) var http: HttpServer
  var gate: AccessGate
  /// What /status and /metrics show.
  public internal(set) var status: StatusModel

  var packetizer = H264Packetizer()
  /// The current frame, cut once for every sink.
  let frame: PacketizedFrame
  var fanOut = FanOut()
  /// RTSP clients, in connection order (CoreRtsp.swift).
  var rtspClients: [RtspClient] = []
  /// The stream's SPS and PPS, for DESCRIBE.
  var parameterSets = ParameterSets()
  /// When the last keyframe was handed to the core, and when RTSP's interval last asked for one.
  var lastKeyframeAt: UInt64 = 0
  var rtspKeyframeAskedAt: UInt64 = 0

  /// Logs and capture commands waiting for `pollOutput`.
  var queue: [CoreOutput] = []
  var queueHead = 0
  /// Some session or forward may have outputs (`pollOutput` then looks at each).
  var sessionsDirty = false
  var sessionCursor = 0
  var forwardsDirty = false
  var forwardCursor = 0
  /// The consumer count last told to the capture side.
  var lastConsumers = -1
  /// The temporal layers' measured rates and the rules for layers and the encoder's target.
  var layerPolicy: LayerPolicy
  let layerConfig: LayerPolicyConfig
  /// The encoder's target as last told to the capture side.
  public internal(set) var encoderTarget: EncoderTarget
  /// A viewer that gave feedback left: the target is chosen again once it is removed.
  var retargetAfterClose = false
  /// Frames since each receiver's layers were last chosen (`reviewLayers`).
  var framesSinceLayers = 0
  /// The time of the latest input (for what outputs decide while they are polled).
  var latestNow: UInt64

  /// - Parameters:
  ///   - forwards: the --forward targets' cores (the runtime opened their sockets, in this order).
  ///   - source: what the source is, as configured (its state and format follow as inputs).
  ///   - startedUnixNs: wall-clock start, for `rtcam_process_start_time_seconds`.
  ///   - maxFrameBytes: the largest access unit the encoder hands over (the frame ring's slot size).
  public init(options: ServeOptions, certificate: DtlsCertificate, random: DtlsRandom,
              candidates: [SocketAddress], forwards: [Forwarder] = [], source: SourceStatus = SourceStatus(),
              startedUnixNs: UInt64 = 0, maxFrameBytes: Int = 1 << 20, now: UInt64) {
    self.options = options
    self.certificate = certificate
    self.random = random
    self.candidates = candidates
    self.forwards = forwards
    var limits = HttpServerLimits()
    limits.connectionsPerAddress = options.limits.connectionsPerAddress
    limits.maxStreamClients = options.stills.maxStreamClients
    http = HttpServer(limits: limits)
    gate = AccessGate(options: options)
    status = StatusModel(source: source, startedAt: now, startedUnixNs: startedUnixNs)
    // payloads fit every sink's header within the MTU; the FU-A and STAP-A headers add a few
    // bytes per packet to the access unit's size
    let maxPayload = 1200 - RtpStream.maxHeaderLength
    let packets = maxFrameBytes / (maxPayload - 2) + 64
    frame = PacketizedFrame(maxPayload: maxPayload, byteCapacity: maxFrameBytes + packets * 4, packetCapacity: packets)
    fanOut.reserve(viewers: options.maxViewers, forwards: forwards.count, rtsp: options.rtsp.limits.maxClients)
    rtspClients.reserveCapacity(options.rtsp.limits.maxClients)
    layerConfig = LayerPolicyConfig(minBitrate: options.minBitrate, maxBitrate: options.maxBitrate,
      configuredBitrate: options.bitrate)
    layerPolicy = LayerPolicy(layerCount: options.temporalLayers)
    encoderTarget = EncoderTarget(bitrate: options.bitrate, reason: .noFeedback, changedAt: nil)
    latestNow = now
    queue.reserveCapacity(32)
  }

  // MARK: outputs

  /// What the core asks of the runtime, one at a time, until `.timeout`: logs and capture
  /// commands, HTTP connection actions, the sessions' and forwards' datagrams and the current
  /// frame's packets. Call it after every input until it returns `.timeout`.
  public func pollOutput() -> CoreOutput {
    while true {
      if queueHead < queue.count {
        let o = queue[queueHead]
        queueHead += 1
        if queueHead == queue.count { queue.removeAll(keepingCapacity: true); queueHead = 0 }
        return o
      }
      if http.hasPendingOutput {
        if let o = fromHttp(http.pollOutput()) { return o }
        continue
      }
      if sessionsDirty, let o = nextSessionOutput() { return o }
      if forwardsDirty, let o = nextForwardOutput() { return o }
      if queueHead < queue.count || sessionsDirty || forwardsDirty { continue }
      if fanOut.active {
        if let o = nextFramePacket() { return o }
        continue
      }
      if sessions.removeClosed() { sessionCursor = 0 }
      if retargetAfterClose {
        retargetAfterClose = false
        retarget(now: latestNow)
      }
      noteConsumers()
      if queueHead < queue.count { continue }
      return .timeout(nextDeadline)
    }
  }

  /// The earliest time `handleTimeout` has work to do.
  public var nextDeadline: UInt64? {
    var d = http.nextDeadline
    for p in sessions.order { if let t = p.nextDeadline { d = min(d ?? t, t) } }
    for f in forwards { if let t = f.nextDeadline { d = min(d ?? t, t) } }
    if let t = rtspDeadline { d = min(d ?? t, t) }
    return d
  }

  func emit(_ o: CoreOutput) { queue.append(o) }

  /// A log line at `level`, built only if the configured level shows it. Inlined where it is
  /// called, the rest one function (`emitLog`): not a copy of the whole per call site.
  @inline(__always)
  func log(_ level: LogLevel, _ message: @autoclosure () -> String) {
    if options.logLevel.shows(level) { emitLog(level, message()) }
  }

  @inline(never)
  func emitLog(_ level: LogLevel, _ message: String) { queue.append(.log(level, message)) }

  func fromHttp(_ o: HttpOutput) -> CoreOutput? {
    switch o {
    case .connection(let a): return .connection(a)
    case .log(let level, let m): return options.logLevel.shows(level) ? .log(level, m) : nil
    case .answered(let s):
      status.metrics.countResponse(status: s)
      return nil
    case .snapshotWanted(let q): return .capture(.snapshot(quality: q))
    case .streamClients(let n): return .capture(.streamClients(n))
    case .timeout: return nil
    }
  }

  /// Connected viewers and forwards: when the count changes, the capture side hears it.
  func noteConsumers() {
    let n = sessions.connectedCount + forwards.count + rtspPlaying + (recordingOn ? 1 : 0)
    guard n != lastConsumers else { return }
    lastConsumers = n
    emit(.capture(.consumers(n)))
  }

  // MARK: inputs

  /// Bytes, a new connection, a flushed output or a hang-up on an HTTP client connection.
  public func handleConnection(_ e: ConnectionEvent, now: UInt64) {
    latestNow = max(latestNow, now)
    switch e {
    case .accepted(let id, let peer, let secure): http.accepted(id, peer: peer, secure: secure, now: now)
    case .acceptedRtsp(let id, let peer): rtspAccepted(id, peer: peer, now: now)
    case .received(let id, let bytes):
      if let c = rtspClient(id) {
        rtspReceived(c, bytes, now: now)
        return
      }
      http.received(id, bytes, now: now) { req, peer, secure in respond(req, from: peer, secure: secure, now: now) }
    case .flushed(let id):
      if let c = rtspClient(id) { return rtspFlushed(c) }
      http.flushed(id)
    case .gone(let id):
      if let c = rtspClient(id) {
        return closeRtsp(c, code: "RTSP_CONNECTION_CLOSED", why: "the client closed the connection", level: .info,
          tellRuntime: false)
      }
      http.gone(id)
    }
    status.stills = http.stillStatus
  }

  /// One datagram from the shared UDP port: STUN by our ufrag, the rest by source address. `d`
  /// is the loop's receive buffer; the session may decrypt SRTCP in it in place.
  public func handleDatagram(_ d: UnsafeMutableRawBufferPointer, from: SocketAddress, now: UInt64) {
    latestNow = max(latestNow, now)
    let peer: Peer?
    let bytes = UnsafeRawBufferPointer(d)
    switch DatagramKind.classify(bytes) {
    case .stun:
      guard let ufrag = stunLocalUfrag(bytes), let p = sessions.session(ufrag: ufrag) else {
        log(.debug, "STUN from \(from.description) for no session: dropped")
        return
      }
      peer = p
    case .dtls, .rtcp, .rtp: peer = sessions.session(address: from)
    case .unknown: peer = nil
    }
    guard let peer else { return }
    peer.handleDatagram(d, from: from, now: now)
    sessionsDirty = true
  }

  /// One encoded access unit (Annex B) of temporal layer `temporalLayer`: cut once, then handed
  /// to every viewer and forward that takes it, packet by packet, through `pollOutput`.
  public func handleFrame(
    _ accessUnit: UnsafeRawBufferPointer, captureTimeNs: UInt64, isKeyframe: Bool, temporalLayer: UInt8 = 0, now: UInt64
  ) {
    latestNow = max(latestNow, now)
    if fanOut.active { finishFrame(now: now) }
    if isKeyframe {
      lastKeyframeAt = now
      if !rtspClients.isEmpty { parameterSets.take(from: accessUnit) }
    }
    frame.reset(captureTimeNs: captureTimeNs, isKeyframe: isKeyframe, temporalLayer: temporalLayer)
    packetizer.packetize(accessUnit: accessUnit, into: frame)
    layerPolicy.frameEncoded(layer: frame.temporalLayer, bytes: accessUnit.count, now: now, keyframe: isKeyframe)
    framesSinceLayers += 1
    if framesSinceLayers >= ServerCore.layerReviewFrames {
      // the measured layer rates move with the encoder even while no estimate changes (one that
      // sits at its floor sends no events): the layers are chosen again from them
      framesSinceLayers = 0
      reviewLayers(now: now)
    }
    if frame.truncated {
      log(.warn, "a frame of \(accessUnit.count) bytes did not fit the packet buffer: skipped, keyframe requested")
      emit(.capture(.keyframe))
      return
    }
    fanOut.begin(viewers: sessions.order, forwards: forwards, rtsp: rtspClients, frame: frame,
      maxBacklog: options.rtsp.limits.maxBacklogBytes, now: now)
  }

  /// A JPEG the capture side made for waiting snapshots or the MJPEG stream.
  public func handleJpeg(_ jpeg: [UInt8], quality: Int, forStream: Bool, now: UInt64) {
    http.jpegReady(jpeg, quality: quality, forStream: forStream, now: now)
    status.stills = http.stillStatus
  }

  /// RTCP from forward `index`'s target.
  public func handleForwardRtcp(_ index: Int, _ datagram: UnsafeRawBufferPointer, now: UInt64) {
    guard forwards.indices.contains(index) else { return }
    forwards[index].handleRtcp(datagram, now: now)
    forwardsDirty = true
  }

  /// What became of a datagram for a forward (`bytes` long).
  public func handleSendResult(_ r: ForwardSendResult, to: Destination, bytes: Int, now: UInt64) {
    guard case .forward(let index, let channel) = to, forwards.indices.contains(index) else { return }
    forwards[index].handleSendResult(r, channel: channel, bytes: bytes, now: now)
    forwardsDirty = true
  }

  /// Timers of every session, forward and connection that are due at `now`.
  public func handleTimeout(now: UInt64, unixNs: UInt64) {
    latestNow = max(latestNow, now)
    for p in sessions.order {
      guard let t = p.nextDeadline, now >= t else { continue }
      p.handleTimeout(now: now, unixNs: unixNs)
      sessionsDirty = true
    }
    for f in forwards {
      guard let t = f.nextDeadline, now >= t else { continue }
      f.handleTimeout(now: now, unixNs: unixNs)
      forwardsDirty = true
    }
    http.handleTimeout(now: now)
    rtspTimeout(now: now, unixNs: unixNs)
    status.stills = http.stillStatus
  }

  /// Ends every session and connection (shutdown).
  public func shutdown(now: UInt64) {
    for p in sessions.order { p.close(.shutdown, now: now) }
    sessionsDirty = true
    http.closeAll()
    while let c = rtspClients.last { closeRtsp(c, code: "SHUTDOWN", why: "rtcam is stopping", level: .debug) }
    status.stills = http.stillStatus
  }
}
