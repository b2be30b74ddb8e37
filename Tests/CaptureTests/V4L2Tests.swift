import Foundation
import Testing
@testable import Capture

@Suite struct FourCCTests {
  @Test func packsLittleEndianAndPrints() {
    #expect(FourCC.yuyv.rawValue == 0x5659_5559)
    #expect(FourCC.yu12.rawValue == 0x3231_5559)
    #expect(FourCC.nv12.rawValue == 0x3231_564E)
    #expect(FourCC.mjpg.rawValue == 0x4750_4A4D)
    for f in [FourCC.yu12, .yv12, .nv12, .nv21, .yuyv, .uyvy, .mjpg] {
      #expect(FourCC(f.text) == f)
    }
    #expect(FourCC.yuyv.text == "YUYV")
    #expect(FourCC("yuyv") == .yuyv)
    #expect(FourCC("Y16 ")?.text == "Y16")
    #expect(FourCC(rawValue: FourCC("Y16 ")!.rawValue | 0x8000_0000).text == "Y16-BE")
    #expect(FourCC(rawValue: 0x0102_0341).text == "A...")
    #expect(FourCC("YUY") == nil && FourCC("YUYVV") == nil && FourCC("YU\u{1}V") == nil && FourCC("") == nil)
  }

  @Test func layoutsAndZeroCopy() {
    #expect(V4L2PixelLayout(.yu12) == .i420 && V4L2PixelLayout(.yu12)!.isZeroCopy)
    #expect(V4L2PixelLayout(.yv12)!.isZeroCopy)
    #expect(V4L2PixelLayout(.yuyv) == .yuyv && !V4L2PixelLayout(.yuyv)!.isZeroCopy)
    #expect(V4L2PixelLayout(.mjpg) == .mjpeg && V4L2PixelLayout(.jpeg) == .mjpeg)
    #expect(!V4L2PixelLayout.mjpeg.isZeroCopy && V4L2PixelLayout.mjpeg.isCompressed && !V4L2PixelLayout.yuyv.isCompressed)
    #expect(V4L2PixelLayout(FourCC("H264")!) == nil)
    // V4L2 single-plane sizes at 640x480 with tight lines
    #expect(V4L2PixelLayout.i420.frameBytes(bytesPerLine: 640, height: 480) == 640 * 480 * 3 / 2)
    #expect(V4L2PixelLayout.nv12.frameBytes(bytesPerLine: 640, height: 480) == 640 * 480 * 3 / 2)
    #expect(V4L2PixelLayout.yuyv.frameBytes(bytesPerLine: 1280, height: 480) == 640 * 480 * 2)
    #expect(V4L2PixelLayout.yuyv.minBytesPerLine(width: 640) == 1280)
  }
}

/// Discrete sizes like vivid's webcam input: intervals get slower as sizes grow.
func webcamSizes() -> V4L2Sizes {
  func iv(_ fps: [Int]) -> V4L2Intervals { .discrete(fps.map { V4L2FrameInterval(fps: $0) }) }
  return .discrete([
    V4L2SizeOption(width: 320, height: 180, intervals: iv([50, 30, 25])),
    V4L2SizeOption(width: 640, height: 360, intervals: iv([30, 25])),
    V4L2SizeOption(width: 640, height: 480, intervals: iv([25, 15])),
    V4L2SizeOption(width: 1280, height: 720, intervals: iv([15, 10])),
    V4L2SizeOption(width: 1920, height: 1080, intervals: iv([10, 5])),
  ])
}

@Suite struct V4L2FormatChoiceTests {
  let formats: [V4L2FormatOption] = [
    V4L2FormatOption(fourcc: .yuyv, description: "YUYV 4:2:2", sizes: webcamSizes()),
    V4L2FormatOption(fourcc: .nv12, description: "Y/CbCr 4:2:0", sizes: webcamSizes()),
    V4L2FormatOption(fourcc: .yu12, description: "Planar YUV 4:2:0", sizes: webcamSizes()),
    V4L2FormatOption(fourcc: .mjpg, description: "Motion-JPEG", compressed: true, sizes: webcamSizes()),
  ]

