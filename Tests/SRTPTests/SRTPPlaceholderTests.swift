import Testing
@testable import SRTP

@Suite struct SRTPPlaceholderTests {
  @Test func moduleLinks() { #expect(SRTPModule.name == "SRTP") }
}
