// Reading compound RTCP in place (RFC 3550 section 6, RFC 4585, RFC 5104, REMB, transport-wide
// feedback): validation first, then one view per packet into the receive buffer, allocating nothing.
import Wire

/// The receive path's parse (the receive buffer, after in-place SRTCP decryption): validates the
/// whole datagram as `parseRtcp` does, then hands each packet to `visit` as a view into the
/// buffer. Nothing is allocated (RTCP arrives from every viewer all the time), and a malformed
/// datagram is refused whole before any packet of it is seen.
public func forEachRtcpPacket(_ datagram: UnsafeRawBufferPointer, _ visit: (RtcpView) -> Void) throws(RtcpError) {
  try walkRtcp(datagram) { _ in }
  try walkRtcp(datagram, visit)
}

/// One packet of a compound RTCP datagram, read in place: valid while the datagram's buffer is.
public enum RtcpView {
  case senderReport(ssrc: UInt32, ntpTime: UInt64, rtpTimestamp: UInt32, packetCount: UInt32,
    octetCount: UInt32, blocks: RtcpEntries)
  case receiverReport(ssrc: UInt32, blocks: RtcpEntries)
  case pli(senderSSRC: UInt32, mediaSSRC: UInt32)
  /// Entries of 8 bytes (`firRequest(_:)`).
  case fir(senderSSRC: UInt32, requests: RtcpEntries)
  /// Entries of 4 bytes: PID and BLP (`lostSequences`).
  case nack(senderSSRC: UInt32, mediaSSRC: UInt32, entries: RtcpEntries)
  /// Transport-wide congestion control feedback (RTPFB FMT 15), validated whole.
  case transportFeedback(senderSSRC: UInt32, mediaSSRC: UInt32, feedback: TransportFeedbackView)
  /// Entries of 4 bytes: the SSRCs (`word(_:)`).
  case remb(bitrate: UInt64, ssrcs: RtcpEntries)
  case bye
  case sdes
  case other(type: UInt8)
}

/// Fixed-size entries of an RTCP packet, read in place.
public struct RtcpEntries {
  let bytes: UnsafeRawBufferPointer
  let start: Int
  public let count: Int
  let size: Int

  /// Entry `i` as a reception report block (entries of 24 bytes).
  public func reportBlock(_ i: Int) -> ReportBlock {
    let at = start + i * size
    let lostRaw = UInt32(bytes[at + 5]) << 16 | UInt32(bytes[at + 6]) << 8 | UInt32(bytes[at + 7])
    // Sign-extend the 24-bit cumulative loss.
    let lost = Int32(bitPattern: lostRaw << 8) >> 8
    return ReportBlock(
      ssrc: loadU32(bytes, at), fractionLost: bytes[at + 4], cumulativeLost: lost,
      highestSequence: loadU32(bytes, at + 8), jitter: loadU32(bytes, at + 12),
      lastSenderReport: loadU32(bytes, at + 16), delaySinceLastSenderReport: loadU32(bytes, at + 20))
  }

  /// Entry `i` as a FIR entry (8 bytes).
  public func firRequest(_ i: Int) -> FirRequest {
    FirRequest(ssrc: loadU32(bytes, start + i * size), sequence: bytes[start + i * size + 4])
  }

  /// The first 32 bits of entry `i`.
  public func word(_ i: Int) -> UInt32 { loadU32(bytes, start + i * size) }

  /// Generic NACK entries (PID, BLP) expanded to the lost sequence numbers, in order: bit k of
  /// BLP marks PID + k + 1 as lost too.
  public var lostSequences: NackSequences { NackSequences(entries: self) }
}

/// The sequence numbers a generic NACK reports lost (no array is made).
public struct NackSequences: Sequence, IteratorProtocol {
  let entries: RtcpEntries
  var entry = 0
  /// -1: the PID itself is next; 0...15: the BLP bit to look at next.
  var bit = -1

  public mutating func next() -> UInt16? {
    while entry < entries.count {
      let at = entries.start + entry * entries.size
      let pid = loadU16(entries.bytes, at)
      if bit < 0 {
        bit = 0
        return pid
      }
      let blp = loadU16(entries.bytes, at + 2)
      while bit < 16 {
        let b = bit
        bit += 1
        if blp & (1 << b) != 0 { return pid &+ UInt16(b + 1) }
      }
      entry += 1
      bit = -1
    }
    return nil
  }
}

