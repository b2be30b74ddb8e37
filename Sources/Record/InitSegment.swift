// InitSegment: the `ftyp` and `moov` boxes that start every segment file (ISO/IEC 14496-12
// 8.2-8.8, one H.264 video track; ISO/IEC 14496-15 5.3-5.4 for avc1/avcC).

/// Track and timing constants of rtcam's recordings.
public enum RecordTrack {
  /// The single track's ID (tkhd, trex, tfhd).
  public static let trackId: UInt32 = 1
  /// Media timescale: 90 kHz, as RTP video, so durations from capture times stay exact enough.
  public static let timescale: UInt32 = 90_000
  /// mvhd's timescale (the movie header's duration is 0: fragments carry the time).
  static let movieTimescale: UInt32 = 1000
}

/// Writes the init segment (ftyp + moov) for an H.264 stream with these parameter sets.
/// `sps` and `pps` are NAL units without start codes. The layout is fixed apart from the
/// parameter sets, so the size is `fixedBytes + sps.count + pps.count` (+4 for high profiles'
/// avcC extension).
enum InitSegment {
  /// Everything but the SPS/PPS bytes and avcC's high-profile extension.
  static let fixedBytes = 700

  static func write(
    into b: inout BoxBuffer, sps: UnsafeRawBufferPointer, pps: UnsafeRawBufferPointer, info: H264Sps
  ) {
    writeFtyp(&b)
    let moov = b.begin(fourCC("moov"))
    writeMvhd(&b)
    let trak = b.begin(fourCC("trak"))
    writeTkhd(&b, info: info)
    let mdia = b.begin(fourCC("mdia"))
    writeMdhdHdlr(&b)
    let minf = b.begin(fourCC("minf"))
    writeVmhdDinf(&b)
    writeStbl(&b, sps: sps, pps: pps, info: info)
    b.end(minf)
    b.end(mdia)
    b.end(trak)
    writeMvex(&b)
    b.end(moov)
  }

  static func writeFtyp(_ b: inout BoxBuffer) {
    let ftyp = b.begin(fourCC("ftyp"))
    b.type(fourCC("isom"))  // major brand
    b.u32(0x200)  // minor version
    b.type(fourCC("isom"))
    b.type(fourCC("iso6"))  // movie fragments with tfdt version 1
    b.type(fourCC("avc1"))
    b.type(fourCC("mp41"))
    b.end(ftyp)
  }

  static func writeMvhd(_ b: inout BoxBuffer) {
    let mvhd = b.beginFull(fourCC("mvhd"), version: 0, flags: 0)
    b.u32(0)  // creation_time
    b.u32(0)  // modification_time
    b.u32(RecordTrack.movieTimescale)
    b.u32(0)  // duration: unknown, fragments follow
    b.u32(0x0001_0000)  // rate 1.0
    b.u16(0x0100)  // volume 1.0
    b.zeros(10)  // reserved
    writeMatrix(&b)
    b.zeros(24)  // pre_defined
    b.u32(RecordTrack.trackId + 1)  // next_track_ID
    b.end(mvhd)
  }

  static func writeTkhd(_ b: inout BoxBuffer, info: H264Sps) {
    let tkhd = b.beginFull(fourCC("tkhd"), version: 0, flags: 3)  // enabled, in movie
    b.u32(0)  // creation_time
    b.u32(0)  // modification_time
    b.u32(RecordTrack.trackId)
    b.u32(0)  // reserved
    b.u32(0)  // duration
    b.zeros(8)  // reserved
    b.u16(0)  // layer
    b.u16(0)  // alternate_group
    b.u16(0)  // volume: 0 for video
    b.u16(0)  // reserved
    writeMatrix(&b)
    b.u32(UInt32(info.width) << 16)  // 16.16 fixed point
    b.u32(UInt32(info.height) << 16)
    b.end(tkhd)
  }

  static func writeMdhdHdlr(_ b: inout BoxBuffer) {
    let mdhd = b.beginFull(fourCC("mdhd"), version: 0, flags: 0)
    b.u32(0)  // creation_time
    b.u32(0)  // modification_time
    b.u32(RecordTrack.timescale)
    b.u32(0)  // duration
    b.u16(0x55C4)  // language "und" (ISO 639-2/T, three 5-bit letters)
    b.u16(0)  // pre_defined
    b.end(mdhd)
    let hdlr = b.beginFull(fourCC("hdlr"), version: 0, flags: 0)
    b.u32(0)  // pre_defined
    b.type(fourCC("vide"))
    b.zeros(12)  // reserved
    writeASCII(&b, "VideoHandler")
    b.u8(0)
    b.end(hdlr)
  }

  static func writeVmhdDinf(_ b: inout BoxBuffer) {
    let vmhd = b.beginFull(fourCC("vmhd"), version: 0, flags: 1)
    b.u16(0)  // graphicsmode: copy
    b.zeros(6)  // opcolor
    b.end(vmhd)
    let dinf = b.begin(fourCC("dinf"))
    let dref = b.beginFull(fourCC("dref"), version: 0, flags: 0)
    b.u32(1)  // entry_count
    let url = b.beginFull(fourCC("url "), version: 0, flags: 1)  // media in this file
    b.end(url)
    b.end(dref)
    b.end(dinf)
  }

