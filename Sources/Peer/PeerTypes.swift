// A viewer session's phases, close reasons, events, outputs, counters and configuration.
import BWE
import DTLS
import ICE
import RTP
import SDP
import SRTP
import Wire

/// Where a viewer's session stands (the name /status shows). The session's own state
/// (`Peer.State`) carries what each phase needs.
public enum PeerPhase: Equatable, Sendable {
  /// Waiting for the browser's first authenticated STUN check.
  case checking
  /// ICE works; the DTLS handshake is running.
  case handshaking
  /// SRTP keys are installed; media flows.
  case connected
  case closed

  public var name: String {
    switch self {
    case .checking: return "checking"
    case .handshaking: return "handshaking"
    case .connected: return "connected"
    case .closed: return "closed"
    }
  }
}

/// Why a session ended, with a stable code for logs and /status.
public enum PeerCloseReason: Equatable, Sendable {
  case hangUp
  case iceTimeout
  case consentExpired
  case dtlsFailed(DtlsError)
  case dtlsClosed
  case srtpFailed(SrtpError)
  case shutdown

  public var code: String {
    switch self {
    case .hangUp: return "HANG_UP"
    case .iceTimeout: return "ICE_TIMEOUT"
    case .consentExpired: return "CONSENT_EXPIRED"
    case .dtlsFailed(let e): return e.code
    case .dtlsClosed: return "DTLS_CLOSED"
    case .srtpFailed: return "SRTP_FAILED"
    case .shutdown: return "SHUTDOWN"
    }
  }

  public var message: String {
    switch self {
    case .hangUp: return "the viewer hung up"
    case .iceTimeout: return "no ICE connectivity check arrived from the browser"
    case .consentExpired: return "the browser stopped answering (ICE consent expired)"
    case .dtlsFailed(let e): return "DTLS handshake failed: " + e.detail
    case .dtlsClosed: return "the browser closed the DTLS session"
    case .srtpFailed(let e): return "SRTP setup failed: " + e.code
    case .shutdown: return "rtcam is shutting down"
    }
  }
}

/// Why a sink asks the encoder for a keyframe.
public enum KeyframeReason: Equatable, Sendable {
  case joined
  case pli
  case fir
  /// A packet of a frame could not be made (SRTP protection failed, or it did not fit): the
  /// receiver cannot decode what follows.
  case sendFailed
  /// --forward: started, its target came back, its interval elapsed, or a request deferred by
  /// the request gap.
  case forwardStarted
  case forwardRecovered
  case forwardInterval
  case deferred
  /// The viewer's link could not keep up: frames were dropped until its queue drained.
  case congestion

  public var text: String {
    switch self {
    case .joined: return "viewer joined"
    case .pli: return "PLI"
    case .fir: return "FIR"
    case .sendFailed: return "a packet could not be sent"
    case .forwardStarted: return "forward started"
    case .forwardRecovered: return "target back"
    case .forwardInterval: return "--forward-keyframe-interval"
    case .deferred: return "deferred request"
    case .congestion: return "the viewer's link fell behind"
    }
  }
}

public enum PeerEvent: Equatable, Sendable {
  case phaseChanged(PeerPhase)
  /// The viewer needs a keyframe (joined, PLI, FIR, or a frame failed on our side).
  case keyframeNeeded(KeyframeReason)
  case remoteAddressChanged(SocketAddress)
  /// The viewer's bandwidth estimate changed (bit/s): the core picks its layers and the
  /// encoder's target from it.
  case estimateChanged(bitrate: Int, at: UInt64)
  case closed(PeerCloseReason)
}

/// What a `Peer` asks of its caller (`pollOutput`).
public enum PeerOutput: Equatable {
  /// A datagram for `to`; the bytes are valid until the next call into the peer.
  case transmit(UnsafeRawBufferPointer, to: SocketAddress)
  case event(PeerEvent)
  /// Nothing more now; call `handleTimeout` at this time (nil: the session is closed).
  case timeout(UInt64?)

