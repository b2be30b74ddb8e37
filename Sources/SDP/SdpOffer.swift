// The offer as rtcam reads it (RFC 8866 syntax; RFC 8829 JSEP's use of it): m-sections with
// their codecs, header extensions and transport attributes. The parser is SdpOfferParser.swift.
import Wire

/// One payload type of an m-section, with its a=rtpmap, a=fmtp and a=rtcp-fb lines joined.
public struct SdpCodec: Equatable, Sendable {
  /// 0...127.
  public var payloadType: Int
  /// Encoding name as written ("H264", "VP8"); "" if there was no rtpmap and the type is not static.
  public var name: String
  /// Clock rate from the rtpmap (90000 for video); 0 if unknown.
  public var clockRate: Int
  /// a=fmtp parameters; keys lower-cased, values trimmed. A parameter without '=' maps to "".
  public var fmtp: [String: String]
  /// a=rtcp-fb values for this type (and for "*"), single-spaced: "nack", "nack pli", "ccm fir".
  public var rtcpFeedback: [String]

  public init(payloadType: Int, name: String, clockRate: Int, fmtp: [String: String] = [:],
              rtcpFeedback: [String] = []) {
    self.payloadType = payloadType
    self.name = name
    self.clockRate = clockRate
    self.fmtp = fmtp
    self.rtcpFeedback = rtcpFeedback
  }
}

/// One a=extmap line (RFC 8285): `a=extmap:<id>[/<direction>] <uri> ...`.
public struct SdpExtmap: Equatable, Sendable {
  /// 1...255 (1...14 fit the one-byte header form).
  public var id: Int
  /// "sendonly", "recvonly", "sendrecv", "inactive" as written by the offerer, or nil.
  public var direction: String?
  public var uri: String

  public init(id: Int, direction: String? = nil, uri: String) {
    self.id = id
    self.direction = direction
    self.uri = uri
  }
}

/// One m-section of an offer. Transport fields (ICE, fingerprint, setup, direction, rtcp-mux)
/// hold the effective value: the media-level attribute if present, else the session-level one.
public struct SdpMedia: Equatable, Sendable {
  /// "video", "audio", "application", ... as written.
  public var kind: String
  /// 0 means the offerer disabled the section.
  public var port: Int
  /// e.g. "UDP/TLS/RTP/SAVPF".
  public var proto: String
  /// The m-line's format tokens in order (payload type numbers, or e.g. "webrtc-datachannel").
  public var formats: [String]
  public var mid: String?
  /// "sendrecv", "sendonly", "recvonly" or "inactive" from the offerer's view; nil if absent.
  public var direction: String?
  /// The numeric formats in m-line order, with rtpmap/fmtp/rtcp-fb joined.
  public var codecs: [SdpCodec]
  /// Media-level extmaps, then session-level ones whose id is not used at media level.
  public var extmaps: [SdpExtmap]
  public var rtcpMux: Bool
  /// a=rtcp-rsize (reduced-size RTCP, RFC 5506).
  public var rtcpReducedSize: Bool
  public var iceUfrag: String?
  public var icePassword: String?
  /// Lower-cased hash name ("sha-256"). When several a=fingerprint lines are given at one level,
  /// the first sha-256 one is kept, else the first one.
  public var fingerprintAlgorithm: String?
  /// Digest bytes of the fingerprint.
  public var fingerprint: [UInt8]?
  /// Lower-cased a=setup value ("actpass", "passive", "active", "holdconn").
  public var setup: String?

  public init(kind: String, port: Int, proto: String, formats: [String] = [], mid: String? = nil,
              direction: String? = nil, codecs: [SdpCodec] = [], extmaps: [SdpExtmap] = [],
              rtcpMux: Bool = false, rtcpReducedSize: Bool = false, iceUfrag: String? = nil,
              icePassword: String? = nil, fingerprintAlgorithm: String? = nil,
              fingerprint: [UInt8]? = nil, setup: String? = nil) {
    self.kind = kind
    self.port = port
    self.proto = proto
    self.formats = formats
    self.mid = mid
    self.direction = direction
    self.codecs = codecs
    self.extmaps = extmaps
    self.rtcpMux = rtcpMux
    self.rtcpReducedSize = rtcpReducedSize
    self.iceUfrag = iceUfrag
    self.icePassword = icePassword
    self.fingerprintAlgorithm = fingerprintAlgorithm
    self.fingerprint = fingerprint
    self.setup = setup
  }
}

/// A parsed SDP offer (RFC 8866 syntax, the subset browsers send for WebRTC).
public struct SdpOffer: Equatable, Sendable {
  public var media: [SdpMedia]
  /// Mids of the first a=group:BUNDLE line (session level); empty if none.
  public var bundle: [String]

  public init(media: [SdpMedia], bundle: [String]) {
    self.media = media
    self.bundle = bundle
  }

  /// Offers larger than this many bytes are rejected with `.tooLarge`.
  public static let maxBytes = 64 * 1024
  /// Offers with more lines than this are rejected with `.tooLarge`.
  public static let maxLines = 4096
  /// Offers with more m-sections than this are rejected with `.tooLarge`.
  public static let maxMediaSections = 16

  /// Parses an offer. Accepts CRLF or LF line endings, blank lines and surrounding whitespace;
  /// ignores line types and attributes it does not use. The first line must be `v=0`; every
  /// line must look like `<letter>=<value>`; the attributes it uses must be well-formed.
  public static func parse(_ text: String) throws(SdpError) -> SdpOffer {
    var p = OfferParser()
    return try p.run(Array(text.utf8))
  }
}
