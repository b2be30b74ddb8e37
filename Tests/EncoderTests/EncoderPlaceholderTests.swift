import Testing
@testable import Encoder

@Suite struct EncoderPlaceholderTests {
  @Test func moduleLinks() { #expect(EncoderModule.name == "Encoder") }
}
