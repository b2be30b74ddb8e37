// Encoder: what a V4L2 memory-to-memory ("stateful") encoder is told before it encodes, in the
// order the kernel documents (userspace-api/media/v4l/dev-encoder.rst, "Initialization"), and
// what each answer means. Sans-IO: the steps are values; the runtime turns each into its ioctl
// (VIDIOC_S_FMT, VIDIOC_S_PARM, VIDIOC_S_CTRL, VIDIOC_REQBUFS, VIDIOC_STREAMON) and hands the
// result back. The same plan drives a Pi's bcm2835-codec (H.264) and the kernel's virtual vicodec
// (FWHT, which tests the interface without H.264): only the coded format and its controls differ.
import Capture

/// The two queues of a memory-to-memory encoder: raw frames go in on OUTPUT, the bitstream comes
/// out on CAPTURE (V4L2's names are from the application's side).
public enum M2MQueue: Equatable, Sendable {
  case output, capture
}

/// The coded format asked for on the CAPTURE queue.
public enum M2MCodec: Equatable, Sendable {
  /// H.264, what browsers decode: a Pi's bcm2835-codec.
  case h264
  /// The kernel's FWHT, which only vicodec speaks: the interface under test, not a stream to send.
  case fwht

  public var fourcc: FourCC {
    switch self {
    case .h264: return .h264
    case .fwht: return .fwht
    }
  }
}

/// An encoding parameter (a V4L2 control of the codec class).
public enum M2MControl: Equatable, Sendable {
  /// V4L2_CID_MPEG_VIDEO_H264_PROFILE: constrained baseline, what rtcam signals (42e01f).
  case h264ConstrainedBaseline
  /// V4L2_CID_MPEG_VIDEO_H264_LEVEL: 3.1, what rtcam signals (profile-level-id 42e01f).
  case h264Level31
  /// V4L2_CID_MPEG_VIDEO_BITRATE_MODE: constant bitrate (a live stream's queue wants no peaks).
  case constantBitrate
  /// V4L2_CID_MPEG_VIDEO_BITRATE, bit/s.
  case bitrate(Int)
  /// V4L2_CID_MPEG_VIDEO_H264_I_PERIOD, frames between IDRs (0 is not accepted by every driver;
  /// keyframes on demand come from `forceKeyFrame`).
  case h264IdrPeriod(Int)
  /// V4L2_CID_MPEG_VIDEO_REPEAT_SEQ_HEADER: SPS and PPS before every IDR, so a viewer that joins
  /// at a forced keyframe can decode it.
  case repeatSequenceHeader
  /// V4L2_CID_MPEG_VIDEO_H264_MIN_QP / _MAX_QP.
  case h264MinQp(Int)
  case h264MaxQp(Int)
  /// V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME (a button control): the next frame is an IDR.
  case forceKeyFrame
  /// V4L2_CID_MPEG_VIDEO_GOP_SIZE, frames between keyframes for codecs without an H.264 I-period
  /// (vicodec's FWHT takes 1...16; a larger value is clamped by the control framework).
  case gopSize(Int)

  /// Whether the stream is wrong without it (the encoder is refused): without the bitrate the
  /// rate is the driver's, without repeated headers a viewer that joins at a forced keyframe
  /// cannot decode it, without forced keyframes it waits for the next periodic one. The profile
  /// and level are asked for, but some bcm2835-codec versions have neither control (their
  /// stream is constrained baseline anyway; its SPS is to be rewritten to the signalled
  /// profile-level-id). QP bounds, the rate mode and the IDR period are advice.
  /// Nothing is required of FWHT (vicodec): it has no bitrate and no forced keyframes, and its
  /// stream is only looked at, never sent.
  public func isRequired(for codec: M2MCodec) -> Bool {
    guard codec == .h264 else { return false }
    switch self {
    case .bitrate, .repeatSequenceHeader, .forceKeyFrame: return true
    case .h264ConstrainedBaseline, .h264Level31, .constantBitrate, .h264IdrPeriod, .h264MinQp, .h264MaxQp, .gopSize:
      return false
    }
  }

  /// The V4L2 control id and value (linux/v4l2-controls.h: V4L2_CID_CODEC_BASE is 0x990900; the
  /// menu values are the V4L2_MPEG_VIDEO_* enumerators).
  public var v4l2: (id: UInt32, value: Int32) {
    switch self {
    case .h264ConstrainedBaseline: return (0x0099_0A6B, 1)  // H264_PROFILE: CONSTRAINED_BASELINE
    case .h264Level31: return (0x0099_0A67, 9)  // H264_LEVEL: LEVEL_3_1
    case .constantBitrate: return (0x0099_09CE, 1)  // BITRATE_MODE: CBR
    case .bitrate(let b): return (0x0099_09CF, Int32(clamping: b))
    case .h264IdrPeriod(let n): return (0x0099_0A66, Int32(clamping: n))
    case .repeatSequenceHeader: return (0x0099_09E2, 1)
    case .h264MinQp(let q): return (0x0099_0A61, Int32(clamping: q))
    case .h264MaxQp(let q): return (0x0099_0A62, Int32(clamping: q))
    case .forceKeyFrame: return (0x0099_09E5, 0)
    case .gopSize(let n): return (0x0099_09CB, Int32(clamping: n))
    }
  }