  @Test func exactSizePrefersZeroCopy() throws {
    let c = try V4L2FormatChooser.choose(formats, width: 640, height: 480, fps: 30)
    #expect(c.fourcc == .yu12 && c.width == 640 && c.height == 480)
    #expect(V4L2FormatChooser.chooseInterval(c.intervals, fps: 30) == V4L2FrameInterval(fps: 25))
  }

  @Test func closestSizeWins() throws {
    var c = try V4L2FormatChooser.choose(formats, width: 600, height: 400, fps: 30)
    #expect(c.width == 640 && c.height == 360)  // |40|+|40| beats 640x480's |40|+|80|
    c = try V4L2FormatChooser.choose(formats, width: 1280, height: 720, fps: 15)
    #expect(c.width == 1280 && c.height == 720)
    c = try V4L2FormatChooser.choose(formats, width: 100, height: 100, fps: 30)
    #expect(c.width == 320 && c.height == 180)
  }

  @Test func largerThanTheEncoderLevelOnlyAsALastResort() throws {
    // 1920x1080 is exactly what was asked, but above 3600 macroblocks: 1280x720 is chosen
    var c = try V4L2FormatChooser.choose(formats, width: 1920, height: 1080, fps: 10)
    #expect(c.width == 1280 && c.height == 720)
    let big = [V4L2FormatOption(fourcc: .yuyv, sizes: .discrete([V4L2SizeOption(width: 1920, height: 1080)]))]
    c = try V4L2FormatChooser.choose(big, width: 640, height: 480, fps: 30)
    #expect(c.width == 1920 && c.height == 1080)
  }

  @Test func frameRateBeatsLayoutAtTheSameSize() throws {
    let fast = V4L2Intervals.discrete([V4L2FrameInterval(fps: 30)])
    let slow = V4L2Intervals.discrete([V4L2FrameInterval(fps: 5)])
    let f = [
      V4L2FormatOption(fourcc: .yu12, sizes: .discrete([V4L2SizeOption(width: 640, height: 480, intervals: slow)])),
      V4L2FormatOption(fourcc: .yuyv, sizes: .discrete([V4L2SizeOption(width: 640, height: 480, intervals: fast)])),
    ]
    #expect(try V4L2FormatChooser.choose(f, width: 640, height: 480, fps: 30).fourcc == .yuyv)
    #expect(try V4L2FormatChooser.choose(f, width: 640, height: 480, fps: 5).fourcc == .yu12)
  }

  @Test func aRequestedFormatIsHonoured() throws {
    for want in [FourCC.yuyv, .nv12, .yu12] {
      let c = try V4L2FormatChooser.choose(formats, width: 640, height: 480, fps: 30, only: want)
      #expect(c.fourcc == want && c.width == 640 && c.height == 480)
    }
    #expect(throws: CaptureError.self) { try V4L2FormatChooser.choose(formats, width: 640, height: 480, fps: 30, only: .uyvy) }
    let m = try V4L2FormatChooser.choose(formats, width: 640, height: 480, fps: 30, only: .mjpg)
    #expect(m.fourcc == .mjpg && m.width == 640)
    do {
      _ = try V4L2FormatChooser.choose(formats, width: 640, height: 480, fps: 30, only: FourCC("H264")!)
      Issue.record("H264 accepted")
    } catch {
      #expect(error.code == "FORMAT_UNSUPPORTED")
      #expect(error.message.contains("H264") && error.message.contains("YU12") && error.message.contains("MJPG"))
    }
  }

