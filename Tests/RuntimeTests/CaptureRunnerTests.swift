import Capture
import Foundation
import HTTP
import Testing
import App
@testable import Runtime

/// One step of a scripted camera: opening fails, or it opens and delivers frames, then throws
/// (or, with `then: nil`, asks the server to stop).
enum CameraStep {
  case openFails(CaptureError)
  case frames(Int, then: CaptureError?)
}

final class FakePlanes {
  let base: UnsafeMutablePointer<UInt8>
  init(count: Int) {
    base = .allocate(capacity: count)
    base.initialize(repeating: 128, count: count)
  }
  deinit { base.deallocate() }
}

/// A camera stand-in that follows a script.
struct ScriptedCamera: FrameSource {
  let width = 64
  let height = 48
  let fps = 30
  var description: String { "scripted camera" }
  var remaining: Int
  let end: CaptureError?
  let shared: CaptureShared
  /// Called with each frame's sequence number before it is returned.
  var onFrame: (UInt64) -> Void = { _ in }
  let planes = FakePlanes(count: 64 * 48 * 3 / 2)
  var sequence: UInt64 = 0

  mutating func nextFrame() throws(CaptureError) -> FrameView {
    if remaining == 0 { throw end ?? .endOfStream }
    remaining -= 1
    // the script's end without an error: the server stops after this frame
    if remaining == 0 && end == nil { shared.stop() }
    sequence += 1
    onFrame(sequence - 1)
    let y = UnsafePointer(planes.base)
    return FrameView(
      width: width, height: height, y: y, u: y + 64 * 48, v: y + 64 * 48 + 32 * 24, yStride: 64, uvStride: 32,
      captureTimeNs: sequence * 33_333_333, sequence: sequence - 1)
  }
}

final class Script {
  var steps: [CameraStep]
  var opens = 0
  var onFrame: (UInt64) -> Void = { _ in }
  init(_ steps: [CameraStep]) { self.steps = steps }
}

func makeRunner(_ script: Script, shared: CaptureShared, policy: RestartPolicy = .fixed(1_000_000),
                announcesRuns: Bool = true) -> CaptureRunner<ScriptedCamera> {
  let kind = SourceKind<ScriptedCamera>(
    name: "v4l2:/dev/fake", noun: "camera", policy: policy, announcesRuns: announcesRuns,
    open: { () throws(CaptureError) -> ScriptedCamera in
      script.opens += 1
      guard !script.steps.isEmpty else { throw .cameraNotFound("script over") }
      switch script.steps.removeFirst() {
      case .openFails(let e): throw e
      case .frames(let n, let end): return ScriptedCamera(remaining: n, end: end, shared: shared, onFrame: script.onFrame)
      }
    },
    counters: { s in String(s.sequence) + " frames" })
  return CaptureRunner(kind, bitrate: 200_000, shared: shared)
}

/// Takes every encoded frame out of the ring: (isKeyframe) per frame.
func drain(_ ring: FrameRing) -> [Bool] {
  var out: [Bool] = []
  while let s = ring.peek() {
    out.append(s.isKeyframe)
    ring.release()
  }
  return out
}

/// The one capture runner: a camera retried every 2 s (1 ms here), and sources that are never
/// reopened (stdin:, the test pattern, Y4M files).
@Suite struct CaptureRunnerTests {
  @Test func reportsFailuresRecoversAndRestartsWithAKeyframe() throws {
    let shared = CaptureShared(ring: FrameRing(slots: 16, slotCapacity: 1 << 20), wakeFd: -1)
    shared.setConsumers(1)
    let script = Script([
      .openFails(.cameraNotFound("no camera at /dev/fake")),
      .openFails(.cameraBusy("/dev/fake is busy")),
      .frames(3, then: .cameraLost("/dev/fake stopped working")),
      .openFails(.cameraNotFound("no camera at /dev/fake")),
      .frames(4, then: nil),
    ])
    let runner = makeRunner(script, shared: shared)

    var seen = 0
    runner.streamOnce()
    #expect(shared.source.takeChange(seen: &seen) == .retrying(.capture(.cameraNotFound("no camera at /dev/fake"))))
    #expect(shared.source.takeChange(seen: &seen) == nil)  // nothing new

    runner.streamOnce()
    #expect(shared.source.takeChange(seen: &seen) == .retrying(.capture(.cameraBusy("/dev/fake is busy"))))

    // it opens, streams three frames (the first a keyframe), then the camera is lost
    runner.streamOnce()
    #expect(shared.source.takeChange(seen: &seen) == .retrying(.capture(.cameraLost("/dev/fake stopped working"))))
    #expect(shared.counters().framesCaptured == 3)
    let first = drain(shared.ring)
    #expect(first.count == 3 && first.first == true)

    // still gone: the status keeps saying it was lost
    runner.streamOnce()
    let gone = try #require(shared.source.takeChange(seen: &seen))
    #expect(gone.error?.code == "CAMERA_LOST")
    #expect(gone.error?.message.contains("stopped working") == true && gone.error?.message.contains("not back yet") == true)

    // back: running again, starting with a keyframe
    runner.streamOnce()
    #expect(shared.source.takeChange(seen: &seen) == .running(SourceFormat(width: 64, height: 48, fps: 30)))
    let second = drain(shared.ring)
    #expect(second.count == 4 && second.first == true && second.dropFirst().allSatisfy { !$0 })
    #expect(shared.counters().framesCaptured == 7)
    #expect(shared.counters().keyframes == 2)
    #expect(script.opens == 5)
  }

