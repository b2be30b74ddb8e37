// A scripted operating system for the network loop: descriptors with queued input, connections
// waiting to be accepted, datagrams, a clock that jumps to each poll's deadline, and a record of
// every write, send and close.
import App
import CRTCam
import Wire

@testable import Runtime

final class FakeSystem {
  var now: UInt64 = 1_000_000_000
  /// Bytes waiting to be read, per descriptor (client connections, pipes); an empty entry in
  /// the list is an end of stream.
  var input: [Int32: [[UInt8]]] = [:]
  /// Connections waiting on a listener: (new descriptor, peer).
  var accepts: [Int32: [(fd: Int32, peer: SocketAddress)]] = [:]
  var datagrams: [(bytes: [UInt8], from: SocketAddress)] = []
  /// Every write(2) call per descriptor, with the bytes it wrote.
  var writes: [Int32: [[UInt8]]] = [:]
  var sentTo: [(bytes: [UInt8], to: SocketAddress)] = []
  var closed: [Int32] = []
  var sendBuffers: [Int32: Int32] = [:]
  /// poll(2) calls so far; `stopRequested` turns true after `stopAfterPolls`.
  var polls = 0
  var stopAfterPolls = 10
  /// What the loop watched in its last poll, and for which events.
  var lastWatched: [Int32: Int16] = [:]

  func written(_ fd: Int32) -> [UInt8] { (writes[fd] ?? []).flatMap { $0 } }
}

/// `LoopIO` over a `FakeSystem` (a value holding the shared reference, as the loop keeps its IO).
struct FakeIO: LoopIO {
  let system: FakeSystem

  func poll(_ fds: UnsafeMutableBufferPointer<pollfd>, timeoutMs: Int32) -> Int32 {
    let s = system
    s.polls += 1
    s.lastWatched = [:]
    var ready: Int32 = 0
    for i in 0..<fds.count {
      let fd = fds[i].fd
      s.lastWatched[fd] = fds[i].events
      var revents: Int16 = 0
      let wantsIn = fds[i].events & Int16(POLLIN) != 0
      if wantsIn && (!(s.input[fd] ?? []).isEmpty || !(s.accepts[fd] ?? []).isEmpty) { revents |= Int16(POLLIN) }
      if fds[i].events & Int16(POLLOUT) != 0 { revents |= Int16(POLLOUT) }
      fds[i].revents = revents
      if revents != 0 { ready += 1 }
    }
    if ready == 0 && s.datagrams.isEmpty { s.now += UInt64(max(timeoutMs, 1)) * 1_000_000 }
    return ready
  }

  func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
    guard var queue = system.input[fd], !queue.isEmpty else { return -Int(EAGAIN) }
    let chunk = queue.removeFirst()
    let n = min(chunk.count, buffer.count)
    if n > 0 { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: chunk.withUnsafeBytes { $0 }[0..<n])) }
    if n < chunk.count { queue.insert(Array(chunk[n...]), at: 0) }
    system.input[fd] = queue
    return n
  }

  func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
    system.writes[fd, default: []].append(Array(bytes))
    return bytes.count
  }

  func receiveFrom(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, from: inout rtc_addr) -> Int {
    guard !system.datagrams.isEmpty else { return -Int(EAGAIN) }
    let d = system.datagrams.removeFirst()
    guard let a = cAddress(d.from, forIPv6Socket: false) else { return -Int(EINVAL) }
    from = a
    let n = min(d.bytes.count, buffer.count)
    d.bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    return n
  }

  func sendTo(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, to: inout rtc_addr) -> Int {
    system.sentTo.append((Array(bytes), socketAddress(to)))
    return bytes.count
  }

  func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int { bytes.count }
  func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int { -Int(EAGAIN) }

  func accept(_ fd: Int32, peer: inout rtc_addr) -> Int32 {
    guard var queue = system.accepts[fd], !queue.isEmpty else { return -EAGAIN }
    let c = queue.removeFirst()
    system.accepts[fd] = queue
    if let a = cAddress(c.peer, forIPv6Socket: false) { peer = a }
    return c.fd
  }

  func close(_ fd: Int32) { system.closed.append(fd) }
  func setSendBuffer(_ fd: Int32, bytes: Int32) { system.sendBuffers[fd] = bytes }
  func monotonicNs() -> UInt64 { system.now }
  func realtimeNs() -> UInt64 { 1_700_000_000_000_000_000 &+ system.now }
  func stopRequested() -> Bool { system.polls >= system.stopAfterPolls }
}
