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
/// STUN and H.264 depacketizer, under a fake clock. Hostile input: garbage datagrams never trap, start a session or change a connected one.
@Suite struct HostileInputTests {
  static let ms = Time.ms
  static let s = Time.s

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
