import Wire

/// rtcam's side of the session, chosen by the caller (randomness and addresses stay outside).
public struct AnswerParameters: Sendable {
  /// Goes into the o= line.
  public var sessionID: UInt64
  /// Our ICE credentials: ufrag >= 4 and pwd >= 22 ice-chars (A-Z a-z 0-9 + /).
  public var iceUfrag: String
  public var icePassword: String
  /// Our certificate's SHA-256 digest, already formatted "AB:CD:..." (see `Hex.fingerprint`).
  public var fingerprintSHA256: String
  /// Host candidates: each interface address with our single UDP port. IPv4 (4 bytes) and
  /// IPv6 (16 bytes); addresses of any other length are skipped.
  public var candidates: [SocketAddress]
  /// SSRC of the one video stream we send.
  public var ssrc: UInt32
  /// RTCP CNAME. Tokens below (cname, streamID, trackID) must not contain spaces or line breaks.
  public var cname: String
  /// For a=msid / a=ssrc msid.
  public var streamID: String
  public var trackID: String

  public init(sessionID: UInt64, iceUfrag: String, icePassword: String, fingerprintSHA256: String,
              candidates: [SocketAddress], ssrc: UInt32, cname: String, streamID: String,
              trackID: String) {
    self.sessionID = sessionID
    self.iceUfrag = iceUfrag
    self.icePassword = icePassword
    self.fingerprintSHA256 = fingerprintSHA256
    self.candidates = candidates
    self.ssrc = ssrc
    self.cname = cname
    self.streamID = streamID
    self.trackID = trackID
  }
}

/// What the rest of rtcam needs to know about the accepted video section.
public struct NegotiatedVideo: Equatable, Sendable {
  /// The accepted m-section's mid ("" if the offer had none).
  public var mid: String
  /// The offer's payload type for the chosen H.264 format; use it in RTP.
  public var payloadType: UInt8
  /// The browser's ICE credentials (STUN requests carry USERNAME "ourUfrag:remoteIceUfrag").
  public var remoteIceUfrag: String
  public var remoteIcePassword: String
  /// SHA-256 digest (32 bytes) of the browser's DTLS certificate, from the offer.
  public var remoteFingerprint: [UInt8]
  /// Id (1...14, one-byte header form) of the playout-delay header extension if offered and
  /// answered; nil otherwise.
  public var playoutDelayExtensionID: UInt8?
  /// rtcp-fb offered (and answered) for the chosen codec: "nack pli", "ccm fir", "nack".
  public var pli: Bool
  public var fir: Bool
  public var nack: Bool
  /// The browser offered reduced-size RTCP (a=rtcp-rsize) and the answer accepts it.
  public var rtcpReducedSize: Bool
  /// The profile-level-id the browser offered for the chosen payload type (lower-case hex).
  public var offeredProfileLevelID: String

  public init(mid: String, payloadType: UInt8, remoteIceUfrag: String, remoteIcePassword: String,
              remoteFingerprint: [UInt8], playoutDelayExtensionID: UInt8? = nil, pli: Bool = false,
              fir: Bool = false, nack: Bool = false, rtcpReducedSize: Bool = false,
              offeredProfileLevelID: String = "42e01f") {
    self.mid = mid
    self.payloadType = payloadType
    self.remoteIceUfrag = remoteIceUfrag
    self.remoteIcePassword = remoteIcePassword
    self.remoteFingerprint = remoteFingerprint
    self.playoutDelayExtensionID = playoutDelayExtensionID
    self.pli = pli
    self.fir = fir
    self.nack = nack
    self.rtcpReducedSize = rtcpReducedSize
    self.offeredProfileLevelID = offeredProfileLevelID
  }
}

/// The answer text (CRLF line endings) and the negotiated parameters.
public struct SdpAnswer: Sendable {
  public var sdp: String
  public var video: NegotiatedVideo

  public init(sdp: String, video: NegotiatedVideo) {
    self.sdp = sdp
    self.video = video
  }
}

/// URI of the playout-delay RTP header extension.
public let playoutDelayExtensionURI = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"

/// The fmtp rtcam always answers for H.264: the profile-level-id of what it sends (the encoder
/// writes the same three bytes into every SPS).
public var answeredH264Fmtp: String {
  "profile-level-id=" + H264ProfileLevel.sent.hex + ";packetization-mode=1;level-asymmetry-allowed=1"
}

