import Capture
import Encoder
import Foundation
import HTTP
import Testing
import App
@testable import CLI
@testable import Runtime

@Suite struct ProbeAndDevicesTests {
  @Test func commandLines() throws {
    #expect(try parseCommandLine(["devices"]) == .devices(json: false))
    #expect(try parseCommandLine(["devices", "--json"]) == .devices(json: true))
    #expect(throws: OptionError.self) { try parseCommandLine(["devices", "--all"]) }
    #expect(try parseCommandLine(["probe", "--help"]) == .help)

    guard case .probe(let d) = try parseCommandLine(["probe"]) else { Issue.record("not probe"); return }
    #expect(d == ProbeOptions())
    #expect(d.frames == 30 && d.width == 640 && d.height == 480 && d.fps == 30 && d.source == nil)

    // the command line tools/vm-test uses
    guard case .probe(let p) = try parseCommandLine(
      ["probe", "--source", "v4l2:/dev/video0", "--frames", "30", "--size", "640x480", "--format", "yuyv"])
    else { Issue.record("not probe"); return }
    #expect(p.source == "v4l2:/dev/video0" && p.frames == 30 && p.width == 640 && p.height == 480 && p.format == "yuyv")
    guard case .probe(let q) = try parseCommandLine(["probe", "--fps=15", "--source=testsrc", "--bitrate", "1M"])
    else { Issue.record("not probe"); return }
    #expect(q.fps == 15 && q.source == "testsrc" && q.bitrate == 1_000_000)
    #expect(q.preset == .balanced && q.h264Out == nil)
    guard case .probe(let r) = try parseCommandLine(["probe", "--preset", "speed", "--h264-out", "/tmp/x.h264"])
    else { Issue.record("not probe"); return }
    #expect(r.preset == .speed && r.h264Out == "/tmp/x.h264")

    for bad in [
      ["probe", "--frames", "0"], ["probe", "--frames", "x"], ["probe", "--size", "641x480"],
      ["probe", "--format", "H264"], ["probe", "--source", "usb"], ["probe", "--frames"], ["probe", "--wat"],
      ["probe", "--preset", "fast"], ["probe", "--h264-out"],
    ] {
      #expect(throws: OptionError.self, "\(bad)") { try parseCommandLine(bad) }
    }

    guard case .serve(let s) = try parseCommandLine(["--source", "v4l2:/dev/video2", "--format", "NV12"])
    else { Issue.record("not serve"); return }
    #expect(s.source == "v4l2:/dev/video2" && s.pixelFormat == "NV12")
    do {
      _ = try parseCommandLine(["--format", "H264"])
      Issue.record("H264 accepted")
    } catch {
      #expect(error.message.contains("YUYV") && error.message.contains("H264"))
    }
  }

  @Test func pixelFormatNames() {
    #expect(parsePixelFormatOption("I420") == .yu12)
    #expect(parsePixelFormatOption("yu12") == .yu12)
    #expect(parsePixelFormatOption("UYVY") == .uyvy)
    #expect(parsePixelFormatOption("MJPG") == .mjpg && parsePixelFormatOption("mjpg") == .mjpg)
    #expect(parsePixelFormatOption("H264") == nil && parsePixelFormatOption("YUY") == nil)
  }

  @Test func percentiles() {
    let v: [UInt64] = (1...100).map { UInt64($0) }
    #expect(percentile(v, 50) == 50 && percentile(v, 95) == 95 && percentile(v, 100) == 100)
    #expect(percentile([7], 50) == 7 && percentile([7], 95) == 7 && percentile([], 50) == 0)
    #expect(percentile([1, 2, 3], 50) == 2 && percentile([1, 2, 3], 95) == 3)
  }

