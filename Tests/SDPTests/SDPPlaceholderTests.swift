import Testing
@testable import SDP

@Suite struct SDPPlaceholderTests {
  @Test func moduleLinks() { #expect(SDPModule.name == "SDP") }
}
