// The codec attributes of an m-section (RFC 8866 section 6.6 rtpmap, 6.15 fmtp; RFC 4585
// section 4.2 rtcp-fb) and how they join into one SdpCodec per payload type.
import Wire

/// One m-section while it is being parsed.
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

extension OfferParser {
  /// a=rtpmap:<pt> <name>/<clock>[/<channels>]; the first one for a payload type counts.
  mutating func rtpmap(_ arg: ArraySlice<UInt8>) throws(SdpError) {
    let t = tokens(arg)
    guard t.count >= 2, let pt = decimal(t[0], max: 127) else { throw fail("bad a=rtpmap payload type") }
    let enc = t[1].split(separator: UInt8(ascii: "/"), maxSplits: 2, omittingEmptySubsequences: false)
    guard enc.count >= 2, !enc[0].isEmpty, let clock = decimal(enc[1], max: 100_000_000) else {
      throw fail("bad a=rtpmap encoding")
    }
    let i = media.count - 1
    if media[i].rtpmap[pt] == nil { media[i].rtpmap[pt] = (text(enc[0]), clock) }
  }

  /// a=fmtp:<pt> <parameters>; the first one for a payload type counts.
  mutating func fmtp(_ arg: ArraySlice<UInt8>) throws(SdpError) {
    let (ptText, rest) = splitFirstToken(arg)
    guard let pt = decimal(ptText, max: 127) else { throw fail("bad a=fmtp payload type") }
    let i = media.count - 1
    if media[i].fmtp[pt] == nil { media[i].fmtp[pt] = fmtpParameters(rest) }
  }

  /// a=rtcp-fb:<pt or *> <type> [<parameters>], single-spaced.
  mutating func rtcpFeedback(_ arg: ArraySlice<UInt8>) throws(SdpError) {
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
  }
}
