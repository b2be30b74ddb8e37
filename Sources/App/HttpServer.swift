// The HTTP side of the server without sockets: the table of client connections and the policies
// that decide what happens to each (limits, eviction, keep-alive, pipelining, close-after-write,
// timeouts). The runtime reports events (accepted, bytes read, output flushed, peer gone, time
// passed) and carries out the actions that come back; it keeps only the output bytes.
import HTTP
import Wire

/// How the runtime names a client connection (its file descriptor).
public typealias ConnectionID = Int32

/// What the runtime must do for the HTTP side.
public enum HttpAction: Equatable, Sendable {
  /// Queue these bytes for the connection (write them in order, as the socket allows).
  case write(ConnectionID, [UInt8])
  /// Close the connection now (queued output is dropped).
  case close(ConnectionID)
  /// A line for the log.
  case log(LogLevel, String)
  /// The table answered on its own (a parse error or a timeout) with this status: for /metrics.
  case answered(status: Int)
  /// A client waits for a still at this JPEG quality: have the capture thread encode the next
  /// frame (`jpegReady` answers).
  case snapshotWanted(quality: Int)
  /// The number of MJPEG stream clients changed: the capture thread encodes stream frames only
  /// while there are some.
  case streamClients(Int)
  /// The connection became an MJPEG stream: keep the kernel's send buffer small, so a client
  /// that stops reading starts missing frames after a few parts instead of seconds of them.
  case streamStarted(ConnectionID)
}

/// How a route answers: now, or later with the picture the capture thread encodes.
public enum HttpReply: Sendable {
  case now(HttpResponse)
  /// GET /snapshot.jpg: answered by `jpegReady` with the next frame at this quality.
  case snapshot(quality: Int)
  /// GET /stream.mjpg: the connection becomes a multipart/x-mixed-replace stream.
  case stream
}

/// What a client connection waits for instead of its next request.
enum HttpWaiting: Equatable, Sendable {
  /// A still, asked for at `since`; `keepAlive`/`isHead` as the request said.
  case snapshot(quality: Int, since: UInt64, keepAlive: Bool, isHead: Bool)
  /// An MJPEG stream client; `busy` while its last part is not yet written out (a new frame is
  /// then dropped for it, so a slow client never makes its buffer grow).
  case stream(busy: Bool)
}

/// The connection policies' numbers.
public struct HttpServerLimits: Sendable {
  /// Open client connections at most. When a new one arrives the least recently active one is
  /// dropped, so idle or trickling clients cannot lock everyone else out. 64 keeps the poll set
  /// and the buffers (64 x the parser limits) small on a Pi and is far above the viewers' needs.
  public var maxConnections = 64
  /// Extra rounds of pipelined requests handled after one read (the parser returns a bounded
  /// number per call); bounds the work one read can cause so UDP and frames are never starved.
  public var pipelineRounds = 16
  /// Connections one address may hold; a new one beyond it drops that address's idlest, so one
  /// address cannot fill the table (see `AddressLimitOptions.connectionsPerAddress`).
  public var connectionsPerAddress = 16
  /// Per-connection parser limits.
  public var parser = HttpLimits()
  /// MJPEG stream clients at once (--max-stream-clients): each one costs a JPEG copy per frame
  /// and its share of the uplink; the next one gets 503.
  public var maxStreamClients = 4
  /// How long a snapshot request waits for a frame before 503 (a running camera delivers one
  /// within a frame interval; 3 s covers a 1 fps source and a slow first JPEG).
  public var snapshotTimeoutNs: UInt64 = 3_000_000_000

  public init() {}
}

/// The client connection table (sans-IO).
public struct HttpServer: Sendable {
  /// A class, so that the per-frame updates (a stream part queued, its output flushed) change a
  /// client in place without touching the table (a Dictionary's in-place update allocates its
  /// accessor's frame, and iterating while writing back copies the table). Unchecked Sendable:
  /// the table belongs to the network loop alone; copies of an `HttpServer` share their clients.
  final class Client: @unchecked Sendable {
    var peer: SocketAddress
    var conn: HttpConnection
    /// When the client connected or last completed a request: the idlest is evicted when full.
    /// Trickling bytes without completing a request never counts as activity.
    var lastActive: UInt64
    /// The last response is queued; close once the runtime says the output is flushed.
    var closeAfterWrite = false
    /// Waiting for a picture instead of reading requests.
    var waiting: HttpWaiting? = nil

