import AllocCounter
import Capture
import Encoder
import TestSupport
import Testing

@testable import App

/// The encoder's target bitrate as the core sets it (any thread) and the capture thread applies
/// it before its next encode (`EncodePolicy.setTargetBitrate`, `targetChange(from:)`).
@Suite struct EncodeTargetTests {
  @Test func noTargetUntilOneIsSetThenOnlyChangesAreApplied() {
    let p = EncodePolicy()
    #expect(p.targetBitrate == nil && p.targetChange(from: 800_000) == nil)
    p.setTargetBitrate(300_000)
    #expect(p.targetBitrate == 300_000)
    #expect(p.targetChange(from: 800_000) == 300_000)
    // once the encoder works to it there is nothing to apply
    #expect(p.targetChange(from: 300_000) == nil)
    p.setTargetBitrate(450_000)
    p.setTargetBitrate(250_000)
    #expect(p.targetChange(from: 300_000) == 250_000, "the newest value wins")
    // a target does not touch the keyframe debt
    _ = p.frame(viewers: 1)
    p.produced(keyframe: true)
    p.setTargetBitrate(1_000_000)
    #expect(!p.keyframeOwed)
  }

  @Test func targetsAreKeptWithinWhatTheEncoderTakes() {
    let p = EncodePolicy()
    p.setTargetBitrate(0)
    #expect(p.targetBitrate == EncoderSettings.bitrateRange.lowerBound)
    p.setTargetBitrate(-5)
    #expect(p.targetBitrate == EncoderSettings.bitrateRange.lowerBound)
    p.setTargetBitrate(Int.max)
    #expect(p.targetBitrate == EncoderSettings.bitrateRange.upperBound)
  }

  @Test func targetsFromOtherThreadsArriveWhole() async {
    let p = EncodePolicy()
    await withTaskGroup(of: Void.self) { g in
      for k in 1...8 { g.addTask { for i in 0..<500 { p.setTargetBitrate(k * 100_000 + i) } } }
    }
    let t = p.targetBitrate ?? 0
    #expect((1...8).contains { k in (k * 100_000..<(k * 100_000 + 500)).contains(t) }, "\(t)")
  }

  /// The capture thread's per-frame step with a new target: taking it from the policy, handing it
  /// to OpenH264 and encoding allocate nothing (the capture path is allocation-free).
  @Test func applyingATargetBeforeAnEncodeAllocatesNothing() throws {
    let p = EncodePolicy()
    let enc = try H264Encoder(EncoderSettings(width: 320, height: 240, bitrate: 600_000))
    var src = TestPattern(width: 320, height: 240, fps: 30, clock: FakeTime().clock)
    var out: [UInt8] = []
    out.reserveCapacity(1 << 20)
    for _ in 0..<10 { _ = try enc.encode(try src.nextFrame(), into: &out) }
    for target in [400_000, 200_000, 1_000_000, 1_000_000, 150_000] {
      p.setTargetBitrate(target)
      let frame = try src.nextFrame()
      alloc_counter_begin()
      if let t = p.targetChange(from: enc.bitrate) { try enc.setBitrate(t) }
      let e = try enc.encode(frame, into: &out)
      let n = alloc_counter_end()
      #expect(n == 0, "allocations for a target change and an encode")
      #expect(e != nil && enc.bitrate == target)
    }
  }

  /// The frame ring's temporal layer reaches the packetized frame every receiver reads.
  @Test func theCoreKeepsAFramesTemporalLayer() throws {
    let h = try makeCore()
    let au: [UInt8] = [0, 0, 0, 1, 0x01, 0x9A, 0x02, 0x03]
    au.withUnsafeBytes { h.core.handleFrame($0, captureTimeNs: 5, isKeyframe: false, temporalLayer: 2, now: 2_000) }
    #expect(h.core.frame.temporalLayer == 2 && h.core.frame.count == 1)
    au.withUnsafeBytes { h.core.handleFrame($0, captureTimeNs: 6, isKeyframe: false, now: 2_100) }
    #expect(h.core.frame.temporalLayer == 0)
  }
}
