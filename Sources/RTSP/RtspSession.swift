// One RTSP client's session (RFC 2326 sections 10 and A.1), sans-IO: each request in, the
// response and what the server is to do out. One connection, one session, one stream
// (rtsp://HOST:PORT/stream, its one track "trackID=0").
import Wire

/// What the server is to do after a request.
public enum RtspAction: Equatable, Sendable {
  case respond(RtspResponse)
  /// Start sending the stream over this transport, from its next keyframe.
  case play(RtspTransport)
  /// Stop sending (PAUSE); a later PLAY starts again at a keyframe.
  case pause
  /// Close the connection once the response is written (TEARDOWN, or a fatal error).
  case close
}

/// The fixed parts of every session.
public struct RtspSessionConfig: Equatable, Sendable {
  /// The stream's path.
  public var path = "/stream"
  /// Seconds without a request or RTCP report before a UDP session is dropped (sent in `Session`).
  public var timeoutSeconds = 60
  /// The server's UDP ports for RTP and RTCP (in SETUP's answer to UDP clients).
  public var serverPorts = (rtp: 6970, rtcp: 6971)

  public init() {}

  public static func == (a: RtspSessionConfig, b: RtspSessionConfig) -> Bool {
    a.path == b.path && a.timeoutSeconds == b.timeoutSeconds && a.serverPorts == b.serverPorts
  }
}

/// What the session needs to know about the stream when it answers.
public struct RtspStreamState: Equatable, Sendable {
  /// The SDP for DESCRIBE (`rtspDescribeSdp`).
  public var sdp: [UInt8]
  /// The next RTP sequence number and timestamp the client will see (PLAY's RTP-Info).
  public var nextSequence: UInt16
  public var nextTimestamp: UInt32
  public var ssrc: UInt32

  public init(sdp: [UInt8], nextSequence: UInt16, nextTimestamp: UInt32, ssrc: UInt32) {
    self.sdp = sdp
    self.nextSequence = nextSequence
    self.nextTimestamp = nextTimestamp
    self.ssrc = ssrc
  }
}

public struct RtspSession: Sendable {
  public enum Phase: Equatable, Sendable {
    case initial
    case ready(RtspTransport)
    case playing(RtspTransport)
  }

  public let id: String
  public let config: RtspSessionConfig
  public private(set) var phase = Phase.initial
  public private(set) var lastHeard: UInt64

  public init(id: String, config: RtspSessionConfig = RtspSessionConfig(), now: UInt64) {
    self.id = id
    self.config = config
    lastHeard = now
  }

