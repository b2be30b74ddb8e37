import BWE
import Foundation
import Peer
import RTP
import Testing
import TestSupport
import Wire

/// A viewer's congestion control in the session (issue 19): its media leaves through the pacer
/// from the retransmission history, feedback moves its estimate, the core's layer limit and the
/// pacer's queue bound drop frames for this viewer alone, with contiguous sequence numbers.
@Suite struct CongestionControlTests {
  static let slow = BandwidthEstimatorConfig(startBitrate: 200_000, minBitrate: 50_000, maxBitrate: 2_000_000)

  /// An access unit of one NAL unit of `bytes` bytes (an IDR slice or a P slice).
  static func accessUnit(bytes: Int, keyframe: Bool, seed: UInt8 = 1) -> [UInt8] {
    var nal: [UInt8] = [keyframe ? 0x65 : 0x41]
    for i in 0..<(bytes - 1) { nal.append(UInt8(truncatingIfNeeded: i &* 31 &+ Int(seed)) | 1) }
    return [0, 0, 0, 1] + nal
  }

  /// Runs the peer's timers at each deadline until `until` (as the event loop sleeps to them).
  static func run(_ sc: Scenario, until: UInt64) {
    var guardCount = 0
    while let d = sc.peer.nextDeadline, d <= until, guardCount < 100_000 {
      sc.poll(at: max(d, sc.now))
      guardCount += 1
    }
    sc.poll(at: until)
  }

  /// RTP sequence numbers of the media packets sent since `from`, as the browser decrypts them.
  static func sequences(_ sc: Scenario, since from: Int) -> [UInt16] {
    sc.rtpReceived.dropFirst(from).map { UInt16($0[2]) << 8 | UInt16($0[3]) }
  }

  /// A bottleneck the test's frames cross: 6 kB frames at 30 fps, each RTP packet leaving the
  /// link after the one before it at `rate` (bit/s, by the send time in us since `start`) and
  /// arriving `delayUs` later; every 100 ms (every third frame) the browser reports what arrived.
  struct Bottleneck {
    let start: UInt64
    let delayUs: Int64
    let rate: (Int64) -> Int64
    var transport: [UInt16] = []
    var arrivals: [Int64] = []
    var linkFreeAt: Int64 = 0
    var reported = 0

    init(start: UInt64, delayUs: Int64, rate: @escaping (Int64) -> Int64) {
      self.start = start
      self.delayUs = delayUs
      self.rate = rate
    }

    /// Frame `i` (the first a keyframe): sent, paced out, its packets' arrivals computed, and
    /// the browser's report when one is due.
    mutating func frame(_ i: Int, _ sc: Scenario) throws {
      sc.now = start + UInt64(i) * 33 * Time.ms
      let from = sc.sent.count
      sc.sendFrame(CongestionControlTests.accessUnit(bytes: 6_000, keyframe: i == 0, seed: UInt8(truncatingIfNeeded: i)),
        captureNs: sc.now, isKeyframe: i == 0)
      CongestionControlTests.run(sc, until: sc.now + 30 * Time.ms)
      for d in sc.sent[from...] where DatagramKind.classify(d.bytes) == .rtp {
        // the header (and its extension, transport-wide number first: bytes 17-18) is not encrypted
        transport.append(UInt16(d.bytes[17]) << 8 | UInt16(d.bytes[18]))
        let sentUs = Int64((sc.now - start) / 1_000)
        linkFreeAt = max(linkFreeAt, sentUs) + Int64(d.bytes.count) * 8 * 1_000_000 / rate(sentUs)
        arrivals.append(linkFreeAt + delayUs)
      }
      if i % 3 == 2, reported < transport.count {
        try sc.sendRtcp(RtcpFeedback.transportCC(senderSSRC: 1, mediaSSRC: 0x1234_5679, baseSequence: transport[reported],
          feedbackCount: UInt8(truncatingIfNeeded: i), arrivalsUs: Array(arrivals[reported...])))
        reported = transport.count
      }
    }
  }

