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
/// STUN and H.264 depacketizer: every byte crosses an in-memory "network" under a fake clock.
@Suite struct PeerScenarioTests {
  static let ms: UInt64 = 1_000_000
  static let s: UInt64 = 1_000_000_000

  // MARK: ICE + DTLS

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

  // MARK: media

  @Test func encodedFramesArriveByteForByte() throws {
    let sc = try Scenario()
    let feed = try FrameFeed(clock: { sc.now })

    // Frames before the session is up go nowhere.
    let early = try feed.next()
    #expect(early.isKeyframe)
    sc.sendFrame(early.au, captureNs: early.captureNs, isKeyframe: true)
    #expect(sc.sent.isEmpty)

    sc.now += 33 * Self.ms
    try sc.connect()
    #expect(sc.takeEvents().contains(.keyframeNeeded(.joined)))
    let mediaStart = sc.sent.count

    // An inter frame while the viewer still waits for a keyframe is held back.
    sc.now += 33 * Self.ms
    let inter = try feed.next()
    #expect(!inter.isKeyframe)
    sc.sendFrame(inter.au, captureNs: inter.captureNs, isKeyframe: false)
    #expect(sc.rtpSent(since: mediaStart).count == 0)
    #expect(sc.peer.stats.framesSent == 0)

    // What the loop does on keyframeNeeded: ask the encoder for an IDR.
    feed.requestKeyframe()
    var model = ParameterSetModel()
    var expected: [[UInt8]] = []
    var captureTimes: [UInt64] = []
    var keyframes: [Bool] = []
    for _ in 0..<15 {
      sc.now += 33 * Self.ms
      let f = try feed.next()
      keyframes.append(f.isKeyframe)
      captureTimes.append(f.captureNs)
      let e = model.expected(for: f.au)
      // The encoder writes 4-byte start codes and SPS+PPS with each IDR, so what the browser
      // must reassemble is exactly the encoder's output.
      expectSameBytes(e, f.au, "expected access unit vs encoder output")
      expected.append(e)
      sc.sendFrame(f.au, captureNs: f.captureNs, isKeyframe: f.isKeyframe)
    }
    #expect(keyframes == [true] + [Bool](repeating: false, count: 14))
    #expect(nalUnits(expected[0]).map { $0[0] & 0x1F } == [7, 8, 5])

    #expect(sc.depacketizerErrors.isEmpty)
    #expect(sc.accessUnits.count == expected.count)
    expectSameBytes(sc.accessUnits, expected, "access units")

    // RTP as sent: one stream, consecutive sequence numbers (wrapping past 0xFFFF), marker on
    // each frame's last packet, 90 kHz timestamps from the first sent frame's capture time.
    let media = sc.rtpSent(since: mediaStart)
    #expect(media.count == sc.rtpReceived.count)
    #expect(media.allSatisfy { $0.to == Scenario.browserAddress && $0.bytes.count <= sc.config.mtu + 10 })
    var seq = sc.config.initialSequence
    var frame = 0
    var packetsInFrame = 0
    for p in sc.rtpReceived {
      let h = try RtpHeader.parse(p)
      #expect(h.ssrc == sc.config.ssrc)
      #expect(h.payloadType == sc.video.payloadType)
      #expect(h.sequence == seq)
      seq &+= 1
      let want = sc.config.timestampOffset &+ UInt32((captureTimes[frame] - captureTimes[0]) * 90_000 / Self.s)
      #expect(h.timestamp == want)
      let ext = try #require(h.oneByteExtension(id: 5, in: p))
      #expect(Array(p[ext]) == [0, 0, 0])  // playout delay min = max = 0
      packetsInFrame += 1
      if h.marker {
        frame += 1
        packetsInFrame = 0
      }
    }
    #expect(frame == expected.count)
    // The IDR slice did not fit one packet: FU-A fragments were used (and reassembled above).
    #expect(sc.rtpReceived.contains { p in
      (try? RtpHeader.parse(p)).map { p[$0.headerLength] & 0x1F == 28 } ?? false
    })
    #expect(packetsInFrame == 0)
    #expect(seq != sc.config.initialSequence && seq < sc.config.initialSequence)  // it wrapped
    let st = sc.peer.stats
    #expect(st.framesSent == expected.count)
    #expect(st.packetsSent == media.count)
    #expect(st.bytesSent == media.reduce(0) { $0 + $1.bytes.count })
    #expect(st.retransmissions == 0)
  }

  @Test func idrWithoutParameterSetsIsPrecededByCachedOnes() throws {
    let sc = try Scenario()
    let feed = try FrameFeed(clock: { sc.now })
    try sc.connect()
    var model = ParameterSetModel()

    sc.now += 33 * Self.ms
    let first = try feed.next()
    #expect(first.isKeyframe)
    sc.sendFrame(first.au, captureNs: first.captureNs, isKeyframe: true)
    expectSameBytes(sc.accessUnits, [model.expected(for: first.au)], "access units")

    // A later IDR handed over without its SPS and PPS.
    feed.requestKeyframe()
    sc.now += 33 * Self.ms
    let second = try feed.next()
    #expect(second.isKeyframe)
    let stripped = annexB(nalUnits(second.au).filter { ($0[0] & 0x1F) != 7 && ($0[0] & 0x1F) != 8 })
    #expect(nalUnits(stripped).map { $0[0] & 0x1F } == [5])
    let packetsBefore = sc.rtpReceived.count
    sc.sendFrame(stripped, captureNs: second.captureNs, isKeyframe: true)
    let want = model.expected(for: stripped)
    #expect(nalUnits(want).map { $0[0] & 0x1F } == [7, 8, 5])
    #expect(sc.accessUnits.count == 2)
    expectSameBytes(sc.accessUnits.last, want, "reassembled stripped IDR")
    // OpenH264 keeps its parameter sets constant, so the result is the full IDR again.
    expectSameBytes(sc.accessUnits.last, second.au, "reassembled stripped IDR vs the full IDR")
    // The cached sets travel first, together in one STAP-A.
    let firstPacket = try #require(sc.rtpReceived.dropFirst(packetsBefore).first)
    let h = try RtpHeader.parse(firstPacket)
    #expect(firstPacket[h.headerLength] & 0x1F == 24)
    #expect(sc.depacketizerErrors.isEmpty)
  }

  @Test func nackRetransmitsTheLostPackets() throws {
    let sc = try Scenario()
    let feed = try FrameFeed(clock: { sc.now }, width: 640, height: 480)
    try sc.connect()
    sc.depacketizeOnArrival = false
    let base = sc.config.initialSequence
    let lost: [UInt16] = [base &+ 1, base &+ 3]
    sc.loseOnce = Set(lost)

    sc.now += 33 * Self.ms
    let idr = try feed.next()
    #expect(idr.isKeyframe)
    sc.sendFrame(idr.au, captureNs: idr.captureNs, isKeyframe: true)
    let sentPackets = sc.peer.stats.packetsSent
    try #require(sentPackets >= 4)  // SPS+PPS, then the IDR slice in FU-A fragments
    #expect(sc.rtpReceived.count == sentPackets - 2)
    _ = sc.takeEvents()

    // A NACK for a sequence number never sent: counted, nothing resent.
    let mediaCount = sc.rtpSent().count
    try sc.sendRtcp(BrowserRtcp.nack(mediaSSRC: sc.config.ssrc, pid: base &+ 1000))
    #expect(sc.rtpSent().count == mediaCount)
    #expect(sc.peer.stats.nacks == 1 && sc.peer.stats.retransmissions == 0)

    // NACK PID = base+1, BLP bit 1 = base+3 (base+3 carries the marker).
    try sc.sendRtcp(BrowserRtcp.nack(mediaSSRC: sc.config.ssrc, pid: lost[0], blp: 0b10))
    let resent = sc.rtpSent().dropFirst(mediaCount)
    #expect(resent.count == 2)
    #expect(resent.map { loadU16($0.bytes, 2) } == lost)
    for r in resent {
      let seq = loadU16(r.bytes, 2)
      #expect(r.to == Scenario.browserAddress)
      // The very same SRTP packet (allow_repeat_tx: same key, index and plaintext) ...
      expectSameBytes(r.bytes, sc.tapCipher[seq], "retransmitted SRTP packet \(seq)")
    }
    // ... which the browser, having lost the original, decrypts to the original bytes.
    #expect(sc.rtpReceived.count == sentPackets)
    for plain in sc.rtpReceived.suffix(2) {
      let seq = loadU16(plain, 2)
      expectSameBytes(plain, sc.tapPlain[seq], "retransmitted RTP packet \(seq), decrypted")
      #expect(lost.contains(seq))
    }
    let st = sc.peer.stats
    #expect(st.nacks == 2 && st.retransmissions == 2)
    #expect(st.packetsSent == sentPackets)  // retransmissions are not new packets
    #expect(sc.takeEvents().isEmpty)

    // With the holes filled, the frame reassembles byte for byte (jitter buffer: by sequence).
    let ordered = sc.rtpReceived.sorted { loadU16($0, 2) &- base < loadU16($1, 2) &- base }
    for p in ordered { sc.depacketize(p) }
    #expect(sc.depacketizerErrors.isEmpty)
    expectSameBytes(sc.accessUnits, [idr.au], "access units")
  }

  // MARK: RTCP

  @Test func pliFirAndReceiverReports() throws {
    let sc = try Scenario()
    try sc.connect()
    _ = sc.takeEvents()
    let ssrc = sc.config.ssrc

    try sc.sendRtcp(BrowserRtcp.pli(mediaSSRC: ssrc))
    #expect(sc.takeEvents() == [.keyframeNeeded(.pli)])
    try sc.sendRtcp(BrowserRtcp.fir(mediaSSRC: ssrc, sequence: 1))
    #expect(sc.takeEvents() == [.keyframeNeeded(.fir)])
    // Chrome's compound form: receiver report first, then the PLI.
    try sc.sendRtcp(BrowserRtcp.receiverReport(mediaSSRC: ssrc, fractionLost: 25, jitter: 77)
                      + BrowserRtcp.pli(mediaSSRC: ssrc))
    #expect(sc.takeEvents() == [.keyframeNeeded(.pli)])
    var st = sc.peer.stats
    #expect(st.plis == 2 && st.firs == 1 && st.rtcpReceived == 3)
    #expect(st.fractionLost == 25 && st.jitter == 77)
    #expect(st.badDatagrams == 0)
    // jitter is whatever 32-bit value the viewer sends; above Int32.max it would have trapped
    // converting to a 32-bit Int (armv7)
    try sc.sendRtcp(BrowserRtcp.receiverReport(mediaSSRC: ssrc, fractionLost: 255, jitter: 0xFFFF_FFF0))
    #expect(sc.peer.stats.jitter == 0xFFFF_FFF0 && sc.peer.stats.fractionLost == 255)
    st = sc.peer.stats

    // Feedback that is not SRTCP from this association is dropped.
    sc.toPeer(BrowserRtcp.pli(mediaSSRC: ssrc))  // plain RTCP
    let stranger = try SrtpSession(
      localKey: [UInt8](repeating: 7, count: 16), localSalt: [UInt8](repeating: 8, count: 14),
      remoteKey: [UInt8](repeating: 9, count: 16), remoteSalt: [UInt8](repeating: 10, count: 14))
    sc.toPeer(try stranger.protectRtcp(BrowserRtcp.pli(mediaSSRC: ssrc)))
    #expect(sc.takeEvents().isEmpty)
    st = sc.peer.stats
    #expect(st.plis == 2 && st.rtcpReceived == 4 && st.badDatagrams == 2)
    #expect(sc.peer.phase == .connected)
  }

  @Test func senderReportsFollowTheInterval() throws {
    let sc = try Scenario()
    let feed = try FrameFeed(clock: { sc.now })
    try sc.connect()
    let connectedAt = sc.now
    // Due at once, but there is nothing to report before the first frame.
    #expect(sc.peer.nextDeadline == connectedAt)
    sc.poll(at: connectedAt)
    #expect(sc.rtcpReceived.isEmpty)
    #expect(sc.peer.nextDeadline == connectedAt + Self.s)

    var firstCapture: UInt64 = 0
    for i in 0..<5 {
      sc.now += 33 * Self.ms
      let f = try feed.next()
      if i == 0 { firstCapture = f.captureNs }
      sc.sendFrame(f.au, captureNs: f.captureNs, isKeyframe: f.isKeyframe)
    }
    sc.poll(at: connectedAt + Self.s - 1)
    #expect(sc.rtcpReceived.isEmpty)
    sc.poll(at: connectedAt + Self.s)
    #expect(sc.rtcpReceived.count == 1)
    #expect(sc.peer.nextDeadline == connectedAt + 2 * Self.s)

    let packets = sc.rtpReceived
    let octets = try packets.reduce(0) { acc, p in
      acc + (try RtpHeader.parse(p)).payloadRange(packetLength: p.count).count
    }
    let report = try #require(sc.rtcpReceived.last)
    #expect(report.count == 2)
    let rtpNow = sc.config.timestampOffset &+ UInt32((sc.now - firstCapture) * 90_000 / Self.s)
    #expect(report.first == .senderReport(
      ssrc: sc.config.ssrc, ntpTime: ntpTimestamp(unixNs: sc.unixNs), rtpTimestamp: rtpNow,
      packetCount: UInt32(packets.count), octetCount: UInt32(octets), blocks: []))
    #expect(report.last == .sdes)
    // The SR went to the browser and was SRTCP (the browser had to decrypt it to parse it).
    let srDatagram = try #require(sc.sent.last)
    #expect(srDatagram.to == Scenario.browserAddress)
    #expect(DatagramKind.classify(srDatagram.bytes) == .rtcp)

    // Another interval, another report with the same counters.
    sc.poll(at: connectedAt + 2 * Self.s)
    #expect(sc.rtcpReceived.count == 2)
    if case .senderReport(_, _, _, let count, let octetCount, _)? = sc.rtcpReceived.last?.first {
      #expect(count == UInt32(packets.count) && octetCount == UInt32(octets))
    } else {
      Issue.record("second report is not a sender report")
    }
  }

  // MARK: timers and endings

  @Test func consentExpiresWithoutChecks() throws {
    let sc = try Scenario()
    try sc.connect()
    let checkedAt = sc.now
    _ = sc.takeEvents()

    sc.poll(at: checkedAt + 29 * Self.s)
    #expect(sc.peer.phase == .connected)
    // A check on another (not nominated) pair answers, but does not keep consent alive.
    let other = SocketAddress(ip: [10, 0, 0, 7], port: 50_000)
    sc.toPeer(sc.stunRequest(useCandidate: false), from: other)
    let reply = try #require(sc.sent.last)
    #expect(reply.to == other)
    #expect((try StunMessage.parse(reply.bytes)).cls == .success)
    #expect(sc.peer.remote == Scenario.browserAddress)
    sc.poll(at: checkedAt + 30 * Self.s - 1)
    #expect(sc.peer.phase == .connected)
    sc.poll(at: checkedAt + 30 * Self.s)
    #expect(sc.peer.phase == .closed)
    #expect(sc.takeEvents() == [.phaseChanged(.closed), .closed(.consentExpired)])
    #expect(sc.peer.closeReason == .consentExpired)
    #expect(sc.peer.nextDeadline == nil)
    // The DTLS association was closed politely.
    #expect(sc.browserEvents.contains(.closed))
  }

  @Test func checksFromTheNominatedAddressKeepConsent() throws {
    let sc = try Scenario()
    try sc.connect()
    var t = sc.now
    for _ in 0..<4 {
      t += 20 * Self.s
      sc.poll(at: t)
      #expect(sc.peer.phase == .connected)
      #expect(sc.check(useCandidate: true)?.cls == .success)
    }
    sc.poll(at: t + 30 * Self.s - 1)
    #expect(sc.peer.phase == .connected)
    sc.poll(at: t + 30 * Self.s)
    #expect(sc.peer.closeReason == .consentExpired)
  }

  /// A viewer like GStreamer 1.22's webrtcbin: after nomination no more Binding Requests, only
  /// RTCP receiver reports. They keep it playing; once they stop, it is reaped 30 s later.
  @Test func receiverReportsFromTheNominatedAddressKeepTheSession() throws {
    let sc = try Scenario()
    try sc.connect()
    let rr = BrowserRtcp.receiverReport(mediaSSRC: sc.config.ssrc, fractionLost: 0, jitter: 3)
    var t = sc.now
    for _ in 0..<24 {  // two minutes of reports every 5 s
      t += 5 * Self.s
      sc.now = t
      try sc.sendRtcp(rr)
      sc.poll(at: t)
      #expect(sc.peer.phase == .connected)
    }
    #expect(sc.peer.stats.rtcpLiveness == 24)
    // The viewer vanishes.
    sc.poll(at: t + 30 * Self.s - 1)
    #expect(sc.peer.phase == .connected)
    sc.poll(at: t + 30 * Self.s)
    #expect(sc.peer.closeReason == .consentExpired)
  }

  @Test func rtcpFromElsewhereOrUnauthenticatedDoesNotKeepTheSession() throws {
    let sc = try Scenario()
    try sc.connect()
    let connectedAt = sc.now
    let rr = BrowserRtcp.receiverReport(mediaSSRC: sc.config.ssrc, fractionLost: 0, jitter: 3)
    let srtp = try #require(sc.browserSrtp)
    let other = SocketAddress(ip: [127, 0, 0, 9], port: 40_000)
    for i in 1...5 {
      sc.now = connectedAt + UInt64(i) * 5 * Self.s
      // valid SRTCP, but from an address that was never nominated
      sc.toPeer(try srtp.protectRtcp(rr), from: other)
      // from the nominated address, but with a broken authentication tag
      var forged = try srtp.protectRtcp(rr)
      forged[forged.count - 1] ^= 0x01
      sc.toPeer(forged)
      sc.deliver()
    }
    #expect(sc.peer.stats.rtcpLiveness == 0)
    sc.poll(at: connectedAt + 30 * Self.s)
    #expect(sc.peer.closeReason == .consentExpired)
  }

  @Test func iceTimeoutWithoutAnyValidCheck() throws {
    let sc = try Scenario(iceTimeoutNs: 5 * Self.s)
    let created = sc.now
    #expect(sc.peer.nextDeadline == created + 5 * Self.s)
    sc.now += Self.s
    #expect(sc.check(useCandidate: true, password: "wrongPasswordWrongPassw0")?.errorCode?.code == 401)
    sc.poll(at: created + 5 * Self.s - 1)
    #expect(sc.peer.phase == .checking)
    #expect(sc.takeEvents().isEmpty)
    sc.poll(at: created + 5 * Self.s)
    #expect(sc.takeEvents() == [.phaseChanged(.closed), .closed(.iceTimeout)])
    #expect(sc.peer.closeReason?.code == "ICE_TIMEOUT")
    // Nothing but the 401 was ever sent, and a valid check now goes unanswered.
    #expect(sc.sent.count == 1)
    sc.toPeer(sc.stunRequest(useCandidate: true))
    #expect(sc.sent.count == 1)
    #expect(sc.peer.phase == .closed)
  }

  @Test func hangUpSendsCloseNotify() throws {
    let sc = try Scenario()
    let feed = try FrameFeed(clock: { sc.now })
    try sc.connect()
    _ = sc.takeEvents()
    sc.now += 33 * Self.ms
    let f = try feed.next()
    sc.sendFrame(f.au, captureNs: f.captureNs, isKeyframe: true)
    expectSameBytes(sc.accessUnits, [f.au], "access units")

    let before = sc.sent.count
    sc.peer.close(.hangUp, now: sc.now)
    sc.collect()
    #expect(sc.takeEvents() == [.phaseChanged(.closed), .closed(.hangUp)])
    let out = sc.sent[before...]
    #expect(out.count == 1)
    #expect(out.first?.bytes.first == 21)  // a DTLS alert record (encrypted close_notify)
    #expect(out.first?.to == Scenario.browserAddress)
    sc.deliver()
    #expect(sc.browserEvents.last == .closed)
    #expect(sc.browserDtls.state == .closed)

    // Closed is final: no media, no answers, no timers, no second close.
    let after = sc.sent.count
    sc.now += 33 * Self.ms
    let g = try feed.next()
    sc.sendFrame(g.au, captureNs: g.captureNs, isKeyframe: g.isKeyframe)
    sc.toPeer(sc.stunRequest(useCandidate: true))
    sc.poll(at: sc.now + 60 * Self.s)
    sc.peer.close(.shutdown, now: sc.now)
    sc.collect()
    #expect(sc.sent.count == after)
    #expect(sc.takeEvents().isEmpty)
    #expect(sc.peer.closeReason == .hangUp)
    #expect(sc.peer.nextDeadline == nil)
  }

  @Test func nominationOfANewAddressMovesMedia() throws {
    let sc = try Scenario()
    let feed = try FrameFeed(clock: { sc.now })
    try sc.connect()
    _ = sc.takeEvents()
    sc.now += 33 * Self.ms
    let f0 = try feed.next()
    sc.sendFrame(f0.au, captureNs: f0.captureNs, isKeyframe: true)

    // The browser switches to another candidate pair (e.g. Wi-Fi to wired).
    let moved = SocketAddress(ip: [192, 168, 7, 40], port: 61_000)
    sc.address = moved
    #expect(sc.check(useCandidate: true)?.xorMappedAddress == moved)
    #expect(sc.takeEvents() == [.remoteAddressChanged(moved)])
    #expect(sc.peer.remote == moved)
    let before = sc.sent.count
    sc.now += 33 * Self.ms
    let f1 = try feed.next()
    sc.sendFrame(f1.au, captureNs: f1.captureNs, isKeyframe: f1.isKeyframe)
    let media = sc.rtpSent(since: before)
    #expect(!media.isEmpty)
    #expect(media.allSatisfy { $0.to == moved })
    expectSameBytes(sc.accessUnits, [f0.au, f1.au], "access units")
  }

  // MARK: hostile input

  /// A datagram of about `length` bytes starting with `first`, sometimes shaped like the
  /// protocol its first byte selects so that it gets past the cheap checks.
  static func garbage(first: UInt8, rng: inout TestPRNG, localUfrag: String) -> [UInt8] {
    let length = rng.below(8) == 0 ? rng.below(1500) : rng.below(120)
    var d = [first] + rng.bytes(max(0, length - 1))
    guard rng.below(2) == 0 else { return length == 0 ? [] : d }
    switch first {
    case 0...3:
      // STUN header with the magic cookie; sometimes a USERNAME naming our ufrag.
      var body: [UInt8] = []
      if rng.below(2) == 0 {
        let u = Array((localUfrag + ":x").utf8)
        body += [0x00, 0x06, 0x00, UInt8(u.count)] + u + [UInt8](repeating: 0, count: (4 - u.count % 4) % 4)
        body += [0x00, 0x08, 0x00, 0x14] + rng.bytes(20)
      }
      body += rng.bytes(4 * rng.below(10))
      d = [first & 0x01, rng.below(2) == 0 ? 0x01 : UInt8(truncatingIfNeeded: rng.next()),
           UInt8(body.count >> 8), UInt8(body.count & 0xFF), 0x21, 0x12, 0xA4, 0x42] + rng.bytes(12) + body
    case 20...63:
      // DTLS record header (1.2, epoch 0 or 1) with a consistent length.
      let payload = rng.bytes(rng.below(200))
      d = [first, 0xFE, 0xFD, 0, UInt8(rng.below(2))] + rng.bytes(6)
        + [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)] + payload
    case 128...191:
      // RTP/RTCP version 2 with an RTCP packet type half of the time.
      d = [first, rng.below(2) == 0 ? UInt8(200 + rng.below(7)) : UInt8(truncatingIfNeeded: rng.next())]
        + rng.bytes(rng.below(300))
    default:
      break
    }
    return d
  }

  @Test func garbageNeverTrapsNorChangesAConnectedPeer() throws {
    let sc = try Scenario()
    let feed = try FrameFeed(clock: { sc.now })
    try sc.connect()
    sc.now += 33 * Self.ms
    let f0 = try feed.next()
    sc.sendFrame(f0.au, captureNs: f0.captureNs, isKeyframe: true)
    _ = sc.takeEvents()
    let statsBefore = sc.peer.stats
    let remoteBefore = sc.peer.remote
    let sentBefore = sc.sent.count

    var rng = TestPRNG(state: 0xBAD_DA7A)
    let stranger = SocketAddress(ip: [198, 51, 100, 66], port: 9)
    let rounds = 3072
    for i in 0..<rounds {
      let d = Self.garbage(first: UInt8(i % 256), rng: &rng, localUfrag: sc.localIce.ufrag)
      sc.now += 1000
      sc.toPeer(d, from: rng.below(3) == 0 ? stranger : Scenario.browserAddress)
      if sc.peer.phase != .connected || !sc.peerEvents.isEmpty {
        Issue.record("datagram \(i) (\(d.count) bytes, first \(d.first ?? 0)) changed the peer: \(sc.peerEvents)")
        return
      }
    }
    // The only answers garbage may earn are STUN error responses.
    for d in sc.sent[sentBefore...] {
      #expect((try? StunMessage.parse(d.bytes))?.cls == .error)
    }
    sc.outbox.removeAll()
    var statsAfter = sc.peer.stats
    #expect(statsAfter.badDatagrams > statsBefore.badDatagrams)
    #expect(statsAfter.badDatagrams <= statsBefore.badDatagrams + UInt64(rounds))
    statsAfter.badDatagrams = statsBefore.badDatagrams
    #expect(statsAfter == statsBefore)
    #expect(sc.peer.remote == remoteBefore)

    // Media and feedback still work.
    sc.now += 33 * Self.ms
    let f1 = try feed.next()
    sc.sendFrame(f1.au, captureNs: f1.captureNs, isKeyframe: f1.isKeyframe)
    expectSameBytes(sc.accessUnits, [f0.au, f1.au], "access units")
    #expect(sc.depacketizerErrors.isEmpty)
    try sc.sendRtcp(BrowserRtcp.pli(mediaSSRC: sc.config.ssrc))
    #expect(sc.takeEvents() == [.keyframeNeeded(.pli)])
  }

  @Test func garbageNeverStartsASession() throws {
    let sc = try Scenario()
    var rng = TestPRNG(state: 0xF00D)
    for i in 0..<1024 {
      let d = Self.garbage(first: UInt8(i % 256), rng: &rng, localUfrag: sc.localIce.ufrag)
      sc.toPeer(d)
    }
    #expect(sc.peer.phase == .checking)
    #expect(sc.peer.remote == nil)
    #expect(sc.takeEvents().isEmpty)
    #expect(sc.sent.allSatisfy { (try? StunMessage.parse($0.bytes))?.cls == .error })
    // A real check still works afterwards.
    try sc.connect()
  }
}

/// RFC 6184 §8.1: the SPS on the wire must say what the answer's profile-level-id signals.
