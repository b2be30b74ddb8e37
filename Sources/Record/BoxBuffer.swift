// BoxBuffer: a fixed-capacity byte buffer that MP4 boxes are written into by index.

/// A byte buffer allocated once with a fixed capacity and reused: writes go to `count` and
/// advance it; nothing ever grows the storage, so writing allocates nothing. A write that would
/// pass the capacity is dropped and sets `overflowed` (callers check room first; the flag is
/// the backstop that keeps a miscount from trapping or growing the buffer).
struct BoxBuffer: Sendable {
  /// The storage; only `0..<count` is meaningful.
  var storage: [UInt8]
  /// Bytes written so far.
  var count: Int = 0
  /// Set when a write did not fit (the buffer's bytes are then incomplete).
  var overflowed = false

  init(capacity: Int) {
    storage = [UInt8](repeating: 0, count: max(capacity, 0))
  }

  var capacity: Int { storage.count }
  var free: Int { storage.count - count }

  /// Forgets the contents, keeping the storage.
  mutating func reset(at position: Int = 0) {
    count = position
    overflowed = false
  }

  mutating func u8(_ v: UInt8) {
    guard count < storage.count else {
      overflowed = true
      return
    }
    storage[count] = v
    count += 1
  }

  mutating func u16(_ v: UInt16) {
    u8(UInt8(truncatingIfNeeded: v >> 8))
    u8(UInt8(truncatingIfNeeded: v))
  }

  mutating func u32(_ v: UInt32) {
    guard storage.count - count >= 4 else {
      overflowed = true
      return
    }
    set32(v, at: count)
    count += 4
  }

  mutating func u64(_ v: UInt64) {
    u32(UInt32(truncatingIfNeeded: v >> 32))
    u32(UInt32(truncatingIfNeeded: v))
  }

  /// Writes `n` zero bytes.
  mutating func zeros(_ n: Int) {
    var i = 0
    while i < n {
      u8(0)
      i += 1
    }
  }

  /// Writes a four-character code given as a big-endian UInt32 (see `fourCC`).
  mutating func type(_ code: UInt32) { u32(code) }

  /// Copies `length` bytes of `source` from `offset`.
  mutating func copy(_ source: UnsafeRawBufferPointer, offset: Int, length: Int) {
    guard length >= 0, offset >= 0, offset + length <= source.count else {
      overflowed = true
      return
    }
    guard storage.count - count >= length else {
      overflowed = true
      return
    }
    if length == 0 { return }
    let at = count
    storage.withUnsafeMutableBytes { dst in
      dst.baseAddress!.advanced(by: at).copyMemory(from: source.baseAddress!.advanced(by: offset), byteCount: length)
    }
    count += length
  }

  /// Copies the first `length` bytes of an array.
  mutating func copy(_ source: [UInt8], length: Int) {
    var i = 0
    while i < length && i < source.count {
      u8(source[i])
      i += 1
    }
  }

  /// Starts a box: writes a placeholder size and the type; returns the box's offset for `end`.
  mutating func begin(_ code: UInt32) -> Int {
    let at = count
    u32(0)
    u32(code)
    return at
  }

  /// Starts a full box (ISO/IEC 14496-12 4.2): size, type, version and 24-bit flags.
  mutating func beginFull(_ code: UInt32, version: UInt8, flags: UInt32) -> Int {
    let at = begin(code)
    u32(UInt32(version) << 24 | (flags & 0xFF_FFFF))
    return at
  }

  /// Ends the box started at `at`: writes its size.
  mutating func end(_ at: Int) {
    guard at + 4 <= count else {
      overflowed = true
      return
    }
    set32(UInt32(truncatingIfNeeded: count - at), at: at)
  }

  /// Overwrites a big-endian UInt32 at an earlier position (caller keeps it below `count`, or
  /// below the capacity when filling a reserved gap).
  mutating func set32(_ v: UInt32, at i: Int) {
    guard i >= 0, i + 4 <= storage.count else {
      overflowed = true
      return
    }
    storage[i] = UInt8(truncatingIfNeeded: v >> 24)
    storage[i + 1] = UInt8(truncatingIfNeeded: v >> 16)
    storage[i + 2] = UInt8(truncatingIfNeeded: v >> 8)
    storage[i + 3] = UInt8(truncatingIfNeeded: v)
  }

  mutating func set64(_ v: UInt64, at i: Int) {
    set32(UInt32(truncatingIfNeeded: v >> 32), at: i)
    set32(UInt32(truncatingIfNeeded: v), at: i + 4)
  }
}

/// A four-character box type as the big-endian UInt32 it is stored as ("moof" → 0x6D6F6F66).
/// `code` must be four ASCII characters.
func fourCC(_ code: StaticString) -> UInt32 {
  let p = code.utf8Start
  return UInt32(p[0]) << 24 | UInt32(p[1]) << 16 | UInt32(p[2]) << 8 | UInt32(p[3])
}
