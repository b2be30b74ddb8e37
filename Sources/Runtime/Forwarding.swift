// --forward at start-up: two connected UDP sockets per target (RTP; RTCP out and feedback in)
// and its core. The loop carries the datagrams (LoopDatagrams.swift); the core drives them.
import App
import CRTCam
import DTLS
import Peer
import SRTP
import Wire

/// Why forwards could not start (the message is logged; exit 2 or 1).
struct ForwardStartError: Error {
  var message: String
  var exitCode: Int32
}

/// Opens every --forward target's sockets (RTP to HOST:PORT, RTCP to HOST:RTCP-PORT, so each
/// hears only its own peer and ICMP errors come back to it) and makes its core (random SSRC,
/// sequence number and timestamp offset per target, like a viewer's).
func openForwards(_ o: ForwardOptions, temporalLayers: Int, random: DtlsRandom, now: UInt64) throws(ForwardStartError)
  -> (cores: [Forwarder], sockets: [(rtp: Int32, rtcp: Int32)])
{
  var cores: [Forwarder] = []
  var socks: [(rtp: Int32, rtcp: Int32)] = []
  func closeAll() { for s in socks { close(s.rtp); close(s.rtcp) } }
  for t in o.targets {
    var rtpAddr = rtc_addr()
    var rtcpAddr = rtc_addr()
    guard rtc_addr_parse(t.host, t.port, &rtpAddr) == 0, rtc_addr_parse(t.host, t.rtcpPort, &rtcpAddr) == 0 else {
      closeAll()
      throw ForwardStartError(message: "BAD_FORWARD_ADDRESS: '\(t.host)' in \(t.url) is not a numeric IP address", exitCode: 2)
    }
    let rtpFd = rtc_udp_connect(&rtpAddr)
    let rtcpFd = rtpFd >= 0 ? rtc_udp_connect(&rtcpAddr) : rtpFd
    guard rtpFd >= 0, rtcpFd >= 0 else {
      if rtpFd >= 0 { close(rtpFd) }
      closeAll()
      throw ForwardStartError(message: "FORWARD_SOCKET_FAILED: \(t.url): \(errnoText(-min(rtpFd, rtcpFd)))", exitCode: 1)
    }
    let r = random.bytes(12)
    var c = ForwardConfig(ssrc: loadU32(r, 0) | 1, initialSequence: loadU16(r, 4) & 0x7FFF, timestampOffset: loadU32(r, 8))
    c.srtp = t.secure ? o.key : nil
    c.keyframeIntervalNs = UInt64(o.keyframeIntervalSeconds) * 1_000_000_000
    c.temporalLayers = UInt8(clamping: temporalLayers)
    do { cores.append(try Forwarder(target: t, config: c, now: now)) } catch {
      close(rtpFd)
      close(rtcpFd)
      closeAll()
      throw ForwardStartError(message: "FORWARD_SRTP_FAILED: \(t.url): \(error.code)", exitCode: 1)
    }
    socks.append((rtpFd, rtcpFd))
  }
  return (cores, socks)
}