  public static func == (a: PeerOutput, b: PeerOutput) -> Bool {
    switch (a, b) {
    case (.transmit(let x, let t), .transmit(let y, let u)):
      return t == u && x.count == y.count && x.elementsEqual(y)
    case (.event(let x), .event(let y)): return x == y
    case (.timeout(let x), .timeout(let y)): return x == y
    default: return false
    }
  }
}

/// Counters are 64-bit on every platform: on 32-bit ARM `Int` would overflow (and trap) after
/// 2 GiB sent, which one viewer reaches in hours and the totals over all sessions sooner.
public struct PeerStats: Equatable, Sendable {
  /// Frames whose every packet went out (a frame with a failed packet is not counted).
  public var framesSent: UInt64 = 0
  public var packetsSent: UInt64 = 0
  public var bytesSent: UInt64 = 0
  public var retransmissions: UInt64 = 0
  public var nacks: UInt64 = 0
  public var plis: UInt64 = 0
  public var firs: UInt64 = 0
  public var rtcpReceived: UInt64 = 0
  /// Authenticated RTCP packets from the nominated address that refreshed liveness.
  public var rtcpLiveness: UInt64 = 0
  public var badDatagrams: UInt64 = 0
  /// Packets (media, retransmissions, sender reports) that SRTP could not protect or that did
  /// not fit the packet buffer: not sent.
  public var sendFailures: UInt64 = 0
  /// Fraction lost (0-255) and jitter (RTP units) from the last receiver report, as the viewer
  /// sent them (jitter is any 32-bit value the viewer chooses).
  public var fractionLost: UInt8 = 0
  public var jitter: UInt32 = 0
  /// Frames not sent to this viewer: above its temporal-layer limit, or dropped because its
  /// pacer's queue was full (and the frames that depended on them).
  public var framesLayerDropped: UInt64 = 0
  public var framesCongestionDropped: UInt64 = 0
  /// Times the pacer's queue was emptied because the estimate fell below what it held.
  public var queueFlushes: UInt64 = 0
  /// Transport-wide congestion control feedback reports received.
  public var transportFeedbacks: UInt64 = 0
  public init() {}
}

/// What one viewer's session needs to know.
public struct PeerConfig: Sendable {
  public var video: NegotiatedVideo
  public var localIce: IceCredentials
  public var ssrc: UInt32
  public var cname: String
  public var initialSequence: UInt16
  public var timestampOffset: UInt32
  public var mtu: Int
  /// Without any authenticated STUN check for this long after creation, the session ends.
  public var iceTimeoutNs: UInt64
  public var senderReportIntervalNs: UInt64
  /// Congestion control for viewers that give feedback (transport-cc or REMB); nil: none, every
  /// frame is sent as it comes.
  public var congestion: BandwidthEstimatorConfig?
  /// The stream's temporal layers (1...4): a viewer starts with all of them.
  public var temporalLayers: UInt8

  public init(video: NegotiatedVideo, localIce: IceCredentials, ssrc: UInt32, cname: String,
              initialSequence: UInt16, timestampOffset: UInt32, mtu: Int = 1200,
              iceTimeoutNs: UInt64 = 30_000_000_000, senderReportIntervalNs: UInt64 = 1_000_000_000,
              congestion: BandwidthEstimatorConfig? = nil, temporalLayers: UInt8 = 1) {
    self.video = video
    self.localIce = localIce
    self.ssrc = ssrc
    self.cname = cname
    self.initialSequence = initialSequence
    self.timestampOffset = timestampOffset
    self.mtu = mtu
    self.iceTimeoutNs = iceTimeoutNs
    self.senderReportIntervalNs = senderReportIntervalNs
    self.congestion = congestion
    self.temporalLayers = max(temporalLayers, 1)
  }
}

/// Kinds of datagram on the shared UDP port (RFC 7983).
public enum DatagramKind: Equatable, Sendable {
  case stun, dtls, rtp, rtcp, unknown

  public static func classify(_ d: UnsafeRawBufferPointer) -> DatagramKind {
    guard !d.isEmpty else { return .unknown }
    let b = d[0]  // (not d.first: unspecialised, as in debug builds, that allocates)
    switch b {
    case 0...3: return .stun
    case 20...63: return .dtls
    case 128...191: return isRtcp(d) ? .rtcp : .rtp
    default: return .unknown
    }
  }
}
