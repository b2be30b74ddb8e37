// V4L2 capture: choosing the format, size and frame interval closest to a request from what a
// camera offers. Pure: testable without a device.
import Wire

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
