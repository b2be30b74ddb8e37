// HTTP and HTTPS client connections in the loop: accepting, reading (through TLS where it
// applies), queueing and writing the core's bytes, closing.
import App
import CRTCam
import DTLS
import Wire

/// The bytes queued for one HTTP client connection. A class, so that queueing and writing change
/// it in place without the table's in-place update (which allocates its accessor's frame).
final class PendingOutput {
  var bytes: [UInt8] = []
  var offset = 0
  /// In the loop's `written` list (bytes were queued since the last flush).
  var listed = false
  var isEmpty: Bool { offset >= bytes.count }
  /// A file body being sent after the queued bytes (`sendFile`): its descriptor, the next offset
  /// and the bytes still to send.
  var file: Int32 = -1
  var fileOffset: UInt64 = 0
  var fileRemaining: UInt64 = 0

  /// The file's next bytes as the output (once what was queued is written): at most 64 KB at a
  /// time, so a recording costs the same memory as any answer. False when the file ends early or
  /// cannot be read.
  func refill() -> Bool {
    bytes.removeAll(keepingCapacity: true)
    offset = 0
    return readFile(into: &bytes, at: 64 * 1024)
  }

  /// Appends the file's next bytes (at most `most`) to `out`.
  func readFile(into out: inout [UInt8], at most: Int) -> Bool {
    let n = Int(min(fileRemaining, UInt64(most)))
    let start = out.count
    out.reserveWithHeadroom(start + n)
    out.append(contentsOf: repeatElement(0, count: n))
    let got = out.withUnsafeMutableBytes { pread(file, $0.baseAddress! + start, n, off_t(fileOffset)) }
    guard got == n else { return false }
    fileOffset += UInt64(n)
    fileRemaining -= UInt64(n)
    if fileRemaining == 0 { closeFile() }
    return true
  }

  func closeFile() {
    if file >= 0 { close(file) }
    file = -1
    fileRemaining = 0
  }

  /// Appends, reusing the buffer's capacity once everything before was written.
  func queue(_ more: [UInt8]) {
    makeRoom(more.count)
    bytes.append(contentsOf: more)
  }

  /// Appends raw bytes (interleaved RTSP media): no allocation once the buffer has grown.
  func queue(raw more: UnsafeRawBufferPointer) {
    makeRoom(more.count)
    bytes.append(contentsOf: more)
  }

  /// Room for `n` more bytes; the buffer starts over (keeping its capacity) once all was written.
  func makeRoom(_ n: Int) {
    if isEmpty { bytes.removeAll(keepingCapacity: true); offset = 0 }
    bytes.reserveWithHeadroom(bytes.count + n)
  }
}

extension EventLoop {
  func acceptClients(_ listener: Int32, now: UInt64) {
    // bounded per wake-up, so a flood of connections cannot starve UDP and frames
    for _ in 0..<16 {
      var peer = rtc_addr()
      let fd = io.accept(listener, peer: &peer)
      if fd < 0 { return }
      let secure = listener == sockets.https
      if secure, let tls {
        guard let conn = try? TlsConnection(config: tls, now: now) else {
          io.close(fd)
          continue
        }
        tlsConns[fd] = conn
      }
      outputs[fd] = PendingOutput()
      if listener == sockets.rtsp {
        // the kernel's share of a slow client's backlog stays small (Linux doubles this), so
        // that the core's bound (RtspServerLimits.maxBacklogBytes) decides when it skips frames
        io.setSendBuffer(fd, bytes: 64 * 1024)
        // its output holds at most the backlog bound plus a frame: reserved now, so the packet
        // path never grows it (the pages are only resident once written)
        outputs[fd]?.bytes.reserveCapacity(core.options.rtsp.limits.maxBacklogBytes + 256 * 1024)
        core.handleConnection(.acceptedRtsp(fd, peer: socketAddress(peer)), now: now)
      } else {
        core.handleConnection(.accepted(fd, peer: socketAddress(peer), secure: secure), now: now)
      }
      settle()
    }
  }

