// One playing RTSP client's media (RFC 2326 section 10.12, RFC 3550): the shared frame's RTP
// payloads with this client's own header (its SSRC, sequence numbers and timestamps), framed
// with "$" for an interleaved client, and its RTCP sender reports. Sans-IO; the bytes it returns
// stay valid until its next call. Steady state allocates nothing per packet.
import RTP
import Wire

/// The fixed parts of one client's stream.
public struct RtspStreamConfig: Equatable, Sendable {
  public var ssrc: UInt32
  public var initialSequence: UInt16
  public var timestampOffset: UInt32
  public var payloadType: UInt8 = 96
  /// The largest RTP packet (the frame's payloads are cut to fit it; the "$" header of an
  /// interleaved frame comes on top).
  public var mtu = 1200
  public var cname = "rtcam"

  public init(ssrc: UInt32, initialSequence: UInt16, timestampOffset: UInt32) {
    self.ssrc = ssrc
    self.initialSequence = initialSequence
    self.timestampOffset = timestampOffset
  }
}

/// Where one client's RTP and RTCP go: which bytes `RtspSender` hands out (with or without the
/// interleaved header).
public enum RtspDelivery: Equatable, Sendable {
  /// On the RTSP connection, on these channels.
  case interleaved(rtp: UInt8, rtcp: UInt8)
  /// Datagrams to these ports of the client's address.
  case udp(rtp: Int, rtcp: Int)

  public init(_ t: RtspTransport) {
    switch t {
    case .interleaved(let a, let b): self = .interleaved(rtp: a, rtcp: b)
    case .udp(let a, let b): self = .udp(rtp: a, rtcp: b)
    }
  }
}

public final class RtspSender {
  public let config: RtspStreamConfig
  public let delivery: RtspDelivery
  var stream: RtpStream
  /// Media and control packets, each with room for the interleaved header in front.
  let mediaBuffer: UnsafeMutableRawBufferPointer
  let controlBuffer: UnsafeMutableRawBufferPointer
  var rtcpWriter = ByteWriter(capacity: 128)
  /// Until the first keyframe (and again after skipped frames) inter frames are not sent.
  public internal(set) var waitingForKeyframe = true
  var active = false
  var failed = false
  var timestamp: UInt32 = 0
  public internal(set) var framesSent: UInt64 = 0
  public internal(set) var packetsSent: UInt64 = 0
  public internal(set) var bytesSent: UInt64 = 0
  public internal(set) var senderReports: UInt64 = 0

  /// The interleaved header: "$", the channel, the 16-bit length.
  static let interleavedHeader = 4

  public init(config: RtspStreamConfig, delivery: RtspDelivery) {
    self.config = config
    self.delivery = delivery
    stream = RtpStream(ssrc: config.ssrc, payloadType: config.payloadType, initialSequence: config.initialSequence,
      timestampOffset: config.timestampOffset)
    mediaBuffer = .allocate(byteCount: RtspSender.interleavedHeader + config.mtu, alignment: 16)
    controlBuffer = .allocate(byteCount: RtspSender.interleavedHeader + 128, alignment: 16)
  }

  deinit {
    mediaBuffer.deallocate()
    controlBuffer.deallocate()
  }

  /// The sequence number and RTP time the client sees next (PLAY's RTP-Info).
  public var nextSequence: UInt16 { stream.sequence }
  public func nextTimestamp(now: UInt64) -> UInt32 { stream.rtpTime(now: now) ?? config.timestampOffset }
  /// Whether a frame went out (sender reports have a clock to tell then).
  public var started: Bool { stream.timestampBaseNs != nil }

  /// Whether the client takes `frame`: inter frames wait for a keyframe.
  public func beginFrame(_ frame: PacketizedFrame) -> Bool {
    guard !frame.truncated, frame.count > 0 else { return false }
    if waitingForKeyframe {
      guard frame.isKeyframe else { return false }
      waitingForKeyframe = false
    }
    active = true
    failed = false
    timestamp = stream.timestamp(captureNs: frame.captureTimeNs)
    return true
  }

  /// Packet `i` of the frame as this client gets it (with the interleaved header for a TCP
  /// client), or nil when the frame is not being sent.
  public func mediaPacket(_ frame: PacketizedFrame, _ i: Int) -> UnsafeRawBufferPointer? {
    guard active, !failed else { return nil }
    let h = headerRoom
    let n = stream.write(frame, packet: i, timestamp: timestamp,
      into: UnsafeMutableRawBufferPointer(rebasing: mediaBuffer[h..<(h + config.mtu)]))
    guard n > 0 else {
      failed = true
      return nil
    }
    packetsSent += 1
    bytesSent += UInt64(n)
    return framed(mediaBuffer, n, rtcp: false)
  }

  /// The frame is over; false when a packet could not be made (the client then waits for the
  /// next keyframe).
  @discardableResult
  public func endFrame() -> Bool {
    guard active else { return true }
    active = false
    if failed {
      waitingForKeyframe = true
      return false
    }
    framesSent += 1
    return true
  }

  /// From now on only a keyframe is sent (the client fell behind, or paused).
  public func skipToKeyframe() {
    waitingForKeyframe = true
    active = false
  }

  /// A sender report with the CNAME (RFC 3550 6.4.1): RTP time and NTP time of `now`, the
  /// counts so far; nil before the first frame.
  public func senderReport(now: UInt64, unixNs: UInt64) -> UnsafeRawBufferPointer? {
    guard let rtpNow = stream.rtpTime(now: now) else { return nil }
    rtcpWriter.reset()
    writeSenderReport(ssrc: config.ssrc, ntpTime: ntpTimestamp(unixNs: unixNs), rtpTimestamp: rtpNow,
      packetCount: stream.packetCount, octetCount: stream.octetCount, cname: config.cname, into: &rtcpWriter)
    let len = rtcpWriter.count
    let h = headerRoom
    guard h + len <= controlBuffer.count, let base = controlBuffer.baseAddress else { return nil }
    rtcpWriter.bytes.withUnsafeBytes { (base + h).copyMemory(from: $0.baseAddress!, byteCount: len) }
    senderReports += 1
    return framed(controlBuffer, len, rtcp: true)
  }

  var headerRoom: Int {
    if case .interleaved = delivery { return RtspSender.interleavedHeader }
    return 0
  }

  /// The packet of `length` bytes after the header room, with its "$" header when interleaved.
  func framed(_ buf: UnsafeMutableRawBufferPointer, _ length: Int, rtcp: Bool) -> UnsafeRawBufferPointer {
    switch delivery {
    case .udp: return UnsafeRawBufferPointer(rebasing: buf[0..<length])
    case .interleaved(let a, let b):
      buf[0] = UInt8(ascii: "$")
      buf[1] = rtcp ? b : a
      buf[2] = UInt8(truncatingIfNeeded: length >> 8)
      buf[3] = UInt8(truncatingIfNeeded: length)
      return UnsafeRawBufferPointer(rebasing: buf[0..<(length + RtspSender.interleavedHeader)])
    }
  }
}