  @Test func yuvAtTheAskedSizeAndRateElseMjpeg() throws {
    let fast = V4L2Intervals.discrete([V4L2FrameInterval(fps: 30)])
    let slow = V4L2Intervals.discrete([V4L2FrameInterval(fps: 5)])
    func cam(_ yuyv: [V4L2SizeOption], _ mjpg: [V4L2SizeOption]) -> [V4L2FormatOption] {
      [V4L2FormatOption(fourcc: .yuyv, sizes: .discrete(yuyv)),
       V4L2FormatOption(fourcc: .mjpg, compressed: true, sizes: .discrete(mjpg))]
    }
    // the same size and rate in both: YUYV (no decoding)
    var c = try V4L2FormatChooser.choose(
      cam([V4L2SizeOption(width: 640, height: 480, intervals: fast)], [V4L2SizeOption(width: 640, height: 480, intervals: fast)]),
      width: 640, height: 480, fps: 30)
    #expect(c.fourcc == .yuyv)
    // YUYV only at 5 fps at that size (USB 2.0 bandwidth), MJPEG at 30: MJPEG
    c = try V4L2FormatChooser.choose(
      cam([V4L2SizeOption(width: 640, height: 480, intervals: slow)], [V4L2SizeOption(width: 640, height: 480, intervals: fast)]),
      width: 640, height: 480, fps: 30)
    #expect(c.fourcc == .mjpg)
    // YUYV only small, MJPEG at the asked size: MJPEG
    c = try V4L2FormatChooser.choose(
      cam([V4L2SizeOption(width: 320, height: 240, intervals: fast)], [V4L2SizeOption(width: 1280, height: 720, intervals: fast)]),
      width: 1280, height: 720, fps: 30)
    #expect(c.fourcc == .mjpg && c.width == 1280)
  }

  @Test func aCameraWithNoUsableFormatIsAClearError() {
    let h264Only = [
      V4L2FormatOption(fourcc: FourCC("H264")!, compressed: true, sizes: webcamSizes()),
      // emulated formats (libv4lconvert) are never chosen and not listed as offered
      V4L2FormatOption(fourcc: .yu12, emulated: true, sizes: webcamSizes()),
    ]
    do {
      _ = try V4L2FormatChooser.choose(h264Only, width: 640, height: 480, fps: 30)
      Issue.record("no error")
    } catch {
      #expect(error.code == "FORMAT_UNSUPPORTED")
      #expect(error.message.contains("it offers H264;"))
      #expect(error.message.contains("YUYV") && error.message.contains("MJPG"))
    }
    #expect(throws: CaptureError.self) { try V4L2FormatChooser.choose([], width: 640, height: 480, fps: 30) }
  }

  @Test func oddAndTinySizesAreSkipped() throws {
    let f = [V4L2FormatOption(fourcc: .yuyv, sizes: .discrete([
      V4L2SizeOption(width: 641, height: 480), V4L2SizeOption(width: 8, height: 8), V4L2SizeOption(width: 320, height: 240),
    ]))]
    let c = try V4L2FormatChooser.choose(f, width: 640, height: 480, fps: 30)
    #expect(c.width == 320 && c.height == 240)
  }

  @Test func rangesSnapToTheGridAndToEvenSizes() throws {
    let stepwise = [V4L2FormatOption(fourcc: .nv12, sizes: .stepwise(V4L2SizeRange(
      minWidth: 48, maxWidth: 1920, stepWidth: 16, minHeight: 32, maxHeight: 1080, stepHeight: 8)))]
    var c = try V4L2FormatChooser.choose(stepwise, width: 650, height: 483, fps: 30)
    #expect(c.width == 656 && c.height == 480)
    c = try V4L2FormatChooser.choose(stepwise, width: 4000, height: 10, fps: 30)
    #expect(c.width == 1920 && c.height == 32)
    let continuous = [V4L2FormatOption(fourcc: .yuyv, sizes: .stepwise(V4L2SizeRange(
      minWidth: 1, maxWidth: 1001, stepWidth: 1, minHeight: 1, maxHeight: 999, stepHeight: 1)))]
    c = try V4L2FormatChooser.choose(continuous, width: 640, height: 480, fps: 30)
    #expect(c.width == 640 && c.height == 480)
    // an odd request is snapped to an even neighbour
    #expect(V4L2FormatChooser.snapEven(641, min: 1, max: 1001, step: 1).map { $0 % 2 } == 0)
    // a grid of only odd sizes cannot be used
    #expect(V4L2FormatChooser.snapEven(640, min: 33, max: 1001, step: 16) == nil)
    #expect(V4L2FormatChooser.snapEven(100, min: 0, max: 10, step: 2) == nil)
    let unknown = [V4L2FormatOption(fourcc: .yuyv, sizes: .unknown)]
    c = try V4L2FormatChooser.choose(unknown, width: 800, height: 600, fps: 30)
    #expect(c.width == 800 && c.height == 600 && c.intervals == .unknown)
  }

