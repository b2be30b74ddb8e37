// A connected viewer's media: its SRTP context and RTP stream, frames as a media sink, RTCP
// feedback (PLI, FIR, NACK, receiver reports), retransmissions and sender reports.
import BWE
import DTLS
import ICE
import RTP
import SDP
import SRTP
import Wire

/// What a connected session has: the DTLS association (still read: retransmitted flights,
/// alerts, close_notify), the SRTP context, the RTP stream and its retransmission history.
/// A class: the fan-out changes it for every packet, in place.
final class PeerMedia {
  let dtls: DtlsEndpoint
  let srtp: SrtpSession
  var stream: RtpStream
  var history: RtpHistory
  /// Don't send inter frames until the viewer has had a keyframe.
  var waitingForKeyframe = true
  /// The sequence number of the first packet of the last keyframe sent: the viewer decodes
  /// nothing before it any more, so NACKs for earlier packets go unanswered (nil: none yet).
  var keyframeSequence: UInt16?
  var nextSenderReportAt: UInt64
  var frame = SinkFrame()
  var rtcpWriter = ByteWriter(capacity: 256)
  /// The estimate, pacer and layer limit of a viewer that gives feedback; nil for one that gives
  /// none (its frames go out as they come, at the configured rate).
  var congestion: PeerCongestion?

  /// The last 512 packets: over a second of a 640x480 stream, longer than any NACK takes. The
  /// pacer's queue waits in the history too, so it holds at most this many packets.
  static let historySlots = 512
  /// When each history slot's packet was last sent again (nil: never), and the least time
  /// between two resends of one packet when the round trip is not known yet (a LAN's round trip
  /// is a few ms, Wi-Fi's tens: a browser re-asks after about one round trip).
  var resentAt: [UInt64?]
  static let minResendGapNs: UInt64 = 100_000_000
  /// With the round trip known, a packet is sent again once that round trip (and a quarter for
  /// its jitter) has passed without it arriving, but never within 20 ms: a resend that was lost
  /// in turn (5 % random loss loses one in twenty) is answered at the browser's next NACK, not
  /// the one after (Chrome re-asks about every 100 ms: a 100-ms gap missed it by a hair and
  /// cost 200 ms, a visible freeze).
  static let minKnownRoundTripResendGapNs: UInt64 = 20_000_000

  /// What transport feedback needs to send a lost transmission again (`PeerLossRecovery`).
  var transmissions = TransmissionLog()

  /// The least time between two resends of one packet.
  var resendGapNs: UInt64 {
    guard let rtt = congestion?.estimator.rttNs else { return PeerMedia.minResendGapNs }
    return max(rtt + rtt / 4, PeerMedia.minKnownRoundTripResendGapNs)
  }

  init(dtls: DtlsEndpoint, srtp: SrtpSession, config: PeerConfig, now: UInt64) {
    self.dtls = dtls
    self.srtp = srtp
    stream = RtpStream(ssrc: config.ssrc, payloadType: config.video.payloadType,
      initialSequence: config.initialSequence, timestampOffset: config.timestampOffset,
      playoutDelayExtensionID: config.video.playoutDelayExtensionID,
      transportSequenceExtensionID: config.video.transportSequenceExtensionID)
    history = RtpHistory(slots: PeerMedia.historySlots, slotSize: config.mtu)
    resentAt = [UInt64?](repeating: nil, count: PeerMedia.historySlots)
    nextSenderReportAt = now
    if let c = config.congestion, config.video.transportSequenceExtensionID != nil || config.video.remb {
      congestion = PeerCongestion(config: c, layers: config.temporalLayers - 1, now: now)
    }
  }
}

extension Peer: MediaSink {
  public func beginFrame(_ frame: PacketizedFrame, now: UInt64) -> Bool {
    guard case .connected(let m) = state, remote != nil, !frame.truncated, frame.count > 0 else { return false }
    lastNow = max(lastNow, now)
    if m.waitingForKeyframe && !frame.isKeyframe { return false }
    if m.congestion != nil {
      // what the frame costs on the wire: payloads, this viewer's headers and SRTP's tag
      let bytes = frame.payloadBytes + frame.count * (m.stream.headerLength + SrtpSession.trailerCapacity)
      guard m.congestion!.admits(frame, bytes: bytes, now: now, stats: &stats) else {
        if m.congestion!.keyframeWhenDrained { m.waitingForKeyframe = true }
        return false
      }
    }
    m.waitingForKeyframe = false
    if frame.isKeyframe { m.keyframeSequence = m.stream.sequence }
    m.frame = SinkFrame(active: true, failed: false, timestamp: m.stream.timestamp(captureNs: frame.captureTimeNs))
    return true
  }

