import CRTCam
import Testing
import TestSupport
import Wire

@testable import DTLS

/// A DTLS client (rtcam's role) and server (the browser's role) joined by in-memory
/// queues and a fake clock.
final class DtlsPair {
  var clock: UInt64 = 5_000_000_000
  let random: DtlsRandom
  let clientCert: DtlsCertificate
  let serverCert: DtlsCertificate
  let client: DtlsEndpoint
  let server: DtlsEndpoint
  var clientEvents: [DtlsEvent] = []
  var serverEvents: [DtlsEvent] = []
  /// Every datagram that crossed the wire, in order: (sender, bytes).
  var log: [(DtlsRole, [UInt8])] = []

  init(
    seed: UInt8 = 1, mtu: Int = 1200, clientExpects: [UInt8]? = nil, serverExpects: [UInt8]? = nil,
    helloVerify: Bool = true, retransmitMinMs: UInt32 = 1000, retransmitMaxMs: UInt32 = 60000
  ) throws {
    random = try DtlsRandom(deterministicSeed: [seed, 0xAA, 0x55])
    clientCert = try DtlsCertificate.generate(commonName: "rtcam", random: random)
    serverCert = try DtlsCertificate.generate(commonName: "browser", random: random)
    client = try DtlsEndpoint(
      role: .client, certificate: clientCert, random: random,
      expectedPeerFingerprint: clientExpects ?? serverCert.fingerprintSHA256, mtu: mtu, now: clock,
      retransmitMinMs: retransmitMinMs, retransmitMaxMs: retransmitMaxMs)
    server = try DtlsEndpoint(
      role: .server, certificate: serverCert, random: random,
      expectedPeerFingerprint: serverExpects ?? clientCert.fingerprintSHA256, mtu: mtu, now: clock,
      retransmitMinMs: retransmitMinMs, retransmitMaxMs: retransmitMaxMs, helloVerify: helloVerify,
      clientTransportId: [127, 0, 0, 1, 0x13, 0x88])
  }

  func endpoint(_ role: DtlsRole) -> DtlsEndpoint { role == .client ? client : server }

  /// Moves queued datagrams back and forth until both sides are quiet. `drop` decides,
  /// per datagram, whether the network loses it.
  func pump(drop: (DtlsRole, [UInt8]) -> Bool = { _, _ in false }) {
    for _ in 0..<100 {
      let fromClient = client.outgoingDatagrams()
      let fromServer = server.outgoingDatagrams()
      clientEvents += client.reportedEvents()
      serverEvents += server.reportedEvents()
      if fromClient.isEmpty && fromServer.isEmpty { return }
      for d in fromClient {
        log.append((.client, d))
        if !drop(.client, d) { server.receive(d, now: clock) }
      }
      for d in fromServer {
        log.append((.server, d))
        if !drop(.server, d) { client.receive(d, now: clock) }
      }
    }
    Issue.record("pump did not settle")
  }

  /// Advances the fake clock to the earliest pending timer and fires it.
  /// Returns false when no timer is pending.
  @discardableResult
  func fireNextTimer(drop: (DtlsRole, [UInt8]) -> Bool = { _, _ in false }) -> Bool {
    let timers = [client.nextTimeout, server.nextTimeout].compactMap { $0 }
    guard let next = timers.min() else { return false }
    clock = max(clock, next)
    client.handleTimeout(now: clock)
    server.handleTimeout(now: clock)
    pump(drop: drop)
    return true
  }

  func handshake(drop: (DtlsRole, [UInt8]) -> Bool = { _, _ in false }) {
    client.start(now: clock)
    server.start(now: clock)
    pump(drop: drop)
  }

  var clientKeys: SrtpKeyMaterial? { keys(clientEvents) }
  var serverKeys: SrtpKeyMaterial? { keys(serverEvents) }

  func keys(_ events: [DtlsEvent]) -> SrtpKeyMaterial? {
    for e in events { if case .connected(let k) = e { return k } }
    return nil
  }

  func failures(_ events: [DtlsEvent]) -> [DtlsError] {
    events.compactMap { if case .failed(let e) = $0 { return e } else { return nil } }
  }
}

/// DTLS record content type of a datagram's first record (20 CCS, 21 alert, 22 handshake, 23 data).
func recordType(_ d: [UInt8]) -> UInt8 { d.first ?? 0 }

/// Handshake message type of the first record if it is an epoch-0 handshake record.
func firstHandshakeType(_ d: [UInt8]) -> UInt8? {
  guard d.count > 13, d[0] == 22, d[3] == 0, d[4] == 0 else { return nil }
  return d[13]
}

