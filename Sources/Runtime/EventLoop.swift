// The network loop: poll(2) over HTTP, UDP and the wake-up pipes; only it touches the core.
import App
import CRTCam
import Capture
import DTLS
import Encoder
import HTTP
import ICE
import Peer
import SDP
import SRTP
import Synchronization
import Wire

/// The bytes queued for one HTTP client connection. A class, so that queueing and writing change
/// it in place without the table's in-place update (which allocates its accessor's frame).
final class PendingOutput {
  var bytes: [UInt8] = []
  var offset = 0
  var isEmpty: Bool { offset >= bytes.count }

  /// Appends, reusing the buffer's capacity once everything before was written.
  func queue(_ more: [UInt8]) {
    if isEmpty { bytes.removeAll(keepingCapacity: true); offset = 0 }
    bytes.reserveWithHeadroom(bytes.count + more.count)
    bytes.append(contentsOf: more)
  }
}

/// The network loop: poll(2) over the HTTP listener and clients, the UDP socket, the capture
/// wake-up pipe and the stop pipe. Only this thread touches the ServerCore.
final class EventLoop {
  let core: ServerCore
  let httpFd: Int32
  let udpFd: Int32
  let udpIsV6: Bool
  let wakeFd: Int32
  let stopFd: Int32
  let shared: CaptureShared
  /// The connection policies (App); the loop keeps only each connection's queued output.
  var http: HttpServer
  var outputs: [Int32: PendingOutput] = [:]
  /// HTTPS: the listening socket (-1 without), the shared TLS configuration, each connection's TLS.
  let httpsFd: Int32
  let tls: TlsServerConfig?
  var tlsConns: [Int32: TlsConnection] = [:]
  /// The source report's generation last handed to the core, and the JPEG mailbox's.
  var seenSourceGeneration = 0
  var seenStillGeneration = 0
  /// The latest JPEG and the actions it causes, reused from frame to frame (no allocation).
  var stillBytes: [UInt8] = []
  var stillActions: [HttpAction] = []
  var pollfds: [pollfd] = []
  var recvBuffer = [UInt8](repeating: 0, count: 4096)
  /// C socket addresses of the destinations media went to (see `sendDatagram`).
  var cAddresses: [SocketAddress: rtc_addr] = [:]
  /// Room for every viewer's nominated address and some changes of path (64 viewers at most).
  let maxCachedAddresses = 256
  /// systemd's watchdog, pinged from this loop (nil outside systemd).
  var notifier: ServiceNotifier? = nil
  /// The send time inside the frame being fanned out (StageTiming.swift).
  let sendTimer = FrameSendTimer()
  /// --forward targets (Forwarding.swift).
  var forwards: [ForwardLink] = []

  init(core: ServerCore, httpFd: Int32, udpFd: Int32, udpIsV6: Bool, wakeFd: Int32, stopFd: Int32, shared: CaptureShared,
       httpsFd: Int32 = -1, tls: TlsServerConfig? = nil) {
    self.httpsFd = httpsFd
    self.tls = tls
    self.core = core
    self.httpFd = httpFd
    self.udpFd = udpFd
    self.udpIsV6 = udpIsV6
    self.wakeFd = wakeFd
    self.stopFd = stopFd
    self.shared = shared
    var limits = HttpServerLimits()
    limits.connectionsPerAddress = core.options.limits.connectionsPerAddress
    limits.maxStreamClients = core.options.stills.maxStreamClients
    http = HttpServer(limits: limits)
    pollfds.reserveCapacity(http.limits.maxConnections + 8)
    // jpegReady appends at most two actions per waiting snapshot, one per stream client and one
    // per other quality asked for: all within three per connection
    stillActions.reserveCapacity(3 * http.limits.maxConnections)
  }

