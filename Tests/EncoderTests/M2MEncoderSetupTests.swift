import Capture
import Testing

@testable import Encoder

/// The setup of a V4L2 memory-to-memory encoder (kernel: userspace-api/media/v4l/dev-encoder.rst,
/// "Initialization"), against a scripted device: the exact steps a Pi's bcm2835-codec is given,
/// and what each refusal means.
@Suite struct M2MEncoderSetupTests {
  static let yu12 = FourCC(UInt8(ascii: "Y"), UInt8(ascii: "U"), UInt8(ascii: "1"), UInt8(ascii: "2"))
  static let einval: Int32 = 22
  static let ebusy: Int32 = 16

  /// A device that does what it is asked: formats as asked (rows padded to `stride`), buffers
  /// as many as asked; `refuse` fails the steps it matches with `errno`.
  static func run(_ setup: inout M2MEncoderSetup, stride: Int = 640, refuse: (M2MStep) -> Int32? = { _ in nil })
    -> [M2MStep]
  {
    var seen: [M2MStep] = []
    while let step = setup.nextStep(), seen.count < 100 {
      seen.append(step)
      if let errno = refuse(step) {
        setup.handle(.failed(errno))
        continue
      }
      switch step {
      case .setCodedFormat(let codec, let w, let h, let bytes):
        setup.handle(.format(codec.fourcc, width: w, height: h, bytesPerLine: 0, bufferBytes: bytes))
      case .setRawFormat(let f, let w, let h):
        setup.handle(.format(f, width: w, height: h, bytesPerLine: stride, bufferBytes: stride * h * 3 / 2))
      case .requestBuffers(_, let n): setup.handle(.buffers(n))
      default: setup.handle(.done)
      }
    }
    return seen
  }

