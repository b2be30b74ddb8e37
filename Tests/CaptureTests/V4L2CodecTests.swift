import Testing

@testable import Capture

/// Which memory-to-memory node is an H.264 encoder (`--encoder auto`, issue 20), from the answers
/// the nodes give (VIDIOC_QUERYCAP, VIDIOC_ENUM_FMT on each queue), written here in the shape of
/// a Pi's bcm2835-codec (three multi-planar nodes: decode, encode, ISP; the encoder's raw formats
/// come from the firmware at probe) and the kernel's vicodec. Not a real driver: the VM test with
/// vicodec is still to come.
@Suite struct V4L2CodecTests {
  static func f(_ s: String) -> FourCC { FourCC(s)! }
  /// Single-planar memory-to-memory with streaming (V4L2_CAP_VIDEO_M2M | V4L2_CAP_STREAMING):
  /// vicodec by default.
  static let m2mCaps: UInt32 = 0x0000_8000 | 0x0400_0000
  /// Multi-planar (V4L2_CAP_VIDEO_M2M_MPLANE | V4L2_CAP_STREAMING): bcm2835-codec.
  static let m2mMplaneCaps: UInt32 = 0x0000_4000 | 0x0400_0000

  static func node(_ path: String, driver: String, card: String, takes: [String], makes: [String],
                   caps: UInt32 = m2mCaps) -> V4L2DeviceInfo {
    V4L2DeviceInfo(path: path, capabilities: V4L2Capabilities(driver: driver, card: card, bus: "platform:" + driver,
      version: "6.1.0", deviceCaps: caps), formats: [],
      codec: V4L2CodecFormats(takes: takes.map(f), makes: makes.map(f)))
  }

  // bcm2835-codec's three nodes: the decoder takes H.264 and makes raw, the encoder the other way
  // round, the image processor raw to raw
  static let decoder = node("/dev/video10", driver: "bcm2835-codec", card: "bcm2835-codec-decode",
    takes: ["H264", "MJPG", "MPG2"], makes: ["YU12", "YV12", "NV12", "NV21"], caps: m2mMplaneCaps)
  static let encoder = node("/dev/video11", driver: "bcm2835-codec", card: "bcm2835-codec-encode",
    takes: ["YU12", "YV12", "NV12", "NV21", "RGBP"], makes: ["H264"], caps: m2mMplaneCaps)
  static let isp = node("/dev/video12", driver: "bcm2835-codec", card: "bcm2835-codec-isp",
    takes: ["YU12", "NV12", "RGBP"], makes: ["YU12", "NV12", "RGBP"], caps: m2mMplaneCaps)
  // vicodec's stateful encoder: raw in, FWHT out
  static let vicodec = node("/dev/video3", driver: "vicodec", card: "vicodec", takes: ["YU12", "NV12"], makes: ["FWHT"])

  @Test func theEncoderIsFoundByItsQueuesNotItsNumber() {
    #expect(Self.encoder.isH264Encoder)
    #expect(!Self.decoder.isH264Encoder, "H.264 on its OUTPUT queue: a decoder")
    #expect(!Self.isp.isH264Encoder && !Self.vicodec.isH264Encoder)
    let d = V4L2DeviceInfo.defaultEncoder([Self.decoder, Self.encoder, Self.isp])
    #expect(d.path == "/dev/video11")
    #expect(d.note == "H.264 encoder found at /dev/video11 (bcm2835-codec)")
    // renumbered (another driver probed first): still found
    var moved = Self.encoder
    moved.path = "/dev/video31"
    #expect(V4L2DeviceInfo.defaultEncoder([Self.vicodec, moved]).path == "/dev/video31")
  }

  @Test func withoutAnH264EncoderOpenH264IsChosenAndTheNoteSaysWhy() {
    let vi = V4L2DeviceInfo.defaultEncoder([Self.vicodec])
    #expect(vi.path == nil && vi.note == "no H.264 encoder among the memory-to-memory nodes /dev/video3 (vicodec): OpenH264")
    let none = V4L2DeviceInfo.defaultEncoder([])
    #expect(none.path == nil && none.note == "no memory-to-memory encoder (/dev/video*): OpenH264")
  }

  @Test func anEncoderWithoutStreamingOrWithoutARawFormatRtcamHasIsNotUsed() {
    let noStreaming = Self.node("/dev/video11", driver: "x", card: "x", takes: ["YU12"], makes: ["H264"], caps: 0x0000_8000)
    #expect(!noStreaming.isH264Encoder)
    let rgbOnly = Self.node("/dev/video11", driver: "x", card: "x", takes: ["RGBP"], makes: ["H264"])
    #expect(!rgbOnly.isH264Encoder)
    // both kinds of queue count; the multi-planar one is bcm2835-codec's
    #expect(Self.encoder.capabilities.isMultiPlanar && !Self.vicodec.capabilities.isMultiPlanar)
    let single = Self.node("/dev/video11", driver: "x", card: "x", takes: ["NV12"], makes: ["H264"])
    #expect(single.isH264Encoder)
  }
}
