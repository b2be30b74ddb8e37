// Annex-B byte stream (ITU-T H.264 Annex B) NAL unit iteration.

/// H.264 NAL unit types used by the packetizer (ITU-T H.264 table 7-1, RFC 6184 table 1).
public enum NalType: Sendable {
  public static let nonIDRSlice: UInt8 = 1
  public static let idrSlice: UInt8 = 5
  public static let sei: UInt8 = 6
  public static let sps: UInt8 = 7
  public static let pps: UInt8 = 8
  public static let accessUnitDelimiter: UInt8 = 9
  public static let stapA: UInt8 = 24
  public static let fuA: UInt8 = 28
}

/// Iterates the NAL units of an Annex-B buffer (NALs separated by `00 00 01` or `00 00 00 01`)
/// without allocating. Yields `(offset, length)` ranges into the buffer; the NAL header byte is
/// at `offset` (its type is `byte & 0x1F`). Bytes before the first start code are ignored, as
/// are trailing zero bytes before a start code (the extra zero of 4-byte start codes,
/// `trailing_zero_8bits`) and empty NAL units.
public struct AnnexBIterator: IteratorProtocol, Sequence {
  public typealias Element = (offset: Int, length: Int)

  let buffer: UnsafeRawBufferPointer
  /// Start of the next NAL's bytes, or -1 when finished.
  var position: Int

  public init(_ buffer: UnsafeRawBufferPointer) {
    self.buffer = buffer
    if let sc = AnnexBIterator.findStartCode(buffer, from: 0) {
      position = sc.next
    } else {
      position = -1
    }
  }

  public mutating func next() -> Element? {
    while position >= 0 {
      let start = position
      var end: Int
      if let sc = AnnexBIterator.findStartCode(buffer, from: start) {
        end = sc.start
        position = sc.next
      } else {
        end = buffer.count
        position = -1
      }
      while end > start && buffer[end - 1] == 0 { end -= 1 }
      if end > start { return (start, end - start) }
    }
    return nil
  }

  /// Finds the first `00 00 01` at or after `from`; returns its offset and the offset after it.
  static func findStartCode(_ b: UnsafeRawBufferPointer, from: Int) -> (start: Int, next: Int)? {
    var i = from
    let n = b.count
    while i + 2 < n {
      let c = b[i + 2]
      if c > 1 {
        // No start code can begin at i, i+1 or i+2.
        i += 3
      } else if c == 1 && b[i + 1] == 0 && b[i] == 0 {
        return (i, i + 3)
      } else {
        i += 1
      }
    }
    return nil
  }
}
