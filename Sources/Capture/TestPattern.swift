/// A moving I420 test pattern, drawn into one buffer allocated at start-up (nothing is allocated
/// per frame). From the top:
/// - the timestamp strip (`TimestampStrip`): capture wall-clock milliseconds + frame counter as
///   black/white blocks, 32 rows at 640 px wide;
/// - 100 % BT.601 colour bars scrolling left by 4 px per frame, filling the rest of the frame;
/// - a ball bouncing over the bars;
/// - bottom left, on a black box: the frame number (6 large 7-segment digits, sequence mod 10^6)
///   and under it the capture wall-clock time of day in UTC, "HH:MM:SS.mmm".
///
/// Sizes are made even and clamped to 64...4096 (width) and (strip height + 16)...4096 (height);
/// `fps` is clamped to 1...240. With `paced` (the default) `nextFrame` sleeps until the frame's
/// due time on absolute monotonic deadlines (see `FramePacer`); without, it returns at once.
public struct TestPattern: FrameSource {
  public let width: Int
  public let height: Int
  public let fps: Int
  public let paced: Bool
  public let strip: TimestampStrip
  let clock: CaptureClock
  let storage: PlaneStorage
  var pacer: FramePacer
  var sequence: UInt64 = 0
  /// Time the last `nextFrame` spent drawing (the pattern's "conversion").
  public private(set) var lastConvertNs: UInt64 = 0

  public init(width: Int = 640, height: Int = 480, fps: Int = 30, clock: CaptureClock = .system, paced: Bool = true) {
    let w = min(max(width & ~1, 64), 4096)
    // width >= 64 always has a strip layout
    let s = TimestampStrip(width: w) ?? TimestampStrip(width: 64)!
    self.width = w
    self.height = min(max(height & ~1, s.height + 16), 4096)
    self.fps = min(max(fps, 1), 240)
    self.paced = paced
    self.strip = s
    self.clock = clock
    self.storage = PlaneStorage(count: w * self.height * 3 / 2)
    self.pacer = FramePacer(num: self.fps, den: 1)
  }

  public var description: String {
    "testsrc " + String(width) + "x" + String(height) + "@" + String(fps)
  }

  public mutating func nextFrame() throws(CaptureError) -> FrameView {
    let now = paced ? pacer.wait(clock) : clock.monotonicNs()
    let unixMs = clock.realtimeNs() / 1_000_000
    let seq = sequence
    sequence += 1
    let canvas = Canvas(base: storage.base, width: width, height: height)
    canvas.drawPattern(sequence: seq, unixMs: unixMs, strip: strip)
    let drawn = clock.monotonicNs()
    lastConvertNs = drawn > now ? drawn - now : 0
    return FrameView(
      width: width, height: height, y: UnsafePointer(canvas.y), u: UnsafePointer(canvas.u),
      v: UnsafePointer(canvas.v), yStride: width, uvStride: width / 2, captureTimeNs: now, sequence: seq)
  }
}

/// Drawing primitives over an I420 buffer with tight strides; everything is clipped to the frame.
struct Canvas {
  let y: UnsafeMutablePointer<UInt8>
  let u: UnsafeMutablePointer<UInt8>
  let v: UnsafeMutablePointer<UInt8>
  let width: Int
  let height: Int
  var cw: Int { width / 2 }
  var ch: Int { height / 2 }

  init(base: UnsafeMutablePointer<UInt8>, width: Int, height: Int) {
    self.width = width
    self.height = height
    y = base
    u = base + width * height
    v = base + width * height + (width / 2) * (height / 2)
  }

  /// 100 % colour bars (BT.601, limited range): white, yellow, cyan, green, magenta, red, blue, black.
  static let bars: [(UInt8, UInt8, UInt8)] = [
    (235, 128, 128), (210, 16, 146), (170, 166, 16), (145, 54, 34),
    (106, 202, 222), (81, 90, 240), (41, 240, 110), (16, 128, 128),
  ]

