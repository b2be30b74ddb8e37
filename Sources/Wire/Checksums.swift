import CRTCam

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as used by STUN's FINGERPRINT.
public enum CRC32: Sendable {
  static let table: [UInt32] = {
    var t = [UInt32](repeating: 0, count: 256)
    for i in 0..<256 {
      var c = UInt32(i)
      for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
      t[i] = c
    }
    return t
  }()

  public static func checksum(_ bytes: [UInt8], from: Int = 0, to: Int? = nil) -> UInt32 {
    let end = to ?? bytes.count
    var c: UInt32 = 0xFFFF_FFFF
    let t = table
    var i = from
    while i < end {
      c = t[Int((c ^ UInt32(bytes[i])) & 0xFF)] ^ (c >> 8)
      i += 1
    }
    return c ^ 0xFFFF_FFFF
  }

  /// The same over raw bytes (datagrams read in place).
  public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    let t = table
    for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
    return c ^ 0xFFFF_FFFF
  }
}

/// Hashes and MACs, computed by mbedTLS (the one crypto library rtcam ships).
public enum Digest: Sendable {
  /// HMAC-SHA1 of bytes[from..<to] keyed with `key` (STUN MESSAGE-INTEGRITY).
  public static func hmacSHA1(key: [UInt8], _ bytes: [UInt8], from: Int = 0, to: Int? = nil) -> [UInt8] {
    let end = to ?? bytes.count
    var out = [UInt8](repeating: 0, count: 20)
    let info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA1)
    key.withUnsafeBufferPointer { k in
      bytes.withUnsafeBufferPointer { b in
        out.withUnsafeMutableBufferPointer { o in
          _ = mbedtls_md_hmac(info, k.baseAddress, k.count, b.baseAddress! + from, end - from, o.baseAddress)
        }
      }
    }
    return out
  }

  /// PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) of `password` with `salt`: `length` bytes (nil if
  /// mbedTLS refuses the parameters). Password hashes for `--auth-file`.
  public static func pbkdf2SHA256(password: [UInt8], salt: [UInt8], iterations: Int, length: Int = 32) -> [UInt8]? {
    guard iterations > 0, iterations <= 10_000_000, length > 0, length <= 64 else { return nil }
    var ctx = mbedtls_md_context_t()
    mbedtls_md_init(&ctx)
    defer { mbedtls_md_free(&ctx) }
    guard mbedtls_md_setup(&ctx, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1) == 0 else { return nil }
    var out = [UInt8](repeating: 0, count: length)
    let rc = password.withUnsafeBufferPointer { p in
      salt.withUnsafeBufferPointer { s in
        out.withUnsafeMutableBufferPointer { o in
          mbedtls_pkcs5_pbkdf2_hmac(&ctx, p.baseAddress, p.count, s.baseAddress, s.count, UInt32(iterations),
            UInt32(length), o.baseAddress)
        }
      }
    }
    return rc == 0 ? out : nil
  }

  /// Equality that takes the same time wherever the arrays differ (for secrets). Arrays of
  /// different lengths are unequal; only the length may show in the timing, so compare digests of
  /// secrets, not the secrets themselves, when their length is secret too.
  public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in 0..<a.count { diff |= a[i] ^ b[i] }
    return diff == 0
  }

  /// SHA-256 of the whole array (certificate fingerprints).
  public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 32)
    bytes.withUnsafeBufferPointer { b in
      out.withUnsafeMutableBufferPointer { o in
        _ = mbedtls_sha256_ret(b.baseAddress, b.count, o.baseAddress, 0)
      }
    }
    return out
  }
}

/// Compares two byte sequences in time independent of where they differ.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
  guard a.count == b.count else { return false }
  var diff: UInt8 = 0
  for i in 0..<a.count { diff |= a[i] ^ b[i] }
  return diff == 0
}
