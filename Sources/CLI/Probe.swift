// `rtcam probe` (capture and encode a few frames, print one JSON line) and `rtcam devices`
// (list the V4L2 video nodes with their formats, sizes and frame rates).
import App
import CRTCam
import Runtime
import Capture
import Encoder
import HTTP
import Wire

/// Options of `rtcam probe`.
public struct ProbeOptions: Equatable, Sendable {
  /// "testsrc", "y4m:PATH", "v4l2:DEVICE", "exec:COMMAND", "rpicam" or "stdin:"; nil = the
  /// default (camera if present, else test pattern).
  public var source: String? = nil
  /// Extra rpicam-vid arguments for `--source rpicam` (--rpicam-args, split).
  public var rpicamArgs: [String] = []
  public var width = 640
  public var height = 480
  public var fps = 30
  /// Frames to capture and encode.
  public var frames = 30
  /// V4L2 pixel format to capture (YU12, YV12, NV12, NV21, YUYV, UYVY); nil = choose.
  public var format: String? = nil
  public var bitrate = 800_000
  public var preset = EncoderPreset.default
  /// --h264-out FILE: also write the encoded Annex-B stream there (tools/bench decodes it for PSNR).
  public var h264Out: String? = nil
  /// --encoder: nil or openh264 probe OpenH264; v4l2m2m[:DEV] (or auto, when one is found)
  /// probe the memory-to-memory encoder (ProbeEncoder.swift).
  public var encoder: EncoderRequest? = nil
  /// `--encoder` with no value: list the encoder nodes.
  public var listEncoders = false
  /// --codec: the coded format asked of a memory-to-memory encoder.
  public var codec = M2MCodec.h264

  /// The most --h264-out keeps in memory before writing (at 50 Mbit/s that is 10 s of video).
  static let maxH264OutBytes = 64 << 20

  public init() {}
}

/// Parses the arguments after "probe".
public func parseProbeOptions(_ args: [String]) throws(OptionError) -> ProbeOptions {
  var o = ProbeOptions()
  var args = args
  // `--encoder` as the last argument, or followed by another option: list the encoder nodes
  if let i = args.firstIndex(of: "--encoder"), i + 1 == args.count || args[i + 1].hasPrefix("-") {
    o.listEncoders = true
    args.remove(at: i)
  }
  var reader = ArgumentReader(args, command: .probe)
  while let a = try reader.next() {
    let spec: OptionSpec
    let v: String
    switch a {
    case .option(let s, let value): (spec, v) = (s, value)
    case .unknown(let name, _), .word(let name): throw OptionError("probe: unknown option '" + name + "'")
    }
    switch spec.key {
    case .source: o.source = try spec.source(v)
    case .rpicamArgs: o.rpicamArgs = try rpicamArgsOption(v)
    case .size: (o.width, o.height) = try spec.size(v)
    case .fps: o.fps = try spec.number(v)
    case .frames: o.frames = try spec.number(v)
    case .format: o.format = try spec.pixelFormat(v)
    case .bitrate: o.bitrate = try spec.bitrate(v)
    case .preset: o.preset = try spec.preset(v)
    case .h264Out: o.h264Out = v
    case .encoder: o.encoder = try spec.encoder(v)
    case .codec:
      switch v {
      case "h264": o.codec = .h264
      case "fwht": o.codec = .fwht
      default: throw spec.notAChoice(v)
      }
    case .help:
      let names = optionTable.filter { $0.commands.contains(.probe) && $0.key != .help }.map { $0.name }
      throw OptionError("probe takes " + names.joined(separator: ", "))
    default: throw OptionError(spec.name + " is not an option of probe")
    }
  }
  if !o.rpicamArgs.isEmpty && o.source != "rpicam" { throw OptionError("--rpicam-args goes with --source rpicam") }
  if o.codec == .fwht, case .v4l2m2m(.some) = o.encoder {} else if o.codec == .fwht {
    throw OptionError("--codec fwht goes with --encoder v4l2m2m:/dev/videoN")
  }
  return o
}

