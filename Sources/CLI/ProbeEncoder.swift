// `rtcam probe --encoder ...`: the memory-to-memory encoder path on its own. `--encoder` alone
// lists the encoder nodes (formats, controls and their ranges); `--encoder v4l2m2m:DEV` encodes
// --frames frames of the test pattern through rtcam's M2M code, drains the
// encoder, restarts it, encodes a few more, and prints one JSON line. With `--codec fwht` it runs
// against the kernel's vicodec, which tools/vm-test uses.
import CRTCam
import Capture
import Encoder
import HTTP
import Runtime
import Wire

/// Frames encoded after the drain and restart: enough to see the encoder run again.
let framesAfterRestart = 10

/// Prints every memory-to-memory node as JSON: its queues' formats, whether it is an H.264
/// encoder, its controls with their ranges, and which one `--encoder auto` would use.
func listEncoders() -> Int32 {
  let nodes = V4L2DeviceInfo.queryAll()
  let found = V4L2DeviceInfo.defaultEncoder(nodes)
  var w = JsonWriter()
  w.beginObject()
  w.key("encoders"); w.beginArray()
  for n in nodes where n.capabilities.isMemoryToMemory {
    w.beginObject()
    w.key("path"); w.string(n.path)
    w.key("driver"); w.string(n.capabilities.driver)
    w.key("card"); w.string(n.capabilities.card)
    w.key("multiplanar"); w.bool(n.capabilities.isMultiPlanar)
    w.key("takes"); w.beginArray(); for f in n.codec?.takes ?? [] { w.string(f.text) }; w.endArray()
    w.key("makes"); w.beginArray(); for f in n.codec?.makes ?? [] { w.string(f.text) }; w.endArray()
    w.key("h264_encoder"); w.bool(n.isH264Encoder)
    w.key("controls"); w.beginArray()
    if let d = try? V4L2M2MDevice(path: n.path) {
      for c in d.controls() {
        w.beginObject()
        w.key("name"); w.string(c.name)
        w.key("id"); w.string("0x" + Hex.encode([UInt8(c.id >> 24), UInt8(truncatingIfNeeded: c.id >> 16),
          UInt8(truncatingIfNeeded: c.id >> 8), UInt8(truncatingIfNeeded: c.id)]))
        w.key("type"); w.int(Int(c.type))
        w.key("min"); w.raw(String(c.minimum))
        w.key("max"); w.raw(String(c.maximum))
        w.key("step"); w.raw(String(c.step))
        w.key("default"); w.raw(String(c.defaultValue))
        w.endObject()
      }
    }
    w.endArray()
    w.endObject()
  }
  w.endArray()
  w.key("auto"); if let p = found.path { w.string(p) } else { w.null() }
  w.key("note"); w.string(found.note)
  w.endObject()
  writeOut(w.text)
  return 0
}

/// What one hardware-encoder probe saw.
struct EncoderProbeReport {
  var path = ""
  var driver = ""
  var codec = M2MCodec.h264
  var rawFormat = FourCC.yu12
  var bytesPerLine = 0
  var framesIn = 0
  var framesOut = 0
  var keyframes = 0
  /// Coded frame sizes: smallest, largest, sum (before the drain).
  var bytesMin = Int.max
  var bytesMax = 0
  var bytesSum = 0
  var encodeNs: [UInt64] = []
  var refused: [String] = []
  var drained: Int? = nil
  var afterRestart = 0
  var errorCode: String? = nil
  var errorMessage = ""

  var json: String {
    var w = JsonWriter()
    w.beginObject()
    w.key("encoder"); w.string(path)
    w.key("driver"); w.string(driver)
    w.key("codec"); w.string(codec.fourcc.text)
    w.key("raw_format"); w.string(rawFormat.text)
    w.key("bytesperline"); w.int(bytesPerLine)
    w.key("frames_in"); w.int(framesIn)
    w.key("frames_out"); w.int(framesOut)
    w.key("keyframes"); w.int(keyframes)
    let n = encodeNs.count
    w.key("bytes_min"); w.int(n == 0 ? 0 : bytesMin)
    w.key("bytes_max"); w.int(bytesMax)
    w.key("bytes_mean"); w.int(n == 0 ? 0 : bytesSum / n)
    writeEncodeTimes(&w, encodeNs)
    w.key("refused_controls"); w.beginArray(); for r in refused { w.string(r) }; w.endArray()
    w.key("drained"); if let d = drained { w.int(d) } else { w.null() }
    w.key("frames_after_restart"); w.int(afterRestart)
    writeProbeError(&w, errorCode, errorMessage)
    w.endObject()
    return w.text
  }
}

