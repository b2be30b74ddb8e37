// STUN message codec (RFC 5389), limited to what ICE needs: short-term credentials,
// MESSAGE-INTEGRITY (HMAC-SHA1), FINGERPRINT, XOR-MAPPED-ADDRESS and the ICE attributes.
import Wire

/// Why a datagram was not accepted as STUN, or why a request was rejected.
public enum StunError: Error, Equatable, Sendable {
  /// Not a STUN message (first two bits, magic cookie).
  case notStun
  /// Shorter than its header or its length field says.
  case truncated
  /// Structurally broken (lengths, padding, misplaced attributes); the text says what.
  case malformed(String)
  /// FINGERPRINT present but wrong: per RFC 5389 the datagram is not STUN.
  case badFingerprint
  /// A request without USERNAME or MESSAGE-INTEGRITY (cannot be authenticated; dropped).
  case missingCredentials
  /// USERNAME is not "localUfrag:remoteUfrag" (answered with 401).
  case wrongUsername
  /// MESSAGE-INTEGRITY does not verify with our password (answered with 401).
  case badIntegrity
  /// Comprehension-required attributes we do not understand (answered with 420).
  case unknownAttributes([UInt16])
  /// The peer claimed the controlled role too (answered with 487).
  case roleConflict
  /// A request for a method other than Binding (answered with 400).
  case unsupportedMethod(UInt16)
}

/// The class bits of a STUN message type.
public enum StunClass: Equatable, Sendable {
  case request, indication, success, error
}

/// STUN constants: magic cookie, methods and attribute types.
public enum Stun: Sendable {
  public static let magicCookie: UInt32 = 0x2112_A442
  /// XORed into the CRC-32 of FINGERPRINT ("STUN").
  public static let fingerprintXor: UInt32 = 0x5354_554E
  public static let headerSize = 20

  public static let binding: UInt16 = 0x0001

  // Comprehension-required attributes (RFC 5389, RFC 8445).
  public static let mappedAddress: UInt16 = 0x0001
  public static let username: UInt16 = 0x0006
  public static let messageIntegrity: UInt16 = 0x0008
  public static let errorCode: UInt16 = 0x0009
  public static let unknownAttributes: UInt16 = 0x000A
  public static let realm: UInt16 = 0x0014
  public static let nonce: UInt16 = 0x0015
  public static let xorMappedAddress: UInt16 = 0x0020
  public static let priority: UInt16 = 0x0024
  public static let useCandidate: UInt16 = 0x0025
  // Comprehension-optional attributes.
  public static let software: UInt16 = 0x8022
  public static let alternateServer: UInt16 = 0x8023
  public static let fingerprint: UInt16 = 0x8028
  public static let iceControlled: UInt16 = 0x8029
  public static let iceControlling: UInt16 = 0x802A

  /// Comprehension-required types (< 0x8000) this implementation understands.
  public static func isKnownRequired(_ type: UInt16) -> Bool {
    switch type {
    case mappedAddress, username, messageIntegrity, errorCode, unknownAttributes, realm, nonce,
      xorMappedAddress, priority, useCandidate:
      return true
    default:
      return false
    }
  }
}

/// One TLV attribute. `value` is unpadded.
public struct StunAttribute: Equatable, Sendable {
  public var type: UInt16
  public var value: [UInt8]

  public init(type: UInt16, value: [UInt8]) {
    self.type = type
    self.value = value
  }
}

/// ERROR-CODE contents: `code` is 300...699, `reason` a short phrase.
public struct StunErrorCode: Equatable, Sendable {
  public var code: Int
  public var reason: String

