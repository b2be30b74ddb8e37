import DTLS
import HTTP
import Testing
import Wire

@testable import App

/// GET /snapshot.jpg and GET /stream.mjpg in the connection table, the core's routes and the
/// policy of which frames become JPEGs; fake clock, no sockets.
@Suite struct StillTableTests {
  static let s: UInt64 = 1_000_000_000
  let peer = SocketAddress(ip: [127, 0, 0, 1], port: 40_000)
  let jpeg: [UInt8] = [0xFF, 0xD8, 1, 2, 3, 0xFF, 0xD9]

  func feed(_ http: inout HttpServer, _ id: ConnectionID, _ text: String, now: UInt64,
            reply: @escaping (HttpRequest) -> HttpReply) -> [HttpOutput] {
    take(&http) { h in Array(text.utf8).withUnsafeBytes { h.received(id, $0, now: now) { req, _, _ in reply(req) } } }
  }

  func route(_ req: HttpRequest) -> HttpReply {
    switch req.path {
    case "/snapshot.jpg": return .snapshot(quality: req.query == "q=50" ? 50 : 80)
    case "/stream.mjpg": return .stream
    default: return .now(HttpResponse(status: 200, contentType: "text/plain", body: Array("ok".utf8)))
    }
  }

  func writes(_ a: [HttpOutput]) -> [String] {
    a.compactMap { if case .connection(.write(_, let b)) = $0 { return String(decoding: b, as: UTF8.self) } else { return nil } }
  }

  func wanted(_ a: [HttpOutput]) -> [Int] {
    a.compactMap { if case .snapshotWanted(let q) = $0 { return q } else { return nil } }
  }

  @Test func aSnapshotWaitsForTheNextJpegThenKeepsTheConnection() {
    var http = HttpServer()
    _ = take(&http) { $0.accepted(5, peer: peer, now: 0) }
    let a = feed(&http, 5, "GET /snapshot.jpg HTTP/1.1\r\nHost: cam\r\n\r\n", now: 1, reply: route)
    #expect(writes(a).isEmpty && wanted(a) == [80])
    #expect(!http.wantsInput(5), "its next request waits in the socket")
    #expect(http.nextDeadline == 1 + 3 * Self.s)
    // a stream-only JPEG of another quality does not answer it, and it asks again
    let other = take(&http) { $0.jpegReady(jpeg, quality: 60, forStream: true, now: 2) }
    #expect(writes(other).isEmpty && wanted(other) == [80])
    let b = take(&http) { $0.jpegReady(jpeg, quality: 80, forStream: false, now: 3) }
    let w = writes(b)
    #expect(w.count == 1 && w[0].hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n"))
    #expect(w[0].contains("Content-Length: 7\r\n") && w[0].contains("Connection: keep-alive"))
    #expect(b.contains(.answered(status: 200)) && http.snapshotsServed == 1)
    #expect(http.wantsInput(5) && take(&http) { $0.flushed(5) }.isEmpty)
    // answered once: the next JPEG goes nowhere
    #expect(take(&http) { $0.jpegReady(jpeg, quality: 80, forStream: false, now: 4) }.isEmpty)
  }

  @Test func noFrameIn3SecondsIs503AndHeadHasNoBody() {
    var http = HttpServer()
    _ = take(&http) { $0.accepted(5, peer: peer, now: 0) }
    _ = feed(&http, 5, "HEAD /snapshot.jpg HTTP/1.1\r\nHost: cam\r\n\r\n", now: 0, reply: route)
    #expect(take(&http) { $0.handleTimeout(now: 3 * Self.s - 1) }.isEmpty)
    let t = take(&http) { $0.handleTimeout(now: 3 * Self.s) }
    let w = writes(t)
    #expect(w.count == 1 && w[0].hasPrefix("HTTP/1.1 503") && w[0].hasSuffix("\r\n\r\n"), "\(w)")
    #expect(t.contains(.answered(status: 503)) && http.wantsInput(5))
  }

  @Test func pipelinedRequestsBehindASnapshotAreDroppedAndTheConnectionCloses() {
    var http = HttpServer()
    _ = take(&http) { $0.accepted(5, peer: peer, now: 0) }
    let a = feed(&http, 5, "GET /snapshot.jpg HTTP/1.1\r\nHost: cam\r\n\r\nGET /x HTTP/1.1\r\nHost: cam\r\n\r\n", now: 1, reply: route)
    #expect(writes(a).isEmpty)
    let w = writes(take(&http) { $0.jpegReady(jpeg, quality: 80, forStream: false, now: 2) })
    #expect(w.count == 1 && w[0].contains("Connection: close"))
    #expect(take(&http) { $0.flushed(5) } == [.connection(.close(5))])
  }

