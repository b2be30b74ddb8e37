import AllocCounter
import Testing
import ICE
import Wire
@testable import Peer

/// A connected viewer's consent checks (a STUN Binding request every few seconds from each) are
/// answered in place: parsing, MESSAGE-INTEGRITY, FINGERPRINT and the response allocate
/// nothing (tools/alloc-test checks the same in the device build).
@Suite struct ConsentAllocationTests {
  @Test func aConsentCheckOfAConnectedViewerAllocatesNothing() throws {
    let sc = try Scenario()
    try sc.connect()
    var answers = 0
    var answerLength = 0
    let answer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1500, alignment: 16)
    defer { answer.deallocate() }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1500, alignment: 16)
    defer { buffer.deallocate() }
    for i in 0..<5 {
      let req = sc.stunRequest(useCandidate: false)
      let size = req.count
      req.withUnsafeBytes { buffer.copyMemory(from: $0) }
      sc.now += 2 * Time.ms
      let n = alloc_counter_begin_end {
        sc.peer.handleDatagram(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size]), from: Scenario.browserAddress,
                               now: sc.now)
        while true {
          switch sc.peer.pollOutput() {
          case .transmit(let b, _):
            answers += 1
            answer.copyMemory(from: b)
            answerLength = b.count
            continue
          case .event, .timeout: break
          }
          break
        }
      }
      // (the first may warm up lazily initialised tables)
      if i > 0 { #expect(n == 0, "allocations for consent check \(i): \(n)") }
    }
    #expect(answers == 5)
    let lastAnswer = Array(answer[0..<answerLength])
    let r = try StunMessage.parse(lastAnswer)
    #expect(r.cls == .success && r.xorMappedAddress == Scenario.browserAddress)
    #expect(StunMessage.verifyIntegrity(lastAnswer, key: Array(sc.localIce.password.utf8)))
    #expect(sc.peer.phase == .connected)
  }
}

func alloc_counter_begin_end(_ body: () -> Void) -> Int {
  alloc_counter_begin()
  body()
  return alloc_counter_end()
}