/// `rtcam probe --encoder auto|v4l2m2m[:DEV]`: nil when `auto` finds no H.264 encoder (the
/// caller probes OpenH264), else the exit code after printing the report.
func probeHardwareEncoder(_ request: EncoderRequest, _ o: ProbeOptions) -> Int32? {
  var r = EncoderProbeReport()
  r.codec = o.codec
  var path: String? = nil
  if case .v4l2m2m(let p) = request, let p { path = p }
  if path == nil {
    let nodes = V4L2DeviceInfo.queryAll()
    let found = V4L2DeviceInfo.defaultEncoder(nodes)
    path = found.path
    if path == nil {
      if request == .auto { return nil }
      r.errorCode = M2MFault.notFound("").code
      r.errorMessage = found.note
      writeOut(r.json)
      return 1
    }
  }
  r.path = path ?? ""
  // the test pattern only: the encoder is what is probed, and its frames come at --fps exactly
  if let spec = o.source, spec != "testsrc" {
    r.errorCode = "BAD_SOURCE"
    r.errorMessage = "probe --encoder encodes the test pattern (--source testsrc), not " + spec
  } else {
    var src = TestPattern(width: o.width, height: o.height, fps: o.fps)
    probeEncoder(&src, o, &r)
  }
  writeOut(r.json)
  return r.errorCode == nil ? 0 : 1
}

/// Encodes `o.frames` frames through the M2M encoder, drains it, restarts it and encodes
/// `framesAfterRestart` more.
func probeEncoder(_ src: inout TestPattern, _ o: ProbeOptions, _ r: inout EncoderProbeReport) {
  let settings = EncoderSettings(width: src.width, height: src.height, fps: min(max(src.fps, 1), 120), bitrate: o.bitrate,
    preset: o.preset, temporalLayers: 1)
  let enc: M2MEncoder<V4L2M2MDevice>
  do {
    let device = try V4L2M2MDevice(path: r.path)
    r.driver = device.capabilities.driver
    enc = try M2MEncoder(device: device, settings: settings, codec: o.codec, rawFormat: .yu12)
  } catch {
    r.errorCode = error.code
    r.errorMessage = error.message
    return
  }
  r.bytesPerLine = enc.bytesPerLine
  r.refused = enc.refusedControls.map { $0.0.name + " (errno " + String(Int($0.1)) + ")" }
  let out = UnsafeMutableRawBufferPointer.allocate(byteCount: max(enc.rawBufferBytes * 2, 1 << 20), alignment: 16)
  defer { out.deallocate() }
  r.encodeNs.reserveCapacity(o.frames)
  func one(_ afterRestart: Bool) -> Bool {
    let frame: FrameView
    do { frame = try src.nextFrame() } catch {
      r.errorCode = error.code
      r.errorMessage = error.message
      return false
    }
    let t0 = rtc_monotonic_ns()
    do {
      let outcome = try enc.encode(frame, forceKeyframe: r.framesIn == 0, into: out)
      r.framesIn += 1
      if case .encoded(let e) = outcome {
        r.framesOut += 1
        if afterRestart { r.afterRestart += 1 } else {
          r.bytesMin = min(r.bytesMin, e.length)
          r.bytesMax = max(r.bytesMax, e.length)
          r.bytesSum += e.length
          r.encodeNs.append(rtc_monotonic_ns() &- t0)
        }
        if e.isKeyframe { r.keyframes += 1 }
      }
    } catch {
      r.errorCode = error.code
      r.errorMessage = error.message
      return false
    }
    return true
  }
  var n = 0
  while n < o.frames && one(false) { n += 1 }
  guard r.errorCode == nil else { return }
  do {
    r.drained = try enc.drain()
    try enc.restart()
  } catch {
    r.errorCode = error.code
    r.errorMessage = error.message
    return
  }
  n = 0
  while n < framesAfterRestart && one(true) { n += 1 }
}
