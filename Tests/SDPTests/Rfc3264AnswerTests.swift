// RFC 3264 offer/answer and RFC 8843 BUNDLE: the one video section accepted (by kind, port,
// proto and direction), every other section rejected with port 0 and left out of the group.
import Foundation
import Testing
import Wire
@testable import SDP

@Suite struct Rfc3264AnswerTests {
  @Test func rejectsOtherSectionsAndKeepsThemOutOfBundle() throws {
    let text = """
      v=0\r
      o=- 1 2 IN IP4 127.0.0.1\r
      s=-\r
      t=0 0\r
      a=group:BUNDLE a1 v1 v2 d1\r
      a=ice-ufrag:sess\r
      a=ice-pwd:sessionpasswordsessionpw\r
      a=fingerprint:sha-256 \(fpHex)\r
      a=setup:actpass\r
      m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r
      c=IN IP4 0.0.0.0\r
      a=mid:a1\r
      a=sendrecv\r
      a=rtcp-mux\r
      a=rtpmap:111 opus/48000/2\r
      m=video 9 UDP/TLS/RTP/SAVPF 96 97\r
      c=IN IP4 0.0.0.0\r
      a=mid:v1\r
      a=ice-ufrag:medi\r
      a=ice-pwd:mediapasswordmediapassw\r
      a=sendrecv\r
      a=rtcp-mux\r
      a=rtpmap:96 VP8/90000\r
      a=rtpmap:97 H264/90000\r
      a=fmtp:97 packetization-mode=1;profile-level-id=42e01f\r
      m=video 9 UDP/TLS/RTP/SAVPF 98\r
      c=IN IP4 0.0.0.0\r
      a=mid:v2\r
      a=recvonly\r
      a=rtcp-mux\r
      a=rtpmap:98 H264/90000\r
      a=fmtp:98 packetization-mode=1;profile-level-id=42e01f\r
      m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r
      c=IN IP4 0.0.0.0\r
      a=mid:d1\r
      a=sctp-port:5000\r

      """
    let offer = try SdpOffer.parse(text)
    #expect(offer.media.map(\.kind) == ["audio", "video", "video", "application"])
    #expect(offer.bundle == ["a1", "v1", "v2", "d1"])
    let audio = offer.media[0]
    #expect(audio.codecs.map(\.name) == ["opus", "PCMU", "PCMA"])
    #expect(audio.codecs.first?.clockRate == 48000)
    // media-level ICE wins, session-level fills in the rest
    #expect(offer.media[1].iceUfrag == "medi")
    #expect(offer.media[1].icePassword == "mediapasswordmediapassw")
    #expect(offer.media[2].iceUfrag == "sess")
    #expect(offer.media[1].setup == "actpass")
    #expect(offer.media[3].formats == ["webrtc-datachannel"])
    #expect(offer.media[3].codecs.isEmpty)

    let answer = try makeAnswer(offer: offer, params())
    #expect(answer.video.mid == "v1")
    #expect(answer.video.payloadType == 97)
    #expect(answer.video.remoteIceUfrag == "medi")
    let l = lines(answer.sdp)
    #expect(l.contains("a=group:BUNDLE v1"))
    let mLines = l.filter { $0.hasPrefix("m=") }
    #expect(mLines == [
      "m=audio 0 UDP/TLS/RTP/SAVPF 111",
      "m=video 9 UDP/TLS/RTP/SAVPF 97",
      "m=video 0 UDP/TLS/RTP/SAVPF 98",
      "m=application 0 UDP/DTLS/SCTP webrtc-datachannel",
    ])
    // each rejected section: m=, c=, a=mid, a=inactive
    let ai = try #require(l.firstIndex(of: "m=audio 0 UDP/TLS/RTP/SAVPF 111"))
    #expect(Array(l[ai...(ai + 3)]) == ["m=audio 0 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=mid:a1", "a=inactive"])
    let di = try #require(l.firstIndex(of: "m=application 0 UDP/DTLS/SCTP webrtc-datachannel"))
    #expect(Array(l[di...(di + 3)]) == ["m=application 0 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0", "a=mid:d1", "a=inactive"])
    #expect(l.filter { $0 == "a=sendonly" }.count == 1)
    #expect(l.filter { $0 == "a=end-of-candidates" }.count == 1)
  }

  @Test func noBundleGroupInAnswerWhenOfferHasNone() throws {
    let text = handOffer().replacingOccurrences(of: "a=group:BUNDLE v0\n", with: "")
    let answer = try makeAnswer(offer: SdpOffer.parse(text), params())
    #expect(!answer.sdp.contains("a=group:BUNDLE"))
    #expect(answer.sdp.contains("a=mid:v0\r\n"))
  }

  @Test func sendrecvAndMissingDirectionAreAccepted() throws {
    #expect(try makeAnswer(offer: SdpOffer.parse(handOffer(direction: "sendrecv")), params()).video.payloadType == 122)
    let noDir = handOffer().replacingOccurrences(of: "a=recvonly\n", with: "")
    #expect(try makeAnswer(offer: SdpOffer.parse(noDir), params()).video.payloadType == 122)
  }

  @Test func noVideo() {
    expectError(.noVideo) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(direction: "sendonly")), params()) }
    expectError(.noVideo) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(direction: "inactive")), params()) }
    expectError(.noVideo) {
      _ = try makeAnswer(offer: SdpOffer.parse(handOffer(mline: "m=video 0 UDP/TLS/RTP/SAVPF 120 121 122 123")), params())
    }
    expectError(.noVideo) {
      _ = try makeAnswer(offer: SdpOffer.parse(handOffer(mline: "m=video 9 RTP/AVP 120 121 122 123")), params())
    }
    expectError(.noVideo) {
      _ = try makeAnswer(offer: SdpOffer.parse(handOffer(mline: "m=audio 9 UDP/TLS/RTP/SAVPF 120 121 122 123")), params())
    }
    expectError(.noVideo) { _ = try makeAnswer(offer: SdpOffer.parse("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"), params()) }
    expectCode("NO_VIDEO") { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(direction: "sendonly")), params()) }
    // session-level sendonly applies to the media too
    let sess = handOffer(session: ["a=sendonly"]).replacingOccurrences(of: "a=recvonly\n", with: "")
    expectError(.noVideo) { _ = try makeAnswer(offer: SdpOffer.parse(sess), params()) }
  }
}
