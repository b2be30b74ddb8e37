import CRTCam
import Capture
import TestSupport
import Testing

@testable import Encoder

/// A new target bitrate for a running encoder (`H264Encoder.setBitrate`): the rate follows within
/// a second or two, no keyframe comes of it, and OpenH264's target and ceiling are what was asked.
@Suite struct BitrateChangeTests {
  /// Bits per second of access units of `bytes` at 30 fps.
  func bitsPerSecond(_ bytes: ArraySlice<Int>) -> Int { bytes.reduce(0, +) * 8 * 30 / max(bytes.count, 1) }

  /// Encodes `count` frames of busy content (the rate control, not the picture, decides the size),
  /// calling `change` before frame `at`; the sizes and the frames that were IDRs.
  func encodeNoisy(_ enc: H264Encoder, count: Int, at: Int, change: () throws -> Void) throws -> (sizes: [Int], idrs: [Int]) {
    var src = NoisyPattern(width: 640, height: 480, fps: 30, clock: FakeTime().clock)
    var out: [UInt8] = []
    var sizes: [Int] = []
    var idrs: [Int] = []
    for i in 0..<count {
      if i == at { try change() }
      let e = try #require(try enc.encode(try src.nextFrame(), into: &out), "frame \(i)")
      sizes.append(e.length)
      if e.isKeyframe { idrs.append(i) }
    }
    return (sizes, idrs)
  }

  @Test func aLowerTargetHoldsWithinTwoSecondsWithoutAKeyframe() throws {
    let enc = try H264Encoder(EncoderSettings(bitrate: 1_000_000))
    let (sizes, idrs) = try encodeNoisy(enc, count: 150, at: 60) { try enc.setBitrate(200_000) }
    #expect(idrs == [0], "the change made no IDR")
    #expect(enc.bitrate == 200_000)
    let before = bitsPerSecond(sizes[30..<60])
    #expect(before > 700_000 && before < 1_300_000, "1 Mbit/s before: \(before)")
    // the second second after the change
    let after = bitsPerSecond(sizes[90..<120])
    #expect(after > 140_000 && after < 260_000, "200 kbit/s 1-2 s after the change: \(after)")
    let later = bitsPerSecond(sizes[120..<150])
    #expect(later > 140_000 && later < 260_000, "200 kbit/s 2-3 s after the change: \(later)")
  }

  @Test func aHigherTargetHoldsWithinTwoSecondsWithoutAKeyframe() throws {
    let enc = try H264Encoder(EncoderSettings(bitrate: 200_000))
    let (sizes, idrs) = try encodeNoisy(enc, count: 150, at: 60) { try enc.setBitrate(1_000_000) }
    #expect(idrs == [0])
    let after = bitsPerSecond(sizes[90..<120])
    #expect(after > 700_000 && after < 1_300_000, "1 Mbit/s 1-2 s after the change: \(after)")
  }

  /// The QP ceiling reaches the rate control: OpenH264 keeps `maxQp` only when the lowest QP is
  /// set too, and otherwise quietly uses 42 (encoder_ext.cpp ParamValidation), which the camera
  /// clip cannot hold 150 kbit/s under (EncoderSettings.maxQp says what was measured).
  @Test func theQpCeilingReachesTheRateControl() throws {
    for ceiling in [EncoderSettings().maxQp, EncoderSettings.qpRange.upperBound] {
      var settings = EncoderSettings(bitrate: 150_000)
      settings.maxQp = ceiling
      let enc = try H264Encoder(settings)
      var held = SEncParamExt()
      let rc = enc.handle.pointee?.pointee.GetOption?(enc.handle, ENCODER_OPTION_SVC_ENCODE_PARAM_EXT, &held)
      #expect(rc == 0)
      #expect(held.iMaxQp == Int32(ceiling), "asked \(ceiling)")
      #expect(held.iMinQp == Int32(EncoderSettings.qpRange.lowerBound))
    }
    #expect(EncoderSettings().maxQp > 42, "above OpenH264's default ceiling")
  }

  /// What OpenH264 holds after each change (GetOption): the target for all layers, and the
  /// layer's ceiling the rate control reads, at the settings' ratio. A raise and a cut in either
  /// order: OpenH264 refuses a target above the layer's ceiling, so the order of the two calls
  /// matters, and a wrong one would throw here.
  @Test func targetAndCeilingReachTheRateControl() throws {
    let enc = try H264Encoder(EncoderSettings(bitrate: 800_000))
    func option(_ id: ENCODER_OPTION, _ layer: LAYER_NUM) -> Int {
      var info = SBitrateInfo(iLayer: layer, iBitrate: 0)
      _ = enc.handle.pointee?.pointee.GetOption?(enc.handle, id, &info)
      return Int(info.iBitrate)
    }
    #expect(option(ENCODER_OPTION_MAX_BITRATE, SPATIAL_LAYER_0) == 1_200_000)
    for target in [200_000, 3_000_000, 150_000, 14_000_000, 10_000, 800_000] {
      try enc.setBitrate(target)
      #expect(enc.bitrate == target)
      #expect(option(ENCODER_OPTION_BITRATE, SPATIAL_LAYER_ALL) == target)
      #expect(option(ENCODER_OPTION_MAX_BITRATE, SPATIAL_LAYER_0) == enc.settings.maxBitrate(forTarget: target), "\(target)")
    }
  }

  @Test func targetsOutsideTheRangeAreRefusedAndChangeNothing() throws {
    let enc = try H264Encoder(EncoderSettings(bitrate: 500_000))
    for bad in [0, 9_999, 14_000_001, -1] {
      #expect(throws: EncoderError.self) { try enc.setBitrate(bad) }
    }
    #expect(enc.bitrate == 500_000)
    do {
      try enc.setBitrate(5)
      Issue.record("5 bit/s accepted")
    } catch {
      #expect(error.code == "ENCODER_BAD_SETTINGS" && error.message.contains("10000"))
    }
  }

  @Test func theCeilingKeepsTheSettingsRatio() {
    let plain = EncoderSettings(bitrate: 800_000)  // ceiling 1.5 x
    #expect(plain.maxBitrate(forTarget: 200_000) == 300_000)
    #expect(plain.maxBitrate(forTarget: 10_000_000) == 14_000_000, "within level 3.1")
    var wide = EncoderSettings(bitrate: 1_000_000)
    wide.maxBitrate = 3_000_000
    #expect(wide.maxBitrate(forTarget: 150_000) == 450_000)
    #expect(wide.maxBitrate(forTarget: 4_000_000) == 12_000_000)
    // 64-bit arithmetic: 14M x 14M overflows a 32-bit Int
    var flat = EncoderSettings(bitrate: 14_000_000)
    flat.maxBitrate = 14_000_000
    #expect(flat.maxBitrate(forTarget: 14_000_000) == 14_000_000)
    #expect(flat.maxBitrate(forTarget: 10_000) == 10_000, "never below the target")
  }
}
