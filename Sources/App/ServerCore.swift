import DTLS
import HTTP
import ICE
import Peer
import SDP
import Wire

/// The source as /status shows it: what it is, its state, the last known picture format and the
/// capture thread's counters.
public struct SourceStatus: Sendable {
  public var spec = ""
  public var state = SourceState.starting
  /// The configured format until the source reports its own.
  public var format = SourceFormat(width: 0, height: 0, fps: 0)
  public var framesCaptured: UInt64 = 0
  public var framesEncoded: UInt64 = 0
  public var keyframes: UInt64 = 0
  public var bytesEncoded: UInt64 = 0
  public var framesDropped: UInt64 = 0
  /// Frames captured while nobody watched (not encoded).
  public var framesIdle: UInt64 = 0
  public var bitrate = 0
  public init() {}
}

/// The server without its sockets: HTTP routes, the session table, routing of datagrams on the
/// shared UDP port, fan-out of encoded frames and timers. The event loop feeds it requests,
/// datagrams, frames and `now`, and sends what comes out of `send`.
public final class ServerCore {
  public typealias Send = (UnsafeRawBufferPointer, SocketAddress) -> Void

  public let options: ServeOptions
  let certificate: DtlsCertificate
  let random: DtlsRandom
  /// Advertised host candidates (IP + the UDP port).
  public var candidates: [SocketAddress]
  public private(set) var sessions: [String: Peer] = [:]
  var sessionOrder: [String] = []
  var byUfrag: [String: String] = [:]
  var byAddress: [SocketAddress: String] = [:]
  /// The address (host part) each session's offer came from, for the per-address viewer limit.
  var sessionOrigin: [String: SocketAddress] = [:]
  /// What /metrics reports (Metrics.swift); the encode times come from the capture thread.
  public var metrics = MetricsCounters()
  public var encodeTimes: () -> EncodeTimes = { EncodeTimes() }
  /// Per-stage frame times over the last seconds (StageTimes.swift), taken by the runtime.
  public var stages = StageWindow()
  /// Wall-clock start (Unix ns), for rtcam_process_start_time_seconds.
  public var startedUnixNs: UInt64 = 0
  /// Access control (App/Auth.swift) and per-address limits (App/AddressLimits.swift).
  var authenticator: Authenticator
  var authFailures: WindowCounter
  var offers: WindowCounter
  var snapshots: WindowCounter
  /// The JPEG routes' counters, kept current by the runtime from its connection table.
  public var stillStatus = StillStatus()
  /// Called when some viewer needs a keyframe (joined, PLI, FIR); the runtime passes it to the
  /// capture thread.
  public var requestKeyframe: () -> Void = {}
  public var sourceStatus = SourceStatus()
  /// The --forward targets' cores (the runtime drives them; /status and /metrics show them).
  public var forwarders: [Forwarder] = []
  let startedAt: UInt64
  /// Called with each log line the core wants written.
  /// The message is an autoclosure: it is built only if the sink writes it.
  public var logger: (LogLevel, @autoclosure () -> String) -> Void = { _, _ in }

  public init(options: ServeOptions, certificate: DtlsCertificate, random: DtlsRandom,
              candidates: [SocketAddress], now: UInt64) {
    self.options = options
    self.certificate = certificate
    self.random = random
    self.candidates = candidates
    self.startedAt = now
    authenticator = Authenticator(config: options.auth)
    authFailures = WindowCounter(limit: options.limits.authFailuresPerMinute)
    offers = WindowCounter(limit: options.limits.offersPerMinute)
    snapshots = WindowCounter(limit: options.limits.snapshotsPerMinute)
  }

  // MARK: HTTP

