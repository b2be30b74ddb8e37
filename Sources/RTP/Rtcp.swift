// RTCP (RFC 3550 section 6) packets as values, plus the feedback messages a WebRTC sender acts
// on: generic NACK and PLI/FIR (RFC 4585, RFC 5104), REMB and transport-wide feedback
// (draft-holmer-rmcat-transport-wide-cc-extensions-01); RTP/RTCP demultiplexing (RFC 5761).
// The in-place reader they are built from is in RtcpView.swift, the writer in RtcpSenderReport.swift.
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
  /// A feedback message contradicts its own format: a transport-wide feedback reporting no
  /// packets, or using the reserved packet status symbol.
  case badFeedback
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
  /// Transport-layer feedback (RFC 4585): FMT 1 = generic NACK, 15 = transport-wide congestion
  /// control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01).
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
  /// Transport-wide congestion control feedback with every reported packet, in order (there are
  /// `packets.count` of them, the packet status count).
  case transportFeedback(senderSSRC: UInt32, mediaSSRC: UInt32, baseSequence: UInt16, referenceTime: Int32,
    feedbackCount: UInt8, packets: [TransportFeedbackPacket])
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
    case let .transportFeedback(sender, media, f):
      self = .transportFeedback(senderSSRC: sender, mediaSSRC: media, baseSequence: f.baseSequence,
        referenceTime: f.referenceTime, feedbackCount: f.feedbackCount, packets: Array(f.packets))
    case let .remb(bitrate, ssrcs): self = .remb(bitrate: bitrate, ssrcs: all(ssrcs, ssrcs.word))
    case .bye: self = .bye
    case .sdes: self = .sdes
    case let .other(type): self = .other(type: type)
    }
  }
}

/// True when a datagram in the RTP/RTCP range (first byte 128...191, RFC 7983) is RTCP:
/// RFC 5761 section 4 reserves RTP payload types 64-95 because the second octet of an RTCP
/// packet (its packet type, 192-223 for RTCP) reads as marker bit + payload type 64-95.
public func isRtcp(_ datagram: UnsafeRawBufferPointer) -> Bool {
  guard datagram.count >= 2, datagram[0] >= 128, datagram[0] <= 191 else { return false }
  let pt = datagram[1] & 0x7F
  return pt >= 64 && pt <= 95
}

