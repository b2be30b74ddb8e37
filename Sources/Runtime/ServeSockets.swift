// `rtcam serve` at start-up: the crypto identity, the listening sockets, the ICE host
// candidates and the wake-up pipes. Each failure is a StartupFailure with its code and exit code.
import App
import CRTCam
import DTLS
import SRTP
import Wire

/// The DTLS certificate (made at every start), the random generator and the HTTPS configuration.
struct Identity {
  var random: DtlsRandom
  var certificate: DtlsCertificate
  var tls: TlsServerConfig?
}

func makeIdentity(_ o: ServeOptions) throws(StartupFailure) -> Identity {
  do { try srtpInitialize() } catch {
    throw StartupFailure(exitCode: 1, message: "\(error.code): libsrtp2 failed to initialise")
  }
  let random: DtlsRandom
  let cert: DtlsCertificate
  do {
    random = try DtlsRandom(personalization: "rtcam")
    cert = try DtlsCertificate.generate(commonName: "rtcam", random: random)
  } catch {
    throw StartupFailure(exitCode: 1, message: "\(error.code): cannot create the DTLS certificate: \(error.detail)")
  }
  return Identity(random: random, certificate: cert, tls: try makeTlsConfig(o, random: random))
}

/// The listening sockets and the address they are bound to.
struct BoundSockets {
  var http: Int32
  var https: Int32
  var udp: Int32
  /// RTSP: the TCP listener and the UDP RTP and RTCP sockets (-1 when --rtsp-port is 0).
  var rtsp: Int32 = -1
  var rtspRtp: Int32 = -1
  var rtspRtcp: Int32 = -1
  var v6: Bool
  /// The listen address as text ("::", "127.0.0.1").
  var listenText: String
}

func bindSockets(_ o: ServeOptions, https: Bool) throws(StartupFailure) -> BoundSockets {
  var listenAddr = rtc_addr()
  guard rtc_addr_parse(o.listen, UInt16(o.httpPort), &listenAddr) == 0 else {
    throw StartupFailure(exitCode: 2, message: "BAD_LISTEN_ADDRESS: '\(o.listen)' is not a numeric IP address")
  }
  var httpFd = rtc_bind_socket(&listenAddr, Int32(SOCK_STREAM.rawValue), 64)
  if httpFd == -EAFNOSUPPORT && o.listen == "::" {
    // No IPv6 on this machine: fall back to IPv4 only.
    _ = rtc_addr_parse("0.0.0.0", UInt16(o.httpPort), &listenAddr)
    httpFd = rtc_bind_socket(&listenAddr, Int32(SOCK_STREAM.rawValue), 64)
  }
  guard httpFd >= 0 else {
    throw StartupFailure(exitCode: 1,
      message: "HTTP_BIND_FAILED: cannot listen on \(o.listen) port \(o.httpPort): \(errnoText(-httpFd))")
  }
  let v6 = rtc_addr_family(&listenAddr) == AF_INET6
  var hostText = [CChar](repeating: 0, count: 64)
  _ = rtc_addr_format(&listenAddr, &hostText, 64)
  let listenText = String(cString: hostText)
  var httpsFd: Int32 = -1
  if https {
    var httpsAddr = rtc_addr()
    _ = rtc_addr_parse(listenText, UInt16(o.httpsPort), &httpsAddr)
    httpsFd = rtc_bind_socket(&httpsAddr, Int32(SOCK_STREAM.rawValue), 64)
    guard httpsFd >= 0 else {
      throw StartupFailure(exitCode: 1,
        message: "HTTPS_BIND_FAILED: cannot listen on \(listenText) port \(o.httpsPort): \(errnoText(-httpsFd))")
    }
  }
  var udpAddr = rtc_addr()
  _ = rtc_addr_parse(listenText, UInt16(o.udpPort), &udpAddr)
  let udpFd = rtc_bind_socket(&udpAddr, Int32(SOCK_DGRAM.rawValue), 0)
  guard udpFd >= 0 else {
    throw StartupFailure(exitCode: 1,
      message: "UDP_BIND_FAILED: cannot bind UDP port \(o.udpPort) on \(listenText): \(errnoText(-udpFd))")
  }
  var bound = BoundSockets(http: httpFd, https: httpsFd, udp: udpFd, v6: v6, listenText: listenText)
  if o.rtsp.port > 0 {
    (bound.rtsp, bound.rtspRtp, bound.rtspRtcp) = try bindRtspSockets(o, listenText: listenText)
  }
  return bound
}

