// `serve` with a V4L2 camera: the default source, and the camera's capture thread (a
// CaptureRunner that keeps retrying while the camera is missing, busy or lost, and resumes when
// it is back).
import App
import CRTCam
import Capture
import Encoder
import Synchronization
import Wire

/// The source `serve` and `probe` use without --source: the first usable camera among
/// /dev/video* (a capture node offering a format rtcam can use; UVC cameras also have metadata
/// nodes), else a camera module through rpicam-vid (when it is on PATH), else the test pattern.
/// `note` says which, for the log.
public func defaultSourceSpec() -> (spec: String, note: String) {
  var nodes: [(path: String, result: Result<V4L2DeviceInfo, CaptureError>)] = []
  for path in V4L2DeviceInfo.videoNodePaths() {
    do { nodes.append((path, .success(try V4L2DeviceInfo.query(path)))) } catch { nodes.append((path, .failure(error))) }
  }
  let choice = V4L2DeviceInfo.defaultSource(nodes, rpicamVid: programOnPath("rpicam-vid"))
  switch choice.source {
  case .camera(let path): return ("v4l2:" + path, choice.note)
  case .rpicam: return ("rpicam", choice.note)
  case .testPattern: return ("testsrc", choice.note)
  }
}

/// Whether `name` is an executable where a process source would look for it (PATH, as
/// `executableCandidates` reads it for `exec:` and `rpicam`).
func programOnPath(_ name: String) -> Bool {
  let path = getenv("PATH").map { String(cString: $0) }
  return executableCandidates(name, path: path).contains { access($0, X_OK) == 0 }
}

/// Starts the capture thread for `--source v4l2:DEVICE`. It never gives up: a camera that is
/// missing, busy or unusable at start, or lost while streaming, is reported (log and /status)
/// and tried again every 2 s; when it works again streaming resumes with a keyframe.
func startCameraCapture(device: String, options o: ServeOptions, shared: CaptureShared) -> Bool {
  var vo = V4L2Options(width: o.width, height: o.height, fps: o.fps)
  if let f = o.pixelFormat { vo.format = parsePixelFormatOption(f) }
  let options = vo
  return startRunner(bitrate: o.bitrate, preset: o.preset, shared: shared) {
    SourceKind<V4L2Source>(
      name: "v4l2:" + device, noun: "camera", policy: .fixed(2_000_000_000),
      open: { () throws(CaptureError) -> V4L2Source in try V4L2Source(device: device, options: options) },
      details: { s in
        " (" + String(s.bufferCount) + " buffers" + (s.layout.isZeroCopy ? ", zero copy)" : ", converted to I420)")
      },
      counters: { s in
        let st = s.stats
        return String(st.frames) + " frames, " + String(st.dropped) + " dropped"
          + (st.milliFps.map { ", " + formatFixed($0 / 10, decimals: 2) + " fps measured" } ?? "")
      })
  }
}
