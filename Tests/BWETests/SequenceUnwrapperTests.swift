import BWE
import Testing

@Suite struct SequenceUnwrapperTests {
  @Test func wrapsForwardAndKeepsLateNumbersBehind() {
    var u = SequenceUnwrapper()
    #expect(u.unwrap(65534) == 65534)
    #expect(u.unwrap(65535) == 65535)
    #expect(u.unwrap(1) == 65537)  // wrapped
    #expect(u.unwrap(65533) == 65533)  // late, before the wrap
    #expect(u.unwrap(2) == 65538)
  }
}
