import CRTCam
import Capture
import TestSupport
import Encoder

/// One NAL unit of an Annex-B stream: its type and its bytes after the start code.
struct NAL {
  var type: UInt8 { bytes.first.map { $0 & 0x1F } ?? 0 }
  var bytes: [UInt8]
}

/// Splits an Annex-B byte stream on 3- or 4-byte start codes.
func splitAnnexB(_ b: [UInt8]) -> [NAL] {
  var starts: [(Int, Int)] = []  // (start code position, payload position)
  var i = 0
  while i + 3 <= b.count {
    if b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1 {
      let codeStart = (i > 0 && b[i - 1] == 0) ? i - 1 : i
      starts.append((codeStart, i + 3))
      i += 3
    } else {
      i += 1
    }
  }
  var out: [NAL] = []
  for (k, s) in starts.enumerated() {
    let end = k + 1 < starts.count ? starts[k + 1].0 : b.count
    out.append(NAL(bytes: Array(b[s.1..<end])))
  }
  return out
}

/// OpenH264's decoder, to check what the encoder produced.
final class TestDecoder {
  let handle: UnsafeMutablePointer<ISVCDecoder?>

  init?() {
    var d: UnsafeMutablePointer<ISVCDecoder?>? = nil
    guard WelsCreateDecoder(&d) == 0, let h = d, let vt = h.pointee?.pointee, let initialize = vt.Initialize else {
      return nil
    }
    handle = h
    var level = Int32(WELS_LOG_QUIET)
    _ = vt.SetOption?(h, DECODER_OPTION_TRACE_LEVEL, &level)
    var p = SDecodingParam()
    p.sVideoProperty.eVideoBsType = VIDEO_BITSTREAM_AVC
    guard initialize(h, &p) == 0 else { return nil }
  }

  deinit {
    _ = handle.pointee?.pointee.Uninitialize?(handle)
    WelsDestroyDecoder(handle)
  }

  /// Decodes one access unit; returns the luma plane (tightly packed) when a picture came out.
  func decode(_ au: [UInt8]) -> (luma: [UInt8], width: Int, height: Int)? {
    guard let decodeNoDelay = handle.pointee?.pointee.DecodeFrameNoDelay else { return nil }
    var planes = [UnsafeMutablePointer<UInt8>?](repeating: nil, count: 3)
    var info = SBufferInfo()
    let state = au.withUnsafeBufferPointer { b in
      decodeNoDelay(handle, b.baseAddress, Int32(b.count), &planes, &info)
    }
    guard state == dsErrorFree, info.iBufferStatus == 1, let y = planes[0] else { return nil }
    let w = Int(info.UsrData.sSystemBuffer.iWidth)
    let h = Int(info.UsrData.sSystemBuffer.iHeight)
    let stride = Int(info.UsrData.sSystemBuffer.iStride.0)
    var luma: [UInt8] = []
    luma.reserveCapacity(w * h)
    for r in 0..<h { luma.append(contentsOf: UnsafeBufferPointer(start: y + r * stride, count: w)) }
    return (luma, w, h)
  }
}

/// The test pattern with pseudo-random noise (±12 luma/chroma levels) on every pixel: content
/// busy enough that the rate control, not the picture, decides the bitrate.
struct NoisyPattern: FrameSource {
  var base: TestPattern
  var buffer: [UInt8]
  var state: UInt64 = 0x9E37_79B9_7F4A_7C15

  init(width: Int, height: Int, fps: Int, clock: CaptureClock) {
    base = TestPattern(width: width, height: height, fps: fps, clock: clock)
    buffer = [UInt8](repeating: 0, count: width * height * 3 / 2)
  }

  var width: Int { base.width }
  var height: Int { base.height }
  var fps: Int { base.fps }
  var description: String { "noisy " + base.description }

  mutating func nextFrame() throws(CaptureError) -> FrameView {
    var f = try base.nextFrame()
    let n = buffer.count
    var s = state
    buffer.withUnsafeMutableBufferPointer { b in
      for i in 0..<n {  // the pattern's planes are contiguous with tight strides
        s ^= s << 13
        s ^= s >> 7
        s ^= s << 17
        b[i] = UInt8(clamping: Int(f.y[i]) + Int(s % 25) - 12)
      }
    }
    state = s
    // the array's storage is not reallocated while this source lives (no appends)
    let p = buffer.withUnsafeBufferPointer { $0.baseAddress! }
    f.y = p
    f.u = p + width * height
    f.v = p + width * height + (width / 2) * (height / 2)
    return f
  }
}

