import Testing
@testable import Peer

@Suite struct PeerPlaceholderTests {
  @Test func moduleLinks() { #expect(PeerModule.name == "Peer") }
}
