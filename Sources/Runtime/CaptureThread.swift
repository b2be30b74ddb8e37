// The capture+encode thread and what it shares with the network loop.
import App
import CRTCam
import Capture
import Encoder
import Synchronization
import Wire

/// State shared between the capture thread and the network loop.
/// `Sendable` as checked by the compiler: every member is a `let` of a thread-safe type
/// (`Atomic`, the single-producer/single-consumer `FrameRing`, `SourceReport`).
final class CaptureShared: Sendable {
  let ring: FrameRing
  let stop = Atomic<Bool>(false)
  /// Set by a supervised capture thread when it has ended (its source closed; a program stopped).
  let captureEnded = Atomic<Bool>(false)
  /// A viewer asked for a keyframe (joined, PLI, FIR): set by the network loop, taken by the
  /// capture thread, whose `EncodePolicy` decides.
  let keyframeRequested = Atomic<Bool>(false)
  let framesCaptured = Atomic<UInt64>(0)
  let framesEncoded = Atomic<UInt64>(0)
  let keyframes = Atomic<UInt64>(0)
  let bytesEncoded = Atomic<UInt64>(0)
  /// The source's state, published by the capture thread, picked up by the network loop.
  let source = SourceReport()
  let wakeFd: Int32
  /// Connected viewers, kept current by the network loop. With none, frames are captured but
  /// not encoded (no CPU spent on a picture nobody watches).
  let viewers = Atomic<Int>(0)
  let framesIdle = Atomic<UInt64>(0)
  /// Per-frame encode times for /metrics.
  let encodeTimes = EncodeTimeCounter()
  /// Per-stage frame times for /status and /metrics (StageTiming.swift).
  let stageTimes = StageRecorder(StageCounters())
  /// The quality a waiting snapshot asked for (0: none), and the MJPEG stream clients: set by
  /// the network loop, read by the capture thread's `StillPolicy`.
  let snapshotQuality = Atomic<Int>(0)
  let streamClients = Atomic<Int>(0)
  /// The latest JPEG the capture thread made, for the network loop.
  let stills = JpegMailbox()

  /// --mjpeg-fps and --mjpeg-quality, for the capture thread's StillPolicy.
  let stillOptions: StillOptions

  init(ring: FrameRing, wakeFd: Int32, stillOptions: StillOptions = StillOptions()) {
    self.ring = ring
    self.wakeFd = wakeFd
    self.stillOptions = stillOptions
  }

  /// After `stop`: waits (in 10 ms steps) up to `ns` for a supervised capture thread to end, so a
  /// source program is stopped and reaped before rtcam exits. True if it ended.
  func waitForCaptureEnd(upToNs ns: UInt64) -> Bool {
    let deadline = rtc_monotonic_ns() &+ ns
    while !captureEnded.load(ordering: .acquiring) {
      let now = rtc_monotonic_ns()
      if now >= deadline { return false }
      sleepUntilMonotonic(min(deadline, now &+ 10_000_000))
    }
    return true
  }

  /// Wakes the network loop.
  func wake() {
    var one: UInt8 = 1
    _ = rtc_write_all(wakeFd, &one, 1)
  }

  /// Capture thread: makes the JPEG `worker`'s policy asks for from this frame (a snapshot is
  /// waiting, or a stream frame is due), and hands it to the network loop.
  func encodeStills(_ frame: FrameView, _ worker: inout StillWorker) {
    let q = snapshotQuality.load(ordering: .relaxed)
    let clients = streamClients.load(ordering: .relaxed)
    guard q > 0 || clients > 0 else { return }
    guard let work = worker.policy.frame(now: rtc_monotonic_ns(), streamClients: clients, snapshotQuality: q > 0 ? q : nil)
    else { return }
    // taken: a request for another quality that arrives meanwhile stays set
    if work.forSnapshot { _ = snapshotQuality.compareExchange(expected: q, desired: 0, ordering: .relaxed) }
    do throws(JpegError) {
      if worker.encoder == nil { worker.encoder = try JpegEncoder() }
      guard let enc = worker.encoder else { return }
      let jpeg = try enc.encode(frame, quality: work.quality)
      stills.publish(jpeg, work: work, captureTimeNs: frame.captureTimeNs)
      wake()
    } catch {
      worker.failures += 1
      if worker.failures == 1 || worker.failures % 100 == 0 {
        log(.warn, "JPEG for /snapshot.jpg or /stream.mjpg failed (" + String(worker.failures) + " so far): "
          + error.code + ": " + error.message)
      }
    }
  }