  public func mediaPacket(_ frame: PacketizedFrame, _ i: Int) -> UnsafeRawBufferPointer? {
    guard case .connected(let m) = state, m.frame.active, !m.frame.failed else { return nil }
    let buf = mediaBuffer
    let length = m.stream.write(frame, packet: i, timestamp: m.frame.timestamp,
      into: UnsafeMutableRawBufferPointer(rebasing: buf[0..<config.mtu]))
    guard length > 0 else { return failPacket(m) }
    m.history.store(UnsafeRawBufferPointer(rebasing: buf[0..<length]))
    m.resentAt[Int(m.stream.sequence &- 1) % PeerMedia.historySlots] = nil  // a new packet in that slot
    m.transmissions.forget(rtpSequence: m.stream.sequence &- 1)
    if m.congestion != nil {
      // paced: it waits in the history and leaves through `pollOutput`
      let sequence = m.stream.sequence &- 1
      guard m.congestion!.pacer.enqueue(token: sequence, bytes: length + SrtpSession.trailerCapacity, now: lastNow)
      else { return failPacket(m) }
      return nil
    }
    _ = m.stream.stampTransportSequence(UnsafeMutableRawBufferPointer(rebasing: buf[0..<length]))
    let n: Int
    do throws(SrtpError) { n = try m.srtp.protectRtp(buf, length: length) } catch { return failPacket(m) }
    stats.packetsSent += 1
    stats.bytesSent += UInt64(n)
    return UnsafeRawBufferPointer(rebasing: buf[0..<n])
  }

  func failPacket(_ m: PeerMedia) -> UnsafeRawBufferPointer? {
    stats.sendFailures += 1
    m.frame.failed = true
    return nil
  }

  public func endFrame(_ frame: PacketizedFrame, now: UInt64) {
    guard case .connected(let m) = state, m.frame.active else { return }
    m.frame.active = false
    if m.frame.failed {
      // what follows cannot be decoded without a new keyframe
      m.waitingForKeyframe = true
      events.append(.keyframeNeeded(.sendFailed))
    } else {
      stats.framesSent += 1
    }
  }

  // MARK: RTCP

  func receiveRtcp(_ datagram: UnsafeMutableRawBufferPointer, media m: PeerMedia, from: SocketAddress, now: UInt64) {
    let plainLength: Int
    do { plainLength = try m.srtp.unprotectRtcp(datagram, length: datagram.count) } catch {
      stats.badDatagrams += 1
      return
    }
    let plain = UnsafeRawBufferPointer(rebasing: datagram[0..<plainLength])
    // Authenticated SRTCP from the nominated address keeps the session alive for viewers that
    // send no consent checks (see IceLiteAgent.authenticatedMedia).
    if ice.authenticatedMedia(from: from, now: now) { stats.rtcpLiveness += 1 }
    // read in place (RTCP comes from every viewer all the time: nothing is allocated)
    do throws(RtcpError) {
      try forEachRtcpPacket(plain) { p in feedback(p, m) }
    } catch {
      stats.badDatagrams += 1
      return
    }
    stats.rtcpReceived += 1
  }

  func feedback(_ p: RtcpView, _ m: PeerMedia) {
    switch p {
    case .pli:
      stats.plis += 1
      events.append(.keyframeNeeded(.pli))
    case .fir:
      stats.firs += 1
      events.append(.keyframeNeeded(.fir))
    case .nack(_, _, let entries):
      stats.nacks += 1
      for seq in entries.lostSequences { nacked(seq, m) }
    case .receiverReport(_, let blocks):
      for i in 0..<blocks.count {
        let b = blocks.reportBlock(i)
        guard b.ssrc == config.ssrc else { continue }
        stats.fractionLost = b.fractionLost
        stats.jitter = b.jitter
        reportBlock(b)
      }
    case .transportFeedback(_, _, let fb): transportFeedback(fb)
    case .remb(let bitrate, _): remb(bitrate)
    default: break
    }
  }

  /// A packet the viewer reports lost: sent again unless it already was within the resend gap
  /// (a browser repeats its NACKs until the packet arrives: answering each one again would
  /// multiply the traffic on the very link that lost it). A paced viewer's resends take the
  /// pacer's retransmission lane, within its rate.
  func nacked(_ seq: UInt16, _ m: PeerMedia) {
    if let last = m.resentAt[Int(seq) % PeerMedia.historySlots], lastNow >= last, lastNow - last < m.resendGapNs { return }
    // transport feedback already saw it arrive (the NACK crossed a resend)
    if m.transmissions.hasArrived(rtpSequence: seq) { return }
    resend(seq, m)
  }