  public init(code: Int, reason: String) {
    self.code = code
    self.reason = reason
  }
}

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

  // MARK: Attribute access

  /// The value of the first attribute of `type`, if any.
  public func attribute(_ type: UInt16) -> [UInt8]? {
    for a in attributes where a.type == type { return a.value }
    return nil
  }

  public func has(_ type: UInt16) -> Bool { attribute(type) != nil }

  /// Appends an attribute.
  public mutating func append(_ type: UInt16, _ value: [UInt8]) {
    attributes.append(StunAttribute(type: type, value: value))
  }

  /// USERNAME as text (invalid UTF-8 is replaced).
  public var username: String? {
    guard let v = attribute(Stun.username) else { return nil }
    return String(decoding: v, as: UTF8.self)
  }

  /// SOFTWARE as text.
  public var software: String? {
    guard let v = attribute(Stun.software) else { return nil }
    return String(decoding: v, as: UTF8.self)
  }

  /// PRIORITY (nil if absent or not 4 bytes).
  public var priority: UInt32? {
    guard let v = attribute(Stun.priority), v.count == 4 else { return nil }
    return loadU32(v, 0)
  }

  /// USE-CANDIDATE present.
  public var useCandidate: Bool { has(Stun.useCandidate) }

  /// ICE-CONTROLLING tie-breaker (nil if absent or not 8 bytes).
  public var iceControlling: UInt64? { u64Attribute(Stun.iceControlling) }

  /// ICE-CONTROLLED tie-breaker (nil if absent or not 8 bytes).
  public var iceControlled: UInt64? { u64Attribute(Stun.iceControlled) }

  func u64Attribute(_ type: UInt16) -> UInt64? {
    guard let v = attribute(type), v.count == 8 else { return nil }
    return UInt64(loadU32(v, 0)) << 32 | UInt64(loadU32(v, 4))
  }

  /// ERROR-CODE (nil if absent or malformed).
  public var errorCode: StunErrorCode? {
    guard let v = attribute(Stun.errorCode), v.count >= 4 else { return nil }
    let cls = Int(v[2] & 0x07)
    let number = Int(v[3])
    guard cls >= 3, cls <= 6, number < 100 else { return nil }
    return StunErrorCode(code: cls * 100 + number, reason: String(decoding: v[4...], as: UTF8.self))
  }

  /// UNKNOWN-ATTRIBUTES list (nil if absent or of odd length).
  public var unknownAttributeTypes: [UInt16]? {
    guard let v = attribute(Stun.unknownAttributes), v.count % 2 == 0 else { return nil }
    var out: [UInt16] = []
    var i = 0
    while i + 1 < v.count { out.append(loadU16(v, i)); i += 2 }
    return out
  }

  /// XOR-MAPPED-ADDRESS decoded with this message's transaction id.
  public var xorMappedAddress: SocketAddress? {
    guard let v = attribute(Stun.xorMappedAddress) else { return nil }
    return StunMessage.decodeXorAddress(v, transactionID: transactionID)
  }

  /// MAPPED-ADDRESS (plain, RFC 3489 style).
  public var mappedAddress: SocketAddress? {
    guard let v = attribute(Stun.mappedAddress), v.count >= 4 else { return nil }
    let ipLen = v[1] == 1 ? 4 : v[1] == 2 ? 16 : 0
    guard ipLen > 0, v.count == 4 + ipLen else { return nil }
    return SocketAddress(ip: Array(v[4...]), port: loadU16(v, 2))
  }

  /// Adds XOR-MAPPED-ADDRESS for `address`. Returns false (and adds nothing) if the address
  /// is neither 4 nor 16 bytes.
  @discardableResult
  public mutating func appendXorMappedAddress(_ address: SocketAddress) -> Bool {
    guard let v = StunMessage.encodeXorAddress(address, transactionID: transactionID) else { return false }
    append(Stun.xorMappedAddress, v)
    return true
  }

  /// The XOR-MAPPED-ADDRESS value for `address` (RFC 5389 15.2). IPv4-mapped IPv6 addresses
  /// (::ffff:a.b.c.d, as a dual-stack socket reports IPv4 peers) are encoded as IPv4.
  public static func encodeXorAddress(_ address: SocketAddress, transactionID: [UInt8]) -> [UInt8]? {
    var ip = address.ip
    if ip.count == 16 && isV4Mapped(ip) { ip = Array(ip[12..<16]) }
    guard ip.count == 4 || ip.count == 16, transactionID.count == 12 else { return nil }
    let mask = xorMask(transactionID)
    var v: [UInt8] = [0, ip.count == 4 ? 1 : 2]
    let xport = address.port ^ UInt16(Stun.magicCookie >> 16)
    v.append(UInt8(truncatingIfNeeded: xport >> 8))
    v.append(UInt8(truncatingIfNeeded: xport))
    for i in 0..<ip.count { v.append(ip[i] ^ mask[i]) }
    return v
  }

  /// Decodes an XOR-MAPPED-ADDRESS value; nil if malformed.
  public static func decodeXorAddress(_ v: [UInt8], transactionID: [UInt8]) -> SocketAddress? {
    guard v.count >= 4, transactionID.count == 12 else { return nil }
    let ipLen = v[1] == 1 ? 4 : v[1] == 2 ? 16 : 0
    guard ipLen > 0, v.count == 4 + ipLen else { return nil }
    let mask = xorMask(transactionID)
    var ip: [UInt8] = []
    for i in 0..<ipLen { ip.append(v[4 + i] ^ mask[i]) }
    return SocketAddress(ip: ip, port: loadU16(v, 2) ^ UInt16(Stun.magicCookie >> 16))
  }

  /// Magic cookie followed by the transaction id: the XOR mask for addresses.
  static func xorMask(_ tid: [UInt8]) -> [UInt8] {
    [0x21, 0x12, 0xA4, 0x42] + tid
  }

  static func isV4Mapped(_ ip: [UInt8]) -> Bool {
    guard ip.count == 16 else { return false }
    for i in 0..<10 where ip[i] != 0 { return false }
    return ip[10] == 0xFF && ip[11] == 0xFF
  }

  /// ERROR-CODE value bytes for `code` (300...699) and a reason phrase.
  public static func errorCodeValue(_ code: Int, reason: String) -> [UInt8] {
    let c = code < 300 || code > 699 ? 500 : code
    return [0, 0, UInt8(c / 100), UInt8(c % 100)] + Array(reason.utf8)
  }
}
