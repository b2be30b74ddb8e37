// fuzz-target: record
// fuzz-modules: Record
// fuzz-summary: recording: H264Sps, Fmp4Writer on arbitrary frames (its files re-read by Fmp4Scanner), Fmp4Scanner, ByteRange, SegmentName
//
// Input: byte 0 chooses the mode (low two bits), the rest is its input.
//   0: an SPS NAL unit for H264Sps.parse.
//   1: a file for Fmp4Scanner, read whole and piece by piece.
//   2: frames for an Fmp4Writer with small limits (4 samples, 64 KiB buffers, 100 ms fragments,
//      300 ms segments): each frame is a byte of flags (bit 0 keyframe, bits 1-7 milliseconds
//      since the previous frame), a 16-bit big-endian length and that many Annex-B bytes.
//   3: a Range header (bytes 1-2: file size) and a segment name (the same text).
// Invariants:
// - H264Sps: a parsed picture is 1...16384 pixels each way;
// - Fmp4Scanner: completeBytes within the file; the summary is the same read whole or in pieces;
// - Fmp4Writer: actions come as begin, write+, end; every file it wrote scans completely (no
//   stop, completeBytes = its size, its first fragment at tfdt 0), and the files' samples are
//   the frames the writer recorded; the writer never writes a fragment above its buffer size;
// - ByteRange: a partial range lies inside the file; SegmentName: a name that parses is the
//   name made from its time.
@testable import Record

func checkScanner(_ file: [UInt8]) -> Fmp4Summary {
  let whole = Fmp4Scanner.summarize(file)
  invariant(whole.completeBytes <= UInt64(file.count), "completeBytes past the end")
  var s = Fmp4Scanner(fileSize: UInt64(file.count))
  var rounds = 0
  while case .read(let offset, let count) = s.step {
    rounds += 1
    invariant(rounds <= 2 * Fmp4Scanner.maxBoxes + 2, "scanner did not finish")
    invariant(offset + UInt64(count) <= UInt64(file.count) && count >= 0, "read outside the file")
    s.feed(Array(file[Int(offset)..<Int(offset) + count]))
  }
  invariant(s.summary == whole, "pieces and whole differ")
  return whole
}

func checkWriter(_ input: ArraySlice<UInt8>) {
  var settings = Fmp4Settings()
  settings.maxSamplesPerFragment = 4
  settings.fragmentBufferBytes = 64 * 1024
  settings.fragmentDurationNs = 100_000_000
  settings.segmentDurationNs = 300_000_000
  var w = Fmp4Writer(settings: settings)
  var files: [[UInt8]] = []
  var open = false
  func take(_ a: RecordActions) {
    var i = 0
    while i < a.count {
      switch a[i] {
      case .beginSegment:
        invariant(!open, "begin inside a segment")
        open = true
        files.append([])
      case .write(let b):
        invariant(open, "write outside a segment")
        invariant(b.count <= settings.fragmentBufferBytes, "fragment above the buffer size")
        files[files.count - 1] += b
      case .endSegment:
        invariant(open, "end outside a segment")
        open = false
      }
      i += 1
    }
  }
  var t: UInt64 = 1_000_000_000
  var i = input.startIndex
  while i + 3 <= input.endIndex {
    let flags = input[i]
    let n = Int(input[i + 1]) << 8 | Int(input[i + 2])
    i += 3
    let end = min(input.endIndex, i + n)
    t += UInt64(flags >> 1) * 1_000_000
    if let a = try? w.push(Array(input[i..<end]), captureTimeNs: t, isKeyframe: flags & 1 != 0) { take(a) }
    i = end
  }
  take(w.finish())
  invariant(!open, "segment left open by finish")
  var samples = 0
  for f in files {
    let s = checkScanner(f)
    invariant(s.stoppedBy == nil && s.completeBytes == UInt64(f.count), "the writer's file does not scan")
    invariant(s.fragments == 0 || s.firstDecodeTime == 0, "first fragment not at 0")
    samples += s.samples
  }
  invariant(samples == w.stats.framesRecorded, "samples in files != frames recorded")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = fuzzInput(data, size)
  guard let control = bytes.first else { return 0 }
  let body = bytes[1...]
  switch control & 3 {
  case 0:
    if let p = try? H264Sps.parse(Array(body)) {
      invariant(p.width >= 1 && p.width <= 16384 && p.height >= 1 && p.height <= 16384, "picture size out of range")
    }
  case 1:
    _ = checkScanner(Array(body))
  case 2:
    checkWriter(body)
  default:
    guard body.count >= 2 else { return 0 }
    let fileSize = UInt64(body[body.startIndex]) << 8 | UInt64(body[body.startIndex + 1])
    let text = String(decoding: body.dropFirst(2), as: UTF8.self)
    if case .partial(let a, let b) = ByteRange.parse(text, size: fileSize) {
      invariant(a <= b && b < fileSize, "range outside the file")
    }
    if let start = SegmentName.parse(text) {
      invariant(SegmentName.make(unixSeconds: start) == text, "name does not round-trip: " + text)
    }
  }
  return 0
}
