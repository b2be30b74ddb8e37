// One receiver's RTP stream: its header fields (SSRC, payload type, sequence numbers, timestamp
// base, header extensions) written in front of the payloads every receiver shares.

/// The fixed RTP header without CSRCs or header extension.
let rtpFixedHeaderSize = 12

/// The RFC 8285 one-byte-header extension block rtcam writes: its layout and sizes.
enum OneByteExtension {
  /// "defined by profile" value of the one-byte form (RFC 8285 section 4.2).
  static let profile: UInt16 = 0xBEDE
  /// The block's own header: profile (2 bytes) and length in 32-bit words (2 bytes).
  static let blockHeaderSize = 4
  /// Bytes of one element's header (ID in the high 4 bits, L = data length - 1 in the low 4).
  static let elementHeaderSize = 1
  /// Data of the transport-wide sequence number element: the 16-bit number
  /// (draft-holmer-rmcat-transport-wide-cc-extensions-01 section 2).
  static let transportSequenceDataSize = 2
  /// Data of the playout-delay element: min and max delay, 12 bits each
  /// (http://www.webrtc.org/experiments/rtp-hdrext/playout-delay).
  static let playoutDelayDataSize = 3
  /// The transport-wide sequence number goes first in the block, so its two bytes sit at the same
  /// offset whatever else the stream writes.
  static let transportSequenceOffset = rtpFixedHeaderSize + blockHeaderSize + elementHeaderSize
  /// The whole block for the elements written (0 without any), padded to 32-bit words with zero
  /// bytes (RFC 8285 section 4.2: padding bytes are 0 and skipped by the receiver).
  static func blockSize(transportSequence: Bool, playoutDelay: Bool) -> Int {
    var data = 0
    if transportSequence { data += elementHeaderSize + transportSequenceDataSize }
    if playoutDelay { data += elementHeaderSize + playoutDelayDataSize }
    guard data > 0 else { return 0 }
    return blockHeaderSize + (data + 3) / 4 * 4
  }
}

/// The RTP header state of one receiver (a viewer or a --forward target). Frames are cut once
/// (`PacketizedFrame`); each receiver writes its own header (RFC 3550 §5.1) in front of each
/// payload: its SSRC, its payload type (numbers vary between offers), its sequence numbers, its
/// random timestamp offset and, where negotiated, the header extensions (RFC 8285 one-byte form):
/// the transport-wide sequence number first, then playout-delay, zero-padded to a word.
public struct RtpStream: Sendable {
  public let ssrc: UInt32
  public let payloadType: UInt8
  /// One-byte header extension ID (1...14) carrying playout-delay min=max=0, or nil for none.
  public let playoutDelayExtensionID: UInt8?
  /// One-byte header extension ID (1...14) carrying the transport-wide sequence number
  /// (draft-holmer-rmcat-transport-wide-cc-extensions-01), or nil for none. `write` leaves the
  /// number 0; `stampTransportSequence` fills it in when the packet is sent.
  public let transportSequenceExtensionID: UInt8?
  /// Added to every timestamp (a random start, RFC 3550 §5.1).
  public let timestampOffset: UInt32
  /// Bytes of RTP header per packet: 12, plus 8 with one extension, 12 with both.
  public let headerLength: Int
  /// The most header bytes any stream writes (both extensions): a payload of
  /// `mtu - maxHeaderLength` fits every one.
  public static let maxHeaderLength = rtpFixedHeaderSize
    + OneByteExtension.blockSize(transportSequence: true, playoutDelay: true)

  /// Sequence number of the next packet.
  public private(set) var sequence: UInt16
  /// The transport-wide sequence number the next stamped packet gets. The counter belongs to
  /// the stream because each viewer's transport carries this one stream; it starts at 0 and wraps.
  public private(set) var transportSequence: UInt16 = 0
  /// Packets and payload octets sent (both wrap), for RTCP sender reports.
  public private(set) var packetCount: UInt32 = 0
  public private(set) var octetCount: UInt32 = 0
  /// The capture time that RTP timestamp `timestampOffset` stands for: the first frame's.
  public private(set) var timestampBaseNs: UInt64? = nil
  /// RTP timestamp of the last frame written; 0 before any.
  public private(set) var lastTimestamp: UInt32 = 0

  /// IDs outside 1...14 (not valid one-byte-header IDs, RFC 8285) disable their extension; so
  /// does a transport-wide ID equal to the playout-delay one (a receiver could not tell them apart).
  public init(ssrc: UInt32, payloadType: UInt8, initialSequence: UInt16, timestampOffset: UInt32,
              playoutDelayExtensionID: UInt8? = nil, transportSequenceExtensionID: UInt8? = nil) {
    let playout = playoutDelayExtensionID.flatMap(RtpStream.oneByteID)
    var transport = transportSequenceExtensionID.flatMap(RtpStream.oneByteID)
    if transport != nil, transport == playout { transport = nil }
    self.ssrc = ssrc
    self.payloadType = payloadType & 0x7F
    self.playoutDelayExtensionID = playout
    self.transportSequenceExtensionID = transport
    self.timestampOffset = timestampOffset
    headerLength = rtpFixedHeaderSize
      + OneByteExtension.blockSize(transportSequence: transport != nil, playoutDelay: playout != nil)
    sequence = initialSequence
  }

