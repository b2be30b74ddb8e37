// RTSP input on one TCP connection: requests (RFC 2326 section 6, HTTP-like heads with CSeq) and
// interleaved binary frames ("$", channel, 16-bit length; section 10.12), cut out of the bytes as
// they arrive. Sans-IO, every input bounded.
import Wire

/// How much one connection may send (each with the reason).
public struct RtspLimits: Equatable, Sendable {
  /// A request's head. ffmpeg's, VLC's and GStreamer's heads are under 1 KB, a Digest
  /// Authorization header adds about 300 bytes.
  public var maxHeadBytes = 8192
  /// Header fields in one request (the clients above send fewer than 12).
  public var maxHeaders = 32
  /// A request body: only SET_PARAMETER and GET_PARAMETER carry one, a few parameter names.
  public var maxBodyBytes = 4096
  /// Bytes buffered and not yet consumed (pipelined requests, interleaved RTCP): two full
  /// interleaved frames.
  public var maxBufferedBytes = 2 * (4 + 65_535)

  public init() {}
}

/// What the next bytes held.
public enum RtspInputItem: Sendable {
  case request(RtspRequest)
  /// An interleaved frame from the client: its channel and payload (RTCP receiver reports on
  /// the odd channel of a SETUP; anything else is ignored by the session).
  case interleaved(channel: UInt8, payload: [UInt8])
  /// Not a whole request or frame yet.
  case needMore
  /// The input cannot be read on: answer with the error (when it has a status) and close.
  case error(RtspError)
}

/// The bytes received and not yet consumed, and the cutting of them.
public struct RtspInput: Sendable {
  public let limits: RtspLimits
  var buf: [UInt8] = []
  var pos = 0

  public init(limits: RtspLimits = RtspLimits()) { self.limits = limits }

  /// Appends received bytes. False (nothing appended) when more than `maxBufferedBytes` would be
  /// waiting: the client sends without reading answers; the connection is to be closed.
  public mutating func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
    if pos > 0 && pos == buf.count {
      buf.removeAll(keepingCapacity: true)
      pos = 0
    }
    guard buf.count - pos + bytes.count <= limits.maxBufferedBytes else { return false }
    if pos > 0 {
      buf.removeSubrange(0..<pos)
      pos = 0
    }
    buf.append(contentsOf: bytes)
    return true
  }

  public var buffered: Int { buf.count - pos }

  /// The next request or interleaved frame.
  public mutating func next() -> RtspInputItem {
    // empty lines between messages are skipped (a client may end a body or a frame with CRLF)
    while pos < buf.count && (buf[pos] == 13 || buf[pos] == 10) { pos += 1 }
    guard pos < buf.count else { return .needMore }
    if buf[pos] == UInt8(ascii: "$") { return interleaved() }
    // a head ends with an empty line; CRLF or, leniently, bare LF line ends
    // (the head, its empty line included, is at most maxHeadBytes long, whether its bytes came
    // at once or in pieces)
    var end = -1
    var i = pos
    let limit = min(buf.count, pos + limits.maxHeadBytes)
    while i < limit {
      if buf[i] == 10 {
        if i + 1 < buf.count && buf[i + 1] == 10 { end = i + 2; break }
        if i + 2 < buf.count && buf[i + 1] == 13 && buf[i + 2] == 10 { end = i + 3; break }
      }
      i += 1
    }
    if end < 0 || end - pos > limits.maxHeadBytes {
      if end >= 0 || buf.count - pos >= limits.maxHeadBytes {
        return .error(RtspError(status: 400, code: "RTSP_HEAD_TOO_LARGE", message: "request head over "
          + String(limits.maxHeadBytes) + " bytes"))
      }
      return .needMore
    }
    switch parseHead(buf[pos..<end]) {
    case .failure(let e): return .error(e)
    case .success(var r):
      let length = r.header("content-length").map { parseDecimal($0, max: UInt64(Int32.max)) } ?? 0
      guard let n = length else {
        return .error(RtspError(status: 400, code: "RTSP_BAD_LENGTH", message: "Content-Length is not a number", cseq: r.cseq))
      }
      guard n <= limits.maxBodyBytes else {
        return .error(RtspError(status: 413, code: "RTSP_BODY_TOO_LARGE", message: "a body of " + String(n) + " bytes",
          cseq: r.cseq))
      }
      guard buf.count - end >= n else { return .needMore }
      r.body = Array(buf[end..<(end + n)])
      pos = end + n
      return .request(r)
    }
  }

  mutating func interleaved() -> RtspInputItem {
    guard buf.count - pos >= 4 else { return .needMore }
    let channel = buf[pos + 1]
    let length = Int(buf[pos + 2]) << 8 | Int(buf[pos + 3])
    guard buf.count - pos >= 4 + length else { return .needMore }
    let payload = Array(buf[(pos + 4)..<(pos + 4 + length)])
    pos += 4 + length
    return .interleaved(channel: channel, payload: payload)
  }

  /// The request line and header fields of one head (its bytes, the empty line included).
  func parseHead(_ head: ArraySlice<UInt8>) -> Result<RtspRequest, RtspError> {
    var lines: [String] = []
    var start = head.startIndex
    for i in head.indices where head[i] == 10 {
      var e = i
      if e > start && head[e - 1] == 13 { e -= 1 }
      lines.append(String(decoding: head[start..<e], as: UTF8.self))
      start = i + 1
    }
    while lines.last?.isEmpty == true { lines.removeLast() }
    guard let first = lines.first else {
      return .failure(RtspError(status: 400, code: "RTSP_BAD_REQUEST", message: "an empty request"))
    }
    let parts = first.splitASCII(UInt8(ascii: " "))
    guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty,
      parts[0].utf8.allSatisfy({ $0 >= 65 && $0 <= 90 || $0 == 95 }) else {
      return .failure(RtspError(status: 400, code: "RTSP_BAD_REQUEST", message: "not an RTSP request line"))
    }
    var headers: [(name: String, value: String)] = []
    for line in lines.dropFirst() {
      guard headers.count < limits.maxHeaders else {
        return .failure(RtspError(status: 400, code: "RTSP_TOO_MANY_HEADERS", message: "more than "
          + String(limits.maxHeaders) + " header fields"))
      }
      guard let colon = line.utf8.firstIndex(of: UInt8(ascii: ":")), colon != line.startIndex,
        let c = line.utf8.first, c != 32 && c != 9 else {
        return .failure(RtspError(status: 400, code: "RTSP_BAD_HEADER", message: "a header line without a name"))
      }
      let name = String(line[..<colon]).asciiLowercased
      let value = trimOWS(String(line[line.index(after: colon)...]))
      headers.append((name: name, value: value))
    }
    let cseqText = headers.first { $0.name == "cseq" }?.value
    guard let t = cseqText, let cseq = parseDecimal(t, max: UInt64(Int32.max)) else {
      return .failure(RtspError(status: 400, code: "RTSP_NO_CSEQ", message: "no CSeq header (or not a number)"))
    }
    guard parts[2] == "RTSP/1.0" else {
      return .failure(RtspError(status: 505, code: "RTSP_VERSION", message: "version " + parts[2] + ", only RTSP/1.0",
        cseq: cseq))
    }
    return .success(RtspRequest(method: RtspMethod(parts[0]), uri: parts[1], cseq: cseq, headers: headers))
  }
}
