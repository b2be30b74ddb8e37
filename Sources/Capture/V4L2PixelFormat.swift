// V4L2 capture: pixel format codes (FourCC) and the camera layouts rtcam turns into I420.
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
  /// H.264 byte stream: what a memory-to-memory encoder makes (bcm2835-codec).
  public static let h264 = FourCC(72, 50, 54, 52)
  /// The kernel's FWHT codec: what vicodec makes.
  public static let fwht = FourCC(70, 87, 72, 84)
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