/// Parses the arguments after "devices": only `--json`. Returns whether JSON was asked for.
public func parseDevicesOptions(_ args: [String]) throws(OptionError) -> Bool {
  var json = false
  var reader = ArgumentReader(args, command: .devices)
  while let a = try reader.next() {
    guard case .option(let spec, _) = a, spec.key == .json else {
      throw OptionError("devices: unknown option '" + args[reader.index] + "' (only --json)")
    }
    json = true
  }
  return json
}

/// The percentile `p` (0...100) of sorted values, nearest rank.
func percentile(_ sorted: [UInt64], _ p: Int) -> UInt64 {
  guard !sorted.isEmpty else { return 0 }
  let rank = (p * sorted.count + 99) / 100
  return sorted[min(max(rank, 1), sorted.count) - 1]
}

/// "encode_ms_p50" and "encode_ms_p95" of the encode times (null without any).
func writeEncodeTimes(_ w: inout JsonWriter, _ ns: [UInt64]) {
  let sorted = ns.sorted()
  for (name, p) in [("encode_ms_p50", 50), ("encode_ms_p95", 95)] {
    w.key(name)
    if sorted.isEmpty { w.null() } else { w.raw(formatFixed(Int(clamping: percentile(sorted, p) / 1000), decimals: 3)) }
  }
}

/// "error": {"code", "message"}, or null.
func writeProbeError(_ w: inout JsonWriter, _ code: String?, _ message: String) {
  w.key("error")
  guard let code else { return w.null() }
  w.beginObject()
  w.key("code"); w.string(code)
  w.key("message"); w.string(message)
  w.endObject()
}

/// Everything `rtcam probe` reports.
struct ProbeReport: Sendable {
  var source = ""
  var driver: String? = nil
  var card: String? = nil
  var bus: String? = nil
  var format: String? = nil
  var width: Int? = nil
  var height: Int? = nil
  var fpsRequested = 0
  var milliFps: Int? = nil
  var frames = 0
  var dropped: UInt64 = 0
  /// MJPEG: frames skipped as undecodable, and the mean decode time.
  var damaged: UInt64 = 0
  var decodeMicros: Int? = nil
  var encodeNs: [UInt64] = []
  var errorCode: String? = nil
  var errorMessage = ""

  /// One JSON object on one line.
  var json: String {
    var w = JsonWriter()
    w.beginObject()
    w.key("source"); w.string(source)
    w.key("driver"); if let d = driver { w.string(d) } else { w.null() }
    w.key("card"); if let c = card { w.string(c) } else { w.null() }
    w.key("bus"); if let b = bus { w.string(b) } else { w.null() }
    w.key("format"); if let f = format { w.string(f) } else { w.null() }
    w.key("width"); if let x = width { w.int(x) } else { w.null() }
    w.key("height"); if let x = height { w.int(x) } else { w.null() }
    w.key("fps_requested"); w.int(fpsRequested)
    w.key("fps_measured"); if let m = milliFps { w.raw(formatFixed(m / 10, decimals: 2)) } else { w.null() }
    w.key("frames"); w.int(frames)
    w.key("dropped"); w.uint64(dropped)
    w.key("damaged"); w.uint64(damaged)
    w.key("decode_ms"); if let d = decodeMicros { w.raw(formatFixed(d, decimals: 3)) } else { w.null() }
    writeEncodeTimes(&w, encodeNs)
    writeProbeError(&w, errorCode, errorMessage)
    w.endObject()
    return w.text
  }

  mutating func fail(_ code: String, _ message: String) {
    errorCode = code
    errorMessage = message
  }
}

