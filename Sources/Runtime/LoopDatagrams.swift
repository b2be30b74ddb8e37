// Datagrams in the loop: the shared UDP port (viewers) and the forwards' connected sockets.
import App
import CRTCam
import Peer
import Wire

extension EventLoop {
  /// Sends one datagram on the shared UDP socket. The C address of each destination is made once
  /// and kept (one per viewer address), so sending to several viewers converts nothing per packet.
  func sendDatagram(_ bytes: UnsafeRawBufferPointer, _ to: SocketAddress, on socket: Int32? = nil) {
    let fd = socket ?? sockets.udp
    let t0 = sendTimer.timing ? io.monotonicNs() : 0
    defer { if sendTimer.timing { sendTimer.add(io.monotonicNs() &- t0) } }
    if var a = cAddresses[to] {
      _ = io.sendTo(fd, bytes, to: &a)
      return
    }
    guard var a = cAddress(to, forIPv6Socket: sockets.udpIsV6) else { return }
    // Bounded: addresses come from authenticated ICE checks; start over if it somehow fills.
    if cAddresses.count >= maxCachedAddresses { cAddresses.removeAll(keepingCapacity: true) }
    cAddresses[to] = a
    _ = io.sendTo(fd, bytes, to: &a)
  }

  /// RTCP reports and keep-alives on RTSP's UDP ports (bounded per wake-up, like the viewers').
  func readRtspDatagrams(_ fd: Int32, now: UInt64) {
    for _ in 0..<16 {
      var from = rtc_addr()
      let n = recvBuffer.withUnsafeMutableBytes { io.receiveFrom(fd, into: $0, from: &from) }
      if n <= 0 { return }
      let source = socketAddress(from)
      recvBuffer.withUnsafeBytes { core.handleRtspDatagram(UnsafeRawBufferPointer(rebasing: $0[0..<n]), from: source, now: now) }
      settle()
    }
  }

  func readDatagrams(now: UInt64) {
    // Bounded per wake-up so that HTTP and frames are never starved.
    for _ in 0..<64 {
      var from = rtc_addr()
      let n = recvBuffer.withUnsafeMutableBytes { io.receiveFrom(sockets.udp, into: $0, from: &from) }
      if n <= 0 { return }
      let source = socketAddress(from)
      recvBuffer.withUnsafeMutableBytes { b in
        core.handleDatagram(UnsafeMutableRawBufferPointer(rebasing: b[0..<n]), from: source, now: now)
      }
      settle()
    }
  }

  /// One datagram on one of forward `index`'s sockets, never waiting: a full buffer drops it.
  func forwardSend(_ index: Int, _ channel: ForwardChannel, _ bytes: UnsafeRawBufferPointer) -> ForwardSendResult {
    guard sockets.forwards.indices.contains(index) else { return .failed(EBADF) }
    let f = sockets.forwards[index]
    let t0 = sendTimer.timing ? io.monotonicNs() : 0
    let n = io.send(channel == .rtp ? f.rtp : f.rtcp, bytes)
    if sendTimer.timing { sendTimer.add(io.monotonicNs() &- t0) }
    if n >= 0 { return .sent }
    let e = Int32(-n)
    switch e {
    case EAGAIN, ENOBUFS: return .wouldBlock
    case ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EHOSTDOWN: return .unreachable(e)
    default: return .failed(e)
    }
  }

  /// Feedback on forward `index`'s RTCP socket.
  func readForwardFeedback(_ index: Int, now: UInt64) {
    let fd = sockets.forwards[index].rtcp
    // Bounded per wake-up (Janus sends a few packets a second); a pending ICMP error (the
    // target's RTCP port is closed) is returned by recv and so cleared, the send side counts it.
    for _ in 0..<16 {
      let n = recvBuffer.withUnsafeMutableBytes { io.receive(fd, into: $0) }
      if n == -Int(EAGAIN) || n == 0 { break }
      if n < 0 { continue }
      recvBuffer.withUnsafeBytes { core.handleForwardRtcp(index, UnsafeRawBufferPointer(rebasing: $0[0..<n]), now: now) }
      settle()
    }
  }
}