  @Test func aKeyframeLeavesSpreadAtTwoAndAHalfTimesTheEstimate() throws {
    let sc = try Scenario(congestion: Self.slow)
    try sc.connect()
    let start = sc.now
    let before = sc.rtpReceived.count
    // 30 kB at 2.5 x 200 kbit/s: about 480 ms on the wire
    sc.sendFrame(Self.accessUnit(bytes: 30_000, keyframe: true), captureNs: sc.now, isKeyframe: true)
    let atOnce = sc.rtpReceived.count - before
    let total = sc.frame.count
    #expect(total > 20)
    #expect(atOnce < 4, "only the pacer's burst leaves at once (\(atOnce) of \(total))")
    Self.run(sc, until: start + 200 * Time.ms)
    let at200 = sc.rtpReceived.count - before
    #expect(at200 > atOnce && at200 < total, "half-way: \(at200) of \(total)")
    Self.run(sc, until: start + 700 * Time.ms)
    #expect(sc.rtpReceived.count - before == total, "all of it within 700 ms")
    #expect(sc.accessUnits.count == 1 && sc.depacketizerErrors.isEmpty)
    #expect(sc.peer.stats.framesSent == 1)
  }

  @Test func aViewerWithoutFeedbackIsSentEveryPacketAtOnce() throws {
    let sc = try Scenario(congestion: Self.slow, feedback: false)
    try sc.connect()
    let before = sc.rtpReceived.count
    sc.sendFrame(Self.accessUnit(bytes: 30_000, keyframe: true), captureNs: sc.now, isKeyframe: true)
    #expect(sc.rtpReceived.count - before == sc.frame.count)
    #expect(sc.peer.congestionStatus == nil)
  }

