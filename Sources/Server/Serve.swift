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

extension SdpError {
  /// HTTP status for a rejected offer.
  var httpStatus: Int {
    switch self {
    case .tooLarge: return 413
    case .malformed: return 400
    default: return 422
    }
  }
}

/// Converts between the cores' SocketAddress and the C socket address.
func socketAddress(_ a: rtc_addr) -> SocketAddress {
  var copy = a
  var bytes = [UInt8](repeating: 0, count: 16)
  let n = bytes.withUnsafeMutableBufferPointer { rtc_addr_bytes(&copy, $0.baseAddress) }
  return SocketAddress(ip: Array(bytes[0..<Int(max(0, n))]), port: UInt16(truncatingIfNeeded: rtc_addr_port(&copy)))
}

func cAddress(_ a: SocketAddress, forIPv6Socket v6: Bool) -> rtc_addr? {
  var out = rtc_addr()
  let text = (v6 && a.isIPv4) ? "::ffff:" + a.ipString : a.ipString
  guard rtc_addr_parse(text, a.port, &out) == 0 else { return nil }
  return out
}

func errnoText(_ e: Int32) -> String { String(cString: strerror(e)) }

/// State shared between the capture thread and the network loop.
final class CaptureShared {
  let ring: FrameRing
  let stop = Atomic<Bool>(false)
  let keyframe = Atomic<Bool>(true)
  let framesCaptured = Atomic<UInt64>(0)
  let framesEncoded = Atomic<UInt64>(0)
  let keyframes = Atomic<UInt64>(0)
  let bytesEncoded = Atomic<UInt64>(0)
  /// 0 starting, 1 running, 2 failed, 3 stopped
  let state = Atomic<Int>(0)
  /// Error text, written once by the capture thread before state becomes 2.
  nonisolated(unsafe) var errorCode = ""
  nonisolated(unsafe) var errorMessage = ""
  /// V4L2 only: the camera thread's state (see V4L2Serve.swift; state 4 = retrying).
  let camera = CameraStatus()
  let wakeFd: Int32
  /// Connected viewers, kept current by the network loop. With none, frames are captured but
  /// not encoded (no CPU spent on a picture nobody watches).
  let viewers = Atomic<Int>(0)
  let framesIdle = Atomic<UInt64>(0)

  init(ring: FrameRing, wakeFd: Int32) {
    self.ring = ring
    self.wakeFd = wakeFd
  }

  /// Wakes the network loop.
  func wake() {
    var one: UInt8 = 1
    _ = rtc_write_all(wakeFd, &one, 1)
  }

  /// Capture thread: encodes one captured frame (unless nobody watches) and hands the access
  /// unit to the network loop through the ring. `output` is the thread's reused buffer.
  func encodeAndPublish(_ frame: FrameView, encoder: H264Encoder, output: inout [UInt8]) throws(EncoderError) {
    framesCaptured.wrappingAdd(1, ordering: .relaxed)
    if viewers.load(ordering: .relaxed) == 0 {
      // The next viewer starts with a keyframe anyway.
      keyframe.store(true, ordering: .relaxed)
      framesIdle.wrappingAdd(1, ordering: .relaxed)
      return
    }
    if keyframe.exchange(false, ordering: .acquiringAndReleasing) { encoder.requestKeyframe() }
    guard let e = try encoder.encode(frame, into: &output) else { return }
    framesEncoded.wrappingAdd(1, ordering: .relaxed)
    bytesEncoded.wrappingAdd(UInt64(e.length), ordering: .relaxed)
    if e.isKeyframe { keyframes.wrappingAdd(1, ordering: .relaxed) }
    let pushed = output.withUnsafeBytes { all in
      ring.push(UnsafeRawBufferPointer(rebasing: all[0..<e.length]), isKeyframe: e.isKeyframe,
        captureTimeNs: e.captureTimeNs)
    }
    if pushed {
      wake()
    } else {
      // The network loop fell behind: what follows cannot be decoded without a keyframe.
      keyframe.store(true, ordering: .releasing)
    }
  }
}

/// Gathers interface addresses from rtc_list_interface_addrs's callback.
final class AddressCollector { var list: [SocketAddress] = [] }

/// A thread body for rtc_thread_start.
final class ThreadBody {
  let run: () -> Void
  init(_ run: @escaping () -> Void) { self.run = run }
}

func startThread(_ body: ThreadBody) -> Bool {
  var t = pthread_t()
  let ctx = Unmanaged.passRetained(body).toOpaque()
  let r = rtc_thread_start(&t, { ctx in
    let b = Unmanaged<ThreadBody>.fromOpaque(ctx!).takeRetainedValue()
    b.run()
  }, ctx)
  if r != 0 { Unmanaged<ThreadBody>.fromOpaque(ctx).release() }
  return r == 0
}

