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

// MARK: - Parser

/// Attributes that may appear at session or media level.
struct TransportAttributes: Sendable {
  var ufrag: String?
  var pwd: String?
  var fingerprintAlgorithm: String?
  var fingerprint: [UInt8]?
  var setup: String?
  var direction: String?
  var rtcpMux = false
  var rtcpRsize = false
  var extmaps: [SdpExtmap] = []
}

struct MediaBuilder: Sendable {
  var kind: String
  var port: Int
  var proto: String
  var formats: [String]
  var payloadTypes: [Int] = []
  var mid: String?
  var attrs = TransportAttributes()
  var rtpmap: [Int: (name: String, clock: Int)] = [:]
  var fmtp: [Int: [String: String]] = [:]
  var feedback: [Int: [String]] = [:]
  var feedbackAll: [String] = []

  func build(session: TransportAttributes) -> SdpMedia {
    var codecs: [SdpCodec] = []
    for pt in payloadTypes {
      var name = ""
      var clock = 0
      if let m = rtpmap[pt] {
        name = m.name
        clock = m.clock
      } else if let s = staticPayloadType(pt) {
        name = s.name
        clock = s.clock
      }
      codecs.append(SdpCodec(payloadType: pt, name: name, clockRate: clock, fmtp: fmtp[pt] ?? [:],
                             rtcpFeedback: feedbackAll + (feedback[pt] ?? [])))
    }
    var ext = attrs.extmaps
    for e in session.extmaps where !ext.contains(where: { $0.id == e.id }) { ext.append(e) }
    // Fingerprint comes as a pair: take both from the level that has one.
    let fpFromMedia = attrs.fingerprintAlgorithm != nil
    return SdpMedia(
      kind: kind, port: port, proto: proto, formats: formats, mid: mid,
      direction: attrs.direction ?? session.direction, codecs: codecs, extmaps: ext,
      rtcpMux: attrs.rtcpMux || session.rtcpMux,
      rtcpReducedSize: attrs.rtcpRsize || session.rtcpRsize,
      iceUfrag: attrs.ufrag ?? session.ufrag, icePassword: attrs.pwd ?? session.pwd,
      fingerprintAlgorithm: fpFromMedia ? attrs.fingerprintAlgorithm : session.fingerprintAlgorithm,
      fingerprint: fpFromMedia ? attrs.fingerprint : session.fingerprint,
      setup: attrs.setup ?? session.setup)
  }
}

/// RFC 3551 static payload types that browsers may list without an rtpmap.
func staticPayloadType(_ pt: Int) -> (name: String, clock: Int)? {
  switch pt {
  case 0: return ("PCMU", 8000)
  case 8: return ("PCMA", 8000)
  case 9: return ("G722", 8000)
  case 13: return ("CN", 8000)
  default: return nil
  }
}

struct OfferParser: Sendable {
  var session = TransportAttributes()
  var bundle: [String] = []
  var bundleSeen = false
  var media: [MediaBuilder] = []
  var lineNumber = 0

