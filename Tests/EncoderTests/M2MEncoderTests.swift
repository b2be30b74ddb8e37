import AllocCounter
import CRTCam
import Capture
import TestSupport
import Testing
import Wire

@testable import Encoder

/// The memory-to-memory encoder at run time, against a scripted device (FakeM2MDevice): the
/// queue cycle, forced keyframes, the SPS rewrite, bitrate changes, draining, the faults, and
/// the switch to OpenH264 when the hardware fails mid-stream.
@Suite struct M2MEncoderTests {
  static func frames(_ n: Int, width: Int = 640, height: Int = 480) throws -> (TestPattern, FakeTime) {
    let t = FakeTime()
    return (TestPattern(width: width, height: height, fps: 30, clock: t.clock), t)
  }

  static func encode(_ enc: M2MEncoder<FakeM2MDevice>, _ frame: FrameView, key: Bool = false, into out: inout [UInt8])
    throws(EncoderError) -> EncodeOutcome
  {
    var result: Result<EncodeOutcome, EncoderError> = .success(.skipped)
    out.withUnsafeMutableBytes { b in
      do throws(EncoderError) { result = .success(try enc.encode(frame, forceKeyframe: key, into: b)) } catch {
        result = .failure(error)
      }
    }
    return try result.get()
  }

