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

/// The body of a capture thread: opens the source, streams, and between attempts waits as the
/// supervisor says. Generic over the source only where it must be (opening and reading frames);
/// everything else is `CaptureWork`, one copy in the binary for every kind of source. Lives on
/// its capture thread only.
final class CaptureRunner<S: FrameSource> {
  let kind: SourceKind<S>
  let work: CaptureWork

  init(_ kind: SourceKind<S>, bitrate: Int, preset: EncoderPreset = .default, shared: CaptureShared) {
    self.kind = kind
    work = CaptureWork(
      supervisor: CameraSupervisor(name: kind.name, noun: kind.noun, policy: kind.policy, announcesRuns: kind.announcesRuns),
      bitrate: bitrate, preset: preset, shared: shared)
  }

  var gaveUp: Bool { work.gaveUp }

  func run() {
    defer { work.finish() }
    while !work.stopped && !work.gaveUp {
      streamOnce()
      if work.stopped || work.gaveUp { break }
      work.waitBeforeRetry()
    }
  }

  /// One attempt: opens the source and streams until it fails or the server stops. The source
  /// (and with it the device or program) is closed on return.
  func streamOnce() {
    var source: S
    do { source = try kind.open() } catch {
      if work.stopped { return }
      work.failed(.capture(error))
      return
    }
    guard let enc = work.started(SourceFormat(width: source.width, height: source.height, fps: source.fps),
      details: source.description + kind.details(source))
    else { return }
    var count: UInt64 = 0
    while !work.stopped {
      let frame: FrameView
      do { frame = try work.shared.timedNextFrame(&source) } catch {
        if work.stopped { return }  // the source (a program: stopped and reaped) goes with this call
        work.ended(error, counters: kind.counters(source))
        return
      }
      count += 1
      guard work.process(frame, encoder: enc) else { return }
      if kind.announcesRuns && count % 900 == 0 { work.logProgress(name: kind.name, counters: kind.counters(source)) }
    }
  }
}

/// What a capture thread does that does not depend on the kind of source: carry out the
/// supervisor's decisions (`CameraSupervisor`, App), keep the encoder, and per frame hand stills
/// to the JPEG thread and encode into the ring as `EncodePolicy` (App) decides.
final class CaptureWork {
  let shared: CaptureShared
  let bitrate: Int
  let preset: EncoderPreset
  var supervisor: CameraSupervisor
  /// The supervisor gave up (a source that is not restarted): the thread ends.
  var gaveUp = false
  /// Kept across restarts while the source's size and rate stay the same.
  var encoders: EncoderSwitch<V4L2M2MDevice>? = nil
  /// The switch's generation last published.
  var encoderGeneration = -1
  let stills: StillThread
  /// An access unit did not fit a ring slot (logged once).
  var oversizeLogged = false

  init(supervisor: CameraSupervisor, bitrate: Int, preset: EncoderPreset, shared: CaptureShared) {
    self.supervisor = supervisor
    self.bitrate = bitrate
    self.preset = preset
    self.shared = shared
    self.stills = StillThread(shared: shared)
  }

  var stopped: Bool { shared.stopped }

  /// When the supervisor wants the source opened again (after a failure).
  var retryAt: UInt64? = nil

  /// Carries out what the supervisor asks for.
  func carryOut() {
    while true {
      switch supervisor.pollOutput() {
      case .publish(let state):
        shared.source.publish(state)
        shared.wake()
      case .log(let level, let message):
        log(level, message)
      case .stop:
        gaveUp = true
      case .timeout(let at):
        retryAt = at
        return
      }
    }
  }

  /// Opening the source or starting its encoder failed.
  func failed(_ error: SourceError) {
    supervisor.handleFailed(error, now: rtc_monotonic_ns())
    carryOut()
  }

  /// Capturing stopped with `error` after `counters`.
  func ended(_ error: CaptureError, counters: String) {
    supervisor.handleEnded(error, counters: counters, now: rtc_monotonic_ns())
    carryOut()
  }

  /// The source is open: the encoder for its format (nil, the failure carried out, if it cannot
  /// start), a keyframe owed for its first frame, and the state published.
  func started(_ format: SourceFormat, details: String) -> EncoderSwitch<V4L2M2MDevice>? {
    guard let enc = encoder(for: format) else { return nil }
    // a (re)started stream begins with a keyframe so viewers can decode at once
    shared.encodePolicy.restarted()
    supervisor.handleStreaming(format, details: details, now: rtc_monotonic_ns())
    carryOut()
    return enc
  }

  /// Every 900 frames of a source whose runs are logged: its counters, at debug level.
  func logProgress(name: String, counters: String) { log(.debug, "source " + name + ": " + counters) }

