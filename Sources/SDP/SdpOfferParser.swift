// Parsing an SDP offer (RFC 8866 syntax): the line loop, m= lines and the session/media-level
// attributes rtcam uses. Codec attributes are in SdpCodecAttributes.swift.
import Wire

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

  /// One a= line: the attributes rtcam uses, at session level before the first m= line and at
  /// media level after it; others are ignored.
  mutating func attribute(_ value: ArraySlice<UInt8>) throws(SdpError) {
    var nameEnd = value.startIndex
    while nameEnd < value.endIndex && value[nameEnd] != UInt8(ascii: ":") { nameEnd += 1 }
    let name = text(value[value.startIndex..<nameEnd]).asciiLowercased
    let arg = nameEnd < value.endIndex ? trim(value[(nameEnd + 1)...]) : value[value.endIndex...]
    let inMedia = !media.isEmpty
    switch name {
    case "group":
      try group(arg, inMedia: inMedia)
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
      try fingerprint(arg, inMedia: inMedia)
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
      try extmap(arg, inMedia: inMedia)
    case "rtpmap":
      guard inMedia else { return }
      try rtpmap(arg)
    case "fmtp":
      guard inMedia else { return }
      try fmtp(arg)
    case "rtcp-fb":
      guard inMedia else { return }
      try rtcpFeedback(arg)
    default:
      return
    }
  }

  /// a=group:BUNDLE (RFC 8843): the first one at session level counts.
  mutating func group(_ arg: ArraySlice<UInt8>, inMedia: Bool) throws(SdpError) {
    let t = tokens(arg)
    if !inMedia, !bundleSeen, let kind = t.first, equalsASCII(kind, "bundle", caseInsensitive: true) {
      for x in t where !isVisibleToken(x) { throw fail("a=group has non-ASCII or control characters") }
      bundleSeen = true
      bundle = t.dropFirst().map { text($0) }
    }
  }

  /// a=fingerprint (RFC 8122): of several at one level the first sha-256 one wins, else the first.
  mutating func fingerprint(_ arg: ArraySlice<UInt8>, inMedia: Bool) throws(SdpError) {
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
  }

  /// a=extmap (RFC 8285): `<id>[/<direction>] <uri>`; the first mapping of an id counts.
  mutating func extmap(_ arg: ArraySlice<UInt8>, inMedia: Bool) throws(SdpError) {
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
  }

  mutating func updateAttrs(_ inMedia: Bool, _ f: (inout TransportAttributes) -> Void) {
    if inMedia { f(&media[media.count - 1].attrs) } else { f(&session) }
  }
}