/// Picks the video m-section and H.264 codec and builds the answer text.
///
/// Video section: the first m=video with a non-zero port, proto UDP/TLS/RTP/SAVPF (or
/// RTP/SAVPF), and direction recvonly or sendrecv (absent = sendrecv); otherwise `.noVideo`.
/// Then, in this order: H.264 (see `h264Preference`, else `.noH264`), ICE credentials,
/// a sha-256 fingerprint, a=setup actpass/passive, a=rtcp-mux. Every other m-section is
/// answered rejected (port 0, a=inactive) and left out of the BUNDLE group.
public func makeAnswer(offer: SdpOffer, _ p: AnswerParameters) throws(SdpError) -> SdpAnswer {
  var chosen: Int? = nil
  for (i, m) in offer.media.enumerated() where m.kind.asciiLowercased == "video" {
    guard m.port != 0, isSupportedVideoProto(m.proto) else { continue }
    let dir = m.direction ?? "sendrecv"
    guard dir == "recvonly" || dir == "sendrecv" else { continue }
    chosen = i
    break
  }
  guard let vi = chosen else { throw .noVideo }
  let v = offer.media[vi]

  // Codec.
  var best: SdpCodec? = nil
  var bestRank = Int.max
  for c in v.codecs {
    if let r = h264Preference(c), r < bestRank {
      best = c
      bestRank = r
    }
  }
  guard let codec = best, codec.payloadType >= 0, codec.payloadType <= 127 else { throw .noH264 }

  // Transport.
  guard let ufrag = v.iceUfrag, let pwd = v.icePassword,
        isIceToken(ufrag, min: 4), isIceToken(pwd, min: 22) else {
    throw .missingIceCredentials
  }
  guard v.fingerprintAlgorithm == "sha-256", let fp = v.fingerprint, fp.count == 32 else {
    throw .missingFingerprint
  }
  switch v.setup {
  case "actpass"?, "passive"?: break
  case nil: throw .unsupportedSetup("")
  case let s?: throw .unsupportedSetup(sanitizedToken(s))
  }
  guard v.rtcpMux else { throw .noRtcpMux }

  // Feedback and extensions we answer.
  var nack = false, pli = false, fir = false
  for f in codec.rtcpFeedback {
    switch f.asciiLowercased {
    case "nack": nack = true
    case "nack pli": pli = true
    case "ccm fir": fir = true
    default: break
    }
  }
  var playout: SdpExtmap? = nil
  for e in v.extmaps where e.uri == playoutDelayExtensionURI && e.id >= 1 && e.id <= 14 {
    let d = e.direction ?? "sendrecv"
    if d == "sendrecv" || d == "recvonly" {
      playout = e
      break
    }
  }

  let mid = v.mid ?? ""
  let bundled = v.mid != nil && offer.bundle.contains(mid)
  let pt = String(codec.payloadType)

  var w = LineWriter()
  w.add("v=0")
  w.add("o=- " + String(p.sessionID) + " 2 IN IP4 127.0.0.1")
  w.add("s=-")
  w.add("t=0 0")
  w.add("a=ice-lite")
  if bundled { w.add("a=group:BUNDLE " + mid) }
  w.add("a=msid-semantic: WMS " + p.streamID)

  for (i, m) in offer.media.enumerated() {
    if i != vi {
      // Rejected: same kind and proto, port 0, first format echoed.
      let fmt = m.formats.first ?? "0"
      w.add("m=" + m.kind + " 0 " + m.proto + " " + fmt)
      w.add("c=IN IP4 0.0.0.0")
      if let omid = m.mid { w.add("a=mid:" + omid) }
      w.add("a=inactive")
      continue
    }
    w.add("m=video 9 " + v.proto + " " + pt)
    w.add("c=IN IP4 0.0.0.0")
    if v.mid != nil { w.add("a=mid:" + mid) }
    w.add("a=ice-ufrag:" + p.iceUfrag)
    w.add("a=ice-pwd:" + p.icePassword)
    w.add("a=fingerprint:sha-256 " + p.fingerprintSHA256)
    w.add("a=setup:active")
    w.add("a=sendonly")
    w.add("a=rtcp-mux")
    if v.rtcpReducedSize { w.add("a=rtcp-rsize") }
    if let e = playout {
      let dir = e.direction == "recvonly" ? "/sendonly" : ""
      w.add("a=extmap:" + String(e.id) + dir + " " + playoutDelayExtensionURI)
    }
    w.add("a=rtpmap:" + pt + " H264/90000")
    if nack { w.add("a=rtcp-fb:" + pt + " nack") }
    if pli { w.add("a=rtcp-fb:" + pt + " nack pli") }
    if fir { w.add("a=rtcp-fb:" + pt + " ccm fir") }
    w.add("a=fmtp:" + pt + " " + answeredH264Fmtp)
    w.add("a=msid:" + p.streamID + " " + p.trackID)
    let ssrc = String(p.ssrc)
    w.add("a=ssrc:" + ssrc + " cname:" + p.cname)
    w.add("a=ssrc:" + ssrc + " msid:" + p.streamID + " " + p.trackID)
    var index = 0
    for c in p.candidates where c.ip.count == 4 || c.ip.count == 16 {
      w.add(candidateLine(index: index, address: c))
      index += 1
    }
    w.add("a=end-of-candidates")
  }

  let plid = (codec.fmtp["profile-level-id"] ?? "420010").asciiLowercased
  let video = NegotiatedVideo(
    mid: mid, payloadType: UInt8(codec.payloadType), remoteIceUfrag: ufrag, remoteIcePassword: pwd,
    remoteFingerprint: fp, playoutDelayExtensionID: playout.map { UInt8($0.id) }, pli: pli, fir: fir,
    nack: nack, rtcpReducedSize: v.rtcpReducedSize, offeredProfileLevelID: plid)
  return SdpAnswer(sdp: w.text, video: video)
}

