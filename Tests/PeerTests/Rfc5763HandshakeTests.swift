import AllocCounter
import TestSupport
import Capture
import DTLS
import Encoder
import ICE
import Peer
import RTP
import SDP
import SRTP
import Testing
import Wire

/// rtcam's `Peer` against a browser stand-in made of the project's own DTLS server role, SRTP,
/// STUN and H.264 depacketizer, under a fake clock. ICE-lite checks start the DTLS client handshake (RFC 8445, RFC 5763/8827): connecting, lost
/// and replayed flights, timeouts, a wrong fingerprint, DTLS from an address no check came from.
@Suite struct Rfc5763HandshakeTests {
  static let ms = Time.ms
  static let s = Time.s

  @Test func iceCheckStartsDtlsAndConnects() throws {
    let sc = try Scenario()
    let created = sc.now
    #expect(sc.peer.phase == .checking)
    #expect(sc.peer.remote == nil)
    #expect(sc.peer.nextDeadline == created + 30 * Self.s)
    // The fixture's H.264 choice and its playout-delay extension made it into the config.
    #expect(sc.video.remoteIceUfrag == "Lo4s")
    #expect(sc.video.playoutDelayExtensionID == 5)

    // A check keyed with the wrong password: 401 without MESSAGE-INTEGRITY, nothing else.
    sc.now += 10 * Self.ms
    let rejected = try #require(sc.check(useCandidate: true, password: "wrongPasswordWrongPassw0"))
    #expect(rejected.cls == .error)
    #expect(rejected.errorCode?.code == 401)
    #expect(!rejected.has(Stun.messageIntegrity))
    #expect(sc.peer.phase == .checking)
    #expect(sc.peer.remote == nil)
    #expect(sc.takeEvents().isEmpty)
    #expect(sc.sent.count == 1)

    // Chrome's first check carries no USE-CANDIDATE.
    sc.now += 10 * Self.ms
    let request = sc.stunRequest(useCandidate: false)
    sc.toPeer(request)
    #expect(sc.takeEvents() == [.remoteAddressChanged(Scenario.browserAddress), .phaseChanged(.handshaking)])
    #expect(sc.peer.phase == .handshaking)
    #expect(sc.peer.remote == Scenario.browserAddress)
    // Out went the STUN success and the DTLS ClientHello, both to the browser.
    #expect(sc.outbox.count == 2)
    #expect(sc.outbox.allSatisfy { $0.to == Scenario.browserAddress })
    let raw = sc.outbox[0].bytes
    let response = try StunMessage.parse(raw)
    #expect(response.cls == .success)
    #expect(response.method == Stun.binding)
    #expect(response.transactionID == Array(request[8..<20]))
    #expect(response.xorMappedAddress == Scenario.browserAddress)
    #expect(StunMessage.verifyIntegrity(raw, key: Array(sc.localIce.password.utf8)))
    #expect(response.has(Stun.fingerprint))  // parse() already checked its CRC
    let hello = sc.outbox[1].bytes
    #expect(DatagramKind.classify(hello) == .dtls)
    #expect(hello[0] == 22 && hello.count > 13 && hello[13] == 1)  // handshake record, ClientHello

    // The browser (DTLS server) answers; the handshake runs to the end.
    sc.deliver()
    #expect(sc.takeEvents() == [.phaseChanged(.connected), .keyframeNeeded(.joined)])
    #expect(sc.peer.phase == .connected)
    #expect(sc.browserDtls.isConnected)
    #expect(sc.browserDtls.peerFingerprint == sc.rtcamCert.fingerprintSHA256)
    #expect(sc.browserEvents.filter { if case .connected = $0 { return true } else { return false } }.count == 1)
    #expect(sc.peer.closeReason == nil)
    // Every datagram rtcam sent went to the only address that passed a check.
    #expect(sc.sent.allSatisfy { $0.to == Scenario.browserAddress })

    // The nominating check from the same address changes nothing but refreshes consent.
    sc.now += 20 * Self.ms
    let nominated = try #require(sc.check(useCandidate: true))
    #expect(nominated.cls == .success)
    #expect(nominated.xorMappedAddress == Scenario.browserAddress)
    #expect(sc.takeEvents().isEmpty)
    #expect(sc.peer.phase == .connected)
    // Deadline: a sender report is due at once (none sent yet), never later than consent.
    let deadline = try #require(sc.peer.nextDeadline)
    #expect(deadline <= sc.now + 30 * Self.s)
  }

