import Testing

@testable import Record

/// The SPS parser (ITU-T H.264 7.3.2.1.1) on rtcam's own SPS and on x264's for the other
/// branches: high profiles' chroma and bit depth fields, scaling lists, interlaced (field) coding
/// and frame cropping with each chroma format's crop units.
@Suite struct H264SpsTests {
  @Test func rtcamsConstrainedBaselineSps() throws {
    let key = try #require(threeSeconds.first)
    let sps = try #require(nalUnits(key.bytes).first)
    let p = try H264Sps.parse(sps)
    #expect(p.profileIdc == 0x42 && p.constraintFlags == 0xE0 && p.levelIdc == 0x1F)
    #expect(p.width == 640 && p.height == 480 && p.chromaFormatIdc == 1)
  }

  /// x264 1920x1080 High (`-profile:v high`): 1088 lines coded, 8 cropped at the bottom (4:2:0:
  /// crop units of 2).
  @Test func high1080pIsCroppedTo1080() throws {
    let p = try H264Sps.parse(hexBytes("67640028acd940780227e5c044000003000400000300f03c60c658"))
    #expect(p.profileIdc == 100 && p.width == 1920 && p.height == 1080)
    #expect(p.chromaFormatIdc == 1 && p.bitDepthLuma == 8 && p.bitDepthChroma == 8)
  }

  /// x264 642x362 High 4:4:4 with the JVT scaling matrices (`cqm=jvt`): crop units of 1.
  @Test func high444WithScalingListsAndOddCrop() throws {
    let p = try H264Sps.parse(hexBytes("67f4001e919b281485fc7cf80880000003008000001e078b16cb"))
    #expect(p.profileIdc == 244 && p.chromaFormatIdc == 3)
    #expect(p.width == 642 && p.height == 362)
  }

  /// x264 1278x718 High 4:2:2 with scaling matrices: crop units of 2 across, 1 down.
  @Test func high422Crop() throws {
    let p = try H264Sps.parse(hexBytes("677a001fbcd9405005beaf0110000003001000000303c0f1831960"))
    #expect(p.profileIdc == 122 && p.chromaFormatIdc == 2)
    #expect(p.width == 1278 && p.height == 718)
  }

  /// x264 720x576 Main, interlaced (frame_mbs_only_flag 0): map units are field macroblock pairs.
  @Test func interlacedMain() throws {
    let p = try H264Sps.parse(hexBytes("674d401eeca05a126c0440000003004000000c87c50a6580"))
    #expect(p.profileIdc == 77 && p.width == 720 && p.height == 576)
  }

  @Test func truncatedOrWrongSpsIsRefused() {
    let good = hexBytes("67640028acd940780227e5c044000003000400000300f03c60c658")
    for n in 0..<8 {
      #expect(throws: RecordError.badSps) { try H264Sps.parse(Array(good.prefix(n))) }
    }
    #expect(throws: RecordError.badSps) { try H264Sps.parse([0x68, 0x42, 0xE0, 0x1F, 0xFF]) }  // a PPS
    // 40 zero bits: an exp-Golomb code longer than 32 bits
    #expect(throws: RecordError.badSps) { try H264Sps.parse([0x67, 0x42, 0xE0, 0x1F, 0, 0, 3, 0, 0, 3, 0, 0x80]) }
    // field-coded, 1024 map units high: 2048 macroblocks, over the bound (found by tools/fuzz)
    #expect(throws: RecordError.badSps) { try H264Sps.parse(hexBytes("6742e01fda010001da001f098109815b34d4006742")) }
    #expect(RecordError.badSps.code == "RECORD_BAD_SPS")
  }
}
