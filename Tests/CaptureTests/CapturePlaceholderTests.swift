import Testing
@testable import Capture

@Suite struct CapturePlaceholderTests {
  @Test func moduleLinks() { #expect(CaptureModule.name == "Capture") }
}