  /// Sends one datagram on the shared UDP socket. The C address of each destination is made once
  /// and kept (one per viewer address), so sending to several viewers converts nothing per packet.
  func sendDatagram(_ bytes: UnsafeRawBufferPointer, _ to: SocketAddress) {
    if var a = cAddresses[to] {
      _ = rtc_sendto(udpFd, bytes.baseAddress, bytes.count, &a)
      return
    }
    guard var a = cAddress(to, forIPv6Socket: udpIsV6) else { return }
    // Bounded: addresses come from authenticated ICE checks; start over if it somehow fills.
    if cAddresses.count >= maxCachedAddresses { cAddresses.removeAll(keepingCapacity: true) }
    cAddresses[to] = a
    _ = rtc_sendto(udpFd, bytes.baseAddress, bytes.count, &a)
  }

  func run() {
    let send: ServerCore.Send = { b, a in self.sendDatagram(b, a) }
    let frameSend: ServerCore.Send = { b, a in self.sendFrameDatagram(b, a) }
    while true {
      let now = rtc_monotonic_ns()
      // poll timeout: the earliest deadline of sessions and HTTP clients, at most 1 s.
      var deadline = now + 1_000_000_000
      if let d = core.nextDeadline { deadline = min(deadline, d) }
      if let d = http.nextDeadline { deadline = min(deadline, d) }
      for (_, t) in tlsConns { if let d = t.handshakeDeadline { deadline = min(deadline, d) } }
      if let d = notifier?.policy.nextDeadline { deadline = min(deadline, d) }
      if let d = forwardDeadline { deadline = min(deadline, d) }
      let timeoutMs = deadline > now ? Int32(min((deadline - now + 999_999) / 1_000_000, 1000)) : 0

      pollfds.removeAll(keepingCapacity: true)
      pollfds.append(pollfd(fd: stopFd, events: Int16(POLLIN), revents: 0))
      pollfds.append(pollfd(fd: wakeFd, events: Int16(POLLIN), revents: 0))
      pollfds.append(pollfd(fd: udpFd, events: Int16(POLLIN), revents: 0))
      pollfds.append(pollfd(fd: httpFd, events: Int16(POLLIN), revents: 0))
      if httpsFd >= 0 { pollfds.append(pollfd(fd: httpsFd, events: Int16(POLLIN), revents: 0)) }
      appendForwardPollfds()
      for (fd, o) in outputs {
        // not reading (a snapshot is awaited, the last response is queued): no POLLIN, or poll
        // would return at once for every byte waiting in the socket
        var ev: Int16 = http.wantsInput(fd) ? Int16(POLLIN) : 0
        if !o.isEmpty { ev |= Int16(POLLOUT) }
        pollfds.append(pollfd(fd: fd, events: ev, revents: 0))
      }
      let n = pollfds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), timeoutMs) }
      if n < 0 && rtc_errno() != EINTR {
        log(.error, "POLL_FAILED: \(errnoText(rtc_errno()))")
        break
      }
      let t = rtc_monotonic_ns()
      if rtc_stop_requested() != 0 {
        log(.info, "stop requested: closing \(core.sessions.count) session(s)")
        core.closeAll(now: t, send: send)
        break
      }
      if n > 0 {
        for i in 0..<pollfds.count {
          let p = pollfds[i]
          guard p.revents != 0 else { continue }
          switch p.fd {
          case stopFd: drain(stopFd)
          case wakeFd: drain(wakeFd)
          case udpFd: readDatagrams(now: t, send: send)
          case httpFd: acceptClients(httpFd, now: t)
          case httpsFd: acceptClients(httpsFd, now: t)
          default:
            if !serviceForward(p.fd, now: t) { serviceClient(p.fd, revents: p.revents, now: t, send: send) }
          }
        }
      }
      deliverFrames(send: frameSend)
      deliverStills()
      core.poll(now: rtc_monotonic_ns(), unixNs: rtc_realtime_ns(), send: send)
      pollForwards(now: rtc_monotonic_ns(), unixNs: rtc_realtime_ns())
      perform(http.timeouts(now: rtc_monotonic_ns()))
      checkTlsHandshakes(now: rtc_monotonic_ns())
      updateSourceStatus()
      takeStageWindow(now: rtc_monotonic_ns())
      // a forward is a consumer too: the encoder runs while one is configured
      shared.setConsumers(core.connectedCount + forwards.count)
      notifier?.tick(now: rtc_monotonic_ns())
    }
    perform(http.closeAll())
  }

  /// Empties a wake-up/stop pipe into the receive buffer (no allocation: this runs every frame).
  func drain(_ fd: Int32) {
    recvBuffer.withUnsafeMutableBytes { b in
      while read(fd, b.baseAddress, b.count) > 0 {}
    }
  }

  /// Sends the encoded frames waiting in the ring; `send` is the timed `sendFrameDatagram`.
  func deliverFrames(send: ServerCore.Send) {
    while let slot = shared.ring.peek() {
      timedSendFrame(slot, send: send)
      if !forwards.isEmpty {
        forwardFrame(UnsafeRawBufferPointer(start: slot.data, count: slot.length),
          captureTimeNs: slot.captureTimeNs, isKeyframe: slot.isKeyframe, now: rtc_monotonic_ns())
      }
      shared.ring.release()
    }
  }

  /// Hands a new JPEG from the capture thread to the waiting snapshot and stream clients.
  func deliverStills() {
    guard let still = shared.stills.take(seen: &seenStillGeneration, into: &stillBytes) else { return }
    http.jpegReady(stillBytes, quality: still.work.quality, forStream: still.work.forStream, now: rtc_monotonic_ns(),
      into: &stillActions)
    perform(stillActions)
    stillActions.removeAll(keepingCapacity: true)
  }

  /// Copies the capture thread's counters into /status and hands a new source state to the core.
  func updateSourceStatus() {
    var s = core.sourceStatus
    let c = shared.counters()
    s.framesCaptured = c.framesCaptured
    s.framesEncoded = c.framesEncoded
    s.keyframes = c.keyframes
    s.bytesEncoded = c.bytesEncoded
    s.framesDropped = c.framesDropped
    s.framesIdle = c.framesIdle
    core.sourceStatus = s
    var st = core.stillStatus
    st.streamClients = http.streamClients
    st.streamFramesSent = http.streamFramesSent
    st.streamFramesDropped = http.streamFramesDropped
    st.snapshotsServed = http.snapshotsServed
    core.stillStatus = st
    if let state = shared.source.takeChange(seen: &seenSourceGeneration) { core.sourceChanged(state) }
  }

  func readDatagrams(now: UInt64, send: ServerCore.Send) {
    // Bounded per wake-up so that HTTP and frames are never starved.
    for _ in 0..<64 {
      var from = rtc_addr()
      let n = recvBuffer.withUnsafeMutableBytes { rtc_recvfrom(udpFd, $0.baseAddress, $0.count, &from) }
      if n <= 0 { return }
      let source = socketAddress(from)
      recvBuffer.withUnsafeMutableBytes { b in
        core.receiveDatagram(UnsafeMutableRawBufferPointer(rebasing: b[0..<n]), from: source, now: now, send: send)
      }
    }
  }

  func acceptClients(_ listener: Int32, now: UInt64) {
    for _ in 0..<16 {
      var peer = rtc_addr()
      let fd = rtc_accept(listener, &peer)
      if fd < 0 { return }
      if listener == httpsFd, let tls {
        guard let conn = try? TlsConnection(config: tls, now: now) else {
          close(fd)
          continue
        }
        tlsConns[fd] = conn
      }
      outputs[fd] = PendingOutput()
      perform(http.accepted(fd, peer: socketAddress(peer), now: now))
    }
  }

  func serviceClient(_ fd: Int32, revents: Int16, now: UInt64, send: ServerCore.Send) {
    guard outputs[fd] != nil else { return }
    if revents & Int16(POLLOUT) != 0 { flush(fd) }
    guard outputs[fd] != nil else { return }
    if revents & Int16(POLLHUP | POLLERR) != 0 && !http.wantsInput(fd) {
      closeClient(fd, gone: true)
      return
    }
    if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 && http.wantsInput(fd) {
      let n = recvBuffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n == 0 || (n < 0 && rtc_errno() != EAGAIN && rtc_errno() != EINTR) {
        closeClient(fd, gone: true)
        return
      }
      if n > 0 {
        let secure = tlsConns[fd] != nil
        var plain: [UInt8] = []
        if let conn = tlsConns[fd] {
          plain = recvBuffer.withUnsafeBytes { conn.receive(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
          queueRaw(fd, conn.takeOutgoing())
          if conn.state == .closed {
            if let e = conn.failure { log(.debug, "HTTPS fd \(fd): \(e.code): \(e.message)") }
            flush(fd)
            closeClient(fd, gone: true)
            return
          }
          if plain.isEmpty {
            flush(fd)
            return
          }
        }
        let actions: [HttpAction]
        if secure {
          actions = plain.withUnsafeBytes { b in
            http.received(fd, b, now: now, reply: { req, peer in core.respond(req, from: peer, secure: true, now: now, send: send) })
          }
        } else {
          actions = recvBuffer.withUnsafeBytes { b in
            http.received(fd, UnsafeRawBufferPointer(rebasing: b[0..<n]), now: now, reply: { req, peer in
              core.respond(req, from: peer, secure: false, now: now, send: send)
            })
          }
        }
        perform(actions)
      }
    }
  }

  /// Appends bytes to the connection's output as they are (TLS records, or plain HTTP).
  func queueRaw(_ fd: Int32, _ bytes: [UInt8]) {
    guard !bytes.isEmpty, let o = outputs[fd] else { return }
    o.queue(bytes)
  }

  /// Ends HTTPS connections whose handshake ran past its deadline (a stalled client cannot keep a
  /// connection slot).
  func checkTlsHandshakes(now: UInt64) {
    var expired: [Int32] = []
    for (fd, conn) in tlsConns {
      guard let d = conn.handshakeDeadline, now >= d else { continue }
      conn.checkTimeout(now: now)
      expired.append(fd)
    }
    for fd in expired {
      log(.debug, "HTTPS fd \(fd): TLS_HANDSHAKE_TIMEOUT")
      closeClient(fd, gone: true)
    }
  }

  /// Carries out the connection table's actions.
  func perform(_ actions: [HttpAction]) {
    for a in actions {
      switch a {
      case .write(let fd, let bytes):
        guard outputs[fd] != nil else { continue }
        if let conn = tlsConns[fd] {
          conn.send(bytes)
          queueRaw(fd, conn.takeOutgoing())
        } else {
          queueRaw(fd, bytes)
        }
      case .close(let fd):
        if let conn = tlsConns[fd] {
          conn.close()
          queueRaw(fd, conn.takeOutgoing())
        }
        if let o = outputs[fd], !o.isEmpty { flush(fd) }  // best effort for a last response
        closeClient(fd)
      case .log(let level, let message):
        log(level, message)
      case .answered(let status):
        core.metrics.countResponse(status: status)
      case .snapshotWanted(let quality):
        shared.setSnapshotQuality(quality)
      case .streamClients(let n):
        shared.setStreamClients(n)
      case .streamStarted(let fd):
        // a few 640x480 parts; the kernel may round it (Linux doubles what it is given)
        var size: Int32 = 128 * 1024
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
      }
    }
    // each written connection once, after all its writes were queued (no list is kept: this runs
    // for every MJPEG frame, so it must not allocate)
    for (i, a) in actions.enumerated() {
      guard case .write(let fd, _) = a, outputs[fd] != nil else { continue }
      var seen = false
      for earlier in actions[..<i] { if case .write(fd, _) = earlier { seen = true; break } }
      if !seen { flush(fd) }
    }
  }

  /// Writes what the socket takes; tells the table when everything is out.
  func flush(_ fd: Int32) {
    guard let o = outputs[fd] else { return }
    while !o.isEmpty {
      let off = o.offset
      let n = o.bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
      if n > 0 { o.offset += n; continue }
      if n < 0 && (rtc_errno() == EAGAIN || rtc_errno() == EINTR) { return }
      // the peer is gone: nothing more can be written
      closeClient(fd, gone: true)
      return
    }
    let after = http.flushed(fd)
    if !after.isEmpty { perform(after) }
  }

  /// Closes the connection; `gone`: the table does not know yet (the peer left, a read or write
  /// failed), so it is told and what it says is carried out.
  func closeClient(_ fd: Int32, gone: Bool = false) {
    tlsConns[fd] = nil
    if outputs.removeValue(forKey: fd) != nil { close(fd) }
    if gone { perform(http.gone(fd)) }
  }
}
