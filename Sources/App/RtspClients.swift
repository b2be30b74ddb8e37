// The RTSP server's clients (RFC 2326): one per TCP connection on --rtsp-port, each with its
// session and, once set up, its own RTP stream of the shared frames (RtspSender). What the core
// does with them is in CoreRtsp.swift.
import Peer
import RTP
import RTSP
import Wire

/// Bounds of the RTSP server, each with the reason.
public struct RtspServerLimits: Equatable, Sendable {
  /// Connections at once: the 8 NVR and player clients the design is sized for, twice over for
  /// reconnects and probes (ffprobe opens one, then the player its own). Each playing TCP client
  /// may hold up to `maxBacklogBytes` in its connection's output.
  public var maxClients = 32
  /// Bytes queued on an interleaved client's connection before it skips to the next keyframe:
  /// about 2.5 s of the default 800 kbit/s, more than a Wi-Fi hiccup, and the most a client
  /// that stopped reading holds (its kernel buffer aside).
  public var maxBacklogBytes = 256 * 1024
  /// Sender reports (RTCP SR) to each playing client: RFC 3550's 5 s minimum interval; players
  /// use them for the wall-clock time of the stream.
  public var senderReportIntervalNs: UInt64 = 5_000_000_000

  public init() {}
}

/// The RTSP server's options (`--rtsp-port`, `--rtsp-timeout`).
public struct RtspOptions: Equatable, Sendable {
  /// TCP port for RTSP, and the first of the two UDP ports (RTP, RTCP = port + 1) UDP clients
  /// get their media from; 0 turns RTSP off.
  public var port = 8554
  /// Seconds a UDP client may stay silent (no request, no RTCP report) before its session is
  /// ended; also how long an interleaved client may stop reading. Sent in `Session: ID;timeout=`.
  public var timeoutSeconds = 60
  /// While RTSP clients play, a keyframe at least this often (seconds; 0: only when a client
  /// starts). RTSP has no way to ask for one: a player that drops what it read while probing
  /// (ffplay -fflags nobuffer) or joins a recording segment (Frigate, Home Assistant's HLS) waits
  /// for the next keyframe, and NVRs cut their segments at keyframes.
  public var keyframeIntervalSeconds = 2
  public var limits = RtspServerLimits()

  public init() {}

  /// The bounds of --rtsp-timeout: ffmpeg and GStreamer send their keep-alives at half the
  /// timeout, VLC every 55 s at most; under 5 s a busy player would be cut off.
  public static let timeoutRange = 5...3600
  /// The bounds of --rtsp-keyframe-interval: 0 (off) to a minute.
  public static let keyframeIntervalRange = 0...60
}

/// One client connection.
final class RtspClient {
  let id: ConnectionID
  let peer: SocketAddress
  var input = RtspInput()
  var session: RtspSession
  let streamConfig: RtspStreamConfig
  /// The client's stream, made at SETUP (its transport decides the framing).
  var sender: RtspSender? = nil
  /// Playing: the session says so (PLAY after SETUP, until PAUSE or TEARDOWN).
  var playing: Bool {
    if case .playing = session.phase { return sender != nil }
    return false
  }
  /// Bytes queued on the connection since it was last flushed (interleaved media and answers).
  var backlog = 0
  /// Frames were skipped because the backlog was over the limit (since this time); a keyframe is
  /// asked for once the connection drains.
  var skippingSince: UInt64? = nil
  var framesSkipped: UInt64 = 0
  var nextSenderReportAt: UInt64 = 0
  var rtcpReceived: UInt64 = 0
  let createdAt: UInt64

  init(id: ConnectionID, peer: SocketAddress, session: RtspSession, streamConfig: RtspStreamConfig, now: UInt64) {
    self.id = id
    self.peer = peer
    self.session = session
    self.streamConfig = streamConfig
    createdAt = now
  }

  /// "TCP" or "UDP" once set up.
  var transportName: String {
    switch sender?.delivery {
    case .interleaved?: return "TCP"
    case .udp?: return "UDP"
    case nil: return "-"
    }
  }

  /// The session's phase for the log.
  var phaseName: String {
    switch session.phase {
    case .initial: return "no session set up"
    case .ready: return "set up, " + transportName
    case .playing: return "playing, " + transportName
    }
  }

  var isUdp: Bool {
    if case .udp? = sender?.delivery { return true }
    return false
  }

  /// Where a packet for this client goes (the RTCP channel for sender reports).
  func destination(rtcp: Bool) -> Destination? {
    switch sender?.delivery {
    case .interleaved?: return .rtspConnection(id)
    case .udp(let a, let b)?: return .rtspUdp(peer.withPort(UInt16(clamping: rtcp ? b : a)), rtcp ? .rtcp : .rtp)
    case nil: return nil
    }
  }

  /// Whether the client takes `frame`: playing, not over its backlog (else it skips to the
  /// next keyframe), and past its first keyframe.
  func beginFrame(_ frame: PacketizedFrame, maxBacklog: Int, now: UInt64) -> Bool {
    guard playing, let s = sender else { return false }
    if backlog > maxBacklog {
      if skippingSince == nil { skippingSince = now }
      s.skipToKeyframe()
      framesSkipped += 1
      return false
    }
    return s.beginFrame(frame)
  }
}

/// The SPS and PPS of the stream (DESCRIBE's sprop-parameter-sets), taken from keyframes.
struct ParameterSets {
  var sps: [UInt8] = []
  var pps: [UInt8] = []

  /// Keeps the keyframe's SPS and PPS when they differ from the ones held (copied only then).
  mutating func take(from accessUnit: UnsafeRawBufferPointer) {
    var it = AnnexBIterator(accessUnit)
    var seen = 0
    // the parameter sets come first; a bounded look (AUD, SEI, SPS, PPS, then the slices)
    while seen < 6, let nal = it.next() {
      seen += 1
      let type = accessUnit[nal.offset] & 0x1F
      let bytes = UnsafeRawBufferPointer(rebasing: accessUnit[nal.offset..<(nal.offset + nal.length)])
      if type == NalType.sps { ParameterSets.keep(bytes, in: &sps) }
      if type == NalType.pps { ParameterSets.keep(bytes, in: &pps) }
    }
  }

  static func keep(_ bytes: UnsafeRawBufferPointer, in stored: inout [UInt8]) {
    if stored.count == bytes.count {
      var i = 0
      while i < bytes.count && stored[i] == bytes[i] { i += 1 }
      if i == bytes.count { return }
    }
    stored = Array(bytes)
  }
}
