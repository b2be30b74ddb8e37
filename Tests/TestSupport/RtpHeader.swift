// The receive side of RTP, which rtcam (a sender) does not need: the RTP header parser
// (RFC 3550 section 5.1, RFC 8285 one-byte extensions) that tests and the h264 fuzz target read
// rtcam's packets with, and the array form of the RTP/RTCP demultiplexer (RFC 5761).
// (tools/fuzz compiles this file into the h264 target: it may import only Sources/ modules.)
import RTP
import Wire

/// Errors from parsing RTP packets or reassembling H.264 access units (the receive side).
public enum RtpError: Error, Equatable, Sendable {
  /// Fewer bytes than the header, CSRC list, extension or padding claims.
  case truncated
  /// Version field is not 2.
  case badVersion
  /// Padding bit set but the padding count is zero or longer than the packet.
  case badPadding
  /// Sequence number jumped: packets between `expected` and `got` were lost. The access unit
  /// being reassembled is discarded.
  case sequenceGap(expected: UInt16, got: UInt16)
  /// Payload does not follow RFC 6184 (empty, bad STAP-A sizes, FU-A out of order).
  case malformedPayload
  /// NAL unit / packetization type this receiver does not handle (STAP-B, MTAP, FU-B, 0, 30, 31).
  case unsupportedNalType(UInt8)
  /// Reassembled access unit would exceed the receiver's size limit.
  case tooLarge
}

/// The fixed RTP header plus the lengths of its optional parts.
public struct RtpHeader: Equatable, Sendable {
  public var version: UInt8
  public var padding: Bool
  public var `extension`: Bool
  public var csrcCount: UInt8
  public var marker: Bool
  public var payloadType: UInt8
  public var sequence: UInt16
  public var timestamp: UInt32
  public var ssrc: UInt32
  /// Bytes before the payload: 12 + 4 * CSRC count + header extension (4 + data).
  public var headerLength: Int
  /// Trailing padding bytes (including the count byte); 0 without the padding bit.
  public var paddingLength: Int
  /// Header extension profile (0xBEDE for one-byte elements); 0 without extension.
  public var extensionProfile: UInt16
  /// Offset and length of the header extension data (after its 4-byte header).
  public var extensionOffset: Int
  public var extensionLength: Int

  /// Fixed header size without CSRCs or extension.
  public static let fixedSize = 12

  /// Parses and validates the header of an RTP packet. Never traps on malformed input.
  public static func parse(_ p: [UInt8]) throws(RtpError) -> RtpHeader {
    guard p.count >= fixedSize else { throw .truncated }
    let b0 = p[0]
    guard b0 >> 6 == 2 else { throw .badVersion }
    let cc = b0 & 0x0F
    var h = RtpHeader(
      version: 2, padding: b0 & 0x20 != 0, extension: b0 & 0x10 != 0, csrcCount: cc,
      marker: p[1] & 0x80 != 0, payloadType: p[1] & 0x7F, sequence: loadU16(p, 2),
      timestamp: loadU32(p, 4), ssrc: loadU32(p, 8), headerLength: fixedSize + 4 * Int(cc),
      paddingLength: 0, extensionProfile: 0, extensionOffset: 0, extensionLength: 0)
    guard p.count >= h.headerLength else { throw .truncated }
    if h.extension {
      guard p.count >= h.headerLength + 4 else { throw .truncated }
      h.extensionProfile = loadU16(p, h.headerLength)
      h.extensionLength = 4 * Int(loadU16(p, h.headerLength + 2))
      h.extensionOffset = h.headerLength + 4
      h.headerLength = h.extensionOffset + h.extensionLength
      guard p.count >= h.headerLength else { throw .truncated }
    }
    if h.padding {
      let pad = Int(p[p.count - 1])
      guard pad > 0, h.headerLength + pad <= p.count else { throw .badPadding }
      h.paddingLength = pad
    }
    return h
  }

  /// Payload bounds in `packet` (which must be the packet this header was parsed from).
  public func payloadRange(packetLength: Int) -> Range<Int> {
    headerLength..<max(headerLength, packetLength - paddingLength)
  }

  /// Finds the one-byte-header extension element (RFC 8285) with `id` and returns its data
  /// range in `packet`, or nil when absent or when the extension is not a 0xBEDE block.
  public func oneByteExtension(id: UInt8, in packet: [UInt8]) -> Range<Int>? {
    guard self.extension, extensionProfile == 0xBEDE else { return nil }
    var i = extensionOffset
    let end = min(extensionOffset + extensionLength, packet.count)
    while i < end {
      let b = packet[i]
      if b == 0 { i += 1; continue }  // padding byte
      let elementID = b >> 4
      if elementID == 15 { return nil }  // reserved: stop processing
      let len = Int(b & 0x0F) + 1
      guard i + 1 + len <= end else { return nil }
      if elementID == id { return (i + 1)..<(i + 1 + len) }
      i += 1 + len
    }
    return nil
  }
}

/// `isRtcp` for a byte array.
public func isRtcp(_ datagram: [UInt8]) -> Bool {
  datagram.withUnsafeBytes { isRtcp($0) }
}
