// fuzz-target: sdp
// fuzz-modules: SDP
// fuzz-summary: SDP offer parser (SdpOffer.parse) and answer builder (makeAnswer)
// fuzz-max-len: 16384
//
// Input: offer text (any bytes; decoded as UTF-8 the way the HTTP body is).
// Invariants:
// - parse and makeAnswer never trap; failures have a code and a message; unsupportedSetup
//   carries only a short sanitized token; limits hold (<= 16 m-sections, payload types 0...127);
// - the answer is printable ASCII in CRLF-terminated lines (no line break can be injected from
//   the offer) and is deterministic;
// - the answer parses with the same parser: one m-section per offered one, the chosen one with
//   our ICE credentials, fingerprint, a=setup:active, a=sendonly, rtcp-mux and exactly the
//   negotiated H.264 payload type, which h264Preference ranks 0; the others port 0, inactive;
//   the BUNDLE group holds just the chosen mid when it was bundled;
// - the negotiated parameters come from the offer: the payload type is an offered H.264 format
//   with the best preference, the remote ICE credentials and the 32-byte fingerprint are the
//   offer's, the playout-delay and transport-wide sequence ids are 1...14 and differ;
// - the answer's extmaps and rtcp-fb say what was negotiated: the transport-wide sequence extmap
//   with transport-cc feedback exactly when its id is set, goog-remb exactly when remb is.
@testable import SDP
import Wire

let ourFingerprint: [UInt8] = (0..<32).map { UInt8($0 &* 7 &+ 1) }
let parameters = AnswerParameters(
  sessionID: 0x0123_4567_89AB, iceUfrag: "fzUfrag1", icePassword: "fuzzPassword0123456789ab",
  fingerprintSHA256: Hex.fingerprint(ourFingerprint),
  candidates: [SocketAddress(ip: [192, 0, 2, 1], port: 8189),
               SocketAddress(ip: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1], port: 8189),
               SocketAddress(ip: [1, 2, 3], port: 1)],
  ssrc: 0x0102_0304, cname: "rtcam", streamID: "rtcam", trackID: "camera")