    init(peer: SocketAddress, conn: HttpConnection, lastActive: UInt64) {
      self.peer = peer
      self.conn = conn
      self.lastActive = lastActive
    }
  }

  /// Stream parts written and dropped (the client had not taken the previous one yet), snapshots
  /// answered: for /status and /metrics.
  public private(set) var streamFramesSent: UInt64 = 0
  public private(set) var streamFramesDropped: UInt64 = 0
  public private(set) var snapshotsServed: UInt64 = 0

  public let limits: HttpServerLimits
  var clients: [ConnectionID: Client] = [:]
  /// The last MJPEG part, reused from frame to frame (see `jpegReady(_:quality:forStream:now:into:)`).
  var streamPartBuffer: [UInt8] = []

  public init(limits: HttpServerLimits = HttpServerLimits()) {
    self.limits = limits
  }

  public var count: Int { clients.count }
  public func contains(_ id: ConnectionID) -> Bool { clients[id] != nil }

  /// Whether to read from the connection: not once its last response is queued, nor while it
  /// waits for a snapshot (its next request stays in the socket). Stream clients are read (and
  /// their bytes dropped) so that a hang-up is noticed.
  public func wantsInput(_ id: ConnectionID) -> Bool {
    guard let c = clients[id], !c.closeAfterWrite else { return false }
    if case .snapshot = c.waiting { return false }
    return true
  }

  /// MJPEG stream clients now.
  public var streamClients: Int {
    var n = 0
    for (_, c) in clients { if case .stream = c.waiting { n += 1 } }
    return n
  }

  /// The earliest deadline of any connection (a waiting snapshot's, or the parser's).
  public var nextDeadline: UInt64? {
    var d: UInt64? = nil
    for (_, c) in clients {
      switch c.waiting {
      case .snapshot(_, let since, _, _): d = min(d ?? .max, since &+ limits.snapshotTimeoutNs)
      case .stream: continue
      case nil: if let t = c.conn.nextDeadline { d = min(d ?? t, t) }
      }
    }
    return d
  }

  /// A new connection. When the table is full the least recently active one is closed first.
  public mutating func accepted(_ id: ConnectionID, peer: SocketAddress, now: UInt64) -> [HttpAction] {
    var actions: [HttpAction] = []
    if clients[id] == nil {
      let host = addressKey(peer)
      let fromHost = clients.values.filter { addressKey($0.peer) == host }.count
      if fromHost >= limits.connectionsPerAddress {
        if let v = idlest(where: { addressKey($0.peer) == host }), let c = clients.removeValue(forKey: v) {
          actions.append(.log(.debug, "HTTP: \(host.ipString) holds \(limits.connectionsPerAddress) connections; dropping its idlest (\(c.peer.description))"))
          actions.append(.close(v))
        }
      } else if clients.count >= limits.maxConnections {
        if let v = idlest(where: { _ in true }), let c = clients.removeValue(forKey: v) {
          actions.append(.log(.debug, "HTTP: \(limits.maxConnections) connections open; dropping the idlest (\(c.peer.description))"))
          actions.append(.close(v))
        }
      }
    }
    clients[id] = Client(peer: peer, conn: HttpConnection(limits: limits.parser, now: now), lastActive: now)
    return actions
  }

  /// The least recently active connection among those that match (ties: the lowest id).
  func idlest(where matches: (Client) -> Bool) -> ConnectionID? {
    var victim: ConnectionID? = nil
    var oldest = UInt64.max
    for (cid, c) in clients where matches(c) && (c.lastActive < oldest || (c.lastActive == oldest && cid < (victim ?? .max))) {
      oldest = c.lastActive
      victim = cid
    }
    return victim
  }

  /// Bytes read from the connection: parses them and answers every complete request with
  /// `handler`, in order. Keep-alive holds while the request asks for it and the answer is not a
  /// server error (a 5xx may leave the server's view of the connection uncertain); otherwise, and
  /// after a parse error, the connection stops reading and closes once its output is flushed.
  public mutating func received(
    _ id: ConnectionID, _ bytes: UnsafeRawBufferPointer, now: UInt64,
    handler: (HttpRequest, SocketAddress) -> HttpResponse
  ) -> [HttpAction] {
    received(id, bytes, now: now, reply: { req, peer in .now(handler(req, peer)) })
  }

