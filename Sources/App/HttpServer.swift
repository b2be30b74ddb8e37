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

  public init() {}
}

/// The client connection table (sans-IO).
public struct HttpServer: Sendable {
  struct Client: Sendable {
    var peer: SocketAddress
    var conn: HttpConnection
    /// When the client connected or last completed a request: the idlest is evicted when full.
    /// Trickling bytes without completing a request never counts as activity.
    var lastActive: UInt64
    /// The last response is queued; close once the runtime says the output is flushed.
    var closeAfterWrite = false
  }

  public let limits: HttpServerLimits
  var clients: [ConnectionID: Client] = [:]

  public init(limits: HttpServerLimits = HttpServerLimits()) {
    self.limits = limits
  }

  public var count: Int { clients.count }
  public func contains(_ id: ConnectionID) -> Bool { clients[id] != nil }

  /// Whether to read from the connection: not once its last response is queued.
  public func wantsInput(_ id: ConnectionID) -> Bool { clients[id].map { !$0.closeAfterWrite } ?? false }

  /// The earliest deadline of any connection.
  public var nextDeadline: UInt64? {
    var d: UInt64? = nil
    for (_, c) in clients { if let t = c.conn.nextDeadline { d = min(d ?? t, t) } }
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
    guard var c = clients[id], !c.closeAfterWrite else { return [] }
    var actions: [HttpAction] = []
    let first = c.conn.receive(bytes, now: now)
    if let interim = c.conn.takeInterimResponse() { actions.append(.write(id, interim)) }
    Self.answer(first, id: id, client: &c, now: now, handler: handler, into: &actions)
    var rounds = 0
    while c.conn.hasBufferedInput && !c.closeAfterWrite && rounds < limits.pipelineRounds {
      Self.answer(c.conn.poll(now: now), id: id, client: &c, now: now, handler: handler, into: &actions)
      rounds += 1
    }
    clients[id] = c
    return actions
  }

  static func answer(
    _ result: HttpReceiveResult, id: ConnectionID, client c: inout Client, now: UInt64,
    handler: (HttpRequest, SocketAddress) -> HttpResponse, into actions: inout [HttpAction]
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
      for req in reqs {
        let resp = handler(req, c.peer)
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

  /// The runtime wrote everything queued for the connection: closes it if its last response was.
  public mutating func flushed(_ id: ConnectionID) -> [HttpAction] {
    guard let c = clients[id], c.closeAfterWrite else { return [] }
    clients[id] = nil
    return [.close(id)]
  }

  /// The peer closed the connection or a read or write failed: forget it (the runtime closes it).
  public mutating func gone(_ id: ConnectionID) {
    clients[id] = nil
  }

  /// Deadlines: a request head or body that did not arrive in time gets its 408 and the
  /// connection closes right after it; an idle keep-alive connection closes silently.
  public mutating func timeouts(now: UInt64) -> [HttpAction] {
    var actions: [HttpAction] = []
    for (id, var c) in clients {
      defer { if clients[id] != nil { clients[id] = c } }
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

  /// Closes every connection (shutdown).
  public mutating func closeAll() -> [HttpAction] {
    let all = clients.keys.map { HttpAction.close($0) }
    clients.removeAll()
    return all
  }
}