  @Test func intervals() {
    let list = V4L2Intervals.discrete([
      V4L2FrameInterval(fps: 15), V4L2FrameInterval(numerator: 1001, denominator: 30000), V4L2FrameInterval(fps: 60),
    ])
    #expect(V4L2FormatChooser.chooseInterval(list, fps: 30) == V4L2FrameInterval(numerator: 1001, denominator: 30000))
    #expect(V4L2FormatChooser.chooseInterval(list, fps: 14) == V4L2FrameInterval(fps: 15))
    #expect(V4L2FormatChooser.chooseInterval(list, fps: 100) == V4L2FrameInterval(fps: 60))
    // a tie goes to the faster rate
    let tie = V4L2Intervals.discrete([V4L2FrameInterval(fps: 20), V4L2FrameInterval(fps: 30)])
    #expect(V4L2FormatChooser.chooseInterval(tie, fps: 25) == V4L2FrameInterval(fps: 30))
    let range = V4L2Intervals.stepwise(
      min: V4L2FrameInterval(fps: 60), max: V4L2FrameInterval(fps: 2), step: V4L2FrameInterval(numerator: 1, denominator: 1000))
    #expect(V4L2FormatChooser.chooseInterval(range, fps: 30) == V4L2FrameInterval(fps: 30))
    #expect(V4L2FormatChooser.chooseInterval(range, fps: 120) == V4L2FrameInterval(fps: 60))
    #expect(V4L2FormatChooser.chooseInterval(range, fps: 1) == V4L2FrameInterval(fps: 2))
    #expect(V4L2FormatChooser.chooseInterval(.unknown, fps: 24) == V4L2FrameInterval(fps: 24))
    #expect(V4L2FormatChooser.chooseInterval(.discrete([V4L2FrameInterval(numerator: 0, denominator: 1)]), fps: 24)
      == V4L2FrameInterval(fps: 24))
    #expect(V4L2FrameInterval(numerator: 1001, denominator: 30000).fpsText == "29.97")
    #expect(V4L2FrameInterval(numerator: 1001, denominator: 30000).roundedFps == 30)
    #expect(V4L2FrameInterval(fps: 25).fpsText == "25" && V4L2FrameInterval(fps: 25).milliFps == 25000)
    #expect(V4L2FrameInterval(numerator: 2, denominator: 1).fpsText == "0.50")
    #expect(V4L2FrameInterval(numerator: 0, denominator: 1).milliFps == 0)
  }
}

@Suite struct V4L2ConvertTests {
  /// Random bytes from a fixed seed.
  func bytes(_ n: Int, seed: UInt32) -> [UInt8] {
    var x = seed
    return (0..<n).map { _ in
      x = x &* 1_664_525 &+ 1_013_904_223
      return UInt8(truncatingIfNeeded: x >> 24)
    }
  }

  func convertPacked(_ src: [UInt8], stride: Int, width: Int, height: Int, uyvy: Bool) -> [UInt8] {
    var out = [UInt8](repeating: 0xEE, count: width * height * 3 / 2)
    src.withUnsafeBufferPointer { s in
      out.withUnsafeMutableBufferPointer { o in
        let y = o.baseAddress!
        V4L2Convert.packed422ToI420(
          s.baseAddress!, srcStride: stride, width: width, height: height, uyvy: uyvy, y: y, u: y + width * height,
          v: y + width * height + width * height / 4)
      }
    }
    return out
  }

