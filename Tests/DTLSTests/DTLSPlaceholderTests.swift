import Testing
@testable import DTLS

@Suite struct DTLSPlaceholderTests {
  @Test func moduleLinks() { #expect(DTLSModule.name == "DTLS") }
}
