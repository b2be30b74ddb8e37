// RTCP (RFC 3550 section 6) parsing and sender report building, plus the feedback messages a
// WebRTC sender acts on: generic NACK and PLI/FIR (RFC 4585, RFC 5104) and REMB.
import Wire

/// Errors from parsing RTCP. Every malformed input ends in one of these, never in a trap.
public enum RtcpError: Error, Equatable, Sendable {
  /// Datagram or packet shorter than a header or than its own fields need.
  case truncated
  /// Version field is not 2.
  case badVersion
  /// A length field points past the end of the datagram.
  case badLength
  /// Padding bit set with a zero or oversized padding count.
  case badPadding
  /// More packets in one compound datagram than `maxRtcpPackets`.
  case tooManyPackets
}

/// Upper bound on the packets accepted from one compound RTCP datagram.
public let maxRtcpPackets = 64

/// RTCP packet types.
public enum RtcpType: Sendable {
  public static let senderReport: UInt8 = 200
  public static let receiverReport: UInt8 = 201
  public static let sdes: UInt8 = 202
  public static let bye: UInt8 = 203
  public static let app: UInt8 = 204
  /// Transport-layer feedback (RFC 4585): FMT 1 = generic NACK.
  public static let rtpFeedback: UInt8 = 205
  /// Payload-specific feedback (RFC 4585): FMT 1 = PLI, 4 = FIR (RFC 5104), 15 = AFB (REMB).
  public static let payloadFeedback: UInt8 = 206
}

/// A reception report block (RFC 3550 section 6.4.1).
public struct ReportBlock: Equatable, Sendable {
  public var ssrc: UInt32
  /// Fraction lost since the previous report, in 1/256.
  public var fractionLost: UInt8
  /// Cumulative packets lost (24-bit signed).
  public var cumulativeLost: Int32
  /// Extended highest sequence number received.
  public var highestSequence: UInt32
  /// Interarrival jitter in RTP timestamp units.
  public var jitter: UInt32
  /// Middle 32 bits of the NTP time of the last sender report received (0 if none).
  public var lastSenderReport: UInt32
  /// Delay since that sender report, in 1/65536 seconds.
  public var delaySinceLastSenderReport: UInt32

  public init(
    ssrc: UInt32, fractionLost: UInt8, cumulativeLost: Int32, highestSequence: UInt32,
    jitter: UInt32, lastSenderReport: UInt32, delaySinceLastSenderReport: UInt32
  ) {
    self.ssrc = ssrc
    self.fractionLost = fractionLost
    self.cumulativeLost = cumulativeLost
    self.highestSequence = highestSequence
    self.jitter = jitter
    self.lastSenderReport = lastSenderReport
    self.delaySinceLastSenderReport = delaySinceLastSenderReport
  }
}

/// One Full Intra Request entry (RFC 5104 section 4.3.1).
public struct FirRequest: Equatable, Sendable {
  public var ssrc: UInt32
  public var sequence: UInt8
  public init(ssrc: UInt32, sequence: UInt8) {
    self.ssrc = ssrc
    self.sequence = sequence
  }
}

/// One packet of a compound RTCP datagram.
public enum RtcpPacket: Equatable, Sendable {
  case senderReport(
    ssrc: UInt32, ntpTime: UInt64, rtpTimestamp: UInt32, packetCount: UInt32,
    octetCount: UInt32, blocks: [ReportBlock])
  case receiverReport(ssrc: UInt32, blocks: [ReportBlock])
  /// Picture Loss Indication: the receiver wants a keyframe.
  case pli(senderSSRC: UInt32, mediaSSRC: UInt32)
  /// Full Intra Request: the receiver wants a keyframe (one entry per media sender).
  case fir(senderSSRC: UInt32, requests: [FirRequest])
  /// Generic NACK with its PID+BLP entries expanded to the lost sequence numbers, in order.
  case nack(senderSSRC: UInt32, mediaSSRC: UInt32, lost: [UInt16])
  /// Receiver Estimated Maximum Bitrate (draft-alvestrand-rmcat-remb), bits per second.
  case remb(bitrate: UInt64, ssrcs: [UInt32])
  case bye
  case sdes
  /// Any other packet type, or a feedback message with an unhandled FMT.
  case other(type: UInt8)
}

