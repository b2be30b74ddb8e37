import TestSupport
import CRTCam
import Wire

/// An independent, test-only SRTP/SRTCP implementation written from RFC 3711's definitions
/// (AES-CM section 4.1.1, key derivation 4.3 with kdr = 0, HMAC-SHA1 authentication 4.2),
/// used to check the bytes libsrtp2 produces through `SrtpSession`.
struct SrtpReference {
  let encKey: [UInt8]
  let authKey: [UInt8]
  let salt: [UInt8]
  let rtcpEncKey: [UInt8]
  let rtcpAuthKey: [UInt8]
  let rtcpSalt: [UInt8]

  init(masterKey: [UInt8], masterSalt: [UInt8]) {
    encKey = SrtpReference.derive(masterKey, masterSalt, label: 0, length: 16)
    authKey = SrtpReference.derive(masterKey, masterSalt, label: 1, length: 20)
    salt = SrtpReference.derive(masterKey, masterSalt, label: 2, length: 14)
    rtcpEncKey = SrtpReference.derive(masterKey, masterSalt, label: 3, length: 16)
    rtcpAuthKey = SrtpReference.derive(masterKey, masterSalt, label: 4, length: 20)
    rtcpSalt = SrtpReference.derive(masterKey, masterSalt, label: 5, length: 14)
  }

  /// AES-128 of one block.
  static func aes(_ key: [UInt8], _ block: [UInt8]) -> [UInt8] {
    var ctx = mbedtls_aes_context()
    mbedtls_aes_init(&ctx)
    defer { mbedtls_aes_free(&ctx) }
    _ = key.withUnsafeBufferPointer { mbedtls_aes_setkey_enc(&ctx, $0.baseAddress, 128) }
    var out = [UInt8](repeating: 0, count: 16)
    block.withUnsafeBufferPointer { b in
      out.withUnsafeMutableBufferPointer { o in _ = mbedtls_aes_crypt_ecb(&ctx, MBEDTLS_AES_ENCRYPT, b.baseAddress, o.baseAddress) }
    }
    return out
  }

  /// AES in counter mode from a 128-bit IV; the counter is the IV plus the block number.
  static func keystream(_ key: [UInt8], iv: [UInt8], length: Int) -> [UInt8] {
    var out: [UInt8] = []
    var counter = iv
    while out.count < length {
      out += aes(key, counter)
      // 128-bit big-endian increment
      var i = 15
      while i >= 0 {
        counter[i] &+= 1
        if counter[i] != 0 { break }
        i -= 1
      }
    }
    return Array(out.prefix(length))
  }

  /// RFC 3711 4.3.1 with key_derivation_rate 0: x = (label << 48) XOR master_salt, IV = x * 2^16.
  static func derive(_ masterKey: [UInt8], _ masterSalt: [UInt8], label: UInt8, length: Int) -> [UInt8] {
    var x = masterSalt  // 14 bytes = 112 bits
    x[7] ^= label  // label sits just above the 48-bit r (= 0)
    return keystream(masterKey, iv: x + [0, 0], length: length)
  }

  /// RFC 3711 4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), i the 48-bit index.
  static func packetIV(salt: [UInt8], ssrc: UInt32, index: UInt64) -> [UInt8] {
    var iv = salt + [0, 0]
    for b in 0..<4 { iv[4 + b] ^= UInt8(truncatingIfNeeded: ssrc >> (24 - 8 * UInt32(b))) }
    for b in 0..<6 { iv[8 + b] ^= UInt8(truncatingIfNeeded: index >> (40 - 8 * UInt64(b))) }
    return iv
  }

  /// Length of the RTP header including CSRCs and the header extension.
  static func rtpHeaderLength(_ p: [UInt8]) -> Int {
    var n = 12 + 4 * Int(p[0] & 0x0f)
    if p[0] & 0x10 != 0 { n += 4 + 4 * Int(loadU16(p, n + 2)) }
    return n
  }

  /// SRTP packet for an RTP packet with rollover counter `roc`.
  func protectRtp(_ packet: [UInt8], roc: UInt32) -> [UInt8] {
    let seq = UInt64(loadU16(packet, 2))
    let ssrc = loadU32(packet, 8)
    let header = SrtpReference.rtpHeaderLength(packet)
    let index = UInt64(roc) << 16 | seq
    let ks = SrtpReference.keystream(
      encKey, iv: SrtpReference.packetIV(salt: salt, ssrc: ssrc, index: index), length: packet.count - header)
    var out = packet
    for i in header..<packet.count { out[i] ^= ks[i - header] }
    var w = ByteWriter()
    w.append(out)
    w.u32(roc)
    let tag = Digest.hmacSHA1(key: authKey, w.bytes)
    return out + tag.prefix(10)
  }

  /// SRTCP packet (encrypted, E bit set) for RTCP with SRTCP index `index`.
  func protectRtcp(_ packet: [UInt8], index: UInt32) -> [UInt8] {
    let ssrc = loadU32(packet, 4)
    let ks = SrtpReference.keystream(
      rtcpEncKey, iv: SrtpReference.packetIV(salt: rtcpSalt, ssrc: ssrc, index: UInt64(index)), length: packet.count - 8)
    var out = packet
    for i in 8..<packet.count { out[i] ^= ks[i - 8] }
    var w = ByteWriter()
    w.append(out)
    w.u32(0x8000_0000 | index)
    let tag = Digest.hmacSHA1(key: rtcpAuthKey, w.bytes)
    return w.bytes + tag.prefix(10)
  }
}

func hex(_ s: String) -> [UInt8] {
  Hex.decode(s.filter { !$0.isWhitespace }) ?? []
}

/// An RTP packet: V=2, optional CSRCs and a one-byte-header extension.
func rtpPacket(
  seq: UInt16, timestamp: UInt32 = 0x1234_5678, ssrc: UInt32 = 0xCAFE_BABE, payloadType: UInt8 = 96,
  marker: Bool = false, csrcs: [UInt32] = [], extensionWords: [UInt32]? = nil, payload: [UInt8]
) -> [UInt8] {
  var w = ByteWriter()
  w.u8(0x80 | (extensionWords != nil ? 0x10 : 0) | UInt8(csrcs.count))
  w.u8((marker ? 0x80 : 0) | payloadType)
  w.u16(seq)
  w.u32(timestamp)
  w.u32(ssrc)
  for c in csrcs { w.u32(c) }
  if let ext = extensionWords {
    w.u16(0xBEDE)
    w.u16(UInt16(ext.count))
    for e in ext { w.u32(e) }
  }
  w.append(payload)
  return w.bytes
}