  @Test func lostClientHelloIsRetransmittedByPoll() throws {
    let sc = try Scenario()
    sc.toPeer(sc.stunRequest(useCandidate: true))
    #expect(sc.peer.phase == .handshaking)
    // The network eats the first ClientHello.
    let lost = sc.outbox.filter { DatagramKind.classify($0.bytes) == .dtls }
    #expect(lost.count == 1)
    sc.outbox.removeAll { DatagramKind.classify($0.bytes) == .dtls }
    sc.deliver()
    #expect(sc.peer.phase == .handshaking)
    let timer = try #require(sc.peer.nextDeadline)
    #expect(timer > sc.now && timer <= sc.now + 2 * Self.s)
    let sentBefore = sc.sent.count
    sc.poll(at: timer - 1)
    #expect(sc.sent.count == sentBefore)  // not yet
    sc.poll(at: timer)
    let resent = sc.sent[sentBefore...].filter { DatagramKind.classify($0.bytes) == .dtls }
    #expect(resent.count >= 1)
    #expect(resent.first?.bytes[13] == 1)  // a ClientHello again
    #expect(sc.peer.phase == .connected)
    #expect(sc.browserDtls.isConnected)
  }

  @Test func lostFinalFlightIsRecoveredByPoll() throws {
    let sc = try Scenario()
    // The browser's last flight (ChangeCipherSpec + Finished) is lost: the browser has its
    // keys, rtcam is still handshaking.
    sc.loseToPeer = { _ in sc.browserDtls.isConnected }
    sc.check(useCandidate: true)
    sc.loseToPeer = { _ in false }
    #expect(sc.browserDtls.isConnected)
    #expect(sc.peer.phase == .handshaking)
    _ = sc.takeEvents()
    // The browser's early feedback cannot be read yet and is dropped.
    try sc.sendRtcp(BrowserRtcp.pli(mediaSSRC: sc.config.ssrc))
    #expect(sc.takeEvents().isEmpty)
    #expect(sc.peer.stats.badDatagrams == 1)

    // rtcam's retransmission timer resends its flight; the browser answers with its last
    // flight again, and the session comes up.
    let timer = try #require(sc.peer.nextDeadline)
    #expect(timer > sc.now && timer < sc.now + 30 * Self.s)
    sc.poll(at: timer)
    #expect(sc.peer.phase == .connected)
    #expect(sc.takeEvents() == [.phaseChanged(.connected), .keyframeNeeded(.joined)])
    try sc.sendRtcp(BrowserRtcp.pli(mediaSSRC: sc.config.ssrc))
    #expect(sc.takeEvents() == [.keyframeNeeded(.pli)])
  }

  @Test func unansweredHandshakeTimesOut() throws {
    let sc = try Scenario()
    // The browser's DTLS never gets through, while its consent checks do.
    sc.loseToPeer = { _ in true }
    sc.check(useCandidate: true)
    #expect(sc.peer.phase == .handshaking)
    let start = sc.now
    var lastCheck = start
    while sc.peer.phase == .handshaking && sc.now < start + 300 * Self.s {
      let next = try #require(sc.peer.nextDeadline)
      #expect(next <= lastCheck + 30 * Self.s)  // never later than consent
      if next >= lastCheck + 10 * Self.s {
        lastCheck += 10 * Self.s
        sc.now = lastCheck
        #expect(sc.check(useCandidate: true)?.cls == .success)
      } else {
        sc.poll(at: next)
      }
    }
    #expect(sc.peer.phase == .closed)
    #expect(sc.peer.closeReason?.code == "DTLS_TIMEOUT")
    #expect(sc.now > start + 30 * Self.s)  // consent held; the DTLS retransmissions gave up
    // It kept retransmitting its ClientHello until then.
    let hellos = sc.sent.filter { $0.bytes.count > 13 && $0.bytes[0] == 22 && $0.bytes[13] == 1 }
    #expect(hellos.count >= 5)
    #expect(sc.takeEvents().last == sc.peer.closeReason.map { .closed($0) })
  }

  @Test func replayedHandshakeFlightsAfterConnectAreHarmless() throws {
    let sc = try Scenario()
    let feed = try FrameFeed(clock: { sc.now })
    try sc.connect()
    _ = sc.takeEvents()
    let flights = sc.browserSent
    #expect(flights.count >= 2)
    let sentBefore = sc.sent.count
    // The network duplicates every handshake datagram the browser ever sent.
    for d in flights { sc.toPeer(d) }
    sc.deliver()
    #expect(sc.peer.phase == .connected)
    #expect(sc.takeEvents().isEmpty)
    #expect(sc.sent.count == sentBefore)
    sc.now += 33 * Self.ms
    let f = try feed.next()
    sc.sendFrame(f.au, captureNs: f.captureNs, isKeyframe: true)
    expectSameBytes(sc.accessUnits, [f.au], "access units")
  }

