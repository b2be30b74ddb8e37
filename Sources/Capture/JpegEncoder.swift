// JPEG encoding for /snapshot.jpg and /stream.mjpg: an I420 picture in the layout libjpeg reads
// (JpegPicture), and the encoder that turns it into a baseline 4:2:0 JPEG (JpegEncoder).
import CRTCam
import Wire

/// One I420 picture laid out the way libjpeg reads it: rows padded to whole 16-pixel blocks
/// (libjpeg reads 8x8 blocks, also past the right edge). `copy(from:)` fills it with a plain copy
/// of the frame's rows, cheap enough for the capture thread; `JpegEncoder.encode` then maps the
/// samples to JPEG's full range in place, fills the padding, and encodes, on the JPEG thread. So a
/// still costs one copy of the frame. The memory is allocated when the size changes, not per
/// picture. Not thread-safe: hand it between threads with an ordering of your own.
public final class JpegPicture {
  public private(set) var width = 0
  public private(set) var height = 0
  var storage: PlaneStorage? = nil
  /// The samples are full range and the padding filled (ready for libjpeg).
  var prepared = false

  public init() {}

  /// Bytes from one luma row to the next (the width rounded up to a whole block).
  var lumaStride: Int { (width + 15) & ~15 }
  var chromaStride: Int { lumaStride / 2 }

  var y: UnsafeMutablePointer<UInt8>? { storage?.base }
  var u: UnsafeMutablePointer<UInt8>? { storage.map { $0.base + lumaStride * height } }
  var v: UnsafeMutablePointer<UInt8>? { u.map { $0 + chromaStride * (height / 2) } }

  /// Copies `frame`'s planes (row by row: the frame's strides may differ). Allocates only when the
  /// size differs from the last picture's.
  public func copy(from frame: FrameView) {
    if storage == nil || frame.width != width || frame.height != height {
      width = frame.width
      height = frame.height
      storage = PlaneStorage(count: lumaStride * height + 2 * chromaStride * (height / 2))
    }
    guard let y, let u, let v else { return }
    JpegPicture.copyRows(from: frame.y, stride: frame.yStride, to: y, stride: lumaStride, width: width, height: height)
    let cw = width / 2, ch = height / 2
    JpegPicture.copyRows(from: frame.u, stride: frame.uvStride, to: u, stride: chromaStride, width: cw, height: ch)
    JpegPicture.copyRows(from: frame.v, stride: frame.uvStride, to: v, stride: chromaStride, width: cw, height: ch)
    prepared = false
  }

  static func copyRows(from: UnsafePointer<UInt8>, stride fs: Int, to: UnsafeMutablePointer<UInt8>, stride ts: Int,
                       width: Int, height: Int) {
    if fs == ts {
      to.update(from: from, count: ts * max(height - 1, 0) + width)
      return
    }
    for r in 0..<height { (to + r * ts).update(from: from + r * fs, count: width) }
  }

  /// Maps the samples from video's limited range to JPEG's full range in place and repeats each
  /// row's last sample into its padding. Once per copy.
  func prepare(luma: [UInt8], chroma: [UInt8]) {
    guard !prepared, let y, let u, let v else { return }
    let cw = width / 2, ch = height / 2
    JpegRange.applyPadding(luma, y, stride: lumaStride, width: width, height: height)
    JpegRange.applyPadding(chroma, u, stride: chromaStride, width: cw, height: ch)
    JpegRange.applyPadding(chroma, v, stride: chromaStride, width: cw, height: ch)
    prepared = true
  }
}

/// Encodes I420 pictures as baseline 4:2:0 JPEGs into a buffer it owns (allocated for the first
/// picture of a size and reused). Not thread-safe; one per encoding thread.
public final class JpegEncoder {
  let handle: OpaquePointer
  var output: PlaneStorage? = nil
  /// For `encode(_ frame:)`: the frame copied into libjpeg's layout.
  let own = JpegPicture()
  let lumaToFull: [UInt8] = JpegRange.table(full: false, luma: true)
  let chromaToFull: [UInt8] = JpegRange.table(full: false, luma: false)
  /// libjpeg's message on failure (allocated once: nothing is allocated per picture here).
  let message = UnsafeMutablePointer<CChar>.allocate(capacity: 200)

  /// Qualities accepted (libjpeg's scale).
  public static let qualityRange = 1...100

  public init() throws(JpegError) {
    guard let h = rtc_jpeg_encoder_new() else { throw .outOfMemory }
    handle = h
    message.initialize(repeating: 0, count: 200)
  }

  deinit {
    rtc_jpeg_encoder_free(handle)
    message.deallocate()
  }

  /// Room for one encoded picture: twice the pixel count plus headers (even noise at quality 100
  /// stays below 1.5 bytes a pixel in 4:2:0).
  static func capacity(width: Int, height: Int) -> Int { 2 * width * height + 65536 }

  /// Encodes `frame` at `quality` (clamped to 1...100), copying it once into libjpeg's layout
  /// (the frame itself stays untouched). The bytes are valid until the next call.
  public func encode(_ frame: FrameView, quality: Int) throws(JpegError) -> UnsafeRawBufferPointer {
    own.copy(from: frame)
    return try encode(own, quality: quality)
  }

  /// Encodes `picture` at `quality` (clamped to 1...100); its samples are converted to full range
  /// in place first (once per copy). The bytes are valid until the next call.
  public func encode(_ picture: JpegPicture, quality: Int) throws(JpegError) -> UnsafeRawBufferPointer {
    let q = min(max(quality, JpegEncoder.qualityRange.lowerBound), JpegEncoder.qualityRange.upperBound)
    let w = picture.width, h = picture.height
    guard w >= 2, h >= 2 else { throw .invalid("no picture to encode") }
    let cap = JpegEncoder.capacity(width: w, height: h)
    if output == nil || output!.count < cap { output = PlaneStorage(count: cap) }
    guard let out = output?.base else { throw .outOfMemory }
    picture.prepare(luma: lumaToFull, chroma: chromaToFull)
    guard let y = picture.y, let u = picture.u, let v = picture.v else { throw .outOfMemory }
    var n = 0
    let status = rtc_jpeg_encode_i420(handle, UnsafePointer(y), UnsafePointer(u), UnsafePointer(v), picture.lumaStride,
      picture.chromaStride, Int32(w), Int32(h), Int32(q), out, cap, &n, message)
    switch status {
    case RTC_JPEG_OK: return UnsafeRawBufferPointer(start: out, count: n)
    case RTC_JPEG_NEED_SPACE: throw .tooLarge(cString(message))
    default: throw .invalid(cString(message))
    }
  }
}