  /// For the log: "bitrate 800000".
  public var name: String {
    switch self {
    case .h264ConstrainedBaseline: return "H.264 profile constrained baseline"
    case .h264Level31: return "H.264 level 3.1"
    case .constantBitrate: return "constant bitrate mode"
    case .bitrate(let b): return "bitrate " + String(b)
    case .h264IdrPeriod(let n): return "H.264 I-period " + String(n)
    case .repeatSequenceHeader: return "repeat sequence header"
    case .h264MinQp(let q): return "H.264 min QP " + String(q)
    case .h264MaxQp(let q): return "H.264 max QP " + String(q)
    case .forceKeyFrame: return "force key frame"
    case .gopSize(let n): return "GOP size " + String(n)
    }
  }
}

/// One step of the setup.
public enum M2MStep: Equatable, Sendable {
  /// VIDIOC_S_FMT on CAPTURE: the coded format first (the driver derives what the OUTPUT queue
  /// may take from it), with room for the largest frame.
  case setCodedFormat(M2MCodec, width: Int, height: Int, bufferBytes: Int)
  /// VIDIOC_S_FMT on OUTPUT: the raw frames' format and size; the driver answers its stride
  /// (bytesperline) and buffer size, which frames are copied with.
  case setRawFormat(FourCC, width: Int, height: Int)
  /// VIDIOC_S_PARM on OUTPUT: the frame rate the rate control divides the bitrate by.
  case setFrameRate(Int)
  case setControl(M2MControl)
  /// VIDIOC_REQBUFS (MMAP) on a queue.
  case requestBuffers(M2MQueue, count: Int)
  case streamOn(M2MQueue)
}

/// What the device answered to a step.
public enum M2MAnswer: Equatable, Sendable {
  case done
  /// VIDIOC_S_FMT's answer: what the driver set (it may adjust a request instead of refusing it).
  case format(FourCC, width: Int, height: Int, bytesPerLine: Int, bufferBytes: Int)
  /// VIDIOC_REQBUFS's answer: the buffers the driver made (it may make more or fewer).
  case buffers(Int)
  /// The ioctl failed with this errno.
  case failed(Int32)
}

/// Why the encoder could not be set up (each has a code for /status and the log).
public enum M2MSetupError: Error, Equatable, Sendable {
  /// The driver does not encode to this format (it answered another).
  case codedFormatRefused(M2MCodec, answered: FourCC)
  /// The driver does not take these raw frames at this size.
  case rawFormatRefused(FourCC, width: Int, height: Int)
  /// A control the stream needs was refused.
  case controlRefused(M2MControl, errno: Int32)
  /// Any other step failed.
  case stepFailed(M2MStep, errno: Int32)
  /// No buffers (REQBUFS answered 0).
  case noBuffers(M2MQueue)

  public var code: String {
    switch self {
    case .codedFormatRefused: return "ENCODER_FORMAT_REFUSED"
    case .rawFormatRefused: return "ENCODER_RAW_FORMAT_REFUSED"
    case .controlRefused: return "ENCODER_CONTROL_REFUSED"
    case .stepFailed: return "ENCODER_SETUP_FAILED"
    case .noBuffers: return "ENCODER_NO_BUFFERS"
    }
  }
}

/// The setup of one M2M encoder: `nextStep()` until nil, `handle(_:)` with each answer. Refused
/// optional controls are collected (`refusedControls`) and the setup goes on; anything else that
/// fails ends it with an `M2MSetupError`.
public struct M2MEncoderSetup: Sendable {
  public enum State: Equatable, Sendable {
    case running(next: Int)
    case ready
    case failed(M2MSetupError)
  }

  public let steps: [M2MStep]
  public let codec: M2MCodec
  public private(set) var state = State.running(next: 0)
  /// The OUTPUT queue's layout as the driver set it (after `setRawFormat`).
  public private(set) var rawBytesPerLine = 0
  public private(set) var rawBufferBytes = 0
  /// The errno of a refused VIDIOC_S_PARM (the frame rate), else nil.
  public private(set) var frameRateRefused: Int32? = nil
  /// The buffers the driver made on each queue (REQBUFS's answers).
  public private(set) var outputBufferCount = 0
  public private(set) var captureBufferCount = 0
  /// The optional controls the driver refused (with its errno).
  public private(set) var refusedControls: [(M2MControl, Int32)] = []

