// V4L2 capture, pure part: pixel format codes, the model of what a camera offers, choosing the
// closest format/size/frame rate, conversion of packed and semi-planar YUV into I420, dropped-frame
// counting and frame-rate measurement. Nothing here touches a device, so all of it is testable.
import Wire

/// A V4L2 pixel format code: four ASCII characters packed little-endian ("YUYV" = 0x56595559).
/// Bit 31 set marks a big-endian variant (v4l2_fourcc_be).
public struct FourCC: Equatable, Hashable, Sendable {
  public var rawValue: UInt32

  public init(rawValue: UInt32) { self.rawValue = rawValue }

  /// From four ASCII bytes, first byte lowest.
  public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
    rawValue = UInt32(a) | UInt32(b) << 8 | UInt32(c) << 16 | UInt32(d) << 24
  }

  /// Parses four printable ASCII characters ("YUYV", "yuyv" is upper-cased; "Y16 " keeps its
  /// space). nil for anything else.
  public init?(_ text: String) {
    let bytes = Array(text.utf8)
    guard bytes.count == 4 else { return nil }
    var up: [UInt8] = []
    for b in bytes {
      guard b >= 32 && b < 127 else { return nil }
      up.append(b >= 97 && b <= 122 ? b - 32 : b)
    }
    self.init(up[0], up[1], up[2], up[3])
  }

  /// The four characters ("YUYV"); bytes that are not printable ASCII show as '.', and a
  /// big-endian code gets "-BE" appended. Trailing spaces are removed ("Y16 " → "Y16").
  public var text: String {
    var out: [UInt8] = []
    for i in 0..<4 {
      var b = UInt8(truncatingIfNeeded: rawValue >> UInt32(8 * i))
      if i == 3 { b &= 0x7F }
      out.append(b >= 32 && b < 127 ? b : UInt8(ascii: "."))
    }
    while out.last == UInt8(ascii: " ") { out.removeLast() }
    var s = String(decoding: out, as: UTF8.self)
    if rawValue & 0x8000_0000 != 0 { s += "-BE" }
    return s
  }

  /// Planar 4:2:0, Y then U then V (I420).
  public static let yu12 = FourCC(89, 85, 49, 50)
  /// Planar 4:2:0, Y then V then U.
  public static let yv12 = FourCC(89, 86, 49, 50)
  /// Y plane, then one interleaved plane of U,V pairs at half height.
  public static let nv12 = FourCC(78, 86, 49, 50)
  /// Like NV12 with V,U pairs.
  public static let nv21 = FourCC(78, 86, 50, 49)
  /// Packed 4:2:2: Y0 U Y1 V.
  public static let yuyv = FourCC(89, 85, 89, 86)
  /// Packed 4:2:2: U Y0 V Y1.
  public static let uyvy = FourCC(85, 89, 86, 89)
  /// Motion JPEG: every frame a JPEG, decoded into I420 (the usual format of USB webcams at
  /// their larger sizes).
  public static let mjpg = FourCC(77, 74, 80, 71)
  /// "JPEG": what some drivers call the same thing.
  public static let jpeg = FourCC(74, 80, 69, 71)
}

/// The camera pixel layouts V4L2Source can turn into I420 frames.
public enum V4L2PixelLayout: Equatable, Sendable {
  /// YU12: the encoder's own layout; frames are used in place (zero copy).
  case i420
  /// YV12: planar with V before U; also zero copy (the view just swaps the plane pointers).
  case yv12
  /// NV12 / NV21: converted once per frame into an I420 buffer the source owns.
  case nv12, nv21
  /// YUYV / UYVY (4:2:2): converted once per frame, chroma of two rows averaged.
  case yuyv, uyvy
  /// MJPEG / JPEG: each frame decoded into I420 planes the source owns (libjpeg-turbo).
  case mjpeg

  /// The layout for a pixel format, nil if V4L2Source cannot use it.
  public init?(_ fourcc: FourCC) {
    switch fourcc {
    case .yu12: self = .i420
    case .yv12: self = .yv12
    case .nv12: self = .nv12
    case .nv21: self = .nv21
    case .yuyv: self = .yuyv
    case .uyvy: self = .uyvy
    case .mjpg, .jpeg: self = .mjpeg
    default: return nil
    }
  }

