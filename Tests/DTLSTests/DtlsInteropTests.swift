import TestSupport
import CRTCam
import Foundation
import Glibc
import Testing
import Wire

@testable import DTLS

/// Interop with an independent DTLS implementation: OpenSSL's `s_server`/`s_client` over real
/// UDP on 127.0.0.1. OpenSSL prints the RFC 5705 "EXTRACTOR-dtls_srtp" keying material, so
/// these tests check the key export (label, PRF, randoms, layout) against another stack.
/// Skipped when the `openssl` command is not installed.
@Suite(.enabled(if: OpenSSLTool.path != nil, "openssl command not found"), .serialized)
struct DtlsInteropTests {
  @Test func clientAgainstOpenSSLServer() throws {
    let tool = try OpenSSLTool()
    defer { tool.cleanup() }
    let peer = try tool.makeCertificate(name: "server")
    let port = try #require(freeUDPPort())
    let server = try tool.start([
      "s_server", "-dtls1_2", "-accept", "127.0.0.1:" + String(port), "-cert", peer.certPath, "-key", peer.keyPath,
      "-use_srtp", "SRTP_AES128_CM_SHA1_80", "-keymatexport", "EXTRACTOR-dtls_srtp",
      "-keymatexportlen", "60", "-verify", "1",
    ])
    defer { server.stop() }
    try server.waitFor("ACCEPT", seconds: 10)

    let random = try DtlsRandom(personalization: "interop")
    let cert = try DtlsCertificate.generate(commonName: "rtcam", random: random)
    let client = try DtlsEndpoint(
      role: .client, certificate: cert, random: random, expectedPeerFingerprint: peer.fingerprint,
      now: rtc_monotonic_ns())
    let socket = try UDPSocket()
    let events = try socket.run(client, peerPort: port, until: { $0.contains { if case .connected = $0 { true } else { false } } })
    let keys = try #require(events.compactMap { if case .connected(let k) = $0 { k } else { nil } }.first)

    let line = try server.waitFor("Keying material: ", seconds: 5)
    let hex = String(line.split(separator: " ").last ?? "")
    let exported = try #require(Hex.decode(hex))
    #expect(exported.count == 60)
    #expect(SrtpKeyMaterial(exported: exported, isClient: true) == keys)
    _ = try server.waitFor("SRTP_AES128_CM_SHA1_80", seconds: 2)

    // application data reaches OpenSSL, then close_notify
    try client.send(Array("hello from rtcam\n".utf8))
    client.close()
    socket.flush(client, peerPort: port)
    _ = try server.waitFor("hello from rtcam", seconds: 5)
  }

  @Test func clientFailsWithoutUseSrtp() throws {
    let tool = try OpenSSLTool()
    defer { tool.cleanup() }
    let peer = try tool.makeCertificate(name: "server")
    let port = try #require(freeUDPPort())
    let server = try tool.start([
      "s_server", "-dtls1_2", "-accept", "127.0.0.1:" + String(port), "-cert", peer.certPath, "-key", peer.keyPath,
      "-verify", "1",
    ])
    defer { server.stop() }
    try server.waitFor("ACCEPT", seconds: 10)
    let random = try DtlsRandom(personalization: "interop")
    let cert = try DtlsCertificate.generate(commonName: "rtcam", random: random)
    let client = try DtlsEndpoint(
      role: .client, certificate: cert, random: random, expectedPeerFingerprint: peer.fingerprint,
      now: rtc_monotonic_ns())
    let events = try UDPSocket().run(client, peerPort: port, until: { !$0.isEmpty })
    #expect(events == [.failed(.noSrtpProfile)])
  }

