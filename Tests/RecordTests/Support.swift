import Capture
import Encoder
import TestSupport

/// One encoded access unit as the encoder hands it out (Annex B).
struct EncodedAU {
  var bytes: [UInt8]
  var isKeyframe: Bool
  var captureTimeNs: UInt64
}

/// Encodes `count` frames of the test pattern with the project's OpenH264 encoder, paced by a
/// fake clock (exactly 1/fps apart), with a keyframe every `keyEvery` frames.
func encodeTestPattern(
  count: Int, width: Int = 640, height: Int = 480, fps: Int = 30, keyEvery: Int = 30,
  startNs: UInt64 = 5_000_000_000
) throws -> [EncodedAU] {
  let t = FakeTime(mono: startNs)
  var src = TestPattern(width: width, height: height, fps: fps, clock: t.clock)
  var settings = EncoderSettings(width: width, height: height, fps: fps)
  settings.intraPeriodFrames = 0
  let enc = try H264Encoder(settings)
  var out: [UInt8] = []
  out.reserveCapacity(256 * 1024)
  var aus: [EncodedAU] = []
  for i in 0..<count {
    let f = try src.nextFrame()
    guard let e = try enc.encode(f, forceKeyframe: i > 0 && i % keyEvery == 0, into: &out) else { continue }
    aus.append(EncodedAU(bytes: out, isKeyframe: e.isKeyframe, captureTimeNs: e.captureTimeNs))
  }
  return aus
}

/// 90 frames (3 s at 30 fps, 640x480, a keyframe every second), encoded once for all tests.
let threeSeconds: [EncodedAU] = (try? encodeTestPattern(count: 90)) ?? []

/// One box found by `boxes`.
struct Box: Equatable {
  var type: String
  /// Offset of its size field.
  var start: Int
  var size: Int
  var body: Int { start + 8 }
  var end: Int { start + size }
}

func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
  UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
}

func u64(_ b: [UInt8], _ at: Int) -> UInt64 { UInt64(u32(b, at)) << 32 | UInt64(u32(b, at + 4)) }

/// The boxes laid end to end in `b[from..<to]` (32-bit sizes only); nil if the sizes do not add
/// up to exactly `to`.
func boxes(_ b: [UInt8], from: Int = 0, to: Int? = nil) -> [Box]? {
  let end = to ?? b.count
  var at = from
  var out: [Box] = []
  while at < end {
    guard at + 8 <= end else { return nil }
    let size = Int(u32(b, at))
    guard size >= 8, at + size <= end else { return nil }
    out.append(Box(type: String(decoding: b[at + 4..<at + 8], as: UTF8.self), start: at, size: size))
    at += size
  }
  return out
}

/// The child `path` (types separated by "/") under `b[from..<to]`, descending through containers;
/// `skip` gives, per container type, the bytes before its children (full box headers, entries).
func find(_ b: [UInt8], _ path: String, from: Int = 0, to: Int? = nil) -> Box? {
  let skip: [String: Int] = ["stsd": 8, "avc1": 78, "dref": 8]
  var range = (from, to ?? b.count)
  var found: Box? = nil
  for name in path.split(separator: "/") {
    guard let list = boxes(b, from: range.0, to: range.1), let box = list.first(where: { $0.type == name }) else {
      return nil
    }
    found = box
    range = (box.body + (skip[String(name)] ?? 0), box.end)
  }
  return found
}

/// The NAL units of an Annex-B access unit (without start codes).
func nalUnits(_ au: [UInt8]) -> [[UInt8]] {
  var starts: [(Int, Int)] = []
  var i = 0
  while i + 3 <= au.count {
    if au[i] == 0 && au[i + 1] == 0 && au[i + 2] == 1 {
      starts.append((i > 0 && au[i - 1] == 0 ? i - 1 : i, i + 3))
      i += 3
    } else {
      i += 1
    }
  }
  return starts.indices.map { k in
    Array(au[starts[k].1..<(k + 1 < starts.count ? starts[k + 1].0 : au.count)])
  }
}

func hexBytes(_ s: String) -> [UInt8] {
  var out: [UInt8] = []
  var it = s.makeIterator()
  while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
  return out
}
