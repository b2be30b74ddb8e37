// JPEG stills off the H.264 path: the capture thread hands a copy of a frame to a JPEG thread of
// its own when a JPEG is due (for /snapshot.jpg and /stream.mjpg) and that thread is idle, and
// never waits for it; the JPEG thread encodes, publishes through `JpegMailbox` and wakes the
// network loop. So an MJPEG client does not delay WebRTC frames.
import App
import CRTCam
import Capture
import Synchronization
import Wire

/// The JPEG side of one capture thread. The capture thread calls `offer` for every frame and
/// `stop` when it ends; the JPEG thread (started on the first JPEG wanted) runs `run`.
///
/// The JPEG thread sleeps in read(2) on a pipe; the capture thread writes one byte after each
/// change of `state` the JPEG thread must see (a picture queued, stop). A pipe rather than a
/// condition variable: no allocation either, and nothing more linked into the static binary.
///
/// `@unchecked Sendable`: `picture`, `work` and `captureTimeNs` are written by the capture thread
/// only while `state` is `idle` and read by the JPEG thread only while it is `queued`; the state
/// moves idle -> queued with a release store after the writes (capture thread) and queued -> idle
/// with a release exchange after the reads (JPEG thread), each side loading it with acquire. The
/// capture thread alone touches `policy`, `thread` and the pipe's write end (set before the JPEG
/// thread starts, as is the read end, which that thread alone uses after); the JPEG thread alone
/// `encoder` and `failures` (or the capture thread, while no JPEG thread could be started).
final class StillThread: @unchecked Sendable {
  static let idle = 0, queued = 1, stopping = 2
  let state = Atomic<Int>(StillThread.idle)
  var wakeRead: Int32 = -1
  var wakeWrite: Int32 = -1
  let shared: CaptureShared
  /// The frame to encode, in libjpeg's layout (allocated once per frame size).
  let picture = JpegPicture()
  var work = StillWork(quality: 0, forStream: false, forSnapshot: false)
  var captureTimeNs: UInt64 = 0
  var policy: StillPolicy
  enum ThreadState { case notStarted, running, failed, stopped }
  var thread = ThreadState.notStarted
  var encoder: JpegEncoder? = nil
  var failures = 0

  init(shared: CaptureShared) {
    self.shared = shared
    policy = StillPolicy(options: shared.stillOptions)
  }

  /// Capture thread, once per frame: queues a copy of `frame` for the JPEG thread when the policy
  /// says a JPEG is due (a snapshot waits, or a stream frame is due) and the JPEG thread is idle.
  /// Otherwise nothing: the frame is skipped for stills, never waited on.
  func offer(_ frame: FrameView) {
    let q = shared.snapshotQuality.load(ordering: .relaxed)
    let clients = shared.streamClients.load(ordering: .relaxed)
    guard q > 0 || clients > 0 else { return }
    guard state.load(ordering: .acquiring) == StillThread.idle else { return }
    guard let due = policy.frame(now: rtc_monotonic_ns(), streamClients: clients, snapshotQuality: q > 0 ? q : nil)
    else { return }
    // taken: a request for another quality that arrives meanwhile stays set
    if due.forSnapshot { _ = shared.snapshotQuality.compareExchange(expected: q, desired: 0, ordering: .relaxed) }
    picture.copy(from: frame)
    work = due
    captureTimeNs = frame.captureTimeNs
    startIfNeeded()
    guard case .running = thread else {
      // no JPEG thread could be started: encode here rather than never
      encodeQueued()
      return
    }
    state.store(StillThread.queued, ordering: .releasing)
    wakeJpegThread()
  }

  /// Capture thread, when it ends: the JPEG thread finishes what it has and ends.
  func stop() {
    state.store(StillThread.stopping, ordering: .releasing)
    guard case .running = thread else { return }
    wakeJpegThread()
    close(wakeWrite)  // the JPEG thread reads the byte before the end of the pipe
    thread = .stopped
  }

  func wakeJpegThread() {
    var one: UInt8 = 1
    _ = rtc_write_all(wakeWrite, &one, 1)
  }

  func startIfNeeded() {
    guard case .notStarted = thread else { return }
    var fds: [Int32] = [-1, -1]
    if pipe(&fds) == 0 {
      wakeRead = fds[0]
      wakeWrite = fds[1]
      if startThread({ self.run() }) {
        thread = .running
        return
      }
      close(wakeRead)
      close(wakeWrite)
    }
    thread = .failed
    log(.error, "THREAD_FAILED: cannot start the JPEG thread; JPEGs are encoded on the capture thread")
  }

  /// How many nice levels the JPEG thread runs below the capture thread and the network loop: when
  /// the CPU is short, stills (best effort: a stream client skips frames) yield to the WebRTC path.
  static let niceIncrement: Int32 = 10

  /// The JPEG thread: encodes each queued picture until `stop` (or the pipe's end).
  func run() {
    defer { close(wakeRead) }
    _ = rtc_thread_lower_priority(StillThread.niceIncrement)
    var byte: UInt8 = 0
    while true {
      let n = read(wakeRead, &byte, 1)
      if n < 0 && rtc_errno() == EINTR { continue }
      if n <= 0 { return }
      let s = state.load(ordering: .acquiring)
      if s == StillThread.stopping { return }
      guard s == StillThread.queued else { continue }
      encodeQueued()
      // back to idle, unless the capture thread asked to stop meanwhile
      _ = state.compareExchange(expected: StillThread.queued, desired: StillThread.idle, ordering: .acquiringAndReleasing)
    }
  }

  /// Encodes `picture` as `work` asks, publishes the JPEG and wakes the network loop.
  func encodeQueued() {
    do throws(JpegError) {
      if encoder == nil { encoder = try JpegEncoder() }
      guard let enc = encoder else { return }
      let jpeg = try enc.encode(picture, quality: work.quality)
      shared.stills.publish(jpeg, work: work, captureTimeNs: captureTimeNs)
      shared.wake()
    } catch {
      failures += 1
      if failures == 1 || failures % 100 == 0 {
        log(.warn, "JPEG for /snapshot.jpg or /stream.mjpg failed (" + String(failures) + " so far): "
          + error.code + ": " + error.message)
      }
    }
  }
}

/// The latest JPEG, handed from the JPEG thread to the network loop (like `SourceReport`: the
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

  /// JPEG thread.
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
  /// JPEG thread's next publish copy it) and returns what it was made for.
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
