// A --forward target as a media sink, what became of its datagrams, and its RTCP feedback.
import RTP
import SRTP
import Wire

extension Forwarder: MediaSink {
  /// Inter frames wait for the first keyframe (at start and after the target came back).
  public func beginFrame(_ frame: PacketizedFrame, now: UInt64) -> Bool {
    checkRecovery(now: now)
    guard !frame.truncated, frame.count > 0 else { return false }
    guard layers.admits(layer: frame.temporalLayer, keyframe: frame.isKeyframe) else {
      stats.framesLayerDropped += 1
      return false
    }
    if waitingForKeyframe {
      guard frame.isKeyframe else { return false }
      waitingForKeyframe = false
    }
    if frame.isKeyframe {
      lastKeyframeSentAt = now
      keyframeRequestPending = false
    }
    if stream.timestampBaseNs == nil { nextSenderReportAt = now }
    self.frame = SinkFrame(active: true, failed: false, timestamp: stream.timestamp(captureNs: frame.captureTimeNs))
    return true
  }

  public func mediaPacket(_ frame: PacketizedFrame, _ i: Int) -> UnsafeRawBufferPointer? {
    guard self.frame.active, !self.frame.failed else { return nil }
    let buf = mediaBuffer
    var n = stream.write(frame, packet: i, timestamp: self.frame.timestamp,
      into: UnsafeMutableRawBufferPointer(rebasing: buf[0..<config.mtu]))
    guard n > 0 else {
      self.frame.failed = true
      return nil
    }
    if let srtp {
      do throws(SrtpError) { n = try srtp.protectRtp(buf, length: n) } catch {
        self.frame.failed = true
        events.append(.srtpFailed(error.code))
        return nil
      }
    }
    return UnsafeRawBufferPointer(rebasing: buf[0..<n])
  }

  public func endFrame(_ frame: PacketizedFrame, now: UInt64) {
    guard self.frame.active else { return }
    self.frame.active = false
    if self.frame.failed {
      waitingForKeyframe = true
      requestKeyframe(.sendFailed, now: now)
    } else {
      stats.framesSent += 1
    }
  }

  /// What became of a datagram `pollOutput` or `mediaPacket` handed out (`bytes` long).
  public func handleSendResult(_ r: ForwardSendResult, channel: ForwardChannel, bytes: Int, now: UInt64) {
    switch (channel, r) {
    case (.rtp, .sent):
      stats.packetsSent += 1
      stats.bytesSent += UInt64(bytes)
    case (.rtp, _):
      noteFailure(r, now: now)
    case (.rtcp, .sent):
      stats.senderReports += 1
    case (.rtcp, _):
      // a target without an RTCP port refuses every one: only counted
      rtcpSendErrors += 1
    }
  }

  /// Counts a failed send; the first unreachable error of a spell and, at most once per
  /// `errorLogIntervalNs`, the number of errors become events.
  func noteFailure(_ r: ForwardSendResult, now: UInt64) {
    stats.sendErrors += 1
    switch r {
    case .sent: return
    case .wouldBlock:
      stats.wouldBlock += 1
      lastErrno = Forwarder.wouldBlockErrno
    case .unreachable(let e):
      stats.unreachableErrors += 1
      lastErrno = e
      if e == Forwarder.connectionRefused { spellRefused = true }
      switch link {
      case .sending:
        link = .unreachable(since: now, lastErrorAt: now)
        events.append(.unreachable(errno: e))
        // that line says it: the count of this spell's errors follows an interval later
        nextErrorLogAt = max(nextErrorLogAt, now + config.errorLogIntervalNs)
      case .unreachable(let since, _):
        link = .unreachable(since: since, lastErrorAt: now)
      }
    case .failed(let e):
      lastErrno = e
    }
    errorsSinceLog += 1
    reportErrors(now: now)
  }

  func reportErrors(now: UInt64) {
    guard errorsSinceLog > 0, now >= nextErrorLogAt else { return }
    events.append(.sendErrors(count: errorsSinceLog, lastErrno: lastErrno))
    errorsSinceLog = 0
    nextErrorLogAt = now + config.errorLogIntervalNs
  }

  /// One datagram from the target's RTCP port (plain RTCP, also for SRTP mountpoints). PLI and
  /// FIR for our SSRC ask for a keyframe; a REMB is the target's estimate (the core limits the
  /// layers it is sent and counts it for the encoder's target); the rest is counted.
  public func handleRtcp(_ datagram: UnsafeRawBufferPointer, now: UInt64) {
    guard let scan = scanFeedback(datagram, ssrc: config.ssrc) else {
      stats.badRtcp += 1
      return
    }
    stats.rtcpReceived += 1
    lastRtcpAt = now
    checkRecovery(now: now, heardFromTarget: true)
    stats.plis += UInt64(scan.plis)
    stats.firs += UInt64(scan.firs)
    if let bitrate = scan.remb {
      stats.rembs += 1
      remb = (Int(clamping: bitrate), now)
      events.append(.estimateChanged(bitrate: Int(clamping: bitrate), at: now))
    }
    if scan.firs > 0 {
      requestKeyframe(.fir, now: now)
    } else if scan.plis > 0 {
      requestKeyframe(.pli, now: now)
    }
  }
}

/// PLI and FIR entries for `ssrc` and the last REMB in a compound RTCP datagram (no
/// allocation); nil when a header is malformed. Media SSRC 0 counts as ours (a receiver that
/// does not track SSRCs).
func scanFeedback(_ d: UnsafeRawBufferPointer, ssrc: UInt32) -> (plis: Int, firs: Int, remb: UInt64?)? {
  var plis = 0
  var firs = 0
  var remb: UInt64? = nil
  var offset = 0
  var packets = 0
  let n = d.count
  guard n >= 4 else { return nil }
  while offset < n {
    guard n - offset >= 4, packets < maxRtcpPackets else { return nil }
    packets += 1
    let b0 = d[offset]
    guard b0 >> 6 == 2 else { return nil }
    let fmt = b0 & 0x1F
    let length = (Int(loadU16(d, offset + 2)) + 1) * 4
    guard offset + length <= n else { return nil }
    if d[offset + 1] == RtcpType.payloadFeedback, length >= 12 {
      let media = loadU32(d, offset + 8)
      if fmt == 1, media == ssrc || media == 0 { plis += 1 }
      if fmt == 15, case .remb(let bitrate, _)? = try? rembView(d, type: RtcpType.payloadFeedback, at: offset + 12,
        end: offset + length) { remb = bitrate }
      if fmt == 4 {
        // FCI entries: SSRC, sequence number, reserved (8 bytes each)
        var i = offset + 12
        while i + 8 <= offset + length {
          if loadU32(d, i) == ssrc { firs += 1 }
          i += 8
        }
      }
    }
    offset += length
  }
  return (plis, firs, remb)
}

extension Forwarder {
  /// The core's limit on the temporal layers this target is sent (from its REMB).
  public func handleLayerLimit(_ layer: UInt8) { layers.limit(layer) }

  /// The highest temporal layer the target is sent now.
  public var maxLayer: UInt8 { layers.maxLayer }

  /// The target's REMB (bit/s) if one came within `rembLifetimeNs` of `now`.
  public func rembEstimate(now: UInt64) -> Int? {
    guard let r = remb, now >= r.at, now - r.at <= config.rembLifetimeNs else { return nil }
    return r.bitrate
  }
}
