import AllocCounter
import Testing
import TestSupport
@testable import Capture

/// The picture the capture thread hands to the JPEG thread: one plain copy of the frame's rows in
/// libjpeg's layout, made allocation-free once the size is known.
@Suite struct JpegPictureTests {
  /// A frame with padded rows (strides past the width) and a distinct value per sample.
  final class PaddedFrame {
    let width: Int, height: Int, yStride: Int, uvStride: Int
    var bytes: [UInt8]

    init(width: Int, height: Int, pad: Int, seed: Int) {
      self.width = width
      self.height = height
      yStride = width + pad
      uvStride = width / 2 + pad
      bytes = [UInt8](repeating: 0xEE, count: yStride * height + 2 * uvStride * (height / 2))
      for i in 0..<bytes.count { bytes[i] = UInt8(truncatingIfNeeded: i &* 7 &+ seed) }
    }

    func withView<R>(_ body: (FrameView) throws -> R) rethrows -> R {
      try bytes.withUnsafeBufferPointer { b in
        let y = b.baseAddress!
        let u = y + yStride * height
        let v = u + uvStride * (height / 2)
        return try body(FrameView(width: width, height: height, y: y, u: u, v: v, yStride: yStride, uvStride: uvStride,
          captureTimeNs: 0, sequence: 0))
      }
    }
  }

  @Test(arguments: [(64, 48, 0), (150, 100, 10), (66, 146, 3)])
  func copiesEveryRowIntoBlockAlignedRows(size: (Int, Int, Int)) throws {
    let f = PaddedFrame(width: size.0, height: size.1, pad: size.2, seed: 3)
    let p = JpegPicture()
    f.withView { p.copy(from: $0) }
    #expect(p.width == size.0 && p.height == size.1)
    #expect(p.lumaStride % 16 == 0 && p.lumaStride >= p.width && p.chromaStride == p.lumaStride / 2)
    let y = try #require(p.y), u = try #require(p.u), v = try #require(p.v)
    for r in 0..<f.height {
      for x in 0..<f.width { #expect(y[r * p.lumaStride + x] == f.bytes[r * f.yStride + x]) }
    }
    let uBase = f.yStride * f.height, vBase = uBase + f.uvStride * (f.height / 2)
    for r in 0..<(f.height / 2) {
      for x in 0..<(f.width / 2) {
        #expect(u[r * p.chromaStride + x] == f.bytes[uBase + r * f.uvStride + x])
        #expect(v[r * p.chromaStride + x] == f.bytes[vBase + r * f.uvStride + x])
      }
    }
  }

  @Test func aPictureEncodesToTheSameJpegAsTheFrame() throws {
    var pattern = TestPattern(width: 150, height: 100, fps: 30, clock: FakeTime().clock, paced: false)
    let frame = try pattern.nextFrame()
    let byFrame = try JpegEncoder()  // the bytes live in the encoder: keep it while they are read
    let fromFrame = Array(try byFrame.encode(frame, quality: 70))
    let p = JpegPicture()
    p.copy(from: frame)
    let e = try JpegEncoder()
    let fromPicture = Array(try e.encode(p, quality: 70))
    #expect(fromPicture == fromFrame)
    // encoding the same picture again does not convert its samples twice
    #expect(Array(try e.encode(p, quality: 70)) == fromFrame)
  }

  @Test func copyingAFrameOfTheSameSizeAllocatesNothing() {
    let f = PaddedFrame(width: 640, height: 480, pad: 32, seed: 1)
    let p = JpegPicture()
    f.withView { p.copy(from: $0) }
    let n = f.withView { frame in
      alloc_counter_begin()
      for _ in 0..<5 { p.copy(from: frame) }
      return alloc_counter_end()
    }
    #expect(n == 0)
  }
}