  /// `id` if it is a one-byte-header element ID (RFC 8285 section 4.2: 1...14; 0 is padding and
  /// 15 is reserved).
  static func oneByteID(_ id: UInt8) -> UInt8? { id >= 1 && id <= 14 ? id : nil }

  /// The 90 kHz timestamp of a frame captured at `captureNs`; the first frame fixes the base.
  public mutating func timestamp(captureNs: UInt64) -> UInt32 {
    let base = timestampBaseNs ?? captureNs
    timestampBaseNs = base
    lastTimestamp = rtpTimestamp90k(captureNs: captureNs, baseNs: base, offset: timestampOffset)
    return lastTimestamp
  }

  /// The RTP time of monotonic `now` on the frames' clock (sender reports), nil before the
  /// first frame.
  public func rtpTime(now: UInt64) -> UInt32? {
    guard let base = timestampBaseNs else { return nil }
    return rtpTimestamp90k(captureNs: max(now, base), baseNs: base, offset: timestampOffset)
  }

  /// Writes payload `i` of `frame` with this stream's header at the start of `out` and returns
  /// the packet's length (0 if `out` is too small). Advances the sequence number and counters.
  /// The transport-wide sequence number, if negotiated, is written as 0.
  public mutating func write(_ frame: PacketizedFrame, packet i: Int, timestamp: UInt32,
                             into out: UnsafeMutableRawBufferPointer) -> Int {
    let payload = frame.payload(i)
    let length = headerLength + payload.count
    guard let base = out.baseAddress, length <= out.count else { return 0 }
    writeHeader(base, marker: frame.marker(i), timestamp: timestamp)
    if let src = payload.baseAddress { (base + headerLength).copyMemory(from: src, byteCount: payload.count) }
    sequence &+= 1
    packetCount &+= 1
    octetCount &+= UInt32(truncatingIfNeeded: payload.count)
    return length
  }

  /// Writes the stream's next transport-wide sequence number into `packet`, a packet this stream
  /// wrote (or a copy of one, e.g. from the retransmission history: a retransmission is a new
  /// packet on the wire and gets a new number), and returns the number written. Nil, with nothing
  /// written and the counter kept, when the extension is not negotiated or `packet` does not
  /// have this stream's extension block.
  public mutating func stampTransportSequence(_ packet: UnsafeMutableRawBufferPointer) -> UInt16? {
    guard let id = transportSequenceExtensionID, packet.count >= headerLength,
          let base = packet.baseAddress else { return nil }
    let at = OneByteExtension.transportSequenceOffset
    let element = id << 4 | UInt8(OneByteExtension.transportSequenceDataSize - 1)
    guard packet[at - 1] == element else { return nil }
    let n = transportSequence
    base.storeBytes(of: UInt8(n >> 8), toByteOffset: at, as: UInt8.self)
    base.storeBytes(of: UInt8(n & 0xFF), toByteOffset: at + 1, as: UInt8.self)
    transportSequence &+= 1
    return n
  }

  /// The RTP header (and header extension block) for the next packet at `out`.
  func writeHeader(_ out: UnsafeMutableRawPointer, marker: Bool, timestamp: UInt32) {
    let extended = headerLength > rtpFixedHeaderSize
    // V=2, X when there is an extension block (RFC 3550 §5.1)
    out.storeBytes(of: extended ? 0x90 : 0x80, as: UInt8.self)
    out.storeBytes(of: (marker ? 0x80 : 0) | payloadType, toByteOffset: 1, as: UInt8.self)
    out.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
    out.storeBytes(of: timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
    out.storeBytes(of: ssrc.bigEndian, toByteOffset: 8, as: UInt32.self)
    guard extended else { return }
    let blockEnd = headerLength
    var at = rtpFixedHeaderSize
    out.storeBytes(of: OneByteExtension.profile.bigEndian, toByteOffset: at, as: UInt16.self)
    let words = UInt16((blockEnd - at - OneByteExtension.blockHeaderSize) / 4)
    out.storeBytes(of: words.bigEndian, toByteOffset: at + 2, as: UInt16.self)
    at += OneByteExtension.blockHeaderSize
    // the transport-wide sequence number (0 until stamped), then playout delay min = max = 0
    if let id = transportSequenceExtensionID {
      at = Self.zeroElement(out, at: at, id: id, size: OneByteExtension.transportSequenceDataSize)
    }
    if let id = playoutDelayExtensionID {
      at = Self.zeroElement(out, at: at, id: id, size: OneByteExtension.playoutDelayDataSize)
    }
    while at < blockEnd {
      out.storeBytes(of: UInt8(0), toByteOffset: at, as: UInt8.self)
      at += 1
    }
  }

  /// Writes one-byte element `id` with `size` zero data bytes at `at` (ID in the high 4 bits,
  /// L = size - 1 in the low 4, RFC 8285 section 4.2) and returns the offset after it.
  static func zeroElement(_ out: UnsafeMutableRawPointer, at: Int, id: UInt8, size: Int) -> Int {
    out.storeBytes(of: id << 4 | UInt8(size - 1), toByteOffset: at, as: UInt8.self)
    for k in 1...size { out.storeBytes(of: UInt8(0), toByteOffset: at + k, as: UInt8.self) }
    return at + OneByteExtension.elementHeaderSize + size
  }
}