  @Test func clientRejectsOpenSSLServerWithOtherFingerprint() throws {
    let tool = try OpenSSLTool()
    defer { tool.cleanup() }
    let peer = try tool.makeCertificate(name: "server")
    let port = try #require(freeUDPPort())
    let server = try tool.start([
      "s_server", "-dtls1_2", "-accept", "127.0.0.1:" + String(port), "-cert", peer.certPath, "-key", peer.keyPath,
      "-use_srtp", "SRTP_AES128_CM_SHA1_80", "-verify", "1",
    ])
    defer { server.stop() }
    try server.waitFor("ACCEPT", seconds: 10)
    let random = try DtlsRandom(personalization: "interop")
    let cert = try DtlsCertificate.generate(commonName: "rtcam", random: random)
    var wrong = peer.fingerprint
    wrong[31] ^= 1
    let client = try DtlsEndpoint(
      role: .client, certificate: cert, random: random, expectedPeerFingerprint: wrong, now: rtc_monotonic_ns())
    let events = try UDPSocket().run(client, peerPort: port, until: { !$0.isEmpty })
    #expect(events == [.failed(.fingerprintMismatch)])
  }

  @Test func serverAgainstOpenSSLClient() throws {
    let tool = try OpenSSLTool()
    defer { tool.cleanup() }
    let peer = try tool.makeCertificate(name: "client")
    let random = try DtlsRandom(personalization: "interop")
    let cert = try DtlsCertificate.generate(commonName: "browser", random: random)
    let socket = try UDPSocket()
    let server = try DtlsEndpoint(
      role: .server, certificate: cert, random: random, expectedPeerFingerprint: peer.fingerprint,
      now: rtc_monotonic_ns(), clientTransportId: [127, 0, 0, 1])
    let client = try tool.start([
      "s_client", "-dtls1_2", "-connect", "127.0.0.1:" + String(socket.port), "-cert", peer.certPath,
      "-key", peer.keyPath, "-use_srtp", "SRTP_AES128_CM_SHA1_80", "-keymatexport", "EXTRACTOR-dtls_srtp",
      "-keymatexportlen", "60",
    ])
    defer { client.stop() }
    let events = try socket.run(server, peerPort: nil, until: { $0.contains { if case .connected = $0 { true } else { false } } })
    let keys = try #require(events.compactMap { if case .connected(let k) = $0 { k } else { nil } }.first)
    let line = try client.waitFor("Keying material: ", seconds: 5)
    let exported = try #require(Hex.decode(String(line.split(separator: " ").last ?? "")))
    #expect(SrtpKeyMaterial(exported: exported, isClient: false) == keys)
    #expect(server.peerFingerprint == peer.fingerprint)
  }
}

// MARK: - Helpers

/// Runs the `openssl` command in a scratch directory.
struct OpenSSLTool {
  static let path: String? = ["/usr/bin/openssl", "/usr/local/bin/openssl", "/bin/openssl"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }
  let exe: String
  let dir: URL

  init() throws {
    guard let p = OpenSSLTool.path else { throw TestFailure("no openssl") }
    exe = p
    dir = FileManager.default.temporaryDirectory.appendingPathComponent("rtcam-dtls-" + UUID().uuidString)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  }

  func cleanup() { try? FileManager.default.removeItem(at: dir) }

  struct Certificate {
    var certPath: String
    var keyPath: String
    var fingerprint: [UInt8]
  }

  /// A self-signed P-256 certificate like a browser's.
  func makeCertificate(name: String) throws -> Certificate {
    let cert = dir.appendingPathComponent(name + ".pem").path
    let key = dir.appendingPathComponent(name + ".key").path
    let der = dir.appendingPathComponent(name + ".der").path
    try run([
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
      "-out", cert, "-days", "2", "-subj", "/CN=" + name,
    ])
    try run(["x509", "-in", cert, "-outform", "DER", "-out", der])
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: der)))
    return Certificate(certPath: cert, keyPath: key, fingerprint: Digest.sha256(bytes))
  }

  func run(_ args: [String]) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw TestFailure("openssl " + args.joined(separator: " ")) }
  }

  func start(_ args: [String]) throws -> RunningTool {
    try RunningTool(exe: exe, args: args)
  }
}

/// A long-running openssl process whose output is collected for `waitFor`.
final class RunningTool: @unchecked Sendable {
  let process = Process()
  let stdin = Pipe()
  let stdout = Pipe()
  let lock = NSLock()
  var output = ""

