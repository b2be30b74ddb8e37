import Testing
@testable import RTP

@Suite struct RTPPlaceholderTests {
  @Test func moduleLinks() { #expect(RTPModule.name == "RTP") }
}
