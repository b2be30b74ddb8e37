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
/// STUN and H.264 depacketizer, under a fake clock. Media (RFC 3550, RFC 6184): encoded frames arrive byte for byte, an IDR gets its parameter
/// sets, NACKed packets are sent again (RFC 4585).
@Suite struct Rfc6184MediaTests {
  static let ms = Time.ms

  /// A packet with its transport-wide number (bytes 17-18: the fixture offer negotiates it) set
  /// to 0 and its last `tag` bytes (the SRTP authentication tag) cut off.
  static func withoutTransportNumber(_ p: [UInt8], tag: Int) -> [UInt8] {
    var b = Array(p.dropLast(tag))
    if b.count > 18 { b[17] = 0; b[18] = 0 }
    return b
  }
  static let s = Time.s

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
      // The same SRTP packet (allow_repeat_tx: same key, index and payload), but for its
      // transport-wide number (bytes 17-18 of the clear header, new on every send) and hence
      // its authentication tag ...
      expectSameBytes(Self.withoutTransportNumber(r.bytes, tag: 10), sc.tapCipher[seq].map { Self.withoutTransportNumber($0, tag: 10) },
        "retransmitted SRTP packet \(seq)")
    }
    // ... which the browser, having lost the original, decrypts to the original bytes.
    #expect(sc.rtpReceived.count == sentPackets)
    for plain in sc.rtpReceived.suffix(2) {
      let seq = loadU16(plain, 2)
      expectSameBytes(Self.withoutTransportNumber(plain, tag: 0), sc.tapPlain[seq].map { Self.withoutTransportNumber($0, tag: 0) },
        "retransmitted RTP packet \(seq), decrypted")
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
}
