// --forward in the network loop: two connected UDP sockets per target (RTP; RTCP out and
// feedback in), the frames and timers handed to each Forwarder, its events carried out.
import App
import CRTCam
import DTLS
import Peer
import SRTP
import Wire

/// One forward: its core and its sockets. The RTP socket is connected to HOST:PORT, the RTCP
/// one to HOST:RTCP-PORT, so each hears only its own peer and ICMP errors come back to it.
final class ForwardLink {
  let core: Forwarder
  let rtpFd: Int32
  let rtcpFd: Int32

  init(core: Forwarder, rtpFd: Int32, rtcpFd: Int32) {
    self.core = core
    self.rtpFd = rtpFd
    self.rtcpFd = rtcpFd
  }
}

/// Why forwards could not start (the message is logged; exit 2 or 1).
struct ForwardStartError: Error {
  var message: String
  var exitCode: Int32
}

/// Opens every --forward target's sockets and makes its core (random SSRC, sequence number and
/// timestamp offset per target, like a viewer's).
func openForwards(_ o: ForwardOptions, random: DtlsRandom, now: UInt64) throws(ForwardStartError) -> [ForwardLink] {
  var links: [ForwardLink] = []
  for t in o.targets {
    var rtpAddr = rtc_addr()
    var rtcpAddr = rtc_addr()
    guard rtc_addr_parse(t.host, t.port, &rtpAddr) == 0, rtc_addr_parse(t.host, t.rtcpPort, &rtcpAddr) == 0 else {
      throw ForwardStartError(message: "BAD_FORWARD_ADDRESS: '\(t.host)' in \(t.url) is not a numeric IP address", exitCode: 2)
    }
    let rtpFd = rtc_udp_connect(&rtpAddr)
    let rtcpFd = rtpFd >= 0 ? rtc_udp_connect(&rtcpAddr) : rtpFd
    guard rtpFd >= 0, rtcpFd >= 0 else {
      if rtpFd >= 0 { close(rtpFd) }
      throw ForwardStartError(message: "FORWARD_SOCKET_FAILED: \(t.url): \(errnoText(-min(rtpFd, rtcpFd)))", exitCode: 1)
    }
    let r = random.bytes(12)
    var c = ForwardConfig(ssrc: loadU32(r, 0) | 1, initialSequence: loadU16(r, 4) & 0x7FFF, timestampOffset: loadU32(r, 8))
    c.srtp = t.secure ? o.key : nil
    c.keyframeIntervalNs = UInt64(o.keyframeIntervalSeconds) * 1_000_000_000
    let core: Forwarder
    do { core = try Forwarder(target: t, config: c, now: now) } catch {
      close(rtpFd)
      close(rtcpFd)
      throw ForwardStartError(message: "FORWARD_SRTP_FAILED: \(t.url): \(error.code)", exitCode: 1)
    }
    links.append(ForwardLink(core: core, rtpFd: rtpFd, rtcpFd: rtcpFd))
  }
  return links
}

extension EventLoop {
  /// One datagram on one of the forward's sockets, never waiting: a full buffer drops it.
  func forwardSend(_ link: ForwardLink, _ bytes: UnsafeRawBufferPointer, _ channel: ForwardChannel) -> ForwardSendResult {
    let fd = channel == .rtp ? link.rtpFd : link.rtcpFd
    let n = rtc_send_nb(fd, bytes.baseAddress, bytes.count)
    if n >= 0 { return .sent }
    let e = Int32(-n)
    switch e {
    case EAGAIN, ENOBUFS: return .wouldBlock
    case ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EHOSTDOWN: return .unreachable(e)
    default: return .failed(e)
    }
  }

  /// Hands one encoded access unit to every forward.
  func forwardFrame(_ au: UnsafeRawBufferPointer, captureTimeNs: UInt64, isKeyframe: Bool, now: UInt64) {
    for link in forwards {
      link.core.sendFrame(au, captureTimeNs: captureTimeNs, isKeyframe: isKeyframe, now: now) { b, ch in
        forwardSend(link, b, ch)
      }
      if link.core.hasEvents { forwardEvents(link) }
    }
  }

  /// The RTCP sockets, for poll(2).
  func appendForwardPollfds() {
    for link in forwards { pollfds.append(pollfd(fd: link.rtcpFd, events: Int16(POLLIN), revents: 0)) }
  }

  /// Reads feedback if `fd` is a forward's RTCP socket; false if it is not one.
  func serviceForward(_ fd: Int32, now: UInt64) -> Bool {
    guard let link = forwards.first(where: { $0.rtcpFd == fd }) else { return false }
    // Bounded per wake-up (Janus sends a few packets a second); a pending ICMP error (the
    // target's RTCP port is closed) is returned by recv and so cleared, the send side counts it.
    for _ in 0..<16 {
      let n = recvBuffer.withUnsafeMutableBytes { rtc_recv_nb(fd, $0.baseAddress, $0.count) }
      if n == -Int(EAGAIN) || n == 0 { break }
      if n < 0 { continue }
      recvBuffer.withUnsafeBytes { link.core.receiveRtcp(UnsafeRawBufferPointer(rebasing: $0[0..<n]), now: now) }
    }
    if link.core.hasEvents { forwardEvents(link) }
    return true
  }

  /// The forwards' timers (sender reports, keyframe requests, recovery, error lines).
  func pollForwards(now: UInt64, unixNs: UInt64) {
    for link in forwards {
      if let d = link.core.nextDeadline, now >= d {
        link.core.poll(now: now, unixNs: unixNs) { b, ch in forwardSend(link, b, ch) }
      }
      if link.core.hasEvents { forwardEvents(link) }
    }
  }

  var forwardDeadline: UInt64? {
    var d: UInt64? = nil
    for link in forwards { if let t = link.core.nextDeadline { d = min(d ?? t, t) } }
    return d
  }

  func forwardEvents(_ link: ForwardLink) {
    let url = link.core.target.url
    for e in link.core.takeEvents() {
      switch e {
      case .keyframeNeeded(let why):
        log(.debug, "forward \(url): keyframe requested (\(why))")
        core.requestKeyframe()
      case .unreachable(let errno):
        log(.warn, "forward \(url): FORWARD_UNREACHABLE: \(errnoText(errno)); local viewers are not affected, retrying")
      case .recovered(let ns, let restarted):
        log(.info, "forward \(url): target back after \(ns / 1_000_000) ms" + (restarted ? "; SRTP state restarted" : ""))
      case .sendErrors(let count, let errno):
        log(.warn, "forward \(url): \(count) send error(s), the last: \(errnoText(errno)) (logged at most every 10 s)")
      case .srtpFailed(let code):
        log(.error, "forward \(url): \(code)")
      }
    }
  }
}