  @Test func yuyvByHand() {
    // 4x2 YUYV: row 0 = Y0 U Y1 V ..., row 1 likewise
    let src: [UInt8] = [
      10, 100, 11, 200, 12, 101, 13, 201,
      20, 110, 21, 211, 22, 111, 23, 210,
    ]
    let out = convertPacked(src, stride: 8, width: 4, height: 2, uyvy: false)
    #expect(Array(out[0..<8]) == [10, 11, 12, 13, 20, 21, 22, 23])
    // U: (100+110+1)/2 = 105, (101+111+1)/2 = 106; V: (200+211+1)/2 = 206, (201+210+1)/2 = 206
    #expect(Array(out[8..<10]) == [105, 106])
    #expect(Array(out[10..<12]) == [206, 206])
    // UYVY is the same data with bytes swapped in pairs
    var uyvy = src
    for i in stride(from: 0, to: uyvy.count, by: 2) { uyvy.swapAt(i, i + 1) }
    #expect(convertPacked(uyvy, stride: 8, width: 4, height: 2, uyvy: true) == out)
  }

  @Test func packedMatchesAReferenceWithPaddedRows() {
    let w = 18, h = 10, stride = 2 * w + 6
    let src = bytes(stride * h, seed: 7)
    for uyvy in [false, true] {
      let out = convertPacked(src, stride: stride, width: w, height: h, uyvy: uyvy)
      var ref: [UInt8] = []
      for r in 0..<h { for x in 0..<w { ref.append(src[r * stride + 2 * x + (uyvy ? 1 : 0)]) } }
      for chroma in [uyvy ? 0 : 1, uyvy ? 2 : 3] {
        for r in 0..<(h / 2) {
          for i in 0..<(w / 2) {
            let a = Int(src[2 * r * stride + 4 * i + chroma])
            let b = Int(src[(2 * r + 1) * stride + 4 * i + chroma])
            ref.append(UInt8((a + b + 1) / 2))
          }
        }
      }
      #expect(out == ref)
    }
  }

  func convertSemi(_ src: [UInt8], stride: Int, width: Int, height: Int, swapped: Bool) -> [UInt8] {
    var out = [UInt8](repeating: 0xEE, count: width * height * 3 / 2)
    src.withUnsafeBufferPointer { s in
      out.withUnsafeMutableBufferPointer { o in
        let y = o.baseAddress!
        V4L2Convert.semiPlanarToI420(
          y: s.baseAddress!, yStride: stride, uv: s.baseAddress! + stride * height, uvStride: stride, width: width,
          height: height, swapped: swapped, y: y, u: y + width * height, v: y + width * height + width * height / 4)
      }
    }
    return out
  }

  @Test func nv12AndNv21ByHand() {
    // 4x2 NV12 with 2 bytes of padding per row: Y rows, then one UV row
    let src: [UInt8] = [
      1, 2, 3, 4, 0, 0,
      5, 6, 7, 8, 0, 0,
      50, 60, 51, 61, 0, 0,
    ]
    let nv12 = convertSemi(src, stride: 6, width: 4, height: 2, swapped: false)
    #expect(nv12 == [1, 2, 3, 4, 5, 6, 7, 8, 50, 51, 60, 61])
    let nv21 = convertSemi(src, stride: 6, width: 4, height: 2, swapped: true)
    #expect(nv21 == [1, 2, 3, 4, 5, 6, 7, 8, 60, 61, 50, 51])
  }

  @Test func semiPlanarMatchesAReference() {
    let w = 16, h = 12, stride = 24
    let src = bytes(stride * h * 3 / 2, seed: 99)
    let out = convertSemi(src, stride: stride, width: w, height: h, swapped: false)
    var ref: [UInt8] = []
    for r in 0..<h { ref += src[(r * stride)..<(r * stride + w)] }
    for c in 0..<2 {
      for r in 0..<(h / 2) { for i in 0..<(w / 2) { ref.append(src[stride * h + r * stride + 2 * i + c]) } }
    }
    #expect(out == ref)
  }
}