/// RTSP's TCP listener on --rtsp-port and its UDP pair: RTP on the same port number, RTCP on the
/// next (what SETUP's server_port says to UDP clients).
func bindRtspSockets(_ o: ServeOptions, listenText: String) throws(StartupFailure) -> (Int32, Int32, Int32) {
  let p = o.rtsp.port
  guard p + 1 <= 65_535 else {
    throw StartupFailure(exitCode: 2, message: "BAD_RTSP_PORT: --rtsp-port \(p) leaves no port above it for RTCP")
  }
  var a = rtc_addr()
  _ = rtc_addr_parse(listenText, UInt16(p), &a)
  let tcp = rtc_bind_socket(&a, Int32(SOCK_STREAM.rawValue), 64)
  guard tcp >= 0 else {
    throw StartupFailure(exitCode: 1,
      message: "RTSP_BIND_FAILED: cannot listen on \(listenText) TCP port \(p): \(errnoText(-tcp)) (--rtsp-port 0 turns RTSP off)")
  }
  let rtp = rtc_bind_socket(&a, Int32(SOCK_DGRAM.rawValue), 0)
  var b = rtc_addr()
  _ = rtc_addr_parse(listenText, UInt16(p + 1), &b)
  let rtcp = rtp >= 0 ? rtc_bind_socket(&b, Int32(SOCK_DGRAM.rawValue), 0) : rtp
  guard rtp >= 0, rtcp >= 0 else {
    close(tcp)
    if rtp >= 0 { close(rtp) }
    throw StartupFailure(exitCode: 1, message: "RTSP_BIND_FAILED: cannot bind UDP ports \(p) and \(p + 1) on \(listenText) "
      + "for RTSP's RTP and RTCP: \(errnoText(-min(rtp, rtcp))) (--rtsp-port 0 turns RTSP off)")
  }
  return (tcp, rtp, rtcp)
}

/// The host candidates the answers advertise: --ice-host, or every interface address (IPv4
/// only when the socket is), or 127.0.0.1 when there is none.
func iceCandidates(_ o: ServeOptions, v6: Bool) throws(StartupFailure) -> [SocketAddress] {
  var candidates: [SocketAddress] = []
  guard o.iceHosts.isEmpty else {
    for h in o.iceHosts {
      var a = rtc_addr()
      guard rtc_addr_parse(h, UInt16(o.udpPort), &a) == 0 else {
        throw StartupFailure(exitCode: 2, message: "BAD_ICE_HOST: '\(h)' is not a numeric IP address")
      }
      candidates.append(socketAddress(a))
    }
    return candidates
  }
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
  return candidates
}

/// The capture side's wake-up pipe and the stop pipe SIGINT/SIGTERM write to (both
/// non-blocking).
func makeWakePipes() throws(StartupFailure) -> (wake: (read: Int32, write: Int32), stop: (read: Int32, write: Int32)) {
  var wake: [Int32] = [0, 0]
  var stopPipe: [Int32] = [0, 0]
  guard pipe(&wake) == 0, pipe(&stopPipe) == 0 else {
    throw StartupFailure(exitCode: 1, message: "PIPE_FAILED: \(errnoText(rtc_errno()))")
  }
  for fd in wake + stopPipe { _ = rtc_set_nonblocking(fd) }
  _ = rtc_install_stop_handler(stopPipe[1])
  return ((wake[0], wake[1]), (stopPipe[0], stopPipe[1]))
}
