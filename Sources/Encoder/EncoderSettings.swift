// Encoder: what to encode and how (EncoderSettings, checked against H.264 level 3.1), and why
// the encoder failed (EncoderError).
import CRTCam

/// OpenH264's speed/quality trade-off (ECOMPLEXITY_MODE).
public enum EncoderComplexity: Equatable, Sendable {
  case low, medium, high
}

/// What to encode and how. The stream is H.264 constrained baseline level 3.1
/// (profile-level-id 42e01f, `H264ProfileLevel.sent`), so the size and rate must fit level 3.1: at most 3600 macroblocks
/// per frame (1280x720), 108000 macroblocks per second (640x480 at 90 fps, 1280x720 at 30 fps),
/// 14 Mbit/s.
public struct EncoderSettings: Equatable, Sendable {
  public var width = 640
  public var height = 480
  public var fps = 30
  /// Target bitrate in bits per second.
  public var bitrate = 800_000
  /// Ceiling for the rate control in bits per second; 0 means 1.5 x `bitrate`.
  public var maxBitrate = 0
  /// An IDR every this many frames; 0 = only on demand (`forceKeyframe`) and the first frame.
  public var intraPeriodFrames: Int = 0
  /// Let the rate control drop frames (encode returns `.skipped`) to pay back large frames. Off by
  /// default: OpenH264 then drops about every other frame for a second after each IDR (a visible
  /// stutter on every viewer join or PLI), while without skipping it still holds the average
  /// bitrate by raising QP. Useful only when a sender pacer makes big frames cost queueing latency.
  public var allowFrameSkip = false
  /// The speed/quality trade-off (`--preset`).
  public var preset = EncoderPreset.default
  /// Temporal layers (OpenH264's iTemporalLayerNum), `temporalLayerRange`. With 3 at 30 fps the
  /// frames go T0 T2 T1 T2 T0 ...: layer 0 alone is 7.5 fps, layers 0-1 are 15 fps, all 30 fps
  /// (at other rates the same fractions of `fps`). A frame is predicted only from frames of its
  /// own or lower layers, and the top layer's frames are not reference pictures (nal_ref_idc 0),
  /// so a receiver sent only layers 0...n decodes without errors (EncoderTests checks this with
  /// ffmpeg). Every IDR is in layer 0 and starts the pattern again.
  public var temporalLayers = 3
  /// What the rate control aims an IDR at, in percent of one frame's share of the bitrate
  /// (OpenH264's iIdrBitrateRatio; its default is 400): a keyframe on a slow link is a burst the
  /// pacer must spread, so it stays a few frames' worth. OpenH264 turns it into a QP by its
  /// linear model of the last IDR, clipped to a QP range from its table (ratectl.cpp
  /// RcCalculateIdrQp: 28-40 at 640x480 below 0.03 bit/pixel, about 200 kbit/s; 24-36 at 800
  /// kbit/s). Measured with a camera-like clip (tools/perf/benchtool.c gen camera, 640x480 at 30
  /// fps, an IDR forced after 3 s), IDR size in frame budgets with 400 -> with 200: 5.2 -> 5.2
  /// at 150 kbit/s, 4.4 -> 3.9 at 200k, 4.4 -> 3.3 at 300k, 5.0 -> 2.1 at 800k (16.6 KB ->
  /// 6.9 KB). At the low rates the IDR already sits at the range's top QP: a smaller IDR there
  /// would need a higher minimum QP for every frame. On synthetic fine texture the model
  /// overshoots now and then (up to about 8 budgets). Frame skipping stays off (see `allowFrameSkip`).
  public var keyframeTargetPercent = 200
  /// The highest QP the rate control may choose (OpenH264's iMaxQp), within `qpRange`. OpenH264
  /// holds QP at or under 42 unless both bounds are set (encoder_ext.cpp ParamValidation: an
  /// iMinQp of 0, the default, means 12...42, MAX_LOW_BR_QP). Measured with the bench's camera-like clip
  /// (tools/perf/benchtool.c gen camera, 640x480 at 30 fps, seconds 2-5), a 150 kbit/s target
  /// made 183 kbit/s at 42, 147 at 46 and 147 at 51; 250 kbit/s held at each. With 42, a
  /// 150 kbit/s link therefore queued and dropped frames (8 fps, p95 580 ms in `tools/bench adapt`).
  /// 46, not 51: the same rate on that clip, and on a panning fine texture (`TexturedPattern`) 51
  /// made more than 46, not less.
  public var maxQp = 46

  public init(
    width: Int = 640, height: Int = 480, fps: Int = 30, bitrate: Int = 800_000, intraPeriodFrames: Int = 0,
    preset: EncoderPreset = .default, temporalLayers: Int = 3
  ) {
    self.preset = preset
    self.width = width
    self.height = height
    self.fps = fps
    self.bitrate = bitrate
    self.intraPeriodFrames = intraPeriodFrames
    self.temporalLayers = temporalLayers
  }

  /// QPs the rate control may use: from OpenH264's own lowest for bitrate mode (GOM_MIN_QP_MODE,
  /// 12) to H.264's highest (51).
  public static let qpRange = 12...51
  /// `keyframeTargetPercent` values: from one frame's budget to ten.
  public static let keyframeTargetRange = 100...1000
  /// Temporal layers OpenH264 encodes: 1 up to its MAX_TEMPORAL_LAYER_NUM (4).
  public static let temporalLayerRange = 1...Int(MAX_TEMPORAL_LAYER_NUM)
  /// Bitrates the encoder takes, at start and through `H264Encoder.setBitrate`: from 10 kbit/s
  /// (less cannot carry a picture of any size here) to level 3.1's 14 Mbit/s.
  public static let bitrateRange = 10_000...level31MaxBitrate

