import Testing
@testable import HTTP

@Suite struct HTTPPlaceholderTests {
  @Test func moduleLinks() { #expect(HTTPModule.name == "HTTP") }
}
