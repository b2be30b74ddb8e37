// fuzz-target: y4m
// fuzz-modules: Capture
// fuzz-summary: Y4M stream header parser (Y4MHeader.parse) and the Y4M file source's frame reader
//
// Input: a Y4M file: the header line, then "FRAME[ params]\n" + pixels, repeated.
// Y4MSource only reads files, so the pure header parser is fuzzed on the first line, and when
// that header is accepted with frames of at most 64 KiB, the input is also written to a file
// under /tmp and read through Y4MSource (unpaced, fake clock), up to 4 frames.
// Invariants:
// - a rejected header is FORMAT_UNSUPPORTED with a message; an accepted one has even sizes in
//   2...8192, a frame rate in (0, 240] fps with num/den <= 1000000, roundedFps 1...240,
//   frameSize = w*h*3/2, parses the same with or without the newline, and written back in
//   canonical form ("YUV4MPEG2 W H F Ip [C]") parses to itself;
// - Y4MSource opens exactly the files whose header line (<= 1024 bytes) parses, reports that
//   header, and delivers the frames an independent reading of the format says it should (FRAME
//   lines up to 256 bytes, the loop back to the first frame at the end, FORMAT_UNSUPPORTED for
//   junk), with planes holding exactly the file's pixel bytes (ASan checks the buffer bounds).
@testable import Capture
import Glibc
import Wire

func canonical(_ h: Y4MHeader) -> String {
  "YUV4MPEG2 W" + String(h.width) + " H" + String(h.height) + " F" + String(h.fpsNum) + ":" + String(h.fpsDen) + " Ip"
    + (h.chroma.isEmpty ? "" : " C" + h.chroma)
}

func header(_ s: String) -> Y4MHeader? {
  do { return try Y4MHeader.parse(s) } catch {
    invariant(error.code == "FORMAT_UNSUPPORTED" && !error.message.isEmpty, "header error " + error.code)
    return nil
  }
}

/// Offsets of the pixels of the first `count` frames Y4MSource must deliver, and whether it
/// must then fail (junk where a FRAME line belongs, or no complete frame at all).
func referenceFrames(_ f: [UInt8], dataOffset: Int, frameSize: Int, count: Int) -> (offsets: [Int], fails: Bool) {
  var out: [Int] = []
  var pos = dataOffset
  var thisPass = 0
  let frame = Array("FRAME".utf8)
  while out.count < count {
    var found: Int? = nil
    for _ in 0..<2 {
      let available = f.count - pos
      let got = min(available, 6 + frameSize)
      if got >= 5 {
        guard Array(f[pos..<pos + 5]) == frame else { return (out, true) }
        var nl = -1
        for i in 5..<max(5, min(got, 256)) where f[pos + i] == 10 { nl = i; break }
        if nl < 0 && got >= 256 { return (out, true) }
        if nl >= 0 && available >= nl + 1 + frameSize {
          thisPass += 1
          found = pos + nl + 1
          pos += nl + 1 + frameSize
          break
        }
      }
      if thisPass == 0 { return (out, true) }
      thisPass = 0
      pos = dataOffset
    }
    guard let at = found else { return (out, true) }
    out.append(at)
  }
  return (out, false)
}

func fakeClock() -> CaptureClock { CaptureClock(monotonicNs: { 1_000_000 }, realtimeNs: { 1_000_000 }, sleepUntil: { _ in }) }
let path = "/tmp/rtcam-fuzz-y4m-" + String(getpid()) + ".y4m"

func writeFile(_ bytes: [UInt8]) -> Bool {
  let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
  guard fd >= 0 else { return false }
  defer { close(fd) }
  var done = 0
  while done < bytes.count {
    let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
    if n <= 0 { return false }
    done += n
  }
  return true
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let input = fuzzInput(data, size)
  let nl = input.firstIndex(of: 10)
  let line = Array(input[0..<(nl ?? input.count)])
  let text = String(decoding: line, as: UTF8.self)
  let h = header(text)
  invariant(header(text + "\n") == h, "the trailing newline changes the header")
  guard let h else { return 0 }
  invariant(h.width % 2 == 0 && h.height % 2 == 0, "odd size accepted")
  invariant((2...Y4MHeader.maxDimension).contains(h.width) && (2...Y4MHeader.maxDimension).contains(h.height), "size out of range")
  invariant(h.fpsNum > 0 && h.fpsDen > 0 && h.fpsNum <= 1_000_000 && h.fpsDen <= 1_000_000, "frame rate fields")
  invariant(h.fpsNum <= 240 * h.fpsDen, "frame rate above 240 fps")
  invariant((1...240).contains(h.roundedFps), "roundedFps " + String(h.roundedFps))
  invariant(h.frameSize == h.width * h.height * 3 / 2, "frameSize")
  invariant(["", "420jpeg", "420paldv", "420mpeg2", "420"].contains(h.chroma), "chroma " + h.chroma)
  invariant(header(canonical(h)) == h, "canonical header " + canonical(h) + " parses differently")

  // The file source, for small frames.
  guard let nl, h.frameSize <= 65536, writeFile(input) else { return 0 }
  defer { unlink(path) }
  let opened: Y4MSource
  do {
    opened = try Y4MSource(path: path, clock: fakeClock(), paced: false)
  } catch {
    invariant(line.count > 1024, "Y4MSource rejected a file whose header parses: " + error.code + " " + error.message)
    return 0
  }
  invariant(line.count <= 1024, "Y4MSource accepted a header line over 1024 bytes")
  invariant(opened.header == h && opened.width == h.width && opened.height == h.height && opened.fps == h.roundedFps,
            "Y4MSource reports another header")
  var source = opened
  let expected = referenceFrames(input, dataOffset: nl + 1, frameSize: h.frameSize, count: 4)
  for k in 0..<4 {
    let frame: FrameView
    do {
      frame = try source.nextFrame()
    } catch {
      invariant(error.code == "FORMAT_UNSUPPORTED", "frame error " + error.code + " " + error.message)
      invariant(expected.fails && k == expected.offsets.count,
                "Y4MSource failed at frame " + String(k) + " where the format has one: " + error.message)
      return 0
    }
    invariant(k < expected.offsets.count, "Y4MSource delivered frame " + String(k) + " where the format has none")
    let offsets = expected.offsets
    invariant(frame.width == h.width && frame.height == h.height && frame.sequence == UInt64(k), "frame fields")
    invariant(frame.yStride == h.width && frame.uvStride == h.width / 2, "strides")
    let luma = h.width * h.height
    invariant(frame.u == frame.y + luma && frame.v == frame.u + luma / 4, "plane layout")
    let pixels = UnsafeBufferPointer(start: frame.y, count: h.frameSize)
    invariant(pixels.elementsEqual(input[offsets[k]..<offsets[k] + h.frameSize]),
              "frame " + String(k) + " is not the file's bytes at " + String(offsets[k]))
  }
  return 0
}