  mutating func run(_ bytes: [UInt8]) throws(SdpError) -> SdpOffer {
    if bytes.count > SdpOffer.maxBytes { throw .tooLarge }
    var start = 0
    var sawVersion = false
    while start < bytes.count {
      var end = start
      while end < bytes.count && bytes[end] != 10 { end += 1 }
      lineNumber += 1
      if lineNumber > SdpOffer.maxLines { throw .tooLarge }
      let line = trim(bytes[start..<end])
      start = end + 1
      if line.isEmpty { continue }
      let first = line[line.startIndex]
      guard line.count >= 2, line[line.startIndex + 1] == UInt8(ascii: "="),
            first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z") else {
        throw fail("not of the form <type>=<value>")
      }
      let value = line[(line.startIndex + 2)...]
      if !sawVersion {
        guard first == UInt8(ascii: "v"), equalsASCII(trim(value), "0") else {
          throw fail("an SDP offer must start with v=0")
        }
        sawVersion = true
        continue
      }
      switch first {
      case UInt8(ascii: "m"): try mediaLine(value)
      case UInt8(ascii: "a"): try attribute(value)
      default: continue  // o=, s=, t=, c=, b=, ... carry nothing rtcam needs
      }
    }
    guard sawVersion else { throw .malformed("the offer is empty") }
    return SdpOffer(media: media.map { $0.build(session: session) }, bundle: bundle)
  }

  func fail(_ what: String) -> SdpError {
    .malformed("line " + String(lineNumber) + ": " + what)
  }

  mutating func mediaLine(_ value: ArraySlice<UInt8>) throws(SdpError) {
    if media.count >= SdpOffer.maxMediaSections { throw .tooLarge }
    let t = tokens(value)
    guard t.count >= 4 else { throw fail("m= needs media, port, proto and at least one format") }
    // These tokens are echoed into the answer: keep them to visible ASCII.
    for x in t where !isVisibleToken(x) { throw fail("m= line has non-ASCII or control characters") }
    // port or port/count
    let portText = t[1].split(separator: UInt8(ascii: "/"), maxSplits: 1, omittingEmptySubsequences: false)
    guard let portPart = portText.first, let port = decimal(portPart, max: 65535) else {
      throw fail("bad m= port")
    }
    var b = MediaBuilder(kind: text(t[0]), port: port, proto: text(t[2]), formats: [])
    for f in t[3...] {
      b.formats.append(text(f))
      if let pt = decimal(f, max: 127), !b.payloadTypes.contains(pt) { b.payloadTypes.append(pt) }
    }
    media.append(b)
  }

  mutating func attribute(_ value: ArraySlice<UInt8>) throws(SdpError) {
    var nameEnd = value.startIndex
    while nameEnd < value.endIndex && value[nameEnd] != UInt8(ascii: ":") { nameEnd += 1 }
    let name = text(value[value.startIndex..<nameEnd]).asciiLowercased
    let arg = nameEnd < value.endIndex ? trim(value[(nameEnd + 1)...]) : value[value.endIndex...]
    let inMedia = !media.isEmpty
    switch name {
    case "group":
      let t = tokens(arg)
      if !inMedia, !bundleSeen, let kind = t.first, equalsASCII(kind, "bundle", caseInsensitive: true) {
        for x in t where !isVisibleToken(x) { throw fail("a=group has non-ASCII or control characters") }
        bundleSeen = true
        bundle = t.dropFirst().map { text($0) }
      }
    case "mid":
      guard inMedia else { return }
      guard isVisibleToken(arg), arg.count <= 64 else { throw fail("a=mid must be 1-64 visible ASCII characters") }
      media[media.count - 1].mid = text(arg)
    case "ice-ufrag":
      guard !arg.isEmpty else { throw fail("empty a=ice-ufrag") }
      updateAttrs(inMedia) { $0.ufrag = text(arg) }
    case "ice-pwd":
      guard !arg.isEmpty else { throw fail("empty a=ice-pwd") }
      updateAttrs(inMedia) { $0.pwd = text(arg) }
    case "fingerprint":
      let t = tokens(arg)
      guard t.count >= 2 else { throw fail("a=fingerprint needs a hash name and a digest") }
      let alg = text(t[0]).asciiLowercased
      guard let digest = Hex.decode(text(t[1])), !digest.isEmpty, digest.count <= 64 else {
        throw fail("a=fingerprint digest is not hex pairs")
      }
      updateAttrs(inMedia) { a in
        if a.fingerprintAlgorithm == nil || (a.fingerprintAlgorithm != "sha-256" && alg == "sha-256") {
          a.fingerprintAlgorithm = alg
          a.fingerprint = digest
        }
      }
    case "setup":
      guard !arg.isEmpty else { throw fail("empty a=setup") }
      updateAttrs(inMedia) { $0.setup = text(arg).asciiLowercased }
    case "sendrecv", "sendonly", "recvonly", "inactive":
      updateAttrs(inMedia) { $0.direction = name }
    case "rtcp-mux":
      updateAttrs(inMedia) { $0.rtcpMux = true }
    case "rtcp-rsize":
      updateAttrs(inMedia) { $0.rtcpRsize = true }
    case "extmap":
      let t = tokens(arg)
      guard t.count >= 2 else { throw fail("a=extmap needs an id and a URI") }
      let idParts = t[0].split(separator: UInt8(ascii: "/"), maxSplits: 1, omittingEmptySubsequences: false)
      guard let idText = idParts.first, let id = decimal(idText, max: 255), id >= 1 else {
        throw fail("bad a=extmap id")
      }
      let dir: String? = idParts.count > 1 ? text(idParts[1]).asciiLowercased : nil
      let e = SdpExtmap(id: id, direction: dir, uri: text(t[1]))
      updateAttrs(inMedia) { a in
        if !a.extmaps.contains(where: { $0.id == id }) { a.extmaps.append(e) }
      }
    case "rtpmap":
      guard inMedia else { return }
      let t = tokens(arg)
      guard t.count >= 2, let pt = decimal(t[0], max: 127) else { throw fail("bad a=rtpmap payload type") }
      let enc = t[1].split(separator: UInt8(ascii: "/"), maxSplits: 2, omittingEmptySubsequences: false)
      guard enc.count >= 2, !enc[0].isEmpty, let clock = decimal(enc[1], max: 100_000_000) else {
        throw fail("bad a=rtpmap encoding")
      }
      let i = media.count - 1
      if media[i].rtpmap[pt] == nil { media[i].rtpmap[pt] = (text(enc[0]), clock) }
    case "fmtp":
      guard inMedia else { return }
      let (ptText, rest) = splitFirstToken(arg)
      guard let pt = decimal(ptText, max: 127) else { throw fail("bad a=fmtp payload type") }
      let i = media.count - 1
      if media[i].fmtp[pt] == nil { media[i].fmtp[pt] = fmtpParameters(rest) }
    case "rtcp-fb":
      guard inMedia else { return }
      let (ptText, rest) = splitFirstToken(arg)
      let fb = tokens(rest).map { text($0) }.joined(separator: " ")
      guard !fb.isEmpty else { throw fail("a=rtcp-fb without a feedback type") }
      let i = media.count - 1
      if equalsASCII(ptText, "*") {
        media[i].feedbackAll.append(fb)
      } else {
        guard let pt = decimal(ptText, max: 127) else { throw fail("bad a=rtcp-fb payload type") }
        media[i].feedback[pt, default: []].append(fb)
      }
    default:
      return
    }
  }

  mutating func updateAttrs(_ inMedia: Bool, _ f: (inout TransportAttributes) -> Void) {
    if inMedia { f(&media[media.count - 1].attrs) } else { f(&session) }
  }
}
