import TestSupport
import CRTCam
import Testing
import Wire

@testable import DTLS

@Suite struct DtlsHandshakeTests {
  @Test func clientAndServerDeriveMirroredKeys() throws {
    let p = try DtlsPair()
    #expect(p.client.state == .idle)
    p.handshake()
    #expect(p.client.isConnected)
    #expect(p.server.isConnected)
    let c = try #require(p.clientKeys)
    let s = try #require(p.serverKeys)
    #expect(c.profile == SrtpKeyMaterial.aes128CmHmacSha1_80)
    #expect(c.localKey.count == 16 && c.remoteKey.count == 16)
    #expect(c.localSalt.count == 14 && c.remoteSalt.count == 14)
    #expect(c.localKey == s.remoteKey)
    #expect(c.localSalt == s.remoteSalt)
    #expect(c.remoteKey == s.localKey)
    #expect(c.remoteSalt == s.localSalt)
    #expect(c.localKey != c.remoteKey)
    #expect(c.localKey != [UInt8](repeating: 0, count: 16))
    // exactly one event each
    #expect(p.clientEvents == [.connected(c)])
    #expect(p.serverEvents == [.connected(s)])
    #expect(p.client.peerFingerprint == p.serverCert.fingerprintSHA256)
    #expect(p.server.peerFingerprint == p.clientCert.fingerprintSHA256)
    #expect(p.client.cipherSuite?.hasPrefix("TLS-ECDHE-ECDSA-WITH-") == true)
    // the server asked for a cookie first: ClientHello, HelloVerifyRequest, ClientHello again
    #expect(p.log.count >= 5)
    #expect(firstHandshakeType(p.log[0].1) == 1)
    #expect(firstHandshakeType(p.log[1].1) == 3)
    #expect(firstHandshakeType(p.log[2].1) == 1)
    // nothing pending once connected
    #expect(p.client.nextTimeout == nil)
    #expect(p.server.nextTimeout == nil)
  }

  @Test func withoutHelloVerify() throws {
    let p = try DtlsPair(seed: 2, helloVerify: false)
    p.handshake()
    #expect(p.clientKeys != nil)
    #expect(p.clientKeys?.localKey == p.serverKeys?.remoteKey)
    #expect(firstHandshakeType(p.log[1].1) == 2)  // ServerHello straight away
  }

  @Test func differentHandshakesGiveDifferentKeys() throws {
    let a = try DtlsPair(seed: 3)
    let b = try DtlsPair(seed: 4)
    a.handshake()
    b.handshake()
    #expect(a.clientKeys != nil && b.clientKeys != nil)
    #expect(a.clientKeys != b.clientKeys)
  }

