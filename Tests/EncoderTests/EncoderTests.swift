import TestSupport
import CRTCam
import Capture
import Testing
import Wire
@testable import Encoder

@Suite struct EncoderTests {
  /// Encodes `count` paced test-pattern frames (fake clock: exact 1/fps spacing).
  func encodeFrames(
    _ enc: H264Encoder, count: Int, fps: Int = 30, width: Int = 640, height: Int = 480,
    force: (Int) -> Bool = { _ in false }, each: (Int, EncodedFrame?, [UInt8]) -> Void
  ) throws {
    let t = FakeTime()
    var src = TestPattern(width: width, height: height, fps: fps, clock: t.clock)
    var out: [UInt8] = []
    out.reserveCapacity(256 * 1024)
    for i in 0..<count {
      let f = try src.nextFrame()
      let e = try enc.encode(f, forceKeyframe: force(i), into: &out)
      each(i, e, out)
    }
  }

  @Test func firstFrameIsIDRWithConstrainedBaselineSPS() throws {
    let enc = try H264Encoder(EncoderSettings())
    var first: [UInt8] = []
    var types: [[UInt8]] = []
    try encodeFrames(enc, count: 5) { i, e, out in
      if i == 0 {
        #expect(e?.isKeyframe == true)
        first = out
      } else {
        #expect(e?.isKeyframe == false)
      }
      #expect(e?.length == out.count)
      types.append(splitAnnexB(out).map(\.type))
    }
    // Annex-B with a start code at the very beginning
    #expect(Array(first.prefix(4)) == [0, 0, 0, 1])
    // SPS, PPS, then the IDR slice (one slice)
    #expect(types[0] == [7, 8, 5])
    for t in types.dropFirst() { #expect(t == [1]) }
    let sps = try #require(splitAnnexB(first).first)
    #expect(sps.bytes[0] == 0x67)
    #expect(sps.bytes[1] == 66)  // profile_idc baseline
    #expect(sps.bytes[2] & 0x40 != 0)  // constraint_set1_flag: constrained baseline
    #expect(sps.bytes[3] == 31)  // level 3.1
    // profile-level-id as signalled in SDP
    #expect(Array(sps.bytes[1...3]) == [0x42, 0xE0, 0x1F])
    #expect(Array(sps.bytes[1...3]) == H264ProfileLevel.sent.bytes)
  }

  /// Every SPS the encoder emits (first frame, forced, on the intra period, at other sizes)
  /// carries `H264ProfileLevel.sent`, and the rest of it still parses to the configured picture:
  /// rewriting the three bytes changed nothing else. constraint_set2 (Extended profile) is only
  /// honest if the stream also meets Extended's SPS rules: frame_mbs_only and
  /// direct_8x8_inference set, checked here too.
  @Test(arguments: [(640, 480, 0), (320, 240, 12), (1280, 720, 0), (176, 144, 4)])
  func everySpsCarriesTheSignalledProfileLevel(size: (Int, Int, Int)) throws {
    var settings = EncoderSettings(width: size.0, height: size.1, fps: 30)
    settings.intraPeriodFrames = size.2
    let enc = try H264Encoder(settings)
    var spsCount = 0
    try encodeFrames(
      enc, count: 24, width: size.0, height: size.1,
      force: { i in i % 7 == 3 },
      each: { _, _, out in
        for nal in splitAnnexB(out) where nal.type == 7 {
          spsCount += 1
          #expect(Array(nal.bytes[1...3]) == H264ProfileLevel.sent.bytes)
          guard let p = try? ParsedSps(nal.bytes) else {
            Issue.record("SPS does not parse")
            continue
          }
          #expect(p.profileIdc == 66 && p.constraintFlags == 0xE0 && p.levelIdc == 31)
          #expect(p.width == size.0 && p.height == size.1)
          #expect(p.frameMbsOnly && p.direct8x8Inference)
        }
      })
    #expect(spsCount >= 4)
  }

  @Test func conformSpsLeavesOtherNalUnitsAlone() {
    func conformed(_ nal: [UInt8]) -> [UInt8] {
      var b = nal
      b.withUnsafeMutableBytes { conformSps($0) }
      return b
    }
    // a PPS (type 8), a 3-byte start code SPS, a truncated SPS, no start code, nothing
    let pps: [UInt8] = [0, 0, 0, 1, 0x68, 0xCE, 0x3C, 0x80, 0x11]
    #expect(conformed(pps) == pps)
    #expect(conformed([0, 0, 1, 0x67, 0x42, 0xC0, 0x1F, 0x95]) == [0, 0, 1, 0x67, 0x42, 0xE0, 0x1F, 0x95])
    #expect(conformed([0, 0, 0, 1, 0x67, 0x42, 0xC0]) == [0, 0, 0, 1, 0x67, 0x42, 0xC0])
    #expect(conformed([0, 1, 0x67, 0x42, 0xC0, 0x1F, 0x95]) == [0, 1, 0x67, 0x42, 0xC0, 0x1F, 0x95])
    #expect(conformed([0, 0, 0, 0]) == [0, 0, 0, 0])
    #expect(conformed([]) == [])
  }

  @Test func forcedFramesAreIDRsAndOnlyThey() throws {
    let enc = try H264Encoder(EncoderSettings())
    var keyframes: [Int] = []
    var idrTypes: [[UInt8]] = []
    var produced = 0
    try encodeFrames(
      enc, count: 40, force: { i in i == 10 || i == 25 || i == 26 },
      each: { i, e, out in
        if e != nil { produced += 1 }
        if e?.isKeyframe == true {
          keyframes.append(i)
          idrTypes.append(splitAnnexB(out).map(\.type))
        }
      })
    // forcing is per frame: the encoder keeps no request of its own (EncodePolicy does)
    #expect(keyframes == [0, 10, 25, 26])
    for t in idrTypes { #expect(t == [7, 8, 5]) }
    #expect(produced == 40)
  }

  @Test func intraPeriodInsertsIDRs() throws {
    // a whole number of temporal groups (4 frames with the default 3 layers)
    var settings = EncoderSettings()
    settings.intraPeriodFrames = 16
    let enc = try H264Encoder(settings)
    var keyframes: [Int] = []
    try encodeFrames(enc, count: 33) { i, e, _ in if e?.isKeyframe == true { keyframes.append(i) } }
    #expect(keyframes == [0, 16, 32])
    var single = EncoderSettings(temporalLayers: 1)
    single.intraPeriodFrames = 15
    let one = try H264Encoder(single)
    keyframes = []
    try encodeFrames(one, count: 31) { i, e, _ in if e?.isKeyframe == true { keyframes.append(i) } }
    #expect(keyframes == [0, 15, 30])
  }

  @Test func averageBitrateFollowsTheTargetOnBusyContent() throws {
    for target in [400_000, 800_000, 1_500_000] {
      let enc = try H264Encoder(EncoderSettings(bitrate: target))
      let t = FakeTime()
      var src = NoisyPattern(width: 640, height: 480, fps: 30, clock: t.clock)
      var out: [UInt8] = []
      var total = 0
      var produced = 0
      var all = 0
      // 90 frames = 3 s; judge the last 60 (the first second settles the rate control)
      for i in 0..<90 {
        let e = try enc.encode(try src.nextFrame(), into: &out)
        if e != nil { all += 1 }
        if i >= 30, let e {
          total += e.length
          produced += 1
        }
      }
      let bps = total * 8 * 30 / 60
      #expect(bps > target * 7 / 10 && bps < target * 13 / 10, "target \(target): \(bps) bit/s")
      #expect(produced == 60 && all == 90, "frame skipping is off by default")
    }
  }

  @Test func plainPatternStaysBelowTheTarget() throws {
    // the plain pattern is simple: it needs less than the target, but never much more
    for target in [200_000, 400_000, 800_000] {
      let enc = try H264Encoder(EncoderSettings(bitrate: target))
      var total = 0
      try encodeFrames(enc, count: 90) { i, e, _ in if i >= 30, let e { total += e.length } }
      let bps = total * 8 * 30 / 60
      #expect(bps > target / 3 && bps < target * 3 / 2, "target \(target): \(bps) bit/s")
    }
  }

  @Test func frameSkippingWhenAllowed() throws {
    var settings = EncoderSettings(bitrate: 400_000)
    settings.allowFrameSkip = true
    let enc = try H264Encoder(settings)
    let t = FakeTime()
    var src = NoisyPattern(width: 640, height: 480, fps: 30, clock: t.clock)
    var out: [UInt8] = [1, 2, 3]
    var skipped = 0
    var total = 0
    for _ in 0..<60 {
      if let e = try enc.encode(try src.nextFrame(), into: &out) {
        total += e.length
      } else {
        skipped += 1
        #expect(out.isEmpty)
      }
    }
    #expect(skipped > 0)
    #expect(total * 8 / 2 < 400_000 * 13 / 10)
  }

  /// While the rate control is skipping frames, a forced frame still comes out as an IDR (OpenH264
  /// 2.3 never skips one; if it did, `.skipped` would leave the keyframe owed in EncodePolicy and
  /// the next frame would be forced again) and unforced frames are P frames or skipped.
  @Test func forcedFramesAreIDRsEvenWhileTheRateControlSkips() throws {
    var settings = EncoderSettings(bitrate: 200_000)
    settings.allowFrameSkip = true
    let enc = try H264Encoder(settings)
    let t = FakeTime()
    var src = NoisyPattern(width: 640, height: 480, fps: 30, clock: t.clock)
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    var skipped = 0
    for i in 0..<45 {
      let force = i % 3 == 1
      let frame = try src.nextFrame()
      let outcome = try buffer.withUnsafeMutableBytes { try enc.encode(frame, forceKeyframe: force, into: $0) }
      switch outcome {
      case .encoded(let e):
        #expect(e.isKeyframe == (force || i == 0), "frame \(i)")
        #expect(splitAnnexB(Array(buffer[0..<e.length])).map(\.type) == (e.isKeyframe ? [7, 8, 5] : [1]), "frame \(i)")
      case .skipped:
        #expect(!force, "forced frame \(i) was skipped")
        skipped += 1
      case .tooLarge(let n):
        Issue.record("a \(n)-byte access unit does not fit 1 MiB")
      }
    }
    #expect(skipped > 0, "the rate control skipped frames (else this shows nothing)")
  }

  @Test func outputBufferIsReused() throws {
    let enc = try H264Encoder(EncoderSettings())
    var addresses = Set<UInt>()
    var capacities = Set<Int>()
    try encodeFrames(enc, count: 30) { _, _, out in
      _ = out.withUnsafeBufferPointer { addresses.insert(UInt(bitPattern: $0.baseAddress)) }
      capacities.insert(out.capacity)
    }
    #expect(addresses.count == 1)
    #expect(capacities.count == 1)
  }

  @Test func timestampStripSurvivesCompression() throws {
    let enc = try H264Encoder(EncoderSettings())
    let dec = try #require(TestDecoder())
    let t = FakeTime()
    var src = TestPattern(width: 640, height: 480, fps: 30, clock: t.clock)
    var out: [UInt8] = []
    var decoded = 0
    for _ in 0..<60 {
      let f = try src.nextFrame()
      let wallMs = t.real / 1_000_000
      guard let e = try enc.encode(f, into: &out) else { continue }
      let pic = try #require(dec.decode(out), "frame \(f.sequence) did not decode")
      #expect(pic.width == 640 && pic.height == 480)
      let strip = decodeTimestampStrip(luma: pic.luma, width: pic.width, height: pic.height, stride: pic.width)
      #expect(strip?.frame == UInt16(e.sequence), "frame \(e.sequence)")
      #expect(strip?.unixMs == wallMs, "frame \(e.sequence)")
      decoded += 1
    }
    #expect(decoded >= 45)
  }

  @Test func otherSizesAndRates() throws {
    for (w, h, fps) in [(320, 240, 15), (1280, 720, 30), (176, 144, 10), (648, 486, 25)] {
      let enc = try H264Encoder(EncoderSettings(width: w, height: h, fps: fps, bitrate: 600_000))
      let dec = try #require(TestDecoder())
      var sizes: [(Int, Int)] = []
      try encodeFrames(enc, count: 3, fps: fps, width: w, height: h) { _, e, out in
        if e != nil, let pic = dec.decode(out) { sizes.append((pic.width, pic.height)) }
      }
      #expect(!sizes.isEmpty)
      for s in sizes { #expect(s.0 == w && s.1 == h, "\(w)x\(h)") }
    }
  }

  @Test func badSettingsAreErrorsNotCrashes() {
    func error(_ s: EncoderSettings) -> EncoderError? {
      do { _ = try H264Encoder(s); return nil } catch { return error }
    }
    var odd = EncoderSettings()
    odd.width = 641
    #expect(error(odd)?.code == "ENCODER_BAD_SETTINGS")
    #expect(error(odd)?.message.contains("even") == true)
    var oddH = EncoderSettings()
    oddH.height = 479
    #expect(error(oddH)?.code == "ENCODER_BAD_SETTINGS")
    var zeroFps = EncoderSettings()
    zeroFps.fps = 0
    #expect(error(zeroFps)?.code == "ENCODER_BAD_SETTINGS")
    var tiny = EncoderSettings()
    tiny.width = 0
    #expect(error(tiny)?.code == "ENCODER_BAD_SETTINGS")
    var negative = EncoderSettings()
    negative.height = -480
    #expect(error(negative)?.code == "ENCODER_BAD_SETTINGS")
    var fullHD = EncoderSettings()
    fullHD.width = 1920
    fullHD.height = 1080
    #expect(error(fullHD)?.message.contains("level 3.1") == true)
    var fast = EncoderSettings()
    fast.width = 1280
    fast.height = 720
    fast.fps = 60
    #expect(error(fast)?.code == "ENCODER_BAD_SETTINGS")
    var lowRate = EncoderSettings()
    lowRate.bitrate = 0
    #expect(error(lowRate)?.code == "ENCODER_BAD_SETTINGS")
    var period = EncoderSettings()
    period.intraPeriodFrames = -1
    #expect(error(period)?.code == "ENCODER_BAD_SETTINGS")
    // OpenH264 would round it up to a whole temporal group (4 frames with 3 layers) unasked
    var uneven = EncoderSettings()
    uneven.intraPeriodFrames = 30
    #expect(error(uneven)?.message.contains("multiple of 4") == true)
    for layers in [0, 5, -1] {
      #expect(error(EncoderSettings(temporalLayers: layers))?.message.contains("temporalLayers") == true, "\(layers)")
    }
    #expect(error(EncoderSettings()) == nil)
  }

  @Test func mismatchedFrameIsRejected() throws {
    let enc = try H264Encoder(EncoderSettings(width: 320, height: 240))
    var src = TestPattern(width: 640, height: 480, fps: 30, paced: false)
    var out: [UInt8] = []
    let f = try src.nextFrame()
    #expect(throws: EncoderError.self) { _ = try enc.encode(f, into: &out) }
    #expect(out.isEmpty)
  }

  @Test func errorCodesAndMessages() {
    #expect(EncoderError.initFailed(3).code == "ENCODER_INIT_FAILED")
    #expect(EncoderError.encodeFailed(2).code == "ENCODE_FAILED")
    #expect(EncoderError.encodeFailed(2).message.contains("2"))
    #expect(EncoderError.rateChangeFailed(-4).code == "ENCODER_RATE_FAILED")
    #expect(EncoderError.rateChangeFailed(-4).message.contains("-4"))
    #expect(EncoderSettings(bitrate: 800_000).effectiveMaxBitrate == 1_200_000)
  }
}
