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
/// STUN and H.264 depacketizer, under a fake clock. Liveness and endings (RFC 7675 consent, ICE timeout, hang-up, a new nominated address).
@Suite struct Rfc7675ConsentTests {
  static let ms = Time.ms
  static let s = Time.s

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
}
