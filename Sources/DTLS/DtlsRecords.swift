import Wire

/// Structural checks on received datagrams before mbedTLS sees them.
///
/// RFC 6347 section 4.1.2.7 lets a DTLS endpoint silently discard invalid records, but
/// mbedTLS 2.28 treats a plaintext handshake, alert or ChangeCipherSpec record whose inner
/// lengths do not add up as fatal. Unauthenticated junk on the port must not end an
/// association, so datagrams that cannot be well-formed DTLS are dropped here. Encrypted
/// records (epoch > 0) are left to mbedTLS, which authenticates them.
public enum DtlsRecords: Sendable {
  /// DTLS record header length: type(1) version(2) epoch(2) sequence(6) length(2).
  public static let headerLength = 13
  /// DTLS handshake message header length.
  public static let handshakeHeaderLength = 12

  /// True if every record in the datagram is structurally valid.
  public static func isPlausible(_ datagram: [UInt8]) -> Bool {
    var r = ByteReader(datagram)
    guard !r.isAtEnd else { return false }
    while !r.isAtEnd {
      guard let type = try? r.u8(), let version = try? r.u16(), let epoch = try? r.u16(),
        (try? r.skip(6)) != nil, let length = try? r.u16(), let body = try? r.take(Int(length))
      else { return false }
      guard type >= 20 && type <= 23 else { return false }
      guard version == 0xFEFD || version == 0xFEFF else { return false }
      if epoch != 0 { continue }  // encrypted: authenticated by mbedTLS
      switch type {
      case 20: guard body == [1] else { return false }
      case 21: guard body.count == 2, body[0] == 1 || body[0] == 2 else { return false }
      case 22: guard handshakeMessagesValid(body) else { return false }
      default: return false  // plaintext application data never happens
      }
    }
    return true
  }

  /// Handshake fragments in one plaintext record: each header's fragment must fit the
  /// message and the record, and the record must hold nothing else.
  static func handshakeMessagesValid(_ body: [UInt8]) -> Bool {
    var r = ByteReader(body)
    guard !r.isAtEnd else { return false }
    while !r.isAtEnd {
      guard (try? r.u8()) != nil, let total = try? r.u24(), (try? r.u16()) != nil,
        let offset = try? r.u24(), let fragment = try? r.u24()
      else { return false }
      guard offset <= total, fragment <= total - offset, Int(fragment) <= r.remaining else { return false }
      guard (try? r.skip(Int(fragment))) != nil else { return false }
    }
    return true
  }
}
