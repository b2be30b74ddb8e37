/// `--preset speed|balanced|quality`: how much CPU the encoder spends per frame for how much
/// picture quality at the same bitrate. Every preset keeps the live-camera constraints: one
/// reference frame, no B-frames, no lookahead, no encoder threads (the capture thread encodes),
/// no scene-change IDRs (keyframes stay on demand), so no preset adds a frame of latency.
///
/// What tools/bench measured on its camera-like clip at 800 kbit/s (OpenH264 2.3, x86_64;
/// docs/performance.md): against the settings before presets (low complexity, OpenH264's background
/// detection on), turning background detection off gains about 0.36 dB PSNR (5.4 dB on the test
/// pattern) for 0-15 % more encode time; medium complexity about 0.04 dB more for 5-25 % more
/// time; turning the deblocking filter off saves up to about 20 % and loses about 0.4 dB. Adaptive
/// quantisation and more reference frames changed neither PSNR nor time measurably in camera
/// real-time mode.
public enum EncoderPreset: Equatable, Sendable, CaseIterable {
  /// Least CPU: low complexity, background detection on, no adaptive quantisation, no deblocking.
  case speed
  /// The default: low complexity, background detection off, adaptive quantisation on.
  case balanced
  /// Medium complexity, background detection off, adaptive quantisation on.
  case quality

  public static let `default` = EncoderPreset.balanced

  /// The option value: "speed", "balanced", "quality".
  public var name: String {
    switch self {
    case .speed: return "speed"
    case .balanced: return "balanced"
    case .quality: return "quality"
    }
  }

  /// The preset called `name` (exact, lower case), or nil.
  public init?(name: String) {
    switch name {
    case "speed": self = .speed
    case "balanced": self = .balanced
    case "quality": self = .quality
    default: return nil
    }
  }

  /// The OpenH264 knobs this preset sets.
  public var tuning: EncoderTuning {
    switch self {
    case .speed:
      return EncoderTuning(complexity: .low, backgroundDetection: true, adaptiveQuantization: false, deblocking: false)
    case .balanced:
      return EncoderTuning(complexity: .low, backgroundDetection: false, adaptiveQuantization: true, deblocking: true)
    case .quality:
      return EncoderTuning(complexity: .medium, backgroundDetection: false, adaptiveQuantization: true, deblocking: true)
    }
  }
}

/// The OpenH264 settings a preset chooses (SEncParamExt fields); the rest of the encoder setup is
/// the same for every preset (see `H264Encoder.init`).
public struct EncoderTuning: Equatable, Sendable {
  /// iComplexityMode.
  public var complexity: EncoderComplexity
  /// bEnableBackgroundDetection: skips macroblocks it takes for static background.
  public var backgroundDetection: Bool
  /// bEnableAdaptiveQuant.
  public var adaptiveQuantization: Bool
  /// The in-loop deblocking filter (iLoopFilterDisableIdc 0 when on, 1 when off).
  public var deblocking: Bool
  /// iNumRefFrame: one for every preset (a live stream references the previous frame only).
  public var referenceFrames = 1

  public init(complexity: EncoderComplexity, backgroundDetection: Bool, adaptiveQuantization: Bool, deblocking: Bool) {
    self.complexity = complexity
    self.backgroundDetection = backgroundDetection
    self.adaptiveQuantization = adaptiveQuantization
    self.deblocking = deblocking
  }
}