  /// Formats V4L2Source accepts, in order of preference (used when sizes and rates tie): the
  /// uncompressed ones first, MJPEG last (decoding costs more than converting).
  public static let supported: [FourCC] = [.yu12, .yv12, .nv12, .nv21, .yuyv, .uyvy, .mjpg, .jpeg]

  /// True when frames are handed to the encoder straight from the driver's buffer.
  public var isZeroCopy: Bool { self == .i420 || self == .yv12 }

  /// Lower is preferred.
  var rank: Int {
    switch self {
    case .i420: return 0
    case .yv12: return 1
    case .nv12: return 2
    case .nv21: return 3
    case .yuyv: return 4
    case .uyvy: return 5
    case .mjpeg: return 6
    }
  }

  /// True for formats whose frames vary in size (bytesused counts, not the layout).
  public var isCompressed: Bool { self == .mjpeg }

  /// Smallest bytes-per-line for a frame `width` pixels wide.
  func minBytesPerLine(width: Int) -> Int {
    switch self {
    case .yuyv, .uyvy: return width * 2
    case .mjpeg: return 0
    default: return width
    }
  }

  /// Bytes one frame occupies in the driver's buffer, with luma rows `bytesPerLine` apart (the
  /// V4L2 single-plane layouts: planar chroma rows are bytesPerLine/2 apart, NV12's interleaved
  /// chroma rows bytesPerLine apart).
  func frameBytes(bytesPerLine bpl: Int, height: Int) -> Int {
    switch self {
    case .i420, .yv12: return bpl * height + 2 * (bpl / 2) * (height / 2)
    case .nv12, .nv21: return bpl * height + bpl * (height / 2)
    case .yuyv, .uyvy: return bpl * height
    case .mjpeg: return 0  // as large as the driver's sizeimage; frames say their length
    }
  }
}

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

/// What `V4L2FormatChooser.choose` picked.
public struct V4L2FormatChoice: Equatable, Sendable {
  public var fourcc: FourCC
  public var width: Int
  public var height: Int
  /// The intervals offered at this size (from the enumeration; `.unknown` for ranges).
  public var intervals: V4L2Intervals

  public init(fourcc: FourCC, width: Int, height: Int, intervals: V4L2Intervals) {
    self.fourcc = fourcc
    self.width = width
    self.height = height
    self.intervals = intervals
  }
}

/// Picks the format, size and frame interval closest to a request.
public enum V4L2FormatChooser: Sendable {
  /// Picks among the supported formats (`V4L2FormatOption.isSupported`; only `only` if given) the
  /// size closest to `width`x`height` (smallest |Δw|+|Δh|), then the best reachable frame rate,
  /// then the preferred layout (YU12 first: zero copy), then the smaller picture. Sizes must be
  /// even; sizes above `maxMacroblocks` 16x16 macroblocks (what the encoder's level allows) are
  /// used only if nothing smaller exists. Throws `badFormat` (FORMAT_UNSUPPORTED) naming the
  /// formats offered when none is usable.
  public static func choose(
    _ formats: [V4L2FormatOption], width: Int, height: Int, fps: Int, only: FourCC? = nil, maxMacroblocks: Int = 3600
  ) throws(CaptureError) -> V4L2FormatChoice {
    var best: V4L2FormatChoice? = nil
    var bestKey: [Int] = []
    var bestFits = false
    let targetMilli = max(fps, 1) * 1000
    for f in formats where f.isSupported && (only == nil || f.fourcc == only) {
      guard let layout = V4L2PixelLayout(f.fourcc) else { continue }
      var candidates: [V4L2SizeOption] = []
      switch f.sizes {
      case .discrete(let list): candidates = list
      case .stepwise(let r):
        if let w = snapEven(width, min: r.minWidth, max: r.maxWidth, step: r.stepWidth),
          let h = snapEven(height, min: r.minHeight, max: r.maxHeight, step: r.stepHeight)
        {
          candidates = [V4L2SizeOption(width: w, height: h)]
        }
      case .unknown: candidates = [V4L2SizeOption(width: width, height: height)]
      }
      for c in candidates where c.width >= 16 && c.height >= 16 && c.width % 2 == 0 && c.height % 2 == 0 {
        let fits = ((c.width + 15) / 16) * ((c.height + 15) / 16) <= maxMacroblocks
        let key = [
          abs(c.width - width) + abs(c.height - height),
          fpsDistance(c.intervals, targetMilli: targetMilli),
          layout.rank,
          c.width * c.height,
        ]
        if best == nil || (fits && !bestFits) || (fits == bestFits && key.lexicographicallyPrecedes(bestKey)) {
          best = V4L2FormatChoice(fourcc: f.fourcc, width: c.width, height: c.height, intervals: c.intervals)
          bestKey = key
          bestFits = fits
        }
      }
    }
    if let b = best { return b }
    let offered = describe(formats)
    if let o = only {
      if V4L2PixelLayout(o) == nil {
        throw .badFormat(
          "pixel format " + o.text + " is not supported by rtcam; use one of " + supportedList() + " (the camera offers "
            + offered + ")")
      }
      throw .badFormat("the camera does not offer " + o.text + " at an even size; it offers " + offered)
    }
    throw .badFormat(
      "the camera offers no format rtcam can capture (it offers " + offered + "; rtcam needs one of " + supportedList()
        + ")")
  }

