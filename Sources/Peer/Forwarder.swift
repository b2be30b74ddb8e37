import RTP
import SRTP
import Wire

/// One --forward target: the encoded frames as H.264 RTP (SRTP for `srtp://`) to an ingest such
/// as a Janus Streaming mountpoint, sender reports to its RTCP port, PLI/FIR from there turned
/// into keyframe requests, and the link's health (unreachable spells, recovery, errors at a
/// bounded rate). Sans-IO: frames (as a `MediaSink`), RTCP, send results and `now` go in;
/// datagrams and events come out of `pollOutput` (the runtime's sockets never block).
///
/// Steady state allocates nothing per packet: reused packet buffers, SRTP in place.
public final class Forwarder {
  public let target: ForwardTarget
  public let config: ForwardConfig
  public internal(set) var stats = ForwardStats()
  public internal(set) var link = ForwardLinkState.sending
  /// When the last keyframe went out (nil before the first).
  public internal(set) var lastKeyframeSentAt: UInt64? = nil
  /// When feedback last arrived from the target's RTCP port (nil: never).
  public internal(set) var lastRtcpAt: UInt64? = nil
  public internal(set) var rtcpSendErrors: UInt64 = 0

  var srtp: SrtpSession?
  var stream: RtpStream
  var frame = SinkFrame()
  let mediaBuffer: UnsafeMutableRawBufferPointer
  let controlBuffer: UnsafeMutableRawBufferPointer
  var rtcpWriter = ByteWriter(capacity: 256)
  var events: [ForwardEvent] = []
  var eventsHead = 0
  var waitingForKeyframe = true
  /// Which temporal layers the target is sent (its REMB decides, through the core).
  var layers: LayerGate
  /// The target's last REMB (bit/s) and when it came.
  var remb: (bitrate: Int, at: UInt64)? = nil
  var nextSenderReportAt: UInt64 = 0
  /// A sender report fell due at these clocks; it is made at `pollOutput`.
  var senderReportDue: (now: UInt64, unixNs: UInt64)? = nil
  var lastKeyframeRequestAt: UInt64? = nil
  /// A request arrived within `keyframeRequestGapNs` of the last one: asked for when the gap ends.
  var keyframeRequestPending = false
  var intervalRequestAt: UInt64? = nil
  var errorsSinceLog: UInt64 = 0
  var lastErrno: Int32 = 0
  var nextErrorLogAt: UInt64 = 0

  /// The current unreachable spell included ECONNREFUSED: the target's port was closed, so
  /// whatever listens there when it comes back is a new receiver (a fresh SRTP context).
  var spellRefused = false
  static let connectionRefused: Int32 = 111  // ECONNREFUSED on Linux
  static let wouldBlockErrno: Int32 = 11  // EAGAIN on Linux

  public init(target: ForwardTarget, config: ForwardConfig, now: UInt64) throws(SrtpError) {
    self.target = target
    self.config = config
    layers = LayerGate(maxLayer: max(config.temporalLayers, 1) - 1)
    stream = RtpStream(ssrc: config.ssrc, payloadType: config.payloadType, initialSequence: config.initialSequence,
      timestampOffset: config.timestampOffset)
    let size = config.mtu + SrtpSession.trailerCapacity + 48
    mediaBuffer = .allocate(byteCount: size, alignment: 16)
    controlBuffer = .allocate(byteCount: size, alignment: 16)
    events.reserveCapacity(16)
    if target.secure {
      guard let k = config.srtp else { throw .badKeyLength }
      srtp = try SrtpSession(localKey: k.key, localSalt: k.salt, remoteKey: k.key, remoteSalt: k.salt)
    }
    requestKeyframe(.forwardStarted, now: now)
  }

  deinit {
    mediaBuffer.deallocate()
    controlBuffer.deallocate()
  }

  /// The next RTP sequence number (tests and /status).
  public var nextSequence: UInt16 { stream.sequence }