  @Test func datagramsRespectMtu() throws {
    let p = try DtlsPair(seed: 5, mtu: 300)
    p.handshake()
    #expect(p.clientKeys != nil)
    #expect(p.serverKeys != nil)
    #expect(!p.log.isEmpty)
    for (_, d) in p.log { #expect(d.count <= 300) }
  }

  @Test func clientRejectsWrongServerFingerprint() throws {
    var wrong = [UInt8](repeating: 0x11, count: 32)
    wrong[0] = 0x42
    let p = try DtlsPair(seed: 6, clientExpects: wrong)
    p.handshake()
    for _ in 0..<10 { p.fireNextTimer() }
    #expect(p.failures(p.clientEvents) == [.fingerprintMismatch])
    #expect(p.clientEvents.count == 1)
    #expect(p.clientKeys == nil)
    #expect(p.serverKeys == nil)
    #expect(!p.client.isConnected && !p.server.isConnected)
    #expect(p.client.state == .failed)
    // the server heard a fatal alert
    let serverFailures = p.failures(p.serverEvents)
    #expect(serverFailures.count == 1)
    if case .alert = serverFailures.first {} else { Issue.record("server saw \(serverFailures)") }
  }

  @Test func serverRejectsWrongClientFingerprint() throws {
    let p = try DtlsPair(seed: 7, serverExpects: [UInt8](repeating: 0, count: 32))
    p.handshake()
    for _ in 0..<10 { p.fireNextTimer() }
    #expect(p.failures(p.serverEvents) == [.fingerprintMismatch])
    #expect(p.serverKeys == nil)
    #expect(p.clientKeys == nil)
    #expect(p.failures(p.clientEvents).count == 1)
    #expect(!p.client.isConnected)
  }

  @Test func emptyExpectedFingerprintNeverMatches() throws {
    let p = try DtlsPair(seed: 8, clientExpects: [])
    p.handshake()
    #expect(p.failures(p.clientEvents) == [.fingerprintMismatch])
    #expect(p.clientKeys == nil)
  }

  @Test func retransmitsLostClientHello() throws {
    let p = try DtlsPair(seed: 9)
    p.client.start(now: p.clock)
    let first = p.client.outgoingDatagrams()  // lost on the way
    #expect(first.count == 1)
    #expect(firstHandshakeType(first[0]) == 1)
    let deadline = try #require(p.client.nextTimeout)
    #expect(deadline == p.clock + 1_000_000_000)  // initial 1 s timer
    // before the deadline: nothing to resend
    p.clock = deadline - 1
    p.client.handleTimeout(now: p.clock)
    #expect(p.client.outgoingDatagrams().isEmpty)
    // past it: the ClientHello goes out again and the handshake completes
    p.clock = deadline + 5_000_000
    p.client.handleTimeout(now: p.clock)
    p.pump()
    #expect(p.log.first.map { firstHandshakeType($0.1) } == 1)
    #expect(p.clientKeys != nil)
    #expect(p.clientKeys?.localKey == p.serverKeys?.remoteKey)
  }

  @Test func recoversWhenServerFinalFlightIsLost() throws {
    let p = try DtlsPair(seed: 10)
    // Drop everything the server sends after it is connected (its ChangeCipherSpec+Finished).
    var dropping = true
    p.handshake(drop: { from, _ in dropping && from == .server && p.server.isConnected })
    #expect(p.server.isConnected)
    #expect(!p.client.isConnected)
    #expect(p.client.nextTimeout != nil)
    dropping = false
    // the client resends its last flight; the connected server answers with its own again
    for _ in 0..<3 where !p.client.isConnected { p.fireNextTimer() }
    #expect(p.client.isConnected)
    #expect(p.clientKeys?.localKey == p.serverKeys?.remoteKey)
    #expect(p.serverEvents.filter { if case .connected = $0 { return true } else { return false } }.count == 1)
  }

  @Test func survivesLossOfEveryFirstTransmission() throws {
    let p = try DtlsPair(seed: 11)
    // Each datagram is lost the first time it is sent. Retransmissions carry new record
    // sequence numbers (and new ciphertext), so recognise them by sender, length and type.
    var seen: Set<[Int]> = []
    let drop: (DtlsRole, [UInt8]) -> Bool = { from, d in
      seen.insert([from == .client ? 0 : 1, d.count, Int(recordType(d)), Int(firstHandshakeType(d) ?? 0)]).inserted
    }
    p.handshake(drop: drop)
    var rounds = 0
    while !(p.client.isConnected && p.server.isConnected) && rounds < 20 {
      rounds += 1
      if !p.fireNextTimer(drop: drop) { break }
    }
    #expect(p.client.isConnected && p.server.isConnected)
    #expect(p.clientKeys?.localKey == p.serverKeys?.remoteKey)
  }

  @Test func givesUpAfterMaximumTimeout() throws {
    let p = try DtlsPair(seed: 12, retransmitMinMs: 100, retransmitMaxMs: 800)
    p.client.start(now: p.clock)
    var sent = p.client.outgoingDatagrams().count
    var guardCount = 0
    while let t = p.client.nextTimeout, guardCount < 50 {
      guardCount += 1
      p.clock = t
      p.client.handleTimeout(now: t)
      sent += p.client.outgoingDatagrams().count
    }
    // 100, 200, 400, 800 ms: the hello is sent 4 times, then the client gives up
    #expect(sent == 4)
    #expect(p.client.reportedEvents() == [.failed(.timeout)])
    #expect(p.client.state == .failed)
    #expect(p.client.nextTimeout == nil)
    p.client.handleTimeout(now: p.clock + 10_000_000_000)
    #expect(p.client.reportedEvents().isEmpty)
  }

  @Test func applicationDataBothWays() throws {
    let p = try DtlsPair(seed: 13)
    p.handshake()
    try p.client.send(Array("ping".utf8))
    try p.server.send(Array("pong".utf8))
    p.pump()
    #expect(p.serverEvents.last == .data(Array("ping".utf8)))
    #expect(p.clientEvents.last == .data(Array("pong".utf8)))
  }

  @Test func closeIsSeenByPeer() throws {
    let p = try DtlsPair(seed: 14)
    p.handshake()
    p.client.close()
    #expect(p.client.state == .closed)
    #expect(!p.client.isConnected)
    p.pump()
    #expect(p.serverEvents.last == .closed)
    #expect(p.server.state == .closed)
    #expect(p.clientEvents.filter { $0 == .closed }.isEmpty)  // no event for the local close
    #expect(throws: DtlsError.closed) { try p.client.send([1]) }
  }

  @Test func serverCloseIsSeenByClient() throws {
    let p = try DtlsPair(seed: 15)
    p.handshake()
    p.server.close()
    p.pump()
    #expect(p.clientEvents.last == .closed)
    #expect(p.clientEvents.filter { $0 == .closed }.count == 1)
  }

  @Test func closeBeforeStart() throws {
    let p = try DtlsPair(seed: 16)
    p.client.close()
    p.client.start(now: p.clock)
    #expect(p.client.outgoingDatagrams().isEmpty)
    #expect(p.client.state == .closed)
  }

  @Test func ignoresNonDtlsBytes() throws {
    let p = try DtlsPair(seed: 17)
    p.client.start(now: p.clock)
    p.client.receive([], now: p.clock)
    p.client.receive([0, 1, 2, 3], now: p.clock)  // STUN range
    p.client.receive([0x80, 0x60, 0, 1], now: p.clock)  // RTP range
    p.client.receive([64, 1, 2], now: p.clock)
    #expect(p.client.reportedEvents().isEmpty)
    p.pump()
    #expect(p.clientKeys != nil)
  }
}

@Suite struct DtlsGarbageTests {
  @Test func recordPlausibility() {
    // a real ClientHello-shaped record: header + one complete handshake fragment
    var w = ByteWriter()
    w.u8(22); w.u16(0xFEFD); w.u16(0); w.u16(0); w.u32(0); w.u16(12 + 4)
    w.u8(1); w.u24(4); w.u16(0); w.u24(0); w.u24(4); w.u32(0xDEADBEEF)
    let hello = w.bytes
    #expect(DtlsRecords.isPlausible(hello))
    #expect(DtlsRecords.isPlausible(hello + hello))  // two records in one datagram
    #expect(!DtlsRecords.isPlausible(Array(hello.dropLast())))  // record length lies
    var badFragment = hello
    badFragment[24] = 5  // fragment length 5 > message length 4
    #expect(!DtlsRecords.isPlausible(badFragment))
    #expect(!DtlsRecords.isPlausible([]))
    #expect(!DtlsRecords.isPlausible([22, 0xFE, 0xFD]))
    // plaintext alert must be 2 bytes, CCS exactly [1]
    #expect(DtlsRecords.isPlausible([21, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 9, 0, 2, 2, 40]))
    #expect(!DtlsRecords.isPlausible([21, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 2]))
    #expect(DtlsRecords.isPlausible([20, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 1]))
    #expect(!DtlsRecords.isPlausible([20, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 7]))
    // wrong version, unknown type, plaintext application data
    #expect(!DtlsRecords.isPlausible([21, 0x03, 0x03, 0, 0, 0, 0, 0, 0, 0, 9, 0, 2, 2, 40]))
    #expect(!DtlsRecords.isPlausible([30, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 1]))
    #expect(!DtlsRecords.isPlausible([23, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 1]))
    // encrypted records are left to mbedTLS
    #expect(DtlsRecords.isPlausible([23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 0, 3, 1, 2, 3]))
  }