/// The fields of a baseline-profile sequence parameter set (ITU-T H.264 §7.3.2.1.1) that the
/// tests check, read with an exp-Golomb bit reader after removing emulation prevention bytes.
struct ParsedSps {
  var profileIdc: UInt8
  var constraintFlags: UInt8
  var levelIdc: UInt8
  var width: Int
  var height: Int
  var frameMbsOnly: Bool
  var direct8x8Inference: Bool
  /// log2_max_frame_num_minus4 + 4: the bits of a slice header's frame_num.
  var log2MaxFrameNum: Int
  var maxNumRefFrames: Int
  /// gaps_in_frame_num_value_allowed_flag (§7.4.2.1.1): whether a decoder may take a jump in
  /// frame_num (pictures left out on purpose) for something other than loss.
  var gapsInFrameNumAllowed: Bool

  struct Truncated: Error {}

  struct Bits {
    var bytes: [UInt8]
    var pos = 0
    mutating func bit() throws -> Int {
      guard pos / 8 < bytes.count else { throw Truncated() }
      let b = Int(bytes[pos / 8] >> (7 - UInt8(pos % 8))) & 1
      pos += 1
      return b
    }
    mutating func bits(_ n: Int) throws -> Int {
      var v = 0
      for _ in 0..<n { v = v << 1 | (try bit()) }
      return v
    }
    mutating func ue() throws -> Int {
      var zeros = 0
      while try bit() == 0 {
        zeros += 1
        guard zeros < 32 else { throw Truncated() }
      }
      return (1 << zeros) - 1 + (try bits(zeros))
    }
    mutating func se() throws -> Int {
      let k = try ue()
      return k % 2 == 1 ? (k + 1) / 2 : -(k / 2)
    }
  }

  /// `nal` starts with the NAL header byte (0x67).
  init(_ nal: [UInt8]) throws {
    var r = Bits(bytes: rbsp(nal))
    profileIdc = UInt8(try r.bits(8))
    constraintFlags = UInt8(try r.bits(8))
    levelIdc = UInt8(try r.bits(8))
    _ = try r.ue()  // seq_parameter_set_id
    guard ![100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].contains(Int(profileIdc)) else {
      throw Truncated()  // high profiles carry chroma fields this reader does not need
    }
    log2MaxFrameNum = try r.ue() + 4
    let pocType = try r.ue()
    if pocType == 0 {
      _ = try r.ue()
    } else if pocType == 1 {
      _ = try r.bit()
      _ = try r.se()
      _ = try r.se()
      let n = try r.ue()
      for _ in 0..<n { _ = try r.se() }
    }
    maxNumRefFrames = try r.ue()
    gapsInFrameNumAllowed = try r.bit() == 1
    let mbW = try r.ue() + 1
    let mapH = try r.ue() + 1
    frameMbsOnly = try r.bit() == 1
    if !frameMbsOnly { _ = try r.bit() }
    direct8x8Inference = try r.bit() == 1
    var crop = (left: 0, right: 0, top: 0, bottom: 0)
    if try r.bit() == 1 {
      crop = (try r.ue(), try r.ue(), try r.ue(), try r.ue())
    }
    // 4:2:0: crop units are 2 luma samples in each direction (times 2 vertically for fields)
    let unitY = frameMbsOnly ? 2 : 4
    width = mbW * 16 - 2 * (crop.left + crop.right)
    height = mapH * 16 * (frameMbsOnly ? 1 : 2) - unitY * (crop.top + crop.bottom)
  }
}

/// The RBSP of a NAL unit (`nal` starts with its header byte): the bytes after the header with
/// the emulation prevention bytes (00 00 03) taken out (ITU-T H.264 §7.4.1).
func rbsp(_ nal: [UInt8]) -> [UInt8] {
  var out: [UInt8] = []
  var zeros = 0
  for b in nal.dropFirst() {
    if zeros >= 2 && b == 3 { zeros = 0; continue }
    zeros = b == 0 ? zeros + 1 : 0
    out.append(b)
  }
  return out
}

