import Testing
import TestSupport
@testable import RTP

/// What a packetized frame keeps of its access unit besides the payloads: the capture time, the
/// keyframe flag and the encoder's temporal layer, which the receivers' layer choice reads.
@Suite struct PacketizedFrameTests {
  @Test func resetKeepsTheTemporalLayerUntilTheNextReset() {
    let frame = PacketizedFrame(maxPayload: 1100, byteCapacity: 8192, packetCapacity: 16)
    #expect(frame.temporalLayer == 0)
    frame.reset(captureTimeNs: 7, isKeyframe: false, temporalLayer: 2)
    var packetizer = H264Packetizer()
    let au: [UInt8] = [0, 0, 0, 1, 0x01, 0x9A, 0x02, 0x03]  // one non-reference P slice
    au.withUnsafeBytes { packetizer.packetize(accessUnit: $0, into: frame) }
    #expect(frame.count == 1 && frame.temporalLayer == 2 && frame.captureTimeNs == 7 && !frame.isKeyframe)
    // a caller that knows no layers (the default) gets layer 0, not the previous frame's
    frame.reset(captureTimeNs: 8, isKeyframe: true)
    #expect(frame.temporalLayer == 0 && frame.count == 0 && frame.isKeyframe)
    frame.reset(captureTimeNs: 9, isKeyframe: false, temporalLayer: 1)
    #expect(frame.temporalLayer == 1)
  }
}