  /// Segments a..g (bits 0...6) lit for each decimal digit.
  static let segments: [UInt8] = [0x3F, 0x06, 0x5B, 0x4F, 0x66, 0x6D, 0x7D, 0x07, 0x7F, 0x6F]

  func drawPattern(sequence: UInt64, unixMs: UInt64, strip: TimestampStrip) {
    let top = min(strip.height, height)
    // strip: grey background, neutral chroma, then the blocks
    y.update(repeating: 128, count: top * width)
    u.update(repeating: 128, count: (top / 2) * cw)
    v.update(repeating: 128, count: (top / 2) * cw)
    strip.draw(luma: y, stride: width, unixMs: unixMs, frame: UInt16(truncatingIfNeeded: sequence))

    drawBars(from: top, offset: Int((sequence &* 4) % UInt64(width)))

    // bouncing ball
    let r = max(4, height / 12)
    let span = max(1, width - 2 * r)
    let vspan = max(1, height - top - 2 * r)
    let cx = r + bounce(sequence &* 5, span)
    let cy = top + r + bounce(sequence &* 3, vspan)
    fillCircle(cx: cx, cy: cy, r: r, (200, 44, 196))

    // frame counter and clock
    let h1 = min(max(height / 6, 14), 200)
    let t1 = max(2, h1 / 10)
    let w1 = h1 / 2
    let h2 = h1 / 2
    let t2 = max(2, h2 / 10)
    let w2 = h2 / 2
    let margin = t1 * 2
    let secOfDay = Int((unixMs / 1000) % 86400)
    let ms = Int(unixMs % 1000)
    // counter: 6 digits; clock: "HH:MM:SS.mmm" = 9 digits and 3 separators
    let counterWidth = 6 * w1 + 5 * 2 * t1
    let clockWidth = 9 * w2 + 3 * t2 + 11 * 2 * t2
    let boxW = max(counterWidth, clockWidth) + 2 * margin
    let boxH = 3 * margin + h1 + h2
    let boxX = margin
    let boxY = max(top, height - boxH - margin)
    fillRect(boxX, boxY, boxW, boxH, (16, 128, 128))
    let counter = Int(sequence % 1_000_000)
    var x = boxX + margin
    var divisor = 100_000
    for _ in 0..<6 {
      x = drawGlyph(UInt8((counter / divisor) % 10), x: x, y: boxY + margin, w: w1, h: h1, t: t1)
      divisor /= 10
    }
    x = boxX + margin
    let y2 = boxY + 2 * margin + h1
    for i in 0..<12 {
      x = drawGlyph(clockGlyph(i, secOfDay: secOfDay, ms: ms), x: x, y: y2, w: w2, h: h2, t: t2)
    }
  }

  /// Glyph i of "HH:MM:SS.mmm" (see `drawGlyph` for the codes).
  func clockGlyph(_ i: Int, secOfDay: Int, ms: Int) -> UInt8 {
    let v: Int
    switch i {
    case 0: v = secOfDay / 36000
    case 1: v = (secOfDay / 3600) % 10
    case 2, 5: return 10
    case 3: v = (secOfDay / 600) % 6
    case 4: v = (secOfDay / 60) % 10
    case 6: v = (secOfDay % 60) / 10
    case 7: v = secOfDay % 10
    case 8: return 11
    case 9: v = ms / 100
    case 10: v = (ms / 10) % 10
    default: v = ms % 10
    }
    return UInt8(v % 10)
  }

  /// Triangle wave 0...span...0 with period 2*span.
  func bounce(_ t: UInt64, _ span: Int) -> Int {
    let p = Int(t % UInt64(2 * span))
    return p < span ? p : 2 * span - p
  }

