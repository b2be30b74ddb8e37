// `rtcam devices`: the capture nodes, their formats, sizes and rates, and which rtcam can use.
import App
import CRTCam
import Runtime
import Capture
import Encoder
import HTTP
import Wire

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
    if info.isCameraModule && !info.isUsable { head += ", camera module: use --source rpicam (rpicam-vid)" }
    else if !c.hasStreaming { head += ", no streaming I/O (unusable)" }
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
  for info in others where info.codec != nil { writeOut(codecLine(info)) }
  let rest = others.filter { $0.codec == nil }
  if !rest.isEmpty {
    writeOut("not cameras (not listed): " + rest.map { $0.path + " (" + $0.capabilities.kind + ")" }.joined(separator: ", "))
  }
  return 0
}

/// A memory-to-memory node: what it makes from what ("/dev/video11: bcm2835-codec-encode
/// (driver bcm2835-codec), memory-to-memory codec: H264 from YU12, NV12, ...: an H.264 encoder").
func codecLine(_ info: V4L2DeviceInfo) -> String {
  let c = info.capabilities
  var line = info.path + ": " + c.card + " (driver " + c.driver + "), " + c.kind
  if let f = info.codec {
    line += ": " + (f.makes.isEmpty ? "nothing" : f.makes.map { $0.text }.joined(separator: ", "))
      + " from " + (f.takes.isEmpty ? "nothing" : f.takes.map { $0.text }.joined(separator: ", "))
  }
  return line + (info.isH264Encoder ? ": an H.264 encoder (not used by rtcam yet)" : "")
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
    w.key("camera_module"); w.bool(info.isCameraModule)
    w.key("error"); w.null()
    w.key("formats")
    w.beginArray()
    for f in info.formats { writeFormatJSON(f, &w) }
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
    if let f = info.codec {
      w.key("takes"); w.beginArray(); for x in f.takes { w.string(x.text) }; w.endArray()
      w.key("makes"); w.beginArray(); for x in f.makes { w.string(x.text) }; w.endArray()
      w.key("h264_encoder"); w.bool(info.isH264Encoder)
    }
    w.endObject()
  }
  w.endArray()
  w.endObject()
  return w.text
}

/// One format of a capture node, with its sizes and frame rates, as a JSON object.
func writeFormatJSON(_ f: V4L2FormatOption, _ w: inout JsonWriter) {
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
