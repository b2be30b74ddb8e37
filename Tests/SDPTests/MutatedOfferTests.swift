// Offers no client wrote: real offers mutated at random, and random bytes. Nothing traps, and
// every offer that parses is answered or refused exactly as the rules makeAnswer documents say.
import Foundation
import Testing
import TestSupport
import Wire
@testable import SDP

/// What makeAnswer does with an offer that parsed.
enum AnswerOutcome: Equatable, CustomStringConvertible {
  /// Answered: the index of the accepted m-section and the payload type chosen in it.
  case answered(section: Int, payloadType: Int)
  /// Refused with this SdpError code.
  case refused(String)

  var description: String {
    switch self {
    case .answered(let section, let pt): return "answered section \(section) with payload type \(pt)"
    case .refused(let code): return "refused " + code
    }
  }
}

/// The outcome the rules in makeAnswer's documentation give for `offer`, written without its
/// code: the first video section with a non-zero port, a SAVPF proto and a direction rtcam can
/// send to (else NO_VIDEO); in it the format h264Preference ranks best, the first of equal rank
/// (else NO_H264); then ICE credentials of ice-chars (ufrag 4, pwd 22 to 256), a sha-256
/// fingerprint of 32 bytes, a=setup actpass or passive, a=rtcp-mux, in that order.
func expectedOutcome(_ offer: SdpOffer) -> AnswerOutcome {
  let video = offer.media.firstIndex { m in
    m.kind.lowercased() == "video" && m.port != 0
      && ["udp/tls/rtp/savpf", "rtp/savpf"].contains(m.proto.lowercased())
      && ["recvonly", "sendrecv"].contains(m.direction ?? "sendrecv")
  }
  guard let index = video else { return .refused("NO_VIDEO") }
  let v = offer.media[index]
  let ranked = v.codecs.compactMap { c in h264Preference(c).map { (rank: $0, payloadType: c.payloadType) } }
  guard let best = ranked.min(by: { $0.rank < $1.rank }) else { return .refused("NO_H264") }
  let iceChars = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
  func isIce(_ s: String?, min: Int) -> Bool {
    guard let s else { return false }
    return (min...256).contains(s.utf8.count) && s.allSatisfy { iceChars.contains($0) }
  }
  guard isIce(v.iceUfrag, min: 4), isIce(v.icePassword, min: 22) else { return .refused("MISSING_ICE_CREDENTIALS") }
  guard v.fingerprintAlgorithm == "sha-256", v.fingerprint?.count == 32 else { return .refused("MISSING_FINGERPRINT") }
  guard v.setup == "actpass" || v.setup == "passive" else { return .refused("UNSUPPORTED_SETUP") }
  guard v.rtcpMux else { return .refused("NO_RTCP_MUX") }
  return .answered(section: index, payloadType: best.payloadType)
}