  /// A request from the client. `authorized`: whether its credentials pass (OPTIONS needs none).
  public mutating func handle(_ r: RtspRequest, authorized: Bool, stream: RtspStreamState, now: UInt64) -> [RtspAction] {
    lastHeard = now
    func reply(_ status: Int, _ headers: [RtspHeader] = [], _ body: [UInt8] = []) -> RtspAction {
      .respond(RtspResponse(status: status, cseq: r.cseq, headers: headers, body: body))
    }
    if r.method == .options { return [reply(200, [RtspHeader("Public", RtspMethod.supported)])] }
    if case .other = r.method { return [reply(501, [RtspHeader("Public", RtspMethod.supported)])] }
    guard authorized else { return [reply(401, [RtspHeader("WWW-Authenticate", "Basic realm=\"rtcam\"")])] }
    if r.method != .describe, r.method != .setup, let sent = r.header("session") {
      // "ID" or "ID;timeout=N": only the ID counts
      guard sent.splitASCII(UInt8(ascii: ";"))[0] == id else { return [reply(454)] }
    }
    let session = RtspHeader("Session", id + ";timeout=" + String(config.timeoutSeconds))
    switch r.method {
    case .describe:
      guard onPath(r) else { return [reply(404)] }
      return [reply(200, [RtspHeader("Content-Type", "application/sdp"), RtspHeader("Content-Base", base(r))], stream.sdp)]
    case .setup:
      guard onPath(r) else { return [reply(404)] }
      if let sent = r.header("session"), sent.splitASCII(UInt8(ascii: ";"))[0] != id { return [reply(454)] }
      if case .playing = phase { return [reply(455)] }
      guard let t = r.header("transport").flatMap({ RtspTransport.choose($0) }) else { return [reply(461)] }
      phase = .ready(t)
      return [reply(200, [RtspHeader("Transport", t.answer(serverPorts: config.serverPorts, ssrc: stream.ssrc)), session])]
    case .play:
      guard r.header("session") != nil else { return [reply(454)] }
      switch phase {
      case .initial: return [reply(455)]
      case .ready(let t), .playing(let t):
        phase = .playing(t)
        let info = "url=" + trackUri(r) + ";seq=" + String(stream.nextSequence) + ";rtptime=" + String(stream.nextTimestamp)
        return [reply(200, [RtspHeader("Range", "npt=0.000-"), RtspHeader("RTP-Info", info), session]), .play(t)]
      }
    case .pause:
      guard r.header("session") != nil else { return [reply(454)] }
      switch phase {
      case .initial: return [reply(455)]
      case .ready, .playing(_):
        if case .playing(let t) = phase { phase = .ready(t) }
        return [reply(200, [session]), .pause]
      }
    case .teardown:
      phase = .initial
      return [reply(200), .close]
    case .getParameter, .setParameter:
      return [reply(200, [session])]
    case .options, .other:
      return [reply(501)]
    }
  }

  /// An RTCP report or keep-alive from the client.
  public mutating func heard(now: UInt64) { lastHeard = now }

  /// Whether the client has been silent longer than the session timeout.
  public func expired(now: UInt64) -> Bool {
    now &- lastHeard > UInt64(config.timeoutSeconds) * 1_000_000_000
  }

  func onPath(_ r: RtspRequest) -> Bool {
    let p = r.path
    return p == config.path || p == config.path + "/" || p.hasPrefix(config.path + "/")
  }

  /// The stream's URL with a trailing slash (Content-Base): relative controls resolve against it.
  func base(_ r: RtspRequest) -> String {
    let u = r.uri
    if let i = u.utf8.lastIndex(of: UInt8(ascii: "/")), u[u.index(after: i)...].hasPrefix("trackID") {
      return String(u[...i])
    }
    return u.hasSuffix("/") ? u : u + "/"
  }

  /// The track's URL for RTP-Info.
  func trackUri(_ r: RtspRequest) -> String { base(r) + rtspTrackControl }
}

/// The one track's control attribute.
public let rtspTrackControl = "trackID=0"

/// The SDP of DESCRIBE: H.264/90000 with packetization-mode 1, the signalled profile-level-id and
/// the stream's SPS and PPS when known (without them, clients take them from the stream: every
/// IDR carries them).
public func rtspDescribeSdp(sessionId: String, sps: [UInt8]?, pps: [UInt8]?, payloadType: Int = 96) -> [UInt8] {
  var fmtp = "a=fmtp:" + String(payloadType) + " packetization-mode=1;profile-level-id=" + H264ProfileLevel.sent.hex
  if let s = sps, let p = pps, !s.isEmpty, !p.isEmpty {
    fmtp += ";sprop-parameter-sets=" + Base64.encode(s) + "," + Base64.encode(p)
  }
  let lines = [
    "v=0", "o=- " + sessionId + " 1 IN IP4 0.0.0.0", "s=rtcam", "c=IN IP4 0.0.0.0", "t=0 0", "a=control:*",
    "a=range:npt=0-", "m=video 0 RTP/AVP " + String(payloadType), "a=rtpmap:" + String(payloadType) + " H264/90000",
    fmtp, "a=control:" + rtspTrackControl,
  ]
  return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
}
