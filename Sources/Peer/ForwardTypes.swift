// --forward: where the stream goes (an RTP ingest such as a Janus Streaming mountpoint), the
// forward's configuration, counters, link states and events. The core is Forwarder.swift.
import Wire

/// Why a --forward URL or key was refused (the command line prints the message, exit 2).
public struct ForwardError: Error, Equatable, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
}

/// One RTP ingest: `rtp://HOST:PORT` (plain) or `srtp://HOST:PORT` (SRTP with the forward key),
/// optionally `?rtcp=PORT` (default PORT+1) for the RTCP port that takes sender reports and
/// sends feedback. HOST is a numeric IPv4 address or a bracketed IPv6 one (`[fd00::1]`): rtcam
/// resolves no names.
public struct ForwardTarget: Equatable, Sendable {
  public var url: String
  public var secure: Bool
  /// The address text as inet_pton takes it (no brackets).
  public var host: String
  public var port: UInt16
  public var rtcpPort: UInt16

  public init(url: String, secure: Bool, host: String, port: UInt16, rtcpPort: UInt16) {
    self.url = url
    self.secure = secure
    self.host = host
    self.port = port
    self.rtcpPort = rtcpPort
  }

  /// Longest URL accepted: an IPv6 literal, two ports and the scheme fit in far less.
  public static let maxURLLength = 128

  /// Parses the URL's form; whether HOST is a valid numeric address is the caller's check.
  public static func parse(_ url: String) throws(ForwardError) -> ForwardTarget {
    let usage = "--forward must be rtp://HOST:PORT or srtp://HOST:PORT (optionally ?rtcp=PORT), with a numeric IPv4 address or a bracketed IPv6 address as HOST, not '\(url)'"
    let u = Array(url.utf8)
    guard u.count <= maxURLLength else { throw ForwardError(usage) }
    let secure: Bool
    let i: Int
    if url.hasPrefix("rtp://") {
      secure = false
      i = 6
    } else if url.hasPrefix("srtp://") {
      secure = true
      i = 7
    } else {
      throw ForwardError(usage)
    }
    var end = u.count
    var query: ArraySlice<UInt8>? = nil
    if let q = u[i...].firstIndex(of: UInt8(ascii: "?")) {
      query = u[(q + 1)...]
      end = q
    }
    let host: ArraySlice<UInt8>
    let portText: ArraySlice<UInt8>
    if i < end, u[i] == UInt8(ascii: "[") {
      guard let close = u[i..<end].firstIndex(of: UInt8(ascii: "]")), close + 1 < end,
        u[close + 1] == UInt8(ascii: ":")
      else { throw ForwardError(usage) }
      host = u[(i + 1)..<close]
      portText = u[(close + 2)..<end]
    } else {
      guard let colon = u[i..<end].lastIndex(of: UInt8(ascii: ":")) else { throw ForwardError(usage) }
      host = u[i..<colon]
      portText = u[(colon + 1)..<end]
      guard !host.contains(UInt8(ascii: ":")) else { throw ForwardError(usage) }
    }
    guard !host.isEmpty, let port = parsePort(portText), port < 65535 else { throw ForwardError(usage) }
    var rtcp = port + 1
    if let query {
      let prefix = Array("rtcp=".utf8)
      guard query.starts(with: prefix), let p = parsePort(query.dropFirst(prefix.count)), p != port else {
        throw ForwardError("--forward \(url): the only parameter is ?rtcp=PORT (1-65535, not the RTP port)")
      }
      rtcp = p
    }
    return ForwardTarget(url: url, secure: secure, host: String(decoding: host, as: UTF8.self), port: port, rtcpPort: rtcp)
  }

  static func parsePort(_ s: ArraySlice<UInt8>) -> UInt16? {
    guard !s.isEmpty, s.count <= 5 else { return nil }
    var v = 0
    for c in s {
      guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
      v = v * 10 + Int(c - UInt8(ascii: "0"))
    }
    return v >= 1 && v <= 65535 ? UInt16(v) : nil
  }
}

/// The SRTP master key and salt of `srtp://` forwards: AES_CM_128_HMAC_SHA1_80, given in base64
/// as Janus's `srtpcrypto` takes it (30 bytes: 16 key + 14 salt).
public struct ForwardKey: Equatable, Sendable {
  public var key: [UInt8]
  public var salt: [UInt8]
  public static let byteCount = 30

  public init(base64 text: String) throws(ForwardError) {
    guard let b = Base64.decode(text), b.count == ForwardKey.byteCount else {
      throw ForwardError("--forward-key must be the base64 of 30 bytes (16-byte key + 14-byte salt for AES_CM_128_HMAC_SHA1_80, as Janus's srtpcrypto), e.g. from `head -c 30 /dev/urandom | base64`")
    }
    key = Array(b[0..<16])
    salt = Array(b[16..<30])
  }
}