  /// Answers one HTTP request that passed access control (see `handle`, ServerAccess.swift).
  func route(_ req: HttpRequest, from origin: SocketAddress, now: UInt64, send: Send) -> HttpResponse {
    let path = req.path
    if path == "/" || path == "/index.html" {
      guard req.method == "GET" || req.method == "HEAD" else { return methodNotAllowed("GET") }
      var r = HttpResponse(status: 200, contentType: "text/html; charset=utf-8", body: Array(viewerPageHTML.utf8))
      r.setHeader("Cache-Control", "no-cache")
      return r
    }
    if path == "/favicon.ico" {
      return HttpResponse(status: 204, headers: [("Cache-Control", "max-age=86400")])
    }
    if path == "/metrics" {
      guard req.method == "GET" || req.method == "HEAD" else { return methodNotAllowed("GET") }
      return HttpResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8",
        body: Array(metricsText().utf8))
    }
    if path == "/status" {
      guard req.method == "GET" || req.method == "HEAD" else { return methodNotAllowed("GET") }
      var r = HttpResponse.json(200, statusJSON(now: now))
      r.addCors()
      return r
    }
    if path == "/whep" || path == "/offer" {
      if req.method == "OPTIONS" {
        var r = HttpResponse.corsPreflight(allowMethods: "POST, OPTIONS")
        r.setHeader("Accept-Post", "application/sdp")
        return r
      }
      guard req.method == "POST" else { return methodNotAllowed("POST, OPTIONS") }
      var r = path == "/whep" ? postWhep(req, origin: origin, now: now) : postOfferJSON(req, origin: origin, now: now)
      r.addCors()
      return r
    }
    if path.hasPrefix("/whep/") || path.hasPrefix("/session/") {
      let id = String(path.utf8.split(separator: UInt8(ascii: "/")).last.map { String(decoding: $0, as: UTF8.self) } ?? "")
      if req.method == "OPTIONS" { return HttpResponse.corsPreflight(allowMethods: "DELETE, PATCH, OPTIONS") }
      if req.method == "PATCH" {
        var r = HttpResponse.error(405, code: "TRICKLE_NOT_SUPPORTED",
          message: "rtcam is ICE-lite and needs no trickled candidates")
        r.setHeader("Allow", "DELETE, OPTIONS")
        r.addCors()
        return r
      }
      guard req.method == "DELETE" else { return methodNotAllowed("DELETE") }
      var r: HttpResponse
      if let peer = sessions[id] {
        peer.close(.hangUp, now: now, send: send)
        collectEvents(peer)
        removeClosed()
        r = HttpResponse(status: 200, contentType: "application/json", body: Array("{\"ended\":\"\(jsonEscape(id))\"}".utf8))
      } else {
        r = .error(404, code: "SESSION_NOT_FOUND", message: "no session with id '\(id)'")
      }
      r.addCors()
      return r
    }
    return .error(404, code: "NOT_FOUND", message: "no such page: \(path)")
  }

  func methodNotAllowed(_ allow: String) -> HttpResponse {
    var r = HttpResponse.error(405, code: "METHOD_NOT_ALLOWED", message: "use " + allow)
    r.setHeader("Allow", allow)
    return r
  }

  func postWhep(_ req: HttpRequest, origin: SocketAddress, now: UInt64) -> HttpResponse {
    let ctype = (req.header("content-type") ?? "").asciiLowercased
    guard ctype.hasPrefix("application/sdp") else {
      return .error(415, code: "UNSUPPORTED_MEDIA_TYPE", message: "POST /whep takes an application/sdp offer")
    }
    switch createSession(offerText: String(decoding: req.body, as: UTF8.self), origin: origin, now: now) {
    case .failure(let e): return e
    case .success(let (id, sdp)):
      var r = HttpResponse(status: 201, contentType: "application/sdp", body: Array(sdp.utf8))
      r.setHeader("Location", "/whep/" + id)
      r.setHeader("Access-Control-Expose-Headers", "Location")
      return r
    }
  }

  func postOfferJSON(_ req: HttpRequest, origin: SocketAddress, now: UInt64) -> HttpResponse {
    let json: JsonValue
    do { json = try parseJson(req.body) } catch {
      return .error(400, code: "BAD_JSON", message: "the body is not valid JSON: " + error.message)
    }
    guard let sdp = json["sdp"]?.stringValue else {
      return .error(400, code: "BAD_OFFER", message: "expected {\"type\":\"offer\",\"sdp\":\"...\"}")
    }
    if let t = json["type"]?.stringValue, t != "offer" {
      return .error(400, code: "BAD_OFFER", message: "type must be \"offer\", not \"\(t)\"")
    }
    switch createSession(offerText: sdp, origin: origin, now: now) {
    case .failure(let e): return e
    case .success(let (id, answer)):
      var w = JsonWriter()
      w.beginObject()
      w.key("type"); w.string("answer")
      w.key("sdp"); w.string(answer)
      w.key("session"); w.string(id)
      w.endObject()
      return .json(200, w.text)
    }
  }

  enum CreateResult: Sendable {
    case success((String, String))
    case failure(HttpResponse)
  }

  func createSession(offerText: String, origin: SocketAddress, now: UInt64) -> CreateResult {
    removeClosed()
    guard sessions.count < options.maxViewers else {
      return .failure(.error(503, code: "TOO_MANY_VIEWERS",
        message: "rtcam already serves \(options.maxViewers) viewers (--max-viewers)"))
    }
    let key = addressKey(origin)
    let fromHere = sessionOrigin.values.filter { $0 == key }.count
    let perAddress = min(options.limits.viewersPerAddress, options.maxViewers)
    guard fromHere < perAddress else {
      return .failure(.error(429, code: "TOO_MANY_VIEWERS_FROM_ADDRESS",
        message: "\(key.ipString) already holds \(perAddress) viewer sessions (--max-viewers-per-ip)"))
    }
    let offer: SdpOffer
    do { offer = try SdpOffer.parse(offerText) } catch {
      return .failure(.error(error.httpStatus, code: error.code, message: error.message))
    }
    let r = random.bytes(64)
    let id = Hex.encode(Array(r[0..<8]))
    let ice = IceCredentials(random: Array(r[8..<48]))
    let ssrc = loadU32(r, 48) | 1
    let seq = loadU16(r, 52) & 0x7FFF
    let tsOffset = loadU32(r, 56)
    let params = AnswerParameters(sessionID: UInt64(loadU32(r, 60)) << 16 | UInt64(seq), iceUfrag: ice.ufrag,
      icePassword: ice.password, fingerprintSHA256: certificate.fingerprintSDP, candidates: candidates,
      ssrc: ssrc, cname: "rtcam", streamID: "rtcam", trackID: "camera")
    let answer: SdpAnswer
    do { answer = try makeAnswer(offer: offer, params) } catch {
      return .failure(.error(error.httpStatus, code: error.code, message: error.message))
    }
    let config = PeerConfig(video: answer.video, localIce: ice, ssrc: ssrc, cname: "rtcam",
      initialSequence: seq, timestampOffset: tsOffset)
    let peer: Peer
    do {
      peer = try Peer(id: id, config: config, certificate: certificate, random: random, now: now)
    } catch {
      logger(.error, "session \(id): cannot start DTLS: \(error.detail)")
      return .failure(.error(500, code: error.code, message: error.detail))
    }
    sessions[id] = peer
    sessionOrder.append(id)
    sessionOrigin[id] = key
    metrics.sessionsOpened += 1
    byUfrag[ice.ufrag] = id
    logger(.info, "session \(id): offer accepted (H.264 pt \(answer.video.payloadType), mid \(answer.video.mid)); waiting for ICE")
    return .success((id, answer.sdp))
  }

  // MARK: UDP

  /// Routes one datagram (a copy; tests use this form).
  public func receiveDatagram(_ d: [UInt8], from: SocketAddress, now: UInt64, send: Send) {
    var copy = d
    copy.withUnsafeMutableBytes { receiveDatagram($0, from: from, now: now, send: send) }
  }

  /// Routes one datagram from the shared UDP port: STUN by our ufrag, the rest by source address.
  /// `d` is the loop's receive buffer; the session may decrypt SRTCP in it in place.
  public func receiveDatagram(_ d: UnsafeMutableRawBufferPointer, from: SocketAddress, now: UInt64, send: Send) {
    let peer: Peer?
    switch DatagramKind.classify(UnsafeRawBufferPointer(d)) {
    case .stun:
      guard let ufrag = stunLocalUfrag(UnsafeRawBufferPointer(d)), let id = byUfrag[ufrag] else {
        logger(.debug, "STUN from \(from.description) for no session: dropped")
        return
      }
      peer = sessions[id]
    case .dtls, .rtcp, .rtp:
      guard let id = byAddress[from] else { return }
      peer = sessions[id]
    case .unknown:
      return
    }
    guard let peer else { return }
    peer.receive(d, from: from, now: now, send: send)
    collectEvents(peer)
  }

  // MARK: media

  /// Fans one encoded access unit out to every connected viewer.
  public func sendFrame(_ au: UnsafeRawBufferPointer, captureTimeNs: UInt64, isKeyframe: Bool, send: Send) {
    for id in sessionOrder {
      guard let p = sessions[id], p.state == .connected else { continue }
      p.sendFrame(au, captureTimeNs: captureTimeNs, isKeyframe: isKeyframe, send: send)
      collectEvents(p)
    }
  }

  /// Viewers whose media is flowing.
  public var connectedCount: Int {
    var n = 0
    for (_, p) in sessions where p.state == .connected { n += 1 }
    return n
  }

  // MARK: timers

  public var nextDeadline: UInt64? {
    var d: UInt64? = nil
    for (_, p) in sessions {
      if let t = p.nextDeadline { d = min(d ?? t, t) }
    }
    return d
  }

  public func poll(now: UInt64, unixNs: UInt64, send: Send) {
    for id in sessionOrder {
      guard let p = sessions[id] else { continue }
      if let t = p.nextDeadline, now >= t {
        p.poll(now: now, unixNs: unixNs, send: send)
        collectEvents(p)
      }
    }
    removeClosed()
  }

  /// Ends every session (shutdown).
  public func closeAll(now: UInt64, send: Send) {
    for id in sessionOrder {
      guard let p = sessions[id] else { continue }
      p.close(.shutdown, now: now, send: send)
      collectEvents(p)
    }
    removeClosed()
  }

  func collectEvents(_ p: Peer) {
    for e in p.takeEvents() {
      switch e {
      case .stateChanged(let s):
        if s != .closed { logger(.info, "session \(p.id): \(s.name)" + (p.remote.map { " (\($0.description))" } ?? "")) }
      case .keyframeNeeded(let why):
        logger(.debug, "session \(p.id): keyframe requested (\(why))")
        requestKeyframe()
      case .remoteAddressChanged(let a):
        byAddress[a] = p.id
        logger(.debug, "session \(p.id): media address \(a.description)")
      case .closed(let reason):
        metrics.sessionsClosed[reason.code, default: 0] += 1
        metrics.addClosed(p.stats)
        let level: LogLevel = reason == .hangUp || reason == .shutdown ? .info : .warn
        logger(level, "session \(p.id): closed, \(reason.code): \(reason.message)")
      }
    }
  }

  /// Forgets closed sessions. Cheap when none closed (it runs every loop turn): only a count.
  func removeClosed() {
    var anyClosed = false
    for (_, p) in sessions where p.state == .closed {
      anyClosed = true
      break
    }
    guard anyClosed else { return }
    var kept: [String] = []
    for id in sessionOrder {
      guard let p = sessions[id] else { continue }
      if p.state == .closed {
        sessions[id] = nil
        sessionOrigin[id] = nil
        byUfrag[p.config.localIce.ufrag] = nil
        for (addr, owner) in byAddress where owner == id { byAddress[addr] = nil }
      } else {
        kept.append(id)
      }
    }
    sessionOrder = kept
  }

  // MARK: source

  /// The capture thread reported a new state. A source that failed for good is logged here (a
  /// camera being retried logs its own changes).
  public func sourceChanged(_ state: SourceState) {
    if case .running(let f) = state { sourceStatus.format = f }
    if let e = state.error, sourceStatus.state.error?.code != e.code {
      metrics.sourceFaults[e.code, default: 0] += 1
    }
    if case .failed(let e) = state, sourceStatus.state != state {
      logger(.error, "source \(sourceStatus.spec) failed: \(e.code): \(e.message) (the page is still served)")
    }
    sourceStatus.state = state
  }
}
