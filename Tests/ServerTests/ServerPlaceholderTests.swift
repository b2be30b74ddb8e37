import Testing
@testable import Server

@Suite struct ServerPlaceholderTests {
  @Test func moduleLinks() { #expect(ServerModule.name == "Server") }
}