  /// The H.264 controls a Pi's encoder is given, by V4L2 id and value (linux/v4l2-controls.h).
  @Test func thePiGetsTheseControlIdsAndValues() throws {
    let dev = FakeM2MDevice()
    _ = try M2MEncoder(device: dev, settings: EncoderSettings(bitrate: 800_000), codec: .h264)
    let sent = dev.controls.map { $0.v4l2 }
    let expected: [(UInt32, Int32)] = [
      (0x0099_0A6B, 1),  // H264_PROFILE = CONSTRAINED_BASELINE
      (0x0099_0A67, 9),  // H264_LEVEL = 3.1
      (0x0099_09CE, 1),  // BITRATE_MODE = CBR
      (0x0099_09CF, 800_000),  // BITRATE
      (0x0099_0A66, 65_535),  // H264_I_PERIOD
      (0x0099_09E2, 1),  // REPEAT_SEQ_HEADER
      (0x0099_0A61, 12),  // H264_MIN_QP
      (0x0099_0A62, 46),  // H264_MAX_QP
    ]
    #expect(sent.count == expected.count)
    for (a, b) in zip(sent, expected) { #expect(a.0 == b.0 && a.1 == b.1, "control 0x\(String(a.0, radix: 16)) = \(a.1)") }
  }

  @Test func framesGoInAndComeOutWithTheSpsRewrittenToWhatRtcamSignals() throws {
    let dev = FakeM2MDevice()
    let enc = try M2MEncoder(device: dev, settings: EncoderSettings(), codec: .h264)
    var (src, _) = try Self.frames(30)
    var out = [UInt8](repeating: 0, count: 64 * 1024)
    var keys: [Int] = []
    for i in 0..<30 {
      let outcome = try Self.encode(enc, try src.nextFrame(), key: i == 20, into: &out)
      guard case .encoded(let e) = outcome else {
        Issue.record("frame \(i): \(outcome)")
        continue
      }
      if e.isKeyframe {
        keys.append(i)
        let nals = splitAnnexB(Array(out[0..<e.length]))
        #expect(nals.map { $0.type } == [7, 8, 5])
        #expect(Array(nals[0].bytes[1...3]) == [0x42, 0xE0, 0x1F], "SPS says 42e01f")
      }
    }
    #expect(keys == [0, 20], "the first frame, and the forced one")
    #expect(enc.framesIn == 30 && enc.framesOut == 30)
    #expect(dev.controls.filter { $0 == .forceKeyFrame }.count == 1)
  }

  /// Some drivers hand out SPS and PPS in a buffer of their own: they are joined to the picture.
  @Test func headersInABufferOfTheirOwnJoinThePicture() throws {
    let dev = FakeM2MDevice()
    dev.separateHeaders = true
    let enc = try M2MEncoder(device: dev, settings: EncoderSettings(), codec: .h264)
    var (src, _) = try Self.frames(2)
    var out = [UInt8](repeating: 0, count: 64 * 1024)
    guard case .encoded(let e) = try Self.encode(enc, try src.nextFrame(), into: &out) else {
      Issue.record("no frame")
      return
    }
    #expect(e.isKeyframe)
    #expect(splitAnnexB(Array(out[0..<e.length])).map { $0.type } == [7, 8, 5])
  }

  @Test func aNewBitrateIsAControlOnTheRunningEncoder() throws {
    let dev = FakeM2MDevice()
    let enc = try M2MEncoder(device: dev, settings: EncoderSettings(bitrate: 800_000), codec: .h264)
    try enc.setBitrate(300_000)
    #expect(dev.controls.last == .bitrate(300_000) && enc.bitrate == 300_000)
  }

  @Test func drainingGivesBackEveryFrameThenTheEncoderRunsAgain() throws {
    let dev = FakeM2MDevice()
    let enc = try M2MEncoder(device: dev, settings: EncoderSettings(), codec: .h264)
    var (src, _) = try Self.frames(10)
    var out = [UInt8](repeating: 0, count: 64 * 1024)
    for _ in 0..<5 { _ = try Self.encode(enc, try src.nextFrame(), into: &out) }
    #expect(try enc.drain() == 0, "one frame in flight at a time: nothing left over")
    try enc.restart()
    let outcome = try Self.encode(enc, try src.nextFrame(), into: &out)
    guard case .encoded = outcome else {
      Issue.record("after the restart: \(outcome)")
      return
    }
    #expect(enc.framesOut == 6)
  }

  @Test func aStuckEncoderTimesOutAndAVanishedOneIsLost() throws {
    var out = [UInt8](repeating: 0, count: 64 * 1024)
    for (failure, code) in [(FakeM2MDevice.Failure.stall, "ENCODER_TIMEOUT"), (.vanish, "ENCODER_LOST")] {
      let dev = FakeM2MDevice()
      dev.failAfter = 3
      dev.failure = failure
      let enc = try M2MEncoder(device: dev, settings: EncoderSettings(), codec: .h264)
      var (src, _) = try Self.frames(5)
      for _ in 0..<3 { _ = try Self.encode(enc, try src.nextFrame(), into: &out) }
      let frame = try src.nextFrame()
      do throws(EncoderError) {
        _ = try Self.encode(enc, frame, into: &out)
        Issue.record("\(failure): the frame after the fault came out")
      } catch {
        #expect(error.code == code)
      }
    }
  }

  static func setupError(_ dev: FakeM2MDevice) -> EncoderError? {
    do throws(EncoderError) {
      _ = try M2MEncoder(device: dev, settings: EncoderSettings(), codec: .h264)
      return nil
    } catch {
      return error
    }
  }

  @Test func setupRefusalsCarryTheirCodes() {
    let fwht = FakeM2MDevice()
    fwht.answerCodedFormat = M2MCodec.fwht.fourcc
    #expect(Self.setupError(fwht) == .m2m(.setup(.codedFormatRefused(.h264, answered: M2MCodec.fwht.fourcc)), path: "/dev/video11"))
    #expect(Self.setupError(fwht)?.code == "ENCODER_FORMAT_REFUSED")
    let busy = FakeM2MDevice()
    busy.refuse = { if case .requestBuffers = $0 { return EBUSY } else { return nil } }
    #expect(Self.setupError(busy) == .m2m(.busy, path: "/dev/video11"))
    let noHeaders = FakeM2MDevice()
    noHeaders.refuse = { $0 == .setControl(.repeatSequenceHeader) ? EINVAL : nil }
    #expect(Self.setupError(noHeaders)?.code == "ENCODER_CONTROL_REFUSED")
  }

  /// The hardware encoder fails mid-stream (stuck, then gone): the very frame it failed on comes
  /// out of OpenH264 as a keyframe, every frame after it too, and the hardware one is tried again
  /// once the retry time has come (its first frame a keyframe again).
  @Test func aMidStreamFailureHandsTheSameFrameToOpenH264AsAKeyframe() throws {
    for failure in [FakeM2MDevice.Failure.stall, .vanish] {
      var opened: [FakeM2MDevice] = []
      let sw = EncoderSwitch(choice: EncoderChoice(request: .auto, found: ("/dev/video11", "found"))) {
        (path: String) throws(EncoderError) -> FakeM2MDevice in
        let d = FakeM2MDevice(path: path)
        if opened.isEmpty {
          d.failAfter = 10
          d.failure = failure
        }
        opened.append(d)
        return d
      }
      var now: UInt64 = 1_000_000_000
      try sw.prepare(EncoderSettings(), now: now)
      #expect(sw.isHardware && sw.choice.running == "v4l2m2m")
      var (src, _) = try Self.frames(60)
      let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
      defer { out.deallocate() }
      var log: [(hardware: Bool, key: Bool)] = []
      for _ in 0..<60 {
        let frame = try src.nextFrame()
        now += 33_333_333
        let outcome = try sw.encode(frame, forceKeyframe: false, into: out, now: now)
        guard case .encoded(let e) = outcome else {
          Issue.record("\(failure): a frame did not come out: \(outcome)")
          continue
        }
        log.append((sw.isHardware, e.isKeyframe))
        if log.count == 11 {
          // the retry comes after the backoff; jump there
          now += EncoderChoice.firstRetryNs
        }
      }
      #expect(log.count == 60, "\(failure): every frame came out")
      #expect(log[0...9].allSatisfy { $0.hardware } && log[0].key)
      #expect(!log[10].hardware && log[10].key, "\(failure): the failed frame is OpenH264's keyframe")
      #expect(sw.choice.fallbacks == 1)
      #expect(log[11].hardware && log[11].key, "\(failure): the hardware encoder back, with a keyframe")
      #expect(opened.count == 2)
      #expect(sw.choice.faultCode == nil && sw.choice.running == "v4l2m2m")
    }
  }

  /// A hardware encoder that refuses a new bitrate hands over to OpenH264 at that rate, and is
  /// tried again a retry period after that moment.
  @Test func aRefusedBitrateHandsOverToOpenH264() throws {
    let sw = EncoderSwitch(choice: EncoderChoice(request: .auto, found: ("/dev/video11", "found"))) {
      (path: String) throws(EncoderError) -> FakeM2MDevice in
      let d = FakeM2MDevice(path: path)
      d.refuseNewBitrate = EINVAL
      return d
    }
    let t: UInt64 = 5_000_000_000
    try sw.prepare(EncoderSettings(bitrate: 800_000), now: t)
    #expect(sw.isHardware)
    try sw.setBitrate(300_000, now: t)
    #expect(!sw.isHardware && sw.bitrate == 300_000)
    #expect(sw.choice.state == .fallback(path: "/dev/video11", code: "ENCODER_ERROR",
      message: "hardware encoder /dev/video11: VIDIOC_S_CTRL (bitrate) failed (errno 22)", retryAt: t + EncoderChoice.firstRetryNs))
  }

  @Test func theFaultShowsInTheChoiceAndTheRetryBacksOff() {
    var c = EncoderChoice(request: .v4l2m2m("/dev/video11"), found: (nil, ""))
    #expect(c.hardwarePath(now: 0) == "/dev/video11")
    c.failed(path: "/dev/video11", code: "ENCODER_TIMEOUT", message: "no coded frame", now: 100)
    #expect(c.running == "openh264" && c.faultCode == "ENCODER_TIMEOUT" && c.fallbacks == 1)
    #expect(c.hardwarePath(now: 100 + EncoderChoice.firstRetryNs - 1) == nil)
    #expect(c.hardwarePath(now: 100 + EncoderChoice.firstRetryNs) == "/dev/video11")
    c.failed(path: "/dev/video11", code: "ENCODER_BUSY", message: "busy", now: 200)
    #expect(c.hardwarePath(now: 200 + EncoderChoice.firstRetryNs) == nil, "the second fault in a row waits twice as long")
    #expect(c.hardwarePath(now: 200 + 2 * EncoderChoice.firstRetryNs) == "/dev/video11")
    #expect(c.fallbacks == 1, "a failed retry is no new fallback")
    #expect(EncoderChoice(request: .openh264, found: ("/dev/video11", "")).hardwarePath(now: 0) == nil)
    #expect(EncoderChoice(request: .auto, found: (nil, "none")).reason == "none")
    #expect(EncoderRequest.parse("v4l2m2m:/dev/video11") == .v4l2m2m("/dev/video11"))
    #expect(EncoderRequest.parse("v4l2m2m:video11") == nil && EncoderRequest.parse("x264") == nil)
  }

  /// Nothing is allocated per frame on the hardware path (after the first frames).
  @Test func theHardwarePathAllocatesNothingPerFrame() throws {
    let dev = FakeM2MDevice()
    let enc = try M2MEncoder(device: dev, settings: EncoderSettings(), codec: .h264)
    var (src, _) = try Self.frames(60)
    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    defer { out.deallocate() }
    for i in 0..<10 { _ = try enc.encode(try src.nextFrame(), forceKeyframe: i == 5, into: out) }
    var counts: [Int] = []
    counts.reserveCapacity(50)
    for i in 0..<50 {
      let frame = try src.nextFrame()
      alloc_counter_begin()
      _ = try enc.encode(frame, forceKeyframe: i % 10 == 0, into: out)
      try enc.setBitrate(i % 2 == 0 ? 500_000 : 600_000)
      counts.append(alloc_counter_end())
    }
    #expect(counts.allSatisfy { $0 == 0 }, "allocations per frame: \(counts)")
  }
}