  @Test func runKeepsRetryingUntilStopped() {
    let shared = CaptureShared(ring: FrameRing(slots: 64, slotCapacity: 1 << 20), wakeFd: -1)
    shared.setConsumers(1)
    let script = Script([
      .openFails(.notACamera("/dev/fake is not a V4L2 device")),
      .openFails(.cameraTimeout("no frame")),
      .frames(2, then: .cameraLost("gone")),
      .frames(2, then: nil),
    ])
    let runner = makeRunner(script, shared: shared)
    runner.run()
    #expect(script.opens == 4)
    var seen = 0
    #expect(shared.source.takeChange(seen: &seen) == .stopped)
    #expect(shared.counters().framesCaptured == 4)
    #expect(drain(shared.ring) == [true, false, true, false])
  }

  @Test func nothingIsEncodedWhileNobodyWatches() throws {
    let shared = CaptureShared(ring: FrameRing(slots: 64, slotCapacity: 1 << 20), wakeFd: -1)
    let script = Script([.frames(3, then: nil)])
    makeRunner(script, shared: shared).run()
    #expect(shared.counters().framesCaptured == 3)
    #expect(shared.counters().framesIdle == 3)
    #expect(shared.counters().framesEncoded == 0)
    #expect(drain(shared.ring).isEmpty)
    // The first viewer's first frame is a keyframe.
    shared.setConsumers(1)
    shared.stopFlag.store(false, ordering: .releasing)  // the first script's end stopped the runner
    makeRunner(Script([.frames(2, then: nil)]), shared: shared).run()
    #expect(drain(shared.ring) == [true, false])
  }

  @Test func sourceReportHandsOverTheLatestState() {
    let r = StateReport(SourceState.starting)
    var seen = 0
    #expect(r.takeChange(seen: &seen) == nil)
    r.publish(.retrying(.capture(.cameraBusy("busy"))))
    r.publish(.retrying(.capture(.cameraLost("lost"))))
    #expect(r.takeChange(seen: &seen) == .retrying(.capture(.cameraLost("lost"))))
    #expect(r.takeChange(seen: &seen) == nil)
  }
}

/// Waits (in 1 ms steps, at most `seconds`) until `done` is true; false on timeout.
func waitUntil(seconds: Double = 5, _ done: () -> Bool) -> Bool {
  let deadline = Date().addingTimeInterval(seconds)
  while !done() {
    if Date() > deadline { return false }
    usleep(1000)
  }
  return true
}

@Suite struct CapturePipelineTests {
  @Test func aSourceThatIsNotReopenedFailsForGood() {
    // the test pattern and Y4M files: opened once, a failure is final, the thread ends
    let shared = CaptureShared(ring: FrameRing(slots: 8, slotCapacity: 1 << 20), wakeFd: -1)
    shared.setConsumers(1)
    let script = Script([.frames(3, then: .endOfStream), .frames(3, then: nil)])
    let runner = makeRunner(script, shared: shared, policy: .never, announcesRuns: false)
    runner.run()
    #expect(script.opens == 1 && runner.gaveUp)
    var seen = 0
    #expect(shared.source.takeChange(seen: &seen) == .failed(.capture(.endOfStream)))
    let ended = shared.captureEnded.load(ordering: .acquiring)
    #expect(ended)
    #expect(drain(shared.ring) == [true, false, false])
  }

  @Test func aFullRingDropsFramesCountsThemAndTheNextFrameIsAKeyframe() {
    let shared = CaptureShared(ring: FrameRing(slots: 2, slotCapacity: 1 << 20), wakeFd: -1)
    shared.setConsumers(1)
    let script = Script([.frames(7, then: nil)])
    var afterDrops: [Bool] = []
    // the network loop reads nothing until frame 4: frames 2 and 3 find the ring full
    script.onFrame = { n in if n == 4 { afterDrops = drain(shared.ring) } }
    makeRunner(script, shared: shared).run()
    #expect(afterDrops == [true, false])
    #expect(drain(shared.ring) == [true, false], "frames 4 and 5; frame 6 found the ring full again")
    let c = shared.counters()
    #expect(c.framesCaptured == 7 && c.framesEncoded == 4 && c.keyframes == 2 && c.framesDropped == 3)
    #expect(c.bytesEncoded > 0 && c.encodeTimes.buckets.reduce(0, +) == 4)
  }