  @Test func theLayerLimitDropsUpperLayersWithContiguousSequenceNumbers() throws {
    // an estimate the base layer fills (100 kbit/s; 1500-byte frames every 133 ms): no headroom
    // for frames of the layer above
    let sc = try Scenario(congestion: BandwidthEstimatorConfig(startBitrate: 100_000, minBitrate: 50_000,
      maxBitrate: 2_000_000), temporalLayers: 3)
    try sc.connect()
    let before = sc.rtpReceived.count
    // 3 layers: 0 2 1 2 | 0 2 1 2 | 0
    let pattern: [UInt8] = [0, 2, 1, 2, 0, 2, 1, 2, 0]
    func send(_ i: Int, _ layer: UInt8, bytes: Int = 1_500) {
      sc.now += 33 * Time.ms
      sc.sendFrame(Self.accessUnit(bytes: bytes, keyframe: i == 0, seed: UInt8(i)), captureNs: sc.now,
        isKeyframe: i == 0, temporalLayer: layer)
      Self.run(sc, until: sc.now + 20 * Time.ms)
    }
    send(0, 0)
    sc.peer.handleLayerLimit(0)
    for (i, l) in pattern.enumerated().dropFirst() { send(i, l) }
    #expect(sc.peer.stats.framesSent == 3, "the base layer only")
    #expect(sc.peer.stats.framesLayerDropped == 6)
    // the limit goes up mid-GOP: the upper layers come back at the next base-layer frame
    send(9, 2)
    sc.peer.handleLayerLimit(2)
    // (a layer-1 frame larger than a quarter second at the estimate never fits the headroom)
    send(10, 1, bytes: 4_000)
    send(11, 2)
    #expect(sc.peer.stats.framesSent == 3, "not before a base-layer frame")
    send(12, 0)
    send(13, 2)
    send(14, 1)
    #expect(sc.peer.stats.framesSent == 6)
    let seqs = Self.sequences(sc, since: before)
    for (a, b) in zip(seqs, seqs.dropFirst()) { #expect(b == a &+ 1, "contiguous: \(a) then \(b)") }
    #expect(sc.depacketizerErrors.isEmpty)
  }

  @Test func aFullQueueDropsFramesThenAsksForAKeyframeOnceDrained() throws {
    let tight = BandwidthEstimatorConfig(startBitrate: 50_000, minBitrate: 50_000, maxBitrate: 50_000)
    let sc = try Scenario(congestion: tight)
    try sc.connect()
    _ = sc.takeEvents()
    // 10 kB at 2.5 x 50 kbit/s: 640 ms, over the 300 ms bound: an empty queue still takes it
    sc.sendFrame(Self.accessUnit(bytes: 10_000, keyframe: true), captureNs: sc.now, isKeyframe: true)
    #expect(sc.peer.stats.framesSent == 1)
    for i in 1...5 {
      sc.now += 33 * Time.ms
      sc.sendFrame(Self.accessUnit(bytes: 2_000, keyframe: false, seed: UInt8(i)), captureNs: sc.now, isKeyframe: false)
    }
    // the first inter frame would pass the bound: dropped; the rest wait for a keyframe
    #expect(sc.peer.stats.framesCongestionDropped == 1)
    #expect(sc.peer.stats.framesSent == 1)
    #expect(!sc.takeEvents().contains(.keyframeNeeded(.congestion)), "not while the queue is full")
    Self.run(sc, until: sc.now + 1_000 * Time.ms)
    #expect(sc.takeEvents().contains(.keyframeNeeded(.congestion)))
    // inter frames wait for that keyframe
    let sent = sc.peer.stats.framesSent
    sc.sendFrame(Self.accessUnit(bytes: 500, keyframe: false, seed: 9), captureNs: sc.now, isKeyframe: false)
    #expect(sc.peer.stats.framesSent == sent)
    sc.sendFrame(Self.accessUnit(bytes: 500, keyframe: true, seed: 10), captureNs: sc.now, isKeyframe: true)
    Self.run(sc, until: sc.now + 200 * Time.ms)
    #expect(sc.peer.stats.framesSent == sent + 1)
    #expect(sc.depacketizerErrors.isEmpty)
  }

  /// A viewer held to the base layer whose estimate has room gets the next layer's frames when
  /// they fit (never the layers above them): more frames per second, still decodable.
  @Test func headroomCarriesFramesOfTheLayerJustAboveTheLimit() throws {
    let sc = try Scenario(congestion: BandwidthEstimatorConfig(startBitrate: 1_000_000, minBitrate: 50_000,
      maxBitrate: 2_000_000), temporalLayers: 3)
    try sc.connect()
    let before = sc.rtpReceived.count
    sc.now += 33 * Time.ms
    sc.sendFrame(Self.accessUnit(bytes: 800, keyframe: true, seed: 0), captureNs: sc.now, isKeyframe: true)
    Self.run(sc, until: sc.now + 20 * Time.ms)
    sc.peer.handleLayerLimit(0)
    // 0 2 1 2 | 0 2 1 2 | 0 2 1 2: 800 bytes every 33 ms is about 190 kbit/s, well within 1 Mbit/s
    let pattern: [UInt8] = [2, 1, 2, 0, 2, 1, 2, 0, 2, 1, 2]
    for (i, layer) in pattern.enumerated() {
      sc.now += 33 * Time.ms
      sc.sendFrame(Self.accessUnit(bytes: 800, keyframe: false, seed: UInt8(i + 1)), captureNs: sc.now,
        isKeyframe: false, temporalLayer: layer)
      Self.run(sc, until: sc.now + 20 * Time.ms)
    }
    #expect(sc.peer.stats.framesSent == 6, "the keyframe, 2 base-layer frames and 3 of the layer above")
    #expect(sc.peer.stats.framesLayerDropped == 6, "the top layer: never")
    let seqs = Self.sequences(sc, since: before)
    for (a, b) in zip(seqs, seqs.dropFirst()) { #expect(b == a &+ 1, "contiguous: \(a) then \(b)") }
    #expect(sc.depacketizerErrors.isEmpty)
  }

  @Test func anEstimateBelowWhatIsQueuedFlushesTheQueueAndSkipsToAKeyframe() throws {
    let sc = try Scenario(congestion: BandwidthEstimatorConfig(startBitrate: 1_000_000, minBitrate: 50_000,
      maxBitrate: 2_000_000))
    try sc.connect()
    _ = sc.takeEvents()
    let before = sc.rtpReceived.count
    // 60 kB queued at 2.5 Mbit/s (190 ms), then a REMB of 100 kbit/s: it would take 1.9 s
    sc.sendFrame(Self.accessUnit(bytes: 60_000, keyframe: true), captureNs: sc.now, isKeyframe: true)
    let packets = sc.frame.count
    let sentBefore = sc.rtpReceived.count - before
    try sc.sendRtcp(RtcpFeedback.remb(senderSSRC: 1, bitrate: 100_000, ssrcs: [0x1234_5679]))
    #expect(sc.peer.stats.queueFlushes == 1)
    #expect(sc.takeEvents().contains(.keyframeNeeded(.congestion)), "the queue is empty: a keyframe at once")
    Self.run(sc, until: sc.now + 2_000 * Time.ms)
    #expect(sc.rtpReceived.count - before == sentBefore, "nothing of the flushed frame left later")
    #expect(sentBefore < packets)
    // a NACK for a packet that was flushed (never sent) is not answered
    let resent = sc.peer.stats.retransmissions
    let never = UInt16(truncatingIfNeeded: Int(sc.config.initialSequence) + packets - 1)
    try sc.sendRtcp(BrowserRtcp.nack(mediaSSRC: sc.config.ssrc, pid: never))
    Self.run(sc, until: sc.now + 100 * Time.ms)
    #expect(sc.peer.stats.retransmissions == resent)
    // inter frames wait for the keyframe
    let frames = sc.peer.stats.framesSent
    sc.sendFrame(Self.accessUnit(bytes: 500, keyframe: false, seed: 3), captureNs: sc.now, isKeyframe: false)
    #expect(sc.peer.stats.framesSent == frames)
  }

  @Test func aRembCapsTheEstimateAndIsReported() throws {
    let sc = try Scenario(congestion: Self.slow)
    try sc.connect()
    _ = sc.takeEvents()
    try sc.sendRtcp(RtcpFeedback.remb(senderSSRC: 1, bitrate: 90_000, ssrcs: [0x1234_5679]))
    let status = try #require(sc.peer.congestionStatus)
    #expect(status.estimate <= 90_000)
    #expect(sc.takeEvents().contains { if case .estimateChanged(let b, _) = $0 { return b == status.estimate }; return false })
  }

  @Test func transportFeedbackWithGrowingDelayLowersTheEstimate() throws {
    let sc = try Scenario(congestion: BandwidthEstimatorConfig(startBitrate: 1_000_000, minBitrate: 50_000,
      maxBitrate: 2_000_000))
    try sc.connect()
    // 3 s of 30 fps frames of 6 kB into a link that delivers 500 kbit/s (1200 bytes in 19.2 ms):
    // the one-way delay grows
    var link = Bottleneck(start: sc.now, delayUs: 100_000) { _ in 500_000 }
    for i in 0..<90 { try link.frame(i, sc) }
    let status = try #require(sc.peer.congestionStatus)
    #expect(status.estimate < 800_000, "estimate \(status.estimate) after the delay grew")
    // a report every 100 ms while packets flow (once the queue bound drops a base-layer frame,
    // this viewer waits for a keyframe the test does not send)
    #expect(sc.peer.stats.transportFeedbacks >= 5)
    #expect(sc.peer.stats.badDatagrams == 0)
  }

  /// A link that steps down under the stream (2 Mbit/s of frames into 150 kbit/s, a drop-tail
  /// queue behind it): once the estimate collapses over the standing queue, the viewer is sent
  /// nothing while the queue drains, then asks for a keyframe, so the frames after it are not
  /// stuck behind what was sent before.
  @Test func aCollapseOverAStandingQueueDrainsItThenAsksForAKeyframe() throws {
    let sc = try Scenario(congestion: BandwidthEstimatorConfig(startBitrate: 2_000_000, minBitrate: 50_000,
      maxBitrate: 2_000_000))
    try sc.connect()
    _ = sc.takeEvents()
    // 2 Mbit/s for the first 300 ms, 150 kbit/s after (the step)
    var link = Bottleneck(start: sc.now, delayUs: 20_000) { $0 < 300_000 ? 2_000_000 : 150_000 }
    var collapse: (at: UInt64, rtp: Int)?
    var keyframeAsked: UInt64?
    for i in 0..<150 {
      try link.frame(i, sc)
      if collapse == nil, sc.peer.stats.queueFlushes > 0 {
        collapse = (sc.now, sc.rtpReceived.count)
        // a keyframe asked for by someone else, during the drain, would wait behind the queue too
        let dropped = sc.peer.stats.framesCongestionDropped
        sc.sendFrame(Self.accessUnit(bytes: 1_500, keyframe: true, seed: 8), captureNs: sc.now, isKeyframe: true)
        #expect(sc.peer.stats.framesCongestionDropped == dropped + 1)
      }
      if keyframeAsked == nil, sc.takeEvents().contains(.keyframeNeeded(.congestion)) { keyframeAsked = sc.now }
      if keyframeAsked != nil { break }
    }
    let c = try #require(collapse, "the estimate collapsed and the queue was flushed")
    let asked = try #require(keyframeAsked, "a keyframe was asked for")
    #expect(asked >= c.at + 100 * Time.ms, "not before the standing queue drained")
    #expect(asked <= c.at + 1_100 * Time.ms, "within the longest drain")
    // media of the first frames only: nothing went out between the collapse and the keyframe
    #expect(sc.rtpReceived.count == c.rtp)
    // the keyframe goes out
    let frames = sc.peer.stats.framesSent
    sc.sendFrame(Self.accessUnit(bytes: 1_500, keyframe: true, seed: 9), captureNs: sc.now, isKeyframe: true)
    Self.run(sc, until: sc.now + 200 * Time.ms)
    #expect(sc.peer.stats.framesSent == frames + 1)
  }

  /// After a skip to a keyframe the browser may keep asking for what it lost before it: of no
  /// use to its decoder, and on a congested link the resend would only add to the queue.
  @Test func noResendOfPacketsBeforeTheLastKeyframe() throws {
    let sc = try Scenario()
    try sc.connect()
    let first = sc.config.initialSequence
    sc.loseOnce = [first &+ 1, first &+ 2]
    sc.sendFrame(Self.accessUnit(bytes: 3_000, keyframe: true, seed: 1), captureNs: sc.now, isKeyframe: true)
    sc.now += 33 * Time.ms
    sc.sendFrame(Self.accessUnit(bytes: 3_000, keyframe: false, seed: 2), captureNs: sc.now, isKeyframe: false)
    // a NACK for the first keyframe's packet while it is still the last keyframe: resent
    try sc.sendRtcp(BrowserRtcp.nack(mediaSSRC: sc.config.ssrc, pid: first &+ 1))
    Self.run(sc, until: sc.now + 10 * Time.ms)
    #expect(sc.peer.stats.retransmissions == 1)
    sc.now += 33 * Time.ms
    let second = UInt16(truncatingIfNeeded: Int(first) + Int(sc.peer.stats.packetsSent))
    sc.loseOnce.insert(second &+ 1)
    sc.sendFrame(Self.accessUnit(bytes: 3_000, keyframe: true, seed: 3), captureNs: sc.now, isKeyframe: true)
    sc.now += 200 * Time.ms  // past the least gap between two resends of one packet
    try sc.sendRtcp(BrowserRtcp.nack(mediaSSRC: sc.config.ssrc, pid: first &+ 2))
    Self.run(sc, until: sc.now + 10 * Time.ms)
    #expect(sc.peer.stats.retransmissions == 1, "before the new keyframe: not resent")
    try sc.sendRtcp(BrowserRtcp.nack(mediaSSRC: sc.config.ssrc, pid: second &+ 1))
    Self.run(sc, until: sc.now + 10 * Time.ms)
    #expect(sc.peer.stats.retransmissions == 2, "the new keyframe's own packet: resent")
  }

  /// A resend that is lost in turn is sent again at the browser's next NACK once a round trip
  /// (and a quarter) has passed, not only after 100 ms; a NACK within that time is not answered
  /// twice (RFC 4585 leaves repeats to the sender).
  @Test func aPacketIsResentAgainAfterOneRoundTripNotBefore() throws {
    let sc = try Scenario(congestion: Self.slow)
    try sc.connect()
    // a sender report goes out with the first frame
    sc.sendFrame(Self.accessUnit(bytes: 500, keyframe: true, seed: 3), captureNs: sc.now, isKeyframe: true)
    let reportAt = sc.now
    Self.run(sc, until: sc.now + 10 * Time.ms)
    let sr = try #require(sc.rtcpReceived.joined().compactMap { p -> UInt64? in
      if case .senderReport(_, let ntp, _, _, _, _) = p { return ntp }
      return nil
    }.last, "a sender report went out with the first frame")
    // the browser answers 40 ms later: a 40-ms round trip, so resends wait 50 ms
    sc.now = reportAt + 40 * Time.ms
    try sc.sendRtcp(BrowserRtcp.receiverReport(mediaSSRC: sc.config.ssrc, fractionLost: 0, jitter: 0,
      lsr: UInt32(truncatingIfNeeded: sr >> 16)))
    let rtt = try #require(sc.peer.congestionStatus?.rttNs)
    #expect(rtt > 30 * Time.ms && rtt <= 40 * Time.ms, "round trip \(rtt)")
    let lost = UInt16(truncatingIfNeeded: Int(sc.config.initialSequence) + Int(sc.peer.stats.packetsSent) + 1)
    sc.loseOnce = [lost]
    sc.sendFrame(Self.accessUnit(bytes: 3_000, keyframe: true, seed: 4), captureNs: sc.now, isKeyframe: true)
    Self.run(sc, until: sc.now + 200 * Time.ms)
    func nack(after ms: UInt64) throws {
      sc.now += ms * Time.ms
      try sc.sendRtcp(BrowserRtcp.nack(mediaSSRC: sc.config.ssrc, pid: lost))
      Self.run(sc, until: sc.now + 5 * Time.ms)
    }
    sc.loseOnce = [lost]  // the first resend is lost too
    try nack(after: 0)
    #expect(sc.peer.stats.retransmissions == 1)
    try nack(after: 20)
    #expect(sc.peer.stats.retransmissions == 1, "within the round trip: not again")
    try nack(after: 40)
    #expect(sc.peer.stats.retransmissions == 2, "a round trip and a quarter later: again")
    #expect(sc.rtpReceived.contains { UInt16($0[2]) << 8 | UInt16($0[3]) == lost })
  }

