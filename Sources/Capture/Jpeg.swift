// JPEG for MJPEG cameras (decode into I420, JpegDecoder.swift) and for stills and MJPEG streams
// (encode from I420, JpegEncoder.swift), through libjpeg-turbo's raw-data API: planes in, planes
// out, no colour conversion. The C shim (rtc_jpeg.h) only wraps libjpeg's calls and its
// setjmp-based error exit. Here: the errors and the sample-range conversion both directions share.
import CRTCam
import Wire

/// Why a JPEG could not be decoded or encoded.
public enum JpegError: Error, Equatable, Sendable {
  /// The frame ended early or its coded data is corrupt (libjpeg patched it; not used).
  case damaged(String)
  /// Not a JPEG, or broken beyond decoding.
  case invalid(String)
  /// A valid JPEG of a kind rtcam does not handle (RGB/CMYK, 4:1:1, odd sampling).
  case unsupported(String)
  /// The encoded picture did not fit into the output buffer.
  case tooLarge(String)
  /// libjpeg could not be set up (out of memory).
  case outOfMemory

  public var code: String {
    switch self {
    case .damaged: return "JPEG_DAMAGED"
    case .invalid: return "JPEG_INVALID"
    case .unsupported: return "JPEG_UNSUPPORTED"
    case .tooLarge: return "JPEG_TOO_LARGE"
    case .outOfMemory: return "OUT_OF_MEMORY"
    }
  }

  public var message: String {
    switch self {
    case .damaged(let m), .invalid(let m), .unsupported(let m), .tooLarge(let m): return m
    case .outOfMemory: return "out of memory for libjpeg"
    }
  }
}

/// The text libjpeg left in a fixed C buffer.
func jpegMessage<T>(_ buffer: inout T) -> String {
  withUnsafeBytes(of: &buffer) { raw in
    let bytes = raw.bindMemory(to: UInt8.self)
    var n = 0
    while n < bytes.count && bytes[n] != 0 { n += 1 }
    return String(decoding: UnsafeBufferPointer(rebasing: bytes[0..<n]), as: UTF8.self)
  }
}

/// A NUL-terminated C string as text.
func cString(_ p: UnsafePointer<CChar>) -> String {
  var n = 0
  while p[n] != 0 { n += 1 }
  return p.withMemoryRebound(to: UInt8.self, capacity: n) { String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self) }
}

/// Conversion between JPEG's full-range samples and the limited range of video (BT.601: luma
/// 16-235, chroma 16-240 around 128), through 256-entry tables.
enum JpegRange {
  /// `full`: the table takes full-range samples to limited range; else limited to full (clamped).
  static func table(full: Bool, luma: Bool) -> [UInt8] {
    var t = [UInt8](repeating: 0, count: 256)
    let span = luma ? 219 : 224
    for i in 0..<256 {
      let v: Int
      if full {
        v = luma ? 16 + (i * span + 127) / 255 : 128 + ((i - 128) * span + (i >= 128 ? 127 : -127)) / 255
      } else {
        let d = luma ? i - 16 : i - 128
        let scaled = (d * 255 + (d >= 0 ? span / 2 : -span / 2)) / span
        v = luma ? scaled : 128 + scaled
      }
      t[i] = UInt8(min(max(v, 0), 255))
    }
    return t
  }

  /// Maps `width` x `height` samples in place.
  static func apply(_ t: [UInt8], _ p: UnsafeMutablePointer<UInt8>, stride: Int, width: Int, height: Int) {
    t.withUnsafeBufferPointer { lut in
      for r in 0..<height {
        let row = p + r * stride
        for x in 0..<width { row[x] = lut[Int(row[x])] }
      }
    }
  }

  /// Maps `width` x `height` samples in place and repeats each row's last sample into the
  /// padding up to `stride`.
  static func applyPadding(_ t: [UInt8], _ p: UnsafeMutablePointer<UInt8>, stride: Int, width: Int, height: Int) {
    t.withUnsafeBufferPointer { lut in
      for r in 0..<height {
        let row = p + r * stride
        for x in 0..<width { row[x] = lut[Int(row[x])] }
        if width > 0 { for x in width..<stride { row[x] = row[width - 1] } }
      }
    }
  }
}
