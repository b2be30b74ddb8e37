import Testing
@testable import ICE

@Suite struct ICEPlaceholderTests {
  @Test func moduleLinks() { #expect(ICEModule.name == "ICE") }
}