  /// Transport feedback that reports a transmission lost sends the packet again at once, without
  /// a NACK; a lost resend is sent again the same way; a loss report about a transmission that
  /// a later resend has superseded sends nothing.
  @Test func aTransmissionReportedLostIsSentAgainWithoutANack() throws {
    let sc = try Scenario(congestion: BandwidthEstimatorConfig(startBitrate: 1_000_000, minBitrate: 50_000,
      maxBitrate: 2_000_000))
    try sc.connect()
    sc.depacketizeOnArrival = false  // the stand-in's depacketizer wants no gaps
    let from = sc.sent.count
    let lostRtp = UInt16(truncatingIfNeeded: Int(sc.config.initialSequence) + Int(sc.peer.stats.packetsSent) + 2)
    sc.loseOnce = [lostRtp]
    sc.sendFrame(Self.accessUnit(bytes: 5_000, keyframe: true, seed: 5), captureNs: sc.now, isKeyframe: true)
    Self.run(sc, until: sc.now + 50 * Time.ms)
    // the transport-wide numbers and RTP numbers of what went out, in order
    func wire(_ since: Int) -> [(transport: UInt16, rtp: UInt16)] {
      sc.sent[since...].filter { DatagramKind.classify($0.bytes) == .rtp }.map {
        (UInt16($0.bytes[17]) << 8 | UInt16($0.bytes[18]), UInt16($0.bytes[2]) << 8 | UInt16($0.bytes[3]))
      }
    }
    let first = wire(from)
    let lostAt = try #require(first.firstIndex { $0.rtp == lostRtp })
    var arrivals: [Int64?] = first.indices.map { Int64($0) * 2_000 + 100_000 }
    arrivals[lostAt] = nil
    let nacks = sc.peer.stats.nacks
    sc.loseOnce = [lostRtp]  // the resend is lost too
    let beforeResend = sc.sent.count
    try sc.sendRtcp(RtcpFeedback.transportCCWithLoss(senderSSRC: 1, mediaSSRC: 0x1234_5679, baseSequence: first[0].transport,
      feedbackCount: 0, arrivalsUs: arrivals))
    Self.run(sc, until: sc.now + 10 * Time.ms)
    let resent = wire(beforeResend)
    #expect(resent.map { $0.rtp } == [lostRtp], "sent again at once")
    #expect(sc.peer.stats.nacks == nacks, "without a NACK")
    // the resend is reported lost in turn (it carried a new transport-wide number)
    let again = sc.sent.count
    try sc.sendRtcp(RtcpFeedback.transportCCWithLoss(senderSSRC: 1, mediaSSRC: 0x1234_5679, baseSequence: resent[0].transport,
      feedbackCount: 1, arrivalsUs: [nil, 200_000]))
    Self.run(sc, until: sc.now + 10 * Time.ms)
    #expect(wire(again).map { $0.rtp } == [lostRtp], "the lost resend is sent again")
    #expect(sc.rtpReceived.contains { UInt16($0[2]) << 8 | UInt16($0[3]) == lostRtp }, "and arrives")
    // a late report about the first transmission: superseded by the resends, nothing sent
    let late = sc.sent.count
    try sc.sendRtcp(RtcpFeedback.transportCCWithLoss(senderSSRC: 1, mediaSSRC: 0x1234_5679, baseSequence: first[lostAt].transport,
      feedbackCount: 2, arrivalsUs: [nil, 300_000]))
    Self.run(sc, until: sc.now + 10 * Time.ms)
    #expect(wire(late).isEmpty)
    // the second resend is reported received: a NACK that crossed it, and a loss report of a
    // later copy (which the browser's SRTP replay check drops), send nothing more
    let secondResend = wire(again)[0].transport
    try sc.sendRtcp(RtcpFeedback.transportCCWithLoss(senderSSRC: 1, mediaSSRC: 0x1234_5679, baseSequence: secondResend,
      feedbackCount: 3, arrivalsUs: [400_000]))
    sc.now += 200 * Time.ms
    let crossed = sc.sent.count
    try sc.sendRtcp(BrowserRtcp.nack(mediaSSRC: sc.config.ssrc, pid: lostRtp))
    Self.run(sc, until: sc.now + 10 * Time.ms)
    #expect(wire(crossed).isEmpty, "arrived: a NACK for it is not answered")
  }
}