/// `rtcam probe`: opens the source, captures and encodes `frames` frames, prints one JSON line
/// (also on failure, with "error"). Returns 0 on success, 1 on failure.
public func runProbe(_ o: ProbeOptions) -> Int32 {
  if o.listEncoders { return listEncoders() }
  if let e = o.encoder, e != .openh264 {
    if let rc = probeHardwareEncoder(e, o) { return rc }
  }
  var r = ProbeReport()
  r.fpsRequested = o.fps
  let specText = o.source ?? defaultSourceSpec().spec
  r.source = specText
  guard let spec = SourceSpec.parse(specText) else {
    r.fail("BAD_SOURCE", "'" + specText + "' is not testsrc, y4m:PATH, v4l2:DEVICE, exec:COMMAND, rpicam or stdin:")
    writeOut(r.json)
    return 1
  }
  switch spec {
  case .testPattern:
    var src = TestPattern(width: o.width, height: o.height, fps: o.fps)
    r.format = FourCC.yu12.text
    probeFrames(&src, o, &r)
  case .y4m(let path):
    do {
      var src = try Y4MSource(path: path)
      r.format = FourCC.yu12.text
      probeFrames(&src, o, &r)
    } catch {
      r.fail(error.code, error.message)
    }
  case .exec, .rpicam, .stdin:
    probePipeSource(spec, o, &r)
  case .v4l2(let device):
    var vo = V4L2Options(width: o.width, height: o.height, fps: o.fps)
    if let f = o.format { vo.format = parsePixelFormatOption(f) }
    do {
      var src = try V4L2Source(device: device, options: vo)
      r.driver = src.capabilities.driver
      r.card = src.capabilities.card
      r.bus = src.capabilities.bus
      r.format = src.fourcc.text
      probeFrames(&src, o, &r)
      let st = src.stats
      r.dropped = st.dropped
      r.damaged = st.damaged
      r.decodeMicros = st.decodeMicros
    } catch {
      r.fail(error.code, error.message)
      // still say which device it was, when it answers
      if let info = try? V4L2DeviceInfo.query(device) {
        r.driver = info.capabilities.driver
        r.card = info.capabilities.card
        r.bus = info.capabilities.bus
      }
    }
  }
  writeOut(r.json)
  return r.errorCode == nil ? 0 : 1
}

/// Captures and encodes `o.frames` frames from an open source into the report.
func probeFrames<S: FrameSource>(_ src: inout S, _ o: ProbeOptions, _ r: inout ProbeReport) {
  r.width = src.width
  r.height = src.height
  // the rest is one function for every kind of source (not a copy per source type)
  probeEncode(fps: src.fps, { () throws(CaptureError) -> FrameView in try src.nextFrame() }, o, &r)
}

/// Encodes `o.frames` frames from `next` (the report has the source's size) into the report.
func probeEncode(fps: Int, _ next: () throws(CaptureError) -> FrameView, _ o: ProbeOptions, _ r: inout ProbeReport) {
  let width = r.width ?? o.width, height = r.height ?? o.height
  let settings = EncoderSettings(
    width: width, height: height, fps: min(max(fps, 1), 120), bitrate: o.bitrate, preset: o.preset)
  let encoder: H264Encoder
  do { encoder = try H264Encoder(settings) } catch {
    r.fail(error.code, error.message)
    return
  }
  var output: [UInt8] = []
  output.reserveCapacity(1 << 20)
  r.encodeNs.reserveCapacity(o.frames)
  var meter = FpsMeter()
  var stream: [UInt8] = []
  for _ in 0..<o.frames {
    let frame: FrameView
    do { frame = try next() } catch {
      r.fail(error.code, error.message)
      break
    }
    meter.record(frame.captureTimeNs)
    r.frames += 1
    let t0 = rtc_monotonic_ns()
    do { _ = try encoder.encode(frame, into: &output) } catch {
      r.fail(error.code, error.message)
      break
    }
    r.encodeNs.append(rtc_monotonic_ns() &- t0)
    if o.h264Out != nil {
      guard stream.count + output.count <= ProbeOptions.maxH264OutBytes else {
        r.fail("H264_OUT_TOO_LARGE", "--h264-out: the stream exceeds 64 MiB; probe fewer --frames")
        break
      }
      stream.append(contentsOf: output)
    }
  }
  r.milliFps = meter.milliFps
  if let path = o.h264Out, r.errorCode == nil {
    do { try writeSmallFile(path, stream, mode: 0o644) } catch { r.fail("H264_OUT_FAILED", error.message) }
  }
}