  /// Draws one glyph (0...9 digits as 7 segments, 10 ':', 11 '.') of height h, digit width w and
  /// stroke t with its top-left at (x, y); returns where the next glyph starts.
  func drawGlyph(_ g: UInt8, x: Int, y: Int, w: Int, h: Int, t: Int) -> Int {
    let ink: (UInt8, UInt8, UInt8) = (235, 128, 128)
    if g < 10 {
      let s = Canvas.segments[Int(g)]
      if s & 1 != 0 { fillRect(x, y, w, t, ink) }
      if s & 2 != 0 { fillRect(x + w - t, y, t, h / 2, ink) }
      if s & 4 != 0 { fillRect(x + w - t, y + h / 2, t, h - h / 2, ink) }
      if s & 8 != 0 { fillRect(x, y + h - t, w, t, ink) }
      if s & 16 != 0 { fillRect(x, y + h / 2, t, h - h / 2, ink) }
      if s & 32 != 0 { fillRect(x, y, t, h / 2, ink) }
      if s & 64 != 0 { fillRect(x, y + h / 2 - t / 2, w, t, ink) }
      return x + w + 2 * t
    }
    if g == 10 {
      fillRect(x, y + h / 3 - t / 2, t, t, ink)
      fillRect(x, y + 2 * h / 3 - t / 2, t, t, ink)
    } else {
      fillRect(x, y + h - t, t, t, ink)
    }
    return x + 3 * t
  }

  /// Fills rows from..<height with colour bars shifted left by `offset` pixels.
  func drawBars(from top: Int, offset: Int) {
    guard top < height else { return }
    let row = y + top * width
    let ctop = top / 2
    let urow = u + ctop * cw
    let vrow = v + ctop * cw
    for x in 0..<width {
      let bar = Canvas.bars[((x + offset) % width) * 8 / width]
      row[x] = bar.0
      if x & 1 == 0 {
        urow[x / 2] = bar.1
        vrow[x / 2] = bar.2
      }
    }
    var r = top + 1
    while r < height {
      (y + r * width).update(from: row, count: width)
      r += 1
    }
    var c = ctop + 1
    while c < ch {
      (u + c * cw).update(from: urow, count: cw)
      (v + c * cw).update(from: vrow, count: cw)
      c += 1
    }
  }

  func fillRect(_ x: Int, _ yy: Int, _ w: Int, _ h: Int, _ colour: (UInt8, UInt8, UInt8)) {
    let x0 = max(0, x)
    let x1 = min(width, x + w)
    let y0 = max(0, yy)
    let y1 = min(height, yy + h)
    guard x0 < x1, y0 < y1 else { return }
    for r in y0..<y1 { (y + r * width + x0).update(repeating: colour.0, count: x1 - x0) }
    let cx0 = x0 / 2
    let cx1 = min(cw, (x1 + 1) / 2)
    let cy1 = min(ch, (y1 + 1) / 2)
    for r in (y0 / 2)..<cy1 where cx0 < cx1 {
      (u + r * cw + cx0).update(repeating: colour.1, count: cx1 - cx0)
      (v + r * cw + cx0).update(repeating: colour.2, count: cx1 - cx0)
    }
  }

  func fillCircle(cx: Int, cy: Int, r: Int, _ colour: (UInt8, UInt8, UInt8)) {
    let r0 = max(0, cy - r)
    let r1 = min(height, cy + r + 1)
    guard r0 < r1 else { return }
    for row in r0..<r1 {
      let dy = row - cy
      let dx = isqrt(r * r - dy * dy)
      let x0 = max(0, cx - dx)
      let x1 = min(width, cx + dx + 1)
      guard x0 < x1 else { continue }
      (y + row * width + x0).update(repeating: colour.0, count: x1 - x0)
      if row & 1 == 0 && row / 2 < ch {
        let c0 = x0 / 2
        let c1 = min(cw, (x1 + 1) / 2)
        if c0 < c1 {
          (u + (row / 2) * cw + c0).update(repeating: colour.1, count: c1 - c0)
          (v + (row / 2) * cw + c0).update(repeating: colour.2, count: c1 - c0)
        }
      }
    }
  }
}

/// Integer square root (floor) of a non-negative value; 0 for negatives.
func isqrt(_ n: Int) -> Int {
  guard n > 0 else { return 0 }
  var x = n
  var y = (x + 1) / 2
  while y < x {
    x = y
    y = (x + n / x) / 2
  }
  return x
}