func checkError(_ e: SdpError) {
  invariant(!e.code.isEmpty && !e.message.isEmpty, "error without code or message")
  if case .unsupportedSetup(let s) = e {
    invariant(s.utf8.count <= 24, "unsanitized a=setup value echoed")
    invariant(s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 63 },
              "a=setup value with unsafe characters echoed")
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  let offer: SdpOffer
  do {
    offer = try SdpOffer.parse(text)
  } catch {
    checkError(error)
    return 0
  }
  invariant(offer.media.count <= SdpOffer.maxMediaSections, "too many m-sections")
  for m in offer.media {
    invariant((0...65535).contains(m.port), "port out of range")
    for c in m.codecs { invariant((0...127).contains(c.payloadType), "payload type out of range") }
    invariant(m.codecs.count <= m.formats.count, "more codecs than formats")
    if let fp = m.fingerprint { invariant(!fp.isEmpty && fp.count <= 64, "fingerprint size") }
    for e in m.extmaps { invariant((1...255).contains(e.id), "extmap id out of range") }
  }
  invariant((try? SdpOffer.parse(text)) == offer, "parse is not deterministic")

  let answer: SdpAnswer
  do {
    answer = try makeAnswer(offer: offer, parameters)
  } catch {
    checkError(error)
    return 0
  }
  let sdp = Array(answer.sdp.utf8)
  invariant(sdp.count >= 2 && sdp[sdp.count - 2] == 13 && sdp[sdp.count - 1] == 10, "answer does not end in CRLF")
  for (i, c) in sdp.enumerated() {
    if c == 13 {
      invariant(i + 1 < sdp.count && sdp[i + 1] == 10, "CR not followed by LF in the answer")
    } else if c == 10 {
      invariant(i > 0 && sdp[i - 1] == 13, "bare LF in the answer")
    } else {
      invariant(c >= 0x20 && c <= 0x7E, "byte 0x" + fuzzHex([c]) + " in the answer")
    }
  }
  invariant((try? makeAnswer(offer: offer, parameters))?.sdp == answer.sdp, "makeAnswer is not deterministic")

  // The negotiated parameters come from the offer.
  let v = answer.video
  guard let vi = offer.media.firstIndex(where: { m in
    m.kind.asciiLowercased == "video" && m.port != 0 && isSupportedVideoProto(m.proto)
      && ["recvonly", "sendrecv"].contains(m.direction ?? "sendrecv")
  }) else {
    invariant(false, "answered an offer without an acceptable video section")
    return 0
  }
  let om = offer.media[vi]
  invariant(v.mid == (om.mid ?? ""), "negotiated mid differs")
  let ranks = om.codecs.compactMap { h264Preference($0) }
  guard let chosen = om.codecs.first(where: { $0.payloadType == Int(v.payloadType) && h264Preference($0) != nil }) else {
    invariant(false, "negotiated payload type " + String(v.payloadType) + " is not an offered usable H.264 format")
    return 0
  }
  invariant(h264Preference(chosen) == ranks.min(), "a better H.264 format was offered")
  invariant(v.remoteIceUfrag == om.iceUfrag && v.remoteIcePassword == om.icePassword, "remote ICE credentials differ")
  invariant(v.remoteFingerprint.count == 32 && v.remoteFingerprint == om.fingerprint, "remote fingerprint differs")
  if let id = v.playoutDelayExtensionID { invariant((1...14).contains(id), "playout-delay id out of range") }
  if let id = v.transportSequenceExtensionID {
    invariant((1...14).contains(id) && id != v.playoutDelayExtensionID, "transport-wide sequence id")
  }

  // The answer is SDP this parser reads back.
  let back: SdpOffer
  do {
    back = try SdpOffer.parse(answer.sdp)
  } catch {
    invariant(false, "the answer does not parse: " + error.message)
    return 0
  }
  invariant(back.media.count == offer.media.count, "answer has " + String(back.media.count) + " m-sections for "
            + String(offer.media.count))
  for (i, m) in back.media.enumerated() {
    invariant(m.kind == (i == vi ? "video" : offer.media[i].kind), "m-section kind changed")
    invariant(m.proto == offer.media[i].proto, "m-section proto changed")
    invariant(m.mid == offer.media[i].mid, "m-section mid changed")
    if i != vi {
      invariant(m.port == 0 && m.direction == "inactive", "an unused m-section is not rejected")
      continue
    }
    invariant(m.port == 9 && m.direction == "sendonly" && m.rtcpMux && m.setup == "active", "video section attributes")
    invariant(m.formats == [String(v.payloadType)], "answer formats " + m.formats.joined(separator: " "))
    invariant(m.iceUfrag == parameters.iceUfrag && m.icePassword == parameters.icePassword, "our ICE credentials")
    invariant(m.fingerprintAlgorithm == "sha-256" && m.fingerprint == ourFingerprint, "our fingerprint")
    invariant(m.codecs.count == 1 && h264Preference(m.codecs[0]) == 0, "answered H.264 format is not what is sent")
    invariant(m.rtcpReducedSize == v.rtcpReducedSize, "rtcp-rsize differs")
    let playout = m.extmaps.first { $0.uri == playoutDelayExtensionURI }
    invariant(playout.map { UInt8($0.id) } == v.playoutDelayExtensionID, "playout-delay extmap differs")
    let transport = m.extmaps.first { $0.uri == transportSequenceExtensionURI }
    invariant(transport.map { UInt8($0.id) } == v.transportSequenceExtensionID, "transport-wide extmap differs")
    let feedback = m.codecs[0].rtcpFeedback
    invariant(feedback.contains("transport-cc") == (v.transportSequenceExtensionID != nil), "transport-cc feedback")
    invariant(feedback.contains("goog-remb") == v.remb, "goog-remb feedback")
  }
  let bundled = om.mid != nil && offer.bundle.contains(v.mid)
  invariant(back.bundle == (bundled ? [v.mid] : []), "BUNDLE group " + back.bundle.joined(separator: " "))
  return 0
}
