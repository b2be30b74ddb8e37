// Per-stage timing in the runtime: reads the monotonic clock around each stage of a frame and
// records the durations into the counters both threads share (the statistics are App's
// StageCounters and StageWindow). Recording allocates nothing: a mutex held for a few additions
// to arrays made at start.
import App
import CRTCam
import Capture
import Wire

/// The stage counters of one server: written by the capture thread (capture wait, convert,
/// encode) and the network loop (packetize+protect, send); the network loop takes the window.
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

/// Network loop: the `sendto` time and datagrams inside one frame's fan-out to all viewers.
final class FrameSendTimer {
  var sendNs: UInt64 = 0
  var datagrams = 0
}

extension EventLoop {
  /// Sends one datagram of a frame's fan-out and adds the call's time to `sendTimer`.
  func sendFrameDatagram(_ bytes: UnsafeRawBufferPointer, _ to: SocketAddress) {
    let t0 = rtc_monotonic_ns()
    sendDatagram(bytes, to)
    sendTimer.sendNs &+= rtc_monotonic_ns() &- t0
    sendTimer.datagrams += 1
  }

  /// Sends one access unit to every viewer through `send` (which must be `sendFrameDatagram`)
  /// and records the fan-out: send is the time in `sendto`, packetize+protect the rest. A frame
  /// that reached no viewer records nothing.
  func timedSendFrame(_ slot: FrameRing.Slot, send: ServerCore.Send) {
    sendTimer.sendNs = 0
    sendTimer.datagrams = 0
    let t0 = rtc_monotonic_ns()
    core.sendFrame(UnsafeRawBufferPointer(start: slot.data, count: slot.length),
      captureTimeNs: slot.captureTimeNs, isKeyframe: slot.isKeyframe, send: send)
    let took = rtc_monotonic_ns() &- t0
    guard sendTimer.datagrams > 0 else { return }
    let sent = min(sendTimer.sendNs, took)
    shared.stageTimes.withLock { s in
      s.record(.packetizeProtect, ns: took - sent)
      s.record(.send, ns: sent)
    }
  }

  /// Ends a period of the /status window when one is due (once a second; no allocation).
  func takeStageWindow(now: UInt64) {
    guard core.stages.isDue(now: now) else { return }
    shared.stageTimes.withLock { live in core.stages.take(&live, now: now) }
  }
}
