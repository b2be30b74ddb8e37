// The network loop: poll(2) over HTTP, UDP, the forwards and the wake-up pipes. It reports what
// happened to the core and carries the core's outputs out; it never changes the core otherwise.
import App
import CRTCam
import DTLS
import Wire

/// The descriptors the loop watches.
struct LoopSockets {
  var http: Int32
  var udp: Int32
  var udpIsV6: Bool
  var wake: Int32
  var stop: Int32
  /// -1 without HTTPS.
  var https: Int32 = -1
  /// RTSP's TCP listener and UDP sockets (-1 without RTSP).
  var rtsp: Int32 = -1
  var rtspRtp: Int32 = -1
  var rtspRtcp: Int32 = -1
  /// Each forward's RTP and RTCP socket, in the core's forward order.
  var forwards: [(rtp: Int32, rtcp: Int32)] = []
}

/// The network loop. Only this thread touches the ServerCore.
final class EventLoop<IO: LoopIO> {
  var io: IO
  let core: ServerCore
  let sockets: LoopSockets
  let shared: CaptureShared
  /// Each HTTP connection's queued bytes (the core keeps the connection's state).
  var outputs: [Int32: PendingOutput] = [:]
  /// Connections with bytes queued since the last flush, each once (see `settle`).
  var written: [Int32] = []
  /// HTTPS: the shared TLS configuration and each connection's TLS.
  let tls: TlsServerConfig?
  var tlsConns: [Int32: TlsConnection] = [:]
  /// The core's next deadline, as its last `.timeout` said.
  var coreDeadline: UInt64? = nil
  /// The source report's and the JPEG mailbox's generation last handed to the core.
  var seenSourceGeneration = 0
  var seenEncoderGeneration = 0
  var seenStillGeneration = 0
  /// The latest JPEG, reused from frame to frame (no allocation).
  var stillBytes: [UInt8] = []
  var pollfds: [pollfd] = []
  var recvBuffer = [UInt8](repeating: 0, count: 4096)
  /// C socket addresses of the destinations media went to (see `sendDatagram`).
  var cAddresses: [SocketAddress: rtc_addr] = [:]
  /// Room for every viewer's nominated address and some changes of path (64 viewers at most).
  let maxCachedAddresses = 256
  /// systemd's watchdog, pinged from this loop (nil outside systemd).
  var notifier: ServiceNotifier? = nil
  /// The send time inside the frame being fanned out (StageTiming.swift).
  var sendTimer = FrameSendTimer()
  /// The recording thread (--record), handed a copy of every frame.
  var recorder: RecordThread? = nil
  var seenRecorderGeneration = 0
  /// HTTP connections at most: the core's table size plus room for the ones being replaced.
  let maxConnections: Int

  init(io: IO, core: ServerCore, sockets: LoopSockets, shared: CaptureShared, tls: TlsServerConfig? = nil) {
    self.io = io
    self.core = core
    self.sockets = sockets
    self.shared = shared
    self.tls = tls
    maxConnections = core.http.limits.maxConnections + 16
    pollfds.reserveCapacity(maxConnections + sockets.forwards.count + 8)
    written.reserveCapacity(maxConnections)
  }

  /// Runs until SIGINT/SIGTERM (or a poll failure).
  func run() {
    settle()
    while true {
      let now = io.monotonicNs()
      let n = waitForEvents(now: now)
      if n < 0 && n != -EINTR {
        log(.error, "POLL_FAILED: \(errnoText(-n))")
        break
      }
      let t = io.monotonicNs()
      if io.stopRequested() {
        log(.info, "stop requested: closing \(core.sessions.count) session(s)")
        core.shutdown(now: t)
        settle()
        break
      }
      if n > 0 { serviceDescriptors(now: t) }
      turn()
    }
  }

  /// One turn's work after the descriptors: frames, stills, the capture side's news, timers.
  func turn() {
    deliverFrames()
    deliverStills()
    feedStatus(now: io.monotonicNs())
    let now = io.monotonicNs()
    if let d = coreDeadline, now >= d {
      core.handleTimeout(now: now, unixNs: io.realtimeNs())
      settle()
    }
    checkTlsHandshakes(now: io.monotonicNs())
    notifier?.tick(now: io.monotonicNs())
  }

  /// poll(2) until the earliest deadline (at most 1 s): the core's, the TLS handshakes', the
  /// watchdog's.
  func waitForEvents(now: UInt64) -> Int32 {
    var deadline = now + 1_000_000_000
    if let d = coreDeadline { deadline = min(deadline, d) }
    for (_, t) in tlsConns { if let d = t.handshakeDeadline { deadline = min(deadline, d) } }
    if let d = notifier?.policy.nextDeadline { deadline = min(deadline, d) }
    let timeoutMs = deadline > now ? Int32(min((deadline - now + 999_999) / 1_000_000, 1000)) : 0
    pollfds.removeAll(keepingCapacity: true)
    func watch(_ fd: Int32, _ events: Int32 = POLLIN) { pollfds.append(pollfd(fd: fd, events: Int16(events), revents: 0)) }
    watch(sockets.stop)
    watch(sockets.wake)
    watch(sockets.udp)
    watch(sockets.http)
    if sockets.https >= 0 { watch(sockets.https) }
    if sockets.rtsp >= 0 {
      watch(sockets.rtsp)
      watch(sockets.rtspRtp)
      watch(sockets.rtspRtcp)
    }
    for f in sockets.forwards { watch(f.rtcp) }
    for (fd, o) in outputs {
      // not reading (a snapshot is awaited, the last response is queued): no POLLIN, or poll
      // would return at once for every byte waiting in the socket
      var ev: Int32 = core.wantsInput(fd) ? POLLIN : 0
      if !o.isEmpty || o.fileRemaining > 0 { ev |= POLLOUT }
      watch(fd, ev)
    }
    return pollfds.withUnsafeMutableBufferPointer { io.poll($0, timeoutMs: timeoutMs) }
  }

  func serviceDescriptors(now t: UInt64) {
    for i in 0..<pollfds.count {
      let p = pollfds[i]
      guard p.revents != 0 else { continue }
      switch p.fd {
      case sockets.stop, sockets.wake: drain(p.fd)
      case sockets.udp: readDatagrams(now: t)
      case sockets.http: acceptClients(sockets.http, now: t)
      case sockets.https: acceptClients(sockets.https, now: t)
      case sockets.rtsp: acceptClients(sockets.rtsp, now: t)
      case sockets.rtspRtp, sockets.rtspRtcp: readRtspDatagrams(p.fd, now: t)
      default:
        if let f = sockets.forwards.firstIndex(where: { $0.rtcp == p.fd }) {
          readForwardFeedback(f, now: t)
        } else {
          serviceClient(p.fd, revents: p.revents, now: t)
        }
      }
    }
  }

  /// Empties a wake-up/stop pipe into the receive buffer (no allocation: this runs every frame).
  func drain(_ fd: Int32) {
    recvBuffer.withUnsafeMutableBytes { b in
      while io.read(fd, into: b) > 0 {}
    }
  }
}