  /// Random datagrams of every shape before, during and after the handshake: no trap, and
  /// record-layer garbage does not break an association.
  @Test(arguments: 0..<8) func garbageNeverTraps(round: Int) throws {
    var rng = TestPRNG(state: 0xD71 + UInt64(round))
    let p = try DtlsPair(seed: UInt8(20 + round))
    // before start: the idle client ignores it, the server may react (a malformed hello)
    for _ in 0..<50 {
      let g = rng.bytes(rng.below(300))
      p.client.receive(g, now: p.clock)
    }
    #expect(p.client.reportedEvents().isEmpty)
    p.client.start(now: p.clock)
    // interleave garbage with every real datagram
    for _ in 0..<100 {
      let fromClient = p.client.outgoingDatagrams()
      let fromServer = p.server.outgoingDatagrams()
      p.clientEvents += p.client.reportedEvents()
      p.serverEvents += p.server.reportedEvents()
      if fromClient.isEmpty && fromServer.isEmpty { break }
      for d in fromClient {
        p.server.receive(recordGarbage(&rng), now: p.clock)
        p.server.receive(d, now: p.clock)
      }
      for d in fromServer {
        p.client.receive(recordGarbage(&rng), now: p.clock)
        p.client.receive(d, now: p.clock)
        p.client.receive(rng.bytes(1 + rng.below(1500)), now: p.clock)
      }
    }
    #expect(p.clientKeys != nil)
    #expect(p.clientKeys?.localKey == p.serverKeys?.remoteKey)
    // after the handshake: epoch-1 records with bad MACs, truncated and oversized records
    for _ in 0..<200 {
      p.client.receive(recordGarbage(&rng, epoch: 1), now: p.clock)
      p.server.receive(recordGarbage(&rng, epoch: 1), now: p.clock)
    }
    for n in [1, 2, 12, 13, 14, 25, 3000, 20000] {
      var g = rng.bytes(n)
      g[0] = 23
      p.client.receive(g, now: p.clock)
    }
    p.pump()
    #expect(p.client.isConnected && p.server.isConnected)
    try p.client.send(Array("still here".utf8))
    p.pump()
    #expect(p.serverEvents.last == .data(Array("still here".utf8)))
  }