  /// What a Pi's encoder is told for 640x480 at 30 fps, 800 kbit/s, keyframes on demand: coded
  /// format first, then the raw one, the rate, the controls that make the stream what rtcam
  /// signals (constrained baseline, level 3.1, SPS and PPS with every IDR), buffers, streaming.
  @Test func theH264StepsAPiIsGiven() {
    var setup = M2MEncoderSetup(settings: EncoderSettings(bitrate: 800_000), codec: .h264, rawFormat: Self.yu12)
    let steps = Self.run(&setup)
    #expect(steps == [
      .setCodedFormat(.h264, width: 640, height: 480, bufferBytes: 460_800),
      .setRawFormat(Self.yu12, width: 640, height: 480),
      .setFrameRate(30),
      .setControl(.h264ConstrainedBaseline),
      .setControl(.h264Level31),
      .setControl(.constantBitrate),
      .setControl(.bitrate(800_000)),
      .setControl(.h264IdrPeriod(65_535)),
      .setControl(.repeatSequenceHeader),
      .setControl(.h264MinQp(12)),
      .setControl(.h264MaxQp(46)),
      .requestBuffers(.output, count: 3),
      .requestBuffers(.capture, count: 3),
      .streamOn(.output),
      .streamOn(.capture),
    ])
    #expect(setup.state == .ready)
    #expect(setup.rawBytesPerLine == 640 && setup.rawBufferBytes == 460_800)
    #expect(setup.refusedControls.isEmpty)
  }

  /// vicodec: the same interface with FWHT and none of H.264's controls; the bitrate it has no
  /// control for is noted as refused, not fatal.
  @Test func fwhtTakesTheSameStepsWithoutH264Controls() {
    var refused = M2MEncoderSetup(settings: EncoderSettings(bitrate: 800_000), codec: .fwht, rawFormat: Self.yu12)
    _ = Self.run(&refused) { $0 == .setControl(.bitrate(800_000)) ? Self.einval : nil }
    #expect(refused.state == .ready && refused.refusedControls.map { $0.0 } == [.bitrate(800_000)])
    var setup = M2MEncoderSetup(settings: EncoderSettings(bitrate: 800_000), codec: .fwht, rawFormat: Self.yu12)
    let steps = Self.run(&setup)
    #expect(steps.first == .setCodedFormat(.fwht, width: 640, height: 480, bufferBytes: 460_800))
    #expect(steps.contains(.setControl(.gopSize(65_535))) && steps.contains(.setControl(.bitrate(800_000))))
    #expect(!steps.contains(.setControl(.h264ConstrainedBaseline)) && !steps.contains(.setControl(.repeatSequenceHeader)))
    #expect(setup.state == .ready)
  }

  /// A driver that pads rows (bcm2835-codec aligns them) is fine: frames are copied with its stride.
  @Test func aPaddedStrideIsKept() {
    var setup = M2MEncoderSetup(settings: EncoderSettings(width: 648, height: 480), codec: .h264, rawFormat: Self.yu12)
    _ = Self.run(&setup, stride: 704)
    #expect(setup.state == .ready && setup.rawBytesPerLine == 704)
  }

  /// Older bcm2835-codec versions have no profile or level control; a QP bound may be refused.
  @Test func optionalControlsRefusedAreNotedAndTheSetupGoesOn() {
    var setup = M2MEncoderSetup(settings: EncoderSettings(), codec: .h264, rawFormat: Self.yu12)
    let optional: [M2MStep] = [.setControl(.h264ConstrainedBaseline), .setControl(.h264Level31), .setControl(.h264MinQp(12))]
    _ = Self.run(&setup) { optional.contains($0) ? Self.einval : nil }
    #expect(setup.state == .ready)
    #expect(setup.refusedControls.map { $0.0 } == [.h264ConstrainedBaseline, .h264Level31, .h264MinQp(12)])
  }

  /// vicodec has no VIDIOC_S_PARM (ENOTTY): the rate is advice, the setup goes on.
  @Test func aDriverWithoutAFrameRateIsFine() {
    var setup = M2MEncoderSetup(settings: EncoderSettings(), codec: .fwht, rawFormat: Self.yu12)
    _ = Self.run(&setup) { $0 == .setFrameRate(30) ? 25 : nil }
    #expect(setup.state == .ready && setup.frameRateRefused == 25)
  }

  @Test func aControlTheStreamNeedsRefusedFailsWithItsCode() {
    var setup = M2MEncoderSetup(settings: EncoderSettings(), codec: .h264, rawFormat: Self.yu12)
    let steps = Self.run(&setup) { $0 == .setControl(.repeatSequenceHeader) ? Self.einval : nil }
    #expect(setup.state == .failed(.controlRefused(.repeatSequenceHeader, errno: Self.einval)))
    #expect(steps.last == .setControl(.repeatSequenceHeader), "nothing after the refusal")
    if case .failed(let e) = setup.state { #expect(e.code == "ENCODER_CONTROL_REFUSED") }
  }

  /// vicodec asked for H.264 answers with the one coded format it has.
  @Test func aDeviceThatAnswersAnotherCodedFormatIsRefused() {
    var setup = M2MEncoderSetup(settings: EncoderSettings(), codec: .h264, rawFormat: Self.yu12)
    setup.handle(.format(M2MCodec.fwht.fourcc, width: 640, height: 480, bytesPerLine: 0, bufferBytes: 460_800))
    #expect(setup.state == .failed(.codedFormatRefused(.h264, answered: M2MCodec.fwht.fourcc)))
    #expect(setup.nextStep() == nil)
    if case .failed(let e) = setup.state { #expect(e.code == "ENCODER_FORMAT_REFUSED") }
  }

  @Test func aChangedRawSizeABusyDeviceAndNoBuffersEachFail() {
    var resized = M2MEncoderSetup(settings: EncoderSettings(), codec: .h264, rawFormat: Self.yu12)
    resized.handle(.format(M2MCodec.h264.fourcc, width: 640, height: 480, bytesPerLine: 0, bufferBytes: 1))
    resized.handle(.format(Self.yu12, width: 640, height: 496, bytesPerLine: 640, bufferBytes: 640 * 496 * 3 / 2))
    #expect(resized.state == .failed(.rawFormatRefused(Self.yu12, width: 640, height: 480)))

    var busy = M2MEncoderSetup(settings: EncoderSettings(), codec: .h264, rawFormat: Self.yu12)
    _ = Self.run(&busy) { $0 == .streamOn(.output) ? Self.ebusy : nil }
    #expect(busy.state == .failed(.stepFailed(.streamOn(.output), errno: Self.ebusy)))

    var none = M2MEncoderSetup(settings: EncoderSettings(), codec: .h264, rawFormat: Self.yu12)
    while let step = none.nextStep() {
      if case .requestBuffers(.capture, _) = step { none.handle(.buffers(0)); break }
      if case .requestBuffers = step { none.handle(.buffers(3)); continue }
      if case .setRawFormat(let f, let w, let h) = step {
        none.handle(.format(f, width: w, height: h, bytesPerLine: w, bufferBytes: w * h * 3 / 2)); continue
      }
      if case .setCodedFormat(let c, let w, let h, _) = step {
        none.handle(.format(c.fourcc, width: w, height: h, bytesPerLine: 0, bufferBytes: 1)); continue
      }
      none.handle(.done)
    }
    #expect(none.state == .failed(.noBuffers(.capture)))
  }
}