@Suite struct MutatedOfferTests {
  /// Mutates real offers (byte flips, deletions, duplications, truncation, splices of SDP
  /// tokens) and runs parse + makeAnswer on each. An offer that does not parse is refused as
  /// malformed or too large; one that parses is answered or refused as `expectedOutcome` says,
  /// and an answer has one m-line per offered section, only the accepted one with a port, in
  /// printable ASCII lines ending in CRLF.
  @Test func mutatedOffersAreAnsweredExactlyAsTheRulesSay() throws {
    let seeds = [
      try fixture("chromium-156-recvonly-offer.sdp"),
      try fixture("firefox-esr-153-recvonly-offer-no-h264.sdp"),
      try fixture("safari-17-recvonly-offer-reconstructed.sdp"),
      try fixture("gstreamer-1.22-webrtcbin-recvonly-offer.sdp"),
      try fixture("aiortc-1.16-recvonly-offer.sdp"),
      handOffer(),
    ]
    let pieces = ["=", ":", " ", "/", ";", "\r\n", "\n", "\r", "m=video ", "a=rtpmap:", "a=fmtp:",
                  "a=extmap:", "a=fingerprint:sha-256 ", "a=rtcp-fb:* ", "99999999999999999999",
                  "-1", "\u{0}", "é", "🎥", "a=setup:", "a=group:BUNDLE ", "a=mid:", "128", "0"]
    var rng = TestPRNG(state: 0x9E37_79B9_7F4A_7C15)
    var outcomes: [String: Int] = [:]  // "answered" or the error code, and how often
    for iteration in 0..<3000 {
      var b = Array(seeds[iteration % seeds.count].utf8)
      for _ in 0..<(1 + rng.below(8)) {
        guard !b.isEmpty else { break }
        let at = rng.below(b.count)
        switch rng.below(6) {
        case 0: b[at] = UInt8(truncatingIfNeeded: rng.next())
        case 1: b.removeSubrange(at..<min(b.count, at + rng.below(40)))
        case 2: b.insert(contentsOf: pieces[rng.below(pieces.count)].utf8, at: at)
        case 3: b = Array(b[..<at])
        case 4:
          let end = min(b.count, at + rng.below(200))
          b.insert(contentsOf: b[at..<end], at: rng.below(b.count))
        default: b[at] = [UInt8(ascii: " "), 10, 13, UInt8(ascii: ":"), UInt8(ascii: "=")][rng.below(5)]
        }
      }
      let text = String(decoding: b, as: UTF8.self)
      let offer: SdpOffer
      do {
        offer = try SdpOffer.parse(text)
      } catch {
        #expect(error.code == "SDP_MALFORMED" || error.code == "SDP_TOO_LARGE", "offer \(iteration)")
        outcomes[error.code, default: 0] += 1
        continue
      }
      let expected = expectedOutcome(offer)
      do {
        let a = try makeAnswer(offer: offer, params())
        #expect(a.sdp.hasPrefix("v=0\r\n"))
        let mLines = lines(a.sdp).filter { $0.hasPrefix("m=") }
        #expect(mLines.count == offer.media.count, "offer \(iteration): one m-line per offered section")
        let withPort = mLines.indices.filter { mLines[$0].split(separator: " ")[1] != "0" }
        #expect(withPort.count == 1, "offer \(iteration): exactly one section accepted")
        let got = AnswerOutcome.answered(section: withPort.first ?? -1, payloadType: Int(a.video.payloadType))
        #expect(got == expected, "offer \(iteration)")
        // whatever the offer held, the answer is printable ASCII lines ending in CRLF
        let u = Array(a.sdp.utf8)
        var clean = true
        for (i, c) in u.enumerated() {
          if c == 13 { clean = clean && i + 1 < u.count && u[i + 1] == 10 }
          else if c == 10 { clean = clean && i > 0 && u[i - 1] == 13 }
          else { clean = clean && c >= 0x20 && c <= 0x7e }
        }
        #expect(clean)
        outcomes["answered", default: 0] += 1
      } catch {
        #expect(AnswerOutcome.refused(error.code) == expected, "offer \(iteration)")
        outcomes[error.code, default: 0] += 1
      }
    }
    // The mutations reach every outcome the comparison above is about: answers, offers that do
    // not parse, and each of makeAnswer's refusals (with this seed the rarest, NO_RTCP_MUX, 13 times).
    let refusals = Set(outcomes.keys).subtracting(["answered", "SDP_MALFORMED", "SDP_TOO_LARGE"])
    #expect(outcomes["answered", default: 0] > 0 && outcomes["SDP_MALFORMED", default: 0] > 0, "\(outcomes)")
    #expect(refusals == ["NO_VIDEO", "NO_H264", "MISSING_ICE_CREDENTIALS", "MISSING_FINGERPRINT",
                         "UNSUPPORTED_SETUP", "NO_RTCP_MUX"], "\(outcomes)")
  }

  @Test func randomBytesNeverTrap() {
    var rng = TestPRNG(state: 12345)
    for _ in 0..<500 {
      let n = rng.below(2000)
      let b = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      let text = "v=0\n" + String(decoding: b, as: UTF8.self)
      if let offer = try? SdpOffer.parse(text) {
        _ = try? makeAnswer(offer: offer, params())
      }
      #expect(throws: SdpError.self) { _ = try SdpOffer.parse(String(decoding: b, as: UTF8.self) + "\u{1}") } // junk first line
    }
  }
}
