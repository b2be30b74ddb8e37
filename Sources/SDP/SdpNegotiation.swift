// What rtcam's answer accepts from an offer: the video m-section, the H.264 payload type
// (RFC 6184 section 8.1 profile-level-id), the transport it requires (ICE credentials RFC 8839,
// a sha-256 fingerprint RFC 8122, a=setup RFC 8842, rtcp-mux RFC 8035), and the feedback and
// header extension it answers.
import Wire

/// The accepted video section and everything the answer takes from it.
struct AcceptedVideo: Sendable {
  /// Index of the section in the offer.
  var index: Int
  var section: SdpMedia
  var codec: SdpCodec
  /// The section's mid ("" if none).
  var mid: String
  /// The mid is in the offer's BUNDLE group (the answer then groups it too).
  var bundled: Bool
  var ufrag: String
  var pwd: String
  var fingerprint: [UInt8]
  var nack = false, pli = false, fir = false
  /// goog-remb was offered for the codec.
  var remb = false
  /// The playout-delay extension, when offered with a one-byte id in a direction we can send.
  var playout: SdpExtmap?
  /// The transport-wide sequence number extension, when offered like `playout` and the codec
  /// also has transport-cc feedback (without both, a browser sends no transport-wide feedback).
  var transportSequence: SdpExtmap?
}

/// Picks the video section and codec and checks the transport, in the order `makeAnswer`
/// documents; the first rule an offer breaks is the error.
func acceptVideo(_ offer: SdpOffer) throws(SdpError) -> AcceptedVideo {
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

  let mid = v.mid ?? ""
  var a = AcceptedVideo(
    index: vi, section: v, codec: codec, mid: mid, bundled: v.mid != nil && offer.bundle.contains(mid),
    ufrag: ufrag, pwd: pwd, fingerprint: fp)
  // Feedback and extensions we answer.
  var transportCC = false
  for f in codec.rtcpFeedback {
    switch f.asciiLowercased {
    case "nack": a.nack = true
    case "nack pli": a.pli = true
    case "ccm fir": a.fir = true
    case "goog-remb": a.remb = true
    case "transport-cc": transportCC = true
    default: break
    }
  }
  // The offer's extmap ids are distinct (the parser keeps the first mapping of an id), so the
  // two extensions never share an id.
  a.playout = sendableExtmap(v.extmaps, uri: playoutDelayExtensionURI)
  if transportCC { a.transportSequence = sendableExtmap(v.extmaps, uri: transportSequenceExtensionURI) }
  return a
}

/// The first extmap for `uri` that rtcam can send: a one-byte-header id (1...14, RFC 8285
/// section 4.2; rtcam writes only that form) and a direction that lets the offerer receive
/// (sendrecv, recvonly, or none given, which means sendrecv).
func sendableExtmap(_ extmaps: [SdpExtmap], uri: String) -> SdpExtmap? {
  for e in extmaps where e.uri == uri && e.id >= 1 && e.id <= 14 {
    let d = e.direction ?? "sendrecv"
    if d == "sendrecv" || d == "recvonly" { return e }
  }
  return nil
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
