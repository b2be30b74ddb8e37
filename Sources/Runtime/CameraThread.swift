// `serve` with a V4L2 camera: the default source, the camera capture thread (which keeps
// retrying while the camera is missing, busy or lost, and resumes when it is back) and how its
// state reaches /status.
import App
import CRTCam
import Capture
import Encoder
import Synchronization
import Wire

/// The source `serve` and `probe` use without --source: the first usable camera among
/// /dev/video* (a capture node offering a format rtcam can use; UVC cameras also have metadata
/// nodes), else the test pattern. `note` says which, for the log.
public func defaultSourceSpec() -> (spec: String, note: String) {
  var nodes: [(path: String, result: Result<V4L2DeviceInfo, CaptureError>)] = []
  for path in V4L2DeviceInfo.videoNodePaths() {
    do { nodes.append((path, .success(try V4L2DeviceInfo.query(path)))) } catch { nodes.append((path, .failure(error))) }
  }
  let choice = V4L2DeviceInfo.defaultCamera(nodes)
  guard let path = choice.path else { return ("testsrc", choice.note) }
  return ("v4l2:" + path, choice.note)
}

/// Starts the capture thread for `--source v4l2:DEVICE`. It never gives up: a camera that is
/// missing, busy or unusable at start, or lost while streaming, is reported (log and /status)
/// and tried again every 2 s; when it works again streaming resumes with a keyframe.
func startCameraCapture(device: String, options o: ServeOptions, shared: CaptureShared) -> Bool {
  var vo = V4L2Options(width: o.width, height: o.height, fps: o.fps)
  if let f = o.pixelFormat { vo.format = parsePixelFormatOption(f) }
  let options = vo
  let bitrate = o.bitrate
  let preset = o.preset
  let ok = startThread {
    let runner = CameraRunner<V4L2Source>(
      name: "v4l2:" + device, bitrate: bitrate, preset: preset, shared: shared,
      open: { () throws(CaptureError) -> V4L2Source in try V4L2Source(device: device, options: options) },
      details: { s in
        " (" + String(s.bufferCount) + " buffers" + (s.layout.isZeroCopy ? ", zero copy)" : ", converted to I420)")
      },
      counters: { s in
        let st = s.stats
        return String(st.frames) + " frames, " + String(st.dropped) + " dropped"
          + (st.milliFps.map { ", " + formatFixed($0 / 10, decimals: 2) + " fps measured" } ?? "")
      })
    runner.run()
  }
  if !ok { log(.error, "THREAD_FAILED: cannot start the capture thread") }
  return ok
}

/// The body of a capture thread that reopens its source after failures (used for cameras). What
/// to publish and log is `CameraSupervisor`'s decision (App); this class opens, captures,
/// encodes, sleeps between attempts and carries the supervisor's actions out. Lives on its
/// capture thread only.
final class CameraRunner<S: FrameSource> {
  let shared: CaptureShared
  let open: () throws(CaptureError) -> S
  /// Extra words for the "camera running" log line.
  let details: (S) -> String
  /// Counters for the log ("N frames, D dropped, F fps measured").
  let counters: (S) -> String
  let bitrate: Int
  let preset: EncoderPreset
  var supervisor: CameraSupervisor
  /// The supervisor gave up (a source that is not restarted): the thread ends.
  var gaveUp = false
  var encoder: H264Encoder? = nil
  var policy = EncodePolicy()
  var output: [UInt8] = []
  var stills: StillWorker

  init(
    name: String, bitrate: Int, preset: EncoderPreset = .default, shared: CaptureShared, open: @escaping () throws(CaptureError) -> S,
    details: @escaping (S) -> String, counters: @escaping (S) -> String,
    noun: String = "camera", policy: RestartPolicy = .fixed(2_000_000_000)
  ) {
    self.supervisor = CameraSupervisor(name: name, noun: noun, policy: policy)
    self.bitrate = bitrate
    self.preset = preset
    self.shared = shared
    self.open = open
    self.details = details
    self.counters = counters
    self.stills = StillWorker(options: shared.stillOptions)
    output.reserveCapacity(1 << 20)
  }

  var retryNs: UInt64 {
    get { supervisor.retryNs }
    set {
      supervisor.policy = .fixed(newValue)
      supervisor.retryNs = newValue
    }
  }

  var stopped: Bool { shared.stop.load(ordering: .relaxed) }

  func perform(_ actions: [CameraAction]) {
    for a in actions {
      switch a {
      case .publish(let state):
        shared.source.publish(state)
        shared.wake()
      case .log(let level, let message):
        log(level, message)
      case .stop:
        gaveUp = true
      }
    }
  }

  func run() {
    defer { shared.captureEnded.store(true, ordering: .releasing) }
    while !stopped && !gaveUp {
      streamOnce()
      if stopped || gaveUp { break }
      // wait before the next attempt, in short steps so a stop is noticed
      let until = rtc_monotonic_ns() &+ retryNs
      while !stopped {
        let now = rtc_monotonic_ns()
        if now >= until { break }
        sleepUntilMonotonic(min(until, now &+ 100_000_000))
      }
    }
    // a source given up on keeps showing why
    if !gaveUp { shared.source.publish(.stopped) }
  }

  /// One attempt: opens the source and streams until it fails or the server stops. The source
  /// (and with it the device) is closed on return.
  func streamOnce() {
    var source: S
    do { source = try open() } catch {
      if stopped { return }
      perform(supervisor.failed(.capture(error), now: rtc_monotonic_ns()))
      return
    }
    let fps = min(max(source.fps, 1), 120)
    if let e = encoder, e.settings.width != source.width || e.settings.height != source.height || e.settings.fps != fps {
      encoder = nil
    }
    if encoder == nil {
      do {
        encoder = try H264Encoder(EncoderSettings(width: source.width, height: source.height, fps: fps, bitrate: bitrate, preset: preset))
      } catch {
        perform(supervisor.failed(.encoder(error), now: rtc_monotonic_ns()))
        return
      }
    }
    guard let enc = encoder else { return }
    // a (re)started stream begins with a keyframe so viewers can decode at once
    policy.restarted()
    perform(supervisor.streaming(SourceFormat(width: source.width, height: source.height, fps: source.fps),
      details: source.description + details(source), now: rtc_monotonic_ns()))

    var count: UInt64 = 0
    while !stopped {
      let frame: FrameView
      do { frame = try shared.timedNextFrame(&source) } catch {
        if stopped { return }  // the source (a program: stopped and reaped) goes with this call
        perform(supervisor.ended(error, counters: counters(source), now: rtc_monotonic_ns()))
        return
      }
      count += 1
      rtc_frame_mark()
      shared.encodeStills(frame, &stills)
      do { try shared.encodeAndPublish(frame, encoder: enc, policy: &policy, output: &output) } catch {
        encoder = nil
        perform(supervisor.failed(.encoder(error), now: rtc_monotonic_ns()))
        return
      }
      if count % 900 == 0 { log(.debug, "source " + supervisor.name + ": " + counters(source)) }
    }
  }
}
