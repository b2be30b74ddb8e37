// The SDP answer (RFC 3264 offer/answer, RFC 8829 JSEP) rtcam gives: what it is made from and
// what it settles. Choosing what to accept is SdpNegotiation.swift, writing it SdpAnswerWriter.swift.
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
  /// Id (1...14, one-byte header form) of the transport-wide sequence number header extension
  /// (`transportSequenceExtensionURI`), set only when the offer had both that extmap (in a
  /// direction we can send) and `a=rtcp-fb:<pt> transport-cc` for the chosen codec, and the
  /// answer echoes both: a browser sends transport-wide feedback (RTPFB FMT 15) only then.
  public var transportSequenceExtensionID: UInt8?
  /// `a=rtcp-fb:<pt> goog-remb` was offered for the chosen codec and is answered: the browser may
  /// send REMB (PSFB FMT 15).
  public var remb: Bool

  public init(mid: String, payloadType: UInt8, remoteIceUfrag: String, remoteIcePassword: String,
              remoteFingerprint: [UInt8], playoutDelayExtensionID: UInt8? = nil, pli: Bool = false,
              fir: Bool = false, nack: Bool = false, rtcpReducedSize: Bool = false,
              offeredProfileLevelID: String = "42e01f", transportSequenceExtensionID: UInt8? = nil,
              remb: Bool = false) {
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
    self.transportSequenceExtensionID = transportSequenceExtensionID
    self.remb = remb
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

/// URI of the transport-wide sequence number RTP header extension
/// (draft-holmer-rmcat-transport-wide-cc-extensions-01 section 2), as browsers offer it.
public let transportSequenceExtensionURI =
  "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

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
  let a = try acceptVideo(offer)
  let plid = (a.codec.fmtp["profile-level-id"] ?? "420010").asciiLowercased
  let video = NegotiatedVideo(
    mid: a.mid, payloadType: UInt8(a.codec.payloadType), remoteIceUfrag: a.ufrag,
    remoteIcePassword: a.pwd, remoteFingerprint: a.fingerprint,
    playoutDelayExtensionID: a.playout.map { UInt8($0.id) }, pli: a.pli, fir: a.fir, nack: a.nack,
    rtcpReducedSize: a.section.rtcpReducedSize, offeredProfileLevelID: plid,
    transportSequenceExtensionID: a.transportSequence.map { UInt8($0.id) }, remb: a.remb)
  return SdpAnswer(sdp: answerText(offer, a, p), video: video)
}
