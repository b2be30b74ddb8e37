// STUN (RFC 5389), limited to what ICE needs: errors, message classes, the method and attribute
// numbers, and attribute values. The message codec is StunMessage.swift, typed attribute values
// StunAttributes.swift.
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