  /// Raw frames queued at once: one being encoded, one being filled, one spare (the camera's
  /// ring already holds the frames waiting; more only adds latency).
  public static let outputBuffers = 3
  /// Bitstream buffers: one being written, one being read out, and one spare for a keyframe.
  public static let captureBuffers = 3
  /// The largest coded frame: a 640x480 IDR is a few tens of kB at the bitrates rtcam uses; the
  /// raw frame's size bounds any sensible coded frame (an encoder that made more would be
  /// better off sending it raw).
  static func codedBufferBytes(width: Int, height: Int) -> Int { width * height * 3 / 2 }

  /// The steps for `settings` (size, rate, bitrate, QP ceiling) and `codec`: formats, frame
  /// rate, then (H.264 only) the controls, then buffers and streaming on both queues.
  public init(settings: EncoderSettings, codec: M2MCodec, rawFormat: FourCC) {
    var s: [M2MStep] = [
      .setCodedFormat(codec, width: settings.width, height: settings.height,
        bufferBytes: M2MEncoderSetup.codedBufferBytes(width: settings.width, height: settings.height)),
      .setRawFormat(rawFormat, width: settings.width, height: settings.height),
      .setFrameRate(settings.fps),
    ]
    if codec == .h264 {
      let controls: [M2MControl] = [
        .h264ConstrainedBaseline, .h264Level31, .constantBitrate, .bitrate(settings.bitrate),
        .h264IdrPeriod(M2MEncoderSetup.idrPeriod(settings)), .repeatSequenceHeader,
        .h264MinQp(EncoderSettings.qpRange.lowerBound), .h264MaxQp(settings.maxQp),
      ]
      s += controls.map { .setControl($0) }
    } else {
      // vicodec has no bitrate control: asked anyway, so its refusal (noted, not fatal for FWHT)
      // is exercised on a real driver
      s += [.setControl(.bitrate(settings.bitrate)), .setControl(.gopSize(M2MEncoderSetup.idrPeriod(settings)))]
    }
    s += [
      .requestBuffers(.output, count: M2MEncoderSetup.outputBuffers),
      .requestBuffers(.capture, count: M2MEncoderSetup.captureBuffers),
      .streamOn(.output), .streamOn(.capture),
    ]
    steps = s
    self.codec = codec
  }

  /// The IDR period to ask for: the settings' own, or, for keyframes only on demand, an hour of
  /// frames, at most 65535. It must be set: bcm2835-codec's default is an IDR every 60 frames
  /// (its control: 0...0x7FFFFFFF, default 60), a keyframe every 2 s on every viewer's link.
  /// 65535 is the largest the Qualcomm venus driver takes; a driver with a smaller range refuses
  /// it, and the setup goes on (the control is optional).
  static func idrPeriod(_ s: EncoderSettings) -> Int {
    s.intraPeriodFrames > 0 ? s.intraPeriodFrames : min(s.fps * 3600, maxIdrPeriod)
  }
  static let maxIdrPeriod = 65535

  /// The step to carry out now (nil once ready or failed).
  public func nextStep() -> M2MStep? {
    guard case .running(let i) = state, i < steps.count else { return nil }
    return steps[i]
  }

  /// The device's answer to `nextStep()`.
  public mutating func handle(_ answer: M2MAnswer) {
    guard case .running(let i) = state, i < steps.count else { return }
    let step = steps[i]
    if let error = check(step, answer) {
      state = .failed(error)
      return
    }
    state = i + 1 == steps.count ? .ready : .running(next: i + 1)
  }

  mutating func check(_ step: M2MStep, _ answer: M2MAnswer) -> M2MSetupError? {
    switch (step, answer) {
    case (.setCodedFormat(let codec, _, _, _), .format(let got, _, _, _, _)):
      return got == codec.fourcc ? nil : .codedFormatRefused(codec, answered: got)
    case (.setCodedFormat(let codec, _, _, _), .failed):
      return .codedFormatRefused(codec, answered: FourCC(rawValue: 0))
    case (.setRawFormat(let want, let w, let h), .format(let got, let gw, let gh, let stride, let bytes)):
      // the driver may pad rows (bcm2835-codec aligns them), never change the size or format
      guard got == want, gw == w, gh == h, stride >= w, bytes >= stride * h * 3 / 2 else {
        return .rawFormatRefused(want, width: w, height: h)
      }
      rawBytesPerLine = stride
      rawBufferBytes = bytes
      return nil
    case (.setRawFormat(let want, let w, let h), .failed):
      return .rawFormatRefused(want, width: w, height: h)
    case (.setFrameRate, .failed(let errno)):
      // advice for the rate control; vicodec has no VIDIOC_S_PARM at all (ENOTTY)
      frameRateRefused = errno
      return nil
    case (.setControl(let c), .failed(let errno)):
      if c.isRequired(for: codec) { return .controlRefused(c, errno: errno) }
      refusedControls.append((c, errno))
      return nil
    case (.requestBuffers(let q, _), .buffers(let n)):
      guard n > 0 else { return .noBuffers(q) }
      if q == .output { outputBufferCount = n } else { captureBufferCount = n }
      return nil
    case (_, .failed(let errno)):
      return .stepFailed(step, errno: errno)
    default:
      return nil
    }
  }
}
