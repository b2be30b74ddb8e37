// The one capture thread body, for every source (V4L2 cameras, programs, standard input, the
// test pattern, Y4M files): open the source, stream (capture, hand stills to the JPEG thread,
// encode into the ring), and when it fails, do what the supervisor's restart policy says: try
// again every 2 s (cameras), with backoff (programs), or never (stdin:, testsrc, Y4M).
import App
import CRTCam
import Capture
import Encoder
import Synchronization

/// What differs between kinds of source, for `CaptureRunner`.
struct SourceKind<S: FrameSource> {
  /// "v4l2:/dev/video0", "rpicam", "testsrc": the name in the log.
  var name: String
  /// "camera" or "source", for the log ("camera running: ...").
  var noun = "source"
  var policy: RestartPolicy
  /// Whether runs are logged ("... running: ...", "... ended after ..."); see CameraSupervisor.
  var announcesRuns = true
  /// Opens the source (on the capture thread).
  var open: () throws(CaptureError) -> S
  /// Extra words for the "running" log line.
  var details: (S) -> String = { _ in "" }
  /// Counters for the log ("N frames, D dropped, F fps measured").
  var counters: (S) -> String = { _ in "" }
}

/// The body of a capture thread. What to publish and log, and when to try again, is
/// `CameraSupervisor`'s decision (App); when to encode and whether a keyframe is owed is
/// `EncodePolicy`'s. This class opens, captures, encodes, sleeps between attempts and carries
/// their decisions out. Lives on its capture thread only.
final class CaptureRunner<S: FrameSource> {
  let shared: CaptureShared
  let kind: SourceKind<S>
  let bitrate: Int
  let preset: EncoderPreset
  var supervisor: CameraSupervisor
  /// The supervisor gave up (a source that is not restarted): the thread ends.
  var gaveUp = false
  /// Kept across restarts while the source's size and rate stay the same.
  var encoder: H264Encoder? = nil
  let stills: StillThread
  /// An access unit did not fit a ring slot (logged once).
  var oversizeLogged = false

  init(_ kind: SourceKind<S>, bitrate: Int, preset: EncoderPreset = .default, shared: CaptureShared) {
    self.kind = kind
    self.supervisor = CameraSupervisor(name: kind.name, noun: kind.noun, policy: kind.policy,
      announcesRuns: kind.announcesRuns)
    self.bitrate = bitrate
    self.preset = preset
    self.shared = shared
    self.stills = StillThread(shared: shared)
  }

  /// The pause before the next attempt (tests shorten it).
  var retryNs: UInt64 {
    get { supervisor.retryNs }
    set {
      supervisor.policy = .fixed(newValue)
      supervisor.retryNs = newValue
    }
  }

