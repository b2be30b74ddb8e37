// Encoder: what the M2M encoder reads in a coded frame (picture or header, keyframe) and the one
// rewrite it makes (the SPS's profile and level), in place.

/// What the encoder looks at in a coded frame.
public enum M2MBitstream {
  /// Walks the Annex-B NAL units of `au`: whether one is a picture (slice, NAL type 1 or 5) and
  /// whether one is an IDR (type 5), rewriting every SPS to the signalled profile and level
  /// (`conformSps`) on the way. In place, no allocation.
  public static func inspect(_ au: UnsafeMutableRawBufferPointer) -> (hasPicture: Bool, isIdr: Bool) {
    var picture = false, idr = false
    let n = au.count
    var i = 0
    var start = -1  // the first byte of the current NAL's start code
    while i + 2 < n {
      if au[i] == 0 && au[i + 1] == 0 && au[i + 2] == 1 {
        let codeStart = i > 0 && au[i - 1] == 0 ? i - 1 : i
        if start >= 0 { conformSps(UnsafeMutableRawBufferPointer(rebasing: au[start..<codeStart])) }
        start = codeStart
        if i + 3 < n {
          let type = au[i + 3] & 0x1F
          if type == 1 || type == 5 { picture = true }
          if type == 5 { idr = true }
        }
        i += 3
      } else {
        i += 1
      }
    }
    if start >= 0 { conformSps(UnsafeMutableRawBufferPointer(rebasing: au[start..<n])) }
    return (picture, idr)
  }

  /// FWHT (vicodec): the frame header's magic (0x4f4f4f4f, 0xffffffff) and its I-frame flag
  /// (V4L2_FWHT_FL_I_FRAME, bit 10 of the big-endian flags word at offset 20).
  public static func isFwhtKeyframe(_ f: UnsafeRawBufferPointer) -> Bool {
    guard f.count >= 24 else { return false }
    for k in 0..<4 where f[k] != 0x4F || f[4 + k] != 0xFF { return false }
    let flags = UInt32(f[20]) << 24 | UInt32(f[21]) << 16 | UInt32(f[22]) << 8 | UInt32(f[23])
    return flags & (1 << 10) != 0
  }
}
