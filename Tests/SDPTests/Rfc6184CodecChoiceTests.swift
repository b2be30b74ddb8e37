// RFC 6184 section 8.1 (H.264 media type parameters): which payload type the answer picks by
// profile-level-id and packetization-mode, and that it signals what is sent.
import Foundation
import Testing
import Wire
@testable import SDP

@Suite struct Rfc6184CodecChoiceTests {
  @Test func differentPayloadNumbers() throws {
    let answer = try makeAnswer(offer: SdpOffer.parse(handOffer()), params())
    #expect(answer.video.payloadType == 122)  // exact 42e01f (upper-case hex) with mode 1
    #expect(answer.video.mid == "v0")
    #expect(answer.video.pli && !answer.video.nack && !answer.video.fir)
    #expect(answer.video.playoutDelayExtensionID == nil)
    #expect(!answer.video.rtcpReducedSize)
    let l = lines(answer.sdp)
    #expect(l.contains("m=video 9 UDP/TLS/RTP/SAVPF 122"))
    #expect(l.contains("a=group:BUNDLE v0"))
    #expect(l.contains("a=mid:v0"))
    #expect(l.contains("a=rtpmap:122 H264/90000"))
    #expect(l.contains("a=fmtp:122 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1"))
    #expect(l.contains("a=rtcp-fb:122 nack pli"))
    #expect(!l.contains { $0.hasPrefix("a=extmap") })
    #expect(!l.contains("a=rtcp-rsize"))
  }

  @Test func fallsBackToOtherConstrainedBaselineThenBaseline() throws {
    let cb = handOffer(mline: "m=video 9 UDP/TLS/RTP/SAVPF 100 101 102", codecs: [
      "a=rtpmap:100 H264/90000", "a=fmtp:100 packetization-mode=1;profile-level-id=42001f",
      "a=rtpmap:101 H264/90000", "a=fmtp:101 packetization-mode=1;profile-level-id=42e034",
      "a=rtpmap:102 H264/90000", "a=fmtp:102 packetization-mode=1;profile-level-id=640c1f",
    ])
    #expect(try makeAnswer(offer: SdpOffer.parse(cb), params()).video.payloadType == 101)
    let base = handOffer(mline: "m=video 9 UDP/TLS/RTP/SAVPF 100 102", codecs: [
      "a=rtpmap:102 H264/90000", "a=fmtp:102 packetization-mode=1;profile-level-id=640c1f",
      "a=rtpmap:100 H264/90000", "a=fmtp:100 packetization-mode=1;profile-level-id=42001f",
    ])
    let a = try makeAnswer(offer: SdpOffer.parse(base), params())
    #expect(a.video.payloadType == 100)
    #expect(a.video.offeredProfileLevelID == "42001f")
    // whatever was offered, the answer signals what is sent
    #expect(lines(a.sdp).contains("a=fmtp:100 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1"))
  }

  @Test func h264Preferences() {
    func rank(_ fmtp: [String: String], name: String = "H264", clock: Int = 90000) -> Int? {
      h264Preference(SdpCodec(payloadType: 96, name: name, clockRate: clock, fmtp: fmtp))
    }
    #expect(rank(["packetization-mode": "1", "profile-level-id": "42e01f"]) == 0)
    #expect(rank(["packetization-mode": "1", "profile-level-id": "42C01F"]) == 1)
    #expect(rank(["packetization-mode": "1", "profile-level-id": "4d401f"]) == 3)
    #expect(rank(["packetization-mode": "1", "profile-level-id": "4d801f"]) == 1)
    #expect(rank(["packetization-mode": "1", "profile-level-id": "42001f"]) == 2)
    #expect(rank(["packetization-mode": "1"]) == 2)  // RFC 6184 default 420010
    #expect(rank(["packetization-mode": "1", "profile-level-id": "64001f"]) == 4)
    #expect(rank(["packetization-mode": "1", "profile-level-id": "f4001f"]) == nil)
    #expect(rank(["packetization-mode": "0", "profile-level-id": "42e01f"]) == nil)
    #expect(rank(["profile-level-id": "42e01f"]) == nil)  // default mode 0
    #expect(rank(["packetization-mode": "1", "profile-level-id": "42e0"]) == nil)
    #expect(rank(["packetization-mode": "1", "profile-level-id": "4:e:01"]) == nil)
    #expect(rank(["packetization-mode": "1", "profile-level-id": "zzzzzz"]) == nil)
    #expect(rank(["packetization-mode": "1", "profile-level-id": "42e01f"], name: "h264") == 0)
    #expect(rank(["packetization-mode": "1", "profile-level-id": "42e01f"], clock: 8000) == nil)
    #expect(rank(["packetization-mode": "1", "profile-level-id": "42e01f"], name: "VP8") == nil)
  }

  @Test func onlyModeZeroIsNoH264() throws {
    let o = handOffer(mline: "m=video 9 UDP/TLS/RTP/SAVPF 97", codecs: [
      "a=rtpmap:97 H264/90000", "a=fmtp:97 packetization-mode=0;profile-level-id=42e01f",
    ])
    expectError(.noH264) { _ = try makeAnswer(offer: SdpOffer.parse(o), params()) }
  }
}
