import Foundation
import Testing
import TestSupport
import Wire
@testable import SDP

// MARK: - Helpers

func params(candidates: [SocketAddress]? = nil) -> AnswerParameters {
  AnswerParameters(
    sessionID: 4611686018427387905, iceUfrag: "rtcA", icePassword: "0123456789abcdefghijkl",
    fingerprintSHA256: Hex.fingerprint(Array(repeating: 0xAB, count: 32)),
    candidates: candidates ?? [
      SocketAddress(ip: [192, 168, 1, 20], port: 50000),
      SocketAddress(ip: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], port: 50000),
    ],
    ssrc: 3_000_000_001, cname: "rtcam", streamID: "rtcam-stream", trackID: "rtcam-video")
}

func lines(_ sdp: String) -> [String] {
  sdp.components(separatedBy: "\r\n")
}

func expectError(_ expected: SdpError, _ body: () throws -> Void,
                 sourceLocation: SourceLocation = #_sourceLocation) {
  do {
    try body()
    Issue.record("expected \(expected.code), got success", sourceLocation: sourceLocation)
  } catch {
    #expect(error as? SdpError == expected, sourceLocation: sourceLocation)
  }
}

func expectCode(_ code: String, _ body: () throws -> Void,
                sourceLocation: SourceLocation = #_sourceLocation) {
  do {
    try body()
    Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
  } catch {
    #expect((error as? SdpError)?.code == code, sourceLocation: sourceLocation)
  }
}

let fpHex = "B3:30:F5:4B:D9:4B:56:46:ED:F2:FD:00:C5:87:1A:C4:89:1A:1C:FD:81:2B:F2:F8:51:76:B7:4F:36:CE:63:63"

/// A small hand-written offer, LF endings, with knobs for the tests below.
func handOffer(
  session: [String] = [], mline: String = "m=video 9 UDP/TLS/RTP/SAVPF 120 121 122 123",
  ufrag: String? = "abcd", pwd: String? = "abcdefghijklmnopqrstuvwx",
  fingerprint: String? = "a=fingerprint:sha-256 " + fpHex, setup: String? = "actpass",
  direction: String = "recvonly", rtcpMux: Bool = true,
  codecs: [String] = [
    "a=rtpmap:120 VP8/90000",
    "a=rtpmap:121 H264/90000",
    "a=fmtp:121 packetization-mode=1;profile-level-id=42001f",
    "a=rtcp-fb:121 nack",
    "a=rtpmap:122 H264/90000",
    "a=fmtp:122 profile-level-id=42E01F;packetization-mode=1",
    "a=rtcp-fb:122 nack pli",
    "a=rtpmap:123 H264/90000",
    "a=fmtp:123 profile-level-id=42e01f;packetization-mode=0",
  ],
  extra: [String] = []
) -> String {
  var l = ["v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE v0"] + session
  l.append(mline)
  l.append("c=IN IP4 0.0.0.0")
  l.append("a=mid:v0")
  if let ufrag { l.append("a=ice-ufrag:" + ufrag) }
  if let pwd { l.append("a=ice-pwd:" + pwd) }
  if let fingerprint { l.append(fingerprint) }
  if let setup { l.append("a=setup:" + setup) }
  l.append("a=" + direction)
  if rtcpMux { l.append("a=rtcp-mux") }
  l += codecs + extra
  return l.joined(separator: "\n") + "\n"
}

