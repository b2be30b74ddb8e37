// The STUN message codec (RFC 5389 sections 6 and 15): header, attributes, short-term
// MESSAGE-INTEGRITY (HMAC-SHA1) and FINGERPRINT.
import Wire

/// A decoded STUN message.
public struct StunMessage: Sendable {
  /// 12-bit method; 0x0001 = Binding.
  public var method: UInt16
  public var cls: StunClass
  /// 12 bytes.
  public var transactionID: [UInt8]
  /// In wire order. After `parse`, attributes following MESSAGE-INTEGRITY (other than
  /// FINGERPRINT) are dropped, as RFC 5389 15.4 says receivers must ignore them.
  public var attributes: [StunAttribute]

  public init(method: UInt16 = Stun.binding, cls: StunClass, transactionID: [UInt8], attributes: [StunAttribute] = []) {
    self.method = method
    self.cls = cls
    self.transactionID = transactionID
    self.attributes = attributes
  }

  // MARK: Message type bits

  /// The 14-bit message type for a method and class (RFC 5389 6, figure 3).
  public static func messageType(method: UInt16, cls: StunClass) -> UInt16 {
    let m = method & 0x0FFF
    var t = (m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2)
    switch cls {
    case .request: break
    case .indication: t |= 0x0010
    case .success: t |= 0x0100
    case .error: t |= 0x0110
    }
    return t
  }

  static func split(_ type: UInt16) -> (method: UInt16, cls: StunClass) {
    let method = (type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2)
    let cls: StunClass
    switch type & 0x0110 {
    case 0x0000: cls = .request
    case 0x0010: cls = .indication
    case 0x0100: cls = .success
    default: cls = .error
    }
    return (method, cls)
  }

  // MARK: Parsing

  /// Parses one datagram. Checks the header (first two bits zero, magic cookie, length a
  /// multiple of 4 and equal to the datagram's), every attribute's length and padding,
  /// that FINGERPRINT (if present) is last and correct, and that MESSAGE-INTEGRITY has 20
  /// bytes. Does not check MESSAGE-INTEGRITY (see `verifyIntegrity`).
  public static func parse(_ datagram: [UInt8]) throws(StunError) -> StunMessage {
    let d = datagram
    if d.count >= 1 && d[0] & 0xC0 != 0 { throw .notStun }
    if d.count >= 8 && loadU32(d, 4) != Stun.magicCookie { throw .notStun }
    guard d.count >= Stun.headerSize else { throw .truncated }
    let length = Int(loadU16(d, 2))
    guard length % 4 == 0 else { throw .malformed("length not a multiple of 4") }
    guard Stun.headerSize + length <= d.count else { throw .truncated }
    guard Stun.headerSize + length == d.count else { throw .malformed("bytes after the message") }
    let (method, cls) = split(loadU16(d, 0))
    let tid = Array(d[8..<20])

    var attributes: [StunAttribute] = []
    var offset = Stun.headerSize
    var afterIntegrity = false
    while offset < d.count {
      guard d.count - offset >= 4 else { throw .malformed("attribute header") }
      let type = loadU16(d, offset)
      let len = Int(loadU16(d, offset + 2))
      let padded = (len + 3) & ~3
      guard d.count - offset - 4 >= padded else { throw .malformed("attribute length") }
      let valueStart = offset + 4
      if type == Stun.fingerprint {
        guard len == 4 else { throw .malformed("FINGERPRINT length") }
        guard valueStart + 4 == d.count else { throw .malformed("attribute after FINGERPRINT") }
        let expected = CRC32.checksum(d, from: 0, to: offset) ^ Stun.fingerprintXor
        guard loadU32(d, valueStart) == expected else { throw .badFingerprint }
        attributes.append(StunAttribute(type: type, value: Array(d[valueStart..<valueStart + 4])))
      } else if !afterIntegrity {
        if type == Stun.messageIntegrity {
          guard len == 20 else { throw .malformed("MESSAGE-INTEGRITY length") }
          afterIntegrity = true
        }
        attributes.append(StunAttribute(type: type, value: Array(d[valueStart..<valueStart + len])))
      }
      offset = valueStart + padded
    }
    return StunMessage(method: method, cls: cls, transactionID: tid, attributes: attributes)
  }

