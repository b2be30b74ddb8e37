// The loop's side of the core: carrying out its outputs, and handing it frames, JPEGs and the
// capture side's news.
import App
import CRTCam
import Capture
import Peer
import Record
import Synchronization
import Wire

extension EventLoop {
  /// Carries out everything the core has to say, then writes what was queued for HTTP
  /// connections; a flushed or failed connection is news for the core, so this repeats until the
  /// core is quiet. Call after every input to the core.
  func settle() {
    repeat { drainCore() } while flushWritten()
  }

  func drainCore() {
    while true {
      switch core.pollOutput() {
      case .transmit(let bytes, let to): transmit(bytes, to)
      case .connection(let a): perform(a)
      case .capture(let c): command(c)
      case .log(let level, let message): log(level, message)
      case .timeout(let t):
        coreDeadline = t
        return
      }
    }
  }

  func transmit(_ bytes: UnsafeRawBufferPointer, _ to: Destination) {
    switch to {
    case .viewer(let a): sendDatagram(bytes, a)
    case .forward(let i, let channel):
      let r = forwardSend(i, channel, bytes)
      core.handleSendResult(r, to: to, bytes: bytes.count, now: io.monotonicNs())
    case .rtspConnection(let fd): queueRaw(fd, bytes)
    case .rtspUdp(let a, let channel): sendDatagram(bytes, a, on: channel == .rtp ? sockets.rtspRtp : sockets.rtspRtcp)
    }
  }

  /// What the capture side is asked (it reads these before each frame).
  func command(_ c: CaptureCommand) {
    switch c {
    case .keyframe: shared.requestKeyframe()
    case .snapshot(let quality): shared.setSnapshotQuality(quality)
    case .streamClients(let n): shared.setStreamClients(n)
    case .consumers(let n): shared.setConsumers(n)
    case .bitrate(let b): shared.setTargetBitrate(b)
    }
  }

  /// Hands the encoded frames waiting in the ring to the core, each fanned out before the next.
  func deliverFrames() {
    while let slot = shared.ring.peek() {
      recorder?.offer(slot)
      timedFanOut(slot)
      shared.ring.release()
    }
  }

  /// Hands a new JPEG from the capture side to the core.
  func deliverStills() {
    guard let still = shared.stills.take(seen: &seenStillGeneration, into: &stillBytes) else { return }
    core.handleJpeg(stillBytes, quality: still.work.quality, forStream: still.work.forStream, now: io.monotonicNs())
    settle()
  }

  /// The capture side's counters and state, and the stage window when a period ended.
  func feedStatus(now: UInt64) {
    core.handleCaptureCounters(shared.counters())
    if let state = shared.source.takeChange(seen: &seenSourceGeneration) {
      core.handleSource(state)
      settle()
    }
    if let choice = shared.encoder.takeChange(seen: &seenEncoderGeneration), let c = choice {
      core.handleEncoder(c)
    }
    if let r = recorder?.report.takeChange(seen: &seenRecorderGeneration) {
      core.handleRecorder(r)
      settle()
    }
    if core.stageWindowDue(now: now) {
      shared.stageTimes.withLock { live in core.handleStageCounters(&live, now: now) }
    }
  }
}