  @Test func fingerprintMismatchClosesWithoutMedia() throws {
    // The offer's (fixture's) fingerprint is not the browser stand-in's certificate.
    let sc = try Scenario(offerFingerprintMatches: false)
    let feed = try FrameFeed(clock: { sc.now })
    sc.check(useCandidate: true)
    #expect(sc.peer.phase == .closed)
    let events = sc.takeEvents()
    #expect(events.first == .remoteAddressChanged(Scenario.browserAddress))
    #expect(events.contains(.phaseChanged(.handshaking)))
    #expect(!events.contains(.phaseChanged(.connected)))
    #expect(!events.contains { if case .keyframeNeeded = $0 { return true } else { return false } })
    guard case .closed(let reason)? = events.last else {
      Issue.record("no closed event: \(events)")
      return
    }
    #expect(reason.code == "DTLS_FINGERPRINT_MISMATCH")
    #expect(sc.peer.closeReason?.code == "DTLS_FINGERPRINT_MISMATCH")
    // The browser stand-in got a fatal alert, never keys.
    #expect(!sc.browserDtls.isConnected)
    #expect(sc.browserSrtp == nil)
    #expect(sc.browserEvents.contains { if case .failed = $0 { return true } else { return false } })

    // Frames, timers and feedback after that: no media ever leaves.
    for i in 0..<3 {
      sc.now += 33 * Self.ms
      let f = try feed.next()
      #expect(f.isKeyframe == (i == 0))
      sc.sendFrame(f.au, captureNs: f.captureNs, isKeyframe: true)
      sc.poll(at: sc.now + Self.s)
    }
    #expect(sc.sent.filter { $0.bytes.first.map { $0 >= 128 && $0 <= 191 } ?? false }.isEmpty)
    #expect(sc.peer.stats.framesSent == 0 && sc.peer.stats.packetsSent == 0)
    #expect(sc.peer.nextDeadline == nil)
  }

  @Test func dtlsFromAnUncheckedAddressIsIgnored() throws {
    let sc = try Scenario()
    let stranger = SocketAddress(ip: [203, 0, 113, 9], port: 40_000)

    // Before any check, even the browser's own address may not start DTLS.
    sc.toPeer([22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12] + [UInt8](repeating: 1, count: 12))
    #expect(sc.peer.stats.badDatagrams == 1)
    #expect(sc.sent.isEmpty)
    #expect(sc.peer.phase == .checking)

    // The browser checks from its address; the peer's ClientHello reaches the browser.
    sc.toPeer(sc.stunRequest(useCandidate: true))
    let clientHello = sc.outbox.filter { DatagramKind.classify($0.bytes) == .dtls }
    sc.outbox.removeAll()
    #expect(clientHello.count == 1)
    for d in clientHello { sc.browserDtls.receive(d.bytes, now: sc.now) }
    let answer = sc.browserDtls.outgoingDatagrams()  // HelloVerifyRequest
    #expect(!answer.isEmpty)

    // The answer arriving from a stranger is dropped: the peer does not move on.
    let sentBefore = sc.sent.count
    for a in answer { sc.toPeer(a, from: stranger) }
    #expect(sc.sent.count == sentBefore)
    #expect(sc.peer.stats.badDatagrams == 1 + answer.count)
    #expect(sc.peer.phase == .handshaking)
    #expect(sc.peer.remote == Scenario.browserAddress)

    // The same bytes from the checked address do move the handshake on, to the end.
    for a in answer { sc.toPeer(a) }
    #expect(sc.sent.count > sentBefore)
    sc.deliver()
    #expect(sc.peer.phase == .connected)
    _ = sc.takeEvents()

    // The browser's close_notify: ignored from the stranger, honoured from the browser.
    sc.browserDtls.close()
    let closeNotify = sc.browserDtls.outgoingDatagrams()
    #expect(closeNotify.count == 1)
    for d in closeNotify { sc.toPeer(d, from: stranger) }
    #expect(sc.peer.phase == .connected)
    #expect(sc.takeEvents().isEmpty)
    for d in closeNotify { sc.toPeer(d) }
    #expect(sc.takeEvents() == [.phaseChanged(.closed), .closed(.dtlsClosed)])
    #expect(sc.peer.closeReason == .dtlsClosed)
  }
}