  /// Until the time the supervisor asked to try again, in short steps so a stop is noticed.
  func waitBeforeRetry() {
    let until = retryAt ?? rtc_monotonic_ns()
    while !stopped {
      let now = rtc_monotonic_ns()
      if now >= until { break }
      sleepUntilMonotonic(min(until, now &+ 100_000_000))
    }
  }

  /// The thread ends: the JPEG thread with it; a source given up on keeps showing why.
  func finish() {
    if !gaveUp { shared.source.publish(.stopped) }
    stills.stop()
    shared.captureEnded.store(true, ordering: .releasing)
  }

  /// The encoder for `format`: the one kept from the last run if the size and rate are the same,
  /// else a new one (the hardware encoder when --encoder chooses it and it starts, else
  /// OpenH264), started at the target the core set last, or at the configured bitrate. nil (the
  /// failure carried out) if not even OpenH264 can start.
  func encoder(for format: SourceFormat) -> EncoderSwitch<V4L2M2MDevice>? {
    let fps = min(max(format.fps, 1), 120)
    let sw = encoders ?? makeSwitch()
    encoders = sw
    do {
      try sw.prepare(EncoderSettings(width: format.width, height: format.height, fps: fps,
        bitrate: shared.encodePolicy.targetBitrate ?? bitrate, preset: preset, temporalLayers: shared.temporalLayers),
        now: rtc_monotonic_ns())
    } catch {
      publishEncoder(sw)
      failed(.encoder(error))
      return nil
    }
    publishEncoder(sw)
    return sw
  }

  /// The encoder switch for --encoder: for `auto` (and `v4l2m2m` without a node) the video nodes
  /// are looked at once, for the first H.264 memory-to-memory encoder.
  func makeSwitch() -> EncoderSwitch<V4L2M2MDevice> {
    let request = shared.encoderRequest
    var found: (path: String?, note: String) = (nil, "")
    switch request {
    case .openh264, .v4l2m2m(.some): break
    case .auto, .v4l2m2m(.none):
      let nodes = V4L2DeviceInfo.queryAll()
      found = V4L2DeviceInfo.defaultEncoder(nodes)
    }
    let choice = EncoderChoice(request: request, found: found)
    if choice.hardwarePath(now: rtc_monotonic_ns()) == nil { log(.info, "encoder: OpenH264 (" + choice.reason + ")") }
    return EncoderSwitch(choice: choice) { (path: String) throws(EncoderError) -> V4L2M2MDevice in try V4L2M2MDevice(path: path) }
  }

  /// Logs what changed in the encoder switch and hands its choice to the network loop.
  func publishEncoder(_ sw: EncoderSwitch<V4L2M2MDevice>) {
    guard sw.generation != encoderGeneration else { return }
    encoderGeneration = sw.generation
    if !sw.event.message.isEmpty { log(sw.event.warning ? .warn : .info, sw.event.message) }
    shared.encoder.publish(sw.choice)
    shared.wake()
  }

  /// One captured frame: counted, offered to the JPEG thread, encoded and published. False (the
  /// failure carried out, the encoder dropped) when the encoder failed.
  func process(_ frame: FrameView, encoder enc: EncoderSwitch<V4L2M2MDevice>) -> Bool {
    rtc_frame_mark()
    shared.counting.frameCaptured()
    stills.offer(frame)
    do { try encodeAndPublish(frame, encoder: enc) } catch {
      publishEncoder(enc)
      encoders = nil
      failed(.encoder(error))
      return false
    }
    publishEncoder(enc)
    return true
  }

  /// Encodes one captured frame (unless nobody watches, as the policy decides) straight into a
  /// reserved ring slot, at the target bitrate the core set last, and publishes it to the network
  /// loop. A full ring or an access unit larger than a slot loses the frame (the ring counts it)
  /// and owes a keyframe.
  func encodeAndPublish(_ frame: FrameView, encoder: EncoderSwitch<V4L2M2MDevice>) throws(EncoderError) {
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
    if let target = policy.targetChange(from: encoder.bitrate) { try encoder.setBitrate(target, now: t0) }
    let outcome = try encoder.encode(frame, forceKeyframe: keyframe, into: slot, now: t0)
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
      shared.ring.commit(length: e.length, isKeyframe: e.isKeyframe, temporalLayer: e.temporalLayer,
        captureTimeNs: e.captureTimeNs)
      shared.wake()
    }
  }
}

/// Starts a capture thread running `kind` (made on that thread by `make`). False only if no
/// thread started.
func startRunner<S: FrameSource & SendableMetatype>(bitrate: Int, preset: EncoderPreset, shared: CaptureShared,
                                 _ make: @escaping @Sendable () -> SourceKind<S>) -> Bool {
  startCaptureThread { CaptureRunner(make(), bitrate: bitrate, preset: preset, shared: shared).run() }
}

/// Starts a capture thread running `body`, logging when the system refuses.
func startCaptureThread(_ body: @escaping @Sendable () -> Void) -> Bool {
  let ok = startThread(body)
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
