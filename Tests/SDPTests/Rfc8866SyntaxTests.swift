// RFC 8866 syntax as rtcam reads it: tolerant of what browsers add, strict about the lines it uses,
// bounded in bytes, lines and m-sections; the error codes and messages an offer gets back.
import Foundation
import Testing
import Wire
@testable import SDP

@Suite struct Rfc8866SyntaxTests {
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
