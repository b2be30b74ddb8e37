// Offers real clients sent (Tests/Fixtures): what rtcam reads from them and answers.
import Foundation
import Testing
import TestSupport
import Wire
@testable import SDP

@Suite struct ChromiumFixtureTests {
  @Test func parsesOffer() throws {
    let offer = try SdpOffer.parse(try fixture("chromium-156-recvonly-offer.sdp"))
    #expect(offer.bundle == ["0"])
    #expect(offer.media.count == 1)
    let v = try #require(offer.media.first)
    #expect(v.kind == "video")
    #expect(v.port == 9)
    #expect(v.proto == "UDP/TLS/RTP/SAVPF")
    #expect(v.mid == "0")
    #expect(v.direction == "recvonly")
    #expect(v.rtcpMux && v.rtcpReducedSize)
    #expect(v.iceUfrag == "Lo4s")
    #expect(v.icePassword == "e89tIIikxfoRvzp20qtKD2I+")
    #expect(v.setup == "actpass")
    #expect(v.fingerprintAlgorithm == "sha-256")
    #expect(v.fingerprint == Hex.decode(fpHex))
    #expect(v.fingerprint?.count == 32)
    #expect(v.fingerprint?.first == 0xB3 && v.fingerprint?.last == 0x63)
    // all 34 formats, in m-line order
    #expect(v.codecs.count == 34)
    #expect(v.codecs.map(\.payloadType).prefix(7) == [96, 97, 98, 99, 100, 101, 35])
    let h264 = v.codecs.filter { $0.name == "H264" }
    #expect(h264.map(\.payloadType) == [102, 104, 108, 114, 116, 39, 41, 43])
    let c108 = try #require(v.codecs.first { $0.payloadType == 108 })
    #expect(c108.clockRate == 90000)
    #expect(c108.fmtp["profile-level-id"] == "42e01f")
    #expect(c108.fmtp["packetization-mode"] == "1")
    #expect(c108.fmtp["level-asymmetry-allowed"] == "1")
    #expect(c108.rtcpFeedback == ["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"])
    let rtx = try #require(v.codecs.first { $0.payloadType == 109 })
    #expect(rtx.name == "rtx" && rtx.fmtp["apt"] == "108")
    #expect(v.extmaps.count == 11)
    #expect(v.extmaps.first { $0.uri == playoutDelayExtensionURI }?.id == 5)
  }

  @Test func answerChoosesConstrainedBaseline() throws {
    let offer = try SdpOffer.parse(try fixture("chromium-156-recvonly-offer.sdp"))
    let answer = try makeAnswer(offer: offer, params())
    let v = answer.video
    #expect(v.payloadType == 108)  // 42e01f with packetization-mode=1 (102 is 42001f, 114 is mode 0)
    #expect(v.mid == "0")
    #expect(v.playoutDelayExtensionID == 5)
    #expect(v.transportSequenceExtensionID == 4 && v.remb)
    #expect(v.remoteIceUfrag == "Lo4s")
    #expect(v.remoteIcePassword == "e89tIIikxfoRvzp20qtKD2I+")
    #expect(v.remoteFingerprint == Hex.decode(fpHex))
    #expect(v.pli && v.fir && v.nack && v.rtcpReducedSize)
    #expect(v.offeredProfileLevelID == "42e01f")

    let sdp = answer.sdp
    #expect(sdp.hasSuffix("\r\n"))
    // every line ends with CRLF: no bare LF
    #expect(!sdp.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
    #expect(!sdp.replacingOccurrences(of: "\r\n", with: "").contains("\r"))
    let l = lines(sdp)
    let expected = [
      "v=0",
      "o=- 4611686018427387905 2 IN IP4 127.0.0.1",
      "s=-",
      "t=0 0",
      "a=ice-lite",
      "a=group:BUNDLE 0",
      "a=msid-semantic: WMS rtcam-stream",
      "m=video 9 UDP/TLS/RTP/SAVPF 108",
      "c=IN IP4 0.0.0.0",
      "a=mid:0",
      "a=ice-ufrag:rtcA",
      "a=ice-pwd:0123456789abcdefghijkl",
      "a=fingerprint:sha-256 " + Hex.fingerprint(Array(repeating: 0xAB, count: 32)),
      "a=setup:active",
      "a=sendonly",
      "a=rtcp-mux",
      "a=rtcp-rsize",
      "a=extmap:4 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
      "a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay",
      "a=rtpmap:108 H264/90000",
      "a=rtcp-fb:108 nack",
      "a=rtcp-fb:108 nack pli",
      "a=rtcp-fb:108 ccm fir",
      "a=rtcp-fb:108 goog-remb",
      "a=rtcp-fb:108 transport-cc",
      "a=fmtp:108 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1",
      "a=msid:rtcam-stream rtcam-video",
      "a=ssrc:3000000001 cname:rtcam",
      "a=ssrc:3000000001 msid:rtcam-stream rtcam-video",
      "a=candidate:1 1 udp 2130706431 192.168.1.20 50000 typ host",
      "a=candidate:2 1 udp 2130706175 2001:db8::1 50000 typ host",
      "a=end-of-candidates",
      "",
    ]
    #expect(l == expected)
    // session-level lines precede the first m=
    let firstM = try #require(l.firstIndex { $0.hasPrefix("m=") })
    #expect(l.firstIndex(of: "a=ice-lite")! < firstM)
    #expect(!sdp.contains("H264/90000\r\na=rtpmap"))  // only one codec answered
    #expect(l.filter { $0.hasPrefix("a=rtpmap:") }.count == 1)
  }

