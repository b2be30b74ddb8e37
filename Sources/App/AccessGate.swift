// The gate in front of the routes: access control and the per-address rate limits.
import HTTP
import Wire

/// What the gate decided about one request.
enum AccessVerdict {
  case allowed
  /// Refused (no or blocked credentials, too many offers): answer this.
  case refused(HttpResponse)
  /// Wrong or malformed credentials: answer this, count and log the failure.
  case wrongCredentials(HttpResponse)
}

/// Access control (App/Auth.swift) and the per-address limits (App/AddressLimits.swift).
///
/// - CORS preflights (OPTIONS) pass: browsers send them without credentials.
/// - An address with too many failed attempts in the last minute gets 429 with Retry-After,
///   even with right credentials, until its minute is over.
/// - Missing credentials: 401 with the WWW-Authenticate challenges (a browser then asks the user,
///   or retries with the credentials it has); wrong or malformed ones: 401 and a counted failure.
/// - Offers (POST /whep, POST /offer) are limited per address and minute (429).
/// Nothing secret is logged: only the address, the route and the outcome.
struct AccessGate {
  var authenticator: Authenticator
  var authFailures: WindowCounter
  var offers: WindowCounter
  var snapshots: WindowCounter

  init(options: ServeOptions) {
    authenticator = Authenticator(config: options.auth)
    authFailures = WindowCounter(limit: options.limits.authFailuresPerMinute)
    offers = WindowCounter(limit: options.limits.offersPerMinute)
    snapshots = WindowCounter(limit: options.limits.snapshotsPerMinute)
  }

  mutating func check(_ r: RoutedRequest, from: SocketAddress, now: UInt64) -> AccessVerdict {
    let key = addressKey(from)
    if authenticator.config.isEnabled && r.method != .options {
      if let wait = authFailures.blockedFor(key, now: now) {
        var resp = HttpResponse.error(429, code: "TOO_MANY_AUTH_FAILURES",
          message: "too many failed logins from \(key.ipString); try again later")
        resp.setHeader("Retry-After", String(retryAfterSeconds(wait)))
        return .refused(resp)
      }
      let offerEndpoint = r.route.isOfferEndpoint
      switch authenticator.authorize(r.request.header("authorization"), offerEndpoint: offerEndpoint) {
      case .allowed:
        break
      case .missing:
        return .refused(unauthorized(code: "AUTH_REQUIRED", message: "this camera needs a user name and password",
          offerEndpoint: offerEndpoint))
      case .rejected:
        authFailures.record(key, now: now)
        return .wrongCredentials(unauthorized(code: "AUTH_FAILED", message: "wrong user name, password or token",
          offerEndpoint: offerEndpoint))
      }
    }
    if r.isOffer {
      if let wait = offers.blockedFor(key, now: now) {
        var resp = HttpResponse.error(429, code: "TOO_MANY_OFFERS",
          message: "too many offers from \(key.ipString) in the last minute (--offers-per-minute)")
        resp.setHeader("Retry-After", String(retryAfterSeconds(wait)))
        resp.addCors()
        return .refused(resp)
      }
      offers.record(key, now: now)
    }
    return .allowed
  }

  /// A snapshot from `from` now, or the 429 that refuses it (--snapshots-per-minute).
  mutating func snapshot(from: SocketAddress, now: UInt64) -> HttpResponse? {
    let key = addressKey(from)
    if let wait = snapshots.blockedFor(key, now: now) {
      var r = HttpResponse.error(429, code: "TOO_MANY_SNAPSHOTS",
        message: "too many snapshots from \(key.ipString) in the last minute (--snapshots-per-minute)")
      r.setHeader("Retry-After", String(retryAfterSeconds(wait)))
      return r
    }
    snapshots.record(key, now: now)
    return nil
  }

  func unauthorized(code: String, message: String, offerEndpoint: Bool) -> HttpResponse {
    var r = HttpResponse.error(401, code: code, message: message)
    for c in authenticator.challenges(offerEndpoint: offerEndpoint) { r.headers.append(("WWW-Authenticate", c)) }
    r.addCors()
    return r
  }
}