  /// `received` for routes that may answer later (`HttpReply`).
  public mutating func received(
    _ id: ConnectionID, _ bytes: UnsafeRawBufferPointer, now: UInt64,
    reply handler: (HttpRequest, SocketAddress) -> HttpReply
  ) -> [HttpAction] {
    guard let c = clients[id], !c.closeAfterWrite else { return [] }
    // a stream client has nothing more to ask; what it sends is dropped
    if case .stream = c.waiting { return [] }
    guard c.waiting == nil else { return [] }
    let streamsBefore = streamClients
    let canStream = streamsBefore < limits.maxStreamClients
    var actions: [HttpAction] = []
    let first = c.conn.receive(bytes, now: now)
    if let interim = c.conn.takeInterimResponse() { actions.append(.write(id, interim)) }
    Self.answer(first, id: id, client: c, now: now, canStream: canStream, handler: handler, into: &actions)
    var rounds = 0
    while c.conn.hasBufferedInput && !c.closeAfterWrite && c.waiting == nil && rounds < limits.pipelineRounds {
      Self.answer(c.conn.poll(now: now), id: id, client: c, now: now, canStream: canStream, handler: handler,
        into: &actions)
      rounds += 1
    }
    // a waiting snapshot answers last: what was pipelined behind it is dropped, and the answer
    // then says Connection: close (the client asks again)
    if case .snapshot(let q, let since, _, let head) = c.waiting, c.conn.hasBufferedInput {
      c.waiting = .snapshot(quality: q, since: since, keepAlive: false, isHead: head)
    }
    if case .stream = c.waiting { actions.append(.streamClients(streamsBefore + 1)) }
    return actions
  }

  static func answer(
    _ result: HttpReceiveResult, id: ConnectionID, client c: Client, now: UInt64, canStream: Bool,
    handler: (HttpRequest, SocketAddress) -> HttpReply, into actions: inout [HttpAction]
  ) {
    switch result {
    case .needMore: break
    case .error(let e):
      actions.append(.log(.debug, "HTTP \(c.peer.description): \(e.status) \(e.code): \(e.message)"))
      actions.append(.write(id, HttpResponse(error: e).serialize(keepAlive: false)))
      actions.append(.answered(status: e.status))
      c.closeAfterWrite = true
    case .requests(let reqs):
      c.lastActive = now
      for (i, req) in reqs.enumerated() {
        let resp: HttpResponse
        switch handler(req, c.peer) {
        case .now(let r): resp = r
        case .snapshot(let q):
          actions.append(.log(.debug, "HTTP \(c.peer.description) \(req.method) \(req.path) → waits for a frame"))
          c.waiting = .snapshot(quality: q, since: now, keepAlive: req.keepAlive && i == reqs.count - 1, isHead: req.isHead)
          actions.append(.snapshotWanted(quality: q))
          return
        case .stream where !canStream:
          resp = HttpResponse.error(503, code: "TOO_MANY_STREAMS",
            message: "the most MJPEG streams at once are open (--max-stream-clients)")
        case .stream:
          actions.append(.log(.info, "HTTP \(c.peer.description) \(req.method) \(req.path) → MJPEG stream"))
          c.waiting = .stream(busy: true)
          actions.append(.streamStarted(id))
          actions.append(.write(id, Self.streamHead()))
          return
        }
        let level: LogLevel = resp.status >= 400 ? .info : .debug
        actions.append(.log(level, "HTTP \(c.peer.description) \(req.method) \(req.path) → \(resp.status)"))
        let keep = req.keepAlive && resp.status < 500
        actions.append(.write(id, resp.serialize(keepAlive: keep, isHead: req.isHead)))
        if !keep {
          c.closeAfterWrite = true
          break
        }
      }
    }
  }

  /// The runtime wrote everything queued for the connection: closes it if its last response was;
  /// a stream client is ready for its next part.
  public mutating func flushed(_ id: ConnectionID) -> [HttpAction] {
    guard let c = clients[id] else { return [] }
    if case .stream(true) = c.waiting { c.waiting = .stream(busy: false) }
    guard c.closeAfterWrite else { return [] }
    clients[id] = nil
    return [.close(id)]
  }