  /// Sends packet `seq` again (a NACK asked, or transport feedback reported its last
  /// transmission lost), unless it is of no use or would overfill the queue.
  func resend(_ seq: UInt16, _ m: PeerMedia) {
    let slot = Int(seq) % PeerMedia.historySlots
    // before the last keyframe: of no use to the viewer (a browser keeps asking for what it lost
    // before a skip to a keyframe; RFC 3550's modular comparison, half the number space back)
    if let k = m.keyframeSequence, Int16(bitPattern: seq &- k) < 0 { return }
    if m.congestion != nil {
      // not while the viewer waits for a keyframe (what it lost is of no use any more), and not
      // beyond the queue's bound (resends on a link that is losing packets add to its queue)
      guard !m.waitingForKeyframe, let bytes = m.history.withPacket(sequence: seq, { $0.count }),
        !m.congestion!.pacer.wouldExceed(bytes: bytes, now: lastNow),
        m.congestion!.pacer.enqueueRetransmission(token: seq, bytes: bytes + SrtpSession.trailerCapacity, now: lastNow)
      else { return }
      stats.retransmissions += 1
    } else {
      guard retransmitCount < Peer.maxPendingRetransmissions else { return }
      retransmitQueue[(retransmitHead + retransmitCount) % Peer.maxPendingRetransmissions] = seq
      retransmitCount += 1
    }
    m.resentAt[slot] = lastNow
  }

  /// The next packet a NACK asked for that is still in the history, protected again.
  func nextRetransmission(_ m: PeerMedia) -> PeerOutput? {
    guard let to = remote else { return nil }
    while retransmitCount > 0 {
      let seq = retransmitQueue[retransmitHead]
      retransmitHead = (retransmitHead + 1) % Peer.maxPendingRetransmissions
      retransmitCount -= 1
      guard let n = fromHistory(m, sequence: seq) else { continue }
      stats.retransmissions += 1
      return .transmit(UnsafeRawBufferPointer(rebasing: controlBuffer[0..<n]), to: to)
    }
    return nil
  }

  /// Packet `sequence` of the history in `controlBuffer`, with the next transport-wide number
  /// (told to the estimator) and protected: its length, or nil when it is no longer there or
  /// SRTP failed (counted).
  func fromHistory(_ m: PeerMedia, sequence: UInt16) -> Int? {
    let buf = controlBuffer
    let len: Int? = m.history.withPacket(sequence: sequence) { p -> Int in
      buf.baseAddress!.copyMemory(from: p.baseAddress!, byteCount: p.count)
      return p.count
    }
    guard let len else { return nil }
    let transport = m.stream.stampTransportSequence(UnsafeMutableRawBufferPointer(rebasing: buf[0..<len]))
    let n: Int
    do throws(SrtpError) { n = try m.srtp.protectRtp(buf, length: len) } catch {
      stats.sendFailures += 1
      return nil
    }
    if let t = transport {
      m.congestion?.estimator.onPacketSent(sequence: t, bytes: n, now: lastNow)
      m.transmissions.record(transport: t, rtpSequence: sequence)
    }
    return n
  }

  /// The sender report that fell due (none before the first frame: it has no RTP time yet).
  func nextSenderReport(_ m: PeerMedia) -> PeerOutput? {
    guard let due = senderReportDue else { return nil }
    senderReportDue = nil
    guard let to = remote, let rtpNow = m.stream.rtpTime(now: due.now) else { return nil }
    m.rtcpWriter.reset()
    let ntp = ntpTimestamp(unixNs: due.unixNs)
    m.congestion?.senderReports.record(compactNtp: compactNtp(ntp), now: due.now)
    writeSenderReport(ssrc: config.ssrc, ntpTime: ntp, rtpTimestamp: rtpNow,
      packetCount: m.stream.packetCount, octetCount: m.stream.octetCount, cname: config.cname,
      into: &m.rtcpWriter)
    let len = m.rtcpWriter.count
    let buf = controlBuffer
    guard len + SrtpSession.trailerCapacity <= buf.count else { return nil }
    m.rtcpWriter.bytes.withUnsafeBytes { buf.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: len) }
    let n: Int
    do throws(SrtpError) { n = try m.srtp.protectRtcp(buf, length: len) } catch {
      stats.sendFailures += 1
      return nil
    }
    return .transmit(UnsafeRawBufferPointer(rebasing: buf[0..<n]), to: to)
  }
}
