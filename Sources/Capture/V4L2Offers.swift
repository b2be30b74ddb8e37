// V4L2 capture: the model of what a camera offers (formats, sizes, frame intervals), as the
// driver enumerates them. Nothing here touches a device.
import Wire

/// One frame every `numerator`/`denominator` seconds (V4L2's v4l2_fract time-per-frame).
public struct V4L2FrameInterval: Equatable, Sendable {
  public var numerator: Int
  public var denominator: Int

  public init(numerator: Int, denominator: Int) {
    self.numerator = numerator
    self.denominator = denominator
  }

  /// The interval of `fps` frames per second.
  public init(fps: Int) { self.init(numerator: 1, denominator: max(fps, 1)) }

  /// Frames per second × 1000 (0 for a zero interval).
  public var milliFps: Int {
    guard numerator > 0, denominator >= 0 else { return 0 }
    return Int(clamping: UInt64(denominator) * 1000 / UInt64(numerator))
  }

  /// Frames per second rounded to the nearest whole number (at least 1).
  public var roundedFps: Int { max(1, (milliFps + 500) / 1000) }

  /// "25", or "29.97" when not whole.
  public var fpsText: String {
    guard numerator > 0 else { return "0" }
    if denominator % numerator == 0 { return String(denominator / numerator) }
    return formatFixed(Int(clamping: UInt64(denominator) * 100 / UInt64(numerator)), decimals: 2)
  }
}

/// The frame intervals a camera offers for one format and size.
public enum V4L2Intervals: Equatable, Sendable {
  /// A list (VIDIOC_ENUM_FRAMEINTERVALS, V4L2_FRMIVAL_TYPE_DISCRETE).
  case discrete([V4L2FrameInterval])
  /// Any interval from `min` (fastest) to `max` (slowest) in steps of `step`.
  case stepwise(min: V4L2FrameInterval, max: V4L2FrameInterval, step: V4L2FrameInterval)
  /// The driver does not enumerate intervals.
  case unknown
}

/// One discrete frame size and its frame intervals.
public struct V4L2SizeOption: Equatable, Sendable {
  public var width: Int
  public var height: Int
  public var intervals: V4L2Intervals

  public init(width: Int, height: Int, intervals: V4L2Intervals = .unknown) {
    self.width = width
    self.height = height
    self.intervals = intervals
  }
}

/// A range of sizes (V4L2_FRMSIZE_TYPE_STEPWISE / CONTINUOUS, the latter with steps of 1).
public struct V4L2SizeRange: Equatable, Sendable {
  public var minWidth: Int, maxWidth: Int, stepWidth: Int
  public var minHeight: Int, maxHeight: Int, stepHeight: Int

  public init(minWidth: Int, maxWidth: Int, stepWidth: Int, minHeight: Int, maxHeight: Int, stepHeight: Int) {
    self.minWidth = minWidth
    self.maxWidth = maxWidth
    self.stepWidth = stepWidth
    self.minHeight = minHeight
    self.maxHeight = maxHeight
    self.stepHeight = stepHeight
  }
}

/// The sizes a camera offers for one format.
public enum V4L2Sizes: Equatable, Sendable {
  case discrete([V4L2SizeOption])
  case stepwise(V4L2SizeRange)
  /// The driver does not enumerate sizes (VIDIOC_ENUM_FRAMESIZES fails): S_FMT decides.
  case unknown
}

/// One pixel format a camera offers (VIDIOC_ENUM_FMT) with its sizes.
public struct V4L2FormatOption: Equatable, Sendable {
  public var fourcc: FourCC
  /// The driver's description ("YUYV 4:2:2").
  public var description: String
  /// V4L2_FMT_FLAG_COMPRESSED.
  public var compressed: Bool
  /// V4L2_FMT_FLAG_EMULATED: made up by libv4lconvert, not the driver (never chosen).
  public var emulated: Bool
  public var sizes: V4L2Sizes

  public init(fourcc: FourCC, description: String = "", compressed: Bool = false, emulated: Bool = false,
              sizes: V4L2Sizes = .unknown) {
    self.fourcc = fourcc
    self.description = description
    self.compressed = compressed
    self.emulated = emulated
    self.sizes = sizes
  }

  /// Whether V4L2Source can capture this format.
  public var isSupported: Bool { !emulated && V4L2PixelLayout(fourcc) != nil }
}
