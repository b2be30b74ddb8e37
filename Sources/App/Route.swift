// The routes of rtcam's HTTP server, parsed once per request: the access gate and the handlers
// both read the typed route, never the path text.
import HTTP

/// The request methods the routes tell apart.
public enum HttpMethod: Equatable, Sendable {
  case get, head, post, delete, options, patch
  /// Any other token (answered 405 where a route exists).
  case other

  public init(_ token: String) {
    switch token {
    case "GET": self = .get
    case "HEAD": self = .head
    case "POST": self = .post
    case "DELETE": self = .delete
    case "OPTIONS": self = .options
    case "PATCH": self = .patch
    default: self = .other
    }
  }

  /// GET or HEAD: the methods of the read-only routes.
  public var isRead: Bool { self == .get || self == .head }
}

/// Which offer endpoint: WHEP (RFC 9725, `application/sdp`) or the JSON form the page uses.
public enum OfferForm: Equatable, Sendable {
  case whep
  case json
}

/// Every path rtcam serves.
public enum Route: Equatable, Sendable {
  /// `/` and `/index.html`: the viewer page.
  case page
  case favicon
  case metrics
  case status
  /// `POST /whep` or `POST /offer`.
  case offer(OfferForm)
  /// `/whep/ID` (the WHEP resource) or `/session/ID` (the JSON form's hang-up).
  case session(id: String, form: OfferForm)
  /// `/snapshot.jpg` (and `/snapshot`).
  case snapshot
  /// `/stream.mjpg` (and `/stream`).
  case stream
  /// GET /recordings (the listing) and GET /recordings/NAME (a segment file).
  case recordings
  case recording(name: String)
  case notFound

  public init(path: String) {
    switch path {
    case "/", "/index.html": self = .page
    case "/favicon.ico": self = .favicon
    case "/metrics": self = .metrics
    case "/status": self = .status
    case "/whep": self = .offer(.whep)
    case "/offer": self = .offer(.json)
    case "/snapshot.jpg", "/snapshot": self = .snapshot
    case "/stream.mjpg", "/stream": self = .stream
    case "/recordings", "/recordings/": self = .recordings
    default:
      if path.hasPrefix("/whep/") {
        self = .session(id: Route.lastSegment(path), form: .whep)
      } else if path.hasPrefix("/session/") {
        self = .session(id: Route.lastSegment(path), form: .json)
      } else if path.hasPrefix("/recordings/") {
        // the name is checked against SegmentName's exact pattern by the handler
        self = .recording(name: String(path.dropFirst("/recordings/".utf8.count)))
      } else {
        self = .notFound
      }
    }
  }

  /// The offer endpoints and the WHEP resource: where a Bearer token is accepted.
  public var isOfferEndpoint: Bool {
    switch self {
    case .offer: return true
    case .session(_, let form): return form == .whep
    default: return false
    }
  }

  static func lastSegment(_ path: String) -> String {
    String(path.utf8.split(separator: UInt8(ascii: "/")).last.map { String(decoding: $0, as: UTF8.self) } ?? "")
  }
}

/// One request with its method and route, parsed once.
public struct RoutedRequest: Sendable {
  public let request: HttpRequest
  public let method: HttpMethod
  public let route: Route
  /// From the connection: it came over TLS.
  public let secure: Bool

  public init(_ request: HttpRequest, secure: Bool) {
    self.request = request
    method = HttpMethod(request.method)
    route = Route(path: request.path)
    self.secure = secure
  }

  /// An offer: POST to an offer endpoint (limited per address and minute).
  public var isOffer: Bool {
    if case .offer = route, method == .post { return true }
    return false
  }
}
