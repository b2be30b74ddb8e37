// The capture side as the network loop sees it: the one object the capture thread (and its JPEG
// thread) share with the network loop. Everything the network loop uses from the capture side:
//
//   ring.peek() -> FrameRing.Slot?, ring.release()
//       encoded access units in order, read in place until released
//   stills.take(seen: &Int, into: &[UInt8]) -> (work: StillWork, captureTimeNs: UInt64)?
//       the latest JPEG (for /snapshot.jpg and /stream.mjpg), when a new one came
//   source.takeChange(seen: &Int) -> SourceState?
//       the source's state, when it changed
//   counters() -> CaptureCounters
//       the capture thread's counters: one plain value, no allocation (every loop turn)
//   setConsumers(Int)          viewers + forwards; with none, frames are captured, not encoded
//   setSnapshotQuality(Int)    the quality a waiting snapshot asked for (0: none waits)
//   setStreamClients(Int)      MJPEG stream clients connected
//   requestKeyframe()          a viewer or forward needs an IDR (joined, PLI, FIR)
//   setTargetBitrate(Int)      the encoder's target (bit/s), applied before its next frame
//                              without a keyframe
//   stageTimes                 per-stage frame timing both threads record into (StageTiming.swift)
//   wakeFd (init)              the capture side writes a byte there after publishing a frame,
//                              a JPEG or a source state; the loop polls the pipe's read end
//   stop(), waitForCaptureEnd(upToNs:)   at shutdown
import App
import CRTCam
import Capture
import Encoder
import Synchronization

/// State shared between the capture thread, its JPEG thread and the network loop.
/// `Sendable` as checked by the compiler: every member is a `let` of a thread-safe type
/// (`Atomic`, the single-producer/single-consumer `FrameRing`, the mailboxes, `EncodePolicy`).
final class CaptureShared: Sendable {
  let ring: FrameRing
  /// The source's state, published by the capture thread, picked up by the network loop.
  let source = StateReport(SourceState.starting)
  /// Which encoder runs and why (`EncoderChoice`), published by the capture thread when it changes.
  let encoder = StateReport<EncoderChoice?>(nil)
  /// --encoder.
  let encoderRequest: EncoderRequest
  /// The latest JPEG the JPEG thread made, for the network loop.
  let stills = JpegMailbox()
  /// Per-stage frame times for /status and /metrics (StageTiming.swift).
  let stageTimes = StageRecorder(StageCounters())
  /// --mjpeg-fps and --mjpeg-quality, for the capture thread's StillPolicy.
  let stillOptions: StillOptions

  /// Whether the next frame must be a keyframe, and whether to encode at all: the one owner of
  /// "a keyframe is owed" (App, tested without threads).
  let encodePolicy = EncodePolicy()
  /// The capture thread's counters (`counters()` reads them).
  let counting = CaptureCounting()
  let stopFlag = Atomic<Bool>(false)
  /// Set by a capture thread when it has ended (its source closed; a program stopped).
  let captureEnded = Atomic<Bool>(false)
  /// Connected viewers plus forwards, kept current by the network loop.
  let consumers = Atomic<Int>(0)
  /// The quality a waiting snapshot asked for (0: none), and the MJPEG stream clients: set by
  /// the network loop, read by the capture thread's `StillPolicy`.
  let snapshotQuality = Atomic<Int>(0)
  let streamClients = Atomic<Int>(0)
  let wakeFd: Int32

  init(ring: FrameRing, wakeFd: Int32, stillOptions: StillOptions = StillOptions(), temporalLayers: Int = 3,
       encoder: EncoderRequest = .openh264) {
    self.ring = ring
    self.encoderRequest = encoder
    self.wakeFd = wakeFd
    self.stillOptions = stillOptions
    self.temporalLayers = temporalLayers
  }

  /// The encoder's temporal layers (`ServeOptions.temporalLayers`: the core picks each
  /// viewer's layers among these).
  let temporalLayers: Int

  // ---- the network loop's side ----

  /// The capture thread's counters, in one plain value (no allocation).
  func counters() -> CaptureCounters { counting.snapshot(dropped: ring.dropped) }

  func setConsumers(_ n: Int) { consumers.store(n, ordering: .relaxed) }

  func setSnapshotQuality(_ q: Int) { snapshotQuality.store(q, ordering: .relaxed) }

  func setStreamClients(_ n: Int) { streamClients.store(n, ordering: .relaxed) }

  /// A viewer or forward needs a keyframe; it stays owed until an IDR is published.
  func requestKeyframe() { encodePolicy.requestKeyframe() }

  /// The encoder should work to `bitsPerSecond`: the capture thread applies it before its next
  /// encode, without a keyframe.
  func setTargetBitrate(_ bitsPerSecond: Int) { encodePolicy.setTargetBitrate(bitsPerSecond) }

  /// Tells the capture thread to stop (it notices within one frame or retry step).
  func stop() { stopFlag.store(true, ordering: .releasing) }

  /// After `stop`: waits (in 10 ms steps) up to `ns` for the capture thread to end, so a source
  /// program is stopped and reaped before rtcam exits. True if it ended.
  func waitForCaptureEnd(upToNs ns: UInt64) -> Bool {
    let deadline = rtc_monotonic_ns() &+ ns
    while !captureEnded.load(ordering: .acquiring) {
      let now = rtc_monotonic_ns()
      if now >= deadline { return false }
      sleepUntilMonotonic(min(deadline, now &+ 10_000_000))
    }
    return true
  }

  // ---- the capture side's ----

  var stopped: Bool { stopFlag.load(ordering: .relaxed) }

  /// Wakes the network loop.
  func wake() {
    var one: UInt8 = 1
    _ = rtc_write_all(wakeFd, &one, 1)
  }
}

/// A state handed from a capture thread to the network loop (the source's, the encoder's): the
/// latest value and a generation counter, so the loop looks only when something changed.
final class StateReport<Value: Sendable>: Sendable {
  let latest: Locked<Value>
  let generation = Atomic<Int>(0)

  init(_ initial: Value) { latest = Locked(initial) }

  /// Capture thread: replaces the state.
  func publish(_ s: Value) {
    latest.withLock { $0 = s }
    generation.wrappingAdd(1, ordering: .releasing)
  }

  /// Network thread: the state, if its generation moved past `seen` (which is updated).
  func takeChange(seen: inout Int) -> Value? {
    let g = generation.load(ordering: .acquiring)
    guard g != seen else { return nil }
    seen = g
    return latest.withLock { $0 }
  }
}
