// The application core as the tests drive it: through the same inputs and outputs the event
// loop uses (HTTP requests as bytes on a connection, datagrams, timers), with every output kept.
import DTLS
import Foundation
import HTTP
import Peer
import Testing
import Wire

@testable import App

/// The address requests come from unless a test says otherwise.
let loopback = SocketAddress(ip: [127, 0, 0, 1], port: 40_000)

/// A `ServerCore` with the test's options (one helper for every suite): a deterministic
/// certificate and random stream (`seed`), one host candidate on 127.0.0.1:8189.
func makeCore(seed: String = "app-tests", now: UInt64 = 1_000, source: SourceStatus = SourceStatus(),
              startedUnixNs: UInt64 = 0, _ configure: (inout ServeOptions) -> Void = { _ in }) throws -> CoreHarness {
  var o = ServeOptions()
  configure(&o)
  let random = try DtlsRandom(deterministicSeed: Array(seed.utf8))
  let cert = try DtlsCertificate.generate(commonName: "rtcam", random: random)
  let core = ServerCore(options: o, certificate: cert, random: random,
    candidates: [SocketAddress(ip: [127, 0, 0, 1], port: 8189)], source: source, startedUnixNs: startedUnixNs, now: now)
  return CoreHarness(core)
}

/// One request as a client sends it (the one request helper of the App tests).
func request(_ method: String, _ target: String, authorization: String? = nil, contentType: String? = nil,
             body: String = "", headers: [(name: String, value: String)] = []) -> HttpRequest {
  var h: [(name: String, value: String)] = [(name: "host", value: "x")] + headers
  if let a = authorization { h.append((name: "authorization", value: a)) }
  if let c = contentType { h.append((name: "content-type", value: c)) }
  return HttpRequest(method: method, target: target, version: "HTTP/1.1", headers: h, body: Array(body.utf8))
}

/// The request's bytes on the wire.
func wireBytes(_ r: HttpRequest) -> [UInt8] {
  var text = r.method + " " + r.target + " " + r.version + "\r\n"
  for (n, v) in r.headers where n.lowercased() != "content-length" { text += n + ": " + v + "\r\n" }
  if !r.body.isEmpty || ["POST", "PUT", "PATCH"].contains(r.method) { text += "Content-Length: " + String(r.body.count) + "\r\n" }
  return Array((text + "\r\n").utf8) + r.body
}

/// A response read back from the bytes the core wrote (status line, headers, Content-Length
/// body); nil when no complete response is there.
func parseResponse(_ bytes: [UInt8]) -> HttpResponse? {
  guard let end = bytes.firstRange(of: [13, 10, 13, 10]) else { return nil }
  let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
  guard let statusLine = head.first, statusLine.hasPrefix("HTTP/1.1 "),
    let status = Int(statusLine.dropFirst(9).prefix(3))
  else { return nil }
  var headers: [(String, String)] = []
  for line in head.dropFirst() {
    guard let colon = line.firstIndex(of: ":") else { continue }
    headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
  }
  var r = HttpResponse(status: status, headers: headers)
  let length = Int(r.header("Content-Length") ?? "0") ?? 0
  let body = bytes[end.upperBound...]
  guard body.count >= length else { return nil }
  r.body = Array(body.prefix(length))
  return r
}

func json(_ r: HttpResponse) throws -> JsonValue { try parseJson(r.body) }

/// The core and everything it asked for, carried out the way the event loop carries it out.
final class CoreHarness {
  let core: ServerCore
  var logs: [(level: LogLevel, message: String)] = []
  var captures: [CaptureCommand] = []
  var transmits: [(bytes: [UInt8], to: Destination)] = []
  var written: [ConnectionID: [UInt8]] = [:]
  var closed: [ConnectionID] = []
  var deadline: UInt64? = nil
  var nextConnection: ConnectionID = 100

  init(_ core: ServerCore) { self.core = core }

  var sessions: SessionTable { core.sessions }
  var nextDeadline: UInt64? { core.nextDeadline }
  func statusJSON(now: UInt64) -> String { core.statusJSON(now: now) }
  func metricsText() -> String { core.metricsText() }

  /// Carries out every output until `.timeout`; returns the datagrams sent meanwhile.
  @discardableResult
  func drain() -> [(bytes: [UInt8], to: Destination)] {
    var sent: [(bytes: [UInt8], to: Destination)] = []
    while true {
      switch core.pollOutput() {
      case .transmit(let b, let to): sent.append((Array(b), to))
      case .connection(.write(let id, let bytes)): written[id, default: []] += bytes
      case .connection(.close(let id)): closed.append(id)
      case .connection(.streamStarted), .connection(.sendFile): break
      case .capture(let c): captures.append(c)
      case .log(let level, let message): logs.append((level, message))
      case .timeout(let t):
        deadline = t
        transmits += sent
        return sent
      }
    }
  }

  /// Opens a connection from `from` and sends `req` on it; the connection's id.
  func open(_ req: HttpRequest, from: SocketAddress = loopback, secure: Bool = false, now: UInt64) -> ConnectionID {
    let id = nextConnection
    nextConnection += 1
    core.handleConnection(.accepted(id, peer: from, secure: secure), now: now)
    drain()
    send(wireBytes(req), on: id, now: now)
    return id
  }

  func send(_ bytes: [UInt8], on id: ConnectionID, now: UInt64) {
    bytes.withUnsafeBytes { core.handleConnection(.received(id, $0), now: now) }
    drain()
  }

  /// The response written on `id` so far (nil: none yet).
  func response(on id: ConnectionID) -> HttpResponse? { written[id].flatMap(parseResponse) }

  /// One request on a connection of its own, as a client sends it; the response (status 0 when
  /// the core wrote none, e.g. a snapshot still waiting). The client then hangs up.
  func handle(_ req: HttpRequest, from: SocketAddress = loopback, secure: Bool = false, now: UInt64) -> HttpResponse {
    let id = open(req, from: from, secure: secure, now: now)
    let r = response(on: id) ?? HttpResponse(status: 0)
    core.handleConnection(.gone(id), now: now)
    drain()
    return r
  }

  /// A datagram on the shared UDP port; what the core sent because of it.
  @discardableResult
  func receiveDatagram(_ bytes: [UInt8], from: SocketAddress, now: UInt64) -> [(bytes: [UInt8], to: Destination)] {
    var copy = bytes
    copy.withUnsafeMutableBytes { core.handleDatagram($0, from: from, now: now) }
    return drain()
  }

  /// Timers at `now`; what the core sent because of them.
  @discardableResult
  func poll(now: UInt64, unixNs: UInt64 = 0) -> [(bytes: [UInt8], to: Destination)] {
    core.handleTimeout(now: now, unixNs: unixNs)
    return drain()
  }
}

extension SessionTable {
  var isEmpty: Bool { count == 0 }
  var ids: [String] { order.map(\.id) }
}

/// Runs `body` on the connection table, then hands out everything it asked for (until `.timeout`).
func take(_ http: inout HttpServer, _ body: (inout HttpServer) -> Void) -> [HttpOutput] {
  body(&http)
  var out: [HttpOutput] = []
  while true {
    let o = http.pollOutput()
    if case .timeout = o { return out }
    out.append(o)
  }
}