  @Test func streamClientsGetOnePartAtATimeAndSlowOnesDropFrames() {
    var http = HttpServer()
    _ = take(&http) { $0.accepted(5, peer: peer, now: 0) }
    let a = feed(&http, 5, "GET /stream.mjpg HTTP/1.1\r\nHost: cam\r\n\r\n", now: 1, reply: route)
    #expect(writes(a) == ["HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=rtcamframe\r\n"
      + "Cache-Control: no-store\r\nAccess-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n"])
    #expect(a.contains(.streamClients(1)) && a.contains(.connection(.streamStarted(5))) && http.streamClients == 1)
    // the head is not written out yet: this frame is dropped for it
    #expect(writes(take(&http) { $0.jpegReady(jpeg, quality: 80, forStream: true, now: 2) }).isEmpty && http.streamFramesDropped == 1)
    _ = take(&http) { $0.flushed(5) }
    // snapshot-only JPEGs are not stream frames
    #expect(take(&http) { $0.jpegReady(jpeg, quality: 80, forStream: false, now: 3) }.isEmpty)
    let part = writes(take(&http) { $0.jpegReady(jpeg, quality: 80, forStream: true, now: 4) })
    #expect(part.count == 1)
    #expect(part.first?.hasPrefix("--rtcamframe\r\nContent-Type: image/jpeg\r\nContent-Length: 7\r\n\r\n") == true)
    #expect(http.streamFramesSent == 1)
    // still busy: dropped; flushed: the next one goes out
    #expect(writes(take(&http) { $0.jpegReady(jpeg, quality: 80, forStream: true, now: 5) }).isEmpty && http.streamFramesDropped == 2)
    _ = take(&http) { $0.flushed(5) }
    #expect(writes(take(&http) { $0.jpegReady(jpeg, quality: 80, forStream: true, now: 6) }).count == 1)
    // what a stream client sends is dropped; it never times out; hanging up is counted
    #expect(feed(&http, 5, "GET / HTTP/1.1\r\n\r\n", now: 7, reply: route).isEmpty)
    #expect(take(&http) { $0.handleTimeout(now: 3600 * Self.s) }.isEmpty && http.nextDeadline == nil)
    #expect(take(&http) { $0.gone(5) } == [.streamClients(0)])
  }

  @Test func theStreamClientLimitAnswers503() {
    var limits = HttpServerLimits()
    limits.maxStreamClients = 1
    var http = HttpServer(limits: limits)
    _ = take(&http) { $0.accepted(5, peer: peer, now: 0) }
    _ = take(&http) { $0.accepted(6, peer: peer, now: 0) }
    _ = feed(&http, 5, "GET /stream.mjpg HTTP/1.1\r\nHost: cam\r\n\r\n", now: 1, reply: route)
    let b = feed(&http, 6, "GET /stream.mjpg HTTP/1.1\r\nHost: cam\r\n\r\n", now: 1, reply: route)
    #expect(writes(b).first?.hasPrefix("HTTP/1.1 503") == true && writes(b).first?.contains("TOO_MANY_STREAMS") == true)
    #expect(http.streamClients == 1 && !b.contains(.streamClients(2)))
  }
}

@Suite struct StillPolicyTests {
  static let ms: UInt64 = 1_000_000

  @Test func streamFramesAtTheCappedRateFromA30FpsCamera() {
    var o = StillOptions()
    o.streamFps = 10
    var p = StillPolicy(options: o)
    var made = 0
    for i in 0..<90 {  // 3 s at 30 fps
      let now = 5_000 * Self.ms + UInt64(i) * 33_333_333
      if let w = p.frame(now: now, streamClients: 2, snapshotQuality: nil) {
        #expect(w == StillWork(quality: 80, forStream: true, forSnapshot: false))
        made += 1
      }
    }
    #expect(made == 30)
    // nobody watching the stream and no snapshot: nothing
    #expect(p.frame(now: 10_000 * Self.ms, streamClients: 0, snapshotQuality: nil) == nil)
  }

