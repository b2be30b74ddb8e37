// The system calls of the network loop, behind one generic parameter: the real ones for rtcam,
// a scripted fake for the loop's tests (Tests/RuntimeTests).
import CRTCam

/// What the network loop asks of the operating system. Failures come back as -errno.
protocol LoopIO {
  /// poll(2) over `fds`; the number of descriptors with events, 0 on timeout, -errno.
  mutating func poll(_ fds: UnsafeMutableBufferPointer<pollfd>, timeoutMs: Int32) -> Int32
  /// read(2)/write(2) on a client connection or a pipe: bytes, 0 at the end, -errno.
  mutating func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int
  mutating func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int
  /// A datagram on the shared UDP socket, and its source.
  mutating func receiveFrom(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, from: inout rtc_addr) -> Int
  mutating func sendTo(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, to: inout rtc_addr) -> Int
  /// A datagram on a connected UDP socket (the forwards'), never waiting.
  mutating func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int
  mutating func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int
  /// accept(2), non-blocking and close-on-exec: the new descriptor or -errno.
  mutating func accept(_ fd: Int32, peer: inout rtc_addr) -> Int32
  mutating func close(_ fd: Int32)
  /// SO_SNDBUF.
  mutating func setSendBuffer(_ fd: Int32, bytes: Int32)
  func monotonicNs() -> UInt64
  func realtimeNs() -> UInt64
  /// SIGINT or SIGTERM arrived.
  func stopRequested() -> Bool
}

/// The real system calls.
struct SystemIO: LoopIO {
  static func result(_ n: Int) -> Int { n >= 0 ? n : -Int(rtc_errno()) }

  func poll(_ fds: UnsafeMutableBufferPointer<pollfd>, timeoutMs: Int32) -> Int32 {
    let n = CRTCam.poll(fds.baseAddress, nfds_t(fds.count), timeoutMs)
    return n >= 0 ? n : -rtc_errno()
  }

  func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
    Self.result(CRTCam.read(fd, buffer.baseAddress, buffer.count))
  }

  func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
    Self.result(CRTCam.write(fd, bytes.baseAddress, bytes.count))
  }

  func receiveFrom(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, from: inout rtc_addr) -> Int {
    Self.result(rtc_recvfrom(fd, buffer.baseAddress, buffer.count, &from))
  }

  func sendTo(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, to: inout rtc_addr) -> Int {
    Self.result(rtc_sendto(fd, bytes.baseAddress, bytes.count, &to))
  }

  func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int { rtc_send_nb(fd, bytes.baseAddress, bytes.count) }

  func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
    rtc_recv_nb(fd, buffer.baseAddress, buffer.count)
  }

  func accept(_ fd: Int32, peer: inout rtc_addr) -> Int32 {
    let c = rtc_accept(fd, &peer)
    return c >= 0 ? c : -rtc_errno()
  }

  func close(_ fd: Int32) { _ = CRTCam.close(fd) }

  func setSendBuffer(_ fd: Int32, bytes: Int32) {
    var size = bytes
    _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
  }

  func monotonicNs() -> UInt64 { rtc_monotonic_ns() }
  func realtimeNs() -> UInt64 { rtc_realtime_ns() }
  func stopRequested() -> Bool { rtc_stop_requested() != 0 }
}
