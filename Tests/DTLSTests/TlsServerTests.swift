import TestSupport
import CRTCam
import Testing
import Wire

@testable import DTLS

/// A TLS client over memory (mbedTLS), to drive rtcam's sans-IO TLS server in process.
final class MemoryTlsClient {
  let ssl = UnsafeMutablePointer<mbedtls_ssl_context>.allocate(capacity: 1)
  let conf = UnsafeMutablePointer<mbedtls_ssl_config>.allocate(capacity: 1)
  var incoming: [UInt8] = []
  var outgoing: [UInt8] = []

  init(random: DtlsRandom) throws {
    mbedtls_ssl_init(ssl)
    mbedtls_ssl_config_init(conf)
    try #require(mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT) == 0)
    mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, random.rngContext)
    mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_NONE)
    try #require(mbedtls_ssl_setup(ssl, conf) == 0)
    let me = Unmanaged.passUnretained(self).toOpaque()
    mbedtls_ssl_set_bio(ssl, me, { ctx, buf, len in
      let me = Unmanaged<MemoryTlsClient>.fromOpaque(ctx!).takeUnretainedValue()
      me.outgoing.append(contentsOf: UnsafeBufferPointer(start: buf, count: len))
      return Int32(len)
    }, { ctx, buf, len in
      let me = Unmanaged<MemoryTlsClient>.fromOpaque(ctx!).takeUnretainedValue()
      guard !me.incoming.isEmpty else { return MBEDTLS_ERR_SSL_WANT_READ }
      let n = min(len, me.incoming.count)
      me.incoming.withUnsafeBufferPointer { buf!.update(from: $0.baseAddress!, count: n) }
      me.incoming.removeFirst(n)
      return Int32(n)
    }, nil)
  }

  deinit {
    mbedtls_ssl_free(ssl)
    mbedtls_ssl_config_free(conf)
    ssl.deallocate()
    conf.deallocate()
  }

  func take() -> [UInt8] { defer { outgoing = [] }; return outgoing }
}

@Suite struct TlsServerTests {
  func makeServer(timeout: UInt64 = 10_000_000_000) throws -> (TlsServerConfig, DtlsRandom) {
    let random = try DtlsRandom(deterministicSeed: Array("tls-tests".utf8))
    let cert = try DtlsCertificate.generate(commonName: "rtcam", random: random)
    return (try TlsServerConfig(identity: TlsIdentity(generated: cert), random: random, handshakeTimeoutNs: timeout), random)
  }

  @Test func handshakeThenDataBothWays() throws {
    let (config, random) = try makeServer()
    let server = try TlsConnection(config: config, now: 0)
    let client = try MemoryTlsClient(random: random)
    var rounds = 0
    while rounds < 10 {
      let rc = mbedtls_ssl_handshake(client.ssl)
      let toServer = client.take()
      if !toServer.isEmpty { _ = toServer.withUnsafeBytes { server.receive($0) } }
      client.incoming += server.outgoingBytes()
      if rc == 0 { break }
      rounds += 1
    }
    #expect(server.state == .open)
    #expect(String(cString: mbedtls_ssl_get_version(client.ssl)) == "TLSv1.2")
    let suite = String(cString: mbedtls_ssl_get_ciphersuite(client.ssl))
    #expect(suite.contains("ECDHE") && suite.contains("GCM"), "\(suite)")
    // client -> server
    let request = Array("GET / HTTP/1.1\r\nHost: cam\r\n\r\n".utf8)
    _ = request.withUnsafeBufferPointer { mbedtls_ssl_write(client.ssl, $0.baseAddress, $0.count) }
    let plain = client.take().withUnsafeBytes { server.receive($0) }
    #expect(plain == request)
    // server -> client
    server.send(Array("HTTP/1.1 204 No Content\r\n\r\n".utf8))
    client.incoming += server.outgoingBytes()
    var buf = [UInt8](repeating: 0, count: 256)
    let n = buf.withUnsafeMutableBufferPointer { mbedtls_ssl_read(client.ssl, $0.baseAddress, $0.count) }
    #expect(n > 0 && String(decoding: buf[0..<Int(max(n, 0))], as: UTF8.self).hasPrefix("HTTP/1.1 204"))
    // close_notify from the server
    server.close()
    #expect(server.state == .closed && !server.outgoingBytes().isEmpty)
  }

  @Test func garbageAndStallsEndTheConnection() throws {
    let (config, _) = try makeServer(timeout: 5_000)
    let junk = try TlsConnection(config: config, now: 0)
    let bytes: [UInt8] = Array("GET / HTTP/1.1\r\n\r\n".utf8)
    #expect(bytes.withUnsafeBytes { junk.receive($0) }.isEmpty)
    #expect(junk.state == .closed)
    #expect(junk.failure?.code == "TLS_HANDSHAKE_FAILED")
    _ = junk.outgoingBytes()
    junk.send([1, 2, 3])  // nothing is sent on a closed connection
    #expect(junk.outgoingBytes().isEmpty)

    let stalled = try TlsConnection(config: config, now: 100)
    #expect(stalled.handshakeDeadline == 5_100)
    stalled.handleTimeout(now: 5_099)
    #expect(stalled.state == .handshaking)
    stalled.handleTimeout(now: 5_100)
    #expect(stalled.state == .closed && stalled.failure == .handshakeTimeout)
    #expect(stalled.handshakeDeadline == nil)

    // more unprocessed input than a connection buffers: refused, not stored
    let flood = try TlsConnection(config: config, now: 0)
    let big = [UInt8](repeating: 0x16, count: TlsConnection.maxPendingInput + 1)
    _ = big.withUnsafeBytes { flood.receive($0) }
    #expect(flood.failure == .inputTooLarge)
  }

  @Test func selfSignedIdentityRoundTripsThroughPEM() throws {
    let random = try DtlsRandom(deterministicSeed: Array("tls-pem".utf8))
    let cert = try DtlsCertificate.generate(commonName: "rtcam", random: random)
    let pem = String(decoding: cert.certificatePEM, as: UTF8.self)
    #expect(pem.hasPrefix("-----BEGIN CERTIFICATE-----\n") && pem.hasSuffix("-----END CERTIFICATE-----\n"))
    #expect(pem.split(separator: "\n").allSatisfy { $0.count <= 64 })
    let loaded = try TlsIdentity(certificate: cert.certificatePEM, key: try cert.privateKeyPEM(), certName: "c", keyName: "k")
    #expect(Array(UnsafeBufferPointer(start: loaded.crt.pointee.raw.p, count: loaded.crt.pointee.raw.len)) == cert.der)
    let other = try DtlsCertificate.generate(commonName: "rtcam", random: random)
    #expect(throws: TlsError.self) {
      try TlsIdentity(certificate: cert.certificatePEM, key: try other.privateKeyPEM(), certName: "c", keyName: "other")
    }
    #expect(throws: TlsError.self) { try TlsIdentity(certificate: Array("junk".utf8), key: [], certName: "c", keyName: "k") }
  }
}