  /// Capture thread: encodes one captured frame (unless nobody watches, as `policy` decides) and
  /// hands the access unit to the network loop through the ring. `output` is the thread's reused
  /// buffer.
  func encodeAndPublish(_ frame: FrameView, encoder: H264Encoder, policy: inout EncodePolicy,
                        output: inout [UInt8]) throws(EncoderError) {
    framesCaptured.wrappingAdd(1, ordering: .relaxed)
    let requested = keyframeRequested.exchange(false, ordering: .acquiringAndReleasing)
    switch policy.frame(viewers: viewers.load(ordering: .relaxed), keyframeRequested: requested) {
    case .skip:
      framesIdle.wrappingAdd(1, ordering: .relaxed)
      return
    case .encode(let keyframe):
      // the encoder keeps the request pending until it actually produces an IDR
      if keyframe { encoder.requestKeyframe() }
    }
    let t0 = rtc_monotonic_ns()
    let encoded = try encoder.encode(frame, into: &output)
    let encodeNs = rtc_monotonic_ns() &- t0
    encodeTimes.record(ns: encodeNs)
    stageTimes.withLock { $0.record(.encode, ns: encodeNs) }
    guard let e = encoded else { return }
    framesEncoded.wrappingAdd(1, ordering: .relaxed)
    bytesEncoded.wrappingAdd(UInt64(e.length), ordering: .relaxed)
    if e.isKeyframe { keyframes.wrappingAdd(1, ordering: .relaxed) }
    let pushed = output.withUnsafeBytes { all in
      ring.push(UnsafeRawBufferPointer(rebasing: all[0..<e.length]), isKeyframe: e.isKeyframe,
        captureTimeNs: e.captureTimeNs)
    }
    if pushed { wake() } else { policy.frameLost() }
  }
}

/// The capture+encode loop: blocks on the source, encodes once, hands the access unit to the
/// network loop through the ring. Runs on its own thread. A failure ends it (`.failed`); the
/// test pattern and file sources are not reopened.
func captureLoop<S: FrameSource>(source: inout S, encoder: H264Encoder, shared: CaptureShared) {
  var output: [UInt8] = []
  output.reserveCapacity(1 << 20)
  var policy = EncodePolicy()
  var stills = StillWorker(options: shared.stillOptions)
  shared.source.publish(.running(SourceFormat(width: source.width, height: source.height, fps: source.fps)))
  shared.wake()
  while !shared.stop.load(ordering: .relaxed) {
    let frame: FrameView
    do { frame = try shared.timedNextFrame(&source) } catch {
      shared.source.publish(.failed(.capture(error)))
      shared.wake()
      return
    }
    rtc_frame_mark()
    shared.encodeStills(frame, &stills)
    do { try shared.encodeAndPublish(frame, encoder: encoder, policy: &policy, output: &output) } catch {
      shared.source.publish(.failed(.encoder(error)))
      shared.wake()
      return
    }
  }
  shared.source.publish(.stopped)
}

/// The source state handed from a capture thread to the network loop: the latest value and a
/// generation counter, so the loop looks only when something changed.
final class SourceReport: Sendable {
  let latest = Locked(SourceState.starting)
  let generation = Atomic<Int>(0)

  /// Capture thread: replaces the state.
  func publish(_ s: SourceState) {
    latest.withLock { $0 = s }
    generation.wrappingAdd(1, ordering: .releasing)
  }

  /// Network thread: the state, if its generation moved past `seen` (which is updated).
  func takeChange(seen: inout Int) -> SourceState? {
    let g = generation.load(ordering: .acquiring)
    guard g != seen else { return nil }
    seen = g
    return latest.withLock { $0 }
  }
}

/// Starts the capture thread for a test pattern or file source. An encoder that cannot start is
/// reported as the source's failure (the page is still served); false only if no thread started.
func startCapture<S: FrameSource>(_ source: Transfer<S>, settings: EncoderSettings, shared: CaptureShared) -> Bool {
  let encoder: H264Encoder
  do { encoder = try H264Encoder(settings) } catch {
    shared.source.publish(.failed(.encoder(error)))
    return true
  }
  let ok = startThread {
    var src = source.take()
    captureLoop(source: &src, encoder: encoder, shared: shared)
  }
  if !ok { log(.error, "THREAD_FAILED: cannot start the capture thread") }
  return ok
}