  /// The peer closed the connection or a read or write failed: forget it (the runtime closes it).
  @discardableResult
  public mutating func gone(_ id: ConnectionID) -> [HttpAction] {
    guard let c = clients.removeValue(forKey: id) else { return [] }
    if case .stream = c.waiting { return [.streamClients(streamClients)] }
    return []
  }

  /// Deadlines: a request head or body that did not arrive in time gets its 408 and the
  /// connection closes right after it; an idle keep-alive connection closes silently.
  public mutating func timeouts(now: UInt64) -> [HttpAction] {
    // (runs after every wake-up: nothing is looked at, and nothing allocated, before a deadline)
    guard let due = nextDeadline, now >= due else { return [] }
    var actions: [HttpAction] = []
    for (id, c) in clients {
      if case .snapshot(_, let since, let keep, let head) = c.waiting {
        guard now &- since >= limits.snapshotTimeoutNs else { continue }
        let r = HttpResponse.error(503, code: "NO_FRAME", message: "the source delivered no frame within "
          + String(limits.snapshotTimeoutNs / 1_000_000_000) + " s (see /status)")
        actions.append(.write(id, r.serialize(keepAlive: keep, isHead: head)))
        actions.append(.answered(status: 503))
        c.waiting = nil
        c.lastActive = now
        if !keep { c.closeAfterWrite = true }
        continue
      }
      if c.waiting != nil { continue }
      guard let d = c.conn.nextDeadline, now >= d, let t = c.conn.checkTimeout(now: now) else { continue }
      switch t {
      case .error(let e):
        // Best effort: a client this slow gets its 408 if the socket takes it now, then the close.
        actions.append(.write(id, HttpResponse(error: e).serialize(keepAlive: false)))
        actions.append(.answered(status: e.status))
        clients[id] = nil
        actions.append(.close(id))
      case .idle:
        clients[id] = nil
        actions.append(.close(id))
      }
    }
    return actions
  }

  /// A JPEG of the latest frame at `quality` is ready (`forStream`: made for the MJPEG stream at
  /// its rate). Snapshot clients that asked for this quality get it; those that asked for another
  /// ask again; stream clients that took their last part get this one, the others drop it.
  public mutating func jpegReady(_ jpeg: [UInt8], quality: Int, forStream: Bool, now: UInt64) -> [HttpAction] {
    var actions: [HttpAction] = []
    jpegReady(jpeg, quality: quality, forStream: forStream, now: now, into: &actions)
    return actions
  }

  /// `jpegReady` appending to `actions` (the runtime reuses that array, so a stream frame
  /// allocates nothing: the part is built once into `streamPartBuffer`, and every stream client's
  /// write shares it).
  public mutating func jpegReady(_ jpeg: [UInt8], quality: Int, forStream: Bool, now: UInt64,
                                 into actions: inout [HttpAction]) {
    var again: [Int] = []
    var partReady = false
    for (id, c) in clients {
      switch c.waiting {
      case .snapshot(let q, _, let keep, let head):
        guard q == quality else {
          if !again.contains(q) { again.append(q) }
          continue
        }
        var r = HttpResponse(status: 200, contentType: "image/jpeg", body: jpeg)
        r.setHeader("Cache-Control", "no-store")
        r.addCors()
        actions.append(.write(id, r.serialize(keepAlive: keep, isHead: head)))
        actions.append(.answered(status: 200))
        snapshotsServed += 1
        c.waiting = nil
        c.lastActive = now
        if !keep { c.closeAfterWrite = true }
      case .stream(let busy):
        guard forStream else { continue }
        if busy {
          streamFramesDropped += 1
          continue
        }
        if !partReady {
          Self.streamPart(jpeg, into: &streamPartBuffer)
          partReady = true
        }
        actions.append(.write(id, streamPartBuffer))
        streamFramesSent += 1
        c.waiting = .stream(busy: true)
      case nil:
        continue
      }
    }
    for q in again { actions.append(.snapshotWanted(quality: q)) }
  }

  /// Closes every connection (shutdown).
  public mutating func closeAll() -> [HttpAction] {
    let all = clients.keys.map { HttpAction.close($0) }
    clients.removeAll()
    return all
  }
}
