// The HTTP side of the server without sockets: the table of client connections and the policies
// that decide what happens to each (limits, eviction, keep-alive, pipelining, close-after-write,
// timeouts, clients waiting for a JPEG). The application core reports connection events to it
// and carries its outputs out; the runtime keeps only each connection's queued bytes.
import HTTP
import Wire

/// How the runtime names a client connection (its file descriptor).
public typealias ConnectionID = Int32

/// What the runtime must do with a client connection.
public enum ConnectionAction: Equatable, Sendable {
  /// Queue these bytes for the connection (write them in order, as the socket allows).
  case write(ConnectionID, [UInt8])
  /// Close the connection now (queued output is written first if the socket takes it at once).
  case close(ConnectionID)
  /// The connection became an MJPEG stream: keep the kernel's send buffer small, so a client
  /// that stops reading starts missing frames after a few parts instead of seconds of them.
  case streamStarted(ConnectionID)
  /// Send `length` bytes of the file at `path` from `offset` after what is queued (a recording),
  /// as the socket takes them; the connection is flushed once they are all written. If the file
  /// ends early or cannot be read, close the connection (the client sees a short body).
  case sendFile(ConnectionID, path: String, offset: UInt64, length: UInt64)
}

/// What the connection table asks of its caller (`pollOutput`).
public enum HttpOutput: Equatable, Sendable {
  case connection(ConnectionAction)
  case log(LogLevel, String)
  /// The table answered on its own (a parse error, a timeout, a still) with this status: for
  /// /metrics.
  case answered(status: Int)
  /// A client waits for a still at this JPEG quality: the capture side encodes the next frame
  /// (`jpegReady` answers).
  case snapshotWanted(quality: Int)
  /// The number of MJPEG stream clients changed: stream frames are made only while there are some.
  case streamClients(Int)
  /// Nothing more now; call `handleTimeout` at this time (nil: no deadline).
  case timeout(UInt64?)
}

/// How a route answers: now, or later with the picture the capture side encodes.
public enum HttpReply: Sendable {
  case now(HttpResponse)
  /// GET /snapshot.jpg: answered by `jpegReady` with the next frame at this quality.
  case snapshot(quality: Int)
  /// GET /stream.mjpg: the connection becomes a multipart/x-mixed-replace stream.
  case stream
  /// A file's bytes after this head (GET /recordings/NAME.mp4): `length` bytes from `offset`.
  case file(HttpResponse, path: String, offset: UInt64, length: UInt64)
}

/// What a client connection waits for instead of its next request.
enum HttpWaiting: Equatable, Sendable {
  /// A still, asked for at `since`; `keepAlive`/`isHead` as the request said.
  case snapshot(quality: Int, since: UInt64, keepAlive: Bool, isHead: Bool)
  /// An MJPEG stream client; `busy` while its last part is not yet written out (a new frame is
  /// then dropped for it, so a slow client never makes its buffer grow).
  case stream(busy: Bool)
  /// A file body is being sent; requests wait until it is flushed (`keepAlive` after it).
  case file(keepAlive: Bool)
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

/// The client connection table (sans-IO). A value: a copy is a separate table (each client's
/// state lives in the table's array, changed in place).
public struct HttpServer: Sendable {
  struct Client: Sendable {
    let id: ConnectionID
    let peer: SocketAddress
    /// It came over TLS (the HTTPS listener).
    let secure: Bool
    var conn: HttpConnection
    /// When the client connected or last completed a request: the idlest is evicted when full.
    /// Trickling bytes without completing a request never counts as activity.
    var lastActive: UInt64
    /// The last response is queued; close once the runtime says the output is flushed.
    var closeAfterWrite = false
    /// Waiting for a picture instead of reading requests.
    var waiting: HttpWaiting? = nil
  }

  /// Stream parts written and dropped (the client had not taken the previous one yet), snapshots
  /// answered: for /status and /metrics.
  public internal(set) var streamFramesSent: UInt64 = 0
  public internal(set) var streamFramesDropped: UInt64 = 0
  public internal(set) var snapshotsServed: UInt64 = 0

  public let limits: HttpServerLimits
  /// At most `limits.maxConnections`: looked up by a scan (64 entries), changed in place.
  var clients: [Client] = []
  var outputs: [HttpOutput] = []
  var outputsHead = 0
  /// The last MJPEG part, reused from frame to frame (see `jpegReady`).
  var streamPartBuffer: [UInt8] = []

  public init(limits: HttpServerLimits = HttpServerLimits()) {
    self.limits = limits
    clients.reserveCapacity(limits.maxConnections + 1)
    // a JPEG causes at most two outputs per waiting snapshot, one per stream client and one per
    // other quality asked for: within three per connection
    outputs.reserveCapacity(3 * limits.maxConnections + 8)
  }