@Suite struct V4L2CountingTests {
  @Test func sequenceGapsAreDrops() {
    var t = V4L2SequenceTracker()
    #expect(t.observe(7) == 0)  // the first buffer counts nothing
    #expect(t.observe(8) == 0)
    #expect(t.observe(11) == 2)
    #expect(t.observe(12) == 0)
    #expect(t.dropped == 2)
    // a repeat and a restart backwards are not losses
    #expect(t.observe(12) == 0)
    #expect(t.observe(3) == 0)
    #expect(t.observe(5) == 1)
    #expect(t.dropped == 3)
    // the 32-bit counter wraps
    #expect(t.observe(0xFFFF_FFFE) == 0)
    #expect(t.observe(0xFFFF_FFFF) == 0)
    #expect(t.observe(1) == 1)
    #expect(t.dropped == 4)
    t.reset()
    #expect(t.observe(100) == 0 && t.dropped == 4)
  }

  @Test func measuredFrameRate() {
    var m = FpsMeter()
    #expect(m.milliFps == nil)
    m.record(1_000_000_000)
    #expect(m.milliFps == nil)
    for i in 1..<30 { m.record(1_000_000_000 + UInt64(i) * 40_000_000) }
    #expect(m.frames == 30 && m.milliFps == 25_000)
    var same = FpsMeter()
    same.record(5)
    same.record(5)
    #expect(same.milliFps == nil)
  }

  /// After a week at 30 fps (18 million frames) (frames - 1) × 10^12 no longer fits 64 bits; the
  /// rate must still come out right (it wrapped to nonsense before).
  @Test func measuredFrameRateAfterAWeek() {
    let frames: UInt64 = 20_000_000
    #expect(FpsMeter.milliFps(frames: frames, spanNs: (frames - 1) * 40_000_000) == 25_000)
    #expect(FpsMeter.milliFps(frames: 1 << 36, spanNs: (1 << 36) / 30 * 1_000_000_000) == 30_000)
    #expect(FpsMeter.milliFps(frames: UInt64.max, spanNs: 1) == Int.max)
  }

  @Test func implausibleDriverTimestampsFallBackToNow() {
    let now: UInt64 = 100_000_000_000
    #expect(V4L2Source.plausibleTimestamp(now - 30_000_000, now: now) == now - 30_000_000)
    #expect(V4L2Source.plausibleTimestamp(0, now: now) == now)
    #expect(V4L2Source.plausibleTimestamp(now + 5_000_000_000, now: now) == now)
    #expect(V4L2Source.plausibleTimestamp(now - 60_000_000_000, now: now) == now)
  }
}

@Suite struct V4L2ErrorTests {
  @Test func openErrnoMapsToCodes() {
    let p = "/dev/video9"
    for e in [ENOENT, ENODEV, ENXIO] {
      let err = CaptureError.cameraOpenFailure(path: p, errno: e)
      #expect(err.code == "CAMERA_NOT_FOUND")
      #expect(err.message.contains(p) && err.message.contains("rtcam devices"))
    }
    #expect(CaptureError.cameraOpenFailure(path: p, errno: EBUSY).code == "CAMERA_BUSY")
    let denied = CaptureError.cameraOpenFailure(path: p, errno: EACCES)
    #expect(denied.code == "CAMERA_ERROR" && denied.message.contains("video") && denied.message.contains("errno 13"))
    #expect(CaptureError.cameraOpenFailure(path: p, errno: EISDIR).code == "CAMERA_NOT_FOUND")
    #expect(CaptureError.cameraOpenFailure(path: p, errno: EMFILE).code == "CAMERA_ERROR")
  }

  @Test func streamingErrnoMapsToCodes() {
    let p = "/dev/video0"
    for e in [ENODEV, EIO, ENXIO] {
      let err = CaptureError.cameraCallFailure(path: p, what: "VIDIOC_DQBUF", errno: e)
      #expect(err.code == "CAMERA_LOST")
      #expect(err.message.contains("VIDIOC_DQBUF") && err.message.contains("reopens"))
    }
    #expect(CaptureError.cameraCallFailure(path: p, what: "VIDIOC_REQBUFS", errno: EBUSY).code == "CAMERA_BUSY")
    let other = CaptureError.cameraCallFailure(path: p, what: "VIDIOC_S_PARM", errno: EINVAL)
    #expect(other.code == "CAMERA_ERROR")
    #expect(other.message == "VIDIOC_S_PARM on /dev/video0: Invalid argument (errno 22)")
    #expect(CaptureError.cameraTimeout("x").code == "CAMERA_TIMEOUT")
    #expect(CaptureError.notACamera("x").code == "CAMERA_NOT_FOUND")
  }

