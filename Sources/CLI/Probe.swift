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

  public init() {}
}

/// Parses the arguments after "probe".
public func parseProbeOptions(_ args: [String]) throws(OptionError) -> ProbeOptions {
  var o = ProbeOptions()
  var i = 0
  while i < args.count {
    var arg = args[i]
    var inline: String? = nil
    if arg.hasPrefix("--"), let eq = arg.utf8.firstIndex(of: UInt8(ascii: "=")) {
      inline = String(arg[arg.index(after: eq)...])
      arg = String(arg[..<eq])
    }
    func val() throws(OptionError) -> String {
      if let v = inline { return v }
      guard i + 1 < args.count else { throw OptionError("option \(arg) needs a value") }
      i += 1
      return args[i]
    }
    switch arg {
    case "--source": o.source = try sourceOption(try val())
    case "--rpicam-args": o.rpicamArgs = try rpicamArgsOption(try val())
    case "--size": (o.width, o.height) = try sizeOption(try val())
    case "--fps": o.fps = try fpsOption(try val())
    case "--frames":
      let s = try val()
      guard let n = parseDecimal(s), n >= 1, n <= 100_000 else {
        throw OptionError("--frames must be a whole number from 1 to 100000, not '\(s)'")
      }
      o.frames = n
    case "--format": o.format = try formatOption(try val())
    case "--bitrate": o.bitrate = try bitrateOption(try val())
    case "-h", "--help": throw OptionError("probe takes --source, --frames, --size, --fps, --format, --bitrate, --rpicam-args")
    default:
      throw OptionError("probe: unknown option '\(arg)'")
    }
    i += 1
  }
  if !o.rpicamArgs.isEmpty && o.source != "rpicam" { throw OptionError("--rpicam-args goes with --source rpicam") }
  return o
}

/// Parses the arguments after "devices": only `--json`. Returns whether JSON was asked for.
public func parseDevicesOptions(_ args: [String]) throws(OptionError) -> Bool {
  var json = false
  for a in args {
    guard a == "--json" else { throw OptionError("devices: unknown option '\(a)' (only --json)") }
    json = true
  }
  return json
}

/// "640x480" → (640, 480): even numbers, 16...7680 x 16...4320.
func parseSizeOption(_ s: String) -> (Int, Int)? {
  let parts = s.asciiLowercased.splitASCII(UInt8(ascii: "x"))
  guard parts.count == 2, let w = parseDecimal(parts[0], max: 7680), let h = parseDecimal(parts[1], max: 4320),
    w >= 16, h >= 16, w % 2 == 0, h % 2 == 0
  else { return nil }
  return (w, h)
}


func pixelFormatOptionError(_ s: String) -> String {
  "--format must be one of " + V4L2PixelLayout.supported.map { $0.text }.joined(separator: ", ") + " (I420 = YU12), not '"
    + s + "'"
}