  /// stbl: the sample description (avc1 with avcC) and empty sample tables.
  static func writeStbl(
    _ b: inout BoxBuffer, sps: UnsafeRawBufferPointer, pps: UnsafeRawBufferPointer, info: H264Sps
  ) {
    let stbl = b.begin(fourCC("stbl"))
    let stsd = b.beginFull(fourCC("stsd"), version: 0, flags: 0)
    b.u32(1)  // entry_count
    let avc1 = b.begin(fourCC("avc1"))
    b.zeros(6)  // reserved
    b.u16(1)  // data_reference_index
    b.u16(0)  // pre_defined
    b.u16(0)  // reserved
    b.zeros(12)  // pre_defined
    b.u16(UInt16(truncatingIfNeeded: info.width))
    b.u16(UInt16(truncatingIfNeeded: info.height))
    b.u32(0x0048_0000)  // horizresolution 72 dpi
    b.u32(0x0048_0000)  // vertresolution
    b.u32(0)  // reserved
    b.u16(1)  // frame_count
    b.zeros(32)  // compressorname: empty Pascal string
    b.u16(0x0018)  // depth: colour, no alpha
    b.u16(0xFFFF)  // pre_defined = -1
    writeAvcC(&b, sps: sps, pps: pps, info: info)
    b.end(avc1)
    b.end(stsd)
    // The sample tables are empty: every sample is in a fragment.
    let stts = b.beginFull(fourCC("stts"), version: 0, flags: 0)
    b.u32(0)
    b.end(stts)
    let stsc = b.beginFull(fourCC("stsc"), version: 0, flags: 0)
    b.u32(0)
    b.end(stsc)
    let stsz = b.beginFull(fourCC("stsz"), version: 0, flags: 0)
    b.u32(0)  // sample_size
    b.u32(0)  // sample_count
    b.end(stsz)
    let stco = b.beginFull(fourCC("stco"), version: 0, flags: 0)
    b.u32(0)
    b.end(stco)
    b.end(stbl)
  }

  static func writeMvex(_ b: inout BoxBuffer) {
    let mvex = b.begin(fourCC("mvex"))
    let trex = b.beginFull(fourCC("trex"), version: 0, flags: 0)
    b.u32(RecordTrack.trackId)
    b.u32(1)  // default_sample_description_index
    b.u32(0)  // default_sample_duration (every trun carries its own)
    b.u32(0)  // default_sample_size
    b.u32(0)  // default_sample_flags
    b.end(trex)
    b.end(mvex)
  }

  /// The AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1) in an `avcC` box: one SPS,
  /// one PPS, 4-byte NAL lengths.
  static func writeAvcC(
    _ b: inout BoxBuffer, sps: UnsafeRawBufferPointer, pps: UnsafeRawBufferPointer, info: H264Sps
  ) {
    let avcC = b.begin(fourCC("avcC"))
    b.u8(1)  // configurationVersion
    b.u8(info.profileIdc)  // AVCProfileIndication
    b.u8(info.constraintFlags)  // profile_compatibility
    b.u8(info.levelIdc)  // AVCLevelIndication
    b.u8(0xFC | 3)  // reserved '111111', lengthSizeMinusOne = 3
    b.u8(0xE0 | 1)  // reserved '111', numOfSequenceParameterSets = 1
    b.u16(UInt16(truncatingIfNeeded: sps.count))
    b.copy(sps, offset: 0, length: sps.count)
    b.u8(1)  // numOfPictureParameterSets
    b.u16(UInt16(truncatingIfNeeded: pps.count))
    b.copy(pps, offset: 0, length: pps.count)
    if hasHighProfileExtension(info.profileIdc) {
      b.u8(0xFC | UInt8(truncatingIfNeeded: info.chromaFormatIdc))
      b.u8(0xF8 | UInt8(truncatingIfNeeded: info.bitDepthLuma - 8))
      b.u8(0xF8 | UInt8(truncatingIfNeeded: info.bitDepthChroma - 8))
      b.u8(0)  // numOfSequenceParameterSetExt
    }
    b.end(avcC)
  }

  /// ISO/IEC 14496-15 5.3.3.1.2: the chroma/bit-depth fields follow for these profiles.
  static func hasHighProfileExtension(_ profile: UInt8) -> Bool {
    profile == 100 || profile == 110 || profile == 122 || profile == 144
  }

  /// The identity transformation matrix of mvhd and tkhd (16.16 and 2.30 fixed point).
  static func writeMatrix(_ b: inout BoxBuffer) {
    b.u32(0x0001_0000); b.u32(0); b.u32(0)
    b.u32(0); b.u32(0x0001_0000); b.u32(0)
    b.u32(0); b.u32(0); b.u32(0x4000_0000)
  }

  static func writeASCII(_ b: inout BoxBuffer, _ s: StaticString) {
    let p = s.utf8Start
    var i = 0
    while i < s.utf8CodeUnitCount {
      b.u8(p[i])
      i += 1
    }
  }
}
