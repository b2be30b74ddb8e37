// Conversion of camera layouts into I420, frame-sequence tracking, the fps meter, --format parsing.
import Wire

/// Converts camera layouts into I420 with tight strides (Y: width, U and V: width/2). The caller
/// guarantees even sizes and buffers large enough; nothing is allocated.
public enum V4L2Convert: Sendable {
  /// YUYV (`uyvy` false) or UYVY (`uyvy` true) 4:2:2, rows `srcStride` bytes apart, into I420.
  /// Chroma of each pair of rows is averaged, rounding half up.
  public static func packed422ToI420(
    _ src: UnsafePointer<UInt8>, srcStride: Int, width: Int, height: Int, uyvy: Bool,
    y: UnsafeMutablePointer<UInt8>, u: UnsafeMutablePointer<UInt8>, v: UnsafeMutablePointer<UInt8>
  ) {
    let yo = uyvy ? 1 : 0
    let uo = uyvy ? 0 : 1
    let vo = uyvy ? 2 : 3
    let cw = width / 2
    var row = 0
    while row + 1 < height {
      let s0 = src + row * srcStride
      let s1 = s0 + srcStride
      let y0 = y + row * width
      let y1 = y0 + width
      let ur = u + (row / 2) * cw
      let vr = v + (row / 2) * cw
      for i in 0..<cw {
        let p0 = s0 + 4 * i
        let p1 = s1 + 4 * i
        y0[2 * i] = p0[yo]
        y0[2 * i + 1] = p0[yo + 2]
        y1[2 * i] = p1[yo]
        y1[2 * i + 1] = p1[yo + 2]
        ur[i] = UInt8((UInt16(p0[uo]) + UInt16(p1[uo]) + 1) >> 1)
        vr[i] = UInt8((UInt16(p0[vo]) + UInt16(p1[vo]) + 1) >> 1)
      }
      row += 2
    }
  }

  /// NV12 (`swapped` false: U,V pairs) or NV21 (`swapped` true: V,U pairs) into I420. The Y plane
  /// has rows `yStride` apart, the interleaved chroma plane rows `uvStride` apart.
  public static func semiPlanarToI420(
    y srcY: UnsafePointer<UInt8>, yStride: Int, uv srcUV: UnsafePointer<UInt8>, uvStride: Int,
    width: Int, height: Int, swapped: Bool,
    y: UnsafeMutablePointer<UInt8>, u: UnsafeMutablePointer<UInt8>, v: UnsafeMutablePointer<UInt8>
  ) {
    for row in 0..<height {
      (y + row * width).update(from: srcY + row * yStride, count: width)
    }
    let cw = width / 2
    let first = swapped ? v : u
    let second = swapped ? u : v
    for row in 0..<(height / 2) {
      let s = srcUV + row * uvStride
      let a = first + row * cw
      let b = second + row * cw
      for i in 0..<cw {
        a[i] = s[2 * i]
        b[i] = s[2 * i + 1]
      }
    }
  }
}

/// Counts frames the driver dropped from gaps in v4l2_buffer.sequence (a 32-bit counter that
/// increases by one per captured frame, also for frames no buffer was free for).
public struct V4L2SequenceTracker: Equatable, Sendable {
  var last: UInt32? = nil
  /// Frames missing so far.
  public private(set) var dropped: UInt64 = 0

  public init() {}

  /// Records a dequeued buffer's sequence number and returns how many frames were missing
  /// before it. The counter may wrap; a repeat or a step backwards (a driver restart) counts
  /// nothing and restarts from there.
  @discardableResult
  public mutating func observe(_ sequence: UInt32) -> UInt32 {
    defer { last = sequence }
    guard let l = last else { return 0 }
    let gap = sequence &- l &- 1
    // a repeat gives 0xFFFFFFFF, a step backwards a huge gap: neither is a loss
    if gap >= 0x4000_0000 { return 0 }
    dropped += UInt64(gap)
    return gap
  }

  /// Forgets the last sequence number (after STREAMOFF/STREAMON the driver starts again at 0).
  public mutating func reset() { last = nil }
}

/// Measures the frame rate from capture timestamps: (frames − 1) / (last − first).
public struct FpsMeter: Equatable, Sendable {
  var first: UInt64 = 0
  var last: UInt64 = 0
  /// Frames recorded (64-bit: an `Int` would trap on 32-bit ARM after 2^31 frames, 2.3 years
  /// at 30 fps).
  public private(set) var frames: UInt64 = 0

  public init() {}

  public mutating func record(_ captureTimeNs: UInt64) {
    if frames == 0 { first = captureTimeNs }
    last = max(last, captureTimeNs)
    frames += 1
  }

  /// Frames per second × 1000, nil until two frames with different times were recorded.
  public var milliFps: Int? {
    guard frames >= 2, last > first else { return nil }
    return Self.milliFps(frames: frames, spanNs: last - first)
  }

  /// (frames - 1) per `spanNs` × 10^12. The product needs more than 64 bits after 18 million
  /// frames (a week at 30 fps), so it is computed at full width; clamped to `Int`.
  static func milliFps(frames: UInt64, spanNs: UInt64) -> Int {
    let product = (frames - 1).multipliedFullWidth(by: 1_000_000_000_000)
    guard product.high < spanNs else { return Int.max }  // the quotient would not fit in 64 bits
    return Int(clamping: spanNs.dividingFullWidth(product).quotient)
  }
}

/// "YUYV", "yu12", "I420" (an alias of YU12) → the pixel format, if V4L2Source can capture it.
public func parsePixelFormatOption(_ s: String) -> FourCC? {
  if s.asciiLowercased == "i420" { return .yu12 }
  guard let f = FourCC(s), V4L2PixelLayout(f) != nil else { return nil }
  return f
}
