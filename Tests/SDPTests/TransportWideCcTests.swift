// Congestion-control feedback in the answer: the transport-wide sequence number extension
// (draft-holmer-rmcat-transport-wide-cc-extensions-01 section 2, RFC 8285 extmap) with
// `a=rtcp-fb:<pt> transport-cc`, and `a=rtcp-fb:<pt> goog-remb` (draft-alvestrand-rmcat-remb).
import Foundation
import Testing
import TestSupport
import Wire
@testable import SDP

@Suite struct TransportWideCcTests {
  let twcc = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

  /// handOffer's codecs with feedback lines added to the chosen payload type (122).
  func offer(feedback: [String], extmaps: [String], session: [String] = []) -> String {
    handOffer(session: session, extra: feedback.map { "a=rtcp-fb:122 " + $0 } + extmaps)
  }

  func answer(_ text: String) throws -> SdpAnswer {
    try makeAnswer(offer: SdpOffer.parse(text), params())
  }

  @Test func theURIIsTheOneBrowsersOffer() {
    #expect(transportSequenceExtensionURI == twcc)
  }

  @Test func chromiumOfferGetsExtmapAndBothFeedbackLinesOnTheChosenType() throws {
    let a = try answer(try fixture("chromium-156-recvonly-offer.sdp"))
    #expect(a.video.payloadType == 108)
    #expect(a.video.transportSequenceExtensionID == 4)
    #expect(a.video.playoutDelayExtensionID == 5)
    #expect(a.video.remb)
    let l = lines(a.sdp)
    #expect(l.filter { $0.hasPrefix("a=extmap:") } == [
      "a=extmap:4 " + twcc,
      "a=extmap:5 " + playoutDelayExtensionURI,
    ])
    #expect(l.filter { $0.hasPrefix("a=rtcp-fb:") } == [
      "a=rtcp-fb:108 nack", "a=rtcp-fb:108 nack pli", "a=rtcp-fb:108 ccm fir",
      "a=rtcp-fb:108 goog-remb", "a=rtcp-fb:108 transport-cc",
    ])
  }

  @Test func firefoxOfferWithH264GetsItsOwnIDs() throws {
    // The Firefox fixture with an H.264 format added, with the feedback Firefox lists for its
    // other video codecs (as when its OpenH264 plugin is present).
    var text = try fixture("firefox-esr-153-recvonly-offer-no-h264.sdp")
    text = text.replacingOccurrences(of: "SAVPF 120 124", with: "SAVPF 126 120 124")
    text += "a=rtpmap:126 H264/90000\r\na=fmtp:126 profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1\r\n"
    for fb in ["nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"] { text += "a=rtcp-fb:126 " + fb + "\r\n" }
    let a = try answer(text)
    #expect(a.video.payloadType == 126)
    #expect(a.video.transportSequenceExtensionID == 7)
    #expect(a.video.playoutDelayExtensionID == 6)
    #expect(a.video.remb)
    let l = lines(a.sdp)
    #expect(l.filter { $0.hasPrefix("a=extmap:") } == [
      "a=extmap:6/sendonly " + playoutDelayExtensionURI,
      "a=extmap:7 " + twcc,
    ])
    #expect(l.contains("a=rtcp-fb:126 transport-cc"))
    #expect(l.contains("a=rtcp-fb:126 goog-remb"))
  }

  @Test func transportCCIsAnsweredOnlyWithBothExtmapAndFeedback() throws {
    // Feedback without the extmap (GStreamer's offer does this), extmap without the feedback.
    let noExtmap = try answer(offer(feedback: ["transport-cc"], extmaps: []))
    let noFeedback = try answer(offer(feedback: [], extmaps: ["a=extmap:3 " + twcc]))
    for a in [noExtmap, noFeedback] {
      #expect(a.video.transportSequenceExtensionID == nil)
      #expect(!a.sdp.contains("transport-cc"))
      #expect(!a.sdp.contains("a=extmap"))
    }
    let both = try answer(offer(feedback: ["transport-cc"], extmaps: ["a=extmap:3 " + twcc]))
    #expect(both.video.transportSequenceExtensionID == 3)
    #expect(!both.video.remb)
    #expect(lines(both.sdp).contains("a=extmap:3 " + twcc))
    #expect(lines(both.sdp).contains("a=rtcp-fb:122 transport-cc"))
    #expect(!both.sdp.contains("goog-remb"))
  }

  @Test func feedbackForAnotherPayloadTypeDoesNotCount() throws {
    let text = handOffer(extra: ["a=rtcp-fb:121 transport-cc", "a=rtcp-fb:121 goog-remb", "a=extmap:3 " + twcc])
    let a = try answer(text)
    #expect(a.video.payloadType == 122)
    #expect(a.video.transportSequenceExtensionID == nil && !a.video.remb)
    // ... but "*" applies to every payload type
    let all = try answer(handOffer(extra: ["a=rtcp-fb:* transport-cc", "a=rtcp-fb:* goog-remb", "a=extmap:3 " + twcc]))
    #expect(all.video.transportSequenceExtensionID == 3 && all.video.remb)
  }

  @Test func idsOutsideTheOneByteRangeAndUnsendableDirectionsAreIgnored() throws {
    // RFC 8285 section 4.2: one-byte ids are 1...14; 15 and up need the two-byte form.
    for id in [15, 16, 200, 255] {
      let a = try answer(offer(feedback: ["transport-cc"], extmaps: ["a=extmap:\(id) " + twcc]))
      #expect(a.video.transportSequenceExtensionID == nil, "id \(id)")
      #expect(!a.sdp.contains("transport-cc") && !a.sdp.contains("a=extmap"), "id \(id)")
    }
    for dir in ["sendonly", "inactive"] {
      let a = try answer(offer(feedback: ["transport-cc"], extmaps: ["a=extmap:2/\(dir) " + twcc]))
      #expect(a.video.transportSequenceExtensionID == nil, "\(dir)")
    }
    let edges = try answer(offer(feedback: ["transport-cc"], extmaps: ["a=extmap:14 " + twcc, "a=extmap:1 " + playoutDelayExtensionURI]))
    #expect(edges.video.transportSequenceExtensionID == 14 && edges.video.playoutDelayExtensionID == 1)
    #expect(lines(edges.sdp).filter { $0.hasPrefix("a=extmap:") } == [
      "a=extmap:1 " + playoutDelayExtensionURI, "a=extmap:14 " + twcc,
    ])
  }

  @Test func aLaterUsableMappingIsTakenAndRecvonlyIsAnsweredSendonly() throws {
    let a = try answer(offer(feedback: ["transport-cc"], extmaps: ["a=extmap:15 " + twcc, "a=extmap:9/recvonly " + twcc]))
    #expect(a.video.transportSequenceExtensionID == 9)
    #expect(lines(a.sdp).contains("a=extmap:9/sendonly " + twcc))
    // session level counts too
    let s = try answer(offer(feedback: ["transport-cc"], extmaps: [], session: ["a=extmap:11 " + twcc]))
    #expect(s.video.transportSequenceExtensionID == 11)
  }

  @Test func theExtensionIDsNeverCollide() throws {
    // An offer cannot map one id twice (the parser keeps the first mapping): with playout-delay
    // on 3 first, the transport-wide mapping on 3 is not there to answer; neither is refused.
    let a = try answer(offer(feedback: ["transport-cc"], extmaps: ["a=extmap:3 " + playoutDelayExtensionURI, "a=extmap:3 " + twcc]))
    #expect(a.video.playoutDelayExtensionID == 3)
    #expect(a.video.transportSequenceExtensionID == nil)
    #expect(lines(a.sdp).filter { $0.hasPrefix("a=extmap:") } == ["a=extmap:3 " + playoutDelayExtensionURI])
  }

  @Test func googRembAloneIsAnswered() throws {
    let a = try answer(try fixture("aiortc-1.16-recvonly-offer.sdp"))
    #expect(a.video.payloadType == 101)
    #expect(a.video.remb)
    #expect(a.video.transportSequenceExtensionID == nil)
    #expect(lines(a.sdp).contains("a=rtcp-fb:101 goog-remb"))
    #expect(!a.sdp.contains("transport-cc") && !a.sdp.contains("a=extmap"))
  }

  @Test func anOfferWithoutThemIsAnsweredAsBefore() throws {
    let a = try answer(handOffer())
    #expect(a.video.transportSequenceExtensionID == nil && !a.video.remb)
    #expect(a.video == NegotiatedVideo(
      mid: "v0", payloadType: 122, remoteIceUfrag: "abcd", remoteIcePassword: "abcdefghijklmnopqrstuvwx",
      remoteFingerprint: Hex.decode(fpHex)!, pli: true, offeredProfileLevelID: "42e01f"))
    #expect(!a.sdp.contains("goog-remb") && !a.sdp.contains("transport-cc") && !a.sdp.contains("a=extmap"))
  }
}
