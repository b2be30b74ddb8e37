// Encoder: what to encode and how (EncoderSettings, checked against H.264 level 3.1), and why
// the encoder failed (EncoderError).

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

  public init(
    width: Int = 640, height: Int = 480, fps: Int = 30, bitrate: Int = 800_000, intraPeriodFrames: Int = 0,
    preset: EncoderPreset = .default
  ) {
    self.preset = preset
    self.width = width
    self.height = height
    self.fps = fps
    self.bitrate = bitrate
    self.intraPeriodFrames = intraPeriodFrames
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
    guard bitrate >= 10_000, bitrate <= EncoderSettings.level31MaxBitrate else {
      throw .badSettings("bitrate " + String(bitrate) + " out of range (10000...14000000 bit/s)")
    }
    guard maxBitrate >= 0 else { throw .badSettings("maxBitrate must not be negative") }
    guard intraPeriodFrames >= 0, intraPeriodFrames <= 100_000 else {
      throw .badSettings("intraPeriodFrames " + String(intraPeriodFrames) + " out of range (0...100000)")
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
  /// The settings (or a frame that does not match them) are unusable; the text says why.
  case badSettings(String)

  public var code: String {
    switch self {
    case .initFailed: return "ENCODER_INIT_FAILED"
    case .encodeFailed: return "ENCODE_FAILED"
    case .badSettings: return "ENCODER_BAD_SETTINGS"
    }
  }

  public var message: String {
    switch self {
    case .initFailed(let rc): return "OpenH264 encoder initialisation failed (" + String(Int(rc)) + ")"
    case .encodeFailed(let rc): return "OpenH264 EncodeFrame failed (" + String(Int(rc)) + ")"
    case .badSettings(let why): return why
    }
  }
}
