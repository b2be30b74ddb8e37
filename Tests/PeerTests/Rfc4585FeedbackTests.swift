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
/// STUN and H.264 depacketizer, under a fake clock. RTCP (RFC 3550, RFC 4585, RFC 5104): PLI, FIR and receiver reports from the viewer, sender
/// reports to it.
@Suite struct Rfc4585FeedbackTests {
  static let ms = Time.ms
  static let s = Time.s

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
}
