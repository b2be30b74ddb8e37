import TestSupport
import Capture
import Testing
@testable import Encoder

@Suite struct PresetTests {
  @Test func namesRoundTrip() {
    #expect(EncoderPreset.allCases.map(\.name) == ["speed", "balanced", "quality"])
    for p in EncoderPreset.allCases { #expect(EncoderPreset(name: p.name) == p) }
    for bad in ["", "fast", "Speed", "BALANCED", " quality", "quality "] { #expect(EncoderPreset(name: bad) == nil, "\(bad)") }
  }

  @Test func defaultIsBalanced() {
    #expect(EncoderPreset.default == .balanced)
    #expect(EncoderSettings().preset == .balanced)
    #expect(EncoderSettings(preset: .speed).preset == .speed)
  }

  @Test func tuningPerPreset() {
    let speed = EncoderPreset.speed.tuning
    #expect(speed.complexity == .low && speed.backgroundDetection && !speed.adaptiveQuantization && !speed.deblocking)
    let balanced = EncoderPreset.balanced.tuning
    #expect(balanced.complexity == .low && !balanced.backgroundDetection && balanced.adaptiveQuantization && balanced.deblocking)
    let quality = EncoderPreset.quality.tuning
    #expect(quality.complexity == .medium && !quality.backgroundDetection && quality.adaptiveQuantization && quality.deblocking)
    // a live stream: one reference frame whatever the preset
    for p in EncoderPreset.allCases { #expect(p.tuning.referenceFrames == 1) }
  }

  /// Every preset: one access unit out for every frame in (no frame of delay), an IDR first and
  /// only P slices after it (no B-frames, no scene-change IDRs), every picture decodes at the
  /// configured size, and the time strip survives.
  @Test(arguments: EncoderPreset.allCases)
  func everyPresetStreamsWithoutDelay(_ preset: EncoderPreset) throws {
    let enc = try H264Encoder(EncoderSettings(preset: preset))
    let dec = try #require(TestDecoder())
    let t = FakeTime()
    var src = NoisyPattern(width: 640, height: 480, fps: 30, clock: t.clock)
    var out: [UInt8] = []
    var decoded = 0
    var stamps = 0
    for i in 0..<45 {
      let frame = try src.nextFrame()
      let e = try #require(try enc.encode(frame, into: &out), "frame \(i) gave no output")
      #expect(e.isKeyframe == (i == 0))
      #expect(e.sequence == frame.sequence)
      let types = splitAnnexB(out).map(\.type)
      #expect(types == (i == 0 ? [7, 8, 5] : [1]), "frame \(i): \(types)")
      if let pic = dec.decode(out) {
        #expect(pic.width == 640 && pic.height == 480)
        decoded += 1
        if decodeTimestampStrip(luma: pic.luma, width: 640, height: 480, stride: 640) != nil { stamps += 1 }
      }
    }
    #expect(decoded == 45, "the decoder returns every picture at once")
    #expect(stamps >= 40, "time strips read back: \(stamps)")
  }
}
