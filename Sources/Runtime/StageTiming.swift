// Per-stage timing in the runtime: reads the monotonic clock around each stage of a frame and
// records the durations into the counters both threads share (the statistics are App's
// StageCounters and StageWindow). Recording allocates nothing: a mutex held for a few additions
// to arrays made at start.
import App
import CRTCam
import Capture
import Wire

/// The stage counters of one server: written by the capture thread (capture wait, convert,
/// encode) and the network loop (packetize+protect, send); the network loop hands the core a
/// window of them once a period.
typealias StageRecorder = Locked<StageCounters>

extension CaptureShared {
  /// Capture thread: the next frame from `source`, with the time `nextFrame` took recorded as
  /// capture wait and the part of it the source spent converting as convert.
  func timedNextFrame<S: FrameSource>(_ source: inout S) throws(CaptureError) -> FrameView {
    let t0 = rtc_monotonic_ns()
    let frame = try source.nextFrame()
    let took = rtc_monotonic_ns() &- t0
    let convert = min(source.lastConvertNs, took)
    stageTimes.withLock { s in
      s.record(.captureWait, ns: took - convert)
      s.record(.convert, ns: convert)
    }
    return frame
  }
}

/// Network loop: the time spent sending and the datagrams sent while one frame is fanned out.
struct FrameSendTimer {
  /// A frame's fan-out is being timed: sends add to `sendNs`.
  var timing = false
  var sendNs: UInt64 = 0
  var datagrams = 0

  mutating func add(_ ns: UInt64) {
    sendNs &+= ns
    datagrams += 1
  }
}

extension EventLoop {
  /// Hands one access unit to the core and carries out its fan-out, recording send (the time in
  /// the send calls) and packetize+protect (the rest). A frame that reached nobody records
  /// nothing.
  func timedFanOut(_ slot: FrameRing.Slot) {
    sendTimer = FrameSendTimer(timing: true)
    let t0 = io.monotonicNs()
    core.handleFrame(UnsafeRawBufferPointer(start: slot.data, count: slot.length), captureTimeNs: slot.captureTimeNs,
      isKeyframe: slot.isKeyframe, temporalLayer: slot.temporalLayer, now: t0)
    settle()
    let took = io.monotonicNs() &- t0
    let timer = sendTimer
    sendTimer.timing = false
    guard timer.datagrams > 0 else { return }
    let sent = min(timer.sendNs, took)
    shared.stageTimes.withLock { s in
      s.record(.packetizeProtect, ns: took - sent)
      s.record(.send, ns: sent)
    }
  }
}
