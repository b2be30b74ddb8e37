import Testing
@testable import Wire

@Suite struct WireTests {
  @Test func readerReadsBigEndianAndRejectsTruncation() throws {
    var r = ByteReader([0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE])
    #expect(try r.u16() == 0x1234)
    #expect(try r.u32() == 0x5678_9ABC)
    #expect(throws: WireError.truncated) { try r.u16() }
    #expect(try r.u8() == 0xDE)
    #expect(r.isAtEnd)
  }

  @Test func writerWritesBigEndian() {
    var w = ByteWriter()
    w.u16(0x0102); w.u24(0x030405); w.u32(0x0607_0809)
    w.set16(0xAABB, at: 0)
    #expect(w.bytes == [0xAA, 0xBB, 3, 4, 5, 6, 7, 8, 9])
    w.reset()
    #expect(w.count == 0)
  }

  @Test func crc32MatchesKnownValue() {
    // The standard check value of CRC-32/ISO-HDLC.
    #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
  }

  @Test func hmacSHA1MatchesRFC2202() {
    // RFC 2202 test case 2.
    let mac = Digest.hmacSHA1(key: Array("Jefe".utf8), Array("what do ya want for nothing?".utf8))
    #expect(Hex.encode(mac) == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
  }

  @Test func sha256AndFingerprintFormat() {
    let d = Digest.sha256(Array("abc".utf8))
    #expect(Hex.encode(d) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(Hex.fingerprint([0xAB, 0x01, 0xFF]) == "AB:01:FF")
    #expect(Hex.decode("AB:01:ff") == [0xAB, 0x01, 0xFF])
    #expect(Hex.decode("ABC") == nil)
    #expect(Hex.decode("zz") == nil)
  }

  @Test func textHelpers() {
    #expect("  Content-Type \r\n".trimmedASCII == "Content-Type")
    #expect("AbC-1".asciiLowercased == "abc-1")
    #expect("a:b::c".splitASCII(UInt8(ascii: ":")) == ["a", "b", "", "c"])
    #expect("a=b=c".splitASCII(UInt8(ascii: "="), maxSplits: 1) == ["a", "b=c"])
    #expect(parseDecimal("8080") == 8080)
    #expect(parseDecimal("80a") == nil)
    #expect(parseDecimal("") == nil)
    #expect(parseDecimal("99999999999999999999999") == nil)
    #expect(parseDecimal("70000", max: 65535) == nil)
    // values that wrap a UInt64 must be rejected, not wrapped around
    #expect(parseDecimal("18446744073709551616") == nil)
    #expect(parseDecimal("18446744073709551620", max: UInt64.max) == nil)
    #expect(formatFixed(1234, decimals: 2) == "12.34")
    #expect(formatFixed(5, decimals: 3) == "0.005")
    #expect(jsonEscape("a\"b\\c\n\u{1}") == "a\\\"b\\\\c\\n\\u0001")
  }
}

@Suite struct SocketAddressTests {
  @Test func formatsBothFamilies() {
    #expect(SocketAddress(ipv4: "127.0.0.1", port: 80)?.description == "127.0.0.1:80")
    #expect(SocketAddress(ipv4: "256.0.0.1", port: 80) == nil)
    #expect(SocketAddress(ipv4: "1.2.3", port: 80) == nil)
    var v6 = [UInt8](repeating: 0, count: 16); v6[15] = 1
    #expect(SocketAddress(ip: v6, port: 9).description == "[::1]:9")
    var db8 = [UInt8](repeating: 0, count: 16); db8[0] = 0x20; db8[1] = 0x01; db8[2] = 0x0d; db8[3] = 0xb8; db8[15] = 0x10
    #expect(SocketAddress(ip: db8, port: 1).ipString == "2001:db8::10")
  }
}

@Suite struct ParseDecimalLimits {
  @Test func neverWrapsOrTraps() {
    #expect(parseDecimal("18446744073709551615", max: UInt64.max) == nil)  // > Int.max
    #expect(parseDecimal("9223372036854775807", max: UInt64.max) == Int.max)
  }
}