  @Test func missingDeviceIsCameraNotFound() {
    do {
      _ = try V4L2Source(device: "/dev/video-rtcam-does-not-exist")
      Issue.record("opened a missing device")
    } catch {
      guard case .cameraNotFound = error else { Issue.record("got \(error)"); return }
      #expect(error.code == "CAMERA_NOT_FOUND")
      #expect(error.message.contains("/dev/video-rtcam-does-not-exist"))
    }
    #expect(throws: CaptureError.self) { try V4L2DeviceInfo.query("/nonexistent/video0") }
  }

  @Test func devNullIsNotACamera() {
    do {
      _ = try V4L2Source(device: "/dev/null")
      Issue.record("opened /dev/null")
    } catch {
      guard case .notACamera = error else { Issue.record("got \(error)"); return }
      #expect(error.code == "CAMERA_NOT_FOUND")
      #expect(error.message.contains("/dev/null is not a V4L2 device"))
    }
    do {
      _ = try V4L2DeviceInfo.query("/dev/null")
      Issue.record("queried /dev/null")
    } catch {
      #expect(error.code == "CAMERA_NOT_FOUND")
    }
  }

  @Test func filesAndDirectoriesAreNotCameras() throws {
    let dir = makeTempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = writeFile(Data([1, 2, 3]), name: "video0", in: dir)
    for path in [file, dir.path] {
      do {
        _ = try V4L2Source(device: path)
        Issue.record("opened \(path)")
      } catch {
        guard case .notACamera = error else { Issue.record("\(path): got \(error)"); continue }
        #expect(error.message.contains(path))
      }
    }
  }

  @Test func nodeListingOnlyNamesExistingNodes() {
    for p in V4L2DeviceInfo.videoNodePaths() {
      #expect(p.hasPrefix("/dev/video") && FileManager.default.fileExists(atPath: p))
    }
  }

  @Test func capabilitiesDecideWhatIsACamera() {
    let cam = V4L2Capabilities(driver: "uvcvideo", card: "Cam", bus: "usb-1", version: "6.1.0", deviceCaps: 0x0420_0001)
    #expect(cam.isCamera && cam.unusableReason(path: "/dev/video0") == nil && cam.kind == "video capture")
    let meta = V4L2Capabilities(driver: "uvcvideo", card: "Cam", bus: "usb-1", version: "6.1.0", deviceCaps: 0x0480_0000)
    #expect(!meta.isCamera && meta.kind == "metadata capture")
    #expect(meta.unusableReason(path: "/dev/video1")?.contains("metadata capture") == true)
    let readOnly = V4L2Capabilities(driver: "x", card: "Old", bus: "", version: "", deviceCaps: 0x0100_0001)
    #expect(readOnly.unusableReason(path: "/dev/video2")?.contains("streaming") == true)
    let mplane = V4L2Capabilities(driver: "x", card: "ISP", bus: "", version: "", deviceCaps: 0x0400_1000)
    #expect(!mplane.isCamera && mplane.kind.contains("multi-planar"))
  }
}

@Suite struct DefaultCameraTests {
  func node(_ path: String, caps: UInt32, _ formats: [FourCC]) -> (path: String, result: Result<V4L2DeviceInfo, CaptureError>) {
    let c = V4L2Capabilities(driver: "uvcvideo", card: "Cam " + path, bus: "usb", version: "6.1.0", deviceCaps: caps)
    return (path, .success(V4L2DeviceInfo(path: path, capabilities: c, formats: formats.map { V4L2FormatOption(fourcc: $0) })))
  }

