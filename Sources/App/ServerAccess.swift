// The gate in front of the routes: per-address rate limits and access control for every request.
import HTTP
import Wire

extension ServerCore {
  /// Answers one HTTP request from `from`: access control first (when configured), then the route.
  ///
  /// - CORS preflights (OPTIONS) pass: browsers send them without credentials.
  /// - An address with too many failed attempts in the last minute gets 429 with Retry-After,
  ///   even with right credentials, until its minute is over.
  /// - Missing credentials: 401 with the WWW-Authenticate challenges (a browser then asks the user,
  ///   or retries with the credentials it has); wrong or malformed ones: 401 and a counted failure.
  /// - Offers (POST /whep, POST /offer) are limited per address and minute (429).
  /// Nothing secret is logged: only the address, the route and the outcome.
  ///
  /// With `--http-redirect`, a request that did not come over TLS (`secure` false) gets 301 to the
  /// same path on the HTTPS port instead.
  public func handle(_ req: HttpRequest, from: SocketAddress = SocketAddress(ip: [127, 0, 0, 1], port: 0),
                     secure: Bool = false, now: UInt64, send: Send) -> HttpResponse {
    switch respond(req, from: from, secure: secure, now: now, send: send) {
    case .now(let r): return r
    // the table answers these once a JPEG is ready; without one, say so
    case .snapshot, .stream:
      return .error(503, code: "NOT_STREAMING", message: "stills need the connection table (HttpServer)")
    }
  }

  /// `handle` for the connection table: stills and the MJPEG stream are answered later.
  public func respond(_ req: HttpRequest, from: SocketAddress = SocketAddress(ip: [127, 0, 0, 1], port: 0),
                      secure: Bool = false, now: UInt64, send: Send) -> HttpReply {
    let reply: HttpReply
    if options.redirectHTTP && !secure {
      reply = .now(redirectToHTTPS(req))
    } else if let denied = accessDenied(req, from: from, now: now) {
      reply = .now(denied)
    } else if let still = stillRoute(req, from: from, now: now) {
      reply = still
    } else {
      reply = .now(route(req, from: from, now: now, send: send))
    }
    switch reply {
    case .now(let r): metrics.countResponse(status: r.status)
    case .stream: metrics.countResponse(status: 200)
    case .snapshot: break  // counted when answered
    }
    return reply
  }

  /// Access control and the per-address limits: the response that refuses the request, or nil.
  func accessDenied(_ req: HttpRequest, from: SocketAddress, now: UInt64) -> HttpResponse? {
    let key = addressKey(from)
    let offerEndpoint = req.path == "/whep" || req.path == "/offer" || req.path.hasPrefix("/whep/")
    if authenticator.config.isEnabled && req.method != "OPTIONS" {
      if let wait = authFailures.blockedFor(key, now: now) {
        var r = HttpResponse.error(429, code: "TOO_MANY_AUTH_FAILURES",
          message: "too many failed logins from \(key.ipString); try again later")
        r.setHeader("Retry-After", String(retryAfterSeconds(wait)))
        return r
      }
      switch authenticator.authorize(req.header("authorization"), offerEndpoint: offerEndpoint) {
      case .allowed:
        break
      case .missing:
        return unauthorized(code: "AUTH_REQUIRED", message: "this camera needs a user name and password",
          offerEndpoint: offerEndpoint)
      case .rejected:
        authFailures.record(key, now: now)
        metrics.authFailures += 1
        logger(.warn, "HTTP \(key.ipString) \(req.method) \(req.path): wrong credentials")
        return unauthorized(code: "AUTH_FAILED", message: "wrong user name, password or token",
          offerEndpoint: offerEndpoint)
      }
    }
    if req.method == "POST" && (req.path == "/whep" || req.path == "/offer") {
      if let wait = offers.blockedFor(key, now: now) {
        var r = HttpResponse.error(429, code: "TOO_MANY_OFFERS",
          message: "too many offers from \(key.ipString) in the last minute (--offers-per-minute)")
        r.setHeader("Retry-After", String(retryAfterSeconds(wait)))
        r.addCors()
        return r
      }
      offers.record(key, now: now)
    }
    return nil
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

  func unauthorized(code: String, message: String, offerEndpoint: Bool) -> HttpResponse {
    var r = HttpResponse.error(401, code: code, message: message)
    for c in authenticator.challenges(offerEndpoint: offerEndpoint) { r.headers.append(("WWW-Authenticate", c)) }
    r.addCors()
    return r
  }
}