// MARK: - Chromium fixture

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
      "a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay",
      "a=rtpmap:108 H264/90000",
      "a=rtcp-fb:108 nack",
      "a=rtcp-fb:108 nack pli",
      "a=rtcp-fb:108 ccm fir",
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
    var description: String { file }
  }

  static let clientOffers = [
    // WebKit: H.264 High (96) comes first, constrained baseline is 98; playout-delay on id 12
    ClientOffer(file: "safari-17-recvonly-offer-reconstructed.sdp", payloadType: 98, mid: "0", ufrag: "w3Kd",
      playoutDelayID: 12, pli: true, fir: true, nack: true, reducedSize: true),
    // GStreamer webrtcbin: one H.264 payload type, fingerprint and setup inside the m-section
    ClientOffer(file: "gstreamer-1.22-webrtcbin-recvonly-offer.sdp", payloadType: 102, mid: "video0",
      ufrag: "6ySsXmm463YGdc9q7Mc2jCeA9Bq+GUch", playoutDelayID: nil, pli: true, fir: true, nack: false,
      reducedSize: true),
    // aiortc: 42001f (99) before 42e01f (101); sha-256/384/512 fingerprints
    ClientOffer(file: "aiortc-1.16-recvonly-offer.sdp", payloadType: 101, mid: "0", ufrag: "nScr",
      playoutDelayID: nil, pli: true, fir: false, nack: true, reducedSize: false),
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
    #expect(l.contains { $0.hasPrefix("a=extmap:") } == (c.playoutDelayID != nil))
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

// MARK: - Firefox fixture

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

// MARK: - Hand-written offers

@Suite struct HandOfferTests {
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

  @Test func candidates() throws {
    let many = (0..<5).map { SocketAddress(ip: [10, 0, 0, UInt8($0 + 1)], port: 4000) }
      + [SocketAddress(ip: [1, 2, 3], port: 1),  // bad length: skipped
         SocketAddress(ip: [0xfe, 0x80] + Array(repeating: 0, count: 13) + [7], port: 4000)]
    let a = try makeAnswer(offer: SdpOffer.parse(handOffer()), params(candidates: many))
    let cands = lines(a.sdp).filter { $0.hasPrefix("a=candidate:") }
    #expect(cands.count == 6)
    #expect(cands.last == "a=candidate:6 1 udp 2130705151 fe80::7 4000 typ host")
    var foundations = Set<String>(), priorities = Set<String>()
    for c in cands {
      let f = c.split(separator: " ")
      #expect(f.count == 8)
      #expect(f[1] == "1" && f[2] == "udp" && f[6] == "typ" && f[7] == "host")
      foundations.insert(String(f[0]))
      priorities.insert(String(f[3]))
    }
    #expect(foundations.count == 6 && priorities.count == 6)
    // candidates then end-of-candidates close the video section
    let l = lines(a.sdp)
    #expect(l[l.count - 2] == "a=end-of-candidates")
    // no candidates at all still yields a well-formed answer
    let none = try makeAnswer(offer: SdpOffer.parse(handOffer()), params(candidates: []))
    #expect(!none.sdp.contains("a=candidate"))
    #expect(none.sdp.hasSuffix("a=end-of-candidates\r\n"))
  }

  @Test func tolerantParsing() throws {
    // Blank lines, trailing spaces, unknown line types and attributes, extra spaces in fmtp.
    var text = handOffer(extra: [
      "a=x-unknown:whatever",
      "a=rtcp-fb:* ccm fir",
      "a=extmap:7 " + playoutDelayExtensionURI,
      "y=unknown line type",
      "",
      "a=ssrc:1 cname:x",
    ])
    text = text.replacingOccurrences(of: "a=rtcp-mux\n", with: "a=rtcp-mux   \n\n")
    text = text.replacingOccurrences(of: "a=fmtp:122 profile-level-id=42E01F;packetization-mode=1",
                                     with: "a=fmtp:122  profile-level-id = 42E01F ; packetization-mode=1 ;")
    let a = try makeAnswer(offer: SdpOffer.parse(text), params())
    #expect(a.video.payloadType == 122)
    #expect(a.video.fir && a.video.pli)  // "*" applies to all payload types
    #expect(a.video.playoutDelayExtensionID == 7)
    #expect(lines(a.sdp).contains("a=extmap:7 " + playoutDelayExtensionURI))
  }

  @Test func playoutDelayOnlyWithOneByteIDAndReceivableDirection() throws {
    let twoByte = handOffer(extra: ["a=extmap:15 " + playoutDelayExtensionURI])
    #expect(try makeAnswer(offer: SdpOffer.parse(twoByte), params()).video.playoutDelayExtensionID == nil)
    let sendOnly = handOffer(extra: ["a=extmap:3/sendonly " + playoutDelayExtensionURI])
    let a = try makeAnswer(offer: SdpOffer.parse(sendOnly), params())
    #expect(a.video.playoutDelayExtensionID == nil)
    #expect(!a.sdp.contains("a=extmap"))
    let session = handOffer(session: ["a=extmap:4 " + playoutDelayExtensionURI])
    #expect(try makeAnswer(offer: SdpOffer.parse(session), params()).video.playoutDelayExtensionID == 4)
  }
}

// MARK: - Errors

@Suite struct OfferErrorTests {
  @Test func missingIceCredentials() {
    expectError(.missingIceCredentials) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(ufrag: nil)), params()) }
    expectError(.missingIceCredentials) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(pwd: nil)), params()) }
    // present but invalid: too short / forbidden characters
    expectError(.missingIceCredentials) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(ufrag: "abc")), params()) }
    expectError(.missingIceCredentials) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(pwd: "short")), params()) }
    expectError(.missingIceCredentials) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(ufrag: "ab:cd")), params()) }
    expectCode("MISSING_ICE_CREDENTIALS") { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(ufrag: nil)), params()) }
  }

  @Test func missingOrUnsupportedFingerprint() {
    expectError(.missingFingerprint) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(fingerprint: nil)), params()) }
    let sha1 = "a=fingerprint:sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33"
    expectError(.missingFingerprint) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(fingerprint: sha1)), params()) }
    // sha-256 of the wrong length
    expectError(.missingFingerprint) {
      _ = try makeAnswer(offer: SdpOffer.parse(handOffer(fingerprint: "a=fingerprint:sha-256 AB:CD")), params())
    }
    expectCode("MISSING_FINGERPRINT") { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(fingerprint: nil)), params()) }
  }

  @Test func sha256PreferredAmongSeveralFingerprints() throws {
    let sha1 = "a=fingerprint:sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33"
    let o = try SdpOffer.parse(handOffer(fingerprint: sha1, extra: ["a=fingerprint:SHA-256 " + fpHex]))
    #expect(o.media[0].fingerprintAlgorithm == "sha-256")
    #expect(try makeAnswer(offer: o, params()).video.remoteFingerprint == Hex.decode(fpHex))
  }

  @Test func mediaLevelFingerprintWinsOverSession() throws {
    let other = "a=fingerprint:sha-256 " + Hex.fingerprint(Array(repeating: 0x11, count: 32))
    let o = try SdpOffer.parse(handOffer(session: [other]))
    #expect(o.media[0].fingerprint == Hex.decode(fpHex))
    let onlySession = try SdpOffer.parse(handOffer(session: [other], fingerprint: nil))
    #expect(onlySession.media[0].fingerprint == Array(repeating: 0x11, count: 32))
  }

  @Test func setup() throws {
    expectError(.unsupportedSetup("active")) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(setup: "active")), params()) }
    expectError(.unsupportedSetup("holdconn")) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(setup: "holdconn")), params()) }
    expectError(.unsupportedSetup("")) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(setup: nil)), params()) }
    let a = try makeAnswer(offer: SdpOffer.parse(handOffer(setup: "passive")), params())
    #expect(a.sdp.contains("a=setup:active\r\n"))
    do {
      _ = try makeAnswer(offer: SdpOffer.parse(handOffer(setup: "active")), params())
    } catch {
      #expect(error.code == "UNSUPPORTED_SETUP")
      #expect(error.message.contains("a=setup:active"))
    }
    // junk setup values are sanitised before they reach the message
    do {
      _ = try makeAnswer(offer: SdpOffer.parse(handOffer(setup: "<script>" + String(repeating: "x", count: 100))), params())
      Issue.record("junk setup accepted")
    } catch {
      guard case .unsupportedSetup(let v) = error else { Issue.record("wrong error"); return }
      #expect(v.count <= 24 && !v.contains("<"))
    }
  }

  @Test func noRtcpMux() {
    expectError(.noRtcpMux) { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(rtcpMux: false)), params()) }
    expectCode("NO_RTCP_MUX") { _ = try makeAnswer(offer: SdpOffer.parse(handOffer(rtcpMux: false)), params()) }
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

  @Test func malformed() {
    func code(_ text: String) -> String? {
      do { _ = try SdpOffer.parse(text); return nil } catch { return error.code }
    }
    #expect(code("") == "SDP_MALFORMED")
    #expect(code("\n\n") == "SDP_MALFORMED")
    #expect(code("hello world") == "SDP_MALFORMED")
    #expect(code("o=- 1 2 IN IP4 0.0.0.0\nv=0\n") == "SDP_MALFORMED")  // v= must come first
    #expect(code("v=1\n") == "SDP_MALFORMED")
    #expect(code("v=0\nm=video\n") == "SDP_MALFORMED")
    #expect(code("v=0\nm=video x UDP/TLS/RTP/SAVPF 96\n") == "SDP_MALFORMED")
    #expect(code("v=0\nm=video 70000 UDP/TLS/RTP/SAVPF 96\n") == "SDP_MALFORMED")
    #expect(code("v=0\nm=video 9 UDP/TLS/RTP/SAVPF 96\na=rtpmap:abc H264/90000\n") == "SDP_MALFORMED")
    #expect(code("v=0\nm=video 9 UDP/TLS/RTP/SAVPF 96\na=rtpmap:96 H264\n") == "SDP_MALFORMED")
    #expect(code("v=0\nm=video 9 UDP/TLS/RTP/SAVPF 96\na=rtpmap:200 H264/90000\n") == "SDP_MALFORMED")
    #expect(code("v=0\na=fingerprint:sha-256 ZZ:YY\n") == "SDP_MALFORMED")
    #expect(code("v=0\na=fingerprint:sha-256\n") == "SDP_MALFORMED")
    #expect(code("v=0\nm=video 9 UDP/TLS/RTP/SAVPF 96\na=extmap:0 urn:x\n") == "SDP_MALFORMED")
    #expect(code("v=0\nm=video 9 UDP/TLS/RTP/SAVPF 96\na=extmap:5\n") == "SDP_MALFORMED")
    #expect(code("v=0\nM=video 9 UDP/TLS/RTP/SAVPF 96\n") == "SDP_MALFORMED")
    #expect(code("v=0\nport 9\n") == "SDP_MALFORMED")
    #expect(code("v=0\nm=video 9/2 UDP/TLS/RTP/SAVPF 96\n") == nil)  // port/count is valid
    // values echoed into the answer cannot smuggle control characters or spaces
    #expect(code("v=0\nm=video 9 UDP/TLS/RTP/SAVPF 96\na=mid:0\r\u{7}x\n") == "SDP_MALFORMED")
    #expect(code("v=0\nm=video 9 UDP/TLS/RTP/SAVPF 96\na=mid:a b\n") == "SDP_MALFORMED")
    #expect(code("v=0\nm=video 9 UDP/TLS/RTP/SAVPF 96\na=mid:\n") == "SDP_MALFORMED")
    #expect(code("v=0\nm=vidéo 9 UDP/TLS/RTP/SAVPF 96\n") == "SDP_MALFORMED")
    #expect(code("v=0\na=group:BUNDLE 0 \u{1}\n") == "SDP_MALFORMED")
    // the message names the line
    do {
      _ = try SdpOffer.parse("v=0\r\ns=-\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:x VP8/90000\r\n")
      Issue.record("accepted a bad rtpmap")
    } catch {
      guard case .malformed(let what) = error else { Issue.record("wrong error"); return }
      #expect(what.contains("line 4"))
      #expect(what.contains("rtpmap"))
      #expect(error.message.hasPrefix("The SDP offer is malformed"))
    }
  }

  @Test func limits() throws {
    // > 64 KiB
    let big = "v=0\r\n" + String(repeating: "a=x-pad:" + String(repeating: "p", count: 90) + "\r\n", count: 700)
    #expect(big.utf8.count > 65536)
    expectError(.tooLarge) { _ = try SdpOffer.parse(big) }
    // > 4096 lines, though small in bytes
    let manyLines = "v=0\n" + String(repeating: "a=x\n", count: 4096)
    #expect(manyLines.utf8.count < 65536)
    expectError(.tooLarge) { _ = try SdpOffer.parse(manyLines) }
    // exactly 4096 lines is fine
    let okLines = "v=0\n" + String(repeating: "a=x\n", count: 4095)
    #expect(throws: Never.self) { _ = try SdpOffer.parse(okLines) }
    // empty lines count too
    let blank = "v=0\n" + String(repeating: "\n", count: 5000)
    expectError(.tooLarge) { _ = try SdpOffer.parse(blank) }
    // > 16 m-sections
    let m = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:x\r\n"
    let sixteen = "v=0\r\n" + String(repeating: m, count: 16)
    #expect(try SdpOffer.parse(sixteen).media.count == 16)
    expectError(.tooLarge) { _ = try SdpOffer.parse(sixteen + m) }
    expectCode("SDP_TOO_LARGE") { _ = try SdpOffer.parse(sixteen + m) }
  }

  @Test func codesAndMessagesAreDistinct() {
    let all: [SdpError] = [.malformed("x"), .tooLarge, .noVideo, .noH264, .missingIceCredentials,
                           .missingFingerprint, .unsupportedSetup("active"), .noRtcpMux]
    #expect(Set(all.map(\.code)).count == all.count)
    for e in all {
      #expect(e.code == e.code.uppercased())
      #expect(!e.message.isEmpty && e.message.hasSuffix("."))
      #expect(!e.message.contains("\n"))
    }
    #expect(SdpError.noH264.code == "NO_H264")
    #expect(SdpError.noVideo.code == "NO_VIDEO")
    #expect(SdpError.malformed("x").code == "SDP_MALFORMED")
  }
}

// MARK: - Junk

@Suite struct JunkTests {
  /// Mutates real offers (byte flips, deletions, duplications, truncation, splices of SDP
  /// tokens) and runs parse + makeAnswer on each: any error is fine, a trap is not.
  @Test func mutatedOffersNeverTrap() throws {
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
    var answered = 0, failed = 0
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
      do {
        let offer = try SdpOffer.parse(text)
        let a = try makeAnswer(offer: offer, params())
        #expect(a.sdp.hasPrefix("v=0\r\n"))
        // whatever the offer held, the answer is printable ASCII lines ending in CRLF
        let u = Array(a.sdp.utf8)
        var clean = true
        for (i, c) in u.enumerated() {
          if c == 13 { clean = clean && i + 1 < u.count && u[i + 1] == 10 }
          else if c == 10 { clean = clean && i > 0 && u[i - 1] == 13 }
          else { clean = clean && c >= 0x20 && c <= 0x7e }
        }
        #expect(clean)
        answered += 1
      } catch {
        #expect(!error.code.isEmpty)
        failed += 1
      }
    }
    #expect(answered + failed == 3000)
    #expect(answered > 0 && failed > 0)  // the mutations exercise both paths
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
