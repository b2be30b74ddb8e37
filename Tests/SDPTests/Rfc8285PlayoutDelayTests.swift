// RFC 8285 header extensions: the playout-delay extension is answered only with a one-byte id
// and a direction rtcam can send in.
import Foundation
import Testing
import Wire
@testable import SDP

@Suite struct Rfc8285PlayoutDelayTests {
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
