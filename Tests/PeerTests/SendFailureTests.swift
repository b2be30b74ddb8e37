import Capture
import Peer
import RTP
import Testing
import TestSupport
import Wire

/// A frame that cannot be sent whole to a viewer: nothing after the failed packet goes out, the
/// frame is not counted as sent, the failure is counted (`sendFailures`, shown in /status), and
/// the viewer waits for a keyframe, which it asks for.
@Suite struct SendFailureTests {
  @Test func aFrameWithAPacketThatDoesNotFitIsNotCountedAsSent() throws {
    let sc = try Scenario()
    let feed = try FrameFeed(clock: { sc.now })
    try sc.connect()
    _ = sc.takeEvents()
    sc.now += 33 * Time.ms
    let first = try feed.next()
    sc.sendFrame(first.au, captureNs: first.captureNs, isKeyframe: true)
    #expect(sc.peer.stats.framesSent == 1 && sc.peer.stats.sendFailures == 0)
    let headerLength = sc.video.playoutDelayExtensionID == nil ? 12 : 20

    // payloads cut for a larger MTU than the viewer's: the second packet does not fit its buffer
    let wide = PacketizedFrame(maxPayload: sc.config.mtu - headerLength + 8, byteCapacity: 1 << 16, packetCapacity: 64)
    var packetizer = H264Packetizer()
    wide.reset(captureTimeNs: sc.now, isKeyframe: false)
    let small = [UInt8](repeating: 0x41, count: 100)
    let large = [0x41] + [UInt8](repeating: 0x9A, count: sc.config.mtu - headerLength + 4)
    let au: [UInt8] = [0, 0, 0, 1] + small + [0, 0, 0, 1] + large + [0, 0, 0, 1] + small
    au.withUnsafeBytes { packetizer.packetize(accessUnit: $0, into: wide) }
    #expect(wide.count == 3)
    let sentBefore = sc.rtpSent().count
    #expect(sc.peer.beginFrame(wide, now: sc.now))
    #expect(sc.peer.mediaPacket(wide, 0) != nil)
    #expect(sc.peer.mediaPacket(wide, 1) == nil, "does not fit")
    #expect(sc.peer.mediaPacket(wide, 2) == nil, "the rest of the frame is skipped")
    sc.peer.endFrame(wide, now: sc.now)
    sc.collect()
    #expect(sc.peer.stats.framesSent == 1, "the broken frame is not counted")
    #expect(sc.peer.stats.sendFailures == 1)
    #expect(sc.takeEvents() == [.keyframeNeeded(.sendFailed)])
    _ = sentBefore

    // inter frames wait for the keyframe the viewer now needs
    sc.now += 33 * Time.ms
    let inter = try feed.next()
    #expect(!inter.isKeyframe)
    let before = sc.rtpSent().count
    sc.sendFrame(inter.au, captureNs: inter.captureNs, isKeyframe: false)
    #expect(sc.rtpSent().count == before)
    feed.requestKeyframe()
    sc.now += 33 * Time.ms
    let key = try feed.next()
    sc.sendFrame(key.au, captureNs: key.captureNs, isKeyframe: true)
    #expect(sc.rtpSent().count > before && sc.peer.stats.framesSent == 2)
  }
}