/// The capture+encode loop: blocks on the source, encodes once, hands the access unit to the
/// network loop through the ring. Runs on its own thread.
func captureLoop<S: FrameSource>(source: inout S, encoder: H264Encoder, shared: CaptureShared) {
  var output: [UInt8] = []
  output.reserveCapacity(1 << 20)
  shared.state.store(1, ordering: .releasing)
  while !shared.stop.load(ordering: .relaxed) {
    let frame: FrameView
    do { frame = try source.nextFrame() } catch {
      shared.errorCode = error.code
      shared.errorMessage = error.message
      shared.state.store(2, ordering: .releasing)
      shared.wake()
      return
    }
    do { try shared.encodeAndPublish(frame, encoder: encoder, output: &output) } catch {
      shared.errorCode = error.code
      shared.errorMessage = error.message
      shared.state.store(2, ordering: .releasing)
      shared.wake()
      return
    }
  }
  shared.state.store(3, ordering: .releasing)
}

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

/// `rtcam serve`: binds the sockets, starts the capture thread, runs the network loop until
/// SIGINT/SIGTERM. Returns the exit code.
public func serve(_ o: ServeOptions) -> Int32 {
  logThreshold = o.logLevel
  rtc_ignore_sigpipe()
  let now0 = rtc_monotonic_ns()

  // ---- crypto identity ----
  do { try srtpInitialize() } catch {
    log(.error, "\(error.code): libsrtp2 failed to initialise")
    return 1
  }
  let random: DtlsRandom
  let cert: DtlsCertificate
  do {
    random = try DtlsRandom(personalization: "rtcam")
    cert = try DtlsCertificate.generate(commonName: "rtcam", random: random)
  } catch {
    log(.error, "\(error.code): cannot create the DTLS certificate: \(error.detail)")
    return 1
  }

  // ---- sockets ----
  var listenAddr = rtc_addr()
  guard rtc_addr_parse(o.listen, UInt16(o.httpPort), &listenAddr) == 0 else {
    log(.error, "BAD_LISTEN_ADDRESS: '\(o.listen)' is not a numeric IP address")
    return 2
  }
  var httpFd = rtc_bind_socket(&listenAddr, Int32(SOCK_STREAM.rawValue), 64)
  if httpFd == -EAFNOSUPPORT && o.listen == "::" {
    // No IPv6 on this machine: fall back to IPv4 only.
    _ = rtc_addr_parse("0.0.0.0", UInt16(o.httpPort), &listenAddr)
    httpFd = rtc_bind_socket(&listenAddr, Int32(SOCK_STREAM.rawValue), 64)
  }
  guard httpFd >= 0 else {
    log(.error, "HTTP_BIND_FAILED: cannot listen on \(o.listen) port \(o.httpPort): \(errnoText(-httpFd))")
    return 1
  }
  let v6 = rtc_addr_family(&listenAddr) == AF_INET6
  var hostText = [CChar](repeating: 0, count: 64)
  _ = rtc_addr_format(&listenAddr, &hostText, 64)
  let listenText = String(cString: hostText)
  var udpAddr = rtc_addr()
  _ = rtc_addr_parse(listenText, UInt16(o.udpPort), &udpAddr)
  let udpFd = rtc_bind_socket(&udpAddr, Int32(SOCK_DGRAM.rawValue), 0)
  guard udpFd >= 0 else {
    log(.error, "UDP_BIND_FAILED: cannot bind UDP port \(o.udpPort) on \(listenText): \(errnoText(-udpFd))")
    return 1
  }

  // ---- ICE candidates ----
  var candidates: [SocketAddress] = []
  if o.iceHosts.isEmpty {
    let c = AddressCollector()
    let ctx = Unmanaged.passUnretained(c).toOpaque()
    _ = rtc_list_interface_addrs(0, { ctx, _, addr in
      let col = Unmanaged<AddressCollector>.fromOpaque(ctx!).takeUnretainedValue()
      col.list.append(socketAddress(addr!.pointee))
    }, ctx)
    for a in c.list where v6 || a.isIPv4 {
      let cand = SocketAddress(ip: a.ip, port: UInt16(o.udpPort))
      if !candidates.contains(cand) { candidates.append(cand) }
    }
    if candidates.isEmpty {
      log(.warn, "no non-loopback interface address found; advertising 127.0.0.1 (use --ice-host)")
      candidates.append(SocketAddress(ip: [127, 0, 0, 1], port: UInt16(o.udpPort)))
    }
  } else {
    for h in o.iceHosts {
      var a = rtc_addr()
      guard rtc_addr_parse(h, UInt16(o.udpPort), &a) == 0 else {
        log(.error, "BAD_ICE_HOST: '\(h)' is not a numeric IP address")
        return 2
      }
      candidates.append(socketAddress(a))
    }
  }

  // ---- wake-up and stop pipes ----
  var wake: [Int32] = [0, 0]
  var stopPipe: [Int32] = [0, 0]
  guard pipe(&wake) == 0, pipe(&stopPipe) == 0 else {
    log(.error, "PIPE_FAILED: \(errnoText(rtc_errno()))")
    return 1
  }
  for fd in wake + stopPipe { _ = rtc_set_nonblocking(fd) }
  _ = rtc_install_stop_handler(stopPipe[1])

  // ---- source + encoder on the capture thread ----
  // V4L2: without --source, the camera at /dev/video0 if present, else the test pattern
  let defaultSource = defaultSourceSpec()
  if o.source == nil { log(.info, defaultSource.note) }
  let specText = o.source ?? defaultSource.spec
  guard let spec = SourceSpec.parse(specText) else {
    log(.error, "BAD_SOURCE: '\(specText)'")
    return 2
  }
  let ring = FrameRing(slots: 8, slotCapacity: 1 << 20)
  let shared = CaptureShared(ring: ring, wakeFd: wake[1])
  let core = ServerCore(options: o, certificate: cert, random: random, candidates: candidates, now: now0)
  core.logger = { level, msg in log(level, msg) }
  core.sourceStatus.spec = spec.description
  core.sourceStatus.bitrate = o.bitrate
  core.sourceStatus.width = o.width
  core.sourceStatus.height = o.height
  core.sourceStatus.fps = o.fps

  let settings = EncoderSettings(width: o.width, height: o.height, fps: o.fps, bitrate: o.bitrate)
  switch spec {
  case .testPattern:
    let src = TestPattern(width: o.width, height: o.height, fps: o.fps)
    guard startCapture(src, settings: settings, shared: shared, core: core) else { return 1 }
  case .y4m(let path):
    do {
      let src = try Y4MSource(path: path)
      core.sourceStatus.width = src.width
      core.sourceStatus.height = src.height
      core.sourceStatus.fps = src.fps
      var s = settings
      s.width = src.width
      s.height = src.height
      s.fps = src.fps
      guard startCapture(src, settings: s, shared: shared, core: core) else { return 1 }
    } catch {
      log(.error, "\(error.code): \(error.message)")
      core.sourceStatus.state = "failed"
      core.sourceStatus.errorCode = error.code
      core.sourceStatus.errorMessage = error.message
    }
  case .v4l2(let dev):
    // V4L2: the camera thread opens (and keeps reopening) the device itself
    guard startCameraCapture(device: dev, options: o, shared: shared) else { return 1 }
  }

  let shownHost = o.iceHosts.first ?? candidates.first?.ipString ?? "localhost"
  let urlHost = shownHost.utf8.contains(UInt8(ascii: ":")) ? "[" + shownHost + "]" : shownHost
  log(.info, "rtcam \(rtcamVersion) (\(buildArch)): HTTP on \(listenText) port \(o.httpPort), media on UDP port \(o.udpPort)")
  log(.info, "ICE host candidates: " + candidates.map { $0.description }.joined(separator: ", "))
  let st = core.sourceStatus
  log(.info, "source \(spec.description), \(st.width)x\(st.height) at \(st.fps) fps, \(o.bitrate / 1000) kbit/s H.264")
  log(.info, "watch at http://\(urlHost):\(o.httpPort)/")

  let loop = EventLoop(core: core, httpFd: httpFd, udpFd: udpFd, udpIsV6: v6,
    wakeFd: wake[0], stopFd: stopPipe[0], shared: shared)
  loop.run()
  shared.stop.store(true, ordering: .releasing)
  log(.info, "stopped")
  return 0
}

func startCapture<S: FrameSource>(_ source: S, settings: EncoderSettings, shared: CaptureShared, core: ServerCore) -> Bool {
  let encoder: H264Encoder
  do { encoder = try H264Encoder(settings) } catch {
    log(.error, "\(error.code): \(error.message)")
    core.sourceStatus.state = "failed"
    core.sourceStatus.errorCode = error.code
    core.sourceStatus.errorMessage = error.message
    return true
  }
  var src = source
  let ok = startThread(ThreadBody {
    captureLoop(source: &src, encoder: encoder, shared: shared)
  })
  if !ok { log(.error, "THREAD_FAILED: cannot start the capture thread") }
  return ok
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
