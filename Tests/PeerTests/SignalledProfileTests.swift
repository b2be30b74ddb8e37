import AllocCounter
import TestSupport
import Capture
import DTLS
import Encoder
import ICE
import Peer
import RTP
import SDP
import SRTP
import Testing
import Wire

/// What rtcam signals in the SDP answer is what its encoder sends.
@Suite struct SignalledProfileTests {
  /// The profile-level-id of the answered payload type, read from the answer text.
  static func answeredProfileLevelID(_ sdp: String, payloadType: UInt8) -> String? {
    let prefix = "a=fmtp:\(payloadType) "
    for line in sdp.split(separator: "\r\n") where line.hasPrefix(prefix) {
      for param in line.dropFirst(prefix.count).split(separator: ";") {
        let kv = param.split(separator: "=", maxSplits: 1)
        if kv.count == 2, kv[0] == "profile-level-id" { return String(kv[1]).lowercased() }
      }
    }
    return nil
  }

  @Test func everySpsSentMatchesTheAnsweredProfileLevelID() throws {
    let sc = try Scenario()
    let answered = try #require(Self.answeredProfileLevelID(sc.answerSDP, payloadType: sc.video.payloadType))
    #expect(answered == "42e01f")
    let feed = try FrameFeed(clock: { sc.now })
    try sc.connect()
    var idrs = 0
    for i in 0..<40 {
      if i % 8 == 0 { feed.requestKeyframe() }  // several IDRs, each with its own SPS
      sc.now += 33 * Time.ms
      let f = try feed.next()
      if f.isKeyframe { idrs += 1 }
      sc.sendFrame(f.au, captureNs: f.captureNs, isKeyframe: f.isKeyframe)
    }
    #expect(idrs == 5)
    #expect(sc.depacketizerErrors.isEmpty)
    // What the browser reassembled from RTP (the SPS travels in a STAP-A before each IDR).
    let spss = sc.accessUnits.flatMap { nalUnits($0) }.filter { $0[0] & 0x1F == 7 }
    #expect(spss.count == idrs)
    for sps in spss {
      try #require(sps.count > 4)
      #expect(Hex.encode(Array(sps[1...3])) == answered, "SPS profile/constraints/level vs the answer")
    }
  }
}

/// The steady-state media path allocates nothing of its own: counted exactly, per call, on this
/// thread (AllocCounter). The host build links Debian's libsrtp2, whose NSS crypto backend
/// allocates inside every protect call (the device binary's libsrtp2 uses mbedTLS instead); that
/// call is measured alone in the same run and must be all there is.