  /// Picks the interval closest to `fps` frames per second (ties: the faster one). A range gives
  /// 1/fps clamped into it. `.unknown` gives 1/fps.
  public static func chooseInterval(_ intervals: V4L2Intervals, fps: Int) -> V4L2FrameInterval {
    let want = V4L2FrameInterval(fps: fps)
    let targetMilli = max(fps, 1) * 1000
    switch intervals {
    case .unknown: return want
    case .discrete(let list):
      var best: V4L2FrameInterval? = nil
      for i in list where i.numerator > 0 && i.denominator > 0 {
        guard let b = best else { best = i; continue }
        let d = abs(i.milliFps - targetMilli)
        let bd = abs(b.milliFps - targetMilli)
        if d < bd || (d == bd && i.milliFps > b.milliFps) { best = i }
      }
      return best ?? want
    case .stepwise(let lo, let hi, _):
      // lo is the shortest interval (highest rate)
      if lo.milliFps > 0 && targetMilli > lo.milliFps { return lo }
      if hi.milliFps > 0 && targetMilli < hi.milliFps { return hi }
      return want
    }
  }

  /// How far (in milli-fps) the closest reachable rate is from the target; 0 when unknown.
  static func fpsDistance(_ intervals: V4L2Intervals, targetMilli: Int) -> Int {
    switch intervals {
    case .unknown: return 0
    case .discrete(let list):
      var best = Int.max
      for i in list where i.numerator > 0 && i.denominator > 0 { best = min(best, abs(i.milliFps - targetMilli)) }
      return best == Int.max ? 0 : best
    case .stepwise(let lo, let hi, _):
      let fast = lo.milliFps
      let slow = hi.milliFps
      if fast > 0 && targetMilli > fast { return targetMilli - fast }
      if slow > 0 && targetMilli < slow { return slow - targetMilli }
      return 0
    }
  }

  /// `value` clamped to min...max on the step grid, made even (nil when no even size exists
  /// near it).
  static func snapEven(_ value: Int, min lo: Int, max hi: Int, step: Int) -> Int? {
    guard lo > 0, hi >= lo else { return nil }
    let s = Swift.max(step, 1)
    let c = Swift.min(Swift.max(value, lo), hi)
    var r = lo + ((c - lo + s / 2) / s) * s
    if r > hi { r -= s }
    if r % 2 == 0 { return r }
    // with an even step every size on the grid is odd; with an odd step the neighbours are even
    if s % 2 == 0 { return nil }
    var options: [Int] = []
    if r - s >= lo { options.append(r - s) }
    if r + s <= hi { options.append(r + s) }
    return options.min { abs($0 - value) < abs($1 - value) }
  }

  /// "YUYV, MJPG" (driver formats only; emulated ones left out).
  public static func describe(_ formats: [V4L2FormatOption]) -> String {
    let names = formats.filter { !$0.emulated }.map { $0.fourcc.text }
    return names.isEmpty ? "no formats" : names.joined(separator: ", ")
  }

  static func supportedList() -> String { V4L2PixelLayout.supported.map { $0.text }.joined(separator: ", ") }
}
