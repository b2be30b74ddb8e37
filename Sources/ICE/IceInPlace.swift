// The consent-check fast path of the ICE-lite agent: a Binding request read in place from the
// receive buffer and answered into a caller's buffer, allocating nothing.
import Wire

/// What `IceLiteAgent.receiveInPlace` did with a datagram.
public enum IceInPlaceResult: Equatable, Sendable {
  /// Answered with a Binding success of `length` bytes at the start of the reply buffer; `event`
  /// as `IceOutput.event`.
  case answered(length: Int, event: IceEvent?)
  /// Not an authenticated, well-formed Binding request that succeeds (or the reply buffer or the
  /// source address does not fit): the caller hands the datagram to `receive(_:from:now:)`, which
  /// rejects or answers it. Nothing in the agent changed.
  case notHandled
}

/// Where the attributes of a request lie in its datagram (first occurrence of each, before
/// MESSAGE-INTEGRITY, as `StunMessage.parse` keeps them); offsets of values, -1 when absent.
struct StunRequestLayout {
  var username = -1, usernameLength = 0
  var integrity = -1  // offset of the MESSAGE-INTEGRITY attribute's type field
  var priorityLength = -1, controllingLength = -1, useCandidateLength = -1
  var controlled = false

  /// Reads a datagram as `StunMessage.parse` does (header, every attribute's length and padding,
  /// FINGERPRINT last and correct, MESSAGE-INTEGRITY of 20 bytes), and takes only what
  /// `IceLiteAgent.receive` would answer with a success: a Binding request with nothing but
  /// understood comprehension-required attributes. nil for anything else.
  init?(_ d: UnsafeRawBufferPointer) {
    let n = d.count
    // (the length field bounds the walk: at most 65535 bytes of attributes, each at least 4)
    guard n >= Stun.headerSize, d[0] == 0, d[1] == 0x01, readU32(d, 4) == Stun.magicCookie,
      n % 4 == 0, Int(readU16(d, 2)) == n - Stun.headerSize
    else { return nil }
    var offset = Stun.headerSize
    var afterIntegrity = false
    while offset < n {
      guard n - offset >= 4 else { return nil }
      let type = readU16(d, offset)
      let len = Int(readU16(d, offset + 2))
      let padded = (len + 3) & ~3
      guard n - offset - 4 >= padded else { return nil }
      let value = offset + 4
      if type == Stun.fingerprint {
        guard len == 4, value + 4 == n,
          readU32(d, value) == CRC32.checksum(UnsafeRawBufferPointer(rebasing: d[0..<offset])) ^ Stun.fingerprintXor
        else { return nil }
      } else if !afterIntegrity {
        switch type {
        case Stun.messageIntegrity:
          guard len == 20 else { return nil }
          afterIntegrity = true
          integrity = offset
        case Stun.username where username < 0: (username, usernameLength) = (value, len)
        case Stun.priority where priorityLength < 0: priorityLength = len
        case Stun.iceControlling where controllingLength < 0: controllingLength = len
        case Stun.useCandidate where useCandidateLength < 0: useCandidateLength = len
        case Stun.iceControlled: controlled = true
        default:
          if type < 0x8000 && !Stun.isKnownRequired(type) { return nil }  // answered with 420
        }
      }
      offset = value + padded
    }
    guard username >= 0, integrity >= 0, !controlled, priorityLength < 0 || priorityLength == 4,
      controllingLength < 0 || controllingLength == 8, useCandidateLength <= 0
    else { return nil }
  }
}

func readU16(_ d: UnsafeRawBufferPointer, _ i: Int) -> UInt16 { UInt16(d[i]) << 8 | UInt16(d[i + 1]) }
func readU32(_ d: UnsafeRawBufferPointer, _ i: Int) -> UInt32 { UInt32(readU16(d, i)) << 16 | UInt32(readU16(d, i + 2)) }

extension IceLiteAgent {
  /// The largest Binding success: header, XOR-MAPPED-ADDRESS (IPv6), MESSAGE-INTEGRITY, FINGERPRINT.
  public static let inPlaceReplyCapacity = Stun.headerSize + 24 + 24 + 8

