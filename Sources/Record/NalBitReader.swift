// NalBitReader: reads the bits of an H.264 NAL unit's payload (RBSP), exp-Golomb codes included.

/// Reads bits MSB first from a NAL unit, skipping emulation prevention bytes (`00 00 03` →
/// `00 00`, ITU-T H.264 7.4.1) on the fly so that no unescaped copy is needed. Reading past
/// the end throws `RecordError.badSps`.
struct NalBitReader {
  let bytes: UnsafeRawBufferPointer
  /// Index of the byte holding the next bit.
  var index: Int
  /// Bits of `bytes[index]` already read (0...7).
  var bit = 0
  /// Zero bytes seen in a row just before `index` (for emulation prevention).
  var zeros = 0

  /// Starts at byte `start` (1: just after the NAL header).
  init(_ bytes: UnsafeRawBufferPointer, start: Int) {
    self.bytes = bytes
    index = start
  }

  /// Moves to the next byte, skipping an emulation prevention byte.
  mutating func nextByte() {
    zeros = bytes[index] == 0 ? zeros + 1 : 0
    index += 1
    if zeros >= 2 && index < bytes.count && bytes[index] == 3 {
      index += 1
      zeros = 0
    }
  }

  mutating func u1() throws(RecordError) -> UInt32 {
    guard index < bytes.count else { throw .badSps }
    let v = UInt32(bytes[index] >> (7 - UInt8(bit))) & 1
    bit += 1
    if bit == 8 {
      bit = 0
      nextByte()
    }
    return v
  }

  /// `n` bits (n ≤ 32) as an unsigned number.
  mutating func u(_ n: Int) throws(RecordError) -> UInt32 {
    var v: UInt32 = 0
    var i = 0
    while i < n {
      v = v << 1 | (try u1())
      i += 1
    }
    return v
  }

  mutating func flag() throws(RecordError) -> Bool { try u1() == 1 }

  /// ue(v) (H.264 9.1). Bounded: more than 31 leading zero bits cannot be a valid 32-bit code,
  /// so it is rejected rather than read on.
  mutating func ue() throws(RecordError) -> UInt32 {
    var leadingZeros = 0
    while try u1() == 0 {
      leadingZeros += 1
      guard leadingZeros <= 31 else { throw .badSps }
    }
    if leadingZeros == 0 { return 0 }
    let rest = try u(leadingZeros)
    return UInt32((UInt64(1) << UInt64(leadingZeros)) - 1 + UInt64(rest)) 
  }

  /// ue(v) that must not exceed `max` (every SPS field has a range in H.264 7.4.2.1.1).
  mutating func ue(max: UInt32) throws(RecordError) -> Int {
    let v = try ue()
    guard v <= max else { throw .badSps }
    return Int(v)
  }

  /// se(v) (H.264 9.1.1), within `-bound...bound`.
  mutating func se(bound: Int32) throws(RecordError) -> Int32 {
    let k = try ue()
    let magnitude = Int64((UInt64(k) + 1) / 2)
    let v = k & 1 == 1 ? magnitude : -magnitude
    guard v >= -Int64(bound) && v <= Int64(bound) else { throw .badSps }
    return Int32(v)
  }
}