/// Walks the packets of a compound datagram, validating each, and hands each one to `visit`.
func walkRtcp(_ datagram: UnsafeRawBufferPointer, _ visit: (RtcpView) -> Void) throws(RtcpError) {
  var offset = 0
  var packets = 0
  let n = datagram.count
  guard n >= 4 else { throw .truncated }
  while offset < n {
    guard n - offset >= 4 else { throw .truncated }
    guard packets < maxRtcpPackets else { throw .tooManyPackets }
    let b0 = datagram[offset]
    guard b0 >> 6 == 2 else { throw .badVersion }
    let count = Int(b0 & 0x1F)
    let type = datagram[offset + 1]
    let length = (Int(loadU16(datagram, offset + 2)) + 1) * 4
    guard offset + length <= n else { throw .badLength }
    var end = offset + length
    if b0 & 0x20 != 0 {
      let pad = Int(datagram[end - 1])
      guard pad > 0, pad <= length - 4 else { throw .badPadding }
      end -= pad
    }
    visit(try rtcpView(datagram, type: type, count: count, body: offset + 4, end: end))
    packets += 1
    offset += length
  }
}

/// Reads one packet's body `datagram[body..<end]` (after the 4-byte common header).
func rtcpView(_ d: UnsafeRawBufferPointer, type: UInt8, count: Int, body: Int, end: Int) throws(RtcpError) -> RtcpView {
  let size = end - body
  switch type {
  case RtcpType.senderReport:
    guard size >= 24 + 24 * count else { throw .truncated }
    let ntp = UInt64(loadU32(d, body + 4)) << 32 | UInt64(loadU32(d, body + 8))
    return .senderReport(
      ssrc: loadU32(d, body), ntpTime: ntp, rtpTimestamp: loadU32(d, body + 12),
      packetCount: loadU32(d, body + 16), octetCount: loadU32(d, body + 20),
      blocks: RtcpEntries(bytes: d, start: body + 24, count: count, size: 24))
  case RtcpType.receiverReport:
    guard size >= 4 + 24 * count else { throw .truncated }
    return .receiverReport(ssrc: loadU32(d, body), blocks: RtcpEntries(bytes: d, start: body + 4, count: count, size: 24))
  case RtcpType.sdes:
    return .sdes
  case RtcpType.bye:
    guard size >= 4 * count else { throw .truncated }
    return .bye
  case RtcpType.rtpFeedback:
    guard size >= 8 else { throw .truncated }
    let sender = loadU32(d, body)
    let media = loadU32(d, body + 4)
    switch count {
    case 1:
      // Generic NACK: (PID, BLP) pairs
      return .nack(senderSSRC: sender, mediaSSRC: media, entries: RtcpEntries(bytes: d, start: body + 8, count: (size - 8) / 4, size: 4))
    case TransportFeedbackFormat.fmt:
      let f = try transportFeedbackView(d, at: body + 8, end: end)
      return .transportFeedback(senderSSRC: sender, mediaSSRC: media, feedback: f)
    default:
      return .other(type: type)
    }
  case RtcpType.payloadFeedback:
    guard size >= 8 else { throw .truncated }
    let sender = loadU32(d, body)
    let media = loadU32(d, body + 4)
    switch count {
    case 1:
      return .pli(senderSSRC: sender, mediaSSRC: media)
    case 4:
      return .fir(senderSSRC: sender, requests: RtcpEntries(bytes: d, start: body + 8, count: (size - 8) / 8, size: 8))
    case 15:
      return try rembView(d, type: type, at: body + 8, end: end)
    default:
      return .other(type: type)
    }
  default:
    return .other(type: type)
  }
}

/// Reads a REMB message (payload-specific feedback FMT 15, draft-alvestrand-rmcat-remb) whose FCI
/// starts at `i`; anything not starting with "REMB" is `.other`.
public func rembView(_ d: UnsafeRawBufferPointer, type: UInt8, at i: Int, end: Int) throws(RtcpError) -> RtcpView {
  // REMB: "REMB", num SSRC (8), BR exp (6), BR mantissa (18), SSRC feedback list.
  guard end - i >= 8, d[i] == 0x52, d[i + 1] == 0x45, d[i + 2] == 0x4D, d[i + 3] == 0x42
  else { return .other(type: type) }
  let numSSRC = Int(d[i + 4])
  guard end - i >= 8 + 4 * numSSRC else { throw .truncated }
  let exponent = Int(d[i + 5] >> 2)
  let mantissa = UInt64(d[i + 5] & 3) << 16 | UInt64(d[i + 6]) << 8 | UInt64(d[i + 7])
  let bitrate: UInt64
  if mantissa == 0 {
    bitrate = 0
  } else if exponent > mantissa.leadingZeroBitCount {
    bitrate = UInt64.max
  } else {
    bitrate = mantissa << UInt64(exponent)
  }
  return .remb(bitrate: bitrate, ssrcs: RtcpEntries(bytes: d, start: i + 8, count: numSSRC, size: 4))
}