/// RTCP feedback a browser sends, written for the tests.
enum RtcpFeedback {
  /// REMB (PSFB FMT 15, draft-alvestrand-rmcat-remb): the bitrate as an 18-bit mantissa and exponent.
  static func remb(senderSSRC: UInt32, bitrate: UInt64, ssrcs: [UInt32]) -> [UInt8] {
    var exp: UInt64 = 0
    var mantissa = bitrate
    while mantissa >= 1 << 18 {
      mantissa >>= 1
      exp += 1
    }
    var b: [UInt8] = [0x8F, 206, 0, UInt8(4 + ssrcs.count)]
    b += be32(senderSSRC) + be32(0) + Array("REMB".utf8)
    b += [UInt8(ssrcs.count), UInt8(exp << 2 | mantissa >> 16), UInt8((mantissa >> 8) & 0xFF), UInt8(mantissa & 0xFF)]
    for s in ssrcs { b += be32(s) }
    return b
  }

  /// Transport-wide feedback (RTPFB FMT 15): every packet from `baseSequence` on received at
  /// `arrivalsUs` (the browser's clock, microseconds), as one run-length chunk of "large delta"
  /// and 16-bit signed deltas in 250 us units from the reference time (64 ms units).
  static func transportCC(senderSSRC: UInt32, mediaSSRC: UInt32, baseSequence: UInt16, feedbackCount: UInt8,
                          arrivalsUs: [Int64]) -> [UInt8] {
    let n = arrivalsUs.count
    var body = be32(senderSSRC) + be32(mediaSSRC)
    body += [UInt8(baseSequence >> 8), UInt8(baseSequence & 0xFF), UInt8(n >> 8), UInt8(n & 0xFF)]
    let ref = UInt32(arrivalsUs[0] / 64_000)
    body += [UInt8((ref >> 16) & 0xFF), UInt8((ref >> 8) & 0xFF), UInt8(ref & 0xFF), feedbackCount]
    // run length chunk: 0, symbol 10 (large delta), 13-bit run length
    body += [UInt8(0x40 | (n >> 8) & 0x1F), UInt8(n & 0xFF)]
    return feedbackPacket(body, deltasFrom: ref, arrivalsUs)
  }

