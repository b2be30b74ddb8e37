// The HTTP routes: every request through the gate, then to the handler of its typed route.
import HTTP
import Peer
import Wire

extension ServerCore {
  /// Answers one request from `from` (`secure`: it came over TLS). With `--http-redirect`, a
  /// request that did not come over TLS gets 301 to the same path on the HTTPS port.
  func respond(_ req: HttpRequest, from: SocketAddress, secure: Bool, now: UInt64) -> HttpReply {
    let r = RoutedRequest(req, secure: secure)
    let reply: HttpReply
    if options.redirectHTTP && !secure {
      reply = .now(redirectToHTTPS(req))
    } else {
      switch gate.check(r, from: from, now: now) {
      case .allowed: reply = route(r, from: from, now: now)
      case .refused(let resp): reply = .now(resp)
      case .wrongCredentials(let resp):
        status.metrics.authFailures += 1
        log(.warn, "HTTP \(addressKey(from).ipString) \(req.method) \(req.path): wrong credentials")
        reply = .now(resp)
      }
    }
    switch reply {
    case .now(let resp): status.metrics.countResponse(status: resp.status)
    case .stream: status.metrics.countResponse(status: 200)
    case .file(let head, _, _, _): status.metrics.countResponse(status: head.status)
    case .snapshot: break  // counted when answered
    }
    return reply
  }

  func route(_ r: RoutedRequest, from: SocketAddress, now: UInt64) -> HttpReply {
    switch r.route {
    case .page:
      guard r.method.isRead else { return .now(methodNotAllowed("GET")) }
      var resp = HttpResponse(status: 200, contentType: "text/html; charset=utf-8", body: Array(viewerPageHTML.utf8))
      resp.setHeader("Cache-Control", "no-cache")
      return .now(resp)
    case .favicon:
      return .now(HttpResponse(status: 204, headers: [("Cache-Control", "max-age=86400")]))
    case .metrics:
      guard r.method.isRead else { return .now(methodNotAllowed("GET")) }
      return .now(HttpResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8",
        body: Array(metricsText().utf8)))
    case .status:
      guard r.method.isRead else { return .now(methodNotAllowed("GET")) }
      var resp = HttpResponse.json(200, statusJSON(now: now))
      resp.addCors()
      return .now(resp)
    case .offer(let form): return .now(offerRoute(r, form: form, from: from, now: now))
    case .session(let id, _): return .now(sessionRoute(r, id: id, now: now))
    case .snapshot, .stream: return stillRoute(r, from: from, now: now)
    case .recordings: return .now(recordingsRoute(r))
    case .recording(let name): return recordingRoute(r, name: name)
    case .notFound:
      return .now(.error(404, code: "NOT_FOUND", message: "no such page: \(r.request.path)"))
    }
  }

  func methodNotAllowed(_ allow: String) -> HttpResponse {
    var r = HttpResponse.error(405, code: "METHOD_NOT_ALLOWED", message: "use " + allow)
    r.setHeader("Allow", allow)
    return r
  }

  /// `/whep/ID` and `/session/ID`: DELETE hangs up; trickle (PATCH) is not needed by an ICE-lite
  /// server.
  func sessionRoute(_ r: RoutedRequest, id: String, now: UInt64) -> HttpResponse {
    switch r.method {
    case .options: return HttpResponse.corsPreflight(allowMethods: "DELETE, PATCH, OPTIONS")
    case .patch:
      var resp = HttpResponse.error(405, code: "TRICKLE_NOT_SUPPORTED",
        message: "rtcam is ICE-lite and needs no trickled candidates")
      resp.setHeader("Allow", "DELETE, OPTIONS")
      resp.addCors()
      return resp
    case .delete:
      var resp: HttpResponse
      if let peer = sessions[id] {
        peer.close(.hangUp, now: now)
        sessionsDirty = true
        resp = HttpResponse(status: 200, contentType: "application/json", body: Array("{\"ended\":\"\(jsonEscape(id))\"}".utf8))
      } else {
        resp = .error(404, code: "SESSION_NOT_FOUND", message: "no session with id '\(id)'")
      }
      resp.addCors()
      return resp
    default: return methodNotAllowed("DELETE")
    }
  }

  /// 301 to https://HOST:HTTPS_PORT/PATH, HOST from the request's Host header (its port dropped).
  func redirectToHTTPS(_ req: HttpRequest) -> HttpResponse {
    var host = req.header("host") ?? "localhost"
    if host.hasPrefix("[") {
      if let close = host.utf8.firstIndex(of: UInt8(ascii: "]")) { host = String(host[...close]) }
    } else if let colon = host.utf8.firstIndex(of: UInt8(ascii: ":")) {
      host = String(host[..<colon])
    }
    // only what a Host header may hold: no spaces or control characters end up in Location
    guard !host.isEmpty, host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else {
      return .error(400, code: "BAD_HOST", message: "the Host header is not a host name")
    }
    var r = HttpResponse.error(301, code: "USE_HTTPS", message: "this camera is served over HTTPS")
    r.setHeader("Location", "https://" + host + ":" + String(options.httpsPort) + req.target)
    return r
  }

  /// GET /snapshot.jpg and GET /stream.mjpg: answered later, with a JPEG the capture side makes.
  func stillRoute(_ r: RoutedRequest, from: SocketAddress, now: UInt64) -> HttpReply {
    guard r.method.isRead else { return .now(methodNotAllowed("GET")) }
    let isStream = r.route == .stream
    if isStream && options.stills.maxStreamClients == 0 {
      return .now(.error(404, code: "STREAM_OFF", message: "the MJPEG stream is turned off (--max-stream-clients 0)"))
    }
    var quality = options.stills.quality
    if !isStream {
      switch QualityParameter(query: r.request.query) {
      case .absent: break
      case .value(let q): quality = q
      case .invalid(let text):
        return .now(.error(400, code: "BAD_QUALITY", message: "quality must be a whole number from "
          + String(StillOptions.qualityRange.lowerBound) + " to " + String(StillOptions.qualityRange.upperBound)
          + ", not '" + text + "'"))
      }
    }
    // a source that is starting gets its chance (the wait is bounded); a failed one is refused now
    let state = status.source.state
    switch state {
    case .running, .starting: break
    default:
      let e = state.error
      var resp = HttpResponse.error(503, code: e?.code ?? "NO_PICTURE",
        message: "no picture: the source is " + state.name + (e.map { " (" + $0.message + ")" } ?? ""))
      resp.setHeader("Retry-After", "2")
      return .now(resp)
    }
    if isStream {
      guard !r.request.isHead else {
        return .now(HttpResponse(status: 200, contentType: "multipart/x-mixed-replace; boundary=" + HttpServer.streamBoundary,
          body: []))
      }
      return .stream
    }
    if let refused = gate.snapshot(from: from, now: now) { return .now(refused) }
    return .snapshot(quality: quality)
  }
}

/// `quality=N` in a snapshot's query string ("quality=60&t=123"); other parameters are ignored
/// (cache busters).
enum QualityParameter: Equatable {
  case absent
  case value(Int)
  case invalid(String)

  init(query: String?) {
    self = .absent
    guard let q = query else { return }
    for pair in q.splitASCII(UInt8(ascii: "&")) {
      let kv = pair.splitASCII(UInt8(ascii: "="), maxSplits: 1)
      guard kv.first == "quality" else { continue }
      let text = kv.count == 2 ? kv[1] : ""
      guard let n = parseDecimal(text, max: 1000), StillOptions.qualityRange.contains(n) else {
        self = .invalid(String(text.prefix(16)))
        return
      }
      self = .value(n)
      return
    }
  }
}