  func serviceClient(_ fd: Int32, revents: Int16, now: UInt64) {
    guard outputs[fd] != nil else { return }
    // whatever happened (bytes, a flush, a hang-up) is news for the core
    defer { settle() }
    if revents & Int16(POLLOUT) != 0 { flush(fd) }
    guard outputs[fd] != nil else { return }
    let wants = core.wantsInput(fd)
    if revents & Int16(POLLHUP | POLLERR) != 0 && !wants {
      closeClient(fd, gone: true)
      return
    }
    guard revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 && wants else { return }
    let n = recvBuffer.withUnsafeMutableBytes { io.read(fd, into: $0) }
    if n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR) {
      closeClient(fd, gone: true)
      return
    }
    guard n > 0 else { return }
    if let conn = tlsConns[fd] {
      let plain = recvBuffer.withUnsafeBytes { conn.receive(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
      queueTls(fd, conn)
      if conn.state == .closed {
        if let e = conn.failure { log(.debug, "HTTPS fd \(fd): \(e.code): \(e.message)") }
        flush(fd)
        closeClient(fd, gone: true)
        return
      }
      guard !plain.isEmpty else {
        flush(fd)
        return
      }
      plain.withUnsafeBytes { core.handleConnection(.received(fd, $0), now: now) }
    } else {
      recvBuffer.withUnsafeBytes { core.handleConnection(.received(fd, UnsafeRawBufferPointer(rebasing: $0[0..<n])), now: now) }
    }
  }

  /// Carries out one of the core's connection actions.
  func perform(_ a: ConnectionAction) {
    switch a {
    case .write(let fd, let bytes):
      guard outputs[fd] != nil else { return }
      if let conn = tlsConns[fd] {
        conn.send(bytes)
        queueTls(fd, conn)
      } else {
        queue(fd, bytes)
      }
    case .close(let fd):
      if let conn = tlsConns[fd] {
        conn.close()
        queueTls(fd, conn)
      }
      if let o = outputs[fd], !o.isEmpty { flush(fd, tellCore: false) }  // best effort for a last response
      closeClient(fd)
    case .streamStarted(let fd):
      // a few 640x480 parts; the kernel may round it (Linux doubles what it is given)
      io.setSendBuffer(fd, bytes: 128 * 1024)
    case .sendFile(let fd, let path, let offset, let length):
      guard let o = outputs[fd] else { return }
      let f = rtc_open(path, O_RDONLY | O_CLOEXEC, 0)
      guard f >= 0 else {
        log(.warn, "HTTP fd \(fd): cannot open \(path): \(errnoText(rtc_errno())); the connection is closed")
        closeClient(fd, gone: true)
        return
      }
      o.closeFile()
      o.file = f
      o.fileOffset = offset
      o.fileRemaining = length
      markWritten(fd, o)
    }
  }

  /// Appends bytes to the connection's output as they are (TLS records, or plain HTTP); the
  /// connection is flushed once after the core's outputs (`settle`).
  func queue(_ fd: Int32, _ bytes: [UInt8]) {
    guard !bytes.isEmpty, let o = outputs[fd] else { return }
    o.queue(bytes)
    markWritten(fd, o)
  }

  /// Interleaved RTSP bytes for a connection, queued in place (written at the next flush).
  func queueRaw(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) {
    guard let o = outputs[fd] else { return }
    o.queue(raw: bytes)
    markWritten(fd, o)
  }

  /// The connection has something to write: it is flushed once after the core's outputs.
  func markWritten(_ fd: Int32, _ o: PendingOutput) {
    guard !o.listed else { return }
    o.listed = true
    written.append(fd)
  }

  /// The TLS connection's records for the socket.
  func queueTls(_ fd: Int32, _ conn: TlsConnection) {
    while case .transmit(let records) = conn.pollOutput() { queue(fd, records) }
  }

  /// Writes every connection that got bytes since the last call, once each. True if the core was
  /// told something (a connection flushed or gone): it may have more to say.
  func flushWritten() -> Bool {
    guard !written.isEmpty else { return false }
    var toldCore = false
    // (an index loop: flushing may close connections and so change `outputs`, never `written`)
    var i = 0
    while i < written.count {
      let fd = written[i]
      i += 1
      guard let o = outputs[fd] else { continue }
      o.listed = false
      if flush(fd) { toldCore = true }
    }
    written.removeAll(keepingCapacity: true)
    return toldCore
  }

  /// Writes what the socket takes; tells the core when everything is out (or the peer is gone).
  /// True if the core was told.
  @discardableResult
  func flush(_ fd: Int32, tellCore: Bool = true) -> Bool {
    guard let o = outputs[fd] else { return false }
    var refills = 0
    while true {
      while !o.isEmpty {
        let off = o.offset
        let n = o.bytes.withUnsafeBytes { io.write(fd, UnsafeRawBufferPointer(rebasing: $0[off...])) }
        if n > 0 { o.offset += n; continue }
        if n == -EAGAIN || n == -EINTR { return false }
        // the peer is gone: nothing more can be written
        closeClient(fd, gone: tellCore)
        return tellCore
      }
      guard o.fileRemaining > 0 else { break }
      // a file body, 256 KB per call at most so that one download cannot hold the loop (the
      // socket's POLLOUT brings the rest); over HTTPS through the connection's TLS
      refills += 1
      if refills > 4 { return false }
      let ok: Bool
      if let conn = tlsConns[fd] {
        var plain: [UInt8] = []
        ok = o.readFile(into: &plain, at: 16 * 1024)
        if ok {
          conn.send(plain)
          queueTls(fd, conn)
        }
      } else {
        ok = o.refill()
      }
      guard ok else {
        log(.warn, "HTTP fd \(fd): a file ended before its Content-Length (deleted or cut meanwhile); closed")
        closeClient(fd, gone: tellCore)
        return tellCore
      }
    }
    guard tellCore else { return false }
    core.handleConnection(.flushed(fd), now: io.monotonicNs())
    return true
  }

  /// Closes the connection; `gone`: the core does not know yet (the peer left, a read or write
  /// failed), so it is told.
  func closeClient(_ fd: Int32, gone: Bool = false) {
    tlsConns[fd] = nil
    if let o = outputs.removeValue(forKey: fd) {
      o.listed = false
      o.closeFile()
      io.close(fd)
    }
    if gone { core.handleConnection(.gone(fd), now: io.monotonicNs()) }
  }

  /// Ends HTTPS connections whose handshake ran past its deadline (a stalled client cannot keep a
  /// connection slot).
  func checkTlsHandshakes(now: UInt64) {
    var expired: [Int32] = []
    for (fd, conn) in tlsConns {
      guard let d = conn.handshakeDeadline, now >= d else { continue }
      conn.handleTimeout(now: now)
      expired.append(fd)
    }
    for fd in expired {
      log(.debug, "HTTPS fd \(fd): TLS_HANDSHAKE_TIMEOUT")
      closeClient(fd, gone: true)
    }
    if !expired.isEmpty { settle() }
  }
}