  /// Each frame's temporal layer travels through the ring; a target the network loop sets is
  /// applied before the next encode, without a keyframe, and a new encoder starts at it.
  @Test func framesCarryTheirTemporalLayerAndTheTargetReachesTheEncoder() {
    let shared = CaptureShared(ring: FrameRing(slots: 64, slotCapacity: 1 << 20), wakeFd: -1)
    shared.setConsumers(1)
    let script = Script([.frames(9, then: nil)])
    script.onFrame = { n in if n == 4 { shared.setTargetBitrate(120_000) } }
    let runner = makeRunner(script, shared: shared)
    runner.run()
    var layers: [UInt8] = []
    var keyframes: [Bool] = []
    while let s = shared.ring.peek() {
      layers.append(s.temporalLayer)
      keyframes.append(s.isKeyframe)
      shared.ring.release()
    }
    #expect(layers == [0, 2, 1, 2, 0, 2, 1, 2, 0])
    #expect(keyframes == [true] + [Bool](repeating: false, count: 8))
    #expect(runner.work.encoders?.bitrate == 120_000 && runner.work.encoders?.settings?.bitrate == 200_000)
    // a new capture thread's encoder (another source) starts at the target, not at --bitrate
    shared.stopFlag.store(false, ordering: .releasing)
    let next = makeRunner(Script([.frames(1, then: nil)]), shared: shared)
    next.run()
    #expect(next.work.encoders?.settings?.bitrate == 120_000)
  }

  @Test func anAccessUnitLargerThanASlotIsDroppedNotCut() {
    let shared = CaptureShared(ring: FrameRing(slots: 4, slotCapacity: 32), wakeFd: -1)
    shared.setConsumers(1)
    makeRunner(Script([.frames(3, then: nil)]), shared: shared).run()
    #expect(drain(shared.ring).isEmpty)
    let c = shared.counters()
    #expect(c.framesDropped == 3 && c.framesEncoded == 0)
    #expect(shared.encodePolicy.keyframeOwed)
  }

  @Test func stillsAreEncodedOnTheJpegThreadAndHandedToTheNetworkLoop() throws {
    let shared = CaptureShared(ring: FrameRing(slots: 64, slotCapacity: 1 << 20), wakeFd: -1)
    shared.setConsumers(1)
    shared.setStreamClients(1)
    shared.setSnapshotQuality(40)
    let script = Script([.frames(40, then: nil)])
    var published = [false, false]
    // the capture thread never waits for the JPEG thread; the test waits for the snapshot's JPEG
    // at frame 10 and for a stream JPEG after it at frame 30
    script.onFrame = { n in
      if n == 10 { published[0] = waitUntil { shared.stills.generation.load(ordering: .acquiring) >= 1 } }
      if n == 30 { published[1] = waitUntil { shared.stills.generation.load(ordering: .acquiring) >= 2 } }
    }
    makeRunner(script, shared: shared).run()
    #expect(published == [true, true])
    let snapshotQuality = shared.snapshotQuality.load(ordering: .relaxed)
    #expect(snapshotQuality == 0, "the waiting snapshot was taken")
    var seen = 0
    var bytes: [UInt8] = []
    let still = try #require(shared.stills.take(seen: &seen, into: &bytes))
    #expect(bytes.count > 100 && Array(bytes.prefix(2)) == [0xFF, 0xD8] && Array(bytes.suffix(2)) == [0xFF, 0xD9])
    #expect(still.work.forStream || still.work.forSnapshot)
    #expect(still.captureTimeNs % 33_333_333 == 0 && still.captureTimeNs > 0)
    // every frame still went to the ring
    #expect(drain(shared.ring).count == 40)
  }

  @Test func theCaptureThreadSkipsStillsWhileTheJpegThreadIsBusy() {
    let shared = CaptureShared(ring: FrameRing(slots: 2, slotCapacity: 1024), wakeFd: -1)
    shared.setStreamClients(1)
    let stills = StillThread(shared: shared)
    let planes = FakePlanes(count: 64 * 48 * 3 / 2)
    let y = UnsafePointer(planes.base)
    func frame(_ t: UInt64) -> FrameView {
      FrameView(width: 64, height: 48, y: y, u: y + 64 * 48, v: y + 64 * 48 + 32 * 24, yStride: 64, uvStride: 32,
        captureTimeNs: t, sequence: 0)
    }
    // busy with an earlier picture: the frame is skipped and the stream's due time not used up
    stills.state.store(StillThread.queued, ordering: .releasing)
    stills.offer(frame(1_000))
    #expect(stills.captureTimeNs == 0 && stills.picture.width == 0)
    // idle again: the next frame is copied and queued
    stills.state.store(StillThread.idle, ordering: .releasing)
    stills.offer(frame(2_000))
    #expect(stills.captureTimeNs == 2_000 && stills.picture.width == 64 && stills.work.forStream)
    stills.stop()
  }
}