  /// Frames from one layer-0 frame to the next: 2^(temporalLayers - 1) (OpenH264's GOP size).
  public var temporalGroupFrames: Int { 1 << (min(max(temporalLayers, 1), Int(MAX_TEMPORAL_LAYER_NUM)) - 1) }

  /// The rate-control ceiling for a target of `target` bit/s: `effectiveMaxBitrate` scaled with
  /// the target (the settings' ratio of ceiling to target), within level 3.1. 64-bit arithmetic:
  /// the product overflows a 32-bit Int (armv7).
  public func maxBitrate(forTarget target: Int) -> Int {
    let scaled = Int64(target) * Int64(effectiveMaxBitrate) / Int64(max(bitrate, 1))
    return Int(min(max(scaled, Int64(target)), Int64(EncoderSettings.level31MaxBitrate)))
  }

  /// The rate-control ceiling actually used.
  public var effectiveMaxBitrate: Int {
    min(maxBitrate > 0 ? max(maxBitrate, bitrate) : bitrate + bitrate / 2, EncoderSettings.level31MaxBitrate)
  }

  static let level31MaxFrameMBs = 3600
  static let level31MaxMBsPerSecond = 108_000
  static let level31MaxBitrate = 14_000_000

  /// Checks the settings; the error says which value is wrong and why.
  public func validate() throws(EncoderError) {
    guard width >= 16, height >= 16, width <= 4096, height <= 4096 else {
      throw .badSettings("frame size " + String(width) + "x" + String(height) + " out of range (16...4096)")
    }
    guard width % 2 == 0, height % 2 == 0 else {
      throw .badSettings("frame size " + String(width) + "x" + String(height) + " must be even")
    }
    guard fps >= 1, fps <= 120 else { throw .badSettings("fps " + String(fps) + " out of range (1...120)") }
    guard EncoderSettings.bitrateRange.contains(bitrate) else {
      throw .badSettings("bitrate " + String(bitrate) + " out of range (10000...14000000 bit/s)")
    }
    guard maxBitrate >= 0 else { throw .badSettings("maxBitrate must not be negative") }
    guard EncoderSettings.keyframeTargetRange.contains(keyframeTargetPercent) else {
      throw .badSettings("keyframeTargetPercent " + String(keyframeTargetPercent) + " out of range (100...1000)")
    }
    guard EncoderSettings.qpRange.contains(maxQp) else {
      throw .badSettings("maxQp " + String(maxQp) + " out of range (12...51)")
    }
    guard EncoderSettings.temporalLayerRange.contains(temporalLayers) else {
      throw .badSettings("temporalLayers " + String(temporalLayers) + " out of range (1...4)")
    }
    guard intraPeriodFrames >= 0, intraPeriodFrames <= 100_000 else {
      throw .badSettings("intraPeriodFrames " + String(intraPeriodFrames) + " out of range (0...100000)")
    }
    // OpenH264 would silently round it up to a whole number of temporal groups
    guard intraPeriodFrames % temporalGroupFrames == 0 else {
      throw .badSettings("intraPeriodFrames " + String(intraPeriodFrames) + " must be a multiple of "
        + String(temporalGroupFrames) + " (the frames of one group of " + String(temporalLayers) + " temporal layers)")
    }
    let mbW = (width + 15) / 16
    let mbH = (height + 15) / 16
    // level 3.1: frame size and width/height limits (each side <= sqrt(8 * MaxFS) macroblocks)
    guard mbW * mbH <= EncoderSettings.level31MaxFrameMBs, mbW <= 169, mbH <= 169 else {
      throw .badSettings(
        "frame size " + String(width) + "x" + String(height) + " exceeds H.264 level 3.1 (at most 3600 macroblocks, e.g. 1280x720)")
    }
    guard mbW * mbH * fps <= EncoderSettings.level31MaxMBsPerSecond else {
      throw .badSettings(
        String(width) + "x" + String(height) + " at " + String(fps) + " fps exceeds H.264 level 3.1 (108000 macroblocks/s)")
    }
  }
}

/// Why the encoder failed.
public enum EncoderError: Error, Equatable, Sendable {
  /// OpenH264 refused to create or initialise the encoder (its return code).
  case initFailed(Int32)
  /// EncodeFrame failed (its return code).
  case encodeFailed(Int32)
  /// OpenH264 refused a new target bitrate (SetOption's return code).
  case rateChangeFailed(Int32)
  /// The settings (or a frame that does not match them) are unusable; the text says why.
  case badSettings(String)
  /// The memory-to-memory encoder at `path` failed.
  case m2m(M2MFault, path: String)

  public var code: String {
    switch self {
    case .m2m(let f, _): return f.code
    case .initFailed: return "ENCODER_INIT_FAILED"
    case .encodeFailed: return "ENCODE_FAILED"
    case .rateChangeFailed: return "ENCODER_RATE_FAILED"
    case .badSettings: return "ENCODER_BAD_SETTINGS"
    }
  }

  public var message: String {
    switch self {
    case .initFailed(let rc): return "OpenH264 encoder initialisation failed (" + String(Int(rc)) + ")"
    case .encodeFailed(let rc): return "OpenH264 EncodeFrame failed (" + String(Int(rc)) + ")"
    case .rateChangeFailed(let rc): return "OpenH264 refused the new bitrate (" + String(Int(rc)) + ")"
    case .badSettings(let why): return why
    case .m2m(let f, let path): return "hardware encoder " + path + ": " + f.message
    }
  }
}
