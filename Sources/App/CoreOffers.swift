// POST /whep and POST /offer: an SDP offer becomes a viewer session and its answer.
import BWE
import DTLS
import HTTP
import ICE
import Peer
import SDP
import Wire

extension ServerCore {
  func offerRoute(_ r: RoutedRequest, form: OfferForm, from: SocketAddress, now: UInt64) -> HttpResponse {
    if r.method == .options {
      var resp = HttpResponse.corsPreflight(allowMethods: "POST, OPTIONS")
      resp.setHeader("Accept-Post", "application/sdp")
      return resp
    }
    guard r.method == .post else { return methodNotAllowed("POST, OPTIONS") }
    var resp = form == .whep ? postWhep(r.request, origin: from, now: now) : postOfferJSON(r.request, origin: from, now: now)
    resp.addCors()
    return resp
  }

  func postWhep(_ req: HttpRequest, origin: SocketAddress, now: UInt64) -> HttpResponse {
    let ctype = (req.header("content-type") ?? "").asciiLowercased
    guard ctype.hasPrefix("application/sdp") else {
      return .error(415, code: "UNSUPPORTED_MEDIA_TYPE", message: "POST /whep takes an application/sdp offer")
    }
    switch createSession(offerText: String(decoding: req.body, as: UTF8.self), origin: origin, now: now) {
    case .refused(let e): return e
    case .created(let id, let sdp):
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
    case .refused(let e): return e
    case .created(let id, let answer):
      var w = JsonWriter()
      w.beginObject()
      w.key("type"); w.string("answer")
      w.key("sdp"); w.string(answer)
      w.key("session"); w.string(id)
      w.endObject()
      return .json(200, w.text)
    }
  }

  enum SessionResult {
    case created(id: String, answer: String)
    case refused(HttpResponse)
  }

  /// The limits, the offer, the answer and the session: its id, credentials, SSRC, first
  /// sequence number and timestamp offset all random.
  func createSession(offerText: String, origin: SocketAddress, now: UInt64) -> SessionResult {
    sessions.removeClosed()
    sessionCursor = 0
    guard sessions.count < options.maxViewers else {
      return .refused(.error(503, code: "TOO_MANY_VIEWERS",
        message: "rtcam already serves \(options.maxViewers) viewers (--max-viewers)"))
    }
    let key = addressKey(origin)
    let perAddress = min(options.limits.viewersPerAddress, options.maxViewers)
    guard sessions.count(from: key) < perAddress else {
      return .refused(.error(429, code: "TOO_MANY_VIEWERS_FROM_ADDRESS",
        message: "\(key.ipString) already holds \(perAddress) viewer sessions (--max-viewers-per-ip)"))
    }
    let offer: SdpOffer
    do { offer = try SdpOffer.parse(offerText) } catch {
      return .refused(.error(error.httpStatus, code: error.code, message: error.message))
    }
    let r = random.bytes(64)
    let id = Hex.encode(Array(r[0..<8]))
    let ice = IceCredentials(random: Array(r[8..<48]))
    let ssrc = loadU32(r, 48) | 1
    let seq = loadU16(r, 52) & 0x7FFF
    let params = AnswerParameters(sessionID: UInt64(loadU32(r, 60)) << 16 | UInt64(seq), iceUfrag: ice.ufrag,
      icePassword: ice.password, fingerprintSHA256: certificate.fingerprintSDP, candidates: candidates,
      ssrc: ssrc, cname: "rtcam", streamID: "rtcam", trackID: "camera")
    let answer: SdpAnswer
    do { answer = try makeAnswer(offer: offer, params) } catch {
      return .refused(.error(error.httpStatus, code: error.code, message: error.message))
    }
    // a viewer's estimate starts at the configured rate, at most 300 kbit/s (GCC's usual start:
    // a slow link is not flooded before the first feedback, and a fast one is reached within a
    // few seconds), or at the encoder's target when other receivers already set one (a viewer
    // joins the stream as it is, every layer, instead of ramping up through the layers; its own
    // pacer and queue bound keep a slow link from hurting the others); it goes up to
    // --max-bitrate and down to 100 kbit/s, below the encoder's floor (a link slower than what
    // the encoder makes there is matched with fewer layers)
    var start = min(options.bitrate, ServerCore.startEstimate)
    if encoderTarget.reason != .noFeedback { start = max(start, encoderTarget.bitrate) }
    let congestion = BandwidthEstimatorConfig(startBitrate: start,
      minBitrate: min(options.minBitrate, ServerCore.estimateFloor), maxBitrate: options.maxBitrate)
    let config = PeerConfig(video: answer.video, localIce: ice, ssrc: ssrc, cname: "rtcam",
      initialSequence: seq, timestampOffset: loadU32(r, 56), congestion: congestion,
      temporalLayers: UInt8(clamping: options.temporalLayers))
    let peer: Peer
    do {
      peer = try Peer(id: id, config: config, certificate: certificate, random: random, now: now)
    } catch {
      log(.error, "session \(id): cannot start DTLS: \(error.detail)")
      return .refused(.error(500, code: error.code, message: error.detail))
    }
    sessions.add(peer, origin: key)
    status.metrics.sessionsOpened += 1
    log(.info, "session \(id): offer accepted (H.264 pt \(answer.video.payloadType), mid \(answer.video.mid)); waiting for ICE")
    return .created(id: id, answer: answer.sdp)
  }
}
