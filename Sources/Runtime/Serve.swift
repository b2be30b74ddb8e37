// `rtcam serve`: creates the identity, binds the sockets, starts the capture thread and runs
// the network loop.
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

/// `rtcam serve`: binds the sockets, starts the capture thread, runs the network loop until
/// SIGINT/SIGTERM. Returns the exit code.
public func serve(_ o: ServeOptions) -> Int32 {
  setLogThreshold(o.logLevel)
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

  let tlsConfig: TlsServerConfig?
  do { tlsConfig = try makeTlsConfig(o, random: random) } catch {
    log(.error, error.message)
    return error.exitCode
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
  var httpsFd: Int32 = -1
  if tlsConfig != nil {
    var httpsAddr = rtc_addr()
    _ = rtc_addr_parse(listenText, UInt16(o.httpsPort), &httpsAddr)
    httpsFd = rtc_bind_socket(&httpsAddr, Int32(SOCK_STREAM.rawValue), 64)
    guard httpsFd >= 0 else {
      log(.error, "HTTPS_BIND_FAILED: cannot listen on \(listenText) port \(o.httpsPort): \(errnoText(-httpsFd))")
      return 1
    }
  }
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
  let shared = CaptureShared(ring: ring, wakeFd: wake[1], stillOptions: o.stills)
  let core = ServerCore(options: o, certificate: cert, random: random, candidates: candidates, now: now0)
  core.logger = { level, msg in log(level, msg()) }
  core.requestKeyframe = { shared.requestKeyframe() }
  core.encodeTimes = { shared.counters().encodeTimes }
  core.startedUnixNs = rtc_realtime_ns()
  core.sourceStatus.spec = spec.description
  core.sourceStatus.bitrate = o.bitrate
  core.sourceStatus.format = SourceFormat(width: o.width, height: o.height, fps: o.fps)

  let settings = EncoderSettings(width: o.width, height: o.height, fps: o.fps, bitrate: o.bitrate, preset: o.preset)
  switch spec {
  case .testPattern:
    let src = TestPattern(width: o.width, height: o.height, fps: o.fps)
    guard startCapture(Transfer(src), settings: settings, shared: shared) else { return 1 }
  case .y4m(let path):
    do {
      let src = try Y4MSource(path: path)
      core.sourceStatus.format = SourceFormat(width: src.width, height: src.height, fps: src.fps)
      var s = settings
      s.width = src.width
      s.height = src.height
      s.fps = src.fps
      guard startCapture(Transfer(src), settings: s, shared: shared) else { return 1 }
    } catch {
      core.sourceChanged(.failed(.capture(error)))
    }
  case .v4l2(let dev):
    // V4L2: the camera thread opens (and keeps reopening) the device itself
    guard startCameraCapture(device: dev, options: o, shared: shared) else { return 1 }
  case .exec(let command):
    let argv = (try? splitCommandLine(command)) ?? []  // SourceSpec.parse accepted it
    guard startProcessCapture(name: spec.description, argv: argv, options: o, rawLumaStride: nil, shared: shared) else { return 1 }
  case .rpicam:
    let argv = rpicamCommand(width: o.width, height: o.height, fps: o.fps, extra: o.rpicamArgs)
    let stride = rpicamLumaStride(width: o.width, pisp: runsOnPiSP())
    log(.info, "rpicam: running " + argv.joined(separator: " "))
    if stride != o.width {
      log(.warn, "rpicam: width \(o.width) is not a multiple of 128: reading rows padded to \(stride) bytes, as this Pi's ISP writes them (a width that is a multiple of 128 needs no padding)")
    }
    guard startProcessCapture(name: "rpicam", argv: argv, options: o, rawLumaStride: stride, shared: shared) else { return 1 }
  case .stdin:
    guard startStdinCapture(options: o, shared: shared) else { return 1 }
  }

  let shownHost = o.iceHosts.first ?? candidates.first?.ipString ?? "localhost"
  let urlHost = shownHost.utf8.contains(UInt8(ascii: ":")) ? "[" + shownHost + "]" : shownHost
  log(.info, "rtcam \(rtcamVersion) (\(buildArch)): HTTP on \(listenText) port \(o.httpPort), media on UDP port \(o.udpPort)")
  log(.info, "ICE host candidates: " + candidates.map { $0.description }.joined(separator: ", "))
  let f = core.sourceStatus.format
  log(.info, "source \(spec.description), \(f.width)x\(f.height) at \(f.fps) fps, \(o.bitrate / 1000) kbit/s H.264, preset \(o.preset.name)")
  log(.info, "watch at http://\(urlHost):\(o.httpPort)/")

  if tlsConfig != nil {
    log(.info, "HTTPS on \(listenText) port \(o.httpsPort)" + (o.redirectHTTP ? "; HTTP redirects to it" : ""))
    log(.info, "watch at https://\(urlHost):\(o.httpsPort)/")
  }
  let loop = EventLoop(core: core, httpFd: httpFd, udpFd: udpFd, udpIsV6: v6,
    wakeFd: wake[0], stopFd: stopPipe[0], shared: shared, httpsFd: httpsFd, tls: tlsConfig)
  do { loop.forwards = try openForwards(o.forward, random: random, now: rtc_monotonic_ns()) } catch {
    log(.error, error.message)
    return error.exitCode
  }
  core.forwarders = loop.forwards.map { $0.core }
  for l in loop.forwards {
    let t = l.core.target
    log(.info, "forwarding to \(t.url) (RTCP port \(t.rtcpPort), H.264 payload type \(l.core.config.payloadType)" + (t.secure ? ", SRTP AES_CM_128_HMAC_SHA1_80)" : ")"))
  }
  // under systemd (Type=notify): ready once every socket is bound; the loop pings the watchdog
  let notifier = ServiceNotifier()
  if let n = notifier {
    n.send(ServiceNotify.ready(status: "serving on HTTP port " + String(o.httpPort) + ", source " + spec.description))
    if let i = n.policy.pingIntervalNs { log(.info, "systemd watchdog: a ping every " + String(Int(i / 1_000_000)) + " ms") }
  }
  loop.notifier = notifier
  loop.run()
  notifier?.send(ServiceNotify.stopping)
  shared.stop()
  switch spec {
  case .exec, .rpicam:
    // the program gets SIGTERM, then SIGKILL after 2 s, and is reaped before rtcam exits
    if !shared.waitForCaptureEnd(upToNs: 6_000_000_000) { log(.warn, "the source program did not stop in time") }
  default: break
  }
  log(.info, "stopped")
  return 0
}