  /// Offers from other clients (Tests/Fixtures/README.md says where each came from): each gets a
  /// correct answer on its own constrained-baseline payload type.
  struct ClientOffer: CustomStringConvertible {
    var file: String
    var payloadType: UInt8
    var mid: String
    var ufrag: String
    var playoutDelayID: UInt8?
    var pli, fir, nack, reducedSize: Bool
    /// transport-wide-cc extmap id (answered only with transport-cc feedback) and goog-remb
    var transportSequenceID: UInt8? = nil
    var remb = false
    var description: String { file }
  }

  static let clientOffers = [
    // WebKit: H.264 High (96) comes first, constrained baseline is 98; playout-delay on id 12
    ClientOffer(file: "safari-17-recvonly-offer-reconstructed.sdp", payloadType: 98, mid: "0", ufrag: "w3Kd",
      playoutDelayID: 12, pli: true, fir: true, nack: true, reducedSize: true, transportSequenceID: 3, remb: true),
    // GStreamer webrtcbin: one H.264 payload type, fingerprint and setup inside the m-section;
    // transport-cc feedback without the extmap: not answered
    ClientOffer(file: "gstreamer-1.22-webrtcbin-recvonly-offer.sdp", payloadType: 102, mid: "video0",
      ufrag: "6ySsXmm463YGdc9q7Mc2jCeA9Bq+GUch", playoutDelayID: nil, pli: true, fir: true, nack: false,
      reducedSize: true),
    // aiortc: 42001f (99) before 42e01f (101); sha-256/384/512 fingerprints; goog-remb only
    ClientOffer(file: "aiortc-1.16-recvonly-offer.sdp", payloadType: 101, mid: "0", ufrag: "nScr",
      playoutDelayID: nil, pli: true, fir: false, nack: true, reducedSize: false, remb: true),
  ]

