// fuzz-target: jpeg
// fuzz-modules: Capture
// fuzz-summary: MJPEG frame decoder (JpegDecoder: libjpeg-turbo raw data, chroma reduced to I420)
//
// Input: one MJPEG frame as a camera would send it (any bytes).
// Invariants:
// - decoding returns a frame or a typed error (JPEG_DAMAGED, JPEG_INVALID, JPEG_UNSUPPORTED) with a
//   message; it never crashes, and ASan checks every plane access (the view's planes are read in
//   full: Y of width x height at yStride, U and V of width/2 x height/2 at uvStride);
// - a decoded frame has even sizes in 2...8192 and strides at least its widths;
// - one decoder keeps working: after a different frame, the input decodes again and again the
//   same way (same size, same pixels) once the tables it defines are in place. (Tables a frame
//   leaves out are the last ones defined, as in libjpeg's abbreviated streams: the first decode
//   after another frame may see that frame's tables, and a frame that fails half-way may already
//   have defined some, so the second and third decodes are compared.)
@testable import Capture
import Wire

// libFuzzer calls the target from one thread only
nonisolated(unsafe) let decoder = try! JpegDecoder()
let other: [UInt8] = {
  // a real frame of another size for the "in between" decode, made by rtcam's encoder
  var p = TestPattern(width: 96, height: 64, fps: 30,
    clock: CaptureClock(monotonicNs: { 1 }, realtimeNs: { 1 }, sleepUntil: { _ in }), paced: false)
  let f = try! p.nextFrame()
  let e = try! JpegEncoder()
  return Array(try! e.encode(f, quality: 50))
}()

struct Decoded: Equatable {
  var width = 0, height = 0
  var sum: UInt64 = 0
}

func decodeAll(_ bytes: [UInt8]) -> Decoded? {
  var out: Decoded? = nil
  bytes.withUnsafeBytes { raw in
    do throws(JpegError) {
      let f = try decoder.decode(raw)
      invariant(f.width % 2 == 0 && f.height % 2 == 0 && (2...8192).contains(f.width) && (2...8192).contains(f.height),
        "frame size " + String(f.width) + "x" + String(f.height))
      invariant(f.yStride >= f.width && f.uvStride >= f.width / 2, "strides")
      var d = Decoded(width: f.width, height: f.height)
      for y in 0..<f.height { for x in 0..<f.width { d.sum &+= UInt64(f.y[y * f.yStride + x]) } }
      for y in 0..<(f.height / 2) {
        for x in 0..<(f.width / 2) {
          d.sum &+= UInt64(f.u[y * f.uvStride + x]) &* 3 &+ UInt64(f.v[y * f.uvStride + x]) &* 7
        }
      }
      out = d
    } catch {
      invariant(["JPEG_DAMAGED", "JPEG_INVALID", "JPEG_UNSUPPORTED"].contains(error.code) && !error.message.isEmpty,
        "error " + error.code + " '" + error.message + "'")
    }
  }
  return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let input = fuzzInput(data, size)
  _ = decodeAll(other)
  _ = decodeAll(input)
  let second = decodeAll(input)
  let third = decodeAll(input)
  invariant(second == third, "the same frame decoded differently the third time")
  return 0
}