  /// Handles a datagram in place when it is an authenticated Binding request that succeeds (the
  /// steady-state consent checks of every viewer): the same checks, state changes and response
  /// bytes as `receive(_:from:now:)`, without copying the datagram or allocating. The response
  /// goes to `reply` (at least `inPlaceReplyCapacity` bytes). Anything else is `.notHandled`.
  public mutating func receiveInPlace(_ d: UnsafeRawBufferPointer, from: SocketAddress, now: UInt64,
                                      reply: UnsafeMutableRawBufferPointer) -> IceInPlaceResult {
    guard reply.count >= IceLiteAgent.inPlaceReplyCapacity, let layout = StunRequestLayout(d),
      layout.usernameLength == expectedUsername.count
    else { return .notHandled }
    let sameUser = expectedUsername.withUnsafeBytes { e in
      e.elementsEqual(UnsafeRawBufferPointer(rebasing: d[layout.username..<layout.username + layout.usernameLength]))
    }
    guard sameUser, verifiesInPlace(d, integrityAt: layout.integrity) else { return .notHandled }
    // the source as XOR-MAPPED-ADDRESS reports it: IPv4, IPv4-mapped IPv6 as IPv4, or IPv6
    let r = reply
    func put16(_ v: UInt16, _ at: Int) { r[at] = UInt8(truncatingIfNeeded: v >> 8); r[at + 1] = UInt8(truncatingIfNeeded: v) }
    func put32(_ v: UInt32, _ at: Int) { put16(UInt16(truncatingIfNeeded: v >> 16), at); put16(UInt16(truncatingIfNeeded: v), at + 2) }
    var w = Stun.headerSize
    let ipLength = from.withIPBytes { ip -> Int in
      let v4Offset = ip.count == 4 ? 0 : IceLiteAgent.isV4Mapped(ip) ? 12 : -1
      guard v4Offset >= 0 || ip.count == 16 else { return 0 }
      let n = v4Offset >= 0 ? 4 : 16
      // Binding success: header, XOR-MAPPED-ADDRESS, then MESSAGE-INTEGRITY and FINGERPRINT as
      // StunMessage.encode writes them (the length field covering each in turn).
      put16(StunMessage.messageType(method: Stun.binding, cls: .success), 0)
      put32(Stun.magicCookie, 4)
      for i in 8..<20 { r[i] = d[i] }
      put16(Stun.xorMappedAddress, w)
      put16(UInt16(4 + n), w + 2)
      r[w + 4] = 0
      r[w + 5] = n == 4 ? 1 : 2
      put16(from.port ^ UInt16(Stun.magicCookie >> 16), w + 6)
      // the mask: magic cookie, then the transaction id (RFC 5389 15.2)
      for i in 0..<n { r[w + 8 + i] = ip[max(v4Offset, 0) + i] ^ r[4 + i] }
      return n
    }
    guard ipLength > 0 else { return .notHandled }
    w += 8 + ipLength
    put16(UInt16(w - Stun.headerSize + 24), 2)
    put16(Stun.messageIntegrity, w)
    put16(20, w + 2)
    hmac.mac(UnsafeRawBufferPointer(rebasing: r[0..<w]), UnsafeRawBufferPointer(start: nil, count: 0),
             UnsafeRawBufferPointer(start: nil, count: 0), into: r.baseAddress! + w + 4)
    w += 24
    put16(UInt16(w - Stun.headerSize + 8), 2)
    let crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: r[0..<w])) ^ Stun.fingerprintXor
    put16(Stun.fingerprint, w)
    put16(4, w + 2)
    put32(crc, w + 4)
    w += 8

    let event = recordSuccess(from: from, now: now, useCandidate: layout.useCandidateLength == 0)
    return .answered(length: w, event: event)
  }

  static func isV4Mapped(_ ip: UnsafeRawBufferPointer) -> Bool {
    guard ip.count == 16 else { return false }
    for i in 0..<10 where ip[i] != 0 { return false }
    return ip[10] == 0xFF && ip[11] == 0xFF
  }

  /// `StunMessage.verifyIntegrity` in place: HMAC-SHA1 over the message up to MESSAGE-INTEGRITY
  /// with the length field adjusted to end just after it, compared in constant time.
  func verifiesInPlace(_ d: UnsafeRawBufferPointer, integrityAt at: Int) -> Bool {
    let adjusted = UInt16(truncatingIfNeeded: at - Stun.headerSize + 24)
    var length = (UInt8(truncatingIfNeeded: adjusted >> 8), UInt8(truncatingIfNeeded: adjusted))
    var mac: (UInt64, UInt64, UInt32) = (0, 0, 0)  // 20 bytes on the stack
    return withUnsafeMutableBytes(of: &mac) { m in
      withUnsafeBytes(of: &length) { l in
        hmac.mac(UnsafeRawBufferPointer(rebasing: d[0..<2]), l, UnsafeRawBufferPointer(rebasing: d[4..<at]),
                 into: m.baseAddress!)
      }
      var diff: UInt8 = 0
      for i in 0..<HmacSHA1Key.macSize { diff |= m[i] ^ d[at + 4 + i] }
      return diff == 0
    }
  }
}