  @Test func probeReportIsOneJsonLine() throws {
    var src = TestPattern(width: 160, height: 120, fps: 30, paced: false)
    var o = ProbeOptions()
    o.frames = 12
    var r = ProbeReport()
    r.source = "testsrc"
    r.fpsRequested = 30
    r.format = "YU12"
    probeFrames(&src, o, &r)
    let line = r.json
    #expect(!line.contains("\n"))
    let j = try parseJson(line)
    #expect(j["frames"]?.intValue == 12 && j["width"]?.intValue == 160 && j["height"]?.intValue == 120)
    #expect(j["error"]?.isNull == true && j["driver"]?.isNull == true && j["dropped"]?.intValue == 0)
    #expect(j["format"]?.stringValue == "YU12" && j["fps_requested"]?.intValue == 30)
    for k in ["encode_ms_p50", "encode_ms_p95", "fps_measured"] {
      guard case .number = j[k] else { Issue.record("\(k) is not a number in \(line)"); continue }
    }
    let keys = j.objectValue?.map { $0.0 } ?? []
    #expect(keys == [
      "source", "driver", "card", "bus", "format", "width", "height", "fps_requested", "fps_measured", "frames", "dropped",
      "damaged", "decode_ms", "encode_ms_p50", "encode_ms_p95", "error",
    ])

    var failed = ProbeReport()
    failed.source = "v4l2:/dev/video0"
    failed.fail("CAMERA_NOT_FOUND", "no camera at /dev/video0")
    let f = try parseJson(failed.json)
    #expect(f["error"]?["code"]?.stringValue == "CAMERA_NOT_FOUND")
    #expect(f["error"]?["message"]?.stringValue == "no camera at /dev/video0")
    #expect(f["fps_measured"]?.isNull == true && f["encode_ms_p50"]?.isNull == true && f["width"]?.isNull == true)
  }

  /// --h264-out: the stream of every encoded frame, Annex-B, SPS first; tools/bench decodes it.
  @Test func probeWritesTheStream() throws {
    let path = NSTemporaryDirectory() + "rtcam-probe-\(getpid()).h264"
    defer { unlink(path) }
    for preset in EncoderPreset.allCases {
      var src = TestPattern(width: 160, height: 120, fps: 30, paced: false)
      var o = ProbeOptions()
      o.frames = 10
      o.preset = preset
      o.h264Out = path
      var r = ProbeReport()
      probeFrames(&src, o, &r)
      #expect(r.errorCode == nil && r.frames == 10)
      let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
      #expect(Array(bytes.prefix(5)) == [0, 0, 0, 1, 0x67], "\(preset.name)")
      // one IDR (type 5) then nine P slices (type 1), each after a 4-byte start code
      var slices: [UInt8] = []
      var i = 0
      while i + 4 < bytes.count {
        if bytes[i] == 0 && bytes[i + 1] == 0 && bytes[i + 2] == 0 && bytes[i + 3] == 1 {
          let t = bytes[i + 4] & 0x1F
          if t == 1 || t == 5 { slices.append(t) }
          i += 4
        } else {
          i += 1
        }
      }
      #expect(slices == [5] + [UInt8](repeating: 1, count: 9), "\(preset.name): \(slices)")
    }
    var o = ProbeOptions()
    o.frames = 2
    o.h264Out = "/nonexistent-dir/sub/x.h264"
    var src = TestPattern(width: 160, height: 120, fps: 30, paced: false)
    var r = ProbeReport()
    probeFrames(&src, o, &r)
    #expect(r.errorCode == "H264_OUT_FAILED")
  }

  @Test func devicesJsonShape() throws {
    let caps = V4L2Capabilities(driver: "vivid", card: "vivid", bus: "platform:vivid-000", version: "6.1.0", deviceCaps: 0x0420_0001)
    let info = V4L2DeviceInfo(path: "/dev/video0", capabilities: caps, formats: [
      V4L2FormatOption(fourcc: .yuyv, description: "YUYV 4:2:2", sizes: .discrete([
        V4L2SizeOption(width: 640, height: 480, intervals: .discrete([V4L2FrameInterval(fps: 25), V4L2FrameInterval(numerator: 1001, denominator: 30000)])),
      ])),
      V4L2FormatOption(fourcc: .mjpg, description: "Motion-JPEG", compressed: true, sizes: .stepwise(V4L2SizeRange(
        minWidth: 16, maxWidth: 1920, stepWidth: 2, minHeight: 16, maxHeight: 1080, stepHeight: 2))),
      V4L2FormatOption(fourcc: FourCC("H264")!, description: "H.264", compressed: true),
    ])
    // a UVC camera's second node carries metadata: named, not listed as a device
    let meta = V4L2DeviceInfo(path: "/dev/video2", capabilities: V4L2Capabilities(
      driver: "uvcvideo", card: "USB Camera", bus: "usb-1", version: "6.1.0", deviceCaps: 0x0480_0000), formats: [])
    #expect(!meta.capabilities.isVideoCapture && !meta.isUsable && info.isUsable)
    let text = devicesJSON([info, meta], [("/dev/video1", .cameraBusy("busy"))])
    let j = try parseJson(text)
    let devs = try #require(j["devices"]?.arrayValue)
    #expect(devs.count == 2)
    #expect(devs[0]["driver"]?.stringValue == "vivid" && devs[0]["usable"]?.boolValue == true)
    #expect(devs[0]["formats"]?[0]?["fourcc"]?.stringValue == "YUYV")
    #expect(devs[0]["formats"]?[0]?["supported"]?.boolValue == true)
    #expect(devs[0]["formats"]?[0]?["sizes"]?[0]?["width"]?.intValue == 640)
    #expect(devs[0]["formats"]?[0]?["sizes"]?[0]?["fps"]?.arrayValue?.count == 2)
    #expect(devs[0]["formats"]?[1]?["supported"]?.boolValue == true)
    #expect(devs[0]["formats"]?[2]?["supported"]?.boolValue == false)
    #expect(j["other_nodes"]?[0]?["path"]?.stringValue == "/dev/video2")
    #expect(j["other_nodes"]?[0]?["kind"]?.stringValue == "metadata capture")
    #expect(devs[0]["formats"]?[1]?["size_range"]?["max_width"]?.intValue == 1920)
    #expect(devs[1]["error"]?["code"]?.stringValue == "CAMERA_BUSY" && devs[1]["usable"]?.boolValue == false)
    #expect(intervalsText(.discrete([V4L2FrameInterval(fps: 30), V4L2FrameInterval(fps: 15)])) == " @ 30, 15 fps")
  }

  /// A memory-to-memory node is listed with what it makes from what, and whether it is an H.264
  /// encoder (bcm2835-codec's encoder node, as its driver describes it).
  @Test func codecNodesAreListedWithTheirQueues() throws {
    let enc = V4L2DeviceInfo(path: "/dev/video11", capabilities: V4L2Capabilities(driver: "bcm2835-codec",
      card: "bcm2835-codec-encode", bus: "platform:bcm2835-codec", version: "6.1.0", deviceCaps: 0x0400_8000),
      formats: [], codec: V4L2CodecFormats(takes: [FourCC("YU12")!, FourCC("NV12")!], makes: [FourCC("H264")!]))
    #expect(codecLine(enc) == "/dev/video11: bcm2835-codec-encode (driver bcm2835-codec), memory-to-memory codec: "
      + "H264 from YU12, NV12: an H.264 encoder (not used by rtcam yet)")
    let j = try parseJson(devicesJSON([enc], []))
    #expect(j["other_nodes"]?[0]?["makes"]?[0]?.stringValue == "H264")
    #expect(j["other_nodes"]?[0]?["takes"]?.arrayValue?.count == 2)
    #expect(j["other_nodes"]?[0]?["h264_encoder"]?.boolValue == true)
  }

  @Test func defaultSourceFollowsTheCameras() {
    let d = defaultSourceSpec()
    if V4L2DeviceInfo.videoNodePaths().isEmpty {
      #expect(d.spec == "testsrc" && d.note == "no camera (/dev/video*): using the test pattern")
    } else {
      #expect(d.spec == "testsrc" || d.spec.hasPrefix("v4l2:/dev/video"))
    }
  }
}
