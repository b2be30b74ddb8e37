// Minimal RFC 6184 receiver (single NAL unit, STAP-A, FU-A) for tests and tools: what a browser
// does with rtcam's packets. (tools/fuzz compiles this file into the h264 target.)
import RTP

/// Reassembles H.264 access units (Annex-B, 4-byte start codes) from RTP packets in order.
/// Allocates freely; meant for tests and tools, not the device's hot path.
///
/// A sequence gap throws `.sequenceGap` and discards the access unit in progress together with
/// the rest of the packets carrying the gap packet's timestamp; reassembly resumes with the next
/// timestamp. Other payload errors likewise discard the access unit they belong to.
public struct H264Depacketizer: Sendable {
  /// Upper bound on one reassembled access unit.
  public static let maxAccessUnit = 8 << 20

  var current: [UInt8] = []
  var currentTimestamp: UInt32 = 0
  var inProgress = false
  var fragmenting = false
  var expectedSequence: UInt16? = nil
  var skipTimestamp: UInt32? = nil
  /// Packets known to be missing (sum of the gap sizes seen).
  public private(set) var lostPackets: UInt64 = 0

  public init() {}

  /// Feeds one RTP packet; returns the completed access unit when the packet carries the marker.
  public mutating func push(_ packet: [UInt8]) throws(RtpError) -> [UInt8]? {
    let h = try RtpHeader.parse(packet)
    if let expected = expectedSequence, expected != h.sequence {
      expectedSequence = h.sequence &+ 1
      lostPackets += UInt64(h.sequence &- expected)
      drop(skipping: h.marker ? nil : h.timestamp)
      throw .sequenceGap(expected: expected, got: h.sequence)
    }
    expectedSequence = h.sequence &+ 1

    if let skip = skipTimestamp {
      if skip == h.timestamp {
        if h.marker { skipTimestamp = nil }
        return nil
      }
      skipTimestamp = nil
    }
    if inProgress && h.timestamp != currentTimestamp {
      // The previous access unit never saw its marker; forget it.
      current.removeAll(keepingCapacity: true)
      fragmenting = false
    }
    inProgress = true
    currentTimestamp = h.timestamp

    do {
      try appendPayload(packet, h.payloadRange(packetLength: packet.count))
    } catch {
      drop(skipping: h.marker ? nil : h.timestamp)
      throw error
    }
    guard h.marker else { return nil }
    if fragmenting {
      drop(skipping: nil)
      throw .malformedPayload
    }
    let au = current
    current.removeAll(keepingCapacity: true)
    inProgress = false
    return au
  }

  mutating func drop(skipping timestamp: UInt32?) {
    current.removeAll(keepingCapacity: true)
    inProgress = false
    fragmenting = false
    skipTimestamp = timestamp
  }

  mutating func appendNAL(_ p: [UInt8], _ range: Range<Int>) throws(RtpError) {
    guard current.count + 4 + range.count <= H264Depacketizer.maxAccessUnit else {
      throw .tooLarge
    }
    current.append(contentsOf: [0, 0, 0, 1])
    current.append(contentsOf: p[range])
  }

  mutating func appendPayload(_ p: [UInt8], _ r: Range<Int>) throws(RtpError) {
    guard !r.isEmpty else { throw .malformedPayload }
    let type = p[r.lowerBound] & 0x1F
    switch type {
    case 1...23:
      guard !fragmenting else { throw .malformedPayload }
      try appendNAL(p, r)
    case NalType.stapA:
      guard !fragmenting else { throw .malformedPayload }
      var i = r.lowerBound + 1
      guard i < r.upperBound else { throw .malformedPayload }
      while i < r.upperBound {
        guard i + 2 <= r.upperBound else { throw .malformedPayload }
        let size = Int(p[i]) << 8 | Int(p[i + 1])
        i += 2
        guard size > 0, i + size <= r.upperBound else { throw .malformedPayload }
        try appendNAL(p, i..<(i + size))
        i += size
      }
    case NalType.fuA:
      guard r.count >= 3 else { throw .malformedPayload }
      let indicator = p[r.lowerBound]
      let fu = p[r.lowerBound + 1]
      let start = fu & 0x80 != 0
      let end = fu & 0x40 != 0
      let data = (r.lowerBound + 2)..<r.upperBound
      if start {
        guard !fragmenting, !end else { throw .malformedPayload }
        guard current.count + 5 + data.count <= H264Depacketizer.maxAccessUnit else {
          throw .tooLarge
        }
        current.append(contentsOf: [0, 0, 0, 1, indicator & 0xE0 | fu & 0x1F])
        current.append(contentsOf: p[data])
        fragmenting = true
      } else {
        guard fragmenting else { throw .malformedPayload }
        guard current.count + data.count <= H264Depacketizer.maxAccessUnit else {
          throw .tooLarge
        }
        current.append(contentsOf: p[data])
        if end { fragmenting = false }
      }
    default:
      throw .unsupportedNalType(type)
    }
  }
}
