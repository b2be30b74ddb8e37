// The connection table's JPEG clients: waiting snapshots answered and MJPEG stream parts
// written when the capture side has made a JPEG.
import HTTP
import Wire

extension HttpServer {
  /// A JPEG of the latest frame at `quality` is ready (`forStream`: made for the MJPEG stream at
  /// its rate). Snapshot clients that asked for this quality get it; those that asked for another
  /// ask again; stream clients that took their last part get this one, the others drop it.
  ///
  /// A stream frame allocates nothing: the part is built once into `streamPartBuffer`, and every
  /// stream client's write shares it.
  public mutating func jpegReady(_ jpeg: [UInt8], quality: Int, forStream: Bool, now: UInt64) {
    var partReady = false
    // the other qualities waiting snapshots asked for (a bitmask over 1...100 would do; a short
    // scan of the table afterwards allocates nothing either)
    var askAgain = false
    for i in 0..<clients.count {
      switch clients[i].waiting {
      case .snapshot(let q, _, let keep, let head):
        guard q == quality else {
          askAgain = true
          continue
        }
        answerSnapshot(at: i, jpeg, keepAlive: keep, isHead: head, now: now)
      case .stream(let busy):
        guard forStream else { continue }
        if busy {
          streamFramesDropped += 1
          continue
        }
        if !partReady {
          Self.streamPart(jpeg, into: &streamPartBuffer)
          partReady = true
        }
        emit(.write(clients[i].id, streamPartBuffer))
        streamFramesSent += 1
        clients[i].waiting = .stream(busy: true)
      case nil, .file:
        continue
      }
    }
    if askAgain { askForOtherQualities() }
  }

  mutating func answerSnapshot(at i: Int, _ jpeg: [UInt8], keepAlive: Bool, isHead: Bool, now: UInt64) {
    var r = HttpResponse(status: 200, contentType: "image/jpeg", body: jpeg)
    r.setHeader("Cache-Control", "no-store")
    r.addCors()
    emit(.write(clients[i].id, r.serialize(keepAlive: keepAlive, isHead: isHead)))
    emit(.answered(status: 200))
    snapshotsServed += 1
    clients[i].waiting = nil
    clients[i].lastActive = now
    if !keepAlive { clients[i].closeAfterWrite = true }
  }

  /// One `.snapshotWanted` per other quality still waited for, each once.
  mutating func askForOtherQualities() {
    for i in 0..<clients.count {
      guard case .snapshot(let q, _, _, _) = clients[i].waiting else { continue }
      var first = true
      for j in 0..<i {
        if case .snapshot(q, _, _, _) = clients[j].waiting { first = false; break }
      }
      if first { emit(.snapshotWanted(quality: q)) }
    }
  }

  /// The boundary between MJPEG parts.
  static let streamBoundary = "rtcamframe"

  /// The head of an MJPEG stream response (no length: it lasts until either side closes).
  static func streamHead() -> [UInt8] {
    Array(("HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=" + Self.streamBoundary
      + "\r\nCache-Control: no-store\r\nAccess-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n").utf8)
  }

  /// One part: boundary, headers, the JPEG, into `out`, which keeps its capacity (no String is
  /// built: the header is a constant and the length's digits are written directly).
  static func streamPart(_ jpeg: [UInt8], into out: inout [UInt8]) {
    out.removeAll(keepingCapacity: true)
    out.reserveWithHeadroom(jpeg.count + 96)
    // "--" + streamBoundary + the part's headers
    let head: StaticString = "--rtcamframe\r\nContent-Type: image/jpeg\r\nContent-Length: "
    head.withUTF8Buffer { out.append(contentsOf: $0) }
    appendDecimal(jpeg.count, to: &out)
    out.append(contentsOf: [13, 10, 13, 10])
    out.append(contentsOf: jpeg)
    out.append(contentsOf: [13, 10])
  }

  /// The ASCII digits of `n` (>= 0).
  static func appendDecimal(_ n: Int, to out: inout [UInt8]) {
    var divisor = 1
    while divisor <= n / 10 { divisor *= 10 }
    var rest = n
    while divisor > 0 {
      out.append(UInt8(ascii: "0") + UInt8(rest / divisor))
      rest %= divisor
      divisor /= 10
    }
  }
}
