/// The machine-readable strip at the top of the test pattern: a 64-bit word carrying the capture
/// wall-clock time and a frame counter, drawn as black/white luma blocks big enough to survive
/// H.264 coding, so a decoded frame or a screenshot tells when it was captured.
///
/// Layout (depends only on the frame width):
/// - The word is `unixMs << 16 | frame`: a 48-bit wall-clock time in milliseconds since the Unix
///   epoch (CLOCK_REALTIME / 1e6) followed by a 16-bit frame counter (sequence mod 65536). Bit 63
///   (the MSB) is sent first.
/// - `blocksPerRow` is the largest of 64, 32, 16, 8 with `width / blocksPerRow >= 8`; each block is
///   `blockWidth = width / blocksPerRow` pixels wide (at 640: 64 blocks of 10 px) and `blockHeight`
///   rows tall (16 when 64 blocks fit in a row, else 8). Pixels right of `blocksPerRow * blockWidth`
///   are not part of the strip.
/// - The 64 bits fill `dataBands = 64 / blocksPerRow` bands of blocks, left to right, top band first,
///   starting at row 0. Bit i is at band i / blocksPerRow, column i % blocksPerRow.
/// - Below the data bands, the same number of bands carries the complement of every bit, block for
///   block. The strip is therefore `2 * dataBands * blockHeight` rows tall (32 at 640x480).
/// - A 1 bit is luma 235 (white), a 0 bit luma 16 (black). The test pattern sets chroma to 128 (grey)
///   under the strip; the decoder looks at luma only.
/// - Decoding averages the inside of every block (2 px in from the left/right edges, 2 rows in
///   from the top/bottom), thresholds at 126, and requires every bit and its complement to differ
///   by at least 64 levels; otherwise the frame carries no strip and decoding returns nil.
public struct TimestampStrip: Equatable, Sendable {
  public let blocksPerRow: Int
  public let blockWidth: Int
  public let blockHeight: Int
  /// Bands holding the data bits (the complement uses as many again).
  public let dataBands: Int

  /// Luma of a 1 bit and of a 0 bit.
  public static let white: UInt8 = 235
  public static let black: UInt8 = 16

  /// The layout for frames `width` pixels wide; nil when narrower than 64 pixels.
  public init?(width: Int) {
    var bpr = 64
    while bpr >= 8 && width / bpr < 8 { bpr /= 2 }
    guard bpr >= 8 else { return nil }
    blocksPerRow = bpr
    blockWidth = width / bpr
    blockHeight = bpr == 64 ? 16 : 8
    dataBands = 64 / bpr
  }

  /// Rows used by the strip from the top of the frame (data and complement bands).
  public var height: Int { 2 * dataBands * blockHeight }

  /// The 64-bit word for a timestamp and a frame counter (the time is truncated to 48 bits).
  public static func word(unixMs: UInt64, frame: UInt16) -> UInt64 {
    (unixMs & 0xFFFF_FFFF_FFFF) << 16 | UInt64(frame)
  }

  /// Draws the strip into a luma plane (at least `height` rows of `stride` bytes).
  public func draw(luma: UnsafeMutablePointer<UInt8>, stride: Int, unixMs: UInt64, frame: UInt16) {
    let w = TimestampStrip.word(unixMs: unixMs, frame: frame)
    for i in 0..<64 {
      let bit = (w >> UInt64(63 - i)) & 1 == 1
      let x = (i % blocksPerRow) * blockWidth
      let band = i / blocksPerRow
      fill(luma, stride, x, band * blockHeight, bit ? TimestampStrip.white : TimestampStrip.black)
      fill(luma, stride, x, (band + dataBands) * blockHeight, bit ? TimestampStrip.black : TimestampStrip.white)
    }
  }

  private func fill(_ luma: UnsafeMutablePointer<UInt8>, _ stride: Int, _ x: Int, _ y: Int, _ value: UInt8) {
    for row in y..<(y + blockHeight) {
      (luma + row * stride + x).update(repeating: value, count: blockWidth)
    }
  }

  /// Reads the strip back. nil when the frame is too small or any block is ambiguous.
  public func decode(luma: UnsafePointer<UInt8>, width: Int, height: Int, stride: Int) -> (unixMs: UInt64, frame: UInt16)? {
    guard width >= blocksPerRow * blockWidth, stride >= width, height >= self.height else { return nil }
    var w: UInt64 = 0
    for i in 0..<64 {
      let x = (i % blocksPerRow) * blockWidth
      let band = i / blocksPerRow
      let a = average(luma, stride, x, band * blockHeight)
      let b = average(luma, stride, x, (band + dataBands) * blockHeight)
      let diff = a > b ? a - b : b - a
      guard diff >= 64 else { return nil }
      let bit = a >= 126
      guard bit == (b < 126) else { return nil }
      w = w << 1 | (bit ? 1 : 0)
    }
    return (unixMs: w >> 16, frame: UInt16(truncatingIfNeeded: w))
  }

  private func average(_ luma: UnsafePointer<UInt8>, _ stride: Int, _ x: Int, _ y: Int) -> Int {
    var sum = 0
    var n = 0
    for row in (y + 2)..<(y + blockHeight - 2) {
      let p = luma + row * stride
      for col in (x + 2)..<(x + blockWidth - 2) {
        sum += Int(p[col])
        n += 1
      }
    }
    return n > 0 ? sum / n : 0
  }
}

/// Reads the timestamp strip (see `TimestampStrip` for the layout) from a luma plane.
/// Returns the 48-bit wall-clock milliseconds and the 16-bit frame counter, or nil when the plane
/// carries no readable strip.
public func decodeTimestampStrip(luma: UnsafePointer<UInt8>, width: Int, height: Int, stride: Int) -> (unixMs: UInt64, frame: UInt16)? {
  guard let strip = TimestampStrip(width: width) else { return nil }
  return strip.decode(luma: luma, width: width, height: height, stride: stride)
}

/// Same as the pointer version, for a luma plane held in an array (bounds are checked).
public func decodeTimestampStrip(luma: [UInt8], width: Int, height: Int, stride: Int) -> (unixMs: UInt64, frame: UInt16)? {
  guard let strip = TimestampStrip(width: width), width > 0, stride >= width, height >= strip.height else { return nil }
  // only the strip rows are read
  guard luma.count >= stride * (strip.height - 1) + width else { return nil }
  return luma.withUnsafeBufferPointer { b in
    guard let base = b.baseAddress else { return nil }
    return strip.decode(luma: base, width: width, height: strip.height, stride: stride)
  }
}