/// What the tests read of a coded slice (NAL types 1 and 5): nal_ref_idc from the NAL header
/// (§7.4.1: 0 = not a reference picture) and frame_num from the slice header (§7.3.3: after
/// first_mb_in_slice, slice_type and pic_parameter_set_id; baseline has no colour planes).
struct ParsedSlice {
  var nalRefIdc: UInt8
  var frameNum: Int

  init(_ nal: [UInt8], log2MaxFrameNum: Int) throws {
    guard let header = nal.first else { throw ParsedSps.Truncated() }
    nalRefIdc = (header >> 5) & 3
    var r = ParsedSps.Bits(bytes: rbsp(nal))
    _ = try r.ue()  // first_mb_in_slice
    _ = try r.ue()  // slice_type
    _ = try r.ue()  // pic_parameter_set_id
    frameNum = try r.bits(log2MaxFrameNum)
  }
}

/// `nal` (an SPS, from its header byte on) with gaps_in_frame_num_value_allowed_flag cleared:
/// the one bit after max_num_ref_frames (§7.3.2.1.1), so no other field moves. For the tests'
/// negative control; OpenH264's SPS holds no emulation prevention byte before that bit.
func clearingGapsAllowed(_ nal: [UInt8]) throws -> [UInt8] {
  var r = ParsedSps.Bits(bytes: rbsp(nal))
  _ = try r.bits(24)  // profile_idc, constraint flags, level_idc
  _ = try r.ue()  // seq_parameter_set_id
  _ = try r.ue()  // log2_max_frame_num_minus4
  switch try r.ue() {  // pic_order_cnt_type
  case 0: _ = try r.ue()
  case 2: break
  default: throw ParsedSps.Truncated()  // type 1 is not what OpenH264 writes
  }
  _ = try r.ue()  // max_num_ref_frames
  guard Array(rbsp(nal).prefix(r.pos / 8 + 1)) == Array(nal.dropFirst().prefix(r.pos / 8 + 1)) else {
    throw ParsedSps.Truncated()  // an emulation prevention byte before the flag
  }
  var out = nal
  out[1 + r.pos / 8] &= ~(UInt8(0x80) >> UInt8(r.pos % 8))
  return out
}

/// A camera-like picture for keyframe sizes: a fixed fine texture (pseudo-random ±20 luma levels,
/// the same every frame) panning one pixel a frame over the test pattern. Costly to code as an
/// intra picture, cheap to predict from the previous one, as a camera's scene is: the case where
/// the size of a keyframe relative to the P frames shows.
struct TexturedPattern: FrameSource {
  var base: TestPattern
  var texture: [Int8]
  var buffer: [UInt8]
  var shift = 0

  init(width: Int, height: Int, fps: Int, clock: CaptureClock, amplitude: Int = 20) {
    base = TestPattern(width: width, height: height, fps: fps, clock: clock)
    // twice as wide as the picture, so the pan never wraps within a test
    var s: UInt64 = 0x2545_F491_4F6C_DD1D
    texture = (0..<(2 * width * height)).map { _ in
      s ^= s << 13
      s ^= s >> 7
      s ^= s << 17
      return Int8(Int(s % UInt64(2 * amplitude + 1)) - amplitude)
    }
    buffer = [UInt8](repeating: 0, count: width * height * 3 / 2)
  }

  var width: Int { base.width }
  var height: Int { base.height }
  var fps: Int { base.fps }
  var description: String { "textured " + base.description }

  mutating func nextFrame() throws(CaptureError) -> FrameView {
    var f = try base.nextFrame()
    let (w, h, dx) = (width, height, shift % width)
    let chroma = w * h / 2
    texture.withUnsafeBufferPointer { t in
      buffer.withUnsafeMutableBufferPointer { b in
        for row in 0..<h {
          for col in 0..<w { b[row * w + col] = UInt8(clamping: Int(f.y[row * f.yStride + col]) + Int(t[row * 2 * w + col + dx])) }
        }
        for i in 0..<(chroma / 2) {
          b[w * h + i] = f.u[i]
          b[w * h + chroma / 2 + i] = f.v[i]
        }
      }
    }
    shift += 1
    // the array's storage is not reallocated while this source lives (no appends)
    let p = buffer.withUnsafeBufferPointer { $0.baseAddress! }
    f.y = p
    f.u = p + w * h
    f.v = p + w * h + chroma / 2
    f.yStride = w
    f.uvStride = w / 2
    return f
  }
}