  /// Appends each arrival's 16-bit delta (250 us units, from the 64 ms reference `ref`), pads
  /// to 32 bits and puts the RTPFB FMT 15 header in front.
  static func feedbackPacket(_ statuses: [UInt8], deltasFrom ref: UInt32, _ arrivalsUs: [Int64]) -> [UInt8] {
    var body = statuses
    var last = Int64(ref) * 64_000
    for t in arrivalsUs {
      let d = Int16(clamping: (t - last) / 250)
      last += Int64(d) * 250
      let u = UInt16(bitPattern: d)
      body += [UInt8(u >> 8), UInt8(u & 0xFF)]
    }
    while body.count % 4 != 0 { body.append(0) }
    let words = body.count / 4
    return [0x8F, 205, UInt8(words >> 8), UInt8(words & 0xFF)] + body
  }

  /// Transport-wide feedback with some packets not received (nil): two-bit status vector
  /// chunks (seven statuses each: 00 not received, 10 received with a 16-bit delta).
  static func transportCCWithLoss(senderSSRC: UInt32, mediaSSRC: UInt32, baseSequence: UInt16, feedbackCount: UInt8,
                                  arrivalsUs: [Int64?]) -> [UInt8] {
    let n = arrivalsUs.count
    var body = be32(senderSSRC) + be32(mediaSSRC)
    body += [UInt8(baseSequence >> 8), UInt8(baseSequence & 0xFF), UInt8(n >> 8), UInt8(n & 0xFF)]
    let first = arrivalsUs.compactMap { $0 }.first ?? 0
    let ref = UInt32(first / 64_000)
    body += [UInt8((ref >> 16) & 0xFF), UInt8((ref >> 8) & 0xFF), UInt8(ref & 0xFF), feedbackCount]
    var i = 0
    while i < n {
      var chunk: UInt16 = 0xC000  // status vector, two-bit symbols
      for k in 0..<7 where i + k < n {
        let symbol: UInt16 = arrivalsUs[i + k] == nil ? 0 : 2
        chunk |= symbol << UInt16(12 - 2 * k)
      }
      body += [UInt8(chunk >> 8), UInt8(chunk & 0xFF)]
      i += 7
    }
    return feedbackPacket(body, deltasFrom: ref, arrivalsUs.compactMap { $0 })
  }

  static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
}
