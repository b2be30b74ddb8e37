import RTP
import SRTP
import Wire

/// One --forward target: the encoded frames as H.264 RTP (SRTP for `srtp://`) to an ingest such
/// as a Janus Streaming mountpoint, sender reports to its RTCP port, PLI/FIR from there turned
/// into keyframe requests, and the link's health (unreachable spells, recovery, errors at a
/// bounded rate). Sans-IO: frames, RTCP and `now` go in; datagrams go out through `send`
/// (which never blocks: the runtime's sockets are non-blocking) and events come out.
///
/// Steady state allocates nothing per packet: one reused packet buffer, SRTP in place.
public final class Forwarder {
  public let target: ForwardTarget
  public let config: ForwardConfig
  public private(set) var stats = ForwardStats()
  public private(set) var link = ForwardLinkState.sending
  /// When the last keyframe went out (nil before the first).
  public private(set) var lastKeyframeSentAt: UInt64? = nil
  /// When feedback last arrived from the target's RTCP port (nil: never).
  public private(set) var lastRtcpAt: UInt64? = nil

  var srtp: SrtpSession?
  var packetizer: H264Packetizer
  var packetBuffer: UnsafeMutableRawBufferPointer
  var rtcpWriter = ByteWriter(capacity: 256)
  var events: [ForwardEvent] = []
  var waitingForKeyframe = true
  var timestampBaseNs: UInt64? = nil
  var nextSenderReportAt: UInt64 = 0
  var lastKeyframeRequestAt: UInt64? = nil
  /// A request arrived within `keyframeRequestGapNs` of the last one: asked for when the gap ends.
  var keyframeRequestPending = false
  var intervalRequestAt: UInt64? = nil
  var errorsSinceLog: UInt64 = 0
  var lastErrno: Int32 = 0
  var nextErrorLogAt: UInt64 = 0
  public private(set) var rtcpSendErrors: UInt64 = 0

  /// The current unreachable spell included ECONNREFUSED: the target's port was closed, so
  /// whatever listens there when it comes back is a new receiver (a fresh SRTP context).
  var spellRefused = false
  static let connectionRefused: Int32 = 111  // ECONNREFUSED on Linux

  public init(target: ForwardTarget, config: ForwardConfig, now: UInt64) throws(SrtpError) {
    self.target = target
    self.config = config
    packetizer = Forwarder.makePacketizer(config, sequence: config.initialSequence)
    packetBuffer = UnsafeMutableRawBufferPointer.allocate(
      byteCount: config.mtu + SrtpSession.trailerCapacity + 16, alignment: 16)
    events.reserveCapacity(16)
    if target.secure {
      guard let k = config.srtp else { throw .badKeyLength }
      srtp = try SrtpSession(localKey: k.key, localSalt: k.salt, remoteKey: k.key, remoteSalt: k.salt)
    }
    requestKeyframe("forward started", now: now)
  }

  deinit { packetBuffer.deallocate() }

  static func makePacketizer(_ c: ForwardConfig, sequence: UInt16) -> H264Packetizer {
    H264Packetizer(ssrc: c.ssrc, payloadType: c.payloadType, initialSequence: sequence, mtu: c.mtu)
  }

  /// The packetizer's next sequence number (tests).
  public var nextSequence: UInt16 { packetizer.sequence }

  public var hasEvents: Bool { !events.isEmpty }

  public func takeEvents() -> [ForwardEvent] {
    let e = events
    events.removeAll(keepingCapacity: true)
    return e
  }

  /// When --forward-keyframe-interval wants the next keyframe: the interval after the last one,
  /// and while the encoder has not answered yet, a request gap after the last such request.
  var intervalKeyframeDue: UInt64? {
    guard config.keyframeIntervalNs > 0, !waitingForKeyframe, let k = lastKeyframeSentAt else { return nil }
    return max(k + config.keyframeIntervalNs, (intervalRequestAt ?? 0) + config.keyframeRequestGapNs)
  }

