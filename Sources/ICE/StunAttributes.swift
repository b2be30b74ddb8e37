// Typed access to a STUN message's attributes (RFC 5389 section 15, RFC 8445 section 7.1):
// USERNAME, PRIORITY, the ICE role attributes, ERROR-CODE, UNKNOWN-ATTRIBUTES, (XOR-)MAPPED-ADDRESS.
import Wire

extension StunMessage {
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
