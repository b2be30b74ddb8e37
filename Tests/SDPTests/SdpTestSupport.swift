// What the SDP tests share: rtcam's answer parameters, a hand-written offer with knobs, and
// expectations on errors.
import Foundation
import Testing
import Wire
@testable import SDP

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