  public var count: Int { clients.count }
  public func contains(_ id: ConnectionID) -> Bool { index(of: id) != nil }

  func index(of id: ConnectionID) -> Int? {
    for i in 0..<clients.count where clients[i].id == id { return i }
    return nil
  }

  /// Whether to read from the connection: not once its last response is queued, nor while it
  /// waits for a snapshot (its next request stays in the socket). Stream clients are read (and
  /// their bytes dropped) so that a hang-up is noticed.
  public func wantsInput(_ id: ConnectionID) -> Bool {
    guard let i = index(of: id), !clients[i].closeAfterWrite else { return false }
    if case .snapshot = clients[i].waiting { return false }
    if case .file = clients[i].waiting { return false }
    return true
  }

  /// MJPEG stream clients now.
  public var streamClients: Int {
    var n = 0
    for c in clients { if case .stream = c.waiting { n += 1 } }
    return n
  }

  /// The earliest deadline of any connection (a waiting snapshot's, or the parser's).
  public var nextDeadline: UInt64? {
    var d: UInt64? = nil
    for c in clients {
      switch c.waiting {
      case .snapshot(_, let since, _, _): d = min(d ?? .max, since &+ limits.snapshotTimeoutNs)
      case .stream, .file: continue
      case nil: if let t = c.conn.nextDeadline { d = min(d ?? t, t) }
      }
    }
    return d
  }

  /// Whether `pollOutput` has anything but `.timeout` to hand out.
  public var hasPendingOutput: Bool { outputsHead < outputs.count }

  /// What the table asks of its caller, one at a time, then `.timeout`.
  public mutating func pollOutput() -> HttpOutput {
    guard outputsHead < outputs.count else { return .timeout(nextDeadline) }
    let o = outputs[outputsHead]
    outputsHead += 1
    if outputsHead == outputs.count {
      outputs.removeAll(keepingCapacity: true)
      outputsHead = 0
    }
    return o
  }

  mutating func emit(_ o: HttpOutput) { outputs.append(o) }
  mutating func emit(_ a: ConnectionAction) { outputs.append(.connection(a)) }

  /// A new connection. When the table is full the least recently active one is closed first.
  public mutating func accepted(_ id: ConnectionID, peer: SocketAddress, secure: Bool = false, now: UInt64) {
    if let i = index(of: id) { clients.remove(at: i) }
    let host = addressKey(peer)
    var fromHost = 0
    for c in clients where addressKey(c.peer) == host { fromHost += 1 }
    if fromHost >= limits.connectionsPerAddress {
      if let v = idlest(where: { addressKey($0.peer) == host }) {
        let c = clients.remove(at: v)
        emit(.log(.debug, "HTTP: \(host.ipString) holds \(limits.connectionsPerAddress) connections; dropping its idlest (\(c.peer.description))"))
        emit(.close(c.id))
      }
    } else if clients.count >= limits.maxConnections, let v = idlest(where: { _ in true }) {
      let c = clients.remove(at: v)
      emit(.log(.debug, "HTTP: \(limits.maxConnections) connections open; dropping the idlest (\(c.peer.description))"))
      emit(.close(c.id))
    }
    clients.append(Client(id: id, peer: peer, secure: secure, conn: HttpConnection(limits: limits.parser, now: now),
      lastActive: now))
  }

  /// The least recently active connection among those that match (ties: the lowest id).
  func idlest(where matches: (Client) -> Bool) -> Int? {
    var victim: Int? = nil
    for i in 0..<clients.count where matches(clients[i]) {
      guard let v = victim else { victim = i; continue }
      let c = clients[i], old = clients[v]
      if c.lastActive < old.lastActive || (c.lastActive == old.lastActive && c.id < old.id) { victim = i }
    }
    return victim
  }

  /// The runtime wrote everything queued for the connection: closes it if its last response was;
  /// a stream client is ready for its next part.
  public mutating func flushed(_ id: ConnectionID) {
    guard let i = index(of: id) else { return }
    if case .stream(true) = clients[i].waiting { clients[i].waiting = .stream(busy: false) }
    if case .file(let keep) = clients[i].waiting {
      clients[i].waiting = nil
      if !keep { clients[i].closeAfterWrite = true }
    }
    guard clients[i].closeAfterWrite else { return }
    clients.remove(at: i)
    emit(.close(id))
  }

  /// The peer closed the connection or a read or write failed: forget it (the runtime closes it).
  public mutating func gone(_ id: ConnectionID) {
    guard let i = index(of: id) else { return }
    let c = clients.remove(at: i)
    if case .stream = c.waiting { emit(.streamClients(streamClients)) }
  }

  /// Closes every connection (shutdown).
  public mutating func closeAll() {
    for c in clients { emit(.close(c.id)) }
    clients.removeAll()
  }
}