  @Test func picksTheFirstUsableCaptureNode() {
    let capture: UInt32 = 0x0400_0001, meta: UInt32 = 0x0480_0000
    // a codec-only capture node, a metadata node, then an MJPEG webcam
    let nodes = [
      node("/dev/video0", caps: capture, [FourCC("H264")!]), node("/dev/video1", caps: meta, []),
      node("/dev/video2", caps: capture, [.mjpg]), node("/dev/video3", caps: capture, [.yuyv]),
    ]
    let c = V4L2DeviceInfo.defaultCamera(nodes)
    #expect(c.path == "/dev/video2" && c.note.contains("Cam /dev/video2"))
    // nothing usable: the test pattern, saying what was looked at
    let none = V4L2DeviceInfo.defaultCamera(Array(nodes[0..<2]))
    #expect(none.path == nil && none.note.contains("/dev/video0, /dev/video1"))
    #expect(V4L2DeviceInfo.defaultCamera([]).path == nil)
    // busy is worth waiting for
    let busy = V4L2DeviceInfo.defaultCamera([nodes[1], ("/dev/video4", .failure(.cameraBusy("busy")))])
    #expect(busy.path == "/dev/video4")
  }

  /// A camera module's receiver node as the Pi answers VIDIOC_QUERYCAP and VIDIOC_ENUM_FMT:
  /// driver "unicam" (Pi 4 and earlier) or "rp1-cfe" (Pi 5), capture and streaming, raw Bayer
  /// formats only (10-bit packed RGGB, "pRAA"; 16-bit, "RG16"), which rtcam cannot use.
  func module(_ path: String, driver: String = "unicam") -> (path: String, result: Result<V4L2DeviceInfo, CaptureError>) {
    let c = V4L2Capabilities(driver: driver, card: driver, bus: "platform:fe801000.csi", version: "6.6.51",
      deviceCaps: 0x0420_0001)
    return (path, .success(V4L2DeviceInfo(path: path, capabilities: c,
      formats: [FourCC("pRAA")!, FourCC("RG16")!].map { V4L2FormatOption(fourcc: $0) })))
  }

  @Test func aModuleOnlyIsUsedThroughRpicamVid() {
    for driver in ["unicam", "rp1-cfe"] {
      let nodes = [module("/dev/video0", driver: driver), module("/dev/video1", driver: driver)]
      #expect(nodes.allSatisfy { if case .success(let i) = $0.result { return i.isCameraModule && !i.isUsable }; return false })
      let d = V4L2DeviceInfo.defaultSource(nodes, rpicamVid: true)
      #expect(d.source == .rpicam && d.note.contains("camera module found (/dev/video0, driver " + driver + ")"))
      let missing = V4L2DeviceInfo.defaultSource(nodes, rpicamVid: false)
      #expect(missing.source == .testPattern && missing.note.contains("rpicam-vid is not on PATH"))
    }
  }

  @Test func aUsbCameraOnlyIsUsedAsBefore() {
    let usb = node("/dev/video0", caps: 0x0400_0001, [.mjpg])
    let d = V4L2DeviceInfo.defaultSource([usb, node("/dev/video1", caps: 0x0480_0000, [])], rpicamVid: true)
    #expect(d.source == .camera("/dev/video0") && !d.note.contains("module"))
  }

  @Test func withBothTheUsbCameraStaysTheDefaultAndTheNoteNamesTheModule() {
    // the module's nodes come first (the CSI receiver probes before USB on a Pi)
    let nodes = [module("/dev/video0"), node("/dev/video8", caps: 0x0400_0001, [.yuyv])]
    let d = V4L2DeviceInfo.defaultSource(nodes, rpicamVid: true)
    #expect(d.source == .camera("/dev/video8"))
    #expect(d.note.contains("a camera module is there too (/dev/video0, driver unicam): --source rpicam uses it instead"))
  }

  @Test func withNeitherTheTestPattern() {
    #expect(V4L2DeviceInfo.defaultSource([], rpicamVid: true).source == .testPattern)
    let codecOnly = node("/dev/video10", caps: 0x0400_0001, [FourCC("H264")!])
    let d = V4L2DeviceInfo.defaultSource([codecOnly], rpicamVid: true)
    #expect(d.source == .testPattern && d.note.contains("no usable camera among /dev/video10"))
  }
}
