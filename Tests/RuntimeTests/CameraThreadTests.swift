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
  let planes = FakePlanes(count: 64 * 48 * 3 / 2)
  var sequence: UInt64 = 0

  mutating func nextFrame() throws(CaptureError) -> FrameView {
    if remaining == 0 { throw end ?? .endOfStream }
    remaining -= 1
    // the script's end without an error: the server stops after this frame
    if remaining == 0 && end == nil { shared.stop.store(true, ordering: .releasing) }
    sequence += 1
    let y = UnsafePointer(planes.base)
    return FrameView(
      width: width, height: height, y: y, u: y + 64 * 48, v: y + 64 * 48 + 32 * 24, yStride: 64, uvStride: 32,
      captureTimeNs: sequence * 33_333_333, sequence: sequence - 1)
  }
}

final class Script {
  var steps: [CameraStep]
  var opens = 0
  init(_ steps: [CameraStep]) { self.steps = steps }
}

func makeRunner(_ script: Script, shared: CaptureShared) -> CameraRunner<ScriptedCamera> {
  let r = CameraRunner<ScriptedCamera>(
    name: "v4l2:/dev/fake", bitrate: 200_000, shared: shared,
    open: { () throws(CaptureError) -> ScriptedCamera in
      script.opens += 1
      guard !script.steps.isEmpty else { throw .cameraNotFound("script over") }
      switch script.steps.removeFirst() {
      case .openFails(let e): throw e
      case .frames(let n, let end): return ScriptedCamera(remaining: n, end: end, shared: shared)
      }
    },
    details: { _ in "" }, counters: { s in String(s.sequence) + " frames" })
  r.retryNs = 1_000_000
  return r
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

@Suite struct CameraRetryTests {
  @Test func reportsFailuresRecoversAndRestartsWithAKeyframe() throws {
    let shared = CaptureShared(ring: FrameRing(slots: 16, slotCapacity: 1 << 20), wakeFd: -1)
    shared.viewers.store(1, ordering: .relaxed)
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
    #expect(shared.framesCaptured.load(ordering: .relaxed) == 3)
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
    #expect(shared.framesCaptured.load(ordering: .relaxed) == 7)
    #expect(shared.keyframes.load(ordering: .relaxed) == 2)
    #expect(script.opens == 5)
  }

  @Test func runKeepsRetryingUntilStopped() {
    let shared = CaptureShared(ring: FrameRing(slots: 64, slotCapacity: 1 << 20), wakeFd: -1)
    shared.viewers.store(1, ordering: .relaxed)
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
    #expect(shared.framesCaptured.load(ordering: .relaxed) == 4)
    #expect(drain(shared.ring) == [true, false, true, false])
  }

  @Test func nothingIsEncodedWhileNobodyWatches() throws {
    let shared = CaptureShared(ring: FrameRing(slots: 64, slotCapacity: 1 << 20), wakeFd: -1)
    let script = Script([.frames(3, then: nil)])
    makeRunner(script, shared: shared).run()
    #expect(shared.framesCaptured.load(ordering: .relaxed) == 3)
    #expect(shared.framesIdle.load(ordering: .relaxed) == 3)
    #expect(shared.framesEncoded.load(ordering: .relaxed) == 0)
    #expect(drain(shared.ring).isEmpty)
    // The first viewer's first frame is a keyframe.
    shared.viewers.store(1, ordering: .relaxed)
    shared.stop.store(false, ordering: .releasing)  // the first script's end stopped the runner
    makeRunner(Script([.frames(2, then: nil)]), shared: shared).run()
    #expect(drain(shared.ring) == [true, false])
  }

  @Test func sourceReportHandsOverTheLatestState() {
    let r = SourceReport()
    var seen = 0
    #expect(r.takeChange(seen: &seen) == nil)
    r.publish(.retrying(.capture(.cameraBusy("busy"))))
    r.publish(.retrying(.capture(.cameraLost("lost"))))
    #expect(r.takeChange(seen: &seen) == .retrying(.capture(.cameraLost("lost"))))
    #expect(r.takeChange(seen: &seen) == nil)
  }
}