/// Parses a compound (unprotected) RTCP datagram into its packets. Every packet's header is
/// validated (version 2, length within the datagram, padding); a packet too short for its own
/// type's fields is an error too. At most `maxRtcpPackets` packets are returned.
public func parseRtcp(_ datagram: [UInt8]) throws(RtcpError) -> [RtcpPacket] {
  let r = datagram.withUnsafeBytes { b in Result { () throws(RtcpError) -> [RtcpPacket] in try parseRtcp(b) } }
  return try r.get()
}

/// `parseRtcp` over a raw buffer.
public func parseRtcp(_ datagram: UnsafeRawBufferPointer) throws(RtcpError) -> [RtcpPacket] {
  var packets: [RtcpPacket] = []
  try walkRtcp(datagram) { packets.append(RtcpPacket($0)) }
  return packets
}

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

extension RtcpPacket {
  /// The packet, with its entries copied out of the buffer.
  init(_ v: RtcpView) {
    func all<T>(_ e: RtcpEntries, _ f: (Int) -> T) -> [T] {
      var out: [T] = []
      for i in 0..<e.count { out.append(f(i)) }
      return out
    }
    switch v {
    case let .senderReport(ssrc, ntp, ts, packets, octets, blocks):
      self = .senderReport(ssrc: ssrc, ntpTime: ntp, rtpTimestamp: ts, packetCount: packets, octetCount: octets,
        blocks: all(blocks, blocks.reportBlock))
    case let .receiverReport(ssrc, blocks): self = .receiverReport(ssrc: ssrc, blocks: all(blocks, blocks.reportBlock))
    case let .pli(sender, media): self = .pli(senderSSRC: sender, mediaSSRC: media)
    case let .fir(sender, requests): self = .fir(senderSSRC: sender, requests: all(requests, requests.firRequest))
    case let .nack(sender, media, entries): self = .nack(senderSSRC: sender, mediaSSRC: media, lost: Array(entries.lostSequences))
    case let .remb(bitrate, ssrcs): self = .remb(bitrate: bitrate, ssrcs: all(ssrcs, ssrcs.word))
    case .bye: self = .bye
    case .sdes: self = .sdes
    case let .other(type): self = .other(type: type)
    }
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
    guard count == 1 else { return .other(type: type) }
    // Generic NACK: (PID, BLP) pairs
    return .nack(senderSSRC: sender, mediaSSRC: media, entries: RtcpEntries(bytes: d, start: body + 8, count: (size - 8) / 4, size: 4))
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
      // REMB: "REMB", num SSRC (8), BR exp (6), BR mantissa (18), SSRC feedback list.
      let i = body + 8
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
    default:
      return .other(type: type)
    }
  default:
    return .other(type: type)
  }
}

/// Appends a compound RTCP packet: a sender report without report blocks followed by an SDES
/// packet with one CNAME chunk (CNAME truncated to 255 bytes). Ready for SRTCP protection.
public func writeSenderReport(
  ssrc: UInt32, ntpTime: UInt64, rtpTimestamp: UInt32, packetCount: UInt32, octetCount: UInt32,
  cname: String, into w: inout ByteWriter
) {
  // SR: V=2, RC=0, PT=200, length 6 (7 words).
  w.u8(0x80)
  w.u8(RtcpType.senderReport)
  w.u16(6)
  w.u32(ssrc)
  w.u64(ntpTime)
  w.u32(rtpTimestamp)
  w.u32(packetCount)
  w.u32(octetCount)

  // SDES: V=2, SC=1, PT=202; chunk = SSRC, CNAME item, then a null item padded to 32 bits.
  let nameLength = min(cname.utf8.count, 255)
  let itemsLength = 2 + nameLength
  let padding = 4 - itemsLength % 4  // 1...4 zero bytes: terminates the item list
  let words = (4 + itemsLength + padding) / 4
  w.u8(0x81)
  w.u8(RtcpType.sdes)
  w.u16(UInt16(words))
  w.u32(ssrc)
  w.u8(1)  // CNAME
  w.u8(UInt8(nameLength))
  for c in cname.utf8.prefix(nameLength) { w.u8(c) }
  w.zeros(padding)
}

/// Appends a BYE packet for `ssrc` (sent when a stream ends).
public func writeBye(ssrc: UInt32, into w: inout ByteWriter) {
  w.u8(0x81)
  w.u8(RtcpType.bye)
  w.u16(1)
  w.u32(ssrc)
}