/// How well an offered codec suits rtcam's constrained-baseline H.264 stream; lower is better,
/// nil means unusable. Requires H264/90000 with packetization-mode=1. By profile-level-id
/// (absent = 420010, RFC 6184's default):
///   0 — exactly what is sent (`H264ProfileLevel.sent`, 42e01f);
///   1 — other constrained baseline: 42 with constraint_set1 (42e0xx, 42c0xx, 4240xx),
///       4d with constraint_set0, or 58 with set0 and set1 (those also mean constrained baseline);
///   2 — baseline (42 without set1): a baseline decoder decodes constrained baseline;
///   3 — main (4d): constrained baseline is a subset of main;
///   4 — high (64): likewise a subset of high.
/// Anything else (high 10/4:2:2/4:4:4, extended without both flags, junk) is unusable.
/// The answer still signals `H264ProfileLevel.sent` for the chosen payload type, since that is
/// what is sent.
public func h264Preference(_ c: SdpCodec) -> Int? {
  guard c.name.asciiLowercased == "h264", c.clockRate == 90000 else { return nil }
  guard (c.fmtp["packetization-mode"] ?? "0") == "1" else { return nil }
  let plid = c.fmtp["profile-level-id"] ?? "420010"
  guard plid.utf8.count == 6, let b = Hex.decode(plid), b.count == 3 else { return nil }
  let profile = b[0], flags = b[1]
  switch profile {
  case 0x42:
    if b == H264ProfileLevel.sent.bytes { return 0 }
    return flags & 0x40 != 0 ? 1 : 2
  case 0x4d:
    return flags & 0x80 != 0 ? 1 : 3
  case 0x58:
    return flags & 0xc0 == 0xc0 ? 1 : nil
  case 0x64:
    return 4
  default:
    return nil
  }
}

func isSupportedVideoProto(_ proto: String) -> Bool {
  let p = proto.asciiLowercased
  return p == "udp/tls/rtp/savpf" || p == "rtp/savpf"
}

/// ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839), length min...256.
func isIceToken(_ s: String, min: Int) -> Bool {
  let n = s.utf8.count
  guard n >= min, n <= 256 else { return false }
  for c in s.utf8 {
    let ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
      || c == UInt8(ascii: "+") || c == UInt8(ascii: "/")
    if !ok { return false }
  }
  return true
}

/// Keeps a peer-supplied token short and printable for error messages.
func sanitizedToken(_ s: String) -> String {
  var out: [UInt8] = []
  for c in s.utf8 {
    if out.count >= 24 { break }
    let ok = (c >= 48 && c <= 57) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == UInt8(ascii: "-")
    out.append(ok ? c : UInt8(ascii: "?"))
  }
  return String(decoding: out, as: UTF8.self)
}

/// `a=candidate:<foundation> 1 udp <priority> <ip> <port> typ host` with a distinct foundation
/// and priority per address (RFC 8445 5.1.2: type preference 126 for host, local preference
/// falling with the index, component 1).
func candidateLine(index: Int, address: SocketAddress) -> String {
  let localPreference = 65535 - (index & 0xffff)
  let priority = (126 << 24) + (localPreference << 8) + 255
  return "a=candidate:" + String(index + 1) + " 1 udp " + String(priority) + " " + address.ipString
    + " " + String(address.port) + " typ host"
}

struct LineWriter: Sendable {
  var text = ""
  mutating func add(_ line: String) {
    text += line
    text += "\r\n"
  }
}
