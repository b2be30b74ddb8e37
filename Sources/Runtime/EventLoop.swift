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

/// One HTTP client connection of the event loop.
struct HttpClient: Sendable {
  var fd: Int32
  var peer: SocketAddress
  var conn: HttpConnection
  var out: [UInt8] = []
  var outOffset = 0
  var closeAfterWrite = false
  /// When the client connected or last completed a request (the idlest is evicted when full).
  var lastActive: UInt64 = 0
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
  var clients: [Int32: HttpClient] = [:]
  let maxClients = 64
  var pollfds: [pollfd] = []
  var recvBuffer = [UInt8](repeating: 0, count: 4096)
  var lastAddr: SocketAddress? = nil
  var lastCAddr = rtc_addr()

  init(core: ServerCore, httpFd: Int32, udpFd: Int32, udpIsV6: Bool, wakeFd: Int32, stopFd: Int32, shared: CaptureShared) {
    self.core = core
    self.httpFd = httpFd
    self.udpFd = udpFd
    self.udpIsV6 = udpIsV6
    self.wakeFd = wakeFd
    self.stopFd = stopFd
    self.shared = shared
    pollfds.reserveCapacity(maxClients + 8)
  }

  /// Sends one datagram on the shared UDP socket.
  func sendDatagram(_ bytes: UnsafeRawBufferPointer, _ to: SocketAddress) {
    if lastAddr != to {
      guard let a = cAddress(to, forIPv6Socket: udpIsV6) else { return }
      lastCAddr = a
      lastAddr = to
    }
    _ = rtc_sendto(udpFd, bytes.baseAddress, bytes.count, &lastCAddr)
  }