/// What one forward sends and how its timers run.
public struct ForwardConfig: Sendable {
  public var ssrc: UInt32
  public var initialSequence: UInt16
  public var timestampOffset: UInt32
  /// H.264 payload type (the mountpoint's `pt`/`videopt` must be the same).
  public var payloadType: UInt8 = 96
  public var mtu = 1200
  public var cname = "rtcam"
  /// nil: plain RTP.
  public var srtp: ForwardKey? = nil
  /// Sender reports to the RTCP port: Janus sends feedback to whoever sent the last RTCP packet.
  public var senderReportIntervalNs: UInt64 = 1_000_000_000
  /// A keyframe at least this often (0 = only on request): for targets that send no feedback.
  public var keyframeIntervalNs: UInt64 = 0
  /// PLI/FIR closer together than this are answered with one keyframe (Janus sends at most one
  /// a second; a target sending more must not make the encoder emit nothing but IDRs).
  public var keyframeRequestGapNs: UInt64 = 500_000_000
  /// After an "unreachable" error, this long without another one means the target is back.
  /// ICMP errors come about once a second per destination (the kernel's rate limit), so this
  /// must be longer than that.
  public var recoveryQuietNs: UInt64 = 3_000_000_000
  /// Send errors are logged at most this often (with the number since the last line).
  public var errorLogIntervalNs: UInt64 = 10_000_000_000
  /// The stream's temporal layers (1...4): a REMB from the target limits the layers it is sent.
  public var temporalLayers: UInt8 = 1
  /// A REMB older than this no longer limits anything (the target stopped estimating).
  public var rembLifetimeNs: UInt64 = 5_000_000_000

  public init(ssrc: UInt32, initialSequence: UInt16, timestampOffset: UInt32) {
    self.ssrc = ssrc
    self.initialSequence = initialSequence
    self.timestampOffset = timestampOffset
  }
}

/// What a `Forwarder` asks of its caller (`pollOutput`).
public enum ForwardOutput {
  /// A datagram for one of the forward's sockets; the bytes are valid until the next call into
  /// the forwarder. The caller reports what became of it (`handleSendResult`).
  case transmit(UnsafeRawBufferPointer, ForwardChannel)
  case event(ForwardEvent)
  /// Nothing more now; call `handleTimeout` at this time (nil: no timer runs).
  case timeout(UInt64?)
}

/// Which of the forward's two sockets a datagram goes out on.
public enum ForwardChannel: Equatable, Sendable {
  case rtp, rtcp
}

/// What became of one send (the runtime maps errno to this).
public enum ForwardSendResult: Equatable, Sendable {
  case sent
  /// The socket buffer is full: the packet is dropped, never waited for.
  case wouldBlock
  /// The target said nobody listens (ECONNREFUSED, host or network unreachable): the errno.
  case unreachable(Int32)
  case failed(Int32)
}

/// Where the link to the target stands.
public enum ForwardLinkState: Equatable, Sendable {
  /// Sending; no error yet, or the last unreachable spell ended.
  case sending
  /// The target refused packets; `lastErrorAt` is the latest refusal.
  case unreachable(since: UInt64, lastErrorAt: UInt64)

  public var name: String {
    switch self {
    case .sending: return "sending"
    case .unreachable: return "unreachable"
    }
  }
}

/// The forward's counters (64-bit on every platform, like PeerStats).
public struct ForwardStats: Equatable, Sendable {
  public var framesSent: UInt64 = 0
  public var packetsSent: UInt64 = 0
  public var bytesSent: UInt64 = 0
  public var senderReports: UInt64 = 0
  public var rtcpReceived: UInt64 = 0
  public var badRtcp: UInt64 = 0
  public var plis: UInt64 = 0
  public var firs: UInt64 = 0
  /// Keyframes asked of the encoder: feedback, the interval, start and recovery.
  public var keyframeRequests: UInt64 = 0
  /// Sends that failed (any reason), and the part of them that was unreachable or would block.
  public var sendErrors: UInt64 = 0
  public var unreachableErrors: UInt64 = 0
  public var wouldBlock: UInt64 = 0
  /// Times the target came back after being unreachable (an SRTP forward's state restarts then
  /// if the port had been closed).
  public var recoveries: UInt64 = 0
  /// REMB messages from the target, and frames not sent because of the layer limit they set.
  public var rembs: UInt64 = 0
  public var framesLayerDropped: UInt64 = 0
  public init() {}
}

/// What the forward tells the runtime (rare: never per packet).
public enum ForwardEvent: Equatable, Sendable {
  case keyframeNeeded(KeyframeReason)
  /// The first unreachable error of a spell.
  case unreachable(errno: Int32)
  /// The target is back; `restartedSrtp`: its port had been closed, so the SRTP state started
  /// over (rollover counter 0, as a restarted receiver's new context assumes).
  case recovered(downForNs: UInt64, restartedSrtp: Bool)
  /// Send errors since the last such event (bounded rate), with the last errno.
  case sendErrors(count: UInt64, lastErrno: Int32)
  case srtpFailed(String)
  /// The target's REMB (bit/s): the core picks its layers and the encoder's target from it.
  case estimateChanged(bitrate: Int, at: UInt64)
}
