// JPEG decoding for MJPEG cameras: libjpeg-turbo's raw-data API into I420 planes the decoder
// owns (chroma reduced to 4:2:0 in place, samples mapped to limited range).
import CRTCam
import Wire

/// Decodes MJPEG frames (baseline or progressive, YCbCr 4:2:0, 4:2:2, 4:4:0, 4:4:4 or grey,
/// with or without Huffman tables, with restart markers) into I420 planes it owns. The planes
/// are allocated on the first frame and again only when a frame needs more room (a size change):
/// in steady state nothing is allocated by this type (libjpeg itself uses its own pools per
/// frame). Quantisation and Huffman tables a frame leaves out are the last ones defined, as in
/// libjpeg's abbreviated streams (with no DHT ever seen, the standard tables: what UVC MJPEG
/// relies on). Not thread-safe; one per capture thread.
public final class JpegDecoder {
  let handle: OpaquePointer
  /// Y, Cb, Cr planes at the frame's own sampling (whole MCUs); chroma is reduced to 4:2:0 in
  /// place after decoding.
  var storage: PlaneStorage? = nil
  var planes = rtc_jpeg_planes()
  /// Chroma planes of constant grey for single-component frames.
  var grey: PlaneStorage? = nil
  /// JPEG (JFIF) samples are full range (0-255); rtcam's frames, like cameras' YUV and what the
  /// H.264 stream signals, are limited range (luma 16-235, chroma 16-240). Applied after decoding.
  let lumaToLimited: [UInt8] = JpegRange.table(full: true, luma: true)
  let chromaToLimited: [UInt8] = JpegRange.table(full: true, luma: false)
  /// Frames decoded, and the time spent decoding them (for `probe`).
  public private(set) var decoded: UInt64 = 0
  public private(set) var decodeNs: UInt64 = 0

  /// Frames are at most this many pixels wide and high (V4L2's own bound; keeps plane sizes sane).
  public static let maxDimension = 8192

  public init() throws(JpegError) {
    guard let h = rtc_jpeg_decoder_new() else { throw .outOfMemory }
    handle = h
  }

  deinit { rtc_jpeg_decoder_free(handle) }

  /// Decodes one JPEG. The view points into this decoder's planes and is valid until the next
  /// call. Odd sizes are rounded down to even.
  public func decode(
    _ data: UnsafeRawBufferPointer, captureTimeNs: UInt64 = 0, sequence: UInt64 = 0
  ) throws(JpegError) -> FrameView {
    guard let base = data.baseAddress?.assumingMemoryBound(to: UInt8.self) else { throw .invalid("empty frame") }
    let t0 = rtc_monotonic_ns()
    var info = rtc_jpeg_info()
    var status = rtc_jpeg_decode(handle, base, data.count, &planes, &info)
    if status == RTC_JPEG_NEED_SPACE {
      guard info.width <= JpegDecoder.maxDimension, info.height <= JpegDecoder.maxDimension else {
        throw .unsupported("a " + String(Int(info.width)) + "x" + String(Int(info.height)) + " JPEG is larger than "
          + String(JpegDecoder.maxDimension) + " pixels a side")
      }
      allocate(info)
      status = rtc_jpeg_decode(handle, base, data.count, &planes, &info)
    }
    switch status {
    case RTC_JPEG_OK: break
    case RTC_JPEG_DAMAGED: throw .damaged(jpegMessage(&info.message))
    case RTC_JPEG_UNSUPPORTED: throw .unsupported(jpegMessage(&info.message))
    case RTC_JPEG_NEED_SPACE: throw .invalid("the JPEG needs more room than its header said")
    default: throw .invalid(jpegMessage(&info.message))
    }
    let view = try makeI420(info, captureTimeNs: captureTimeNs, sequence: sequence)
    decoded += 1
    decodeNs &+= rtc_monotonic_ns() &- t0
    return view
  }

  /// Mean decode time in microseconds (nil before the first frame).
  public var meanDecodeMicros: Int? {
    decoded == 0 ? nil : Int(clamping: decodeNs / decoded / 1000)
  }

