import Foundation
import TestSupport
import Testing
@testable import Capture

/// The picture of Tests/Fixtures/jpeg (make.sh): 160x120, red | green over blue | white.
let quadrantColours: [(r: Double, g: Double, b: Double)] = [(220, 30, 30), (30, 200, 40), (30, 40, 210), (245, 245, 245)]

/// JFIF's full-range YCbCr of an RGB colour.
func ycbcr(_ c: (r: Double, g: Double, b: Double)) -> (y: Int, cb: Int, cr: Int) {
  let y = 0.299 * c.r + 0.587 * c.g + 0.114 * c.b
  let cb = 128 - 0.168736 * c.r - 0.331264 * c.g + 0.5 * c.b
  let cr = 128 + 0.5 * c.r - 0.418688 * c.g - 0.081312 * c.b
  return (Int(y.rounded()), Int(cb.rounded()), Int(cr.rounded()))
}

func jpegFixture(_ name: String) throws -> [UInt8] {
  Array(try Data(contentsOf: URL(fileURLWithPath: try fixturePath("jpeg/" + name))))
}

func decode(_ d: JpegDecoder, _ bytes: [UInt8]) throws(JpegError) -> FrameView {
  var result: Result<FrameView, JpegError> = .failure(.invalid("not run"))
  bytes.withUnsafeBytes { raw in
    do throws(JpegError) { result = .success(try d.decode(raw)) } catch { result = .failure(error) }
  }
  return try result.get()
}

/// The Y, U and V samples at the centre of each quadrant.
func quadrantSamples(_ f: FrameView) -> [(y: Int, u: Int, v: Int)] {
  [(1, 1), (3, 1), (1, 3), (3, 3)].map { (qx, qy) in
    let x = f.width * qx / 4, y = f.height * qy / 4
    return (Int(f.y[y * f.yStride + x]), Int(f.u[(y / 2) * f.uvStride + x / 2]), Int(f.v[(y / 2) * f.uvStride + x / 2]))
  }
}

@Suite struct JpegDecoderTests {
  @Test(arguments: ["q420.jpg", "q422.jpg", "q444.jpg", "q422-restart.jpg", "q420-progressive.jpg", "q422-no-dht.jpg"])
  func decodesIntoI420WithTheRightColours(name: String) throws {
    let d = try JpegDecoder()
    let f = try decode(d, try jpegFixture(name))
    #expect(f.width == 160 && f.height == 120)
    for (got, colour) in zip(quadrantSamples(f), quadrantColours) {
      let want = ycbcr(colour)
      #expect(abs(got.y - want.y) <= 4 && abs(got.u - want.cb) <= 4 && abs(got.v - want.cr) <= 4,
        "\(name): got \(got), want \(want)")
    }
    #expect(d.decoded == 1 && d.meanDecodeMicros != nil)
  }

  @Test func greyFramesGetNeutralChroma() throws {
    let d = try JpegDecoder()
    let f = try decode(d, try jpegFixture("grey.jpg"))
    for (got, colour) in zip(quadrantSamples(f), quadrantColours) {
      #expect(abs(got.y - ycbcr(colour).y) <= 4 && got.u == 128 && got.v == 128)
    }
  }

  @Test func oneDecoderHandlesFramesOfEverySamplingInTurn() throws {
    let d = try JpegDecoder()
    for name in ["q444.jpg", "q420.jpg", "q422-no-dht.jpg", "grey.jpg", "q420.jpg"] {
      let f = try decode(d, try jpegFixture(name))
      #expect(f.width == 160 && abs(quadrantSamples(f)[3].y - 245) <= 4, "\(name)")
    }
  }

  @Test func aTruncatedFrameIsDamagedAndTheNextOneDecodes() throws {
    let d = try JpegDecoder()
    #expect(throws: JpegError.self) { _ = try decode(d, try jpegFixture("q420-truncated.jpg")) }
    let cut = try jpegFixture("q420-truncated.jpg")
    do throws(JpegError) { _ = try decode(d, cut) } catch {
      guard case .damaged(let why) = error else { Issue.record("got \(error)"); return }
      #expect(why.contains("premature end"), "\(why)")
    }
    #expect(try decode(d, try jpegFixture("q420.jpg")).width == 160)
  }

  @Test func rgbJpegsAreUnsupportedNotMisdecoded() throws {
    let rgb = try jpegFixture("rgb.jpg")
    let d = try JpegDecoder()
    do throws(JpegError) {
      _ = try decode(d, rgb)
      Issue.record("an RGB JPEG decoded as YCbCr")
    } catch {
      #expect(error.code == "JPEG_UNSUPPORTED")
    }
  }

  @Test func garbageIsRejectedWithoutCrashing() throws {
    let d = try JpegDecoder()
    for bad: [UInt8] in [[], [0xFF], [0xFF, 0xD8, 0xFF, 0xD9], Array(repeating: 0x41, count: 500)] {
      do throws(JpegError) { _ = try decode(d, bad); Issue.record("accepted \(bad.prefix(8))") } catch {
        #expect(error.code == "JPEG_INVALID" || error.code == "JPEG_DAMAGED", "\(error)")
      }
    }
    // every byte of a real frame flipped in turn (seeded), and every cut: an error or a frame
    let good = try jpegFixture("q422.jpg")
    var prng = TestPRNG(state: 7)
    for i in 0..<400 {
      var b = good
      let at = Int(prng.next() % UInt64(b.count))
      b[at] ^= UInt8(truncatingIfNeeded: prng.next() | 1)
      if i % 2 == 1 { b = Array(b[0..<at]) }
      if let f = try? decode(d, b) { #expect(f.width <= 8192 && f.height <= 8192) }
    }
    #expect(try decode(d, good).width == 160)
  }
}

@Suite struct JpegEncoderTests {
  /// PSNR of two luma planes.
  func psnr(_ a: FrameView, _ b: FrameView) -> Double {
    var se = 0.0
    for y in 0..<a.height {
      for x in 0..<a.width {
        let d = Double(a.y[y * a.yStride + x]) - Double(b.y[y * b.yStride + x])
        se += d * d
      }
    }
    let mse = se / Double(a.width * a.height)
    return mse == 0 ? 99 : 10 * log10(255 * 255 / mse)
  }

  @Test(arguments: [(640, 480), (150, 100), (66, 146)])
  func roundTripsThroughTheDecoder(size: (Int, Int)) throws {
    var pattern = TestPattern(width: size.0, height: size.1, fps: 30, clock: FakeTime().clock, paced: false)
    let frame = try pattern.nextFrame()
    let e = try JpegEncoder()
    let jpeg = Array(try e.encode(frame, quality: 90))
    #expect(jpeg.starts(with: [0xFF, 0xD8]) && jpeg.suffix(2) == [0xFF, 0xD9])
    let d = try JpegDecoder()
    let back = try decode(d, jpeg)
    #expect(back.width == size.0 && back.height == size.1, "\(back.width)x\(back.height)")
    #expect(psnr(frame, back) > 30, "PSNR \(psnr(frame, back))")
    // lower quality, smaller file
    let small = try e.encode(frame, quality: 20).count
    #expect(small < jpeg.count)
  }
}
