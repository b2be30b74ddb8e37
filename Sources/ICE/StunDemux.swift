// Looking at a datagram before parsing it: is it STUN, and for which local ufrag (routing).
import Wire

/// RFC 7983 demultiplexing plus the STUN header: at least 20 bytes, first byte 0...3,
/// length a multiple of 4, magic cookie 0x2112A442.
public func looksLikeStun(_ datagram: [UInt8]) -> Bool {
  datagram.count >= Stun.headerSize && datagram[0] <= 3 && datagram.count % 4 == 0
    && loadU32(datagram, 4) == Stun.magicCookie
}

/// The local ("our") ufrag from a request's USERNAME "ours:theirs", for routing a datagram
/// to a session before doing any crypto. nil when absent/malformed, when the part before ':'
/// is empty or when it holds anything but printable ASCII. Read in place (the loop's receive
/// buffer); the result is a small string (our ufrags have 8 characters), so for our sessions
/// nothing is allocated.
public func stunLocalUfrag(_ d: UnsafeRawBufferPointer) -> String? {
  guard d.count >= Stun.headerSize, d[0] <= 3, d.count % 4 == 0, readU32(d, 4) == Stun.magicCookie,
    Stun.headerSize + Int(readU16(d, 2)) == d.count
  else { return nil }
  var offset = Stun.headerSize
  while d.count - offset >= 4 {
    let type = readU16(d, offset)
    let len = Int(readU16(d, offset + 2))
    let padded = (len + 3) & ~3
    guard d.count - offset - 4 >= padded else { return nil }
    if type == Stun.username {
      let start = offset + 4
      for i in start..<start + len {
        let c = d[i]
        if c == UInt8(ascii: ":") {
          return i == start ? nil : String(decoding: UnsafeRawBufferPointer(rebasing: d[start..<i]), as: UTF8.self)
        }
        guard c > 0x20 && c < 0x7F else { return nil }
      }
      return nil
    }
    if type == Stun.messageIntegrity { return nil }
    offset += 4 + padded
  }
  return nil
}
