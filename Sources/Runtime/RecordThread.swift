// --record DIR: the recording thread. The network loop copies each encoded frame into a ring of
// this thread's own (`offer`, never waiting: a full ring drops the frame and the segment ends
// there, the next one starts at a keyframe); this thread runs the Recorder (Record module) and
// carries out its file steps: create, write each fragment with one write(2) and fsync it,
// close, and retention's deletions. Nothing here can stall the live stream: a slow card or a full
// disk only makes this thread late or paused.
import App
import CRTCam
import Record
import Synchronization
import Wire

/// The recorder's side of the server. `@unchecked Sendable`: the ring is single-producer (the
/// network loop's `offer`) single-consumer (this thread); the report is behind its lock; the
/// wake pipe's write end is used by the loop only, its read end by this thread only.
final class RecordThread: @unchecked Sendable {
  let dir: String
  let ring: FrameRing
  let report: StateReport<RecorderReport>
  var wakeRead: Int32 = -1
  var wakeWrite: Int32 = -1
  let stopping = Atomic<Bool>(false)
  let finished = Atomic<Bool>(false)
  /// Frames the loop could not hand over (ring full), as last seen by this thread.
  var seenDrops: UInt64 = 0
  // this thread only
  var recorder: Recorder
  var state: RecorderReport
  var fd: Int32 = -1
  var fileBytes: UInt64 = 0
  var openStartNs: UInt64 = 0
  var openStartUnix: Int64 = 0
  var lastFrameNs: UInt64 = 0
  var lastFrameAt: UInt64 = 0

  /// Slots of the ring and their size: a second of frames at 30 fps (the thread falls behind by
  /// at most one fsync), and room for a keyframe of a 640x480 to 1280x720 picture; a larger frame
  /// is dropped and the segment ends there. Untouched slot memory is never resident.
  static let slots = 32
  static let slotBytes = 256 * 1024
  /// Frames stop for this long: what was collected is written (a stalled camera loses nothing).
  static let idleFlushNs: UInt64 = 2_000_000_000

  init(dir: String, config: RecorderConfig) {
    self.dir = dir
    ring = FrameRing(slots: RecordThread.slots, slotCapacity: RecordThread.slotBytes)
    report = StateReport(RecorderReport(dir: dir))
    recorder = Recorder(config: config)
    state = RecorderReport(dir: dir)
  }

  /// Starts the thread; false when no pipe or thread could be had.
  func start() -> Bool {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else { return false }
    wakeRead = fds[0]
    wakeWrite = fds[1]
    // both ends non-blocking: the loop never waits on a full pipe, and this thread drains it
    // after poll(2) without blocking when poll returned for its timeout (an idle flush is due)
    _ = rtc_set_nonblocking(wakeWrite)
    _ = rtc_set_nonblocking(wakeRead)
    return startThread({ self.run() })
  }

  /// Network loop: a copy of the frame for the recorder (no allocation; a full ring drops it).
  func offer(_ slot: FrameRing.Slot) {
    guard let dst = ring.reserve() else { return }
    guard slot.length <= dst.count else {
      ring.commit(length: slot.length, isKeyframe: slot.isKeyframe, captureTimeNs: slot.captureTimeNs)  // refused, counted
      return
    }
    dst.baseAddress!.copyMemory(from: slot.data, byteCount: slot.length)
    ring.commit(length: slot.length, isKeyframe: slot.isKeyframe, captureTimeNs: slot.captureTimeNs)
    var one: UInt8 = 1
    _ = write(wakeWrite, &one, 1)
  }

  /// Main thread at shutdown: the thread writes what it holds, closes the segment and ends
  /// (waited for up to `timeoutNs`).
  func stop(timeoutNs: UInt64 = 5_000_000_000) {
    stopping.store(true, ordering: .releasing)
    var one: UInt8 = 1
    _ = write(wakeWrite, &one, 1)
    let until = rtc_monotonic_ns() + timeoutNs
    while !finished.load(ordering: .acquiring) && rtc_monotonic_ns() < until { _ = usleep(10_000) }
  }

  // MARK: the thread

  func run() {
    defer { finished.store(true, ordering: .releasing) }
    loadDirectory()
    var pfd = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
    var drain = [UInt8](repeating: 0, count: 64)
    while !stopping.load(ordering: .acquiring) {
      _ = pfd.withUnsafeMutableBufferPointer { poll($0.baseAddress, 1, 1000) }
      _ = drain.withUnsafeMutableBytes { read(wakeRead, $0.baseAddress, $0.count) }
      let now = rtc_monotonic_ns()
      takeFrames(now: now)
      if recorder.retentionDue { applyRetention() }
      if lastFrameAt > 0, now &- lastFrameAt > RecordThread.idleFlushNs, fd >= 0 {
        lastFrameAt = 0
        carryOut(recorder.flushForIdle(), now: now)
      }
    }
    carryOut(recorder.finish(), now: rtc_monotonic_ns())
    closeSegment()
  }

