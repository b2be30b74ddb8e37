// H264Sps: the fields of an H.264 sequence parameter set that recording needs (ITU-T H.264
// 7.3.2.1.1): profile and level for avcC, chroma format and bit depths for high profiles'
// avcC extension, and the cropped picture size for tkhd and avc1.

/// What the recording core reads from an SPS.
public struct H264Sps: Equatable, Sendable {
  /// profile_idc (66 Baseline, 77 Main, 100 High, ...).
  public var profileIdc: UInt8
  /// constraint_set0..5 flags and the two reserved bits, as the byte after profile_idc.
  public var constraintFlags: UInt8
  /// level_idc (31: level 3.1).
  public var levelIdc: UInt8
  /// 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4 (1 unless a high profile says otherwise).
  public var chromaFormatIdc: Int
  /// Bits per luma sample (8 unless a high profile says more).
  public var bitDepthLuma: Int
  /// Bits per chroma sample.
  public var bitDepthChroma: Int
  /// The displayed picture size: macroblocks minus the frame cropping.
  public var width: Int
  /// The displayed picture height, lines.
  public var height: Int

  /// Profiles whose SPS carries chroma_format_idc, bit depths and scaling matrices (H.264
  /// 7.3.2.1.1: the `profile_idc == 100 || ...` list).
  static let highProfiles: [UInt8] = [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]

  /// Bound on the picture: 1024 macroblocks (16384 pixels) each way, more than any level of
  /// H.264 allows (level 6.2: 139264 macroblocks in all); keeps width*16 from overflowing and
  /// rejects garbage early.
  static let maxMacroblocks: UInt32 = 1024

  /// Parses an SPS NAL unit (header byte first, emulation prevention bytes still in).
  public static func parse(_ nal: UnsafeRawBufferPointer) throws(RecordError) -> H264Sps {
    guard nal.count >= 4, nal[0] & 0x1F == 7 else { throw .badSps }
    let profile = nal[1]
    var r = NalBitReader(nal, start: 4)
    _ = try r.ue(max: 31)  // seq_parameter_set_id
    var chroma = 1
    var separateColourPlanes = false
    var depthLuma = 8
    var depthChroma = 8
    var i = 0
    while i < highProfiles.count {
      if highProfiles[i] == profile {
        chroma = try r.ue(max: 3)
        if chroma == 3 { separateColourPlanes = try r.flag() }
        depthLuma = 8 + (try r.ue(max: 6))
        depthChroma = 8 + (try r.ue(max: 6))
        _ = try r.flag()  // qpprime_y_zero_transform_bypass_flag
        if try r.flag() {  // seq_scaling_matrix_present_flag
          let lists = chroma == 3 ? 12 : 8
          var k = 0
          while k < lists {
            if try r.flag() { try skipScalingList(&r, size: k < 6 ? 16 : 64) }
            k += 1
          }
        }
        break
      }
      i += 1
    }
    _ = try r.ue(max: 12)  // log2_max_frame_num_minus4
    let pocType = try r.ue(max: 2)
    if pocType == 0 {
      _ = try r.ue(max: 12)  // log2_max_pic_order_cnt_lsb_minus4
    } else if pocType == 1 {
      _ = try r.flag()  // delta_pic_order_always_zero_flag
      _ = try r.se(bound: Int32.max)  // offset_for_non_ref_pic
      _ = try r.se(bound: Int32.max)  // offset_for_top_to_bottom_field
      let cycle = try r.ue(max: 255)
      var k = 0
      while k < cycle {
        _ = try r.se(bound: Int32.max)  // offset_for_ref_frame[k]
        k += 1
      }
    }
    _ = try r.ue(max: 16)  // max_num_ref_frames
    _ = try r.flag()  // gaps_in_frame_num_value_allowed_flag
    let widthMbs = try r.ue(max: maxMacroblocks - 1) + 1
    let heightMapUnits = try r.ue(max: maxMacroblocks - 1) + 1
    let frameMbsOnly = try r.flag()
    if !frameMbsOnly { _ = try r.flag() }  // mb_adaptive_frame_field_flag
    _ = try r.flag()  // direct_8x8_inference_flag
    // field coding: a map unit is a pair of macroblocks one above the other
    let heightMbs = heightMapUnits * (frameMbsOnly ? 1 : 2)
    guard heightMbs <= Int(maxMacroblocks) else { throw .badSps }
    var width = widthMbs * 16
    var height = heightMbs * 16
    if try r.flag() {  // frame_cropping_flag
      let left = try r.ue(max: 8192)
      let right = try r.ue(max: 8192)
      let top = try r.ue(max: 8192)
      let bottom = try r.ue(max: 8192)
      // H.264 7.4.2.1.1: crop units from ChromaArrayType (0 when monochrome or 4:4:4 coded as
      // separate planes) and SubWidthC/SubHeightC (table 6-1).
      let arrayType = separateColourPlanes ? 0 : chroma
      var unitX = 1
      var unitY = frameMbsOnly ? 1 : 2
      if arrayType != 0 {
        unitX = arrayType == 3 ? 1 : 2
        unitY *= arrayType == 1 ? 2 : 1
      }
      width -= unitX * (left + right)
      height -= unitY * (top + bottom)
    }
    guard width > 0, height > 0 else { throw .badSps }
    return H264Sps(
      profileIdc: profile, constraintFlags: nal[2], levelIdc: nal[3], chromaFormatIdc: chroma,
      bitDepthLuma: depthLuma, bitDepthChroma: depthChroma, width: width, height: height)
  }

  /// Parses an SPS held in an array.
  public static func parse(_ nal: [UInt8]) throws(RecordError) -> H264Sps {
    var result: Result<H264Sps, RecordError> = .failure(.badSps)
    nal.withUnsafeBytes { b in
      do throws(RecordError) {
        result = .success(try parse(b))
      } catch {
        result = .failure(error)
      }
    }
    return try result.get()
  }

  /// Reads past one scaling_list() (H.264 7.3.2.1.1.1): only its presence matters here, but
  /// its delta_scale codes must be read to find the fields after it.
  static func skipScalingList(_ r: inout NalBitReader, size: Int) throws(RecordError) {
    var last: Int32 = 8
    var next: Int32 = 8
    var j = 0
    while j < size {
      if next != 0 {
        let delta = try r.se(bound: 128)  // delta_scale: -128...127
        next = (last + delta + 256) % 256
      }
      if next != 0 { last = next }
      j += 1
    }
  }
}
