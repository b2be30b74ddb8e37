// DER (ITU-T X.690) encoding of the few ASN.1 types a self-signed certificate needs.
//
// rtcam writes its certificate itself instead of using mbedTLS 2.28's x509write: that writer
// puts a NULL parameter into the ecdsa-with-SHA256 AlgorithmIdentifier, which RFC 5758 §3.2
// forbids and strict parsers (Python's `cryptography`, and so aiortc) refuse.

/// Builders for DER values; each returns the whole TLV (tag, length, contents).
enum Der: Sendable {
  enum Tag: Sendable {
    static let boolean: UInt8 = 0x01
    static let integer: UInt8 = 0x02
    static let bitString: UInt8 = 0x03
    static let octetString: UInt8 = 0x04
    static let objectIdentifier: UInt8 = 0x06
    static let utf8String: UInt8 = 0x0C
    static let utcTime: UInt8 = 0x17
    static let generalizedTime: UInt8 = 0x18
    static let sequence: UInt8 = 0x30
    static let set: UInt8 = 0x31
    /// `[n] EXPLICIT`: context-specific, constructed.
    static func explicit(_ n: UInt8) -> UInt8 { 0xA0 | n }
  }

  /// Tag, definite length (short form below 128, else long form), contents.
  static func tlv(_ tag: UInt8, _ contents: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [tag]
    let n = contents.count
    if n < 0x80 {
      out.append(UInt8(n))
    } else {
      var lengthBytes: [UInt8] = []
      var v = n
      while v > 0 {
        lengthBytes.insert(UInt8(v & 0xFF), at: 0)
        v >>= 8
      }
      out.append(0x80 | UInt8(lengthBytes.count))
      out.append(contentsOf: lengthBytes)
    }
    out.append(contentsOf: contents)
    return out
  }

  static func sequence(_ parts: [UInt8]...) -> [UInt8] { tlv(Tag.sequence, parts.flatMap { $0 }) }

  static func set(_ parts: [UInt8]...) -> [UInt8] { tlv(Tag.set, parts.flatMap { $0 }) }

  static func explicit(_ n: UInt8, _ inner: [UInt8]) -> [UInt8] { tlv(Tag.explicit(n), inner) }

  static func boolean(_ v: Bool) -> [UInt8] { tlv(Tag.boolean, [v ? 0xFF : 0x00]) }

  /// A non-negative INTEGER from big-endian magnitude bytes: minimal length (leading zero bytes
  /// dropped), with one 0x00 put in front when the top bit is set so the value stays positive.
  static func unsignedInteger(_ magnitude: [UInt8]) -> [UInt8] {
    var m = ArraySlice(magnitude)
    while m.count > 1, m.first == 0 { m = m.dropFirst() }
    if m.isEmpty { m = [0] }
    var contents: [UInt8] = []
    if m.first! & 0x80 != 0 { contents.append(0) }
    contents.append(contentsOf: m)
    return tlv(Tag.integer, contents)
  }

  static func integer(_ v: UInt8) -> [UInt8] { unsignedInteger([v]) }

  /// OBJECT IDENTIFIER from its arcs (the first two are packed as 40 * a + b, each arc base 128).
  static func objectIdentifier(_ arcs: [UInt32]) -> [UInt8] {
    precondition(arcs.count >= 2 && arcs[0] <= 2)
    var contents: [UInt8] = []
    func base128(_ value: UInt32) {
      var groups: [UInt8] = [UInt8(value & 0x7F)]
      var v = value >> 7
      while v > 0 {
        groups.insert(UInt8(v & 0x7F) | 0x80, at: 0)
        v >>= 7
      }
      contents.append(contentsOf: groups)
    }
    base128(arcs[0] * 40 + arcs[1])
    for a in arcs.dropFirst(2) { base128(a) }
    return tlv(Tag.objectIdentifier, contents)
  }

  static func utf8String(_ s: String) -> [UInt8] { tlv(Tag.utf8String, Array(s.utf8)) }

  static func octetString(_ b: [UInt8]) -> [UInt8] { tlv(Tag.octetString, b) }

  /// BIT STRING of whole bytes (no unused bits).
  static func bitString(_ b: [UInt8]) -> [UInt8] { tlv(Tag.bitString, [0] + b) }

  /// An X.509 Time (RFC 5280 §4.1.2.5) from "YYYYMMDDHHMMSS" in UTC: UTCTime "YYMMDDHHMMSSZ" for
  /// the years 1950 through 2049, GeneralizedTime "YYYYMMDDHHMMSSZ" from 2050 on. Nil if the text
  /// is not 14 digits or the year is before 1950.
  static func x509Time(_ yyyymmddhhmmss: String) -> [UInt8]? {
    let digits = Array(yyyymmddhhmmss.utf8)
    guard digits.count == 14, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
      return nil
    }
    var year = 0
    for d in digits[0..<4] { year = year * 10 + Int(d - UInt8(ascii: "0")) }
    let z = UInt8(ascii: "Z")
    switch year {
    case 1950...2049: return tlv(Tag.utcTime, Array(digits[2...]) + [z])
    case 2050...: return tlv(Tag.generalizedTime, digits + [z])
    default: return nil
    }
  }
}

/// Object identifiers used in rtcam's certificate.
enum Oid: Sendable {
  /// ecdsa-with-SHA256 (RFC 5758 §3.2): its AlgorithmIdentifier has no parameters.
  static let ecdsaWithSHA256: [UInt32] = [1, 2, 840, 10045, 4, 3, 2]
  /// id-at-commonName (RFC 5280 appendix A).
  static let commonName: [UInt32] = [2, 5, 4, 3]
  /// id-ce-basicConstraints (RFC 5280 §4.2.1.9).
  static let basicConstraints: [UInt32] = [2, 5, 29, 19]
}
