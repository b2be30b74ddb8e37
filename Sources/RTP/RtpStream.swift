// One receiver's RTP stream: its header fields (SSRC, payload type, sequence numbers, timestamp
// base, header extension) written in front of the payloads every receiver shares.

/// The fixed RTP header without CSRCs or header extension.
let rtpFixedHeaderSize = 12

/// The RTP header state of one receiver (a viewer or a --forward target). Frames are cut once
/// (`PacketizedFrame`); each receiver writes its own header (RFC 3550 §5.1) in front of each
/// payload: its SSRC, its payload type (numbers vary between offers), its sequence numbers, its
/// random timestamp offset and, where negotiated, the playout-delay header extension.
public struct RtpStream: Sendable {
  public let ssrc: UInt32
  public let payloadType: UInt8
  /// One-byte header extension ID (1...14) carrying playout-delay min=max=0, or nil for none.
  public let playoutDelayExtensionID: UInt8?
  /// Added to every timestamp (a random start, RFC 3550 §5.1).
  public let timestampOffset: UInt32
  /// Bytes of RTP header per packet: 12, plus 8 with the playout-delay extension.
  public let headerLength: Int
  /// The most header bytes any stream writes: a payload of `mtu - maxHeaderLength` fits every one.
  public static let maxHeaderLength = rtpFixedHeaderSize + 8

  /// Sequence number of the next packet.
  public private(set) var sequence: UInt16
  /// Packets and payload octets sent (both wrap), for RTCP sender reports.
  public private(set) var packetCount: UInt32 = 0
  public private(set) var octetCount: UInt32 = 0
  /// The capture time that RTP timestamp `timestampOffset` stands for: the first frame's.
  public private(set) var timestampBaseNs: UInt64? = nil
  /// RTP timestamp of the last frame written; 0 before any.
  public private(set) var lastTimestamp: UInt32 = 0

  /// IDs outside 1...14 (not valid one-byte-header IDs, RFC 8285) disable the extension.
  public init(ssrc: UInt32, payloadType: UInt8, initialSequence: UInt16, timestampOffset: UInt32,
              playoutDelayExtensionID: UInt8? = nil) {
    var ext: UInt8? = nil
    if let id = playoutDelayExtensionID, id >= 1, id <= 14 { ext = id }
    self.ssrc = ssrc
    self.payloadType = payloadType & 0x7F
    self.playoutDelayExtensionID = ext
    self.timestampOffset = timestampOffset
    headerLength = rtpFixedHeaderSize + (ext == nil ? 0 : 8)
    sequence = initialSequence
  }

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

  /// The RTP header (and playout-delay extension) for the next packet at `out`.
  func writeHeader(_ out: UnsafeMutableRawPointer, marker: Bool, timestamp: UInt32) {
    out.storeBytes(of: playoutDelayExtensionID == nil ? 0x80 : 0x90, as: UInt8.self)
    out.storeBytes(of: (marker ? 0x80 : 0) | payloadType, toByteOffset: 1, as: UInt8.self)
    out.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
    out.storeBytes(of: timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
    out.storeBytes(of: ssrc.bigEndian, toByteOffset: 8, as: UInt32.self)
    if let id = playoutDelayExtensionID {
      // RFC 8285 one-byte header: 0xBEDE, length 1 word; element ID|L=2 (3 bytes):
      // playout delay min (12 bits) = 0, max (12 bits) = 0. Exactly one word, no padding.
      out.storeBytes(of: UInt32(0xBEDE_0001).bigEndian, toByteOffset: 12, as: UInt32.self)
      out.storeBytes(of: (UInt32(id << 4 | 2) << 24).bigEndian, toByteOffset: 16, as: UInt32.self)
    }
  }
}