  /// When --forward-keyframe-interval wants the next keyframe: the interval after the last one,
  /// and while the encoder has not answered yet, a request gap after the last such request.
  var intervalKeyframeDue: UInt64? {
    guard config.keyframeIntervalNs > 0, !waitingForKeyframe, let k = lastKeyframeSentAt else { return nil }
    return max(k + config.keyframeIntervalNs, (intervalRequestAt ?? 0) + config.keyframeRequestGapNs)
  }

  /// The earliest time `handleTimeout` has work to do.
  public var nextDeadline: UInt64? {
    var d: UInt64? = nil
    func earliest(_ t: UInt64) { d = min(d ?? t, t) }
    if stream.timestampBaseNs != nil { earliest(nextSenderReportAt) }
    if keyframeRequestPending, let last = lastKeyframeRequestAt { earliest(last + config.keyframeRequestGapNs) }
    if let due = intervalKeyframeDue { earliest(due) }
    if case .unreachable(_, let last) = link { earliest(last + config.recoveryQuietNs) }
    if errorsSinceLog > 0 { earliest(nextErrorLogAt) }
    return d
  }

  /// Whether `pollOutput` has anything but `.timeout` to hand out.
  public var hasPendingOutput: Bool { senderReportDue != nil || eventsHead < events.count }

  /// What the forward asks of its caller, one at a time: a sender report, then events, then
  /// `.timeout`.
  public func pollOutput() -> ForwardOutput {
    if let due = senderReportDue {
      senderReportDue = nil
      if let bytes = senderReport(now: due.now, unixNs: due.unixNs) { return .transmit(bytes, .rtcp) }
    }
    if eventsHead < events.count {
      let e = events[eventsHead]
      eventsHead += 1
      if eventsHead == events.count { events.removeAll(keepingCapacity: true); eventsHead = 0 }
      return .event(e)
    }
    return .timeout(nextDeadline)
  }

  // MARK: timers

  /// Sender reports, deferred keyframe requests, the keyframe interval, recovery and error lines.
  public func handleTimeout(now: UInt64, unixNs: UInt64) {
    checkRecovery(now: now)
    if keyframeRequestPending, let last = lastKeyframeRequestAt, now >= last + config.keyframeRequestGapNs {
      requestKeyframe(.deferred, now: now)
    }
    if let due = intervalKeyframeDue, now >= due {
      intervalRequestAt = now
      requestKeyframe(.forwardInterval, now: now)
    }
    if stream.timestampBaseNs != nil, now >= nextSenderReportAt {
      nextSenderReportAt = now + config.senderReportIntervalNs
      senderReportDue = (now, unixNs)
    }
    reportErrors(now: now)
  }

  /// A plain sender report + SDES CNAME for the RTCP port (Janus keeps RTCP unencrypted even on
  /// an SRTP mountpoint, and sends its feedback to the source of the latest RTCP packet).
  func senderReport(now: UInt64, unixNs: UInt64) -> UnsafeRawBufferPointer? {
    guard let rtpNow = stream.rtpTime(now: now) else { return nil }
    rtcpWriter.reset()
    writeSenderReport(ssrc: config.ssrc, ntpTime: ntpTimestamp(unixNs: unixNs), rtpTimestamp: rtpNow,
      packetCount: stream.packetCount, octetCount: stream.octetCount, cname: config.cname,
      into: &rtcpWriter)
    let len = rtcpWriter.count
    let buf = controlBuffer
    guard len <= buf.count else { return nil }
    rtcpWriter.bytes.withUnsafeBytes { buf.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: len) }
    return UnsafeRawBufferPointer(rebasing: buf[0..<len])
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
    requestKeyframe(.forwardRecovered, now: now, force: true)
  }

  /// Asks the encoder for a keyframe, at most once per `keyframeRequestGapNs` (a request inside
  /// the gap is remembered and made when it ends, unless a keyframe went out meanwhile).
  func requestKeyframe(_ reason: KeyframeReason, now: UInt64, force: Bool = false) {
    if !force, let last = lastKeyframeRequestAt, now < last + config.keyframeRequestGapNs {
      keyframeRequestPending = true
      return
    }
    lastKeyframeRequestAt = now
    keyframeRequestPending = false
    stats.keyframeRequests += 1
    events.append(.keyframeNeeded(reason))
  }
}
