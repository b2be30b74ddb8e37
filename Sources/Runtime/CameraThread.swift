// `serve` with a V4L2 camera: the default source, the camera capture thread (which keeps
// retrying while the camera is missing, busy or lost, and resumes when it is back) and how its
// state reaches /status.
import App
import CRTCam
import Capture
import Encoder
import Synchronization
import Wire

/// The camera tried when no --source is given.
public let defaultCameraPath = "/dev/video0"

/// The source `serve` and `probe` use without --source: `v4l2:/dev/video0` when that node exists,
/// else the test pattern. `note` says which, for the log.
public func defaultSourceSpec() -> (spec: String, note: String) {
  if access(defaultCameraPath, F_OK) == 0 {
    return ("v4l2:" + defaultCameraPath, "camera found at " + defaultCameraPath + ": using it (--source testsrc for the test pattern)")
  }
  return ("testsrc", "no camera at " + defaultCameraPath + ": using the test pattern")
}

/// What the camera thread tells the network loop: written under a mutex by the capture thread,
/// picked up by the loop when `generation` changes.
final class CameraStatus {
  struct Snapshot: Sendable {
    var running = false
    var code = ""
    var message = ""
    var width = 0
    var height = 0
    var fps = 0
  }

  let mutex: UnsafeMutablePointer<pthread_mutex_t>
  let generation = Atomic<Int>(0)
  /// Guarded by `mutex`.
  var current = Snapshot()
  /// Set before the camera thread starts; true when this server captures from V4L2.
  var active = false
  /// Network thread only: the generation last applied to /status.
  var seenGeneration = 0

  init() {
    mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    mutex.initialize(to: pthread_mutex_t())
    pthread_mutex_init(mutex, nil)
  }

  deinit {
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
  }

  /// Capture thread: replaces the state.
  func publish(_ s: Snapshot) {
    pthread_mutex_lock(mutex)
    current = s
    pthread_mutex_unlock(mutex)
    generation.wrappingAdd(1, ordering: .releasing)
  }

  /// Network thread: the state, if it changed since the last call.
  func takeChange() -> Snapshot? {
    let g = generation.load(ordering: .acquiring)
    guard g != seenGeneration else { return nil }
    seenGeneration = g
    pthread_mutex_lock(mutex)
    let s = current
    pthread_mutex_unlock(mutex)
    return s
  }
}

extension EventLoop {
  /// Folds the camera thread's state into /status (V4L2 sources only): "running", or "failed"
  /// with the error code and message while it waits for the camera.
  func applyCameraStatus(_ s: inout SourceStatus) {
    guard shared.camera.active, let c = shared.camera.takeChange() else { return }
    s.state = c.running ? "running" : "failed"
    s.errorCode = c.running ? nil : c.code
    s.errorMessage = c.running ? nil : c.message
    if c.width > 0 {
      s.width = c.width
      s.height = c.height
      s.fps = c.fps
    }
  }
}

/// Starts the capture thread for `--source v4l2:DEVICE`. It never gives up: a camera that is
/// missing, busy or unusable at start, or lost while streaming, is reported (log and /status)
/// and tried again every 2 s; when it works again streaming resumes with a keyframe.
func startCameraCapture(device: String, options o: ServeOptions, shared: CaptureShared) -> Bool {
  var vo = V4L2Options(width: o.width, height: o.height, fps: o.fps)
  if let f = o.pixelFormat { vo.format = parsePixelFormatOption(f) }
  shared.camera.active = true
  let runner = CameraRunner<V4L2Source>(
    name: "v4l2:" + device, bitrate: o.bitrate, shared: shared,
    open: { () throws(CaptureError) -> V4L2Source in try V4L2Source(device: device, options: vo) },
    details: { s in
      " (" + String(s.bufferCount) + " buffers" + (s.layout.isZeroCopy ? ", zero copy)" : ", converted to I420)")
    },
    counters: { s in
      let st = s.stats
      return String(st.frames) + " frames, " + String(st.dropped) + " dropped"
        + (st.milliFps.map { ", " + formatFixed($0 / 10, decimals: 2) + " fps measured" } ?? "")
    })
  let ok = startThread(ThreadBody { runner.run() })
  if !ok { log(.error, "THREAD_FAILED: cannot start the capture thread") }
  return ok
}