  /// Every frame waiting in the ring, in order.
  func takeFrames(now: UInt64) {
    while let slot = ring.peek() {
      let drops = ring.dropped
      if drops != seenDrops {
        // frames were lost before this one: the segment ends with what it has
        seenDrops = drops
        carryOut(recorder.finish(), now: now)
        recorder.closed()
      }
      let unixNow = rtc_realtime_ns()
      let actions = recorder.frame(UnsafeRawBufferPointer(start: slot.data, count: slot.length),
        captureTimeNs: slot.captureTimeNs, isKeyframe: slot.isKeyframe, now: now)
      lastFrameNs = slot.captureTimeNs
      lastFrameAt = now
      carryOut(actions, now: now, unixNs: unixNow)
      ring.release()
    }
  }

  /// The writer's steps, in order; after a failure the rest are dropped (the recorder paused).
  func carryOut(_ actions: RecordActions, now: UInt64, unixNs: UInt64 = rtc_realtime_ns()) {
    var i = 0
    while i < actions.count {
      switch actions[i] {
      case .beginSegment(let startNs):
        closeSegment()
        guard openSegment(startNs: startNs, now: now, unixNs: unixNs) else { return publish() }
      case .write(let bytes):
        guard fd >= 0 else { return }
        let ok = bytes.withUnsafeBytes { rtc_write_all(fd, $0.baseAddress, $0.count) == 0 } && fdatasync(fd) == 0
        if ok {
          fileBytes += UInt64(bytes.count)
          recorder.wrote(bytes.count, .done, now: now)
        } else {
          let e = rtc_errno()
          // the file keeps only whole fragments: cut what a short write left
          _ = ftruncate(fd, off_t(fileBytes))
          recorder.wrote(bytes.count, .failed(e), now: now)
          closeSegment()
          return publish()
        }
      case .endSegment:
        closeSegment()
        recorder.closed()
      }
      i += 1
    }
    publish()
  }

  /// Creates the segment file (a taken name moves on by a second, at most 5 times).
  func openSegment(startNs: UInt64, now: UInt64, unixNs: UInt64) -> Bool {
    var name = ""
    var f: Int32 = -1
    var e: Int32 = 0
    for bump in 0..<5 {
      name = recorder.segmentName(startNs: startNs, now: now, unixNs: unixNs, bump: Int64(bump))
      f = rtc_open(dir + "/" + name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
      e = f < 0 ? rtc_errno() : 0
      if f >= 0 || e != EEXIST { break }
    }
    guard f >= 0 else {
      recorder.opened(name, .failed(e), now: now)
      return false
    }
    fd = f
    fileBytes = 0
    openStartNs = startNs
    openStartUnix = SegmentName.parse(name) ?? 0
    syncDirectory()
    recorder.opened(name, .done, now: now)
    log(.info, "recording into \(dir)/\(name)")
    return true
  }

  /// Closes the open segment and lists it (an empty one, nothing written, is removed).
  func closeSegment() {
    guard fd >= 0 else { return }
    close(fd)
    fd = -1
    guard let o = state.open else { return }
    state.open = nil
    if fileBytes == 0 {
      _ = unlink(dir + "/" + o.name)
      return
    }
    var entry = o
    entry.bytes = fileBytes
    state.entries.append(entry)
  }

  /// The directory entry of a new file reaches the card too (else a power cut may lose it).
  func syncDirectory() {
    let d = rtc_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
    guard d >= 0 else { return }
    _ = fsync(d)
    close(d)
  }

  /// Publishes the recorder's state (strings and arrays are shared, not copied: no allocation).
  func publish() {
    state.phase = recorder.phase
    state.stats = recorder.writer.stats
    state.bytesWritten = recorder.bytesWritten
    state.faults = recorder.faults  // shared storage: no copy
    if let name = recorder.openName, fd >= 0 {
      let durationMs = Int64((lastFrameNs &- openStartNs) / 1_000_000)
      if state.open?.name == name {
        state.open!.bytes = fileBytes
        state.open!.durationMs = durationMs
      } else {
        state.open = RecordingEntry(name: name, startUnixSeconds: openStartUnix, durationMs: durationMs, bytes: fileBytes)
      }
    }
    report.publish(state)
  }
}
