// The capture+encode thread and what it shares with the network loop.
import App
import CRTCam
import Capture
import Encoder
import Synchronization
import Wire

/// State shared between the capture thread and the network loop.
final class CaptureShared {
  let ring: FrameRing
  let stop = Atomic<Bool>(false)
  let keyframe = Atomic<Bool>(true)
  let framesCaptured = Atomic<UInt64>(0)
  let framesEncoded = Atomic<UInt64>(0)
  let keyframes = Atomic<UInt64>(0)
  let bytesEncoded = Atomic<UInt64>(0)
  /// 0 starting, 1 running, 2 failed, 3 stopped
  let state = Atomic<Int>(0)
  /// Error text, written once by the capture thread before state becomes 2.
  nonisolated(unsafe) var errorCode = ""
  nonisolated(unsafe) var errorMessage = ""
  /// V4L2 only: the camera thread's state (see V4L2Serve.swift; state 4 = retrying).
  let camera = CameraStatus()
  let wakeFd: Int32
  /// Connected viewers, kept current by the network loop. With none, frames are captured but
  /// not encoded (no CPU spent on a picture nobody watches).
  let viewers = Atomic<Int>(0)
  let framesIdle = Atomic<UInt64>(0)

  init(ring: FrameRing, wakeFd: Int32) {
    self.ring = ring
    self.wakeFd = wakeFd
  }

  /// Wakes the network loop.
  func wake() {
    var one: UInt8 = 1
    _ = rtc_write_all(wakeFd, &one, 1)
  }

  /// Capture thread: encodes one captured frame (unless nobody watches) and hands the access
  /// unit to the network loop through the ring. `output` is the thread's reused buffer.
  func encodeAndPublish(_ frame: FrameView, encoder: H264Encoder, output: inout [UInt8]) throws(EncoderError) {
    framesCaptured.wrappingAdd(1, ordering: .relaxed)
    if viewers.load(ordering: .relaxed) == 0 {
      // The next viewer starts with a keyframe anyway.
      keyframe.store(true, ordering: .relaxed)
      framesIdle.wrappingAdd(1, ordering: .relaxed)
      return
    }
    if keyframe.exchange(false, ordering: .acquiringAndReleasing) { encoder.requestKeyframe() }
    guard let e = try encoder.encode(frame, into: &output) else { return }
    framesEncoded.wrappingAdd(1, ordering: .relaxed)
    bytesEncoded.wrappingAdd(UInt64(e.length), ordering: .relaxed)
    if e.isKeyframe { keyframes.wrappingAdd(1, ordering: .relaxed) }
    let pushed = output.withUnsafeBytes { all in
      ring.push(UnsafeRawBufferPointer(rebasing: all[0..<e.length]), isKeyframe: e.isKeyframe,
        captureTimeNs: e.captureTimeNs)
    }
    if pushed {
      wake()
    } else {
      // The network loop fell behind: what follows cannot be decoded without a keyframe.
      keyframe.store(true, ordering: .releasing)
    }
  }
}

/// The capture+encode loop: blocks on the source, encodes once, hands the access unit to the
/// network loop through the ring. Runs on its own thread.
func captureLoop<S: FrameSource>(source: inout S, encoder: H264Encoder, shared: CaptureShared) {
  var output: [UInt8] = []
  output.reserveCapacity(1 << 20)
  shared.state.store(1, ordering: .releasing)
  while !shared.stop.load(ordering: .relaxed) {
    let frame: FrameView
    do { frame = try source.nextFrame() } catch {
      shared.errorCode = error.code
      shared.errorMessage = error.message
      shared.state.store(2, ordering: .releasing)
      shared.wake()
      return
    }
    do { try shared.encodeAndPublish(frame, encoder: encoder, output: &output) } catch {
      shared.errorCode = error.code
      shared.errorMessage = error.message
      shared.state.store(2, ordering: .releasing)
      shared.wake()
      return
    }
  }
  shared.state.store(3, ordering: .releasing)
}

func startCapture<S: FrameSource>(_ source: S, settings: EncoderSettings, shared: CaptureShared, core: ServerCore) -> Bool {
  let encoder: H264Encoder
  do { encoder = try H264Encoder(settings) } catch {
    log(.error, "\(error.code): \(error.message)")
    core.sourceStatus.state = "failed"
    core.sourceStatus.errorCode = error.code
    core.sourceStatus.errorMessage = error.message
    return true
  }
  var src = source
  let ok = startThread(ThreadBody {
    captureLoop(source: &src, encoder: encoder, shared: shared)
  })
  if !ok { log(.error, "THREAD_FAILED: cannot start the capture thread") }
  return ok
}
