import CRTCam

/// HMAC-SHA1 (RFC 2104) with a fixed key, for STUN MESSAGE-INTEGRITY on the consent-check path:
/// the key's inner and outer SHA-1 states are computed once, and each MAC copies them (plain C
/// structs, held inline) and hashes in place with mbedTLS's SHA-1, so computing a MAC allocates
/// nothing (mbedtls_md_hmac sets up a heap context on every call).
public struct HmacSHA1Key: Sendable {
  /// SHA-1 block size: longer keys are hashed first (RFC 2104 2).
  static let blockSize = 64
  public static let macSize = 20
  var inner = mbedtls_sha1_context()
  var outer = mbedtls_sha1_context()

  public init(key: [UInt8]) {
    var k = key
    if k.count > HmacSHA1Key.blockSize {
      var h = [UInt8](repeating: 0, count: HmacSHA1Key.macSize)
      k.withUnsafeBufferPointer { kb in
        h.withUnsafeMutableBufferPointer { hb in _ = mbedtls_sha1_ret(kb.baseAddress, kb.count, hb.baseAddress) }
      }
      k = h
    }
    k += [UInt8](repeating: 0, count: HmacSHA1Key.blockSize - k.count)
    let ipad = k.map { $0 ^ 0x36 }
    let opad = k.map { $0 ^ 0x5C }
    mbedtls_sha1_init(&inner)
    mbedtls_sha1_init(&outer)
    _ = mbedtls_sha1_starts_ret(&inner)
    _ = mbedtls_sha1_starts_ret(&outer)
    ipad.withUnsafeBufferPointer { _ = mbedtls_sha1_update_ret(&inner, $0.baseAddress, $0.count) }
    opad.withUnsafeBufferPointer { _ = mbedtls_sha1_update_ret(&outer, $0.baseAddress, $0.count) }
  }

  /// The MAC of a ‖ b ‖ c, written to `out` (20 bytes). Three parts so that a STUN message can
  /// be authenticated with its length field replaced, without copying it.
  public func mac(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, _ c: UnsafeRawBufferPointer,
                  into out: UnsafeMutableRawPointer) {
    var ctx = inner
    // (one call per part, not a loop over [a, b, c]: an array literal would allocate)
    HmacSHA1Key.update(&ctx, a)
    HmacSHA1Key.update(&ctx, b)
    HmacSHA1Key.update(&ctx, c)
    let o = out.assumingMemoryBound(to: UInt8.self)
    _ = mbedtls_sha1_finish_ret(&ctx, o)
    ctx = outer
    _ = mbedtls_sha1_update_ret(&ctx, o, HmacSHA1Key.macSize)
    _ = mbedtls_sha1_finish_ret(&ctx, o)
  }

  static func update(_ ctx: inout mbedtls_sha1_context, _ part: UnsafeRawBufferPointer) {
    guard let p = part.baseAddress, !part.isEmpty else { return }
    _ = mbedtls_sha1_update_ret(&ctx, p.assumingMemoryBound(to: UInt8.self), part.count)
  }
}