  @Test func snapshotsTakeTheNextFrameAndShareAStreamFrameOfTheirQuality() {
    var p = StillPolicy(options: StillOptions())
    #expect(p.frame(now: Self.ms, streamClients: 0, snapshotQuality: 50) == StillWork(quality: 50, forStream: false, forSnapshot: true))
    // the stream is due and the snapshot wants its quality: one JPEG for both
    #expect(p.frame(now: 2 * Self.ms, streamClients: 1, snapshotQuality: 80) == StillWork(quality: 80, forStream: true, forSnapshot: true))
    // the stream is not due again yet; another quality: a snapshot-only JPEG
    #expect(p.frame(now: 3 * Self.ms, streamClients: 1, snapshotQuality: 40) == StillWork(quality: 40, forStream: false, forSnapshot: true))
  }
}

@Suite struct StillRouteTests {
  func core(_ configure: (inout ServeOptions) -> Void = { _ in }) throws -> CoreHarness {
    let c = try makeCore(seed: "still-tests", now: 0, configure)
    c.core.handleSource(.running(SourceFormat(width: 640, height: 480, fps: 30)))
    return c
  }

  /// How the core answered a request on a connection of its own: a response, a wait for a
  /// snapshot (the capture side was asked for one), or an MJPEG stream (a stream client counted).
  func reply(_ c: CoreHarness, _ method: String, _ target: String, from: SocketAddress = SocketAddress(ip: [10, 0, 0, 2], port: 1))
    -> HttpReply
  {
    let before = c.captures.count
    let id = c.open(request(method, target), from: from, now: 1_000)
    defer {
      c.core.handleConnection(.gone(id), now: 1_000)
      c.drain()
    }
    for command in c.captures[before...] {
      switch command {
      case .snapshot(let q): return .snapshot(quality: q)
      case .streamClients(let n) where n > 0: return .stream
      default: continue
      }
    }
    return .now(c.response(on: id) ?? HttpResponse(status: 0))
  }

  func status(_ r: HttpReply) -> Int? { if case .now(let x) = r { return x.status } else { return nil } }

  @Test func qualityAndMethods() throws {
    let c = try core()
    guard case .snapshot(80) = reply(c, "GET", "/snapshot.jpg") else { Issue.record("default quality"); return }
    guard case .snapshot(35) = reply(c, "GET", "/snapshot.jpg?t=123&quality=35") else { Issue.record("?quality"); return }
    guard case .snapshot = reply(c, "GET", "/snapshot") else { Issue.record("alias"); return }
    for bad in ["0", "101", "x", "", "-5", "99999999999999999999"] {
      #expect(status(reply(c, "GET", "/snapshot.jpg?quality=" + bad)) == 400, "\(bad)")
    }
    #expect(status(reply(c, "POST", "/snapshot.jpg")) == 405)
    guard case .stream = reply(c, "GET", "/stream.mjpg") else { Issue.record("stream"); return }
    #expect(status(reply(c, "HEAD", "/stream.mjpg")) == 200)
  }

  @Test func noPictureWhileTheSourceIsDownIs503WithItsCode() throws {
    let c = try core()
    c.core.handleSource(.retrying(.capture(.cameraLost("unplugged"))))
    guard case .now(let r) = reply(c, "GET", "/snapshot.jpg") else { Issue.record("deferred"); return }
    #expect(r.status == 503 && String(decoding: r.body, as: UTF8.self).contains("CAMERA_LOST"))
  }

  @Test func snapshotsAreRateLimitedPerAddressAndTheStreamCanBeOff() throws {
    let c = try core { $0.limits.snapshotsPerMinute = 2; $0.stills.maxStreamClients = 0 }
    let a = SocketAddress(ip: [10, 0, 0, 2], port: 1), b = SocketAddress(ip: [10, 0, 0, 3], port: 1)
    #expect(status(reply(c, "GET", "/snapshot.jpg", from: a)) == nil)
    #expect(status(reply(c, "GET", "/snapshot.jpg", from: a)) == nil)
    #expect(status(reply(c, "GET", "/snapshot.jpg", from: a)) == 429)
    #expect(status(reply(c, "GET", "/snapshot.jpg", from: b)) == nil, "another address is not affected")
    #expect(status(reply(c, "GET", "/stream.mjpg")) == 404)
  }

  @Test func accessControlComesFirst() throws {
    let c = try core { $0.auth.users.append(UserCredential(name: "u", verifier: .plain(password: "p"))) }
    #expect(status(reply(c, "GET", "/snapshot.jpg")) == 401)
    #expect(status(reply(c, "GET", "/stream.mjpg")) == 401)
  }
}