/// The encode-time histogram, counted by the capture thread without locks or allocation (one
/// atomic per bucket of `encodeTimeBucketBounds`, plus +Inf), read by /metrics.
final class EncodeTimeCounter: Sendable {
  let b0 = Atomic<UInt64>(0), b1 = Atomic<UInt64>(0), b2 = Atomic<UInt64>(0), b3 = Atomic<UInt64>(0)
  let b4 = Atomic<UInt64>(0), b5 = Atomic<UInt64>(0), b6 = Atomic<UInt64>(0), b7 = Atomic<UInt64>(0)
  let bInf = Atomic<UInt64>(0)
  let sumNs = Atomic<UInt64>(0)

  func record(ns: UInt64) {
    sumNs.wrappingAdd(ns, ordering: .relaxed)
    switch EncodeTimes.bucket(ns: ns) {
    case 0: b0.wrappingAdd(1, ordering: .relaxed)
    case 1: b1.wrappingAdd(1, ordering: .relaxed)
    case 2: b2.wrappingAdd(1, ordering: .relaxed)
    case 3: b3.wrappingAdd(1, ordering: .relaxed)
    case 4: b4.wrappingAdd(1, ordering: .relaxed)
    case 5: b5.wrappingAdd(1, ordering: .relaxed)
    case 6: b6.wrappingAdd(1, ordering: .relaxed)
    case 7: b7.wrappingAdd(1, ordering: .relaxed)
    default: bInf.wrappingAdd(1, ordering: .relaxed)
    }
  }

  var snapshot: EncodeTimes {
    let buckets = [
      b0.load(ordering: .relaxed), b1.load(ordering: .relaxed), b2.load(ordering: .relaxed),
      b3.load(ordering: .relaxed), b4.load(ordering: .relaxed), b5.load(ordering: .relaxed),
      b6.load(ordering: .relaxed), b7.load(ordering: .relaxed), bInf.load(ordering: .relaxed),
    ]
    return EncodeTimes(buckets: buckets, sumNs: sumNs.load(ordering: .relaxed))
  }
}

/// A capture thread's JPEG state: the policy, the encoder (made on first use) and its failures.
struct StillWorker {
  var policy: StillPolicy
  var encoder: JpegEncoder? = nil
  var failures = 0

  init(options: StillOptions) { policy = StillPolicy(options: options) }
}

/// The latest JPEG, handed from the capture thread to the network loop (like `SourceReport`: the
/// value under a lock and a generation counter). The buffer keeps its capacity, so publishing
/// allocates only when a JPEG is larger than any before.
final class JpegMailbox: Sendable {
  struct Still: Sendable {
    var bytes: [UInt8] = []
    var work = StillWork(quality: 0, forStream: false, forSnapshot: false)
    var captureTimeNs: UInt64 = 0
  }
  let latest = Locked(Still())
  let generation = Atomic<Int>(0)

  /// Capture thread.
  func publish(_ jpeg: UnsafeRawBufferPointer, work: StillWork, captureTimeNs: UInt64) {
    latest.withLock { s in
      s.bytes.removeAll(keepingCapacity: true)
      s.bytes.reserveWithHeadroom(jpeg.count)
      s.bytes.append(contentsOf: jpeg)
      s.work = work
      s.captureTimeNs = captureTimeNs
    }
    generation.wrappingAdd(1, ordering: .releasing)
  }

  /// Network thread: if a new JPEG came since `seen` (updated), copies it into `bytes` (the
  /// caller's buffer, which keeps its capacity; sharing the mailbox's array instead would make the
  /// capture thread's next publish copy it) and returns what it was made for.
  func take(seen: inout Int, into bytes: inout [UInt8]) -> (work: StillWork, captureTimeNs: UInt64)? {
    let g = generation.load(ordering: .acquiring)
    guard g != seen else { return nil }
    seen = g
    return latest.withLock { s in
      bytes.removeAll(keepingCapacity: true)
      bytes.reserveWithHeadroom(s.bytes.count)
      bytes.append(contentsOf: s.bytes)
      return (s.work, s.captureTimeNs)
    }
  }
}