  init(exe: String, args: [String]) throws {
    process.executableURL = URL(fileURLWithPath: exe)
    process.arguments = args
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stdout
    stdout.fileHandleForReading.readabilityHandler = { [weak self] h in
      let data = h.availableData
      guard let self, !data.isEmpty else { return }
      self.lock.lock()
      self.output += String(decoding: data, as: UTF8.self)
      self.lock.unlock()
    }
    try process.run()
  }

  /// Waits until a line containing `text` was printed; returns that line.
  @discardableResult
  func waitFor(_ text: String, seconds: Double) throws -> String {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      lock.lock()
      let out = output
      lock.unlock()
      if let line = out.split(separator: "\n").first(where: { $0.contains(text) }) {
        return String(line).trimmingCharacters(in: .whitespacesAndNewlines)
      }
      usleep(20_000)
    }
    lock.lock()
    let out = output
    lock.unlock()
    throw TestFailure("openssl never printed '\(text)'; output:\n\(out)")
  }

  func stop() {
    stdout.fileHandleForReading.readabilityHandler = nil
    // SIGKILL: s_server does not always act on SIGTERM when started from the test runner.
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
  }
}

struct TestFailure: Error, CustomStringConvertible {
  var description: String
  init(_ d: String) { description = d }
}

/// A UDP port that was free a moment ago.
func freeUDPPort() -> UInt16? {
  guard let s = try? UDPSocket() else { return nil }
  return s.port
}

/// A non-blocking IPv4 UDP socket on 127.0.0.1 that shuttles datagrams for an endpoint.
final class UDPSocket {
  let fd: Int32
  let port: UInt16
  var peer = sockaddr_in()
  var havePeer = false

  init() throws {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket") }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    let r = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard r == 0 else {
      Glibc.close(fd)
      throw TestFailure("bind")
    }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    self.fd = fd
    port = UInt16(bigEndian: addr.sin_port)
  }

  deinit { Glibc.close(fd) }

  func setPeer(port: UInt16) {
    peer.sin_family = sa_family_t(AF_INET)
    peer.sin_addr.s_addr = inet_addr("127.0.0.1")
    peer.sin_port = port.bigEndian
    havePeer = true
  }

  func flush(_ endpoint: DtlsEndpoint, peerPort: UInt16?) {
    if let peerPort, !havePeer { setPeer(port: peerPort) }
    guard havePeer else { return }
    for d in endpoint.outgoingDatagrams() {
      _ = d.withUnsafeBytes { b in
        withUnsafePointer(to: &peer) {
          $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
          }
        }
      }
    }
  }

  /// Drives the endpoint with the real clock until `done(events)` or 10 s pass. With no
  /// `peerPort` (server role) the peer is whoever sends first.
  func run(_ endpoint: DtlsEndpoint, peerPort: UInt16?, until done: ([DtlsEvent]) -> Bool) throws -> [DtlsEvent] {
    var events: [DtlsEvent] = []
    endpoint.start(now: rtc_monotonic_ns())
    let deadline = rtc_monotonic_ns() + 10_000_000_000
    var buf = [UInt8](repeating: 0, count: 4096)
    while rtc_monotonic_ns() < deadline {
      flush(endpoint, peerPort: peerPort)
      events += endpoint.reportedEvents()
      if done(events) { return events }
      var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      _ = poll(&pfd, 1, 20)
      var from = sockaddr_in()
      var fromLen = socklen_t(MemoryLayout<sockaddr_in>.size)
      let n = buf.withUnsafeMutableBytes { b in
        withUnsafeMutablePointer(to: &from) {
          $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, b.baseAddress, b.count, Int32(MSG_DONTWAIT), $0, &fromLen) }
        }
      }
      if n > 0 {
        if !havePeer {
          peer = from
          havePeer = true
        }
        endpoint.receive(Array(buf[0..<n]), now: rtc_monotonic_ns())
      }
      endpoint.handleTimeout(now: rtc_monotonic_ns())
    }
    throw TestFailure("no result within 10 s; events: \(events)")
  }
}