/// The body of a capture thread that reopens its source after failures (used for cameras).
/// Each `streamOnce` is one attempt: open, publish "running", capture+encode+push until an error
/// or stop; failures are published (state 4, CameraStatus) and logged once per change.
final class CameraRunner<S: FrameSource> {
  let name: String
  let bitrate: Int
  let shared: CaptureShared
  let open: () throws(CaptureError) -> S
  /// Extra words for the "camera running" log line.
  let details: (S) -> String
  /// Counters for the log ("N frames, D dropped, F fps measured").
  let counters: (S) -> String
  /// Pause between attempts.
  var retryNs: UInt64 = 2_000_000_000
  var encoder: H264Encoder? = nil
  var output: [UInt8] = []
  /// code + message of the last failure logged ("" after a success), to log each change once.
  var lastLogged = ""
  /// The message of the loss, while the camera has not come back after one.
  var lostMessage: String? = nil
  /// True once the camera has streamed (so a later success is "back", not "running").
  var hasStreamed = false

  init(
    name: String, bitrate: Int, shared: CaptureShared, open: @escaping () throws(CaptureError) -> S,
    details: @escaping (S) -> String, counters: @escaping (S) -> String
  ) {
    self.name = name
    self.bitrate = bitrate
    self.shared = shared
    self.open = open
    self.details = details
    self.counters = counters
    output.reserveCapacity(1 << 20)
  }

  var stopped: Bool { shared.stop.load(ordering: .relaxed) }

  func wake() { shared.wake() }

  func run() {
    while !stopped {
      streamOnce()
      if stopped { break }
      // wait before the next attempt, in short steps so a stop is noticed
      let until = rtc_monotonic_ns() &+ retryNs
      while !stopped {
        let now = rtc_monotonic_ns()
        if now >= until { break }
        sleepUntilMonotonic(min(until, now &+ 100_000_000))
      }
    }
    shared.state.store(3, ordering: .releasing)
  }

  /// Reports a failure: /status shows it, the log says it once per change.
  func fail(_ code: String, _ message: String) {
    var code = code
    var message = message
    if let lost = lostMessage, code == "CAMERA_NOT_FOUND" {
      // still gone after a loss: keep saying it was lost
      code = "CAMERA_LOST"
      message = lost + "; not back yet"
    }
    shared.state.store(4, ordering: .releasing)  // neither running nor finally failed: retrying
    var snap = CameraStatus.Snapshot()
    snap.code = code
    snap.message = message
    shared.camera.publish(snap)
    if code + ": " + message != lastLogged {
      lastLogged = code + ": " + message
      log(.error, "source " + name + ": " + lastLogged + " (retrying every 2 s; the page is still served)")
    }
    wake()
  }

  /// One attempt: opens the source and streams until it fails or the server stops. The source
  /// (and with it the device) is closed on return.
  func streamOnce() {
    var source: S
    do { source = try open() } catch {
      fail(error.code, error.message)
      return
    }
    let fps = min(max(source.fps, 1), 120)
    if let e = encoder, e.settings.width != source.width || e.settings.height != source.height || e.settings.fps != fps {
      encoder = nil
    }
    if encoder == nil {
      do {
        encoder = try H264Encoder(EncoderSettings(width: source.width, height: source.height, fps: fps, bitrate: bitrate))
      } catch {
        fail(error.code, source.description + ": " + error.message)
        return
      }
    }
    guard let enc = encoder else { return }
    // a (re)started stream begins with a keyframe so viewers can decode at once
    shared.keyframe.store(true, ordering: .releasing)
    var snap = CameraStatus.Snapshot()
    snap.running = true
    snap.width = source.width
    snap.height = source.height
    snap.fps = source.fps
    shared.camera.publish(snap)
    shared.state.store(1, ordering: .releasing)
    log(.info, (hasStreamed ? "camera back: " : "camera running: ") + source.description + details(source))
    hasStreamed = true
    lastLogged = ""
    lostMessage = nil
    wake()

    var count: UInt64 = 0
    while !stopped {
      let frame: FrameView
      do { frame = try source.nextFrame() } catch {
        log(.info, "source " + name + " ended after " + counters(source))
        if error.code == "CAMERA_LOST" { lostMessage = error.message }
        fail(error.code, error.message)
        return
      }
      count += 1
      do { try shared.encodeAndPublish(frame, encoder: enc, output: &output) } catch {
        encoder = nil
        fail(error.code, error.message)
        return
      }
      if count % 900 == 0 { log(.debug, "source " + name + ": " + counters(source)) }
    }
  }
}