  /// One allocation holding the three planes this frame's header asks for.
  func allocate(_ info: rtc_jpeg_info) {
    let need = [(info.need_stride.0, info.need_rows.0), (info.need_stride.1, info.need_rows.1),
                (info.need_stride.2, info.need_rows.2)]
    var total = 0
    for (s, r) in need { total += s * r }
    let s = PlaneStorage(count: total)
    var offset = 0
    var p = rtc_jpeg_planes()
    p.plane.0 = s.base
    p.stride.0 = need[0].0
    p.rows.0 = need[0].1
    offset += need[0].0 * need[0].1
    if need[1].0 > 0 {
      p.plane.1 = s.base + offset
      p.stride.1 = need[1].0
      p.rows.1 = need[1].1
      offset += need[1].0 * need[1].1
      p.plane.2 = s.base + offset
      p.stride.2 = need[2].0
      p.rows.2 = need[2].1
    }
    storage = s
    planes = p
  }

  /// Reduces the decoded chroma to 4:2:0 (in place) and describes the I420 frame.
  func makeI420(_ info: rtc_jpeg_info, captureTimeNs: UInt64, sequence: UInt64) throws(JpegError) -> FrameView {
    let w = Int(info.width) & ~1
    let h = Int(info.height) & ~1
    guard w >= 2, h >= 2, let y = planes.plane.0 else { throw .unsupported("a JPEG smaller than 2x2") }
    let cw = w / 2
    let ch = h / 2
    if info.components == 1 {
      if grey == nil || grey!.count < cw * ch * 2 {
        let g = PlaneStorage(count: cw * ch * 2)
        g.base.update(repeating: 128, count: cw * ch * 2)
        grey = g
      }
      let g = grey!.base
      JpegRange.apply(lumaToLimited, y, stride: planes.stride.0, width: w, height: h)
      return FrameView(width: w, height: h, y: UnsafePointer(y), u: UnsafePointer(g), v: UnsafePointer(g + cw * ch),
        yStride: planes.stride.0, uvStride: cw, captureTimeNs: captureTimeNs, sequence: sequence)
    }
    let hy = Int(info.h_samp.0), vy = Int(info.v_samp.0)
    let hc = Int(info.h_samp.1), vc = Int(info.v_samp.1)
    guard hc == Int(info.h_samp.2), vc == Int(info.v_samp.2), hc >= 1, vc >= 1, hy % hc == 0, vy % vc == 0 else {
      throw .unsupported("chroma sampling " + String(hy) + "x" + String(vy) + "," + String(hc) + "x" + String(vc)
        + "," + String(Int(info.h_samp.2)) + "x" + String(Int(info.v_samp.2)))
    }
    // how many decoded chroma samples make one I420 chroma sample, across and down
    let fx = 2 * hc / hy
    let fy = 2 * vc / vy
    guard let u = planes.plane.1, let v = planes.plane.2, fx >= 1, fy >= 1, fx <= 2, fy <= 2 else {
      throw .unsupported("chroma sampling " + String(hy) + "x" + String(vy) + "," + String(hc) + "x" + String(vc))
    }
    if fx != 1 || fy != 1 {
      JpegDecoder.reduce(u, stride: planes.stride.1, width: cw, height: ch, fx: fx, fy: fy)
      JpegDecoder.reduce(v, stride: planes.stride.2, width: cw, height: ch, fx: fx, fy: fy)
    }
    JpegRange.apply(lumaToLimited, y, stride: planes.stride.0, width: w, height: h)
    JpegRange.apply(chromaToLimited, u, stride: planes.stride.1, width: cw, height: ch)
    JpegRange.apply(chromaToLimited, v, stride: planes.stride.2, width: cw, height: ch)
    return FrameView(width: w, height: h, y: UnsafePointer(y), u: UnsafePointer(u), v: UnsafePointer(v),
      yStride: planes.stride.0, uvStride: planes.stride.1, captureTimeNs: captureTimeNs, sequence: sequence)
  }

  /// Averages `fx` x `fy` blocks of samples into one, in place (row r, column x takes rows
  /// r*fy..., columns x*fx...; every write lands at or before the samples still to be read).
  static func reduce(_ p: UnsafeMutablePointer<UInt8>, stride: Int, width: Int, height: Int, fx: Int, fy: Int) {
    for r in 0..<height {
      let dst = p + r * stride
      let s0 = p + r * fy * stride
      let s1 = fy == 2 ? s0 + stride : s0
      if fx == 2 {
        for x in 0..<width {
          let sum = UInt16(s0[2 * x]) + UInt16(s0[2 * x + 1]) + UInt16(s1[2 * x]) + UInt16(s1[2 * x + 1])
          dst[x] = UInt8((sum + 2) >> 2)
        }
      } else {
        for x in 0..<width { dst[x] = UInt8((UInt16(s0[x]) + UInt16(s1[x]) + 1) >> 1) }
      }
    }
  }
}
