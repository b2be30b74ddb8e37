/// Errors from reading malformed bytes. Every parser in rtcam reports bad input through
/// typed errors rather than traps, so nothing a peer sends can crash the server.
public enum WireError: Error, Equatable, Sendable {
  case truncated
  case invalid
}

/// Reads big-endian fields from a byte array without copying it.
public struct ByteReader: Sendable {
  public let bytes: [UInt8]
  public private(set) var offset: Int
  public let end: Int

  public init(_ bytes: [UInt8], offset: Int = 0, end: Int? = nil) {
    self.bytes = bytes
    self.offset = offset
    self.end = min(end ?? bytes.count, bytes.count)
  }

  public var remaining: Int { end - offset }
  public var isAtEnd: Bool { offset >= end }

  public mutating func u8() throws(WireError) -> UInt8 {
    guard offset < end else { throw .truncated }
    defer { offset += 1 }
    return bytes[offset]
  }

  public mutating func u16() throws(WireError) -> UInt16 {
    guard remaining >= 2 else { throw .truncated }
    defer { offset += 2 }
    return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
  }

  public mutating func u24() throws(WireError) -> UInt32 {
    guard remaining >= 3 else { throw .truncated }
    defer { offset += 3 }
    return UInt32(bytes[offset]) << 16 | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2])
  }

  public mutating func u32() throws(WireError) -> UInt32 {
    guard remaining >= 4 else { throw .truncated }
    defer { offset += 4 }
    return loadU32(bytes, offset)
  }

  public mutating func u64() throws(WireError) -> UInt64 {
    let hi = try u32()
    let lo = try u32()
    return UInt64(hi) << 32 | UInt64(lo)
  }

  /// Returns the next `count` bytes as a new array.
  public mutating func take(_ count: Int) throws(WireError) -> [UInt8] {
    guard count >= 0, remaining >= count else { throw .truncated }
    defer { offset += count }
    return Array(bytes[offset..<offset + count])
  }

  public mutating func skip(_ count: Int) throws(WireError) {
    guard count >= 0, remaining >= count else { throw .truncated }
    offset += count
  }
}

/// Reads a big-endian UInt32 at `at` (caller checks bounds).
@inline(__always)
public func loadU32(_ b: [UInt8], _ at: Int) -> UInt32 {
  UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
}

@inline(__always)
public func loadU16(_ b: [UInt8], _ at: Int) -> UInt16 {
  UInt16(b[at]) << 8 | UInt16(b[at + 1])
}

/// Big-endian loads from a raw buffer (the receive path reads datagrams in place).
@inline(__always)
public func loadU32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
  UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
}

@inline(__always)
public func loadU16(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt16 {
  UInt16(b[at]) << 8 | UInt16(b[at + 1])
}

/// Appends big-endian fields to a growable byte array. Reuse one writer (see `reset`) on hot
/// paths so that its storage is allocated once.
public struct ByteWriter: Sendable {
  public var bytes: [UInt8]

  public init(capacity: Int = 256) {
    bytes = []
    bytes.reserveCapacity(capacity)
  }

  public var count: Int { bytes.count }

  /// Empties the writer, keeping its storage.
  public mutating func reset() { bytes.removeAll(keepingCapacity: true) }

  public mutating func u8(_ v: UInt8) { bytes.append(v) }
  public mutating func u16(_ v: UInt16) {
    bytes.append(UInt8(truncatingIfNeeded: v >> 8))
    bytes.append(UInt8(truncatingIfNeeded: v))
  }
  public mutating func u24(_ v: UInt32) {
    bytes.append(UInt8(truncatingIfNeeded: v >> 16))
    bytes.append(UInt8(truncatingIfNeeded: v >> 8))
    bytes.append(UInt8(truncatingIfNeeded: v))
  }
  public mutating func u32(_ v: UInt32) {
    bytes.append(UInt8(truncatingIfNeeded: v >> 24))
    bytes.append(UInt8(truncatingIfNeeded: v >> 16))
    bytes.append(UInt8(truncatingIfNeeded: v >> 8))
    bytes.append(UInt8(truncatingIfNeeded: v))
  }
  public mutating func u64(_ v: UInt64) {
    u32(UInt32(truncatingIfNeeded: v >> 32))
    u32(UInt32(truncatingIfNeeded: v))
  }
  public mutating func append(_ b: [UInt8]) { bytes.append(contentsOf: b) }
  public mutating func append(_ b: ArraySlice<UInt8>) { bytes.append(contentsOf: b) }
  public mutating func append(utf8 s: String) { bytes.append(contentsOf: s.utf8) }
  public mutating func zeros(_ n: Int) { for _ in 0..<n { bytes.append(0) } }

  /// Overwrites a big-endian UInt16 at an earlier position.
  public mutating func set16(_ v: UInt16, at i: Int) {
    bytes[i] = UInt8(truncatingIfNeeded: v >> 8)
    bytes[i + 1] = UInt8(truncatingIfNeeded: v)
  }
  public mutating func set32(_ v: UInt32, at i: Int) {
    bytes[i] = UInt8(truncatingIfNeeded: v >> 24)
    bytes[i + 1] = UInt8(truncatingIfNeeded: v >> 16)
    bytes[i + 2] = UInt8(truncatingIfNeeded: v >> 8)
    bytes[i + 3] = UInt8(truncatingIfNeeded: v)
  }
}

extension Array where Element == UInt8 {
  /// Makes room for `count` bytes in all; when the buffer must grow it grows by half as much
  /// again, so a buffer reused for pictures of varying size (JPEGs) stops growing after its first
  /// few (steady state allocates nothing).
  public mutating func reserveWithHeadroom(_ count: Int) {
    if capacity < count { reserveCapacity(count + count / 2) }
  }
}