  func run() {
    let send: ServerCore.Send = { b, a in self.sendDatagram(b, a) }
    while true {
      let now = rtc_monotonic_ns()
      // poll timeout: the earliest deadline of sessions and HTTP clients, at most 1 s.
      var deadline = now + 1_000_000_000
      if let d = core.nextDeadline { deadline = min(deadline, d) }
      for (_, c) in clients { if let d = c.conn.nextDeadline { deadline = min(deadline, d) } }
      let timeoutMs = deadline > now ? Int32(min((deadline - now + 999_999) / 1_000_000, 1000)) : 0

      pollfds.removeAll(keepingCapacity: true)
      pollfds.append(pollfd(fd: stopFd, events: Int16(POLLIN), revents: 0))
      pollfds.append(pollfd(fd: wakeFd, events: Int16(POLLIN), revents: 0))
      pollfds.append(pollfd(fd: udpFd, events: Int16(POLLIN), revents: 0))
      pollfds.append(pollfd(fd: httpFd, events: Int16(POLLIN), revents: 0))
      for (fd, c) in clients {
        var ev = Int16(POLLIN)
        if c.outOffset < c.out.count { ev |= Int16(POLLOUT) }
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
          case httpFd: acceptClients(now: t)
          default: serviceClient(p.fd, revents: p.revents, now: t, send: send)
          }
        }
      }
      deliverFrames(send: send)
      core.poll(now: rtc_monotonic_ns(), unixNs: rtc_realtime_ns(), send: send)
      checkClientTimeouts(now: rtc_monotonic_ns())
      updateSourceStatus()
      shared.viewers.store(core.connectedCount, ordering: .relaxed)
      if core.keyframeRequested {
        core.keyframeRequested = false
        shared.keyframe.store(true, ordering: .releasing)
      }
    }
    for (fd, _) in clients { close(fd) }
    clients.removeAll()
  }

  /// Empties a wake-up/stop pipe into the receive buffer (no allocation: this runs every frame).
  func drain(_ fd: Int32) {
    recvBuffer.withUnsafeMutableBytes { b in
      while read(fd, b.baseAddress, b.count) > 0 {}
    }
  }

  func deliverFrames(send: ServerCore.Send) {
    while let slot = shared.ring.peek() {
      core.sendFrame(UnsafeRawBufferPointer(start: slot.data, count: slot.length),
        captureTimeNs: slot.captureTimeNs, isKeyframe: slot.isKeyframe, send: send)
      shared.ring.release()
    }
  }

  func updateSourceStatus() {
    var s = core.sourceStatus
    s.framesCaptured = shared.framesCaptured.load(ordering: .relaxed)
    s.framesEncoded = shared.framesEncoded.load(ordering: .relaxed)
    s.keyframes = shared.keyframes.load(ordering: .relaxed)
    s.bytesEncoded = shared.bytesEncoded.load(ordering: .relaxed)
    s.framesDropped = shared.ring.dropped.load(ordering: .relaxed)
    s.framesIdle = shared.framesIdle.load(ordering: .relaxed)
    switch shared.state.load(ordering: .acquiring) {
    case 1: s.state = "running"
    case 2:
      if s.state != "failed" {
        s.state = "failed"
        s.errorCode = shared.errorCode
        s.errorMessage = shared.errorMessage
        log(.error, "source \(s.spec) failed: \(shared.errorCode): \(shared.errorMessage) (the page is still served)")
      }
    case 3: s.state = "stopped"
    default: break
    }
    applyCameraStatus(&s)  // V4L2: running / failed while retrying (V4L2Serve.swift)
    core.sourceStatus = s
  }

  func readDatagrams(now: UInt64, send: ServerCore.Send) {
    // Bounded per wake-up so that HTTP and frames are never starved.
    for _ in 0..<64 {
      var from = rtc_addr()
      let n = recvBuffer.withUnsafeMutableBytes { rtc_recvfrom(udpFd, $0.baseAddress, $0.count, &from) }
      if n <= 0 { return }
      let datagram = Array(recvBuffer[0..<n])
      core.receiveDatagram(datagram, from: socketAddress(from), now: now, send: send)
    }
  }

  func acceptClients(now: UInt64) {
    for _ in 0..<16 {
      var peer = rtc_addr()
      let fd = rtc_accept(httpFd, &peer)
      if fd < 0 { return }
      if clients.count >= maxClients {
        // Full: make room by dropping the least recently active connection, so that idle or
        // trickling clients cannot lock everyone else out.
        var victim: Int32 = -1
        var oldest = UInt64.max
        for (cfd, c) in clients where c.lastActive < oldest {
          oldest = c.lastActive
          victim = cfd
        }
        if victim >= 0 {
          log(.debug, "HTTP: \(maxClients) connections open; dropping the idlest (\(clients[victim]?.peer.description ?? "?"))")
          dropClient(victim)
        }
      }
      clients[fd] = HttpClient(fd: fd, peer: socketAddress(peer), conn: HttpConnection(limits: HttpLimits(), now: now),
        lastActive: now)
    }
  }

  func serviceClient(_ fd: Int32, revents: Int16, now: UInt64, send: ServerCore.Send) {
    guard var c = clients[fd] else { return }
    if revents & Int16(POLLOUT) != 0 { flush(&c) }
    if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 && !c.closeAfterWrite {
      let n = recvBuffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n == 0 || (n < 0 && rtc_errno() != EAGAIN && rtc_errno() != EINTR) {
        dropClient(fd)
        return
      }
      if n > 0 {
        let result = recvBuffer.withUnsafeBytes { c.conn.receive(UnsafeRawBufferPointer(rebasing: $0[0..<n]), now: now) }
        if let interim = c.conn.takeInterimResponse() { queue(&c, interim) }
        handleResult(result, client: &c, now: now, send: send)
        // Pipelined requests beyond the per-read bound: keep going, still bounded.
        var rounds = 0
        while c.conn.hasBufferedInput && !c.closeAfterWrite && rounds < 16 {
          handleResult(c.conn.poll(now: now), client: &c, now: now, send: send)
          rounds += 1
        }
      }
    }
    if c.closeAfterWrite && c.outOffset >= c.out.count {
      dropClient(fd)
      return
    }
    clients[fd] = c
  }

  func handleResult(_ result: HttpReceiveResult, client c: inout HttpClient, now: UInt64, send: ServerCore.Send) {
    switch result {
    case .needMore: break
    case .error(let e):
      log(.debug, "HTTP \(c.peer.description): \(e.status) \(e.code): \(e.message)")
      queue(&c, HttpResponse(error: e).serialize(keepAlive: false))
      c.closeAfterWrite = true
    case .requests(let reqs):
      // Activity = completed requests (a client trickling bytes never counts as active).
      c.lastActive = now
      for req in reqs {
        let resp = core.handle(req, now: now, send: send)
        let level: LogLevel = resp.status >= 400 ? .info : .debug
        log(level, "HTTP \(c.peer.description) \(req.method) \(req.path) → \(resp.status)")
        let keep = req.keepAlive && resp.status < 500
        queue(&c, resp.serialize(keepAlive: keep, isHead: req.isHead))
        if !keep { c.closeAfterWrite = true; break }
      }
    }
    flush(&c)
  }

  func queue(_ c: inout HttpClient, _ bytes: [UInt8]) {
    if c.outOffset >= c.out.count { c.out.removeAll(keepingCapacity: true); c.outOffset = 0 }
    c.out.append(contentsOf: bytes)
  }

  func flush(_ c: inout HttpClient) {
    while c.outOffset < c.out.count {
      let off = c.outOffset
      let n = c.out.withUnsafeBytes { write(c.fd, $0.baseAddress! + off, $0.count - off) }
      if n > 0 { c.outOffset += n; continue }
      if n < 0 && (rtc_errno() == EAGAIN || rtc_errno() == EINTR) { return }
      c.closeAfterWrite = true
      c.outOffset = c.out.count
      return
    }
  }

  func checkClientTimeouts(now: UInt64) {
    var expired: [Int32] = []
    for (fd, var c) in clients {
      guard let d = c.conn.nextDeadline, now >= d else { continue }
      if let t = c.conn.checkTimeout(now: now) {
        switch t {
        case .error(let e):
          queue(&c, HttpResponse(error: e).serialize(keepAlive: false))
          flush(&c)
          expired.append(fd)
        default:
          expired.append(fd)
        }
      }
      clients[fd] = c
    }
    for fd in expired { dropClient(fd) }
  }

  func dropClient(_ fd: Int32) {
    close(fd)
    clients[fd] = nil
  }
}