  // MARK: Integrity

  /// Checks MESSAGE-INTEGRITY over the raw datagram per RFC 5389 15.4: HMAC-SHA1 keyed with
  /// `key` (short-term credential: the password's bytes) over the message up to the
  /// attribute, with the header length adjusted to end just after MESSAGE-INTEGRITY.
  /// False if the datagram is not well-formed STUN or has no MESSAGE-INTEGRITY.
  public static func verifyIntegrity(_ datagram: [UInt8], key: [UInt8]) -> Bool {
    guard let at = integrityOffset(datagram) else { return false }
    var prefix = Array(datagram[0..<at])
    let adjusted = UInt16(truncatingIfNeeded: at - Stun.headerSize + 24)
    prefix[2] = UInt8(truncatingIfNeeded: adjusted >> 8)
    prefix[3] = UInt8(truncatingIfNeeded: adjusted)
    let mac = Digest.hmacSHA1(key: key, prefix)
    return constantTimeEqual(mac, Array(datagram[at + 4..<at + 24]))
  }

  /// Offset of the first MESSAGE-INTEGRITY attribute (its type field) in a well-formed
  /// datagram, nil if absent or if the framing is broken.
  static func integrityOffset(_ d: [UInt8]) -> Int? {
    guard looksLikeStun(d), Stun.headerSize + Int(loadU16(d, 2)) == d.count else { return nil }
    var offset = Stun.headerSize
    while d.count - offset >= 4 {
      let type = loadU16(d, offset)
      let len = Int(loadU16(d, offset + 2))
      let padded = (len + 3) & ~3
      guard d.count - offset - 4 >= padded else { return nil }
      if type == Stun.messageIntegrity { return len == 20 ? offset : nil }
      offset += 4 + padded
    }
    return nil
  }

  // MARK: Encoding

  /// Encodes the message. Any MESSAGE-INTEGRITY or FINGERPRINT in `attributes` is skipped;
  /// instead, with `integrityKey` a MESSAGE-INTEGRITY is computed and appended, and with
  /// `fingerprint` a FINGERPRINT is appended last. Padding bytes are zero.
  public func encode(integrityKey: [UInt8]?, fingerprint: Bool) -> [UInt8] {
    encode(integrityKey: integrityKey, fingerprint: fingerprint, paddingByte: 0)
  }

  /// As `encode(integrityKey:fingerprint:)`, with a chosen padding byte (RFC 5769's vectors
  /// pad with 0x20). A transaction id of the wrong size is cut or zero-filled to 12 bytes;
  /// values longer than 65535 bytes are cut.
  public func encode(integrityKey: [UInt8]?, fingerprint: Bool, paddingByte: UInt8) -> [UInt8] {
    var w = ByteWriter(capacity: 64 + attributes.count * 16)
    w.u16(StunMessage.messageType(method: method, cls: cls))
    w.u16(0)
    w.u32(Stun.magicCookie)
    for i in 0..<12 { w.u8(i < transactionID.count ? transactionID[i] : 0) }
    for a in attributes where a.type != Stun.messageIntegrity && a.type != Stun.fingerprint {
      let len = min(a.value.count, 0xFFFF)
      w.u16(a.type)
      w.u16(UInt16(len))
      w.append(a.value[0..<len])
      var pad = (4 - len % 4) % 4
      while pad > 0 { w.u8(paddingByte); pad -= 1 }
    }
    if let key = integrityKey {
      w.set16(UInt16(truncatingIfNeeded: w.count - Stun.headerSize + 24), at: 2)
      let mac = Digest.hmacSHA1(key: key, w.bytes)
      w.u16(Stun.messageIntegrity)
      w.u16(20)
      w.append(mac)
    }
    if fingerprint {
      w.set16(UInt16(truncatingIfNeeded: w.count - Stun.headerSize + 8), at: 2)
      let crc = CRC32.checksum(w.bytes) ^ Stun.fingerprintXor
      w.u16(Stun.fingerprint)
      w.u16(4)
      w.u32(crc)
    }
    w.set16(UInt16(truncatingIfNeeded: w.count - Stun.headerSize), at: 2)
    return w.bytes
  }
}