  @Test(arguments: clientOffers)
  func otherClientsGetACorrectAnswer(_ c: ClientOffer) throws {
    let text = try fixture(c.file)
    let offer = try SdpOffer.parse(text)
    let answer = try makeAnswer(offer: offer, params())
    let v = answer.video
    #expect(v.payloadType == c.payloadType)
    #expect(v.offeredProfileLevelID == "42e01f")
    #expect(v.mid == c.mid)
    #expect(v.remoteIceUfrag == c.ufrag)
    #expect(v.playoutDelayExtensionID == c.playoutDelayID)
    #expect(v.pli == c.pli && v.fir == c.fir && v.nack == c.nack && v.rtcpReducedSize == c.reducedSize)
    // The fingerprint is the offer's sha-256 one.
    let fpLine = try #require(text.split(separator: "\r\n").first { $0.hasPrefix("a=fingerprint:sha-256 ") })
    #expect(v.remoteFingerprint == Hex.decode(String(fpLine.dropFirst("a=fingerprint:sha-256 ".count))))
    let l = lines(answer.sdp)
    let pt = String(c.payloadType)
    #expect(l.contains("m=video 9 UDP/TLS/RTP/SAVPF " + pt))
    #expect(l.contains("a=mid:" + c.mid))
    #expect(l.contains("a=group:BUNDLE " + c.mid))
    #expect(l.contains("a=setup:active"))
    #expect(l.contains("a=sendonly"))
    #expect(l.contains("a=rtcp-mux"))
    #expect(l.contains("a=rtcp-rsize") == c.reducedSize)
    #expect(l.contains("a=rtpmap:" + pt + " H264/90000"))
    #expect(l.contains("a=fmtp:" + pt + " profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1"))
    #expect(l.filter { $0.hasPrefix("a=rtpmap:") }.count == 1)
    #expect(l.contains("a=rtcp-fb:" + pt + " nack pli") == c.pli)
    #expect(l.contains("a=rtcp-fb:" + pt + " ccm fir") == c.fir)
    #expect(v.transportSequenceExtensionID == c.transportSequenceID && v.remb == c.remb)
    #expect(l.contains("a=rtcp-fb:" + pt + " goog-remb") == c.remb)
    #expect(l.contains("a=rtcp-fb:" + pt + " transport-cc") == (c.transportSequenceID != nil))
    #expect(l.filter { $0.hasPrefix("a=extmap:") }.count
      == (c.playoutDelayID == nil ? 0 : 1) + (c.transportSequenceID == nil ? 0 : 1))
    if let id = c.transportSequenceID {
      #expect(l.contains("a=extmap:" + String(id) + " " + transportSequenceExtensionURI))
    }
    #expect(l.contains("a=end-of-candidates"))
  }

  @Test func chromiumWithLFOnlyParsesTheSame() throws {
    let crlf = try fixture("chromium-156-recvonly-offer.sdp")
    let lf = crlf.replacingOccurrences(of: "\r\n", with: "\n")
    #expect(try SdpOffer.parse(lf) == SdpOffer.parse(crlf))
    // and without a final line break
    let trimmed = String(lf.dropLast())
    #expect(try SdpOffer.parse(trimmed) == SdpOffer.parse(crlf))
  }
}

@Suite struct FirefoxFixtureTests {
  @Test func parsesSessionLevelFingerprintAndFmtpBeforeRtpmap() throws {
    let offer = try SdpOffer.parse(try fixture("firefox-esr-153-recvonly-offer-no-h264.sdp"))
    let v = try #require(offer.media.first)
    #expect(offer.bundle == ["0"])
    #expect(v.iceUfrag == "073e8ab9")
    #expect(v.icePassword == "5e68a6267342e4fd55243f43da950d42")
    #expect(v.fingerprintAlgorithm == "sha-256")  // from session level
    #expect(v.fingerprint?.first == 0x2E && v.fingerprint?.count == 32)
    #expect(v.codecs.map(\.name) == ["VP8", "rtx", "VP9", "rtx", "AV1", "rtx", "ulpfec", "red", "rtx"])
    #expect(v.codecs.first?.fmtp["max-fs"] == "12288")
    let pd = try #require(v.extmaps.first { $0.uri == playoutDelayExtensionURI })
    #expect(pd.id == 6 && pd.direction == "recvonly")
  }

  @Test func answerIsNoH264WithPluginHint() throws {
    let offer = try SdpOffer.parse(try fixture("firefox-esr-153-recvonly-offer-no-h264.sdp"))
    do {
      _ = try makeAnswer(offer: offer, params())
      Issue.record("Firefox offer without H.264 must not be answered")
    } catch {
      #expect(error == .noH264)
      #expect(error.code == "NO_H264")
      #expect(error.message.contains("OpenH264"))
      #expect(error.message.contains("Firefox"))
    }
  }

  @Test func firefoxLikeOfferWithH264AnswersRecvonlyExtmapAsSendonly() throws {
    // The Firefox fixture with an H.264 format added (as when its OpenH264 plugin is present).
    var text = try fixture("firefox-esr-153-recvonly-offer-no-h264.sdp")
    text = text.replacingOccurrences(of: "SAVPF 120 124", with: "SAVPF 126 120 124")
    text += "a=rtpmap:126 H264/90000\r\na=fmtp:126 profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1\r\na=rtcp-fb:126 nack pli\r\n"
    let answer = try makeAnswer(offer: SdpOffer.parse(text), params())
    #expect(answer.video.payloadType == 126)
    #expect(answer.video.playoutDelayExtensionID == 6)
    #expect(answer.video.pli && !answer.video.nack && !answer.video.fir)
    let l = lines(answer.sdp)
    #expect(l.contains("a=extmap:6/sendonly http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"))
    #expect(l.contains("a=rtcp-fb:126 nack pli"))
    #expect(!l.contains("a=rtcp-fb:126 nack"))
    #expect(!l.contains("a=rtcp-fb:126 ccm fir"))
    #expect(l.contains("a=fingerprint:sha-256 " + Hex.fingerprint(Array(repeating: 0xAB, count: 32))))
  }
}