  /// The earliest time `poll` has work to do.
  public var nextDeadline: UInt64? {
    var d: UInt64? = nil
    func earliest(_ t: UInt64) { d = min(d ?? t, t) }
    if timestampBaseNs != nil { earliest(nextSenderReportAt) }
    if keyframeRequestPending, let last = lastKeyframeRequestAt { earliest(last + config.keyframeRequestGapNs) }
    if let due = intervalKeyframeDue { earliest(due) }
    if case .unreachable(_, let last) = link { earliest(last + config.recoveryQuietNs) }
    if errorsSinceLog > 0 { earliest(nextErrorLogAt) }
    return d
  }

  // MARK: media

  /// Sends one encoded access unit (Annex B). Inter frames wait for the first keyframe (at start
  /// and after the target came back).
  public func sendFrame(_ accessUnit: UnsafeRawBufferPointer, captureTimeNs: UInt64, isKeyframe: Bool, now: UInt64,
                        send: (UnsafeRawBufferPointer, ForwardChannel) -> ForwardSendResult) {
    checkRecovery(now: now)
    if waitingForKeyframe {
      guard isKeyframe else { return }
      waitingForKeyframe = false
    }
    if isKeyframe {
      lastKeyframeSentAt = now
      keyframeRequestPending = false
    }
    let base = timestampBaseNs ?? captureTimeNs
    if timestampBaseNs == nil {
      timestampBaseNs = base
      nextSenderReportAt = now
    }
    let ts = rtpTimestamp90k(captureNs: captureTimeNs, baseNs: base, offset: config.timestampOffset)
    let buf = packetBuffer
    let srtp = self.srtp
    var protectFailed: SrtpError? = nil
    var results: (sent: UInt64, bytes: UInt64) = (0, 0)
    packetizer.packetize(accessUnit: accessUnit, timestamp: ts,
                         buffer: UnsafeMutableRawBufferPointer(rebasing: buf[0..<config.mtu])) { length, _ in
      if protectFailed != nil { return }
      var n = length
      if let srtp {
        do throws(SrtpError) { n = try srtp.protectRtp(buf, length: length) } catch {
          protectFailed = error
          return
        }
      }
      let r = send(UnsafeRawBufferPointer(rebasing: buf[0..<n]), .rtp)
      if r == .sent {
        results.sent += 1
        results.bytes += UInt64(n)
      } else {
        noteFailure(r, now: now)
      }
    }
    stats.packetsSent += results.sent
    stats.bytesSent += results.bytes
    stats.framesSent += 1
    if let e = protectFailed {
      events.append(.srtpFailed(e.code))
      waitingForKeyframe = true
      requestKeyframe("SRTP protect failed", now: now)
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
      lastErrno = 11  // EAGAIN
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

  /// An unreachable spell ends after `recoveryQuietNs` without another such error (or when the
  /// target sends RTCP); the next frame is a keyframe. If the port was closed (ECONNREFUSED), the
  /// receiver restarted: its new SRTP context assumes rollover counter 0, so ours starts over
  /// too. The sequence numbers go on: the new receiver may already have taken packets from the
  /// old context (before the wrap) and would refuse lower ones as replays.
  func checkRecovery(now: UInt64, heardFromTarget: Bool = false) {
    guard case .unreachable(let since, let last) = link else { return }
    guard heardFromTarget || now >= last + config.recoveryQuietNs else { return }
    link = .sending
    stats.recoveries += 1
    defer { spellRefused = false }
    var restarted = false
    if target.secure, spellRefused, let k = config.srtp {
      do throws(SrtpError) {
        srtp = try SrtpSession(localKey: k.key, localSalt: k.salt, remoteKey: k.key, remoteSalt: k.salt)
        restarted = true
      } catch {
        events.append(.srtpFailed(error.code))
      }
    }
    events.append(.recovered(downForNs: now - since, restartedSrtp: restarted))
    waitingForKeyframe = true
    requestKeyframe("target back", now: now, force: true)
  }

  /// Asks the encoder for a keyframe, at most once per `keyframeRequestGapNs` (a request inside
  /// the gap is remembered and made when it ends, unless a keyframe went out meanwhile).
  func requestKeyframe(_ reason: String, now: UInt64, force: Bool = false) {
    if !force, let last = lastKeyframeRequestAt, now < last + config.keyframeRequestGapNs {
      keyframeRequestPending = true
      return
    }
    lastKeyframeRequestAt = now
    keyframeRequestPending = false
    stats.keyframeRequests += 1
    events.append(.keyframeNeeded(reason: reason))
  }

  // MARK: RTCP

  /// One datagram from the target's RTCP port (plain RTCP, also for SRTP mountpoints). PLI and
  /// FIR for our SSRC ask for a keyframe; everything else (REMB, receiver reports) is counted.
  public func receiveRtcp(_ datagram: UnsafeRawBufferPointer, now: UInt64) {
    guard let scan = scanFeedback(datagram, ssrc: config.ssrc) else {
      stats.badRtcp += 1
      return
    }
    stats.rtcpReceived += 1
    lastRtcpAt = now
    checkRecovery(now: now, heardFromTarget: true)
    stats.plis += UInt64(scan.plis)
    stats.firs += UInt64(scan.firs)
    if scan.firs > 0 {
      requestKeyframe("FIR from the forward target", now: now)
    } else if scan.plis > 0 {
      requestKeyframe("PLI from the forward target", now: now)
    }
  }

  // MARK: timers

  /// Sender reports, deferred keyframe requests, the keyframe interval, recovery and error lines.
  public func poll(now: UInt64, unixNs: UInt64, send: (UnsafeRawBufferPointer, ForwardChannel) -> ForwardSendResult) {
    checkRecovery(now: now)
    if keyframeRequestPending, let last = lastKeyframeRequestAt, now >= last + config.keyframeRequestGapNs {
      requestKeyframe("deferred request", now: now)
    }
    if let due = intervalKeyframeDue, now >= due {
      intervalRequestAt = now
      requestKeyframe("--forward-keyframe-interval", now: now)
    }
    if let base = timestampBaseNs, now >= nextSenderReportAt {
      nextSenderReportAt = now + config.senderReportIntervalNs
      sendSenderReport(now: now, unixNs: unixNs, base: base, send: send)
    }
    reportErrors(now: now)
  }

  /// A plain sender report + SDES CNAME to the RTCP port (Janus keeps RTCP unencrypted even on
  /// an SRTP mountpoint, and sends its feedback to the source of the latest RTCP packet).
  /// Errors on this socket are only counted: a target without an RTCP port refuses every one.
  func sendSenderReport(now: UInt64, unixNs: UInt64, base: UInt64,
                        send: (UnsafeRawBufferPointer, ForwardChannel) -> ForwardSendResult) {
    let rtpNow = rtpTimestamp90k(captureNs: max(now, base), baseNs: base, offset: config.timestampOffset)
    rtcpWriter.reset()
    writeSenderReport(ssrc: config.ssrc, ntpTime: ntpTimestamp(unixNs: unixNs), rtpTimestamp: rtpNow,
      packetCount: packetizer.packetCount, octetCount: packetizer.octetCount, cname: config.cname,
      into: &rtcpWriter)
    let r = rtcpWriter.bytes.withUnsafeBytes { send($0, .rtcp) }
    if r == .sent { stats.senderReports += 1 } else { rtcpSendErrors += 1 }
  }
}

/// PLI and FIR entries for `ssrc` in a compound RTCP datagram (no allocation); nil when a
/// header is malformed. Media SSRC 0 counts as ours (a receiver that does not track SSRCs).
func scanFeedback(_ d: UnsafeRawBufferPointer, ssrc: UInt32) -> (plis: Int, firs: Int)? {
  var plis = 0
  var firs = 0
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
  return (plis, firs)
}