  /// Bytes that look like a DTLS 1.2 record header (valid type, version, plausible length)
  /// with random content.
  func recordGarbage(_ rng: inout TestPRNG, epoch: UInt16 = 0) -> [UInt8] {
    let body = rng.bytes(rng.below(200))
    var w = ByteWriter()
    w.u8([20, 22, 23][rng.below(3)])
    w.u16(0xFEFD)
    w.u16(epoch)
    w.u16(0)
    w.u32(UInt32(truncatingIfNeeded: rng.next()))
    // mostly consistent length, sometimes a lie
    w.u16(rng.below(4) == 0 ? UInt16(truncatingIfNeeded: rng.next()) : UInt16(body.count))
    w.append(body)
    return w.bytes
  }

  @Test func garbageDuringHandshakeFailsAtMostOnce() throws {
    // Handshake-layer garbage may legitimately abort a handshake; it must do so with one
    // .failed event and never report keys afterwards.
    var rng = TestPRNG(state: 77)
    for round in 0..<20 {
      let p = try DtlsPair(seed: UInt8(30 + round))
      p.client.start(now: p.clock)
      _ = p.client.outgoingDatagrams()
      for _ in 0..<20 {
        var w = ByteWriter()
        w.u8(22); w.u16(0xFEFD); w.u16(0); w.u16(0); w.u32(UInt32(rng.below(5)))
        let body = [UInt8(rng.below(25))] + rng.bytes(11 + rng.below(100))
        w.u16(UInt16(body.count)); w.append(body)
        p.client.receive(w.bytes, now: p.clock)
      }
      p.clientEvents += p.client.reportedEvents()
      p.pump()
      #expect(p.failures(p.clientEvents).count <= 1)
      if !p.failures(p.clientEvents).isEmpty { #expect(p.clientKeys == nil) }
    }
  }
}