/// The percentile `p` (0...100) of sorted values, nearest rank.
func percentile(_ sorted: [UInt64], _ p: Int) -> UInt64 {
  guard !sorted.isEmpty else { return 0 }
  let rank = (p * sorted.count + 99) / 100
  return sorted[min(max(rank, 1), sorted.count) - 1]
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
    let sorted = encodeNs.sorted()
    for (name, p) in [("encode_ms_p50", 50), ("encode_ms_p95", 95)] {
      w.key(name)
      if sorted.isEmpty { w.null() } else { w.raw(formatFixed(Int(percentile(sorted, p) / 1000), decimals: 3)) }
    }
    w.key("error")
    if let code = errorCode {
      w.beginObject()
      w.key("code"); w.string(code)
      w.key("message"); w.string(errorMessage)
      w.endObject()
    } else {
      w.null()
    }
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
  let settings = EncoderSettings(width: src.width, height: src.height, fps: min(max(src.fps, 1), 120), bitrate: o.bitrate)
  let encoder: H264Encoder
  do { encoder = try H264Encoder(settings) } catch {
    r.fail(error.code, error.message)
    return
  }
  var output: [UInt8] = []
  output.reserveCapacity(1 << 20)
  r.encodeNs.reserveCapacity(o.frames)
  var meter = FpsMeter()
  for _ in 0..<o.frames {
    let frame: FrameView
    do { frame = try src.nextFrame() } catch {
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
  }
  r.milliFps = meter.milliFps
}

/// `rtcam devices`: lists /dev/video* with driver, card, and (for capture nodes) formats, sizes
/// and frame rates; `json` prints one JSON document instead. Returns 0.
public func runDevices(json: Bool) -> Int32 {
  var infos: [V4L2DeviceInfo] = []
  var failures: [(String, CaptureError)] = []
  for path in V4L2DeviceInfo.videoNodePaths() {
    do { infos.append(try V4L2DeviceInfo.query(path)) } catch { failures.append((path, error)) }
  }
  if json {
    writeOut(devicesJSON(infos, failures))
    return 0
  }
  if infos.isEmpty && failures.isEmpty {
    writeOut("no V4L2 video devices (/dev/video*) found")
    return 0
  }
  let cameras = infos.filter { $0.capabilities.isVideoCapture }
  let others = infos.filter { !$0.capabilities.isVideoCapture }
  if cameras.isEmpty && failures.isEmpty { writeOut("no V4L2 capture devices found") }
  for info in cameras {
    let c = info.capabilities
    var head = info.path + ": " + c.card + " (driver " + c.driver
    if !c.bus.isEmpty { head += ", " + c.bus }
    head += "), " + c.kind
    if !c.hasStreaming { head += ", no streaming I/O (unusable)" }
    else if !info.isUsable { head += ", no format rtcam can use (unusable)" }
    else { head += ", usable: --source v4l2:" + info.path }
    writeOut(head)
    for f in info.formats {
      var line = "  " + f.fourcc.text
      while line.utf8.count < 9 { line += " " }
      line += f.description
      if f.emulated { line += " (emulated by libv4l2; not used)" }
      else if !f.isSupported { line += " (not supported by rtcam)" }
      else if f.compressed { line += " (usable, decoded)" }
      else { line += " (usable)" }
      writeOut(line)
      switch f.sizes {
      case .unknown: writeOut("      sizes not listed by the driver")
      case .stepwise(let r):
        writeOut("      " + String(r.minWidth) + "x" + String(r.minHeight) + " to " + String(r.maxWidth) + "x" + String(r.maxHeight)
          + " in steps of " + String(r.stepWidth) + "x" + String(r.stepHeight))
      case .discrete(let list):
        for s in list {
          writeOut("      " + String(s.width) + "x" + String(s.height) + intervalsText(s.intervals))
        }
      }
    }
  }
  for (path, e) in failures { writeOut(path + ": " + e.code + ": " + e.message) }
  if !others.isEmpty {
    writeOut("not cameras (not listed): " + others.map { $0.path + " (" + $0.capabilities.kind + ")" }.joined(separator: ", "))
  }
  return 0
}

/// " @ 30, 25 fps", " @ 2-60 fps", or "" when unknown.
func intervalsText(_ i: V4L2Intervals) -> String {
  switch i {
  case .unknown: return ""
  case .discrete(let list):
    return list.isEmpty ? "" : " @ " + list.map { $0.fpsText }.joined(separator: ", ") + " fps"
  case .stepwise(let lo, let hi, _): return " @ " + hi.fpsText + "-" + lo.fpsText + " fps"
  }
}

func devicesJSON(_ infos: [V4L2DeviceInfo], _ failures: [(String, CaptureError)]) -> String {
  var w = JsonWriter()
  w.beginObject()
  w.key("devices")
  w.beginArray()
  for info in infos where info.capabilities.isVideoCapture {
    let c = info.capabilities
    w.beginObject()
    w.key("path"); w.string(info.path)
    w.key("driver"); w.string(c.driver)
    w.key("card"); w.string(c.card)
    w.key("bus"); w.string(c.bus)
    w.key("kind"); w.string(c.kind)
    w.key("usable"); w.bool(info.isUsable)
    w.key("error"); w.null()
    w.key("formats")
    w.beginArray()
    for f in info.formats {
      w.beginObject()
      w.key("fourcc"); w.string(f.fourcc.text)
      w.key("description"); w.string(f.description)
      w.key("compressed"); w.bool(f.compressed)
      w.key("emulated"); w.bool(f.emulated)
      w.key("supported"); w.bool(f.isSupported)
      switch f.sizes {
      case .unknown:
        w.key("sizes"); w.null()
      case .stepwise(let r):
        w.key("size_range"); w.beginObject()
        w.key("min_width"); w.int(r.minWidth)
        w.key("max_width"); w.int(r.maxWidth)
        w.key("step_width"); w.int(r.stepWidth)
        w.key("min_height"); w.int(r.minHeight)
        w.key("max_height"); w.int(r.maxHeight)
        w.key("step_height"); w.int(r.stepHeight)
        w.endObject()
      case .discrete(let list):
        w.key("sizes"); w.beginArray()
        for s in list {
          w.beginObject()
          w.key("width"); w.int(s.width)
          w.key("height"); w.int(s.height)
          switch s.intervals {
          case .unknown:
            w.key("fps"); w.null()
          case .discrete(let l):
            w.key("fps"); w.beginArray()
            for i in l { w.raw(i.fpsText) }
            w.endArray()
          case .stepwise(let lo, let hi, _):
            w.key("fps_range"); w.beginObject()
            w.key("min"); w.raw(hi.fpsText)
            w.key("max"); w.raw(lo.fpsText)
            w.endObject()
          }
          w.endObject()
        }
        w.endArray()
      }
      w.endObject()
    }
    w.endArray()
    w.endObject()
  }
  for (path, e) in failures {
    w.beginObject()
    w.key("path"); w.string(path)
    w.key("usable"); w.bool(false)
    w.key("error"); w.beginObject()
    w.key("code"); w.string(e.code)
    w.key("message"); w.string(e.message)
    w.endObject()
    w.key("formats"); w.beginArray(); w.endArray()
    w.endObject()
  }
  w.endArray()
  // metadata, output and codec nodes: named, not listed as devices
  w.key("other_nodes")
  w.beginArray()
  for info in infos where !info.capabilities.isVideoCapture {
    w.beginObject()
    w.key("path"); w.string(info.path)
    w.key("card"); w.string(info.capabilities.card)
    w.key("kind"); w.string(info.capabilities.kind)
    w.endObject()
  }
  w.endArray()
  w.endObject()
  return w.text
}