  var stopped: Bool { shared.stopped }

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
    defer {
      stills.stop()
      shared.captureEnded.store(true, ordering: .releasing)
    }
    while !stopped && !gaveUp {
      streamOnce()
      if stopped || gaveUp { break }
      // wait before the next attempt, in short steps so a stop is noticed
      let until = rtc_monotonic_ns() &+ supervisor.retryNs
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
  /// (and with it the device or program) is closed on return.
  func streamOnce() {
    var source: S
    do { source = try kind.open() } catch {
      if stopped { return }
      perform(supervisor.failed(.capture(error), now: rtc_monotonic_ns()))
      return
    }
    guard let enc = encoder(for: source) else { return }
    // a (re)started stream begins with a keyframe so viewers can decode at once
    shared.encodePolicy.restarted()
    perform(supervisor.streaming(SourceFormat(width: source.width, height: source.height, fps: source.fps),
      details: source.description + kind.details(source), now: rtc_monotonic_ns()))

    var count: UInt64 = 0
    while !stopped {
      let frame: FrameView
      do { frame = try shared.timedNextFrame(&source) } catch {
        if stopped { return }  // the source (a program: stopped and reaped) goes with this call
        perform(supervisor.ended(error, counters: kind.counters(source), now: rtc_monotonic_ns()))
        return
      }
      count += 1
      rtc_frame_mark()
      shared.counting.frameCaptured()
      stills.offer(frame)
      do { try encodeAndPublish(frame, encoder: enc) } catch {
        encoder = nil
        perform(supervisor.failed(.encoder(error), now: rtc_monotonic_ns()))
        return
      }
      if kind.announcesRuns && count % 900 == 0 { log(.debug, "source " + kind.name + ": " + kind.counters(source)) }
    }
  }

  /// The encoder for `source`: the one kept from the last run if the size and rate are the same,
  /// else a new one. nil (the failure performed) if it cannot start.
  func encoder(for source: S) -> H264Encoder? {
    let fps = min(max(source.fps, 1), 120)
    if let e = encoder, e.settings.width != source.width || e.settings.height != source.height || e.settings.fps != fps {
      encoder = nil
    }
    if encoder == nil {
      do {
        encoder = try H264Encoder(EncoderSettings(width: source.width, height: source.height, fps: fps, bitrate: bitrate,
          preset: preset))
      } catch {
        perform(supervisor.failed(.encoder(error), now: rtc_monotonic_ns()))
        return nil
      }
    }
    return encoder
  }

  /// Encodes one captured frame (unless nobody watches, as the policy decides) straight into a
  /// reserved ring slot and publishes it to the network loop. A full ring or an access unit larger
  /// than a slot loses the frame (the ring counts it) and owes a keyframe.
  func encodeAndPublish(_ frame: FrameView, encoder: H264Encoder) throws(EncoderError) {
    let policy = shared.encodePolicy
    guard case .encode(let keyframe) = policy.frame(viewers: shared.consumers.load(ordering: .relaxed)) else {
      shared.counting.frameIdle()
      return
    }
    guard let slot = shared.ring.reserve() else {
      policy.frameLost()
      return
    }
    let t0 = rtc_monotonic_ns()
    let outcome = try encoder.encode(frame, forceKeyframe: keyframe, into: slot)
    let encodeNs = rtc_monotonic_ns() &- t0
    shared.counting.encodeTook(ns: encodeNs)
    shared.stageTimes.withLock { $0.record(.encode, ns: encodeNs) }
    switch outcome {
    case .skipped:
      return  // a keyframe owed stays owed
    case .tooLarge(let length):
      shared.ring.commit(length: length, isKeyframe: false, captureTimeNs: frame.captureTimeNs)  // refused, counted
      policy.frameLost()
      if !oversizeLogged {
        oversizeLogged = true
        log(.warn, "FRAME_TOO_LARGE: an access unit of " + String(length) + " bytes does not fit a "
          + String(shared.ring.slotCapacity) + "-byte ring slot; dropped (lower --bitrate)")
      }
    case .encoded(let e):
      policy.produced(keyframe: e.isKeyframe)
      shared.counting.frameEncoded(length: e.length, isKeyframe: e.isKeyframe)
      shared.ring.commit(length: e.length, isKeyframe: e.isKeyframe, captureTimeNs: e.captureTimeNs)
      shared.wake()
    }
  }
}

/// Starts a capture thread running `kind` (made on that thread by `make`). False only if no
/// thread started.
func startRunner<S: FrameSource & SendableMetatype>(bitrate: Int, preset: EncoderPreset, shared: CaptureShared,
                                 _ make: @escaping @Sendable () -> SourceKind<S>) -> Bool {
  let ok = startThread {
    CaptureRunner(make(), bitrate: bitrate, preset: preset, shared: shared).run()
  }
  if !ok { log(.error, "THREAD_FAILED: cannot start the capture thread") }
  return ok
}

/// Starts the capture thread for a test pattern or Y4M file, already open: it is not reopened,
/// so a failure (END_OF_STREAM of a file, an encoder that cannot start) is final. The encoder
/// takes `settings`' bitrate and preset, the size and rate of the source.
func startCapture<S: FrameSource & SendableMetatype>(_ source: Transfer<S>, settings: EncoderSettings, shared: CaptureShared) -> Bool {
  startRunner(bitrate: settings.bitrate, preset: settings.preset, shared: shared) {
    // no name: with `.never` and no run lines the supervisor logs nothing (the core logs a failure)
    SourceKind<S>(name: "", policy: .never, announcesRuns: false, open: { () throws(CaptureError) -> S in source.take() })
  }
}
